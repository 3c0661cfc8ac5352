// YAML <-> fulgur::Value, through yaml-cpp (Debian's libyaml-cpp-dev): the LightningCLI's
// --config files and the loggers' hparams.yaml.
//
//   Value config = parse_yaml("trainer:\n  max_epochs: 3\n", "config.yaml");
//   std::string text = to_yaml(Value::dict().set("lr", 0.001));   // "lr: 0.001\n"
//
// Plain scalars are typed as YAML 1.2's core schema says (what PyYAML's safe_load also gives
// for these spellings): null/~/empty -> None; true/false (any case) -> bool; decimal, 0x and
// 0o integers -> int; decimal floats (with a '.' or an exponent), .inf, -.inf, .nan -> float;
// everything else, and any quoted scalar, -> str. Maps become dicts with string keys (keys
// stay in file order), sequences lists. Tensors cannot be written (fulgur::Error).
#pragma once

#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur {

// `source` names the text in errors ("config.yaml", "--config"); a syntax error says where.
// Text that is not UTF-8 is refused, as PyYAML does.
Value parse_yaml(const std::string& text, const std::string& source = "<yaml>");
// Block style, two-space indents, keys in dict order; floats print so they read back equal.
std::string to_yaml(const Value& value);

}  // namespace fulgur
