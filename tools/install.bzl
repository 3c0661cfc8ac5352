"""What //:install passes to tools/install.sh, shared with //tests/install:install_test (which
installs into its own temporary prefix with the same arguments)."""

load("//:version.bzl", "FULGUR_VERSION")

INSTALL_ARGS = [
    "--version=" + FULGUR_VERSION,
    "--library=$(location //:libfulgur.so)",
    "--headers=$(location //:public_headers)",
    "--root=fulgur/fulgur.h",
    "--root=fulgur/version.h",
    # The C ABI (capi/) and its Fortran module: the source (users compile it with their own
    # gfortran, capi/fortran/README.md) and the .mod of Debian's gfortran.
    "--root=fulgur/fulgur_c.h",
    # The two headers that take the host's MPI communicator (they include <mpi.h>: consumers
    # use fulgur-mpi.pc or find_package(fulgur COMPONENTS mpi), which add MPI's flags).
    "--root=fulgur/fulgur_c_mpi.h",
    "--root=fulgur/distributed/mpi_process_group.h",
    "--fortran=$(location //capi/fortran:fulgur.f90)",
    "--fortran=$(location //capi/fortran:fulgur.mod)",
]

INSTALL_DATA = [
    "//:libfulgur.so",
    "//:public_headers",
    "//capi/fortran:fulgur.f90",
    "//capi/fortran:fulgur.mod",
]
