// L::callbacks::ProgressBar: Lightning 2.4's TQDMProgressBar hooks (which bar opens, resets,
// updates and closes where), drawn with tqdm_format.h either in place on a terminal or as
// plain lines elsewhere.
#include "fulgur/trainer/callbacks/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/logger.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

namespace {

// Lightning's _resolve_refresh_rate: TQDM_MINITERS is a minimum.
int64_t resolve_refresh_rate(int64_t refresh_rate) {
  if (const char* miniters = std::getenv("TQDM_MINITERS")) {
    return std::max<int64_t>(std::atoll(miniters), refresh_rate);
  }
  return refresh_rate;
}

std::string version_text(const Value& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_int()) return std::to_string(v.as_int());
  std::ostringstream s;
  s << v;
  return s.str();
}

// The terminal's width, as tqdm's dynamic_ncols reads it; 0 when unknown.
int64_t terminal_columns() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

}  // namespace

ProgressBar::ProgressBar(ProgressBarOptions options)
    : options_(std::move(options)), refresh_rate_(resolve_refresh_rate(options_.refresh_rate)) {
  FULGUR_CHECK(options_.refresh_rate >= 0, "ProgressBar", "`refresh_rate` must be >= 0 (0 disables the bar), got ",
               options_.refresh_rate);
  FULGUR_CHECK(options_.process_position >= 0, "ProgressBar", "`process_position` must be >= 0, got ",
               options_.process_position);
  const bool to_stdout = options_.stream == nullptr || options_.stream == &std::cout;
  terminal_ = options_.terminal.value_or(to_stdout && isatty(STDOUT_FILENO) == 1);
}

double ProgressBar::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::ostream& ProgressBar::out() const { return options_.stream != nullptr ? *options_.stream : std::cout; }

