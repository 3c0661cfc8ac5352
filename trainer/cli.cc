#include "fulgur/trainer/cli.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/checkpoint.h"
#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/cli_trainer_options.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/seed.h"

namespace fulgur::lightning {
namespace detail {

// One argument (a leaf: --trainer.max_epochs) or a group of them (trainer, model, a nested
// dict of the model's hparams). The root is the subcommand's whole config.
struct CLINode {
  std::string name;
  bool group = false;
  std::vector<CLINode> children;  // groups
  // Leaves: type as Lightning spells it, help, default, and the type check (nullopt: wrong
  // type; else the value normalized).
  std::string type;
  std::string help;
  Value default_value;
  std::function<std::optional<Value>(const Value&)> check;

  const CLINode* child(const std::string& key) const {
    for (const auto& c : children) {
      if (c.name == key) return &c;
    }
    return nullptr;
  }
  std::string child_names() const {
    std::string s;
    for (const auto& c : children) s += (s.empty() ? "" : ", ") + c.name;
    return s.empty() ? "(none: its default hparams are empty)" : s;
  }
  // The default config of this node.
  Value defaults() const {
    if (!group) return default_value;
    Value d = Value::dict();
    for (const auto& c : children) d.set(c.name, c.defaults());
    return d;
  }
};

struct CLISchema {
  CLINode root;
};

}  // namespace detail

namespace {

using detail::CLINode;
using detail::CLISchema;

constexpr const char* kOp = "LightningCLI";
const std::vector<std::string> kSubcommands = {"fit", "validate", "test", "predict"};

// The first line of each Trainer method's docstring, as Lightning's subcommand help uses it.
std::string subcommand_description(const std::string& name) {
  if (name == "fit") return "Runs the full optimization routine.";
  if (name == "validate") return "Perform one evaluation epoch over the validation set.";
  if (name == "test") return "Perform one evaluation epoch over the test set.";
  return "Run inference on your data.";
}

// Scalars and lists the way YAML flow style writes them, for --help's defaults and errors.
std::string flow(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: return "null";
    case Value::Kind::Bool: return v.as_bool() ? "true" : "false";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Double: return float_repr(v.as_double());
    case Value::Kind::String: return v.as_string().empty() ? "''" : v.as_string();
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      std::string s = "[";
      for (size_t i = 0; i < v.elements().size(); ++i) s += (i ? ", " : "") + flow(v.elements()[i]);
      return s + "]";
    }
    case Value::Kind::Dict: {
      std::string s = "{";
      bool first = true;
      for (const auto& [k, x] : v.items()) {
        s += (first ? "" : ", ") + (k.is_string() ? k.as_string() : std::to_string(k.as_int())) + ": " + flow(x);
        first = false;
      }
      return s + "}";
    }
    default: return v.repr();
  }
}

// ---- the type of a model/data argument, from its default value --------------------------

std::optional<Value> check_kind(Value::Kind kind, const Value& v) {
  switch (kind) {
    case Value::Kind::None: return v;  // no type known: anything
    case Value::Kind::Bool: return v.is_bool() ? std::optional(v) : std::nullopt;
    case Value::Kind::Int: return v.is_int() ? std::optional(v) : std::nullopt;
    case Value::Kind::Double: return v.is_number() ? std::optional(Value(v.to_double())) : std::nullopt;
    case Value::Kind::String: return v.is_string() ? std::optional(v) : std::nullopt;
    case Value::Kind::Dict: return v.is_dict() ? std::optional(v) : std::nullopt;
    default: return std::nullopt;
  }
}

const char* kind_type(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::None: return "Any";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Double: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Dict: return "dict";
    default: return "list";
  }
}

