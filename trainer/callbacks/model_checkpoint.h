// L::callbacks::ModelCheckpoint (lightning.pytorch.callbacks.ModelCheckpoint, Lightning 2.x):
// saves checkpoints during fit, keeps the best `save_top_k` by a monitored metric (deleting
// the worse files), optionally a `last.ckpt`, and remembers the best path and score.
//
//   auto ckpt = std::make_shared<L::callbacks::ModelCheckpoint>(L::callbacks::ModelCheckpointOptions{
//       .filename = "{epoch}-{val_loss:.2f}", .monitor = "val_loss", .save_last = true, .save_top_k = 3});
//   L::Trainer trainer({.callbacks = {ckpt}, .max_epochs = 10});
//   trainer.fit(model, train_dl, val_dl);
//   ckpt->best_model_path();   // e.g. ".../checkpoints/epoch=7-val_loss=0.12.ckpt"
//   trainer.test(model, test_dl, {.ckpt_path = "best"});
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/callback.h"
#include "fulgur/trainer/callbacks/checkpoint.h"

namespace fulgur::lightning::callbacks {

// ModelCheckpoint(save_last=...): None/False, True, or "link" (last.ckpt is a symlink to the
// latest checkpoint instead of a second copy).
class SaveLast {
 public:
  SaveLast(bool enabled) : mode_(enabled ? 1 : 0) {}  // NOLINT
  SaveLast(const char* mode);                         // NOLINT: "link" only
  SaveLast(const std::string& mode) : SaveLast(mode.c_str()) {}  // NOLINT
  explicit operator bool() const { return mode_ != 0; }
  bool link() const { return mode_ == 2; }

 private:
  int mode_ = 0;
};

// Lightning's ModelCheckpoint arguments, names and defaults, in Lightning's order except `mode`.
struct ModelCheckpointOptions {
  // nullopt: resolved at setup (Lightning's __resolve_ckpt_dir): save_dir/name/version/
  // checkpoints of the first logger, else default_root_dir/checkpoints.
  std::optional<std::string> dirpath = std::nullopt;
  // A template like "{epoch}-{val_loss:.2f}" (Python format specs); nullopt: "{epoch}-{step}".
  std::optional<std::string> filename = std::nullopt;
  // nullopt: no metric; save_top_k 1 keeps the latest checkpoint only.
  std::optional<std::string> monitor = std::nullopt;
  // "min" or "max". Declared right after monitor (Lightning has it after save_weights_only)
  // so that the cheatsheet's `{.monitor = "val_loss", .mode = "min", .save_top_k = 1}` compiles.
  std::string mode = "min";
  bool verbose = false;
  SaveLast save_last = false;
  int64_t save_top_k = 1;  // -1: keep all, 0: none
  bool save_weights_only = false;
  bool auto_insert_metric_name = true;  // "{epoch}" -> "epoch=3"
  std::optional<int64_t> every_n_train_steps = std::nullopt;
  std::optional<std::chrono::microseconds> train_time_interval = std::nullopt;
  // All three unset: every_n_epochs = 1.
  std::optional<int64_t> every_n_epochs = std::nullopt;
  // nullopt: decided as Lightning does at each check (_should_save_on_train_epoch_end).
  std::optional<bool> save_on_train_epoch_end = std::nullopt;
  bool enable_version_counter = true;  // "-v1", "-v2" instead of overwriting a same-named file
};

class ModelCheckpoint : public Checkpoint {
 public:
  // Lightning's class attributes, per instance (Lightning lets an instance override them).
  std::string CHECKPOINT_JOIN_CHAR = "-";
  std::string CHECKPOINT_EQUALS_CHAR = "=";
  std::string CHECKPOINT_NAME_LAST = "last";
  std::string FILE_EXTENSION = ".ckpt";
  int64_t STARTING_VERSION = 1;

  explicit ModelCheckpoint(ModelCheckpointOptions options = {});

  // "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0,
  // 'every_n_epochs': 1, 'train_time_interval': None}" (Lightning's _generate_state_key).
  std::string state_key() const override;
  // Lightning's keys: monitor, best_model_score, best_model_path, current_score, dirpath,
  // best_k_models, kth_best_model_path, kth_value, last_model_path (scores as floats).
  Value state_dict() const override;
  void load_state_dict(const Value& state) override;

