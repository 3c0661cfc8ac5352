// L::LightningCLI: flags (= and space forms) typed by the defaults, --config files and
// jsonargparse's precedence, the error messages, --print_config, the generated --help, the
// subcommands actually training, SaveConfigCallback's config.yaml and its overwrite refusal,
// run=false, and limit_*_batches' int/float distinction through the command line.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/trainer/cli_trainer_options.h"
#include "tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;

namespace {

using fulgur::testing::regression_data;  // y = x . [1, -2, 0.5] + 0.3

// One hyperparameter of each kind the CLI types: int, float, bool, str, list[int], None
// (any), and a nested dict.
class CliModel : public L::LightningModule {
 public:
  explicit CliModel(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"hidden", 4},
                                             {"lr", 0.1},
                                             {"use_bias", true},
                                             {"optimizer", "sgd"},
                                             {"layers", Value::list({8, 4})},
                                             {"note", Value()},
                                             {"sched", Value::dict().set("gamma", 0.5).set("step", 2)}})) {
    save_hyperparameters();
    layer = register_module("layer", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::mse_loss(forward(x), y);
    log("train_loss", loss);
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("val_loss", F::mse_loss(forward(x), y));
  }
  void test_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("test_loss", F::mse_loss(forward(x), y));
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = hparam<double>("lr")}); }
  std::shared_ptr<nn::Linear> layer;
};

// 80 samples: 5 batches of 16 by default.
class CliData : public L::LightningDataModule {
 public:
  explicit CliData(L::HParams hp = {})
      : L::LightningDataModule(
            hp.with_defaults({{"n", 80}, {"batch_size", 16}, {"data_dir", "data"}, {"shuffle", false}})) {}
  void setup(const std::string&) override { ds_ = regression_data(hparam<int64_t>("n")); }
  L::Loaders train_dataloader() override {
    return data::DataLoader(ds_, {.batch_size = hparam<int64_t>("batch_size"), .shuffle = hparam<bool>("shuffle")});
  }
  L::Loaders val_dataloader() override { return data::DataLoader(ds_, {.batch_size = 40}); }
  L::Loaders test_dataloader() override { return data::DataLoader(ds_, {.batch_size = 40}); }
  L::Loaders predict_dataloader() override { return data::DataLoader(ds_, {.batch_size = 40}); }

 private:
  std::shared_ptr<data::TensorDataset> ds_;
};

using CLI = L::LightningCLI<CliModel, CliData>;

std::string tmp_dir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(root ? root : fs::temp_directory_path().string()) / ("cli_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

char prog_name[] = "train";
char* fake_argv[] = {prog_name, nullptr};

// A CLI on `args` (not argv), quiet, seeding off unless asked.
L::CLIOptions opts(std::vector<std::string> args, bool run = false) {
  return L::CLIOptions{.seed_everything_default = false, .args = std::move(args), .run = run};
}

// The fast settings for runs that train.
std::vector<std::string> quick_run(std::vector<std::string> args, const std::string& root) {
  for (const std::string& a :
       {std::string("--trainer.logger=false"), std::string("--trainer.enable_progress_bar=false"),
        std::string("--trainer.enable_model_summary=false"), std::string("--trainer.enable_checkpointing=false"),
        std::string("--trainer.num_sanity_val_steps=0"), "--trainer.default_root_dir=" + root}) {
    args.push_back(a);
  }
  return args;
}

}  // namespace