CLINode hparam_node(const std::string& name, const Value& def) {
  CLINode n;
  n.name = name;
  if (def.is_dict() && def.size() > 0) {  // a nested dict: a group, set key by key
    n.group = true;
    for (const auto& [k, v] : def.items()) {
      FULGUR_CHECK(k.is_string(), kOp, "hyperparameter '", name, "' has a non-string key ", k.repr());
      n.children.push_back(hparam_node(k.as_string(), v));
    }
    return n;
  }
  n.default_value = def;
  if (def.is_sequence()) {
    // list[E] when the default's elements share one kind, else a list of anything.
    std::optional<Value::Kind> elem;
    bool uniform = def.elements().size() > 0;
    for (const auto& e : def.elements()) {
      if (!elem) elem = e.kind();
      uniform = uniform && e.kind() == *elem && !e.is_sequence() && !e.is_tensor();
    }
    n.type = uniform ? std::string("list[") + kind_type(*elem) + "]" : "list";
    const bool tuple = def.is_tuple();
    n.check = [uniform, elem, tuple](const Value& v) -> std::optional<Value> {
      if (!v.is_sequence()) return std::nullopt;
      std::vector<Value> out;
      for (const auto& e : v.elements()) {
        std::optional<Value> c = uniform ? check_kind(*elem, e) : std::optional(e);
        if (!c) return std::nullopt;
        out.push_back(*c);
      }
      return tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
    };
    return n;
  }
  FULGUR_CHECK(!def.is_tensor(), kOp, "hyperparameter '", name,
               "' is a tensor, which a command line cannot set; hint: keep tensors out of hparams");
  n.type = kind_type(def.kind());
  const Value::Kind kind = def.kind();
  n.check = [kind](const Value& v) { return check_kind(kind, v); };
  return n;
}

CLINode group_of_hparams(const std::string& name, const Value& defaults) {
  CLINode g;
  g.name = name;
  g.group = true;
  for (const auto& [k, v] : defaults.items()) g.children.push_back(hparam_node(k.as_string(), v));
  return g;
}

std::optional<Value> check_seed(const Value& v) { return v.is_bool() || v.is_int() ? std::optional(v) : std::nullopt; }

