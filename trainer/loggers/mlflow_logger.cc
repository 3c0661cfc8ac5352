#include "fulgur/trainer/loggers/mlflow_logger.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/loggers/logger_params.h"

namespace fulgur::lightning::loggers {

namespace fs = std::filesystem;

namespace {

// mlflow.entities.RunStatus and SourceType, as stored (ints) in a run's meta.yaml.
constexpr int kRunning = 1;
constexpr int kSourceLocal = 4;
constexpr size_t kMaxKeyLength = 250;        // mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
constexpr size_t kLightningParamLength = 250;  // Lightning cuts str(value) to 250 characters

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::mt19937_64& rng() {
  static std::mt19937_64 gen{(static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}() ^
                             static_cast<uint64_t>(now_ms())};
  return gen;
}

// uuid.uuid4().hex: 32 hex digits, version 4, RFC 4122 variant.
std::string uuid4_hex() {
  unsigned char b[16];
  for (auto& c : b) c = static_cast<unsigned char>(rng()() & 0xff);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 0xf];
  }
  return s;
}

// mlflow.utils.name_utils._generate_unique_integer_id: 18 decimal digits, no leading zero.
std::string experiment_id_digits() {
  std::string s;
  s += static_cast<char>('1' + rng()() % 9);
  for (int i = 1; i < 18; ++i) s += static_cast<char>('0' + rng()() % 10);
  return s;
}

// mlflow's _generate_random_name: "<predicate>-<noun>-<0..999>".
std::string random_run_name() {
  static const char* predicates[] = {"abundant", "bright", "calm", "clever", "dapper", "eager", "gentle", "honest",
                                     "keen", "lucky", "merciful", "nimble", "polite", "rare", "silent", "sincere",
                                     "sneaky", "tasteful", "unique", "wise"};
  static const char* nouns[] = {"ant", "bass", "bear", "cat", "crow", "doe", "eel", "finch", "fox", "gnat",
                                "hawk", "koi", "lark", "mole", "newt", "owl", "ram", "seal", "toad", "wren"};
  std::string name = std::string(predicates[rng()() % 20]) + "-" + nouns[rng()() % 20] + "-" +
                     std::to_string(rng()() % 1000);
  return name.substr(0, 20);
}

// getpass.getuser(): $LOGNAME, $USER, $LNAME, $USERNAME, then the password database.
std::string current_user() {
  for (const char* var : {"LOGNAME", "USER", "LNAME", "USERNAME"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "unknown";
}

// sys.argv[0]'s equivalent, for the mlflow.source.name tag.
std::string program_name() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string arg0;
  std::getline(f, arg0, '\0');
  return arg0.empty() ? "-" : arg0;
}

// MLflow's name checks (mlflow/utils/validation.py): characters, then "must not resolve to
// other names" as a path.
void check_name(const std::string& name, const char* what, const char* op) {
  bool chars_ok = true;
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == ' ' || c == ':' || c == '/' || c >= 0x80)) {
      chars_ok = false;
    }
  }
  FULGUR_CHECK(chars_ok, op, "Invalid value \"", name, "\" for parameter '", what,
               "' supplied. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces "
               "( ), colon(:) and slashes (/).");
  bool path_ok = !name.empty();
  std::stringstream parts(name);
  std::string part;
  size_t segments = 0;
  while (std::getline(parts, part, '/')) {
    ++segments;
    if (part.empty() || part == "." || part == "..") path_ok = false;
  }
  if (!name.empty() && name.back() == '/') path_ok = false;
  FULGUR_CHECK(path_ok && segments > 0, op, "Invalid value \"", name, "\" for parameter '", what,
               "' supplied. Names may be treated as files in certain cases, and must not resolve to other names when "
               "treated as such; hint: no leading, trailing or doubled '/', no '.' or '..' parts");
  FULGUR_CHECK(name.size() <= kMaxKeyLength, op, "'", what, "' \"", name.substr(0, 40), "...\" had length ",
               name.size(), ", which exceeded length limit of ", kMaxKeyLength);
}

