#include "fulgur/trainer/load_from_checkpoint.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <typeinfo>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/python_literal.h"
#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/accelerator.h"
#include "fulgur/trainer/class_name.h"
#include "fulgur/trainer/rank_zero.h"

namespace fulgur::lightning {
namespace {

constexpr const char* kOp = "load_from_checkpoint";

// Lightning's _default_map_location: a "cuda:N" tensor goes back to cuda:N when the CUDA
// accelerator is available, and to the CPU otherwise (the checkpoint of a GPU run loads on a
// machine without one). Where cuda:N itself is missing torch raises; we take the CPU too.
MapLocation saved_device_if_present() {
  // The accelerator is asked once, at the first cuda location (CPU checkpoints never ask).
  auto cuda_devices = std::make_shared<std::optional<int64_t>>();
  return [cuda_devices](const std::string& location) {
    if (location.rfind("cuda", 0) != 0) return kCPU;
    if (!cuda_devices->has_value()) {
      const CUDAAccelerator cuda;
      *cuda_devices = cuda.is_available() ? cuda.auto_device_count() : 0;
    }
    try {
      const Device saved = Device::parse(location);
      return saved.index < **cuda_devices ? saved : kCPU;
    } catch (const Error&) {
      return kCPU;  // a location another writer spelled differently: the CPU, as for "mps"
    }
  };
}

// Lightning's saving.convert: ast.literal_eval of the text, or the text itself.
Value convert_csv_value(const std::string& text) {
  try {
    return parse_python_literal(text);
  } catch (const Error&) {
    return text;
  }
}

// Python's csv.reader (default dialect): ',' separates, a '"' opening a field quotes it ("" inside
// is a quote; what follows the closing quote up to the next ',' is kept as written; a '"' later
// in an unquoted field is a plain character), quoted fields may span lines; "\n" or "\r\n" ends
// a row.
std::vector<std::vector<std::string>> read_csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, row_started = false, field_started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = row_started = field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      row_started = true;
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (row_started || !field.empty()) row.push_back(std::move(field));
      rows.push_back(std::move(row));
      row.clear();
      field.clear();
      row_started = field_started = false;
    } else {
      field += c;
      row_started = field_started = true;
    }
  }
  if (row_started || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Lightning's load_hparams_from_tags_csv: the rows after the header, key -> convert(value).
Value hparams_from_tags_csv(const std::string& text, const std::string& file) {
  const std::vector<std::vector<std::string>> rows = read_csv_rows(text);
  Value hparams = Value::dict();
  for (size_t r = 1; r < rows.size(); ++r) {
    FULGUR_CHECK(rows[r].size() >= 2, kOp, "hparams_file '", file, "': row ", r + 1, " has ", rows[r].size(),
                 " field(s); hint: each row after the header is key,value");
    hparams.set(rows[r][0], convert_csv_value(rows[r][1]));
  }
  return hparams;
}

// Lightning's hparams_file: its dict replaces the checkpoint's hyper_parameters; a missing file
// gives an empty dict, with Lightning's warning.
Value hparams_from_file(const std::string& file) {
  const size_t dot = file.rfind('.');
  std::string extension = dot == std::string::npos ? "" : file.substr(dot + 1);
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  FULGUR_CHECK(extension == "csv" || extension == "yml" || extension == "yaml", kOp,
               ".csv, .yml or .yaml is required for `hparams_file` (got '", file, "')");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    rank_zero_printf("warning: Missing Tags: %s.\n", file.c_str());
    return Value::dict();
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  FULGUR_CHECK(in.good() || in.eof(), kOp, "hparams_file '", file, "' could not be read");
  if (extension == "csv") return hparams_from_tags_csv(text.str(), file);
  Value hparams = parse_yaml(text.str(), file);
  if (hparams.is_none()) return Value::dict();  // an empty file
  FULGUR_CHECK(hparams.is_dict(), kOp, "hparams_file '", file, "' holds ", hparams.repr().substr(0, 80),
               ", not a mapping of hyperparameters");
  return hparams;
}

}  // namespace

MapLocation CheckpointMapLocation::resolve() const {
  if (const auto* device = std::get_if<Device>(&how_)) {
    return [device = *device](const std::string&) { return device; };
  }
  if (const auto* remap = std::get_if<std::map<std::string, std::string>>(&how_)) {
    return [remap = *remap, fallback = saved_device_if_present()](const std::string& location) {
      const auto it = remap.find(location);
      return it == remap.end() ? fallback(location) : Device::parse(it->second);
    };
  }
  const auto* fn = std::get_if<MapLocation>(&how_);
  return fn != nullptr && *fn ? *fn : saved_device_if_present();  // an empty function: the default
}

namespace detail {

Value read_checkpoint(const std::string& path, const LoadFromCheckpointOptions& options, const char* hparams_key) {
  Value checkpoint = fulgur::load(path, options.map_location.resolve());
  FULGUR_CHECK(checkpoint.is_dict(), kOp, path, " is not a Lightning checkpoint (not a dict)");
  // A module needs its weights; a datamodule only its hyperparameters and state, as in Lightning.
  FULGUR_CHECK(std::string(hparams_key) != "hyper_parameters" || checkpoint.contains("state_dict"), kOp, path,
               " is not a Lightning checkpoint (no \"state_dict\")");
  if (!options.hparams_file.empty()) checkpoint.set(hparams_key, hparams_from_file(options.hparams_file));
  return checkpoint;
}

nn::StateDict checkpoint_state_dict(const Value& checkpoint) {
  nn::StateDict state_dict;
  for (const Value::Item& item : checkpoint.at("state_dict").items()) {
    state_dict.insert(item.first.as_string(), item.second.as_tensor());
  }
  return state_dict;
}

bool resolve_strict(const LightningModule& module, const std::optional<bool>& strict) {
  FULGUR_CHECK(!strict || !module.strict_loading_set() || *strict == module.strict_loading(), kOp,
               "You set `.load_from_checkpoint(..., strict=", Value(*strict).repr(), ")` which is in conflict with `",
               python_class_name(typeid(module)), ".strict_loading=", Value(module.strict_loading()).repr(),
               ". Please set the same value for both of them.");
  return strict.value_or(module.strict_loading());
}

void warn_incompatible_keys(const nn::IncompatibleKeys& keys) {
  const auto warn = [](const char* where, const std::vector<std::string>& names) {
    if (names.empty()) return;
    std::vector<Value> list(names.begin(), names.end());
    rank_zero_printf("warning: Found keys that are %s: %s\n", where, Value::list(std::move(list)).repr().c_str());
  };
  warn("in the model state dict but not in the checkpoint", keys.missing_keys);
  warn("not in the model state dict but in the checkpoint", keys.unexpected_keys);
}

std::optional<Device> loaded_module_device(const nn::StateDict& state_dict, const std::string& path) {
  if (!state_dict.empty()) return state_dict.begin()->second.device();
  rank_zero_printf("warning: The state dict in %s contains no parameters.\n", Value(path).repr().c_str());
  return std::nullopt;
}

}  // namespace detail
}  // namespace fulgur::lightning
