"""Fulgur's C++ rule wrappers: the one place where project compile flags live.

    load("//tools:build_defs.bzl", "fulgur_cc_library", "fulgur_cc_test")

    fulgur_cc_library(
        name = "tensor",
        srcs = ["tensor.cc"],
        hdrs = ["tensor.h"],          # included as <fulgur/tensor/tensor.h>
        deps = ["//third_party:eigen"],
    )

    fulgur_cc_test(
        name = "tensor_test",
        srcs = ["tensor_test.cc"],     # doctest TEST_CASEs, no main()
        deps = [":tensor"],
    )

See tools/README.md.
"""

load("//third_party/cuda:defs.bzl", "cuda_library")

# Warnings for Fulgur's own code. Third-party code never sees these: it is
# compiled by its own targets (//third_party:doctest_main) or reached through
# -isystem / default system include directories, where GCC does not warn.
FULGUR_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    # GCC 12 false positive inside its own AVX-512 intrinsics headers
    # (`__m512 __Y = __Y;` in avx512fintrin.h), hit by Eigen's GEMM kernels at
    # -O3 -march=native; it cannot be silenced per header.
    "-Wno-maybe-uninitialized",
    # Same header, other spelling: with Eigen's vectorised math inlined (-O1 and up)
    # GCC 12 reports `__m512 __Y = __Y;` in avx512fintrin.h as used uninitialized.
    "-Wno-uninitialized",
    # Options structs are filled with C++20 designated initializers
    # (`zeros({2}, {.device = d})`); GCC 12 still reports the members left out.
    "-Wno-missing-field-initializers",
]

# Extra nvcc flags for Fulgur's own CUDA code (cuda_library adds -std=c++20,
# -O3, -Xcompiler -fPIC, -ccbin and the -gencode flags itself).
FULGUR_CUDA_COPTS = []

# Headers of every fulgur_cc_library are included as <fulgur/<path in repo>>.
FULGUR_INCLUDE_PREFIX = "fulgur"

def _include_prefix():
    # Bazel 4.2.3: with include_prefix set (and strip_include_prefix not),
    # the package path is stripped first, so put it back:
    # //tensor:tensor.h -> fulgur/tensor/tensor.h.
    pkg = native.package_name()
    return FULGUR_INCLUDE_PREFIX + "/" + pkg if pkg else FULGUR_INCLUDE_PREFIX

# Label() so that the macros also work when called from another workspace.
_DOCTEST_MAIN = str(Label("//third_party:doctest_main"))

def fulgur_cc_library(name, copts = [], include_prefix = None, **kwargs):
    """cc_library with FULGUR_COPTS and Fulgur's include prefix.

    A header tensor/tensor.h (package //tensor, hdrs = ["tensor.h"]) is
    included as <fulgur/tensor/tensor.h> everywhere, also from a workspace
    depending on @fulgur. include_prefix overrides the computed
    "fulgur/<package>". All other cc_library attributes pass through.
    """
    native.cc_library(
        name = name,
        copts = FULGUR_COPTS + copts,
        include_prefix = include_prefix if include_prefix != None else _include_prefix(),
        **kwargs
    )

def fulgur_cc_binary(name, copts = [], **kwargs):
    """cc_binary with FULGUR_COPTS. All cc_binary attributes pass through."""
    native.cc_binary(
        name = name,
        copts = FULGUR_COPTS + copts,
        **kwargs
    )

def fulgur_cc_test(name, copts = [], deps = [], size = "small", tags = [], doctest_main = True, **kwargs):
    """cc_test with FULGUR_COPTS, size "small" by default and doctest's main().

    Args:
      name: target name.
      copts: extra compile flags (appended to FULGUR_COPTS).
      deps: dependencies; //third_party:doctest_main is added unless
        doctest_main = False (then the test brings its own main(); add
        //third_party:doctest yourself if it still uses doctest).
      size: test size, "small" unless given.
      tags: test tags (e.g. ["manual"], ["exclusive"], ["gpu"]).
      doctest_main: whether to link doctest's main().
      **kwargs: any other cc_test attribute (srcs, data, args, env, timeout,
        shard_count, linkopts, ...).
    """
    if doctest_main and (type(deps) != "list" or _DOCTEST_MAIN not in deps):
        deps = deps + [_DOCTEST_MAIN]
    native.cc_test(
        name = name,
        copts = FULGUR_COPTS + copts,
        deps = deps,
        size = size,
        tags = tags,
        **kwargs
    )

def fulgur_cuda_library(name, copts = [], include_prefix = None, **kwargs):
    """cuda_library (//third_party/cuda:defs.bzl) with Fulgur's include prefix.

    copts are nvcc flags (FULGUR_CUDA_COPTS + copts); FULGUR_COPTS are host
    compiler flags and are not passed to nvcc. Other attributes: srcs, hdrs,
    deps, defines, local_defines, alwayslink, archs, strip_include_prefix.
    """
    cuda_library(
        name = name,
        copts = FULGUR_CUDA_COPTS + copts,
        include_prefix = include_prefix if include_prefix != None else _include_prefix(),
        **kwargs
    )

_MPI_TEST_SH = str(Label("//tools:mpi_test.sh"))
_MPI_LSAN_SUPP = str(Label("//tools:mpi_lsan.supp"))

def fulgur_mpi_test(name, srcs, deps = [], np = 2, time_limit_s = 240, size = "medium", tags = [], doctest_main = True, args = [], **kwargs):
    """A doctest binary run on np processes by mpirun (tools/mpi_test.sh).

    Makes `<name>_bin` (a testonly cc_binary with FULGUR_COPTS and doctest's main() unless
    doctest_main = False) and the sh_test `name`, which runs
    `mpirun --allow-run-as-root --oversubscribe -np <np> <name>_bin args...`: every rank's
    output is shown, the test fails when any rank fails, and mpirun ends every rank after
    time_limit_s. Works in Bazel's sandbox (Open MPI's files go to TEST_TMPDIR) and under
    --config=asan (tools/mpi_lsan.supp suppresses Open MPI's own leaks at exit).

    Args:
      name: test name.
      srcs, deps: of the binary (//third_party:doctest_main is added unless doctest_main = False).
      np: number of processes.
      time_limit_s: mpirun --timeout; keep it below the Bazel timeout of `size`.
      size, tags, args: of the sh_test; args go to every rank.
      **kwargs: other cc_binary attributes (copts, data, ...).
    """
    if doctest_main and _DOCTEST_MAIN not in deps:
        deps = deps + [_DOCTEST_MAIN]
    native.cc_binary(
        name = name + "_bin",
        srcs = srcs,
        deps = deps,
        copts = FULGUR_COPTS + kwargs.pop("copts", []),
        testonly = True,
        tags = tags + ["manual"],
        **kwargs
    )
    native.sh_test(
        name = name,
        srcs = [_MPI_TEST_SH],
        args = [
            str(np),
            str(time_limit_s),
            "$(location %s)" % _MPI_LSAN_SUPP,
            "$(location :%s_bin)" % name,
        ] + args,
        data = [
            ":%s_bin" % name,
            _MPI_LSAN_SUPP,
        ],
        size = size,
        tags = tags + ["mpi"],
    )