std::optional<Value> check_opt_str(const Value& v) {
  return v.is_string() || v.is_none() ? std::optional(v) : std::nullopt;
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  FULGUR_CHECK(in.good(), kOp, what, " '", path, "' cannot be read: no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Merges `incoming` (a config file's dict, a `--trainer '{...}'` dict, one value) into
// `target` at `node`, checking keys and types. `where` names the source in errors.
void assign(const CLINode& node, Value& target, const Value& incoming, const std::string& key,
            const std::string& where) {
  if (node.group) {
    FULGUR_CHECK(incoming.is_dict(), kOp, "Parser key \"", key, "\": Expected a dict of ", node.child_names(),
                 ". Got value: ", flow(incoming), " (", where, ")");
    for (const auto& [k, v] : incoming.items()) {
      const std::string name = k.is_string() ? k.as_string() : std::to_string(k.as_int());
      const std::string full = key.empty() ? name : key + "." + name;
      const CLINode* child = k.is_string() ? node.child(name) : nullptr;
      if (!child) {
        if (full == "trainer.callbacks") {
          FULGUR_FAIL(kOp, "\"trainer.callbacks\" cannot be set from ", where,
                      ": building callbacks from class_path/init_args is Lightning's jsonargparse "
                      "instantiation, which the C++ CLI does not do; hint: pass them in "
                      "CLIOptions::trainer_defaults.callbacks");
        }
        FULGUR_FAIL(kOp, "Unrecognized arguments: ", full, " (", where, "); hint: the valid ",
                    key.empty() ? std::string("top-level") : "\"" + key + "\"", " keys are: ", node.child_names());
      }
      assign(*child, target.at(name), v, full, where);
    }
    return;
  }
  std::optional<Value> checked = node.check(incoming);
  FULGUR_CHECK(checked.has_value(), kOp, "Parser key \"", key, "\": Expected a ", node.type,
               ". Got value: ", flow(incoming), " (", where, ")");
  target = *checked;
}

// `--key=TEXT`: TEXT is YAML (1e-3 is a float, [128, 64] a list, null None), or else the raw
// string when the argument takes strings (so --data.data_dir=123 is the str "123").
void assign_text(const CLINode& node, Value& target, const std::string& text, const std::string& key) {
  const std::string where = "--" + key;
  if (node.group) {
    // jsonargparse's `--trainer CONFIG`: a YAML dict, or the path of a YAML file.
    Value parsed;
    bool is_dict = false;
    try {
      parsed = parse_yaml(text, where);
      is_dict = parsed.is_dict();
    } catch (const Error&) {
    }
    if (!is_dict) parsed = parse_yaml(read_text_file(text, where + " config file"), text);
    assign(node, target, parsed, key, is_dict ? where : text);
    return;
  }
  std::optional<Value> checked;
  try {
    checked = node.check(parse_yaml(text, where));
  } catch (const Error&) {
    // not YAML (an unbalanced bracket): maybe a plain string
  }
  if (!checked) checked = node.check(Value(text));
  FULGUR_CHECK(checked.has_value(), kOp, "Parser key \"", key, "\": Expected a ", node.type, ". Got value: ", text,
               "; hint: run with --help to see each argument's type");
  target = *checked;
}

std::string flag_metavar(const std::string& name) {
  std::string s;
  for (char c : name) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// argparse's layout: the flag in 24 columns, then the help (on the next line when wider).
void help_line(std::ostringstream& os, const std::string& flag, const std::string& text) {
  const std::string lead = "  " + flag;
  if (lead.size() <= 22) {
    os << lead << std::string(24 - lead.size(), ' ') << text << "\n";
  } else {
    os << lead << "\n" << std::string(24, ' ') << text << "\n";
  }
}

void help_group(std::ostringstream& os, const CLINode& node, const std::string& prefix) {
  for (const auto& c : node.children) {
    const std::string key = prefix + "." + c.name;
    if (c.group) {
      help_line(os, "--" + key + " CONFIG", "A YAML dict (or a YAML file) of " + key + "'s keys.");
      help_group(os, c, key);
      continue;
    }
    std::string text = c.help.empty() ? "" : c.help + " ";
    help_line(os, "--" + key + " " + flag_metavar(c.name),
              text + "(type: " + c.type + ", default: " + flow(c.default_value) + ")");
  }
}

}  // namespace

// ---- construction -------------------------------------------------------------------------

LightningCLIBase::LightningCLIBase(std::vector<std::string> argv, CLIOptions options, ModelFactory make_model,
                                   DataFactory make_data)
    : options_(std::move(options)), make_model_(std::move(make_model)), make_data_(std::move(make_data)) {
  FULGUR_CHECK(options_.seed_everything_default.is_bool() || options_.seed_everything_default.is_int(), kOp,
               "seed_everything_default must be a bool or an int, got ", options_.seed_everything_default.repr());
  for (const auto& s : options_.default_subcommands) {
    FULGUR_CHECK(std::find(kSubcommands.begin(), kSubcommands.end(), s) != kSubcommands.end(), kOp,
                 "default_subcommands: '", s, "' is not a subcommand; hint: use fit, validate, test, predict");
  }
  FULGUR_CHECK(options_.run || options_.default_subcommands.empty(), kOp,
               "default_subcommands needs run=true (with run=false no subcommand runs)");
  prog_ = !options_.prog.empty() ? options_.prog : (argv.empty() ? "main" : argv[0]);
  std::vector<std::string> args =
      options_.args ? *options_.args : std::vector<std::string>(argv.begin() + (argv.empty() ? 0 : 1), argv.end());

  // The arguments of Model and DataModule: what a default instance holds.
  try {
    model_defaults_ = make_model_(HParams{})->hparams().to_value();
    if (make_data_) data_defaults_ = make_data_(HParams{})->hparams().to_value();
  } catch (const Error& e) {
    FULGUR_FAIL(kOp,
                "constructing the model/datamodule from empty L::HParams (to learn their arguments) failed: ", e.what(),
                "; hint: give every hparam a default with hp.with_defaults({...})");
  }

  parse(args);
  if (exit_requested_) return;
  if (options_.run) apply_checkpoint_hparams();
  set_seed();
  instantiate();
  for (size_t i = 0; i < to_run_.size(); ++i) run_subcommand(to_run_[i], i == 0);
}

LightningCLIBase::~LightningCLIBase() = default;

std::ostream& LightningCLIBase::out() const { return options_.out ? *options_.out : std::cout; }

// The config tree of a subcommand, in jsonargparse's order: seed_everything, trainer, model,
// data, then the Trainer method's own arguments.
std::unique_ptr<CLISchema> LightningCLIBase::build_schema(const std::string& subcommand) const {
  auto schema = std::make_unique<CLISchema>();
  CLINode& root = schema->root;
  root.group = true;

  CLINode seed;
  seed.name = "seed_everything";
  seed.type = "Union[bool, int]";
  seed.help =
      "Set to an int to run seed_everything with this value before classes instantiation. Set to True to "
      "use a random seed.";
  seed.default_value = options_.seed_everything_default;
  seed.check = check_seed;
  root.children.push_back(seed);

  CLINode trainer;
  trainer.name = "trainer";
  trainer.group = true;
  for (const auto& spec : detail::trainer_option_specs()) {
    CLINode leaf;
    leaf.name = spec.name;
    leaf.type = spec.type;
    leaf.help = spec.help;
    leaf.default_value = spec.get(options_.trainer_defaults);
    leaf.check = spec.check;
    trainer.children.push_back(std::move(leaf));
  }
  root.children.push_back(std::move(trainer));
  root.children.push_back(group_of_hparams("model", model_defaults_));
  if (make_data_) root.children.push_back(group_of_hparams("data", data_defaults_));

  // The methods' arguments (with default_subcommands: those of all of them).
  std::vector<std::string> methods = subcommand.empty() ? options_.default_subcommands : std::vector{subcommand};
  CLINode ckpt;
  ckpt.name = "ckpt_path";
  ckpt.type = "Optional[str]";
  ckpt.help =
      "Path of the checkpoint to resume training from (fit) or to load the weights from (validate, test, "
      "predict).";
  ckpt.check = check_opt_str;
  root.children.push_back(ckpt);
  if (std::find(methods.begin(), methods.end(), "validate") != methods.end() ||
      std::find(methods.begin(), methods.end(), "test") != methods.end()) {
    CLINode verbose;
    verbose.name = "verbose";
    verbose.type = "bool";
    verbose.help = "If true, prints the validation/test results.";
    verbose.default_value = true;
    verbose.check = [](const Value& v) { return v.is_bool() ? std::optional(v) : std::nullopt; };
    root.children.push_back(verbose);
  }
  return schema;
}

// ---- parsing ------------------------------------------------------------------------------

void LightningCLIBase::parse(const std::vector<std::string>& args) {
  size_t first = 0;
  if (options_.run) {
    const bool has_sub = !args.empty() && !args[0].empty() && args[0][0] != '-';
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
      out() << help("");
      exit_requested_ = true;
      return;
    }
    if (has_sub) {
      FULGUR_CHECK(std::find(kSubcommands.begin(), kSubcommands.end(), args[0]) != kSubcommands.end(), kOp,
                   "argument subcommand: invalid choice: '", args[0],
                   "' (choose from 'fit', 'validate', 'test', 'predict')");
      subcommand_ = args[0];
      to_run_ = {subcommand_};
      first = 1;
    } else {
      FULGUR_CHECK(!options_.default_subcommands.empty(), kOp,
                   "expected \"subcommand\" to be one of {fit,validate,test,predict}, but it was not provided; hint: "
                   "`",
                   prog_, " fit --help`");
      to_run_ = options_.default_subcommands;
      subcommand_ = to_run_[0];
    }
  }
  // With default_subcommands the schema covers all of them (the "" key).
  schema_ = build_schema(first == 1 || !options_.run ? subcommand_ : "");
  config_ = schema_->root.defaults();
  parse_subcommand_args(args, first);
}

void LightningCLIBase::parse_subcommand_args(const std::vector<std::string>& args, size_t first) {
  const CLINode& root = schema_->root;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {  // argparse: help wins wherever it stands
      out() << help(first == 1 || !options_.run ? subcommand_ : "");
      exit_requested_ = true;
      return;
    }
    std::string name, text;
    bool has_text = false;
    if (arg == "-c") {
      name = "config";
    } else if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      const size_t eq = arg.find('=');
      name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        text = arg.substr(eq + 1);
        has_text = true;
      }
    } else {
      FULGUR_FAIL(kOp, "Unrecognized arguments: ", arg, "; hint: arguments are --key=value or --key value (",
                  options_.run ? "the subcommand comes first; " : "", "see --help)");
    }
    if (name == "print_config") {
      FULGUR_CHECK(!has_text, kOp,
                   "--print_config takes no value here (jsonargparse's flags such as "
                   "skip_null are not supported); got '",
                   arg, "'");
      print_config_ = true;
      continue;
    }
    if (!has_text) {
      FULGUR_CHECK(i + 1 < args.size(), kOp, "argument ", arg, ": expected one argument");
      text = args[++i];
    }
    if (name == "config") {
      apply_config_file(text);
      continue;
    }
    // Walk the dotted key down the groups.
    const CLINode* node = &root;
    Value* target = &config_;
    std::string walked;
    size_t start = 0;
    while (true) {
      const size_t dot = name.find('.', start);
      const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const CLINode* child = node->group ? node->child(part) : nullptr;
      if (!child) {
        if (name == "trainer.callbacks") {
          FULGUR_FAIL(kOp,
                      "--trainer.callbacks cannot be set from the command line: building callbacks from "
                      "class_path/init_args is Lightning's jsonargparse instantiation, which the C++ CLI "
                      "does not do; hint: pass them in CLIOptions::trainer_defaults.callbacks");
        }
        std::string valid;
        if (node == &root) {
          valid = "--config, --print_config";
          for (const auto& c : root.children) valid += ", --" + c.name + (c.group ? ".*" : "");
        } else {
          for (const auto& c : node->children) valid += (valid.empty() ? "" : ", ") + walked + "." + c.name;
          if (valid.empty()) valid = node->child_names();
        }
        FULGUR_FAIL(kOp, "Unrecognized arguments: ", arg, "; hint: the valid ",
                    node == &root ? std::string("arguments") : "\"" + walked + "\" keys", " are: ", valid);
      }
      walked = walked.empty() ? part : walked + "." + part;
      node = child;
      target = &target->at(part);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    assign_text(*node, *target, text, name);
  }
  if (print_config_) {
    // Lightning prints before the seed is chosen, so seed_everything shows as given.
    out() << to_yaml(config_);
    exit_requested_ = true;
  }
}

