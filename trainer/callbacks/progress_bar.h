// L::callbacks::ProgressBar: Lightning's default progress bar (TQDMProgressBar) for the
// sanity check, training, validation, test and predict loops.
//
//   L::Trainer trainer({.callbacks = {std::make_shared<L::callbacks::ProgressBar>(
//                           L::callbacks::ProgressBarOptions{.refresh_rate = 10})}});
//
// On a terminal it redraws tqdm's bars in place, one line per bar (the train bar, the
// validation bar below it while validating):
//   Epoch 3:  45%|████▍     | 120/267 [00:02<00:03, 48.00it/s, v_num=0, train_loss=0.312]
// Elsewhere (a log file, a pipe) it writes the same text as plain lines, about ten per bar run
// and one when each training epoch ends, so that logs stay readable (docs/TRAINER.md).
// Trainer(enable_progress_bar=true), the default, adds one when the callbacks have none.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "fulgur/trainer/callback.h"
#include "fulgur/trainer/callbacks/tqdm_format.h"

namespace fulgur::lightning::callbacks {

// TQDMProgressBar's arguments, in its order, then Fulgur's.
struct ProgressBarOptions {
  // Batches between redraws (the last batch of a bar always redraws); 0 disables the bars.
  // The environment variable TQDM_MINITERS raises it, as in Lightning.
  int64_t refresh_rate = 1;
  // Lines to offset the bars by (2 per position: the train bar and the validation bar).
  int64_t process_position = 0;
  // Keep each epoch's finished bar on its own line (terminal) instead of reusing one.
  bool leave = false;
  // Where the bars go; null: std::cout (tqdm's file=sys.stdout in Lightning).
  std::ostream* stream = nullptr;
  // Redraw in place (true) or write plain lines (false); nullopt: in place when the stream is
  // std::cout and stdout is a terminal.
  std::optional<bool> terminal = std::nullopt;
  // Seconds on a monotonic clock (the elapsed time and rate); null: std::chrono::steady_clock.
  std::function<double()> clock = nullptr;
};

class ProgressBar : public Callback {
 public:
  explicit ProgressBar(ProgressBarOptions options = {});

  int64_t refresh_rate() const { return refresh_rate_; }
  int64_t process_position() const { return options_.process_position; }
  bool is_enabled() const { return enabled_ && refresh_rate_ > 0; }
  bool is_disabled() const { return !is_enabled(); }
  void enable() { enabled_ = true; }
  void disable() { enabled_ = false; }
  bool terminal() const { return terminal_; }

  // What the bars show after the counts: Lightning's get_standard_metrics ("v_num", the
  // logger's version; several loggers: their distinct versions joined by "_"; a string
  // version: its last 4 characters) then trainer.progress_bar_metrics(). Override to change
  // it (e.g. drop "v_num").
  virtual ProgressBarMetrics get_metrics(Trainer& trainer, LightningModule& module);

  // Lightning's descriptions.
  virtual std::string sanity_check_description() const { return "Sanity Checking"; }
  virtual std::string train_description() const { return "Training"; }
  virtual std::string validation_description() const { return "Validation"; }
  virtual std::string test_description() const { return "Testing"; }
  virtual std::string predict_description() const { return "Predicting"; }

  // Lightning's key is the class name; the bar has no state to save.
  std::string state_key() const override { return "TQDMProgressBar"; }

  void setup(Trainer& trainer, LightningModule& module, const std::string& stage) override;
  void on_sanity_check_start(Trainer& trainer, LightningModule& module) override;
  void on_sanity_check_end(Trainer& trainer, LightningModule& module) override;
  void on_train_start(Trainer& trainer, LightningModule& module) override;
  void on_train_epoch_start(Trainer& trainer, LightningModule& module) override;
  void on_train_batch_end(Trainer& trainer, LightningModule& module, const Value& outputs, const Batch& batch,
                          int64_t batch_idx) override;
  void on_train_epoch_end(Trainer& trainer, LightningModule& module) override;
  void on_train_end(Trainer& trainer, LightningModule& module) override;
  void on_validation_start(Trainer& trainer, LightningModule& module) override;
  void on_validation_batch_start(Trainer& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx,
                                 int64_t dataloader_idx) override;
  void on_validation_batch_end(Trainer& trainer, LightningModule& module, const Value& outputs, const Batch& batch,
                               int64_t batch_idx, int64_t dataloader_idx) override;
  void on_validation_end(Trainer& trainer, LightningModule& module) override;
  void on_test_start(Trainer& trainer, LightningModule& module) override;
  void on_test_batch_start(Trainer& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx,
                           int64_t dataloader_idx) override;
  void on_test_batch_end(Trainer& trainer, LightningModule& module, const Value& outputs, const Batch& batch,
                         int64_t batch_idx, int64_t dataloader_idx) override;
  void on_test_end(Trainer& trainer, LightningModule& module) override;
  void on_predict_start(Trainer& trainer, LightningModule& module) override;
  void on_predict_batch_start(Trainer& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx,
                              int64_t dataloader_idx) override;
  void on_predict_batch_end(Trainer& trainer, LightningModule& module, const Value& outputs, const Batch& batch,
                            int64_t batch_idx, int64_t dataloader_idx) override;
  void on_predict_end(Trainer& trainer, LightningModule& module) override;
  void on_exception(Trainer& trainer, LightningModule& module, const std::exception& error) override;

 private:
  // One tqdm bar: what it shows and where.
  struct Bar {
    bool open = false;
    std::string desc;
    int64_t n = 0;
    int64_t total = 0;
    double start = 0;
    int64_t position = 0;
    bool leave = true;
    std::string postfix;
    size_t drawn_length = 0;  // terminal: the length of the line on screen
  };

  double now() const;
  std::ostream& out() const;
  void open_bar(Bar& bar, const std::string& desc, int64_t position, bool leave);
  void reset_bar(Bar& bar, int64_t total, const std::string& desc);
  void update_bar(Bar& bar, int64_t n, bool plain_line_at_end);
  void set_postfix(Bar& bar, Trainer& trainer, LightningModule& module);
  void close_bar(Bar& bar);
  void draw(Bar& bar, const std::string& text);
  void write_plain(const Bar& bar, double elapsed);
  std::string text(const Bar& bar, double elapsed) const;
  bool should_update(int64_t n, int64_t total) const;
  int64_t plain_interval(int64_t total) const;
  bool dataloader_changed(int64_t dataloader_idx);
  void flush_epoch_line(Trainer& trainer, LightningModule& module);

  ProgressBarOptions options_;
  int64_t refresh_rate_;
  bool enabled_ = true;
  bool terminal_ = false;
  bool warned_duplicates_ = false;
  Bar train_, val_, test_, predict_;
  std::optional<int64_t> current_eval_dataloader_idx_;
  // Plain lines: the finished epoch's line waits for the epoch's metrics, which the Trainer
  // publishes after the callbacks' on_train_epoch_end.
  bool epoch_line_pending_ = false;
  double epoch_line_elapsed_ = 0;
};

}  // namespace fulgur::lightning::callbacks