// The first n code points of a UTF-8 string (Python slices characters, not bytes).
std::string utf8_prefix(const std::string& s, size_t n) {
  size_t i = 0, count = 0;
  while (i < s.size() && count < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    ++count;
  }
  return s.substr(0, std::min(i, s.size()));
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void make_parent(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  FULGUR_CHECK(!ec, "MLFlowLogger", "cannot create '", fs::path(path).parent_path().string(), "': ", ec.message());
}

void append_line(const std::string& path, const std::string& line) {
  make_parent(path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  FULGUR_CHECK(fd >= 0, "MLFlowLogger.log_metrics", "cannot open '", path, "': ", std::strerror(errno));
  const ssize_t n = ::write(fd, line.data(), line.size());  // one short line: one write
  const int err = errno;
  ::close(fd);
  FULGUR_CHECK(n == static_cast<ssize_t>(line.size()), "MLFlowLogger.log_metrics", "cannot write '", path,
               "': ", std::strerror(err));
}

// A dict with its keys in sorted order (PyYAML's yaml.safe_dump sorts them).
Value sorted_dict(std::vector<std::pair<std::string, Value>> items) {
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Value d = Value::dict();
  for (auto& [k, v] : items) d.set(k, std::move(v));
  return d;
}

std::string file_uri(const std::string& path) { return "file://" + fs::absolute(path).lexically_normal().string(); }

void write_experiment_meta(const std::string& root, const std::string& id, const std::string& name,
                           const std::optional<std::string>& artifact_location) {
  const std::string dir = root + "/" + id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  FULGUR_CHECK(!ec, "MLFlowLogger", "cannot create '", dir, "': ", ec.message());
  const int64_t t = now_ms();
  const Value meta = sorted_dict({{"artifact_location", artifact_location.value_or(file_uri(dir))},
                                  {"creation_time", t},
                                  {"experiment_id", id},
                                  {"last_update_time", t},
                                  {"lifecycle_stage", "active"},
                                  {"name", name}});
  serialize::write_file_atomic(dir + "/meta.yaml", to_yaml(meta), "MLFlowLogger");
}

}  // namespace

MLFlowLogger::MLFlowLogger(MLFlowLoggerOptions options) : options_(std::move(options)) {
  if (options_.tracking_uri) {
    tracking_uri_ = *options_.tracking_uri;
  } else if (const char* env = std::getenv("MLFLOW_TRACKING_URI"); env != nullptr && *env != '\0') {
    tracking_uri_ = env;
  } else {
    tracking_uri_ = "file:" + options_.save_dir;
  }
  FULGUR_CHECK(!options_.log_model, "MLFlowLogger",
               "log_model=True (checkpoints as MLflow artifacts) is not supported yet; hint: leave it false");
  // A local path: "file:<path>", "file://<host-less absolute path>", or no scheme at all.
  if (tracking_uri_.rfind("file://", 0) == 0) {
    root_ = tracking_uri_.substr(7);
  } else if (tracking_uri_.rfind("file:", 0) == 0) {
    root_ = tracking_uri_.substr(5);
  } else {
    FULGUR_CHECK(tracking_uri_.find("://") == std::string::npos && tracking_uri_.rfind("databricks", 0) != 0,
                 "MLFlowLogger", "tracking_uri='", tracking_uri_,
                 "': only MLflow's local file store can be written (no HTTP client); hint: use a \"file:./mlruns\" "
                 "URI and serve it with `mlflow ui --backend-store-uri ./mlruns`");
    root_ = tracking_uri_;
  }
  FULGUR_CHECK(!root_.empty(), "MLFlowLogger", "tracking_uri='", tracking_uri_, "' names no folder");
  FULGUR_CHECK(!options_.experiment_name.empty(), "MLFlowLogger",
               "Invalid experiment name: ''; hint: give experiment_name a non-empty name");
}

std::optional<std::string> MLFlowLogger::save_dir() const {
  if (tracking_uri_.rfind("file:", 0) == 0) return tracking_uri_.substr(5);
  return std::nullopt;
}

const std::string& MLFlowLogger::experiment_id() const {
  init();
  return experiment_id_;
}

const std::string& MLFlowLogger::run_id() const {
  init();
  return run_id_;
}

std::string MLFlowLogger::run_dir() const { return root_ + "/" + experiment_id() + "/" + run_id(); }

// Lightning's `experiment` property on MLflow's FileStore: a new store gets the "Default"
// experiment 0 and .trash; the experiment is found by name among the active ones or created;
// then a run is created (or an existing run_id is looked up).
void MLFlowLogger::init() const {
  if (initialized_) return;
  std::error_code ec;
  if (!fs::exists(root_, ec)) write_experiment_meta(root_, "0", "Default", std::nullopt);
  fs::create_directories(root_ + "/.trash", ec);
  FULGUR_CHECK(!ec, "MLFlowLogger", "cannot create '", root_, "/.trash': ", ec.message());

  if (options_.run_id) {
    for (const auto& exp : fs::directory_iterator(root_, ec)) {
      if (exp.is_directory() && fs::exists(exp.path() / *options_.run_id / "meta.yaml")) {
        experiment_id_ = exp.path().filename().string();
      }
    }
    FULGUR_CHECK(!experiment_id_.empty(), "MLFlowLogger", "Run '", *options_.run_id, "' not found under '", root_,
                 "'");
    run_id_ = *options_.run_id;
    initialized_ = true;
    return;
  }

  for (const auto& exp : fs::directory_iterator(root_, ec)) {
    const fs::path meta = exp.path() / "meta.yaml";
    if (!exp.is_directory() || !fs::exists(meta)) continue;
    const Value m = parse_yaml(read_text(meta.string()), meta.string());
    const Value* name = m.is_dict() ? m.find("name") : nullptr;
    const Value* stage = m.is_dict() ? m.find("lifecycle_stage") : nullptr;
    if (name != nullptr && name->is_string() && name->as_string() == options_.experiment_name &&
        (stage == nullptr || !stage->is_string() || stage->as_string() != "deleted")) {
      experiment_id_ = exp.path().filename().string();
    }
  }
  if (experiment_id_.empty()) {
    std::fprintf(stderr, "Experiment with name %s not found. Creating it.\n", options_.experiment_name.c_str());
    do {
      experiment_id_ = experiment_id_digits();
    } while (fs::exists(root_ + "/" + experiment_id_));
    write_experiment_meta(root_, experiment_id_, options_.experiment_name, options_.artifact_location);
  }

  // resolve_tags: the context's tags, then the user's; run_name wins over a runName tag.
  std::map<std::string, std::string> tags = {{"mlflow.user", current_user()},
                                             {"mlflow.source.name", program_name()},
                                             {"mlflow.source.type", "LOCAL"}};
  for (const auto& [k, v] : options_.tags) tags[k] = v;
  if (options_.run_name) {
    if (options_.tags.count("mlflow.runName") != 0) {
      std::fprintf(stderr, "warning: The tag mlflow.runName is found in tags. The value will be overridden by %s.\n",
                   options_.run_name->c_str());
    }
    tags["mlflow.runName"] = *options_.run_name;
  }
  if (tags.count("mlflow.runName") == 0) tags["mlflow.runName"] = random_run_name();
  for (const auto& [k, v] : tags) check_name(k, "key", "MLFlowLogger");

  run_id_ = uuid4_hex();
  run_name_ = tags["mlflow.runName"];
  start_time_ = now_ms();
  user_ = current_user();
  const std::string dir = root_ + "/" + experiment_id_ + "/" + run_id_;
  for (const char* sub : {"metrics", "params", "artifacts", "tags"}) fs::create_directories(dir + "/" + sub, ec);
  FULGUR_CHECK(!ec, "MLFlowLogger", "cannot create '", dir, "': ", ec.message());
  write_run_meta(kRunning, std::nullopt, true);
  for (const auto& [k, v] : tags) {
    make_parent(dir + "/tags/" + k);
    serialize::write_file_atomic(dir + "/tags/" + k, v, "MLFlowLogger");
  }
  initialized_ = true;
}

void MLFlowLogger::write_run_meta(int status, std::optional<int64_t> end_time, bool with_deleted_time) const {
  const std::string dir = root_ + "/" + experiment_id_ + "/" + run_id_;
  std::string artifact_root = file_uri(root_ + "/" + experiment_id_);
  const std::string exp_meta = root_ + "/" + experiment_id_ + "/meta.yaml";
  if (fs::exists(exp_meta)) {
    const Value m = parse_yaml(read_text(exp_meta), exp_meta);
    if (const Value* loc = m.is_dict() ? m.find("artifact_location") : nullptr; loc != nullptr && loc->is_string()) {
      artifact_root = loc->as_string();
    }
  }
  std::vector<std::pair<std::string, Value>> items = {
      {"artifact_uri", artifact_root + "/" + run_id_ + "/artifacts"},
      {"end_time", end_time ? Value(*end_time) : Value()},
      {"entry_point_name", ""},
      {"experiment_id", experiment_id_},
      {"lifecycle_stage", "active"},
      {"run_id", run_id_},
      {"run_name", run_name_},
      {"run_uuid", run_id_},
      {"source_name", ""},
      {"source_type", kSourceLocal},
      {"source_version", ""},
      {"start_time", start_time_},
      {"status", status},
      {"tags", Value::list()},
      {"user_id", user_}};
  if (with_deleted_time) items.emplace_back("deleted_time", Value());
  serialize::write_file_atomic(dir + "/meta.yaml", to_yaml(sorted_dict(std::move(items))), "MLFlowLogger");
}

void MLFlowLogger::log_hyperparams(const Value& params) {
  init();
  const std::string dir = run_dir() + "/params/";
  const Value flat = detail::flatten_params(params);  // kept alive: the loop reads into it
  for (const Value::Item& item : flat.items()) {
    const std::string& key = item.first.as_string();
    check_name(key, "key", "MLFlowLogger.log_hyperparams");
    const std::string value = utf8_prefix(detail::python_str(item.second), kLightningParamLength);
    const std::string path = dir + key;
    if (fs::exists(path)) {
      const std::string current = read_text(path);
      FULGUR_CHECK(current == value, "MLFlowLogger.log_hyperparams",
                   "Changing param values is not allowed. Param with key='", key, "' was already logged with value='",
                   current, "' for run ID='", run_id_, "'. Attempted logging new value '", value, "'.");
      continue;
    }
    make_parent(path);
    serialize::write_file_atomic(path, value, "MLFlowLogger.log_hyperparams");
  }
}

void MLFlowLogger::log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) {
  init();
  const int64_t timestamp = now_ms();
  for (const auto& [key, value] : detail::add_prefix(metrics, options_.prefix)) {
    // Lightning drops the characters MLflow refuses in metric names (re "[^a-zA-Z0-9_/. -]+").
    std::string k;
    for (unsigned char c : key) {
      if (std::isalnum(c) || c == '_' || c == '/' || c == '.' || c == ' ' || c == '-') k += static_cast<char>(c);
    }
    if (k != key) {
      std::fprintf(stderr,
                   "warning: MLFlow only allows '_', '/', '.' and ' ' special characters in metric name. Replacing %s "
                   "with %s.\n",
                   key.c_str(), k.c_str());
    }
    check_name(k, "name", "MLFlowLogger.log_metrics");
    append_line(run_dir() + "/metrics/" + k,
                std::to_string(timestamp) + " " + float_repr(value) + " " + std::to_string(step.value_or(0)) + "\n");
  }
}

