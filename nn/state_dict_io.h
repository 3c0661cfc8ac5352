// nn::StateDict <-> Value and files: the thin adaptor between modules and fulgur::save/load
// (serialize/ cannot see nn/). A StateDict becomes a str -> Tensor dict, which save() writes
// as the collections.OrderedDict that torch's module.state_dict() is.
//
//   nn::save_state_dict(model.state_dict(), "model.pt");           // torch.load-able
//   model.load_state_dict(nn::load_state_dict_file("torch_model.pt"));  // from torch.save
#pragma once

#include <string>

#include "fulgur/nn/module.h"
#include "fulgur/tensor/value.h"

namespace fulgur::nn {

Value to_value(const StateDict& state_dict);
// A dict of str -> Tensor (a torch state_dict); throws fulgur::Error naming the first entry
// that is not a tensor or a key that is not a string (for a Lightning checkpoint pass
// ck.at("state_dict")).
StateDict state_dict_from_value(const Value& value);

void save_state_dict(const StateDict& state_dict, const std::string& path);
StateDict load_state_dict_file(const std::string& path);

}  // namespace fulgur::nn