TEST_CASE("LightningCLI: flags in = and space forms, typed by the defaults") {
  CLI cli(
      1, fake_argv,
      opts({"--model.lr=0.5", "--model.hidden", "7", "--model.use_bias=false", "--model.optimizer", "adam",
            "--model.layers=[128, 64]", "--model.note={a: 1}", "--model.sched.gamma=0.25", "--data.batch_size=8",
            "--data.data_dir=123", "--trainer.max_epochs=3", "--trainer.accelerator", "cpu", "--trainer.precision=64",
            "--trainer.gradient_clip_val=1", "--ckpt_path=x.ckpt", "--seed_everything=42"}));
  CHECK_FALSE(cli.exit_requested());
  CHECK(cli.subcommand().empty());
  const L::HParams& hp = cli.model().hparams();
  CHECK(hp.at("lr").is_double());
  CHECK(hp.get<double>("lr") == 0.5);
  CHECK(hp.at("hidden").is_int());
  CHECK(hp.get<int64_t>("hidden") == 7);
  CHECK(hp.get<bool>("use_bias") == false);
  CHECK(hp.get<std::string>("optimizer") == "adam");
  CHECK(hp.get<std::vector<int64_t>>("layers") == std::vector<int64_t>{128, 64});
  CHECK(hp.at("note") == Value::dict().set("a", 1));  // a None default takes any value
  // Nested dicts are set key by key: step keeps its default.
  CHECK(hp.at("sched") == Value::dict().set("gamma", 0.25).set("step", 2));
  CHECK(cli.datamodule().hparam<int64_t>("batch_size") == 8);
  CHECK(cli.datamodule().hparam<int64_t>("n") == 80);
  // A str argument keeps the text even when it reads as a YAML int (jsonargparse's typing).
  CHECK(cli.datamodule().hparam<std::string>("data_dir") == "123");
  const L::TrainerOptions& t = cli.trainer().options();
  CHECK(t.max_epochs == 3);
  CHECK(t.accelerator == "cpu");
  CHECK(t.precision == "64");
  CHECK(t.gradient_clip_val == 1.0);
  CHECK(t.log_every_n_steps == 50);  // untouched: Lightning's default
  CHECK(cli.ckpt_path() == "x.ckpt");
  CHECK(cli.config().at("seed_everything") == Value(42));
  // Trainer options of the other kinds.
  CLI more(1, fake_argv,
           opts({"--trainer.max_time={minutes: 2, seconds: 3}", "--trainer.devices=1",
                 "--trainer.check_val_every_n_epoch=null", "--trainer.default_root_dir", "null",
                 "--trainer.gradient_clip_algorithm=value",
                 "--trainer.val_check_interval=10"}));
  const L::TrainerOptions& m = more.trainer().options();
  REQUIRE(m.max_time.has_value());
  CHECK(m.max_time->total_seconds() == 123.0);
  CHECK(m.devices == "1");
  CHECK_FALSE(m.check_val_every_n_epoch.has_value());
  CHECK(m.default_root_dir.empty());
  CHECK(m.gradient_clip_algorithm == "value");
  CHECK(m.val_check_interval.is_count());
  CHECK(m.val_check_interval.count() == 10);
  CHECK(CLI(1, fake_argv, opts({"--trainer.fast_dev_run=true"})).trainer().options().fast_dev_run == 1);
  CLI timed(1, fake_argv, opts({"--trainer.max_time=00:01:00:30"}));  // DD:HH:MM:SS
  CHECK(timed.trainer().options().max_time->total_seconds() == 3630.0);
  // float arguments accept ints (lr=1 is 1.0), as Python's typing does.
  CLI one(1, fake_argv, opts({"--model.lr=1"}));
  CHECK(one.model().hparams().at("lr").is_double());
  CHECK(one.model().hparam<double>("lr") == 1.0);
}

