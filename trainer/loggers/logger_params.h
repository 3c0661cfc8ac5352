// How Lightning's loggers shape what they are given (lightning.fabric.utilities.logger and
// lightning.pytorch.core.saving): nested hyperparameters flattened with "/", values made
// loggable, metric keys prefixed, hparams.yaml written.
#pragma once

#include <map>
#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning::loggers::detail {

// _flatten_dict: {'a': {'b': 1}} -> {'a/b': 1}; a list made only of dicts is flattened by
// index ('dl/0/a'); other lists stay values. Keys become strings.
Value flatten_params(const Value& params, const std::string& delimiter = "/");
// _sanitize_params (TensorBoard): bool, int, float and str stay; a one-element tensor becomes
// its number; anything else its Python str() (lists: "[1, 2, 3]", None: "None").
Value sanitize_params(const Value& flat);
// Python's str(v): a string as itself, everything else as its repr.
std::string python_str(const Value& v);
// _add_prefix: "<prefix><separator><key>" for every key when a prefix is given.
std::map<std::string, double> add_prefix(const std::map<std::string, double>& metrics, const std::string& prefix,
                                         const std::string& separator = "-");
// dict.update: `params`' keys set into `into` (a dict), in order.
void update_dict(Value& into, const Value& params);
// save_hparams_to_yaml: PyYAML's yaml.dump, keys sorted at every level; written atomically.
void save_hparams_to_yaml(const std::string& path, const Value& hparams);
// A metric value as Python's csv writes a float (repr), or an int for the epoch Lightning
// logs as an int.
std::string csv_number(double v, bool as_int);

}  // namespace fulgur::lightning::loggers::detail
