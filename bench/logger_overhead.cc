// What a logging call costs the training loop, per logger: log_metrics with five metrics (four
// floats and the epoch, as the Trainer sends them) then save(), which is what the Trainer does
// every log_every_n_steps steps. Rounds of the loggers alternate so that all see the same load;
// each reports its median round. bench/logger_overhead_wandb.py times wandb's own offline
// run.log (what Lightning's WandbLogger calls) for comparison.
//
//   bazel run -c opt //bench:logger_overhead -- --json
//   {"bench":"logger_overhead","calls":2000,"csv_us":...,"tensorboard_us":...,"mlflow_us":...,"wandb_us":...}
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

namespace L = fulgur::lightning;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Candidate {
  std::string name;
  std::function<std::shared_ptr<L::Logger>(const std::string& dir)> make;
  std::vector<double> us_per_call;
};

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) json = json || std::strcmp(argv[i], "--json") == 0;
  constexpr int kCalls = 2000;
  constexpr int kRounds = 7;
  const fs::path root = fs::temp_directory_path() / ("fulgur_logger_bench_" + std::to_string(::getpid()));
  std::vector<Candidate> candidates = {
      {"csv", [](const std::string& d) { return std::make_shared<L::loggers::CSVLogger>(d); }, {}},
      {"tensorboard", [](const std::string& d) { return std::make_shared<L::loggers::TensorBoardLogger>(d); }, {}},
      {"mlflow",
       [](const std::string& d) {
         return std::make_shared<L::loggers::MLFlowLogger>(L::loggers::MLFlowLoggerOptions{.tracking_uri = "file:" + d});
       },
       {}},
      {"wandb",
       [](const std::string& d) {
         return std::make_shared<L::loggers::WandbLogger>(L::loggers::WandbLoggerOptions{.save_dir = d, .offline = true});
       },
       {}},
  };
  const fulgur::Value hparams = fulgur::Value::dict().set("lr", 1e-3).set("batch_size", 64).set("optimizer", "adam");
  for (int round = 0; round < kRounds; ++round) {
    for (Candidate& c : candidates) {
      const fs::path dir = root / (c.name + std::to_string(round));
      fs::create_directories(dir);
      std::shared_ptr<L::Logger> logger = c.make(dir.string());
      logger->log_hyperparams(hparams);
      logger->save();
      const auto start = Clock::now();
      for (int i = 0; i < kCalls; ++i) {
        const double x = 1.0 / (i + 1);
        logger->log_metrics({{"train_loss", x}, {"train_acc", 1 - x}, {"lr", 1e-3}, {"grad_norm", 2 * x},
                             {"epoch", static_cast<double>(i / 500)}},
                            i);
        logger->save();
      }
      c.us_per_call.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kCalls);
      logger->finalize("success");
    }
  }
  // The loggers finish their runs when destroyed: all are gone before the folder is removed.
  std::error_code ec;
  fs::remove_all(root, ec);
  if (json) {
    std::printf("{\"bench\":\"logger_overhead\",\"calls\":%d,\"rounds\":%d", kCalls, kRounds);
    for (const Candidate& c : candidates) std::printf(",\"%s_us\":%.2f", c.name.c_str(), median(c.us_per_call));
    std::printf("}\n");
  } else {
    std::printf("logger_overhead: log_metrics (5 metrics) + save(), median of %d rounds of %d calls\n", kRounds, kCalls);
    for (const Candidate& c : candidates) std::printf("  %-12s %8.2f us per call\n", c.name.c_str(), median(c.us_per_call));
  }
  return 0;
}