TEST_CASE("LightningCLI: defaults < trainer_defaults < --config files < flags, in argument order") {
  const std::string dir = tmp_dir("precedence");
  const std::string a = dir + "/a.yaml", b = dir + "/b.yaml";
  write_text(a, "trainer:\n  max_epochs: 5\nmodel:\n  lr: 0.2\n  hidden: 9\ndata:\n  batch_size: 32\n");
  write_text(b, "model:\n  lr: 0.3\n");
  auto make = [&](std::vector<std::string> args) {
    L::CLIOptions o = opts(std::move(args));
    o.trainer_defaults = {.max_epochs = 2, .log_every_n_steps = 7};
    return std::make_unique<CLI>(1, fake_argv, std::move(o));
  };
  {
    auto cli = make({});
    CHECK(cli->trainer().options().max_epochs == 2);  // trainer_defaults over Lightning's default
    CHECK(cli->trainer().options().log_every_n_steps == 7);
    CHECK(cli->config().at("trainer").at("max_epochs") == Value(2));
    CHECK(cli->model().hparam<double>("lr") == 0.1);
  }
  {
    auto cli = make({"--config", a});
    CHECK(cli->trainer().options().max_epochs == 5);
    CHECK(cli->trainer().options().log_every_n_steps == 7);  // not in the file
    CHECK(cli->model().hparam<double>("lr") == 0.2);
    CHECK(cli->model().hparam<int64_t>("hidden") == 9);
    CHECK(cli->model().hparam<std::string>("optimizer") == "sgd");
    CHECK(cli->datamodule().hparam<int64_t>("batch_size") == 32);
    CHECK(cli->config_files() == std::vector<std::string>{a});
  }
  CHECK(make({"--config=" + a, "--model.lr=0.9"})->model().hparam<double>("lr") == 0.9);  // flag after file
  CHECK(make({"--model.lr=0.9", "-c", a})->model().hparam<double>("lr") == 0.2);          // file after flag
  {
    auto cli = make({"--config", a, "--config", b});
    CHECK(cli->model().hparam<double>("lr") == 0.3);  // the later file
    CHECK(cli->model().hparam<int64_t>("hidden") == 9);
    CHECK(cli->config_files() == std::vector<std::string>{a, b});
  }
  // A group flag takes a YAML dict, or a file of that group's keys (jsonargparse's --trainer CONFIG).
  CHECK(make({"--trainer={max_epochs: 11}"})->trainer().options().max_epochs == 11);
  write_text(dir + "/model.yaml", "lr: 0.7\n");
  CHECK(make({"--model", dir + "/model.yaml"})->model().hparam<double>("lr") == 0.7);
}

TEST_CASE("LightningCLI: errors say the key, the expected type and the valid keys") {
  const std::string dir = tmp_dir("errors");
  auto err = [](std::vector<std::string> args, bool run = false) {
    return error_message([&] { CLI cli(1, fake_argv, opts(std::move(args), run)); });
  };
  std::string m = err({"--model.hiden=3"});
  CHECK(m.find("Unrecognized arguments: --model.hiden=3") != std::string::npos);
  CHECK(m.find("model.hidden, model.lr, model.use_bias, model.optimizer") != std::string::npos);
  m = err({"--trainer.max_epoch", "3"});
  CHECK(m.find("Unrecognized arguments: --trainer.max_epoch") != std::string::npos);
  CHECK(m.find("trainer.max_epochs") != std::string::npos);
  m = err({"--bogus=1"});
  CHECK(m.find("Unrecognized arguments: --bogus=1") != std::string::npos);
  CHECK(m.find("--trainer.*") != std::string::npos);
  CHECK(err({"stray"}).find("Unrecognized arguments: stray") != std::string::npos);

  m = err({"--model.hidden=abc"});
  CHECK(m.find("Parser key \"model.hidden\": Expected a int. Got value: abc") != std::string::npos);
  m = err({"--model.lr=fast"});
  CHECK(m.find("Parser key \"model.lr\": Expected a float. Got value: fast") != std::string::npos);
  m = err({"--model.use_bias=yes"});  // YAML 1.2: yes is a string, not a bool
  CHECK(m.find("Expected a bool. Got value: yes") != std::string::npos);
  m = err({"--model.layers=[1, x]"});
  CHECK(m.find("Parser key \"model.layers\": Expected a list[int]") != std::string::npos);
  m = err({"--trainer.max_epochs=1.5"});
  CHECK(m.find("Parser key \"trainer.max_epochs\": Expected a Optional[int]. Got value: 1.5") != std::string::npos);
  m = err({"--trainer.limit_train_batches=true"});
  CHECK(m.find("Expected a Optional[Union[int, float]]") != std::string::npos);
  m = err({"--trainer.max_time=12 hours"});
  CHECK(m.find("Parser key \"trainer.max_time\"") != std::string::npos);
  m = err({"--trainer.callbacks=[]"});
  CHECK(m.find("class_path") != std::string::npos);
  CHECK(m.find("trainer_defaults.callbacks") != std::string::npos);
  CHECK(err({"--trainer.max_epochs"}).find("expected one argument") != std::string::npos);

  // Config files: the key with its path, and the file.
  write_text(dir + "/bad.yaml", "model:\n  lr: 0.1\n  dropout: 0.5\n");
  m = err({"--config", dir + "/bad.yaml"});
  CHECK(m.find("Unrecognized arguments: model.dropout") != std::string::npos);
  CHECK(m.find("bad.yaml") != std::string::npos);
  write_text(dir + "/badtype.yaml", "trainer:\n  max_epochs: many\n");
  m = err({"--config", dir + "/badtype.yaml"});
  CHECK(m.find("Parser key \"trainer.max_epochs\": Expected a Optional[int]. Got value: many") != std::string::npos);
  CHECK(err({"--config", dir + "/missing.yaml"}).find("missing.yaml") != std::string::npos);

  // Subcommands (run=true): jsonargparse's and argparse's messages.
  m = err({"--trainer.max_epochs=1"}, true);
  CHECK(m.find("expected \"subcommand\" to be one of {fit,validate,test,predict}, but it was not provided") !=
        std::string::npos);
  m = err({"train"}, true);
  CHECK(m.find("invalid choice: 'train' (choose from 'fit', 'validate', 'test', 'predict')") != std::string::npos);
  // verbose belongs to validate/test, not fit.
  CHECK(err({"fit", "--verbose=false"}, true).find("Unrecognized arguments: --verbose=false") != std::string::npos);
}