ProgressBarMetrics ProgressBar::get_metrics(Trainer& trainer, LightningModule&) {
  ProgressBarMetrics metrics;
  const auto& loggers = trainer.loggers();
  if (!loggers.empty()) {
    Value version;
    if (loggers.size() == 1) {
      version = loggers[0]->version();
    } else {
      // Distinct versions in order, joined by "_" (Lightning's _version).
      std::vector<std::string> seen;
      std::string joined;
      for (const auto& logger : loggers) {
        const std::string v = version_text(logger->version());
        if (std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
        joined += (seen.empty() ? "" : "_") + v;
        seen.push_back(v);
      }
      version = joined;
    }
    if (!version.is_none() && !(version.is_string() && version.as_string().empty())) {
      // Long string versions show their last 4 characters.
      if (version.is_string() && version.as_string().size() > 4) {
        version = version.as_string().substr(version.as_string().size() - 4);
      }
      metrics.emplace_back("v_num", version);
    }
  }
  const size_t standard = metrics.size();
  for (const auto& [key, value] : trainer.progress_bar_metrics()) {
    const auto it = std::find_if(metrics.begin(), metrics.begin() + static_cast<std::ptrdiff_t>(standard),
                                 [&](const auto& item) { return item.first == key; });
    if (it == metrics.begin() + static_cast<std::ptrdiff_t>(standard)) {
      metrics.emplace_back(key, value);
      continue;
    }
    if (!warned_duplicates_) {
      rank_zero_printf(
          "warning: The progress bar already tracks a metric with the name(s) '%s' and `self.log('%s', ..., "
          "prog_bar=True)` will overwrite this value.  If this is undesired, change the name or override "
          "`get_metrics()` in the progress bar callback.\n",
          key.c_str(), key.c_str());
      warned_duplicates_ = true;
    }
    it->second = value;  // {**standard, **pbar}: the logged value wins, in the first place
  }
  return metrics;
}

// ---- bar mechanics (tqdm's reset / n + refresh / set_postfix / close) ---------------------

bool ProgressBar::should_update(int64_t n, int64_t total) const {
  return is_enabled() && (n % refresh_rate_ == 0 || n == total);
}

// Plain lines: about ten per bar run, at multiples of refresh_rate.
int64_t ProgressBar::plain_interval(int64_t total) const {
  const int64_t rate = std::max<int64_t>(refresh_rate_, 1);
  if (total <= 0) return rate;
  const int64_t tenth = (total + 9) / 10;
  return rate * std::max<int64_t>(1, (tenth + rate - 1) / rate);
}

std::string ProgressBar::text(const Bar& bar, double elapsed) const {
  const int64_t ncols =
      terminal_ && (options_.stream == nullptr || options_.stream == &std::cout) ? terminal_columns() : 0;
  return tqdm_format::meter({bar.desc, bar.n, bar.total, elapsed, bar.postfix}, ncols);
}

void ProgressBar::draw(Bar& bar, const std::string& line) {
  if (!terminal_ || !is_enabled() || !bar.open) return;
  std::ostream& o = out();
  const size_t length = tqdm_format::display_length(line);
  o << std::string(static_cast<size_t>(bar.position), '\n') << '\r' << line;
  if (length < bar.drawn_length) o << std::string(bar.drawn_length - length, ' ');
  for (int64_t i = 0; i < bar.position; ++i) o << "\x1b[A";
  o.flush();
  bar.drawn_length = length;
}

void ProgressBar::write_plain(const Bar& bar, double elapsed) {
  if (terminal_ || !is_enabled()) return;
  out() << text(bar, elapsed) << std::endl;
}

void ProgressBar::open_bar(Bar& bar, const std::string& desc, int64_t position, bool leave) {
  bar = Bar{};
  bar.open = true;
  bar.desc = desc;
  bar.position = position;
  bar.leave = leave;
  bar.start = now();
}

void ProgressBar::reset_bar(Bar& bar, int64_t total, const std::string& desc) {
  bar.n = 0;
  bar.total = total;
  bar.desc = desc;
  bar.start = now();
  draw(bar, text(bar, 0));
}

void ProgressBar::update_bar(Bar& bar, int64_t n, bool plain_line_at_end) {
  if (!should_update(n, bar.total)) return;
  bar.n = n;
  const double elapsed = now() - bar.start;
  draw(bar, text(bar, elapsed));
  const bool periodic = n % plain_interval(bar.total) == 0;
  if (n == bar.total ? plain_line_at_end : periodic) write_plain(bar, elapsed);
}

void ProgressBar::set_postfix(Bar& bar, Trainer& trainer, LightningModule& module) {
  bar.postfix = tqdm_format::postfix(get_metrics(trainer, module));
  draw(bar, text(bar, now() - bar.start));
}

void ProgressBar::close_bar(Bar& bar) {
  if (!bar.open) return;
  if (terminal_ && is_enabled() && bar.drawn_length > 0) {
    if (bar.leave) {
      draw(bar, text(bar, now() - bar.start));
      if (bar.position == 0) out() << '\n';
    } else {
      draw(bar, "");
      if (bar.position == 0) out() << '\r';
    }
    out().flush();
  }
  bar.open = false;
}

bool ProgressBar::dataloader_changed(int64_t dataloader_idx) {
  const bool changed = current_eval_dataloader_idx_ != dataloader_idx;
  current_eval_dataloader_idx_ = dataloader_idx;
  return changed;
}

void ProgressBar::flush_epoch_line(Trainer& trainer, LightningModule& module) {
  if (!epoch_line_pending_) return;
  epoch_line_pending_ = false;
  train_.postfix = tqdm_format::postfix(get_metrics(trainer, module));
  write_plain(train_, epoch_line_elapsed_);
}

// ---- hooks -------------------------------------------------------------------------------

void ProgressBar::setup(Trainer& trainer, LightningModule&, const std::string&) {
  if (!trainer.is_global_zero()) disable();
}

void ProgressBar::on_sanity_check_start(Trainer&, LightningModule&) {
  open_bar(val_, sanity_check_description(), 2 * options_.process_position, false);
}

void ProgressBar::on_sanity_check_end(Trainer&, LightningModule&) { close_bar(val_); }

void ProgressBar::on_train_start(Trainer&, LightningModule&) {
  open_bar(train_, train_description(), 2 * options_.process_position, true);
}

void ProgressBar::on_train_epoch_start(Trainer& trainer, LightningModule& module) {
  flush_epoch_line(trainer, module);
  if (options_.leave) open_bar(train_, train_description(), 2 * options_.process_position, true);
  reset_bar(train_, trainer.num_training_batches(), "Epoch " + std::to_string(trainer.current_epoch()));
}

void ProgressBar::on_train_batch_end(Trainer& trainer, LightningModule& module, const Value&, const Batch&,
                                     int64_t batch_idx) {
  const int64_t n = batch_idx + 1;
  if (!should_update(n, train_.total)) return;
  train_.postfix = tqdm_format::postfix(get_metrics(trainer, module));
  // The epoch's last plain line comes at the epoch end, with the epoch's metrics.
  update_bar(train_, n, false);
}

void ProgressBar::on_train_epoch_end(Trainer& trainer, LightningModule& module) {
  if (!is_enabled()) return;
  set_postfix(train_, trainer, module);
  if (!terminal_) {
    epoch_line_pending_ = true;
    epoch_line_elapsed_ = now() - train_.start;
  }
  if (options_.leave) close_bar(train_);
}

void ProgressBar::on_train_end(Trainer& trainer, LightningModule& module) {
  flush_epoch_line(trainer, module);
  // Lightning closes with the postfix of the last epoch end; the metrics the Trainer published
  // after it (the epoch aggregates) are shown too.
  if (train_.open && is_enabled()) set_postfix(train_, trainer, module);
  close_bar(val_);  // left open when a validation run stopped early (no validation_step)
  close_bar(train_);
}

void ProgressBar::on_validation_start(Trainer& trainer, LightningModule&) {
  if (trainer.sanity_checking()) return;
  const bool has_main_bar = trainer.state().fn != "validate";
  open_bar(val_, validation_description(), 2 * options_.process_position + (has_main_bar ? 1 : 0), !has_main_bar);
}

void ProgressBar::on_validation_batch_start(Trainer& trainer, LightningModule&, const Batch&, int64_t,
                                            int64_t dataloader_idx) {
  if (!dataloader_changed(dataloader_idx)) return;
  const auto& counts = trainer.num_val_batches();
  const int64_t total = static_cast<size_t>(dataloader_idx) < counts.size() ? counts[dataloader_idx] : 0;
  const std::string desc = trainer.sanity_checking() ? sanity_check_description() : validation_description();
  reset_bar(val_, total, desc + " DataLoader " + std::to_string(dataloader_idx));
}

void ProgressBar::on_validation_batch_end(Trainer&, LightningModule&, const Value&, const Batch&, int64_t batch_idx,
                                          int64_t) {
  update_bar(val_, batch_idx + 1, true);
}

void ProgressBar::on_validation_end(Trainer& trainer, LightningModule& module) {
  close_bar(val_);
  current_eval_dataloader_idx_.reset();
  if (train_.open && trainer.state().fn == "fit" && is_enabled()) set_postfix(train_, trainer, module);
}

void ProgressBar::on_test_start(Trainer&, LightningModule&) {
  open_bar(test_, test_description(), 2 * options_.process_position, true);
}

void ProgressBar::on_test_batch_start(Trainer& trainer, LightningModule&, const Batch&, int64_t,
                                      int64_t dataloader_idx) {
  if (!dataloader_changed(dataloader_idx)) return;
  const auto& counts = trainer.num_test_batches();
  const int64_t total = static_cast<size_t>(dataloader_idx) < counts.size() ? counts[dataloader_idx] : 0;
  reset_bar(test_, total, test_description() + " DataLoader " + std::to_string(dataloader_idx));
}

void ProgressBar::on_test_batch_end(Trainer&, LightningModule&, const Value&, const Batch&, int64_t batch_idx,
                                    int64_t) {
  update_bar(test_, batch_idx + 1, true);
}

void ProgressBar::on_test_end(Trainer&, LightningModule&) {
  close_bar(test_);
  current_eval_dataloader_idx_.reset();
}

void ProgressBar::on_predict_start(Trainer&, LightningModule&) {
  open_bar(predict_, predict_description(), 2 * options_.process_position, true);
}

void ProgressBar::on_predict_batch_start(Trainer& trainer, LightningModule&, const Batch&, int64_t,
                                         int64_t dataloader_idx) {
  if (!dataloader_changed(dataloader_idx)) return;
  const auto& counts = trainer.num_predict_batches();
  const int64_t total = static_cast<size_t>(dataloader_idx) < counts.size() ? counts[dataloader_idx] : 0;
  reset_bar(predict_, total, predict_description() + " DataLoader " + std::to_string(dataloader_idx));
}

void ProgressBar::on_predict_batch_end(Trainer&, LightningModule&, const Value&, const Batch&, int64_t batch_idx,
                                       int64_t) {
  update_bar(predict_, batch_idx + 1, true);
}

void ProgressBar::on_predict_end(Trainer&, LightningModule&) {
  close_bar(predict_);
  current_eval_dataloader_idx_.reset();
}

void ProgressBar::on_exception(Trainer&, LightningModule&, const std::exception&) {
  // Leave the terminal on a fresh line for the error.
  for (Bar* bar : {&val_, &test_, &predict_, &train_}) close_bar(*bar);
  epoch_line_pending_ = false;
}

}  // namespace fulgur::lightning::callbacks
