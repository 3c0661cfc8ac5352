// L::LightningCLI: Lightning's command line tool (lightning.pytorch.cli.LightningCLI, with
// jsonargparse's parsing rules) for a LightningModule and an optional LightningDataModule.
//
//   int main(int argc, char** argv) {
//     L::LightningCLI<LitClassifier, MNISTData> cli(argc, argv);
//     return cli.exit_code();
//   }
//
//   $ ./train fit --trainer.max_epochs=3 --model.lr=1e-3 --data.batch_size 64
//   $ ./train fit --config config.yaml --trainer.max_epochs=5    # later sources win
//   $ ./train fit --print_config > config.yaml                    # the resolved config
//   $ ./train test --ckpt_path=lightning_logs/version_0/checkpoints/last.ckpt
//   $ ./train --help ; ./train fit --help                          # generated from the options
//
// The model and datamodule take their arguments as L::HParams (`Model(L::HParams)`, applying
// their defaults with `with_defaults`): the CLI constructs a default instance to learn the
// argument names, types (from the default values: int, float, bool, str, lists, nested dicts)
// and defaults, then constructs the real one from the resolved `model:` / `data:` dicts.
// Every TrainerOptions field but callbacks is a `--trainer.NAME` (cli_trainer_options.cc).
//
// Sources, lowest precedence first (jsonargparse's): the defaults, CLIOptions::trainer_defaults,
// then the command line in order, where each `--config FILE` (YAML with the keys
// seed_everything, trainer, model, data, ckpt_path, ...) is applied where it stands, so that
// `--config a.yaml --trainer.max_epochs=3 --config b.yaml` lets b.yaml win over the flag.
//
// --help/-h and --print_config print to CLIOptions::out (stdout) and then the CLI stops:
// nothing is instantiated or run, exit_requested() is true and exit_code() is 0 (Lightning
// exits the process; here main decides). Bad arguments throw fulgur::Error with jsonargparse's
// wording ("Unrecognized arguments: ...", `Parser key "model.lr": Expected a float. Got value:
// abc`) plus the valid keys.
#pragma once

#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/cli_save_config.h"
#include "fulgur/trainer/datamodule.h"
#include "fulgur/trainer/hparams.h"
#include "fulgur/trainer/lightning_module.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

// LightningCLI's arguments, with Lightning's names and defaults where they exist.
struct CLIOptions {
  // Add a SaveConfigCallback to the Trainer (Lightning: save_config_callback=SaveConfigCallback;
  // None there is false here). Never with fast_dev_run, as in Lightning.
  bool save_config_callback = true;
  SaveConfigOptions save_config_kwargs = {};
  // The Trainer's defaults for this program: its values become the defaults the flags and
  // config files override (and that --help shows); its callbacks and logger objects are
  // always passed to the Trainer (they cannot come from a config file).
  TrainerOptions trainer_defaults = {};
  // true: seed from PL_GLOBAL_SEED, else 0 (Lightning 2.x's seed_everything()); an int: that
  // seed; false: no seeding. The seed used is written back into config()["seed_everything"].
  Value seed_everything_default = true;
  // Lightning's parser_kwargs, the parts that apply: the top of --help, the usage's program.
  std::string description = "Lightning Trainer command line tool";
  std::string prog = "";  // "" : argv[0]
  // Arguments to parse instead of argv[1:] (Lightning's args=[...]).
  std::optional<std::vector<std::string>> args = std::nullopt;
  // true: the first argument is a subcommand (fit, validate, test, predict), run after the
  // classes are built. false: no subcommand; the CLI parses and builds only, and the program
  // calls cli.trainer().fit(cli.model(), cli.datamodule()) itself (`--ckpt_path` is accepted
  // too and available as cli.ckpt_path()).
  bool run = true;
  // Fulgur's addition: the subcommands to run, in order, when the command line names none
  // (e.g. {"fit", "test"}). Empty: a missing subcommand is an error, as in Lightning.
  // --ckpt_path applies to the first one; the later ones use the weights in memory.
  std::vector<std::string> default_subcommands = {};
  // Where --help and --print_config print (std::cout when null).
  std::ostream* out = nullptr;
};

namespace detail {
struct CLISchema;
}

// The non-template part: parsing, help, config, instantiation and the subcommand run.
class LightningCLIBase {
 public:
  using ModelFactory = std::function<std::unique_ptr<LightningModule>(const HParams&)>;
  using DataFactory = std::function<std::unique_ptr<LightningDataModule>(const HParams&)>;

