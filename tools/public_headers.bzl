"""public_headers: the headers of a C++ target, by the path they are included with.

    public_headers(name = "public_headers", deps = ["//:fulgur"])

collects every header of the deps (transitively) that fulgur_cc_library exposes under
`fulgur/...` (its _virtual_includes tree), and writes `<name>.manifest`: one line per header,
`<include path>\t<runfiles path>`, sorted, first occurrence of an include path wins (a header
listed by two targets is the same file). The rule's file is the manifest; its runfiles are the
manifest and the headers. tools/install.sh reads the manifest to install them under
DIR/include. Third-party headers (Eigen, CUDA, ...) are not under `fulgur/` and are left out.
"""

_VIRTUAL = "/_virtual_includes/"

def _public_headers_impl(ctx):
    seen = {}
    files = []
    for dep in ctx.attr.deps:
        for hdr in dep[CcInfo].compilation_context.headers.to_list():
            path = hdr.short_path
            # <package>/_virtual_includes/<target>/<include path>; the root package's has no
            # <package>/ in front.
            at = ("/" + path).find(_VIRTUAL)
            if at < 0:
                continue
            rest = ("/" + path)[at + len(_VIRTUAL):]
            include = rest[rest.find("/") + 1:]
            if not include.startswith(ctx.attr.prefix + "/") or include in seen:
                continue
            seen[include] = path
            files.append(hdr)
    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest")
    ctx.actions.write(
        manifest,
        "".join(["%s\t%s\n" % (inc, seen[inc]) for inc in sorted(seen.keys())]),
    )
    # files: the manifest alone (so that $(location) names it); runfiles: it and the headers.
    return [DefaultInfo(
        files = depset([manifest]),
        runfiles = ctx.runfiles(files = [manifest] + files),
    )]

public_headers = rule(
    implementation = _public_headers_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "prefix": attr.string(default = "fulgur"),
    },
)
