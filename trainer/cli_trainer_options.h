// The Trainer's arguments as L::LightningCLI sees them: one row per TrainerOptions field,
// with Lightning's name, its type as Lightning's signature spells it, a one-line help text,
// and how to read the field into a config Value and write a config Value back.
//
// A new TrainerOptions field becomes a `--trainer.NAME` flag by adding one row to the table
// in cli_trainer_options.cc.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::detail {

struct TrainerOptionSpec {
  std::string name;  // "max_epochs"
  std::string type;  // "Optional[int]", shown by --help and in type errors
  std::string help;  // one line, from Lightning's Trainer docstring
  // The field as it goes into the config (YAML): an int, a float, a string, null, ...
  std::function<Value(const TrainerOptions&)> get;
  // The value normalized (a float option given 1 keeps 1.0), or nullopt when it has the
  // wrong type. `--trainer.NAME=TEXT` is tried as YAML first, then as the raw string.
  std::function<std::optional<Value>(const Value&)> check;
  // Writes a checked value into the field.
  std::function<void(TrainerOptions&, const Value&)> set;
};

// Every TrainerOptions field the command line can set, in TrainerOptions's order.
const std::vector<TrainerOptionSpec>& trainer_option_specs();

}  // namespace fulgur::lightning::detail
