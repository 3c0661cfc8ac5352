// Checkpoints in Lightning's layout through fulgur::save/load (serialize/): atomic writes,
// and loads that change nothing unless the whole file fits the model and optimizer.
#include <string>
#include <vector>

#include "capi/handles.h"
#include "fulgur/trainer/version.h"

namespace fulgur::capi {
namespace {

// The file's model entries, prefix stripped: a Lightning checkpoint's "state_dict", or the
// file itself when it is a plain state_dict (torch.save(model.state_dict())).
nn::StateDict model_entries(const Value& ck, const std::string& prefix) {
  if (!ck.is_dict()) {
    fail(FULGUR_IO_ERROR, std::string("the file holds a ") + ck.type_name() +
                              ", not a checkpoint dict or a state_dict");
  }
  const Value* entries = ck.find("state_dict");
  if (entries == nullptr) entries = &ck;
  if (!entries->is_dict()) fail(FULGUR_IO_ERROR, "the checkpoint's \"state_dict\" is not a dict");
  nn::StateDict sd;
  for (const Value::Item& item : entries->items()) {
    if (!item.first.is_string()) continue;
    const std::string& key = item.first.as_string();
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (!item.second.is_tensor()) {
      fail(FULGUR_IO_ERROR, "state_dict entry \"" + printable(key) + "\" is a " + item.second.type_name() +
                                ", not a tensor");
    }
    sd.insert(key.substr(prefix.size()), item.second.as_tensor());
  }
  return sd;
}

// Every key of the model present with its shape, nothing else: the checks load_state_dict
// would make, done before anything is modified.
void check_fits(const nn::Sequential& net, const nn::StateDict& sd, const std::string& prefix) {
  const nn::StateDict own = net.state_dict();
  std::string problems;
  for (const auto& [key, tensor] : own) {
    const Tensor* found = sd.find(key);
    if (found == nullptr) {
      problems += " missing \"" + prefix + key + "\";";
    } else if (found->sizes() != tensor.sizes()) {
      problems += " \"" + prefix + key + "\" is " + shape_str(found->sizes()) + " in the file, " +
                  shape_str(tensor.sizes()) + " in the model;";
    }
  }
  for (const auto& [key, tensor] : sd) {
    if (!own.contains(key)) problems += " unexpected \"" + printable(prefix + key) + "\";";
  }
  if (!problems.empty()) {
    fail(FULGUR_SHAPE_MISMATCH, "the checkpoint does not fit the model's layers:" + problems +
                                    " hint: build the model with the same layers, and pass key_prefix (e.g. "
                                    "\"net.\") for a LightningModule's checkpoint");
  }
}

}  // namespace
}  // namespace fulgur::capi

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

fulgur_status fulgur_checkpoint_save(const fulgur_model* model, const fulgur_optimizer* optimizer, const char* path) {
  return guarded(__func__, FULGUR_IO_ERROR, [&] {
    require(model, "model");
    require(path, "path");
    Value state = Value::dict();
    for (const auto& [name, tensor] : model->net->state_dict()) state.set(name, tensor);
    Value ck = Value::dict({{"epoch", 0},
                            {"global_step", optimizer != nullptr ? optimizer->steps : int64_t{0}},
                            {"pytorch-lightning_version", lightning::kLightningVersion},
                            {"fulgur_version", lightning::kFulgurVersion},
                            {"state_dict", state}});
    if (optimizer != nullptr) {
      ck.set("optimizer_states", Value::list({optimizer->optimizer->state_dict()}));
      ck.set("lr_schedulers", Value::list());
    }
    // The model's random stream (dropout), so that a resumed run draws what it would have.
    ck.set("fulgur_c", Value::dict({{"abi_version", FULGUR_C_ABI_VERSION},
                                    {"generator_seed", static_cast<int64_t>(model->generator->initial_seed())},
                                    {"generator_offset", static_cast<int64_t>(model->generator->offset())}}));
    save(ck, path);
  });
}

fulgur_status fulgur_checkpoint_load(fulgur_model* model, fulgur_optimizer* optimizer, const char* path,
                                     const char* key_prefix) {
  return guarded(__func__, FULGUR_IO_ERROR, [&] {
    require(model, "model");
    require(path, "path");
    const std::string prefix = key_prefix != nullptr ? key_prefix : "";
    const Value ck = load(path);
    const nn::StateDict sd = model_entries(ck, prefix);
    check_fits(*model->net, sd, prefix);
    if (optimizer != nullptr) {
      const Value* states = ck.find("optimizer_states");
      if (states == nullptr || !states->is_list() || states->as_list().empty()) {
        fail(FULGUR_INVALID_ARGUMENT, "the checkpoint has no \"optimizer_states\"; hint: pass optimizer = NULL to "
                                      "load the model only");
      }
      try {
        optimizer->optimizer->load_state_dict((*states)[0]);  // changes nothing when it throws
      } catch (const Error& e) {
        fail(FULGUR_INVALID_ARGUMENT, e.what());
      }
      const Value* step = ck.find("global_step");
      optimizer->steps = step != nullptr && step->is_int() ? step->as_int() : 0;
    }
    model->net->load_state_dict(sd);
    if (const Value* own = ck.find("fulgur_c"); own != nullptr && own->is_dict()) {
      const Value* seed = own->find("generator_seed");
      const Value* offset = own->find("generator_offset");
      if (seed != nullptr && offset != nullptr && seed->is_int() && offset->is_int()) {
        model->generator->set_state(static_cast<uint64_t>(seed->as_int()), static_cast<uint64_t>(offset->as_int()));
      }
    }
  });
}

}  // extern "C"
