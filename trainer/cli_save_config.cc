#include "fulgur/trainer/cli_save_config.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

SaveConfigCallback::SaveConfigCallback(Value config, SaveConfigOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  FULGUR_CHECK(config_.is_dict(), "SaveConfigCallback", "the config must be a dict, got a ", config_.type_name());
  FULGUR_CHECK(!options_.config_filename.empty(), "SaveConfigCallback", "config_filename must not be empty");
}

void SaveConfigCallback::setup(Trainer& trainer, LightningModule& module, const std::string& stage) {
  if (already_saved_) return;  // one file per run, even when fit is followed by test
  if (options_.save_to_log_dir) {
    namespace fs = std::filesystem;
    const std::string log_dir = trainer.log_dir();
    const fs::path config_path = fs::path(log_dir.empty() ? "." : log_dir) / options_.config_filename;
    if (!options_.overwrite && trainer.is_global_zero()) {
      // Lightning's message and hints, in C++ spelling.
      FULGUR_CHECK(!fs::is_regular_file(config_path), "SaveConfigCallback", "SaveConfigCallback expected ",
                   config_path.string(),
                   " to NOT exist. Aborting to avoid overwriting results of a previous run. You can delete the "
                   "previous config file, set `LightningCLI(..., {.save_config_callback = false})` to disable "
                   "config saving, or set `{.save_config_kwargs = {.overwrite = true}}` to overwrite the config "
                   "file.");
    }
    if (trainer.is_global_zero()) {
      // The logger usually creates log_dir, but it has logged nothing yet at setup.
      std::error_code ec;
      fs::create_directories(config_path.parent_path(), ec);
      FULGUR_CHECK(!ec, "SaveConfigCallback", "cannot create the log directory '", config_path.parent_path().string(),
                   "': ", ec.message());
      serialize::write_file_atomic(config_path.string(), to_yaml(config_), "SaveConfigCallback");
    }
  }
  if (trainer.is_global_zero()) {
    save_config(trainer, module, stage);
    already_saved_ = true;
  }
}

}  // namespace fulgur::lightning