TEST_CASE("LightningCLI: --print_config prints the resolved config and stops") {
  const std::string dir = tmp_dir("print_config");
  std::ostringstream out;
  L::CLIOptions o =
      opts({"fit", "--model.lr=0.5", "--trainer.limit_val_batches=3", "--print_config", "--data.shuffle=true"}, true);
  o.seed_everything_default = true;
  o.out = &out;
  CLI cli(1, fake_argv, std::move(o));
  CHECK(cli.exit_requested());
  CHECK(cli.exit_code() == 0);
  CHECK(cli.subcommand() == "fit");
  CHECK(error_message([&] { (void)cli.trainer(); }).find("exit_requested") != std::string::npos);
  const Value printed = parse_yaml(out.str(), "print_config");
  CHECK(printed == cli.config());
  // Lightning's layout: seed_everything (not yet drawn), trainer, model, data, ckpt_path; the
  // arguments after --print_config count too.
  std::vector<std::string> keys;
  for (const auto& k : printed.keys()) keys.push_back(k.as_string());
  CHECK(keys == std::vector<std::string>{"seed_everything", "trainer", "model", "data", "ckpt_path"});
  CHECK(printed.at("seed_everything") == Value(true));
  CHECK(printed.at("model").at("lr") == Value(0.5));
  CHECK(printed.at("data").at("shuffle") == Value(true));
  CHECK(printed.at("trainer").at("limit_val_batches").is_int());
  CHECK(printed.at("trainer").at("limit_train_batches").is_double());
  CHECK(printed.at("trainer").at("max_epochs").is_none());
  CHECK(printed.at("ckpt_path").is_none());
  CHECK_FALSE(printed.at("trainer").contains("callbacks"));
  // Fed back as --config, it gives the same config.
  write_text(dir + "/printed.yaml", out.str());
  std::ostringstream again;
  L::CLIOptions o2 = opts({"fit", "--config", dir + "/printed.yaml", "--print_config"}, true);
  o2.out = &again;
  CLI cli2(1, fake_argv, std::move(o2));
  CHECK(again.str() == out.str());
}

