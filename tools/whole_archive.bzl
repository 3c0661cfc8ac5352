"""whole_archive: the deps' libraries, all marked alwayslink.

    whole_archive(name = "fulgur_whole", deps = [":fulgur"])
    cc_binary(name = "libfulgur.so", linkshared = True, deps = [":fulgur_whole"])

A linkshared cc_binary pulls only the objects that something references out of its deps'
archives (Bazel 4 dropped the legacy whole-archive rule for shared libraries), and nothing in
the library references the public API, so a plain dep gives an almost empty library. This rule
re-exports every library of the deps' transitive link inputs (each once) with alwayslink =
True, so that the link takes every object (--whole-archive); link flags (-lyaml-cpp ...) and
headers pass through unchanged.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _whole_archive_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    merged = cc_common.merge_cc_infos(cc_infos = [dep[CcInfo] for dep in ctx.attr.deps])
    seen = {}
    linker_inputs = []
    for linker_input in merged.linking_context.linker_inputs.to_list():
        libraries = []
        for lib in linker_input.libraries:
            archive = lib.pic_static_library or lib.static_library
            if archive == None or archive.path in seen:
                continue
            seen[archive.path] = True
            libraries.append(cc_common.create_library_to_link(
                actions = ctx.actions,
                feature_configuration = feature_configuration,
                cc_toolchain = cc_toolchain,
                static_library = lib.static_library,
                pic_static_library = lib.pic_static_library,
                alwayslink = True,
            ))
        linker_inputs.append(cc_common.create_linker_input(
            owner = linker_input.owner,
            libraries = depset(libraries),
            user_link_flags = depset(linker_input.user_link_flags),
            additional_inputs = depset(linker_input.additional_inputs),
        ))
    return [CcInfo(
        compilation_context = merged.compilation_context,
        linking_context = cc_common.create_linking_context(linker_inputs = depset(linker_inputs)),
    )]

whole_archive = rule(
    implementation = _whole_archive_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
