#include "fulgur/trainer/callbacks/on_exception_checkpoint.h"

#include <filesystem>
#include <system_error>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

OnExceptionCheckpoint::OnExceptionCheckpoint(std::string dirpath, std::string filename)
    : dirpath_(std::move(dirpath)), filename_(std::move(filename)) {
  FULGUR_CHECK(!filename_.empty(), "OnExceptionCheckpoint", "The filename cannot be empty");
}

std::string OnExceptionCheckpoint::ckpt_path() const {
  return (std::filesystem::path(dirpath_) / (filename_ + kFileExtension)).string();
}

void OnExceptionCheckpoint::on_exception(Trainer& trainer, LightningModule&, const std::exception&) {
  trainer.save_checkpoint(ckpt_path());
}

void OnExceptionCheckpoint::teardown(Trainer& trainer, LightningModule&, const std::string&) {
  // Lightning's strategy.remove_checkpoint: global rank 0 deletes the file if it exists.
  if (!trainer.is_global_zero()) return;
  std::error_code ec;
  std::filesystem::remove(ckpt_path(), ec);
}

}  // namespace fulgur::lightning::callbacks
