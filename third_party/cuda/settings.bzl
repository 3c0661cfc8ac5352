"""Minimal Starlark build settings (flags) used by //third_party/cuda.

Written here instead of loading bazel-skylib's common_settings.bzl so that the
CUDA rules need nothing beyond Bazel itself.
"""

FlagInfo = provider(
    doc = "The value of a fulgur build setting.",
    fields = {"value": "the flag's value (string or bool)"},
)

def _flag_impl(ctx):
    return [FlagInfo(value = ctx.build_setting_value)]

string_flag = rule(
    implementation = _flag_impl,
    build_setting = config.string(flag = True),
    doc = "A string flag, set with --//pkg:name=value.",
)

bool_flag = rule(
    implementation = _flag_impl,
    build_setting = config.bool(flag = True),
    doc = "A boolean flag, set with --//pkg:name=true|false.",
)