void LightningCLIBase::apply_config_file(const std::string& path) {
  const Value parsed = parse_yaml(read_text_file(path, "--config file"), path);
  if (parsed.is_none()) {  // an empty file
    config_files_.push_back(path);
    return;
  }
  assign(schema_->root, config_, parsed, "", "config file " + path);
  config_files_.push_back(path);
}

// Lightning's _parse_ckpt_path: with a subcommand and a ckpt_path that is a file, the model is
// built with the checkpoint's hyper_parameters (they override the config's model keys), so
// that its weights fit. Not with "best"/"last", which name no file yet.
void LightningCLIBase::apply_checkpoint_hparams() {
  const std::string path = ckpt_path();
  if (path.empty() || !std::filesystem::is_regular_file(path)) return;
  const Value checkpoint = fulgur::load(path);
  const Value* hparams = checkpoint.is_dict() ? checkpoint.find("hyper_parameters") : nullptr;
  if (hparams == nullptr || !hparams->is_dict()) return;
  Value model_hparams = *hparams;
  model_hparams.erase("_instantiator");
  if (model_hparams.size() == 0) return;
  try {
    assign(schema_->root, config_, Value::dict().set("model", model_hparams), "",
           "the hyper_parameters of ckpt_path " + path);
  } catch (const Error& e) {
    FULGUR_FAIL(kOp, "Parsing of ckpt_path hyperparameters failed! ", e.what());
  }
}