TEST_CASE("LightningCLI: --help lists every trainer option with its type and default") {
  std::ostringstream top;
  L::CLIOptions o = opts({"--help"}, true);
  o.out = &top;
  CLI cli(1, fake_argv, std::move(o));
  CHECK(cli.exit_requested());
  for (const char* s : {"usage: train", "{fit,validate,test,predict}", "Runs the full optimization routine.",
                        "Perform one evaluation epoch over the test set.", "Run inference on your data."}) {
    CHECK_MESSAGE(top.str().find(s) != std::string::npos, s);
  }

  std::ostringstream fit;
  L::CLIOptions of = opts({"fit", "--model.lr=0.5", "-h"}, true);
  of.trainer_defaults = {.max_epochs = 2};
  of.out = &fit;
  CLI cli_fit(1, fake_argv, std::move(of));
  const std::string h = fit.str();
  for (const auto& spec : L::detail::trainer_option_specs()) {
    const size_t at = h.find("--trainer." + spec.name + " ");
    REQUIRE_MESSAGE(at != std::string::npos, spec.name);
    // The option's help and "(type: T, default: D)" follow the flag.
    const size_t end = h.find("\n  --", at + 1);
    const std::string entry = h.substr(at, end - at);
    CHECK_MESSAGE(entry.find(spec.help) != std::string::npos, spec.name);
    CHECK_MESSAGE(entry.find("(type: " + spec.type + ", default: ") != std::string::npos, spec.name);
  }
  // Defaults as YAML writes them; trainer_defaults replace Lightning's.
  for (const char* s :
       {"(type: Optional[int], default: 2)", "(type: str, default: auto)", "(type: Union[str, int], default: 32-true)",
        "(type: Optional[Union[int, float]], default: 1.0)", "(type: int, default: 1)",
        "(type: bool, default: true)", "(type: Optional[int], default: null)", "(type: Optional[bool], default: null)", "--model.lr LR",
        "(type: float, default: 0.1)", "--model.layers LAYERS", "(type: list[int], default: [8, 4])",
        "--model.sched.gamma GAMMA", "--data.batch_size BATCH_SIZE", "(type: int, default: 16)",
        "--ckpt_path CKPT_PATH", "--seed_everything SEED_EVERYTHING", "-c CONFIG, --config CONFIG", "--print_config"}) {
    CHECK_MESSAGE(h.find(s) != std::string::npos, s);
  }
  CHECK(h.find("--verbose") == std::string::npos);  // a test/validate argument
  std::ostringstream test;
  L::CLIOptions ot = opts({"test", "--help"}, true);
  ot.out = &test;
  CLI cli_test(1, fake_argv, std::move(ot));
  CHECK(test.str().find("--verbose VERBOSE") != std::string::npos);
}

TEST_CASE("LightningCLI: fit trains and saves config.yaml in log_dir; a second run refuses to overwrite it") {
  const std::string root = tmp_dir("fit");
  CLI cli(1, fake_argv, opts(quick_run({"fit", "--trainer.max_epochs=2", "--seed_everything=7"}, root), true));
  CHECK(cli.subcommand() == "fit");
  CHECK(cli.trainer().state().fn == "fit");
  CHECK(cli.trainer().state().finished());
  CHECK(cli.trainer().current_epoch() == 2);
  CHECK(cli.trainer().global_step() == 2 * 5);  // 80 samples / 16 per batch, 2 epochs
  CHECK(cli.trainer().callback_metrics().count("val_loss") == 1);
  CHECK(cli.config().at("seed_everything") == Value(7));
  // No logger: Trainer.log_dir is default_root_dir.
  const std::string path = root + "/config.yaml";
  REQUIRE(fs::is_regular_file(path));
  const Value saved = parse_yaml(read_text(path), path);
  CHECK(saved == cli.config());
  CHECK(saved.at("trainer").at("max_epochs") == Value(2));
  CHECK(saved.at("trainer").at("default_root_dir") == Value(root));
  CHECK(saved.at("seed_everything") == Value(7));

  // Same directory again: Lightning's RuntimeError, before training starts.
  const std::string m = error_message([&] {
    CLI again(1, fake_argv, opts(quick_run({"fit", "--trainer.max_epochs=1"}, root), true));
  });
  CHECK(m.find("SaveConfigCallback expected " + path +
               " to NOT exist. Aborting to avoid overwriting results of a "
               "previous run.") != std::string::npos);
  CHECK(m.find("overwrite") != std::string::npos);
  CHECK(parse_yaml(read_text(path)) == saved);  // untouched
  // overwrite=true replaces it.
  L::CLIOptions o = opts(quick_run({"fit", "--trainer.max_epochs=1", "--model.lr=0.05"}, root), true);
  o.save_config_kwargs = {.overwrite = true};
  CLI third(1, fake_argv, std::move(o));
  CHECK(third.trainer().global_step() == 5);
  CHECK(parse_yaml(read_text(path)).at("model").at("lr") == Value(0.05));
  // Another file name, and no callback at all.
  L::CLIOptions named = opts(quick_run({"fit", "--trainer.max_epochs=1"}, root), true);
  named.save_config_kwargs = {.config_filename = "cli.yaml"};
  CLI fourth(1, fake_argv, std::move(named));
  CHECK(fs::is_regular_file(root + "/cli.yaml"));
  L::CLIOptions off = opts(quick_run({"fit", "--trainer.max_epochs=1"}, root), true);
  off.save_config_callback = false;
  CLI fifth(1, fake_argv, std::move(off));
  CHECK(fifth.trainer().global_step() == 5);
}

