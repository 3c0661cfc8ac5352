#include "options.h"

#include <fulgur/kernels/error.h>

#include <cstdlib>
#include <functional>
#include <map>

namespace cpp_embed {
namespace {

int64_t to_int(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  FULGUR_CHECK(!text.empty() && *end == '\0', "cpp_embed flags", flag, " expects an integer, got '", text, "'");
  return v;
}

double to_double(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  FULGUR_CHECK(!text.empty() && *end == '\0', "cpp_embed flags", flag, " expects a number, got '", text, "'");
  return v;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  const std::map<std::string, std::function<void(const std::string&, const std::string&)>> setters = {
      {"--steps", [&](auto& f, auto& v) { o.steps = to_int(f, v); }},
      {"--train-every", [&](auto& f, auto& v) { o.train_every = to_int(f, v); }},
      {"--grid", [&](auto& f, auto& v) { o.grid = to_int(f, v); }},
      {"--r", [&](auto& f, auto& v) { o.r = to_double(f, v); }},
      {"--hidden", [&](auto& f, auto& v) { o.hidden = to_int(f, v); }},
      {"--lr", [&](auto& f, auto& v) { o.lr = to_double(f, v); }},
      {"--batch", [&](auto& f, auto& v) { o.batch = to_int(f, v); }},
      {"--infer-steps", [&](auto& f, auto& v) { o.infer_steps = to_int(f, v); }},
      {"--checkpoint-dir", [&](auto&, auto& v) { o.checkpoint_dir = v; }},
      {"--resume", [&](auto&, auto& v) { o.resume = v; }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i], value;
    const size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else {
      FULGUR_CHECK(i + 1 < argc, "cpp_embed flags", flag, " needs a value");
      value = argv[++i];
    }
    const auto it = setters.find(flag);
    std::string known;
    for (const auto& [name, set] : setters) known += " " + name;
    FULGUR_CHECK(it != setters.end(), "cpp_embed flags", "unknown flag '", flag, "'; hint: the flags are", known);
    it->second(flag, value);
  }
  FULGUR_CHECK(o.steps >= 0 && o.train_every >= 1 && o.hidden >= 1 && o.batch >= 1 && o.infer_steps >= 1 &&
                   o.lr > 0,
               "cpp_embed flags", "--steps ", o.steps, " --train-every ", o.train_every, " --hidden ", o.hidden,
               " --batch ", o.batch, " --infer-steps ", o.infer_steps, " --lr ", o.lr,
               "; hint: steps >= 0, lr > 0, the others >= 1");
  return o;
}

}  // namespace cpp_embed