// ---- seed, instantiation, run ---------------------------------------------------------------

void LightningCLIBase::set_seed() {
  Value& seed = config_.at("seed_everything");
  if (seed.is_bool() && !seed.as_bool()) return;
  int64_t value = 0;
  if (seed.is_bool()) {
    // Lightning 2.x's seed_everything(None): PL_GLOBAL_SEED, else 0.
    if (const std::optional<int64_t> env = global_seed(kOp)) {
      value = *env;
    } else {
      rank_zero_printf("warning: No seed found, seed set to 0\n");  // Lightning's rank_zero_warn
    }
  } else {
    value = seed.as_int();
  }
  FULGUR_CHECK(value >= 0 && value <= 4294967295LL, kOp, value,
               " is not in bounds, numpy accepts from 0 to 4294967295");
  seed_everything(static_cast<uint64_t>(value), /*workers=*/true);
  seed = value;  // the config (and config.yaml) records the seed actually used
}

void LightningCLIBase::instantiate() {
  model_ = make_model_(HParams::from_value(config_.at("model")));
  if (make_data_) datamodule_ = make_data_(HParams::from_value(config_.at("data")));

  // Every option from the config, over trainer_defaults (which keeps what a config cannot
  // hold: its callbacks, and its logger objects, which the config shows as `logger: true`).
  TrainerOptions opts = options_.trainer_defaults;
  const bool logger_objects = !opts.logger.loggers().empty();
  const Value& trainer_config = config_.at("trainer");
  for (const auto& spec : detail::trainer_option_specs()) {
    const Value& v = trainer_config.at(spec.name);
    if (spec.name == "logger" && logger_objects && v.is_bool() && v.as_bool()) continue;
    spec.set(opts, v);
  }
  if (options_.save_config_callback && opts.fast_dev_run == 0) {
    opts.callbacks.push_back(std::make_shared<SaveConfigCallback>(config_, options_.save_config_kwargs));
  }
  trainer_ = std::make_unique<Trainer>(std::move(opts));
}