void MLFlowLogger::finalize(const std::string& status) {
  if (!initialized_) return;
  static const std::map<std::string, int> kStatus = {{"success", 3}, {"finished", 3}, {"failed", 4},
                                                     {"RUNNING", 1}, {"SCHEDULED", 2}, {"FINISHED", 3},
                                                     {"FAILED", 4},  {"KILLED", 5}};
  const auto it = kStatus.find(status);
  FULGUR_CHECK(it != kStatus.end(), "MLFlowLogger.finalize", "status '", status,
               "' is not one of success, failed, finished or MLflow's RUNNING, SCHEDULED, FINISHED, FAILED, KILLED");
  // MLflow's set_terminated: the run's meta.yaml rewritten with the status and end time.
  const std::string meta_path = run_dir() + "/meta.yaml";
  Value meta = parse_yaml(read_text(meta_path), meta_path);
  FULGUR_CHECK(meta.is_dict(), "MLFlowLogger.finalize", "'", meta_path, "' is not a run's meta.yaml");
  meta.set("status", it->second);
  meta.set("end_time", now_ms());
  meta.erase("deleted_time");
  std::vector<std::pair<std::string, Value>> items;
  for (const Value::Item& item : meta.items()) items.emplace_back(item.first.as_string(), item.second);
  serialize::write_file_atomic(meta_path, to_yaml(sorted_dict(std::move(items))), "MLFlowLogger.finalize");
}

}  // namespace fulgur::lightning::loggers
