#include "fulgur/trainer/profilers/simple_profiler.h"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/callbacks/python_format.h"

namespace fulgur::lightning::profilers {
namespace {

// Python's f"{x:.5}" (five significant digits, "2.0" keeps its ".0").
std::string five_digits(double x) { return callbacks::python_format_number(x, false, ".5", "SimpleProfiler"); }

// Python's f"{s:<{width}}": pads, never truncates.
std::string left(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// len(s.expandtabs()) in Python: tab stops every 8 columns, a newline restarts the count.
size_t expanded_width(const std::string& s) {
  size_t width = 0;
  size_t column = 0;
  for (const char c : s) {
    const size_t n = c == '\t' ? 8 - column % 8 : 1;
    width += n;
    column = c == '\n' ? 0 : column + n;
  }
  return width;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

SimpleProfiler::SimpleProfiler(SimpleProfilerOptions options)
    : Profiler(ProfilerOptions{.dirpath = std::move(options.dirpath), .filename = std::move(options.filename)}),
      extended_(options.extended),
      start_time_(Clock::now()) {}

void SimpleProfiler::start(const std::string& action_name) {
  const auto [it, inserted] = current_actions_.emplace(action_name, Clock::time_point());
  FULGUR_CHECK(inserted, "SimpleProfiler.start", "Attempted to start ", action_name, " which has already started.");
  it->second = Clock::now();
}

void SimpleProfiler::stop(const std::string& action_name) {
  const Clock::time_point end = Clock::now();
  const auto it = current_actions_.find(action_name);
  FULGUR_CHECK(it != current_actions_.end(), "SimpleProfiler.stop", "Attempting to stop recording an action (",
               action_name, ") which was never started.");
  const double seconds = std::chrono::duration<double>(end - it->second).count();
  current_actions_.erase(it);
  const auto [slot, inserted] = recorded_index_.emplace(action_name, recorded_.size());
  if (inserted) recorded_.emplace_back(action_name, std::vector<double>());
  recorded_[slot->second].second.push_back(seconds);
}

std::string SimpleProfiler::summary() {
  const std::string sep = "\n";
  std::string out = stage() ? upper(*stage()) + " " : "";
  out += "Profiler Report" + sep;
  if (recorded_.empty()) return out + sep;  // (Lightning's non-extended table fails on max() of nothing)
  size_t max_key = 0;
  for (const auto& [action, durations] : recorded_) max_key = std::max(max_key, action.size());
  struct Row {
    const std::string* action;
    double mean, total, percentage;
    size_t calls;
  };
  const double total_duration = std::chrono::duration<double>(Clock::now() - start_time_).count();
  std::vector<Row> rows;
  size_t total_calls = 0;
  for (const auto& [action, durations] : recorded_) {
    const double total = std::accumulate(durations.begin(), durations.end(), 0.0);
    const double n = static_cast<double>(durations.size());
    rows.push_back({&action, total / n, total, 100.0 * total / total_duration, durations.size()});
    total_calls += durations.size();
  }
  // Python's sort(reverse=True) is stable: equal keys keep the order they were recorded in.
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    return extended_ ? a.percentage > b.percentage : a.mean > b.mean;
  });
  auto row = [&](const std::string& action, const std::vector<std::string>& cells) {
    std::string r = sep + "|  " + left(action, max_key) + "\t|";
    for (const std::string& cell : cells) r += "  " + left(cell, 15) + "\t|";
    return r;
  };
  const std::string header = extended_
                                 ? row("Action", {"Mean duration (s)", "Num calls", "Total time (s)", "Percentage %"})
                                 : row("Action", {"Mean duration (s)", "Total time (s)"});
  const std::string sep_lines = sep + std::string(expanded_width(header), '-');
  out += sep_lines + header + sep_lines;
  if (extended_) {
    out += row("Total", {"-", std::to_string(total_calls), five_digits(total_duration), "100 %"});
    out += sep_lines;
  }
  for (const Row& r : rows) {
    out += extended_ ? row(*r.action, {five_digits(r.mean), std::to_string(r.calls), five_digits(r.total),
                                       five_digits(r.percentage)})
                     : row(*r.action, {five_digits(r.mean), five_digits(r.total)});
  }
  return out + sep_lines + sep;
}

}  // namespace fulgur::lightning::profilers
