#include "fulgur/trainer/loggers/wandb_run.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <random>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/json_writer.h"
#include "fulgur/serialize/utf8.h"
#include "fulgur/trainer/loggers/wandb_log_writer.h"
#include "fulgur/trainer/version.h"

namespace fs = std::filesystem;

namespace fulgur::lightning::loggers {
namespace {

// wandb.util.generate_id: 8 characters from [a-z0-9].
std::string generate_id() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::mt19937_64 gen((static_cast<uint64_t>(device()) << 32) ^ device());
  std::uniform_int_distribution<int> pick(0, 35);
  std::string id;
  for (int i = 0; i < 8; ++i) id += kAlphabet[pick(gen)];
  return id;
}

std::string host_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

// wandb's run folder time stamp: local time, YYYYMMDD_HHMMSS.
std::string time_stamp(std::time_t t) {
  std::tm local{};
  ::localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &local);
  return buf;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void check_dict(const Value& v, const char* op, const char* what) {
  FULGUR_CHECK(v.is_dict(), op, what, " must be a dict of str keys, got a ", v.type_name(), ": ", v.repr());
  for (const auto& [key, item] : v.items()) {
    FULGUR_CHECK(key.is_string() && !key.as_string().empty(), op, what, " keys must be non-empty strings, got ",
                 key.repr());
  }
}

// The records' strings are proto3 `string`s: wandb's protobuf refuses a record holding invalid
// UTF-8, and `wandb sync` stops there, so such text is refused before it is written.
void check_utf8(std::string_view s, const char* op, const char* what) {
  FULGUR_CHECK(serialize::is_valid_utf8(s, /*allow_surrogates=*/false), op, what, " is not valid UTF-8: \"",
               printable(s, 60, true), "\"; hint: W&B stores text as UTF-8");
}

// A dict's entries as items (key, json.dumps(value)), checked before anything is written.
std::vector<wandb::Item> to_items(const Value& dict, const char* op, const char* what) {
  check_dict(dict, op, what);
  std::vector<wandb::Item> items;
  for (const auto& [key, item] : dict.items()) {
    check_utf8(key.as_string(), op, "a key");
    std::string json = serialize::to_json(item);
    check_utf8(json, op, "a value");
    items.push_back({key.as_string(), std::move(json)});
  }
  return items;
}

// wandb's define_metric: a name ending in "*" is a glob, matched as a prefix.
bool is_glob(const std::string& name) { return !name.empty() && name.back() == '*'; }

}  // namespace

WandbRun::WandbRun(WandbRunOptions options) : options_(std::move(options)), started_(std::chrono::steady_clock::now()) {
  FULGUR_CHECK(options_.mode == "offline" || options_.mode == "disabled", "WandbRun",
               "mode must be \"offline\" or \"disabled\", got \"", options_.mode,
               "\"; hint: Fulgur writes runs offline, `wandb sync <run dir>` uploads them");
  std::vector<wandb::Item> config_items = to_items(options_.config, "WandbRun", "config");
  if (options_.id.empty()) options_.id = generate_id();
  for (const char c : options_.id) {
    FULGUR_CHECK(c != '/' && c != '\\' && c != ':' && c != '\0', "WandbRun", "run id \"", options_.id,
                 "\" contains '", c, "' (W&B refuses /, \\ and :)");
  }
  // wandb.init's own checks on the project name.
  FULGUR_CHECK(options_.project.size() <= 128, "WandbRun", "Invalid project name '", options_.project,
               "': exceeded 128 characters");
  FULGUR_CHECK(options_.project.find_first_of("/\\#?%:") == std::string::npos, "WandbRun", "Invalid project name '",
               options_.project, "': cannot contain characters '/,\\,#,?,%,:'");
  for (const std::string* s : {&options_.project, &options_.name, &options_.id, &options_.entity, &options_.group,
                               &options_.job_type, &options_.notes}) {
    check_utf8(*s, "WandbRun", "a run setting");
  }
  for (const std::string& tag : options_.tags) check_utf8(tag, "WandbRun", "a tag");
  config_ = options_.config;
  if (disabled()) return;

  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const fs::path wandb_dir = fs::path(options_.dir.empty() ? "." : options_.dir) / "wandb";
  const std::string folder = "offline-run-" + time_stamp(seconds) + "-" + options_.id;
  const fs::path run_dir = wandb_dir / folder;
  std::error_code ec;
  fs::create_directories(run_dir / "files", ec);
  FULGUR_CHECK(!ec, "WandbRun", "cannot create '", (run_dir / "files").string(), "': ", ec.message());
  run_dir_ = run_dir.string();
  writer_ = std::make_unique<WandbLogWriter>(file());

  // latest-run -> this folder, replaced atomically (a link under a temporary name, renamed).
  const fs::path link = wandb_dir / "latest-run";
  const fs::path tmp_link = wandb_dir / (".latest-run." + options_.id + "." + std::to_string(::getpid()));
  fs::remove(tmp_link, ec);
  fs::create_directory_symlink(folder, tmp_link, ec);
  if (!ec) fs::rename(tmp_link, link, ec);
  if (ec) fs::remove(tmp_link, ec);  // the link is a convenience: a file system without links still gets the run

  const std::string producer = std::string("fulgur ") + kFulgurVersion;
  write(wandb::header_record(++num_, producer, options_.id));
  wandb::RunInfo run{.run_id = options_.id,
                     .entity = options_.entity,
                     .project = options_.project,
                     .config = std::move(config_items),
                     .run_group = options_.group,
                     .job_type = options_.job_type,
                     .display_name = options_.name,
                     .notes = options_.notes,
                     .tags = options_.tags,
                     .host = host_name(),
                     .start_seconds = static_cast<int64_t>(seconds),
                     .start_nanos = static_cast<int32_t>(
                         std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() %
                         1000000000)};
  write(wandb::run_record(++num_, run));
}

