"""`cuda_library`: compile .cu files with nvcc into a library usable by cc_* rules.

    load("//third_party/cuda:defs.bzl", "cuda_library")

    cuda_library(
        name = "gemm_cuda",
        srcs = ["gemm.cu"],                 # .cu (also .cc/.cpp: compiled as CUDA)
        hdrs = ["gemm_cuda.h"],             # public headers (plain C++ ideally)
        deps = ["//tensor:tensor"],         # any targets with CcInfo
        copts = ["--expt-relaxed-constexpr"],  # extra nvcc flags
    )

    cc_test(name = "gemm_test", srcs = [...], deps = [":gemm_cuda", ...])

What it does (Bazel 4.2.3 cc_common API):
  * one nvcc action per source:
        nvcc -x cu -std=c++20 -O3 -DNDEBUG -Xcompiler -fPIC -ccbin <C++ compiler>
             -gencode=arch=compute_XX,code=sm_XX ... <includes/defines of deps> -c
    The host compiler gets only -fPIC (plus what copts passes with
    -Xcompiler): the global --copt flags (-march=native, -fopenmp,
    sanitizers, -Werror ...) are deliberately NOT forwarded to nvcc.
    -c dbg uses -O0 -g instead of -O3 -DNDEBUG.
  * the objects are archived with the C++ toolchain (lib<name>.a / .pic.a) and
    returned in a CcInfo that also carries @local_cuda//:cudart and
    //third_party/cuda:cuda_enabled (FULGUR_WITH_CUDA=0/1), so cc_library,
    cc_binary and cc_test can depend on it directly.
  * GPU architectures: --//third_party/cuda:archs=sm_80,sm_90a (the default);
    each entry sm_XX[a] gives -gencode=arch=compute_XX[a],code=sm_XX[a], an
    entry compute_XX embeds PTX (arch=compute_XX,code=compute_XX). A target
    may override with its own `archs` attribute.
  * Without a usable toolkit (see cuda_configure.bzl), or with
    --//third_party/cuda:enabled=false (--config=cpu_only), the sources are
    skipped: the library only forwards its headers and deps, and dependents see
    FULGUR_WITH_CUDA=0. Guard CUDA-only code with `#if FULGUR_WITH_CUDA`.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")
load("@local_cuda//:defs.bzl", "CUDA_AVAILABLE", "NVCC")
load(":settings.bzl", "FlagInfo")

DEFAULT_CUDA_ARCHS = "sm_80,sm_90a"

_SRC_EXTENSIONS = [".cu", ".cc", ".cpp", ".cxx"]
_HDR_EXTENSIONS = [".h", ".hh", ".hpp", ".hxx", ".cuh", ".inc", ".inl"]

def _gencode_flags(archs):
    flags = []
    for arch in archs:
        arch = arch.strip()
        if not arch:
            continue
        if arch.isdigit():
            arch = "sm_" + arch
        if arch.startswith("sm_"):
            flags.append("-gencode=arch=compute_%s,code=%s" % (arch[3:], arch))
        elif arch.startswith("compute_"):
            flags.append("-gencode=arch=%s,code=%s" % (arch, arch))
        else:
            fail("bad CUDA architecture '%s': expected sm_XX[a] or compute_XX (e.g. sm_90a)" % arch)
    if not flags:
        fail("no CUDA architecture given (--//third_party/cuda:archs is empty)")
    return flags

def _object_name(ctx, src):
    # Path of the source relative to the package, without extension, so that
    # a/x.cu and b/x.cu do not collide.
    rel = src.short_path
    prefix = ctx.label.package + "/"
    if ctx.label.package and rel.startswith(prefix):
        rel = rel[len(prefix):]
    rel = rel.replace("../", "_external/")
    return "_objs/%s/%s.o" % (ctx.label.name, rel[:-len(src.extension) - 1])

def _uniq(items):
    seen = {}
    out = []
    for item in items:
        if item not in seen:
            seen[item] = True
            out.append(item)
    return out

def _cuda_library_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    enabled = CUDA_AVAILABLE and ctx.attr._enabled[FlagInfo].value

    dep_infos = [dep[CcInfo] for dep in ctx.attr.deps]
    implicit = [ctx.attr._cuda_enabled[CcInfo]]
    if enabled:
        implicit.append(ctx.attr._cudart[CcInfo])
    all_infos = dep_infos + implicit

    # Headers of this library (honouring include_prefix/strip_include_prefix)
    # merged with everything the deps export.
    compilation_context, _ = cc_common.compile(
        name = ctx.label.name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        public_hdrs = ctx.files.hdrs,
        defines = ctx.attr.defines,
        include_prefix = ctx.attr.include_prefix,
        strip_include_prefix = ctx.attr.strip_include_prefix,
        compilation_contexts = [info.compilation_context for info in all_infos],
    )

    srcs = [f for f in ctx.files.srcs if "." + f.extension in _SRC_EXTENSIONS]
    private_hdrs = [f for f in ctx.files.srcs if "." + f.extension not in _SRC_EXTENSIONS]
    objects = []
    if enabled and srcs:
        archs = ctx.attr.archs if ctx.attr.archs else ctx.attr._archs[FlagInfo].value.split(",")
        mode = ctx.var["COMPILATION_MODE"]
        common = ["-std=c++20"]
        if mode == "dbg":
            common += ["-O0", "-g"]
        else:
            common += ["-O3", "-DNDEBUG"]
        common += [
            "-Xcompiler",
            "-fPIC",
            "-ccbin",
            cc_toolchain.compiler_executable,
        ]
        common += _gencode_flags(archs)

        root = ctx.label.workspace_root  # "" or "external/<repo>"
        dirs = [root or "."]
        dirs += [ctx.bin_dir.path + ("/" + root if root else "")]
        dirs += compilation_context.quote_includes.to_list()
        dirs += compilation_context.includes.to_list()
        include_flags = ["-I" + d for d in _uniq(dirs)]
        for d in _uniq(compilation_context.system_includes.to_list()):
            include_flags += ["-isystem", d]
        define_flags = ["-D" + d for d in compilation_context.defines.to_list()]
        define_flags += ["-D" + d for d in ctx.attr.local_defines]

        inputs = depset(
            ctx.files.hdrs + private_hdrs,
            transitive = [compilation_context.headers, cc_toolchain.all_files],
        )
        for src in srcs:
            obj = ctx.actions.declare_file(_object_name(ctx, src))
            args = ctx.actions.args()
            if src.extension != "cu":
                args.add_all(["-x", "cu"])
            args.add_all(common)
            args.add_all(include_flags)
            args.add_all(define_flags)
            args.add_all(ctx.attr.copts)
            args.add_all(["-c", src.path, "-o", obj.path])
            ctx.actions.run(
                executable = NVCC,
                arguments = [args],
                inputs = depset([src], transitive = [inputs]),
                outputs = [obj],
                mnemonic = "CudaCompile",
                progress_message = "Compiling CUDA %s" % src.short_path,
                use_default_shell_env = True,
            )
            objects.append(obj)

    linking_context, linking_outputs = cc_common.create_linking_context_from_compilation_outputs(
        name = ctx.label.name,
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = cc_common.create_compilation_outputs(
            objects = depset(objects),
            pic_objects = depset(objects),
        ),
        linking_contexts = [info.linking_context for info in all_infos],
        alwayslink = ctx.attr.alwayslink,
        disallow_dynamic_library = True,
    )

    files = list(objects)
    lib = linking_outputs.library_to_link
    if lib != None:
        files += [f for f in [lib.static_library, lib.pic_static_library] if f != None]
    return [
        DefaultInfo(files = depset(files)),
        CcInfo(
            compilation_context = compilation_context,
            linking_context = linking_context,
        ),
    ]

cuda_library = rule(
    implementation = _cuda_library_impl,
    doc = "Compiles CUDA sources with nvcc into a library that cc_* rules can depend on. See the module docstring.",
    attrs = {
        "srcs": attr.label_list(
            allow_files = _SRC_EXTENSIONS + _HDR_EXTENSIONS,
            doc = "CUDA sources (.cu; .cc/.cpp are compiled as CUDA too) and private headers.",
        ),
        "hdrs": attr.label_list(
            allow_files = _HDR_EXTENSIONS,
            doc = "Public headers. Keep them includable by a plain C++ compiler.",
        ),
        "deps": attr.label_list(
            providers = [CcInfo],
            doc = "cc_library/cuda_library targets; their headers, include dirs and defines reach nvcc.",
        ),
        "copts": attr.string_list(doc = "Extra nvcc flags (use -Xcompiler X for the host compiler)."),
        "defines": attr.string_list(doc = "Defines for this library and everything depending on it."),
        "local_defines": attr.string_list(doc = "Defines for this library's sources only."),
        "include_prefix": attr.string(doc = "As cc_library.include_prefix."),
        "strip_include_prefix": attr.string(doc = "As cc_library.strip_include_prefix."),
        "alwayslink": attr.bool(default = False, doc = "As cc_library.alwayslink."),
        "archs": attr.string_list(doc = "Overrides --//third_party/cuda:archs for this target."),
        "_archs": attr.label(default = Label("//third_party/cuda:archs")),
        "_enabled": attr.label(default = Label("//third_party/cuda:enabled")),
        "_cuda_enabled": attr.label(default = Label("//third_party/cuda:cuda_enabled")),
        "_cudart": attr.label(default = Label("@local_cuda//:cudart")),
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
