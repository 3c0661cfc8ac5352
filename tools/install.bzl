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
    "--fortran=$(location //capi/fortran:fulgur.f90)",
    "--fortran=$(location //capi/fortran:fulgur.mod)",
]

INSTALL_DATA = [
    "//:libfulgur.so",
    "//:public_headers",
    "//capi/fortran:fulgur.f90",
    "//capi/fortran:fulgur.mod",
]