TEST_CASE("LightningCLI: fast_dev_run adds no SaveConfigCallback (Lightning)") {
  const std::string root = tmp_dir("fast_dev_run");
  CLI cli(1, fake_argv, opts(quick_run({"fit", "--trainer.fast_dev_run=true"}, root), true));
  CHECK(cli.trainer().global_step() == 1);
  CHECK_FALSE(fs::exists(root + "/config.yaml"));
}

TEST_CASE("LightningCLI: seed_everything true seeds 0 (Lightning 2.x's seed_everything()) and records it") {
  const std::string root = tmp_dir("seed");
  unsetenv("PL_GLOBAL_SEED");
  L::CLIOptions o = opts({"--trainer.max_epochs=1"});
  o.seed_everything_default = true;
  CLI cli(1, fake_argv, std::move(o));
  CHECK(cli.config().at("seed_everything") == Value(0));
  CHECK(std::string(std::getenv("PL_GLOBAL_SEED")) == "0");
  CLI seeded(1, fake_argv, opts({"--seed_everything=123"}));
  CHECK(std::string(std::getenv("PL_GLOBAL_SEED")) == "123");
  CHECK(std::string(std::getenv("PL_SEED_WORKERS")) == "1");
  CHECK(error_message([&] {
          CLI bad(1, fake_argv, opts({"--seed_everything=-1"}));
        }).find("-1 is not in bounds, numpy accepts from 0 to 4294967295") != std::string::npos);
}

TEST_CASE("LightningCLI: run=false builds only; the program calls fit itself") {
  const std::string root = tmp_dir("run_false");
  CLI cli(1, fake_argv, opts(quick_run({"--trainer.max_epochs=1", "--data.batch_size=40"}, root)));
  CHECK(cli.trainer().global_step() == 0);
  CHECK(cli.trainer().state().fn.empty());
  CHECK_FALSE(fs::exists(root + "/config.yaml"));
  cli.trainer().fit(cli.model(), cli.datamodule());
  CHECK(cli.trainer().global_step() == 2);  // 80 / 40
  // The SaveConfigCallback is in the Trainer: it wrote the config at setup.
  REQUIRE(fs::is_regular_file(root + "/config.yaml"));
  CHECK(parse_yaml(read_text(root + "/config.yaml")) == cli.config());
}

TEST_CASE("LightningCLI: --trainer.limit_train_batches=2 counts batches, =0.5 is a fraction (Lightning)") {
  const std::string root = tmp_dir("limits");
  auto steps = [&](const std::string& limit) {
    L::CLIOptions o = opts(quick_run({"fit", "--trainer.max_epochs=1", "--trainer.limit_train_batches=" + limit,
                                      "--trainer.limit_val_batches=0"},
                                     root),
                           true);
    o.save_config_callback = false;
    CLI cli(1, fake_argv, std::move(o));
    return cli.trainer().global_step();
  };
  // 5 batches per epoch: an int is a count, a float int(5 * f) batches (Lightning's rule).
  CHECK(steps("3") == 3);
  CHECK(steps("0.5") == 2);
  CHECK(steps("1") == 1);    // the int 1 is one batch...
  CHECK(steps("1.0") == 5);  // ...and 1.0 the whole loader
  CHECK(steps("0.99") == 4);
}

