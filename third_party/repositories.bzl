"""External repositories of Fulgur, all local (offline, Debian packages).

Fulgur's WORKSPACE calls fulgur_dependencies(). Another workspace that depends
on Fulgur does the same:

    local_repository(name = "fulgur", path = "/path/to/fulgur")
    load("@fulgur//third_party:repositories.bzl", "fulgur_dependencies")
    fulgur_dependencies()

A repository that is already declared (e.g. a real @rules_cc, or your own
@eigen) is left alone. See third_party/README.md for what each one is and which
Debian package provides it.
"""

load("//third_party/cuda:cuda_configure.bzl", "cuda_configure")

# Debian multiarch triplet of the machines we build on (openmpi, curl).
MULTIARCH = "x86_64-linux-gnu"

def _fulgur_dir_repository_impl(rctx):
    # Like local_repository, but the directory is found relative to the Fulgur
    # source tree (via a label), so this works from any depending workspace.
    src = rctx.path(rctx.attr.marker).dirname
    for child in src.readdir():
        rctx.symlink(child, child.basename)

_fulgur_dir_repository = repository_rule(
    implementation = _fulgur_dir_repository_impl,
    attrs = {"marker": attr.label(mandatory = True, allow_single_file = True)},
    local = True,
)

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def fulgur_dependencies():
    """Declares every external repository Fulgur needs. Offline, idempotent."""

    # --- Bazel's own rule sets (Bazel 4.2.3 tries to download them otherwise).
    # Offline stand-in re-exporting the native cc rules (Debian's
    # bazel-rules-cc is too new for Bazel 4.2.3).
    _maybe(
        _fulgur_dir_repository,
        name = "rules_cc",
        marker = Label("//third_party/rules_cc:WORKSPACE"),
    )

    # Empty coverage tools: `bazel test` needs the labels, coverage won't work.
    _maybe(
        _fulgur_dir_repository,
        name = "remote_coverage_tools",
        marker = Label("//third_party/remote_coverage_tools:WORKSPACE"),
    )

    # Debian bazel-platforms.
    _maybe(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
    )

    # Debian bazel-rules-java (the JDK toolchains of @bazel_tools need it even
    # for C++-only builds).
    _maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )

    # Debian bazel-skylib 1.0.3 (not needed by Fulgur itself; for BUILD
    # helpers such as selects, bzl_library, common_settings).
    _maybe(
        native.local_repository,
        name = "bazel_skylib",
        path = "/usr/share/bazel/tools/skylib",
    )

    # --- System libraries (BUILD files in third_party/<name>.BUILD).
    _maybe(
        native.new_local_repository,
        name = "eigen",  # libeigen3-dev
        path = "/usr/include/eigen3",
        build_file = str(Label("//third_party:eigen.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "doctest",  # doctest-dev
        path = "/usr/include",
        build_file = str(Label("//third_party:doctest.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "zlib",  # zlib1g-dev
        path = "/usr/include",
        build_file = str(Label("//third_party:zlib.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "yaml_cpp",  # libyaml-cpp-dev
        path = "/usr/include/yaml-cpp",
        build_file = str(Label("//third_party:yaml_cpp.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "openmpi",  # libopenmpi-dev
        path = "/usr/lib/%s/openmpi" % MULTIARCH,
        build_file = str(Label("//third_party:openmpi.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "curl",  # libcurl4-openssl-dev
        path = "/usr/include/%s" % MULTIARCH,
        build_file = str(Label("//third_party:curl.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "openssl",  # libssl-dev (libcrypto)
        path = "/usr/include",
        build_file = str(Label("//third_party:openssl.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "protobuf",  # libprotobuf-dev
        path = "/usr/include",
        build_file = str(Label("//third_party:protobuf.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "onnx",  # libonnx-dev (ONNX 1.12's protobuf classes: ONNX runtime)
        path = "/usr/include",
        build_file = str(Label("//third_party:onnx.BUILD")),
    )
    _maybe(
        native.new_local_repository,
        name = "libtorch",  # libtorch-dev: benchmarks only (bench/, manual targets)
        path = "/usr/include",
        build_file = str(Label("//third_party:libtorch.BUILD")),
    )

    # --- CUDA toolkit, detected at configure time (not a Debian package).
    _maybe(cuda_configure, name = "local_cuda")
