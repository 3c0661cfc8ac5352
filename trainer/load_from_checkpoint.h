// L::load_from_checkpoint<Model>(path, overrides, options): Lightning's
// Model.load_from_checkpoint. Rebuilds the module from the checkpoint's "hyper_parameters"
// (save_hyperparameters()), with `overrides` replacing saved values, calls on_load_checkpoint,
// loads "state_dict" and moves the module to `map_location`. Model must be constructible from
// an L::HParams.
//
//   auto model = L::load_from_checkpoint<LitClassifier>("best.ckpt", {{"lr", 1e-4}});
//   auto on_gpu = L::load_from_checkpoint<LitClassifier>("best.ckpt", {}, {.map_location = Device::cuda(0)});
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/checkpoint.h"
#include "fulgur/trainer/hparams.h"
#include "fulgur/trainer/lightning_module.h"

namespace fulgur::lightning {

// Lightning's load_from_checkpoint keyword arguments (hparams_file aside).
struct LoadFromCheckpointOptions {
  // The device of the module's tensors. nullopt: the CPU, where every checkpoint tensor loads
  // (torch.load(map_location="cpu")); Lightning would restore the device the tensors were
  // saved from. Lightning's dict and callable forms are not offered.
  std::optional<Device> map_location = std::nullopt;
  // false: keys the module lacks or does not fill are skipped (Lightning's strict=False).
  bool strict = true;
};

template <typename Model>
  requires std::derived_from<Model, LightningModule> && std::constructible_from<Model, HParams>
std::shared_ptr<Model> load_from_checkpoint(const std::string& path, const HParams& overrides = {},
                                            const LoadFromCheckpointOptions& options = {}) {
  const Value checkpoint = fulgur::load(path);
  FULGUR_CHECK(checkpoint.is_dict() && checkpoint.contains("state_dict"), "load_from_checkpoint", path,
               " is not a Lightning checkpoint (no \"state_dict\")");
  HParams hp;
  if (const Value* saved = checkpoint.find("hyper_parameters")) hp = HParams::from_value(*saved);
  auto model = std::make_shared<Model>(hp.merged(overrides));
  model->on_load_checkpoint(checkpoint);
  nn::StateDict sd;
  for (const Value::Item& item : checkpoint.at("state_dict").items()) {
    sd.insert(item.first.as_string(), item.second.as_tensor());
  }
  const nn::IncompatibleKeys keys = model->load_state_dict(sd, options.strict);
  // Lightning's strict=False warnings (core/saving.py).
  for (const char* kind : {"missing", "unexpected"}) {
    const std::vector<std::string>& names = kind[0] == 'm' ? keys.missing_keys : keys.unexpected_keys;
    if (names.empty()) continue;
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "'" : ", '") + n + "'";
    std::fprintf(stderr, "Found keys that are %s the model state dict but %s the checkpoint: [%s]\n",
                 kind[0] == 'm' ? "in" : "not in", kind[0] == 'm' ? "not in" : "in", list.c_str());
  }
  if (options.map_location) model->to(*options.map_location);
  return model;
}

}  // namespace fulgur::lightning