TEST_CASE("LightningCLI: validate/test/predict subcommands, ckpt_path, default_subcommands") {
  const std::string root = tmp_dir("subcommands");
  std::string ckpt;
  {
    L::CLIOptions o = opts(quick_run({"fit", "--trainer.max_epochs=3", "--model.lr=0.05"}, root), true);
    o.save_config_callback = false;
    CLI fit(1, fake_argv, std::move(o));
    ckpt = root + "/trained.ckpt";
    fit.trainer().save_checkpoint(ckpt);
  }
  // test --ckpt_path: the weights from the checkpoint, not the fresh model's; and the model is
  // built from the checkpoint's hyper_parameters, which win over --model.lr (Lightning's
  // _parse_ckpt_path).
  L::CLIOptions o = opts(quick_run({"test", "--model.lr=0.9", "--ckpt_path", ckpt, "--verbose=false"}, root), true);
  o.save_config_callback = false;
  CLI from_ckpt(1, fake_argv, std::move(o));
  REQUIRE(from_ckpt.results().size() == 1);
  CHECK(from_ckpt.model().hparam<double>("lr") == 0.05);
  CHECK(from_ckpt.config().at("model").at("lr") == Value(0.05));
  L::CLIOptions o_fresh = opts(quick_run({"validate", "--verbose=false"}, root), true);
  o_fresh.save_config_callback = false;
  CLI fresh(1, fake_argv, std::move(o_fresh));
  REQUIRE(fresh.results().size() == 1);
  CHECK(fresh.trainer().state().fn == "validate");
  CHECK(from_ckpt.trainer().state().fn == "test");
  // Three epochs of SGD bring the loss well below the initial model's (a fixed seed: 0).
  CHECK(from_ckpt.results()[0].at("test_loss") < fresh.results()[0].at("val_loss"));

  L::CLIOptions op = opts(quick_run({"predict"}, root), true);
  op.save_config_callback = false;
  CLI predict(1, fake_argv, std::move(op));
  CHECK(predict.predictions().size() == 2);  // 80 / 40
  // predict --ckpt_path: the trained weights' outputs (the checkpoint's weights, whatever the
  // fresh model drew).
  L::CLIOptions opc = opts(quick_run({"predict", "--ckpt_path=" + ckpt}, root), true);
  opc.save_config_callback = false;
  CLI predict_ckpt(1, fake_argv, std::move(opc));
  REQUIRE(predict_ckpt.predictions().size() == 2);
  L::CLIOptions opc2 = opts(quick_run({"predict", "--ckpt_path=" + ckpt}, root), true);
  opc2.save_config_callback = false;
  manual_seed(12345);  // another initialization of the fresh model
  CLI predict_ckpt2(1, fake_argv, std::move(opc2));
  CHECK(equal(predict_ckpt.predictions()[0], predict_ckpt2.predictions()[0]));
  CHECK_FALSE(equal(predict.predictions()[0], predict_ckpt.predictions()[0]));

  // No subcommand with default_subcommands {fit, test}: fit, then test on the trained weights.
  L::CLIOptions od = opts(quick_run({"--trainer.max_epochs=1", "--verbose=false"}, root), true);
  od.default_subcommands = {"fit", "test"};
  od.save_config_callback = false;
  CLI both(1, fake_argv, std::move(od));
  CHECK(both.subcommand() == "fit");
  CHECK(both.trainer().global_step() == 5);
  CHECK(both.trainer().state().fn == "test");
  REQUIRE(both.results().size() == 1);
  CHECK(both.results()[0].count("test_loss") == 1);
}

TEST_CASE("LightningCLI: with the default logger, config.yaml goes to the logger's version folder") {
  const std::string root = tmp_dir("logger");
  const std::vector<std::string> args = {"fit",
                                         "--trainer.max_epochs=1",
                                         "--trainer.enable_progress_bar=false",
                                         "--trainer.enable_model_summary=false",
                                         "--trainer.enable_checkpointing=false",
                                         "--trainer.default_root_dir=" + root};
  CLI first(1, fake_argv, opts(args, true));
  REQUIRE(first.trainer().logger() != nullptr);  // Lightning's logger=True: TensorBoardLogger
  // Trainer.log_dir is the logger's: <root>/lightning_logs/version_0.
  CHECK(first.trainer().log_dir() == (fs::path(root) / "lightning_logs" / "version_0").string());
  CHECK(fs::is_regular_file(first.trainer().log_dir() + "/config.yaml"));
  // A second run gets version_1, so there is nothing to refuse.
  CLI second(1, fake_argv, opts(args, true));
  CHECK(second.trainer().log_dir() == (fs::path(root) / "lightning_logs" / "version_1").string());
  CHECK(fs::is_regular_file(second.trainer().log_dir() + "/config.yaml"));
}