WandbRun::~WandbRun() {
  try {
    finish();
  } catch (...) {  // a destructor must not throw; finish() explicitly to see the error
  }
}

std::string WandbRun::file() const {
  return run_dir_.empty() ? "" : (fs::path(run_dir_) / ("run-" + options_.id + ".wandb")).string();
}

void WandbRun::write(const std::string& record) {
  FULGUR_CHECK(!finished_, "WandbRun", "run ", options_.id, " is finished; hint: log before finish()");
  if (writer_) writer_->write(record);
}

bool WandbRun::covered_by(const wandb::MetricDefinition& metric, const std::string& key) const {
  if (!metric.name.empty()) return metric.name == key;
  return key.compare(0, metric.glob_name.size() - 1, metric.glob_name, 0, metric.glob_name.size() - 1) == 0;
}

void WandbRun::define_metric(const std::string& name, const std::string& step_metric, bool step_sync) {
  FULGUR_CHECK(!name.empty(), "WandbRun.define_metric", "the metric's name must not be empty");
  check_utf8(name, "WandbRun.define_metric", "the name");
  check_utf8(step_metric, "WandbRun.define_metric", "the step metric");
  const bool glob = is_glob(name);
  wandb::MetricDefinition metric{.name = glob ? "" : name,
                                 .glob_name = glob ? name : "",
                                 .step_metric = step_metric,
                                 .step_sync = step_sync,
                                 .defined = true};
  write(wandb::metric_record(++num_, metric, options_.id));
  // A second definition of the same name merges into the first, as wandb's handler does
  // (MergeFrom: what the new one sets wins).
  for (wandb::MetricDefinition& old : metrics_) {
    if (old.name == metric.name && old.glob_name == metric.glob_name) {
      if (!metric.step_metric.empty()) old.step_metric = metric.step_metric;
      old.step_sync = old.step_sync || metric.step_sync;
      return;
    }
  }
  metrics_.push_back(std::move(metric));
}

void WandbRun::config_update(const Value& params) {
  const std::vector<wandb::Item> items = to_items(params, "WandbRun.config_update", "params");
  for (const auto& [key, item] : params.items()) config_.set(key, item);
  write(wandb::config_record(++num_, items, options_.id));
}

void WandbRun::log(const Value& data) {
  check_dict(data, "WandbRun.log", "data");
  Value row = data;
  // step_sync: the step metric's last value (the summary holds it) fills rows that lack it.
  for (const auto& metric : metrics_) {
    if (!metric.step_sync || metric.step_metric.empty() || row.contains(metric.step_metric)) continue;
    const Value* last = summary_.find(metric.step_metric);
    if (last == nullptr) continue;
    for (const auto& [key, item] : data.items()) {
      if (covered_by(metric, key.as_string())) {
        row.set(metric.step_metric, *last);
        break;
      }
    }
  }
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  row.set("_timestamp", unix_seconds()).set("_runtime", runtime).set("_step", step_);

  const std::vector<wandb::Item> items = to_items(row, "WandbRun.log", "data");  // refused before anything is written

  // Keys a glob covers get their own definition the first time they are logged (wandb's
  // handler), unless a definition names them.
  for (const auto& [key, item] : data.items()) {
    const std::string& k = key.as_string();
    if (k[0] == '_' || expanded_.count(k) != 0) continue;
    bool named = false;
    const wandb::MetricDefinition* glob = nullptr;
    for (const auto& metric : metrics_) {
      if (metric.name == k) named = true;
      if (!metric.glob_name.empty() && glob == nullptr && covered_by(metric, k)) glob = &metric;
    }
    if (named || glob == nullptr) continue;
    expanded_.insert(k);
    write(wandb::metric_record(++num_,
                               {.name = k, .step_metric = glob->step_metric, .step_sync = glob->step_sync,
                                .defined = false},
                               options_.id));
  }
  write(wandb::history_record(++num_, items, step_, options_.id));
  write(wandb::summary_record(++num_, items, options_.id));
  for (const auto& [key, item] : row.items()) summary_.set(key, item);
  ++step_;
}

void WandbRun::flush() {
  if (writer_) writer_->flush();
}

void WandbRun::finish() {
  if (finished_) return;
  if (writer_) {
    const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    write(wandb::exit_record(++num_, exit_code_, static_cast<int32_t>(runtime), options_.id));
    write(wandb::final_record(++num_, options_.id));
  }
  finished_ = true;
  if (writer_) writer_->close();
}

}  // namespace fulgur::lightning::loggers