  void setup(Trainer& trainer, LightningModule&, const std::string& stage) override;
  void on_train_start(Trainer&, LightningModule&) override;
  void on_train_batch_end(Trainer& trainer, LightningModule&, const Value&, const Batch&, int64_t) override;
  void on_train_epoch_end(Trainer& trainer, LightningModule&) override;
  void on_validation_end(Trainer& trainer, LightningModule&) override;

  // The path a checkpoint with these metrics gets (Lightning's format_checkpoint_name):
  // `filename` (default: the options' template), "-v<ver>" when ver is given, ".ckpt",
  // under dirpath when known. Metrics named "epoch" and "step" format as integers.
  std::string format_checkpoint_name(const std::map<std::string, double>& metrics,
                                     const std::optional<std::string>& filename = std::nullopt,
                                     std::optional<int64_t> ver = std::nullopt) const;
  // The last.ckpt-like files ("last*.ckpt") in the checkpoint folder (for ckpt_path="last").
  std::set<std::string> find_last_checkpoints(const Trainer& trainer) const;
  // Writes best_k_models as YAML ({path: score}); default: dirpath/best_k_models.yaml.
  void to_yaml(const std::optional<std::string>& filepath = std::nullopt) const;

  const ModelCheckpointOptions& options() const { return options_; }
  const std::optional<std::string>& monitor() const { return options_.monitor; }
  const std::string& mode() const { return options_.mode; }
  int64_t save_top_k() const { return options_.save_top_k; }
  bool save_weights_only() const { return options_.save_weights_only; }
  int64_t every_n_epochs() const { return every_n_epochs_; }
  int64_t every_n_train_steps() const { return every_n_train_steps_; }
  // Known after setup (or from the options).
  const std::optional<std::string>& dirpath() const { return dirpath_; }
  const std::string& best_model_path() const { return best_model_path_; }
  std::optional<double> best_model_score() const { return best_model_score_; }
  std::optional<double> current_score() const { return current_score_; }
  // Path -> score, in the order they were saved (Lightning's dict).
  const std::vector<std::pair<std::string, double>>& best_k_models() const { return best_k_models_; }
  const std::string& kth_best_model_path() const { return kth_best_model_path_; }
  double kth_value() const { return kth_value_; }
  const std::string& last_model_path() const { return last_model_path_; }

 private:
  // A monitor candidate: epoch and step (and missing template keys) are ints in Lightning.
  struct Candidate {
    double value;
    bool is_int;
  };
  using Candidates = std::map<std::string, Candidate>;

  std::string resolve_ckpt_dir(const Trainer& trainer) const;
  bool should_skip_saving_checkpoint(const Trainer& trainer) const;
  bool should_save_on_train_epoch_end(const Trainer& trainer) const;
  Candidates monitor_candidates(const Trainer& trainer) const;
  std::string format_name(Candidates metrics, const std::optional<std::string>& filename,
                          std::optional<int64_t> ver) const;
  std::string interpolated_filepath(Trainer& trainer, const Candidates& metrics, const std::string& del_filepath) const;
  bool file_exists(Trainer& trainer, const std::string& path) const;
  void save_topk_checkpoint(Trainer& trainer, const Candidates& metrics);
  void save_monitor_checkpoint(Trainer& trainer, const Candidates& metrics);
  void save_none_monitor_checkpoint(Trainer& trainer, const Candidates& metrics);
  void update_best_and_save(double current, Trainer& trainer, const Candidates& metrics);
  void save_last_checkpoint(Trainer& trainer, const Candidates& metrics);
  void save_checkpoint(Trainer& trainer, const std::string& filepath);
  bool check_monitor_top_k(std::optional<double> current) const;
  bool should_remove_checkpoint(const Trainer& trainer, const std::string& previous,
                                const std::string& current) const;
  double score_of(const std::string& path) const;

  ModelCheckpointOptions options_;
  std::optional<std::string> dirpath_;
  int64_t every_n_epochs_ = 0;
  int64_t every_n_train_steps_ = 0;
  int64_t last_global_step_saved_ = 0;  // no save when no step was taken since the last one
  std::optional<std::chrono::steady_clock::time_point> last_time_checked_;
  std::optional<double> current_score_;
  std::vector<std::pair<std::string, double>> best_k_models_;
  std::string kth_best_model_path_;
  std::optional<double> best_model_score_;
  std::string best_model_path_;
  std::string last_model_path_;
  std::string last_checkpoint_saved_;
  double kth_value_ = 0.0;
  bool val_loop_ran_ = false;  // Lightning's val_loop._has_run: a missing monitor is an error then
  bool warned_missing_ = false;
};

}  // namespace fulgur::lightning::callbacks