void LightningCLIBase::run_subcommand(const std::string& name, bool first) {
  const std::string ckpt = first ? ckpt_path() : "";
  const Value* verbose = config_.find("verbose");
  EvalOptions eval{.ckpt_path = ckpt, .verbose = verbose ? verbose->as_bool() : true};
  LightningModule& model = *model_;
  if (name == "fit") {
    if (datamodule_) {
      trainer_->fit(model, *datamodule_, {.ckpt_path = ckpt});
    } else {
      trainer_->fit(model, {}, {}, {.ckpt_path = ckpt});
    }
  } else if (name == "validate") {
    results_ = datamodule_ ? trainer_->validate(model, *datamodule_, eval) : trainer_->validate(model, {}, eval);
  } else if (name == "test") {
    results_ = datamodule_ ? trainer_->test(model, *datamodule_, eval) : trainer_->test(model, {}, eval);
  } else {
    const PredictOptions predict{.ckpt_path = ckpt};
    predictions_ =
        datamodule_ ? trainer_->predict(model, *datamodule_, predict) : trainer_->predict(model, {}, predict);
  }
}

// ---- accessors ------------------------------------------------------------------------------

std::string LightningCLIBase::ckpt_path() const {
  const Value* v = config_.find("ckpt_path");
  return v && v->is_string() ? v->as_string() : "";
}

