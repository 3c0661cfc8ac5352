// L::load_from_checkpoint<Model>(path, overrides, options): Lightning's
// Model.load_from_checkpoint. Rebuilds the module from the checkpoint's "hyper_parameters"
// (save_hyperparameters()) or from `hparams_file`, with `overrides` replacing saved values,
// then, in Lightning's order (core/saving.py): configure_model, on_load_checkpoint, the
// "state_dict", and the module moved to the device of the state_dict's first tensor. Model
// must be constructible from an L::HParams.
//
//   auto model = L::load_from_checkpoint<LitClassifier>("best.ckpt", {{"lr", 1e-4}});
//   auto on_cpu = L::load_from_checkpoint<LitClassifier>("best.ckpt", {}, {.map_location = kCPU});
//
// A LightningDataModule loads the same way (Lightning's DataModule.load_from_checkpoint): rebuilt
// from "datamodule_hyper_parameters" (or hparams_file), then its state from the entry under its
// name() when there is one; map_location and strict do not apply to it.
//
//   auto data = L::load_from_checkpoint<MNISTData>("best.ckpt", {{"batch_size", 256}});
#pragma once

#include <concepts>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "fulgur/serialize/checkpoint.h"
#include "fulgur/trainer/datamodule.h"
#include "fulgur/trainer/hparams.h"
#include "fulgur/trainer/lightning_module.h"

namespace fulgur::lightning {

// torch.load's map_location in the forms Lightning passes on:
//   {}                                  Lightning's default: each tensor back on the GPU it was
//                                       saved from where that GPU exists here, else the CPU
//                                       (torch raises for a missing cuda:N; we take the CPU)
//   kCPU, Device::cuda(0)               every tensor there
//   std::map<std::string, std::string>  saved location -> location ({{"cuda:1", "cuda:0"}});
//                                       other locations as by default
//   a function of the saved location    returning the Device ("cuda:0" -> ...)
class CheckpointMapLocation {
 public:
  CheckpointMapLocation() = default;
  CheckpointMapLocation(Device device) : how_(device) {}
  CheckpointMapLocation(std::map<std::string, std::string> remap) : how_(std::move(remap)) {}
  template <typename F>
    requires std::is_invocable_r_v<Device, F, const std::string&>
  CheckpointMapLocation(F fn) : how_(MapLocation(std::move(fn))) {}

  // The function fulgur::load asks about each storage.
  MapLocation resolve() const;

 private:
  std::variant<std::monostate, Device, std::map<std::string, std::string>, MapLocation> how_;
};

// Lightning's load_from_checkpoint keyword arguments.
struct LoadFromCheckpointOptions {
  CheckpointMapLocation map_location = {};
  // Replaces the checkpoint's hyper_parameters: a .yaml/.yml file (the loggers' hparams.yaml)
  // or a .csv of key,value rows after a header (Lightning's tags.csv). Empty: not used.
  std::string hparams_file = "";
  // false: keys the module lacks or does not fill are skipped, with Lightning's warnings.
  // nullopt: the module's strict_loading() (true unless it set it).
  std::optional<bool> strict = std::nullopt;
};

namespace detail {
// The checkpoint at `path`, its `hparams_key` ("hyper_parameters" or
// "datamodule_hyper_parameters") replaced by options.hparams_file when given.
Value read_checkpoint(const std::string& path, const LoadFromCheckpointOptions& options, const char* hparams_key);
// The checkpoint's "state_dict" (read_checkpoint made sure there is one).
nn::StateDict checkpoint_state_dict(const Value& checkpoint);
// options.strict, checked against the module's strict_loading as Lightning does.
bool resolve_strict(const LightningModule& module, const std::optional<bool>& strict);
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
  const Value checkpoint = detail::read_checkpoint(path, options, "hyper_parameters");
  const nn::StateDict state_dict = detail::checkpoint_state_dict(checkpoint);
  HParams hp;
  if (const Value* saved = checkpoint.find("hyper_parameters")) hp = HParams::from_value(*saved);
  auto model = std::make_shared<Model>(hp.merged(overrides));
  const bool strict = detail::resolve_strict(*model, options.strict);
  model->configure_model();  // Lightning calls it when overridden; the default does nothing
  model->on_load_checkpoint(checkpoint);
  const nn::IncompatibleKeys keys = model->load_state_dict(state_dict, strict);
  if (!strict) detail::warn_incompatible_keys(keys);
  if (const std::optional<Device> device = detail::loaded_module_device(state_dict, path)) model->to(*device);
  return model;
}

template <typename DataModule>
  requires std::derived_from<DataModule, LightningDataModule> && std::constructible_from<DataModule, HParams>
std::shared_ptr<DataModule> load_from_checkpoint(const std::string& path, const HParams& overrides = {},
                                                 const LoadFromCheckpointOptions& options = {}) {
  const Value checkpoint = detail::read_checkpoint(path, options, "datamodule_hyper_parameters");
  HParams hp;
  if (const Value* saved = checkpoint.find("datamodule_hyper_parameters")) hp = HParams::from_value(*saved);
  auto datamodule = std::make_shared<DataModule>(hp.merged(overrides));
  if (const Value* state = checkpoint.find(datamodule->name())) datamodule->load_state_dict(*state);
  return datamodule;
}

}  // namespace fulgur::lightning