  LightningCLIBase(std::vector<std::string> args, CLIOptions options, ModelFactory make_model,
                   DataFactory make_data /* null: no datamodule */);
  virtual ~LightningCLIBase();
  LightningCLIBase(const LightningCLIBase&) = delete;
  LightningCLIBase& operator=(const LightningCLIBase&) = delete;

  // --help or --print_config was given: it printed, and nothing was built or run.
  bool exit_requested() const { return exit_requested_; }
  int exit_code() const { return 0; }
  // "fit", "validate", "test", "predict"; "" with run=false (with default_subcommands: the first).
  const std::string& subcommand() const { return subcommand_; }
  // The resolved config of the subcommand: seed_everything (the seed used), trainer, model,
  // data, ckpt_path, ... as --print_config prints it and SaveConfigCallback saves it.
  const Value& config() const { return config_; }
  // The --config files, in the order they were applied.
  const std::vector<std::string>& config_files() const { return config_files_; }
  // config()["ckpt_path"] as a string ("" when null).
  std::string ckpt_path() const;
  // Generated help: top level ("") or for a subcommand ("fit"; "" with run=false).
  std::string help(const std::string& subcommand = "") const;

  Trainer& trainer();
  LightningModule& lightning_module();
  bool has_datamodule() const { return static_cast<bool>(make_data_); }
  LightningDataModule& lightning_datamodule();
  // What the last validate/test subcommand returned, and predict's outputs.
  const std::vector<std::map<std::string, double>>& results() const { return results_; }
  const std::vector<Tensor>& predictions() const { return predictions_; }

 private:
  void parse(const std::vector<std::string>& args);
  void parse_subcommand_args(const std::vector<std::string>& args, size_t first);
  void apply_config_file(const std::string& path);
  void apply_checkpoint_hparams();
  void set_seed();
  void instantiate();
  void run_subcommand(const std::string& name, bool first);
  std::ostream& out() const;
  // The arguments of a subcommand ("" with run=false, or the default_subcommands' union).
  std::unique_ptr<detail::CLISchema> build_schema(const std::string& subcommand) const;

  CLIOptions options_;
  ModelFactory make_model_;
  DataFactory make_data_;
  Value model_defaults_, data_defaults_;
  std::string prog_;
  std::string subcommand_;
  std::vector<std::string> to_run_;
  std::unique_ptr<detail::CLISchema> schema_;
  Value config_;
  std::vector<std::string> config_files_;
  bool exit_requested_ = false;
  bool print_config_ = false;

  std::unique_ptr<LightningModule> model_;
  std::unique_ptr<LightningDataModule> datamodule_;
  std::unique_ptr<Trainer> trainer_;
  std::vector<std::map<std::string, double>> results_;
  std::vector<Tensor> predictions_;
};

template <typename Model, typename DataModule = void>
class LightningCLI : public LightningCLIBase {
  static_assert(std::derived_from<Model, LightningModule>, "LightningCLI: Model must derive from L::LightningModule");
  static_assert(std::constructible_from<Model, HParams>,
                "LightningCLI: the model needs a constructor taking L::HParams (see trainer/hparams.h)");
  static_assert(std::is_void_v<DataModule> || (std::derived_from<DataModule, LightningDataModule> &&
                                               std::constructible_from<DataModule, HParams>),
                "LightningCLI: the datamodule must derive from L::LightningDataModule and take L::HParams");

 public:
  LightningCLI(int argc, char** argv, CLIOptions options = {})
      : LightningCLIBase(std::vector<std::string>(argv, argv + argc), std::move(options), model_factory(),
                         data_factory()) {}

  Model& model() { return static_cast<Model&>(lightning_module()); }
  template <typename D = DataModule>
  requires(!std::is_void_v<D>) D& datamodule() { return static_cast<D&>(lightning_datamodule()); }

 private:
  static ModelFactory model_factory() {
    return [](const HParams& hp) { return std::make_unique<Model>(hp); };
  }
  static DataFactory data_factory() {
    if constexpr (std::is_void_v<DataModule>) {
      return nullptr;
    } else {
      return [](const HParams& hp) { return std::make_unique<DataModule>(hp); };
    }
  }
};

}  // namespace fulgur::lightning