Trainer& LightningCLIBase::trainer() {
  FULGUR_CHECK(trainer_ != nullptr, kOp, "no Trainer: ",
               exit_requested_ ? "--help or --print_config stopped the CLI before instantiation; hint: return "
                                 "cli.exit_code() when cli.exit_requested()"
                               : "instantiation failed");
  return *trainer_;
}

LightningModule& LightningCLIBase::lightning_module() {
  FULGUR_CHECK(model_ != nullptr, kOp,
               "no model: --help or --print_config stopped the CLI before instantiation; "
               "hint: return cli.exit_code() when cli.exit_requested()");
  return *model_;
}

LightningDataModule& LightningCLIBase::lightning_datamodule() {
  FULGUR_CHECK(make_data_ != nullptr, kOp, "this LightningCLI has no DataModule type");
  FULGUR_CHECK(datamodule_ != nullptr, kOp,
               "no datamodule: --help or --print_config stopped the CLI before "
               "instantiation; hint: return cli.exit_code() when cli.exit_requested()");
  return *datamodule_;
}

// ---- help -----------------------------------------------------------------------------------

std::string LightningCLIBase::help(const std::string& subcommand) const {
  std::ostringstream os;
  const bool top = options_.run && subcommand.empty();
  if (top) {
    os << "usage: " << prog_ << " [-h] {fit,validate,test,predict} ...\n\n" << options_.description << "\n\n";
    os << "options:\n";
    help_line(os, "-h, --help", "Show this help message and exit.");
    os << "\nsubcommands:\n  For more details of each subcommand, add it as an argument followed by --help.\n";
    if (!options_.default_subcommands.empty()) {
      std::string seq;
      for (const auto& s : options_.default_subcommands) seq += (seq.empty() ? "" : ", then ") + s;
      os << "  Without a subcommand, runs " << seq << " (the arguments of `" << options_.default_subcommands[0]
         << " --help` apply).\n";
    }
    os << "\n  {fit,validate,test,predict}\n";
    for (const auto& s : kSubcommands) help_line(os, "  " + s, subcommand_description(s));
    return os.str();
  }
  // A subcommand's (or run=false's) arguments, from its schema.
  const std::unique_ptr<CLISchema> schema = build_schema(subcommand);
  const CLINode& root = schema->root;
  const std::string cmd = subcommand.empty() ? prog_ : prog_ + " " + subcommand;
  os << "usage: " << cmd << " [-h] [-c CONFIG] [--print_config] [--seed_everything SEED_EVERYTHING] "
     << "[--trainer.NAME VALUE] [--model.NAME VALUE]" << (make_data_ ? " [--data.NAME VALUE]" : "")
     << " [--ckpt_path CKPT_PATH]\n\n"
     << (subcommand.empty() ? options_.description : subcommand_description(subcommand)) << "\n\n";
  os << "options:\n";
  help_line(os, "-h, --help", "Show this help message and exit.");
  help_line(os, "-c CONFIG, --config CONFIG",
            "Path to a configuration file in yaml format; several are applied in order.");
  help_line(os, "--print_config", "Print the configuration after applying all other arguments and exit.");
  for (const auto& c : root.children) {
    if (c.group) {
      if (c.name == "trainer") {
        os << "\nCustomize every aspect of training via flags:\n";
      } else {
        os << "\n"
           << (c.name == "model" ? "The model's" : "The datamodule's")
           << " arguments (its hparams; types and defaults from a default-constructed instance):\n";
      }
      help_line(os, "--" + c.name + " CONFIG", "A YAML dict (or a YAML file) of " + c.name + "'s keys.");
      help_group(os, c, c.name);
      continue;
    }
    if (c.name == "ckpt_path") os << "\nThe Trainer method's arguments:\n";
    help_line(os, "--" + c.name + " " + flag_metavar(c.name),
              c.help + " (type: " + c.type + ", default: " + flow(c.default_value) + ")");
  }
  os << "\ntrainer.callbacks cannot be set here (Lightning's class_path instantiation is not supported).\n";
  return os.str();
}

}  // namespace fulgur::lightning