namespace {
// An argument without a default: the CLI cannot learn its type.
class NeedsWidth : public L::LightningModule {
 public:
  explicit NeedsWidth(L::HParams hp = {}) : L::LightningModule(hp) { (void)hparam<int64_t>("width"); }
};
// No arguments at all.
class Plain : public L::LightningModule {
 public:
  explicit Plain(L::HParams hp = {}) : L::LightningModule(std::move(hp)) {}
};
}  // namespace

TEST_CASE("LightningCLI: models whose arguments cannot be learned, or that have none") {
  std::string m = error_message([] { L::LightningCLI<NeedsWidth> cli(1, fake_argv, opts({})); });
  CHECK(m.find("constructing the model/datamodule from empty L::HParams") != std::string::npos);
  CHECK(m.find("width") != std::string::npos);
  CHECK(m.find("with_defaults") != std::string::npos);
  m = error_message([] { L::LightningCLI<Plain> cli(1, fake_argv, opts({"--model.lr=1"})); });
  CHECK(m.find("Unrecognized arguments: --model.lr=1") != std::string::npos);
  CHECK(m.find("(none: its default hparams are empty)") != std::string::npos);
  // Without a DataModule type there is no data group.
  m = error_message([] { L::LightningCLI<Plain> cli(1, fake_argv, opts({"--data.batch_size=2"})); });
  CHECK(m.find("Unrecognized arguments: --data.batch_size=2") != std::string::npos);
  L::LightningCLI<Plain> plain(1, fake_argv, opts({"--trainer.max_steps=3"}));
  CHECK_FALSE(plain.config().contains("data"));
  CHECK(plain.trainer().options().max_steps == 3);
}

namespace {
struct CountSetups : L::Callback {
  void setup(L::Trainer&, L::LightningModule&, const std::string& stage) override { stages.push_back(stage); }
  std::vector<std::string> stages;
};
}  // namespace

TEST_CASE("LightningCLI: trainer_defaults' callbacks and logger objects always reach the Trainer") {
  const std::string root = tmp_dir("defaults_objects");
  auto counter = std::make_shared<CountSetups>();
  auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = root, .name = "csv"});
  L::CLIOptions o = opts({"fit", "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false",
                          "--trainer.enable_model_summary=false", "--trainer.enable_checkpointing=false"},
                         true);
  o.trainer_defaults = {.callbacks = {counter}, .logger = csv, .default_root_dir = root};
  CLI cli(1, fake_argv, std::move(o));
  CHECK(counter->stages == std::vector<std::string>{"fit"});
  // The config shows the logger as `true`, and the CSVLogger stays (not the default logger).
  CHECK(cli.config().at("trainer").at("logger") == Value(true));
  REQUIRE(cli.trainer().loggers().size() == 1);
  CHECK(cli.trainer().logger() == csv.get());
  CHECK(cli.trainer().log_dir() == (fs::path(root) / "csv" / "version_0").string());
  CHECK(fs::is_regular_file(cli.trainer().log_dir() + "/config.yaml"));
  // Both the given callback and the CLI's SaveConfigCallback are the Trainer's.
  const auto& callbacks = cli.trainer().callbacks();
  CHECK(std::find(callbacks.begin(), callbacks.end(), counter) != callbacks.end());
  CHECK(std::count_if(callbacks.begin(), callbacks.end(),
                      [](const auto& c) { return c->state_key() == "SaveConfigCallback"; }) == 1);
  // --trainer.logger=false still turns logging off.
  L::CLIOptions off = opts({"--trainer.logger=false"});
  off.trainer_defaults = {.logger = csv};
  CLI no_logger(1, fake_argv, std::move(off));
  CHECK(no_logger.trainer().loggers().empty());
}
