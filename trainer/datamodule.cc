#include "fulgur/trainer/datamodule.h"

#include <string>

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {
namespace {

constexpr const char* kNotImplemented = "must be implemented to be used with the Lightning Trainer";

[[noreturn]] void not_implemented(const LightningDataModule& dm, const char* hook) {
  FULGUR_FAIL(hook, "`", hook, "` ", kNotImplemented, " (", dm.name(),
              " does not override it); hint: override ", hook, "() in your LightningDataModule, or pass the "
              "dataloaders to the Trainer directly");
}

}  // namespace

bool detail::is_not_implemented(const std::exception& e) {
  return std::string(e.what()).find(kNotImplemented) != std::string::npos;
}

Loaders LightningDataModule::train_dataloader() { not_implemented(*this, "train_dataloader"); }
Loaders LightningDataModule::val_dataloader() { not_implemented(*this, "val_dataloader"); }
Loaders LightningDataModule::test_dataloader() { not_implemented(*this, "test_dataloader"); }
Loaders LightningDataModule::predict_dataloader() { not_implemented(*this, "predict_dataloader"); }

}  // namespace fulgur::lightning
