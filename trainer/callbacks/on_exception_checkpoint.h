// L::callbacks::OnExceptionCheckpoint(dirpath, filename = "on_exception"): Lightning's
// fault-tolerance checkpoint. When fit/validate/test/predict fails (an exception in any hook, a
// Ctrl+C), it saves `<dirpath>/<filename>.ckpt` through Trainer.save_checkpoint before the error
// reaches the caller; a run that ends normally deletes that file at teardown. A later `fit`
// without ckpt_path then resumes from it (Lightning turns ckpt_path None into "last" when one
// of these callbacks is present, and "last" picks the newest of this file and the
// ModelCheckpoints' last checkpoints).
#pragma once

#include <string>

#include "fulgur/trainer/callbacks/checkpoint.h"

namespace fulgur::lightning::callbacks {

class OnExceptionCheckpoint : public Checkpoint {
 public:
  static constexpr const char* kFileExtension = ".ckpt";
  // An empty filename is Lightning's ValueError.
  explicit OnExceptionCheckpoint(std::string dirpath, std::string filename = "on_exception");

  const std::string& dirpath() const { return dirpath_; }
  const std::string& filename() const { return filename_; }
  // <dirpath>/<filename>.ckpt
  std::string ckpt_path() const;

  void on_exception(Trainer& trainer, LightningModule&, const std::exception&) override;
  void teardown(Trainer& trainer, LightningModule&, const std::string& stage) override;

 private:
  std::string dirpath_;
  std::string filename_;
};

}  // namespace fulgur::lightning::callbacks
