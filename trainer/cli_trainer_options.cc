#include "fulgur/trainer/cli_trainer_options.h"

#include <cstdint>
#include <utility>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/callbacks/timer.h"

namespace fulgur::lightning::detail {
namespace {

// A codec says how one C++ field type travels through the config: its type name (in
// Lightning's typing spelling), the field as a Value, the accepted Values, and the way back.

struct Int {
  static constexpr const char* type = "int";
  static Value get(int64_t v) { return v; }
  static std::optional<Value> check(const Value& v) { return v.is_int() ? std::optional(v) : std::nullopt; }
  static int64_t from(const Value& v) { return v.as_int(); }
};

// fast_dev_run: Union[int, bool] (true runs one batch).
struct IntOrBool {
  static constexpr const char* type = "Union[int, bool]";
  static Value get(int64_t v) { return v; }
  static std::optional<Value> check(const Value& v) {
    return v.is_int() || v.is_bool() ? std::optional(v) : std::nullopt;
  }
  static int64_t from(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }
};

struct OptInt {
  static constexpr const char* type = "Optional[int]";
  static Value get(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(); }
  static std::optional<Value> check(const Value& v) {
    return v.is_int() || v.is_none() ? std::optional(v) : std::nullopt;
  }
  static std::optional<int64_t> from(const Value& v) {
    return v.is_none() ? std::nullopt : std::optional<int64_t>(v.as_int());
  }
};

struct Bool {
  static constexpr const char* type = "bool";
  static Value get(bool v) { return v; }
  static std::optional<Value> check(const Value& v) { return v.is_bool() ? std::optional(v) : std::nullopt; }
  static bool from(const Value& v) { return v.as_bool(); }
};

struct OptBool {
  static constexpr const char* type = "Optional[bool]";
  static Value get(const std::optional<bool>& v) { return v ? Value(*v) : Value(); }
  static std::optional<Value> check(const Value& v) {
    return v.is_bool() || v.is_none() ? std::optional(v) : std::nullopt;
  }
  static std::optional<bool> from(const Value& v) {
    return v.is_none() ? std::nullopt : std::optional<bool>(v.as_bool());
  }
};

struct Str {
  static constexpr const char* type = "str";
  static Value get(const std::string& v) { return v; }
  static std::optional<Value> check(const Value& v) { return v.is_string() ? std::optional(v) : std::nullopt; }
  static std::string from(const Value& v) { return v.as_string(); }
};

// devices=1, precision=64: Lightning takes ints there as well as strings.
struct StrOrInt {
  static constexpr const char* type = "Union[str, int]";
  static Value get(const std::string& v) { return v; }
  static std::optional<Value> check(const Value& v) {
    return v.is_string() || v.is_int() ? std::optional(v) : std::nullopt;
  }
  static std::string from(const Value& v) { return v.is_int() ? std::to_string(v.as_int()) : v.as_string(); }
};

// devices: Union[List[int], str, int]; a list is kept as "[0, 1]", which the accelerator
// connector parses.
struct Devices {
  static constexpr const char* type = "Union[List[int], str, int]";
  static Value get(const std::string& v) { return v; }
  static std::optional<Value> check(const Value& v) {
    if (v.is_string() || v.is_int()) return v;
    if (!v.is_list()) return std::nullopt;
    for (const Value& e : v.elements()) {
      if (!e.is_int()) return std::nullopt;
    }
    return v;
  }
  static std::string from(const Value& v) {
    if (!v.is_list()) return StrOrInt::from(v);
    std::string out = "[";
    for (const Value& e : v.elements()) out += (out.size() > 1 ? ", " : "") + std::to_string(e.as_int());
    return out + "]";
  }
};

// strategy: a registry name (Strategy objects are for C++ code).
struct StrategyName {
  static constexpr const char* type = "Union[str, Strategy]";
  static Value get(const StrategyOption& v) { return v.name(); }
  static std::optional<Value> check(const Value& v) { return v.is_string() ? std::optional(v) : std::nullopt; }
  static std::string from(const Value& v) { return v.as_string(); }
};

// profiler: null, "simple" (Profiler objects are for C++ code).
struct ProfilerName {
  static constexpr const char* type = "Optional[Union[Profiler, str]]";
  static Value get(const ProfilerOption& v) { return v.is_none() ? Value() : Value(v.name()); }
  static std::optional<Value> check(const Value& v) {
    return v.is_string() || v.is_none() ? std::optional(v) : std::nullopt;
  }
  static ProfilerOption from(const Value& v) { return v.is_none() ? ProfilerOption() : ProfilerOption(v.as_string()); }
};

struct OptStr {
  static constexpr const char* type = "Optional[str]";
  static Value get(const std::optional<std::string>& v) { return v ? Value(*v) : Value(); }
  static std::optional<Value> check(const Value& v) {
    return v.is_string() || v.is_none() ? std::optional(v) : std::nullopt;
  }
  static std::optional<std::string> from(const Value& v) {
    return v.is_none() ? std::nullopt : std::optional<std::string>(v.as_string());
  }
};

// default_root_dir: Lightning's default is None (the current directory); ours is "".
struct PathOrNone {
  static constexpr const char* type = "Optional[str]";
  static Value get(const std::string& v) { return v.empty() ? Value() : Value(v); }
  static std::optional<Value> check(const Value& v) { return OptStr::check(v); }
  static std::string from(const Value& v) { return v.is_none() ? "" : v.as_string(); }
};

struct OptFloat {
  static constexpr const char* type = "Optional[Union[int, float]]";
  static Value get(const std::optional<double>& v) { return v ? Value(*v) : Value(); }
  static std::optional<Value> check(const Value& v) {
    if (v.is_none()) return v;
    if (v.is_number()) return Value(v.to_double());
    return std::nullopt;
  }
  static std::optional<double> from(const Value& v) {
    return v.is_none() ? std::nullopt : std::optional<double>(v.to_double());
  }
};

// limit_*_batches, val_check_interval: an int counts batches, a float is a fraction (so
// `=2` and `=2.0` differ, as in Lightning). None means Lightning's default, 1.0.
struct Limit {
  static constexpr const char* type = "Optional[Union[int, float]]";
  static Value get(const BatchLimit& v) { return v.is_count() ? Value(v.count()) : Value(v.fraction()); }
  static std::optional<Value> check(const Value& v) {
    return v.is_number() || v.is_none() ? std::optional(v) : std::nullopt;
  }
  static BatchLimit from(const Value& v) {
    if (v.is_none()) return 1.0;
    if (v.is_int()) return v.as_int();
    return v.as_double();
  }
};

// logger: null (Lightning's None: the default logger) or true/false; a logger object needs
// Lightning's class_path instantiation, which the CLI does not do (trainer_defaults can hold
// logger objects).
struct LoggerFlag {
  static constexpr const char* type = "Optional[bool]";
  static Value get(const LoggerOption& v) { return v.given() ? Value(v.enabled()) : Value(); }
  static std::optional<Value> check(const Value& v) {
    return v.is_bool() || v.is_none() ? std::optional(v) : std::nullopt;
  }
  static LoggerOption from(const Value& v) { return v.is_none() ? LoggerOption() : LoggerOption(v.as_bool()); }
};

// max_time: seconds, "DD:HH:MM:SS" or a timedelta dict ({hours: 12}); None.
struct MaxTime {
  static constexpr const char* type = "Union[str, timedelta, dict[str, int], None]";
  static Value get(const std::optional<callbacks::TimerDuration>& v) { return v ? Value(v->total_seconds()) : Value(); }
  static std::optional<Value> check(const Value& v) {
    if (v.is_none() || v.is_number()) return v;
    if (v.is_string()) {
      try {
        callbacks::TimerDuration parsed(v.as_string());
        (void)parsed;
      } catch (const Error&) {
        return std::nullopt;  // not DD:HH:MM:SS
      }
      return v;
    }
    if (!v.is_dict()) return std::nullopt;
    for (const auto& [key, amount] : v.items()) {
      if (!key.is_string() || !amount.is_number()) return std::nullopt;
      const std::string& k = key.as_string();
      if (k != "weeks" && k != "days" && k != "hours" && k != "minutes" && k != "seconds" && k != "milliseconds" &&
          k != "microseconds") {
        return std::nullopt;
      }
    }
    return v;
  }
  static std::optional<callbacks::TimerDuration> from(const Value& v) {
    if (v.is_none()) return std::nullopt;
    if (v.is_number()) return callbacks::TimerDuration(v.to_double());
    if (v.is_string()) return callbacks::TimerDuration(v.as_string());  // checks the format
    callbacks::TimeDelta d;
    for (const auto& [key, amount] : v.items()) {
      const std::string& k = key.as_string();
      double x = amount.to_double();
      if (k == "weeks") d.weeks = x;
      if (k == "days") d.days = x;
      if (k == "hours") d.hours = x;
      if (k == "minutes") d.minutes = x;
      if (k == "seconds") d.seconds = x;
      if (k == "milliseconds") d.milliseconds = x;
      if (k == "microseconds") d.microseconds = x;
    }
    return callbacks::TimerDuration(d);
  }
};

template <typename Codec, typename T>
TrainerOptionSpec option(const char* name, T TrainerOptions::*field, const char* help) {
  return TrainerOptionSpec{
      name,
      Codec::type,
      help,
      [field](const TrainerOptions& o) { return Codec::get(o.*field); },
      [](const Value& v) { return Codec::check(v); },
      [field](TrainerOptions& o, const Value& v) { o.*field = Codec::from(v); },
  };
}

std::vector<TrainerOptionSpec> make_specs() {
  using O = TrainerOptions;
  // Help lines condense Lightning's Trainer docstring. `callbacks` is absent on purpose:
  // callback objects need class_path instantiation (CLIOptions::trainer_defaults takes them).
  return {
      option<IntOrBool>("fast_dev_run", &O::fast_dev_run,
                        "Runs n (true: 1) batches of train, val and test to find bugs, like a unit test."),
      option<OptInt>("max_epochs", &O::max_epochs,
                     "Stop training once this number of epochs is reached. Unset and max_steps -1: 1000; -1: "
                     "infinite training."),
      option<Str>("accelerator", &O::accelerator,
                  "The accelerator to use: \"cpu\", \"gpu\"/\"cuda\" (not running the Trainer yet) or \"auto\" "
                  "(the CPU)."),
      option<StrategyName>("strategy", &O::strategy,
                           "The strategy to use: \"auto\", \"single_device\", or \"ddp\" (also "
                           "ddp_find_unused_parameters_true/false) with the processes launched by mpirun/srun."),
      option<Devices>("devices", &O::devices,
                      "The devices to use: \"auto\", a number, -1 (all), a list [0, 1] or \"0,1\"; with ddp, the "
                      "processes per node (the launcher starts them)."),
      option<Int>("num_nodes", &O::num_nodes, "Number of nodes for distributed training."),
      option<StrOrInt>("precision", &O::precision,
                       "Double precision (64, '64' or '64-true'), full precision (32, '32' or '32-true'), "
                       "bfloat16 mixed precision ('bf16', 'bf16-mixed'), bfloat16 weights ('bf16-true'), float16 "
                       "mixed precision (16, '16', '16-mixed'; on CPU bf16-mixed) or float16 weights ('16-true')."),
      option<LoggerFlag>("logger", &O::logger,
                         "Logger (or iterable collection of loggers) for experiment tracking: true uses the default "
                         "logger, false disables logging."),
      option<OptInt>("min_epochs", &O::min_epochs, "Force training for at least these many epochs."),
      option<Int>("max_steps", &O::max_steps,
                  "Stop training after this number of steps. -1: unlimited (max_epochs decides)."),
      option<OptInt>("min_steps", &O::min_steps, "Force training for at least these number of steps."),
      option<MaxTime>("max_time", &O::max_time,
                      "Stop training after this amount of time has passed: seconds, \"DD:HH:MM:SS\" or a dict "
                      "such as {hours: 12}."),
      option<Limit>("limit_train_batches", &O::limit_train_batches,
                    "How much of training dataset to check (float = fraction, int = num_batches)."),
      option<Limit>("limit_val_batches", &O::limit_val_batches,
                    "How much of validation dataset to check (float = fraction, int = num_batches)."),
      option<Limit>("limit_test_batches", &O::limit_test_batches,
                    "How much of test dataset to check (float = fraction, int = num_batches)."),
      option<Limit>("limit_predict_batches", &O::limit_predict_batches,
                    "How much of prediction dataset to check (float = fraction, int = num_batches)."),
      option<Limit>("overfit_batches", &O::overfit_batches,
                    "Overfit a fraction of training/validation data (float) or a set number of batches (int); "
                    "turns off the train loader's shuffling."),
      option<Limit>("val_check_interval", &O::val_check_interval,
                    "How often to check the validation set: a float is a fraction of the training epoch, an "
                    "int a number of training batches."),
      option<OptInt>("check_val_every_n_epoch", &O::check_val_every_n_epoch,
                     "Perform a validation loop after every N training epochs; null: validate every "
                     "val_check_interval batches across epochs."),
      option<OptInt>("num_sanity_val_steps", &O::num_sanity_val_steps,
                     "Sanity check runs n validation batches before starting the training routine; -1: all "
                     "(null: 2)."),
      option<OptInt>("log_every_n_steps", &O::log_every_n_steps, "How often to log within steps (null: 50)."),
      option<OptBool>("enable_checkpointing", &O::enable_checkpointing,
                      "If true, enable checkpointing (a default ModelCheckpoint when none is in callbacks; null: "
                      "true)."),
      option<OptBool>("enable_progress_bar", &O::enable_progress_bar,
                      "Whether to enable the progress bar (null: true)."),
      option<OptBool>("enable_model_summary", &O::enable_model_summary,
                      "Whether to enable model summarization by default (null: true)."),
      option<Int>("accumulate_grad_batches", &O::accumulate_grad_batches,
                  "Accumulates gradients over k batches before stepping the optimizer."),
      option<OptFloat>("gradient_clip_val", &O::gradient_clip_val,
                       "The value at which to clip gradients; null or 0 disables clipping."),
      option<OptStr>("gradient_clip_algorithm", &O::gradient_clip_algorithm,
                     "The gradient clipping algorithm: \"value\" or \"norm\" (null: \"norm\")."),
      option<Bool>("deterministic", &O::deterministic,
                   "If true, use only deterministic algorithms (Fulgur's own kernels always are; cuDNN's "
                   "convolutions then pick deterministic ones)."),
      option<OptBool>("benchmark", &O::benchmark,
                      "The value to set cudnn.benchmark to (time cuDNN's convolution algorithms once per "
                      "problem); null leaves it, or turns it off when deterministic is true."),
      option<Bool>("inference_mode", &O::inference_mode,
                   "Whether to use inference mode (true) or no_grad (false) during evaluation."),
      option<Bool>("use_distributed_sampler", &O::use_distributed_sampler,
                   "Whether to wrap the DataLoader's sampler with a DistributedSampler in a distributed run."),
      option<ProfilerName>("profiler", &O::profiler,
                           "To profile individual steps during training and assist in identifying bottlenecks: "
                           "null or \"simple\" (SimpleProfiler, its report printed after each run)."),
      option<Bool>("detect_anomaly", &O::detect_anomaly,
                   "Enable anomaly detection for the autograd engine (a NaN/Inf in backward names the op)."),
      option<Bool>("barebones", &O::barebones,
                   "Whether to run in \"barebones mode\", where all features that may impact raw speed are "
                   "disabled (checkpointing, loggers, progress bar, model summary, sanity check, self.log), to "
                   "measure the Trainer's own overhead."),
      option<Int>("reload_dataloaders_every_n_epochs", &O::reload_dataloaders_every_n_epochs,
                  "Set to a positive integer to reload dataloaders every n epochs."),
      option<PathOrNone>("default_root_dir", &O::default_root_dir,
                         "Default path for logs and weights when no logger or ModelCheckpoint dirpath is passed "
                         "(null: the current working directory)."),
  };
}

}  // namespace

const std::vector<TrainerOptionSpec>& trainer_option_specs() {
  static const std::vector<TrainerOptionSpec> specs = make_specs();
  return specs;
}

}  // namespace fulgur::lightning::detail
