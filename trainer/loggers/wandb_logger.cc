#include "fulgur/trainer/loggers/wandb_logger.h"

#include <cstdlib>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/loggers/logger_params.h"
#include "fulgur/trainer/rank_zero.h"

namespace fulgur::lightning::loggers {
namespace {

// Lightning's _convert_json_serializable: what JSON cannot hold (here: tensors) becomes its
// str(); applied inside lists and dicts too, which wandb's config would otherwise refuse.
Value json_serializable(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Tensor: return Value(detail::python_str(v));
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      Value out = Value::list({});
      for (const Value& item : v.elements()) out.push_back(json_serializable(item));
      return out;
    }
    case Value::Kind::Dict: {
      Value out = Value::dict();
      for (const auto& [key, item] : v.items()) out.set(key, json_serializable(item));
      return out;
    }
    default: return v;
  }
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.as_bool();
    case Value::Kind::Int: return v.as_int() != 0;
    case Value::Kind::String: return !v.as_string().empty();
    default: return true;
  }
}

}  // namespace

WandbLogger::WandbLogger(WandbLoggerOptions options) : options_(std::move(options)) {
  if (options_.offline && truthy(options_.log_model)) {
    FULGUR_FAIL("WandbLogger", "Providing log_model=", options_.log_model.repr(), " and offline=True is an invalid ",
                "configuration since model checkpoints cannot be uploaded in offline mode.\n",
                "Hint: Set `offline=False` to log your model.");
  }
  FULGUR_CHECK(!truthy(options_.log_model), "WandbLogger", "log_model=", options_.log_model.repr(),
               " needs checkpoints uploaded as W&B artifacts, and Fulgur writes runs offline only; hint: leave "
               "log_model=False and upload the checkpoint files yourself (wandb artifact put)");
  const char* env_project = std::getenv("WANDB_PROJECT");
  project_ = options_.project.value_or(env_project != nullptr ? env_project : "lightning_logs");
  save_dir_ = options_.save_dir ? options_.save_dir : options_.dir;
  id_ = options_.version ? options_.version : options_.id;
}

Value WandbLogger::version() const {
  if (run_) return Value(run_->id());
  return id_ ? Value(*id_) : Value();
}

WandbRun& WandbLogger::experiment() {
  if (run_) return *run_;
  const char* env_mode = std::getenv("WANDB_MODE");
  const bool disabled = !is_rank_zero() || (env_mode != nullptr && std::string(env_mode) == "disabled");
  if (!options_.offline && !disabled) {
    rank_zero_printf(
        "warning: WandbLogger(offline=False): Fulgur has no W&B client, so the run is written offline; upload it "
        "with `wandb sync <its folder>` (printed when the run finishes). Pass offline=True to silence this.\n");
  }
  run_ = std::make_unique<WandbRun>(WandbRunOptions{.project = project_,
                                                    .name = options_.name.value_or(""),
                                                    .dir = save_dir_.value_or("."),
                                                    .id = id_.value_or(""),
                                                    .entity = options_.entity,
                                                    .group = options_.group,
                                                    .job_type = options_.job_type,
                                                    .notes = options_.notes,
                                                    .tags = options_.tags,
                                                    .config = json_serializable(options_.config),
                                                    .mode = disabled ? "disabled" : "offline"});
  if (!run_->disabled()) {
    // Lightning's default x-axis: every metric is plotted against the trainer's step.
    run_->define_metric(kStepMetric);
    run_->define_metric("*", kStepMetric, /*step_sync=*/true);
    run_->flush();
  }
  return *run_;
}

void WandbLogger::log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) {
  Value row = Value::dict();
  for (const auto& [key, value] : metrics) {
    // Lightning logs the epoch as an int (prefixed like every key).
    const std::string name = options_.prefix.empty() ? key : options_.prefix + "-" + key;
    if (key == "epoch" && value == static_cast<double>(static_cast<int64_t>(value))) {
      row.set(name, static_cast<int64_t>(value));
    } else {
      row.set(name, value);
    }
  }
  if (step) row.set(kStepMetric, *step);
  experiment().log(row);
}

void WandbLogger::log_hyperparams(const Value& params) {
  FULGUR_CHECK(params.is_dict(), "WandbLogger.log_hyperparams", "params must be a dict, got a ", params.type_name());
  experiment().config_update(json_serializable(params));
}

void WandbLogger::save() {
  if (run_) run_->flush();
}

void WandbLogger::finalize(const std::string& status) {
  if (!run_) return;
  run_->set_exit_code(status == "failed" ? 1 : 0);  // what the process would exit with
  run_->flush();
}

WandbLogger::~WandbLogger() {
  if (run_ && !run_->disabled() && !run_->finished()) {
    try {
      run_->finish();
      rank_zero_printf("wandb: You can sync this run to the cloud by running:\nwandb: wandb sync %s\n",
                       run_->dir().c_str());
    } catch (...) {  // a destructor must not throw
    }
  }
}

}  // namespace fulgur::lightning::loggers
