// L::load_from_checkpoint<Model>(path, overrides, options): Lightning's
// Model.load_from_checkpoint. Rebuilds the module from the checkpoint's "hyper_parameters"
// (save_hyperparameters()), with `overrides` replacing saved values, then, in Lightning's
// order (core/saving.py): configure_model, on_load_checkpoint, the "state_dict", and the
// module moved to the device of the state_dict's first tensor. Model must be constructible
// from an L::HParams.
//
//   auto model = L::load_from_checkpoint<LitClassifier>("best.ckpt", {{"lr", 1e-4}});
//   auto on_cpu = L::load_from_checkpoint<LitClassifier>("best.ckpt", {}, {.map_location = kCPU});
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "fulgur/serialize/checkpoint.h"
#include "fulgur/trainer/hparams.h"
#include "fulgur/trainer/lightning_module.h"

namespace fulgur::lightning {

// Lightning's load_from_checkpoint keyword arguments (hparams_file aside).
struct LoadFromCheckpointOptions {
  // Where the checkpoint's tensors, and so the module, go. nullopt: Lightning's default, each
  // tensor back on the GPU it was saved from where that GPU exists here, else on the CPU.
  // Lightning's dict and callable forms are not offered.
  std::optional<Device> map_location = std::nullopt;
  // false: keys the module lacks or does not fill are skipped, with Lightning's warnings.
  bool strict = true;
};

namespace detail {
// torch.load's map_location for LoadFromCheckpointOptions::map_location.
MapLocation checkpoint_map_location(const std::optional<Device>& map_location);
// The checkpoint's "state_dict" (throws when it has none: not a Lightning checkpoint).
nn::StateDict checkpoint_state_dict(const Value& checkpoint, const std::string& path);
// Lightning's strict=False warnings, on rank 0.
void warn_incompatible_keys(const nn::IncompatibleKeys& keys);
// The device the module goes to: its first tensor's (nullopt, with Lightning's warning, when
// the state_dict is empty).
std::optional<Device> loaded_module_device(const nn::StateDict& state_dict, const std::string& path);
}  // namespace detail

template <typename Model>
  requires std::derived_from<Model, LightningModule> && std::constructible_from<Model, HParams>
std::shared_ptr<Model> load_from_checkpoint(const std::string& path, const HParams& overrides = {},
                                            const LoadFromCheckpointOptions& options = {}) {
  const Value checkpoint = fulgur::load(path, detail::checkpoint_map_location(options.map_location));
  const nn::StateDict state_dict = detail::checkpoint_state_dict(checkpoint, path);
  HParams hp;
  if (const Value* saved = checkpoint.find("hyper_parameters")) hp = HParams::from_value(*saved);
  auto model = std::make_shared<Model>(hp.merged(overrides));
  model->configure_model();  // Lightning calls it when overridden; the default does nothing
  model->on_load_checkpoint(checkpoint);
  const nn::IncompatibleKeys keys = model->load_state_dict(state_dict, options.strict);
  if (!options.strict) detail::warn_incompatible_keys(keys);
  if (const std::optional<Device> device = detail::loaded_module_device(state_dict, path)) model->to(*device);
  return model;
}

}  // namespace fulgur::lightning
