// L::profilers::SimpleProfiler: Lightning's SimpleProfiler. Records the wall time of every
// action the Trainer names (steady clock) and reports, per action, the mean duration, the number
// of calls, the total and its share of the time since the profiler was made, in Lightning's
// table (tab-separated columns, numbers as Python's f"{x:.5}"). Durations accumulate over the
// profiler's life, so a validate after a fit reports both, as in Lightning.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fulgur/trainer/profilers/profiler.h"

namespace fulgur::lightning::profilers {

struct SimpleProfilerOptions {
  std::string dirpath = "";   // "" with a filename: the Trainer's log_dir
  std::string filename = "";  // "" prints the report
  // Adds the "Num calls" and "Percentage %" columns (rows sorted by share instead of by mean).
  bool extended = true;
};

class SimpleProfiler : public Profiler {
 public:
  explicit SimpleProfiler(SimpleProfilerOptions options = {});

  // Errors (as Lightning's ValueError) for an action already running / not running.
  void start(const std::string& action_name) override;
  void stop(const std::string& action_name) override;
  void cancel(const std::string& action_name) override { current_actions_.erase(action_name); }
  std::string summary() override;

  // The recorded durations in seconds, per action, in the order actions were first stopped.
  const std::vector<std::pair<std::string, std::vector<double>>>& recorded_durations() const { return recorded_; }

 private:
  using Clock = std::chrono::steady_clock;
  bool extended_;
  Clock::time_point start_time_;
  std::unordered_map<std::string, Clock::time_point> current_actions_;
  std::vector<std::pair<std::string, std::vector<double>>> recorded_;
  std::unordered_map<std::string, size_t> recorded_index_;
};

}  // namespace fulgur::lightning::profilers
