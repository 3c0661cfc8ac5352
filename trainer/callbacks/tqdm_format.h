// The text of L::callbacks::ProgressBar's bars: tqdm's format_meter with Lightning's
// TQDMProgressBar.BAR_FORMAT and its number padding, as pure functions of counts and times so
// that tests can assert exact strings without a terminal.
//
//   tqdm_format::meter({.desc = "Epoch 3", .n = 120, .total = 267, .elapsed = 2.5,
//                       .postfix = "v_num=0, train_loss=0.312"})
//   == "Epoch 3:  45%|████▍     | 120/267 [00:02<00:03, 48.00it/s, v_num=0, train_loss=0.312]"
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning::callbacks {

// What a progress bar shows after the counts, in order (Lightning's get_metrics dict): numbers
// (int or float) and strings.
using ProgressBarMetrics = std::vector<std::pair<std::string, Value>>;

namespace tqdm_format {

// tqdm.format_interval: "MM:SS", or "H:MM:SS" from one hour on (whole seconds, truncated).
std::string interval(double seconds);
// Lightning's Tqdm.format_num: tqdm's 3 significant digits when shorter than Python's str(),
// then floats padded with zeros to 5 characters ("1.500", "2.000", "0.312"); ints as is.
std::string number(const Value& v);
// tqdm.set_postfix's text: "key=value" joined by ", " (numbers through number(), strings as
// they are, whitespace stripped).
std::string postfix(const ProgressBarMetrics& metrics);
// tqdm's Bar: `width` cells of Unicode eighth blocks for the fraction `frac` (clamped to [0, 1]).
std::string bar(double frac, int64_t width);

struct Meter {
  std::string desc;     // "Epoch 3", "Validation DataLoader 0"
  int64_t n = 0;        // batches done
  int64_t total = 0;    // batches in all; <= 0: unknown
  double elapsed = 0;   // seconds since the bar was (re)set
  std::string postfix;  // postfix() of the metrics, or ""
};
// Lightning's BAR_FORMAT "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining},
// {rate_noinv_fmt}{postfix}]". The rate is n / elapsed ("?it/s" and "?" remaining while no time
// has passed). ncols > 0: the bar fills the line to ncols characters (the rest trimmed), as
// tqdm's dynamic_ncols; 0: a 10-cell bar. Unknown total: a blank bar and "{n}/?".
std::string meter(const Meter& m, int64_t ncols = 0);

// Characters as a terminal counts them (UTF-8 code points).
size_t display_length(const std::string& s);

}  // namespace tqdm_format
}  // namespace fulgur::lightning::callbacks
