// Trainer checkpoints: Lightning's keys, readable back through fulgur::load; resuming with
// fit(..., {.ckpt_path}) at an epoch end and mid-epoch gives the parameters and optimizer state
// of the uninterrupted run, bit for bit; L::load_from_checkpoint with overrides, map_location
// and strict, configure_model, and the device tensors were saved from.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fulgur/serialize/zip_reader.h"
#include "fulgur/serialize/zip_writer.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

// The default ModelCheckpoint (and logger) of Trainers without default_root_dir write into the
// current directory: make it this test's temp dir.
[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

std::shared_ptr<data::TensorDataset> dataset() { return fulgur::testing::regression_data(16); }

class Model : public L::LightningModule {
 public:
  explicit Model(L::HParams hp = {}) : L::LightningModule(hp.with_defaults({{"lr", 0.05}, {"hidden", 4}})) {
    save_hyperparameters();
    net = register_module("net", nn::Sequential(nn::Linear(3, hparam<int>("hidden")), nn::ReLU(),
                                                nn::Linear(hparam<int>("hidden"), 1)));
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::Adam>(parameters(), optim::AdamOptions{.lr = hparam<double>("lr")});
    return {opt,
            {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1, .gamma = 0.9})}};
  }
  void on_save_checkpoint(Value& ck) override { ck.set("model_extra", 42); }
  std::shared_ptr<nn::Sequential> net;
};

// Model plus a head the checkpoints of Model do not have (for strict=false).
class ModelWithHead : public Model {
 public:
  explicit ModelWithHead(L::HParams hp = {}) : Model(std::move(hp)) {
    head = register_module("head", nn::Linear(1, 1));
  }
  std::shared_ptr<nn::Linear> head;
};

// Saves a checkpoint when global_step reaches `at` (in on_train_batch_end: mid-epoch).
struct SaveAt : L::Callback {
  SaveAt(int64_t at, std::string path) : at(at), path(std::move(path)) {}
  void on_train_batch_end(L::Trainer& t, L::LightningModule&, const Value&, const L::Batch&, int64_t) override {
    if (t.global_step() == at) t.save_checkpoint(path);
  }
  std::string state_key() const override { return "SaveAt"; }
  Value state_dict() const override { return Value::dict({{"at", at}}); }
  void load_state_dict(const Value& s) override { loaded = s.at("at").as_int(); }
  int64_t at;
  std::string path;
  int64_t loaded = -1;
};

std::vector<float> flat_params(nn::Module& m) {
  std::vector<float> out;
  for (const Tensor& p : m.parameters()) {
    for (float v : p.to_vector<float>()) out.push_back(v);
  }
  return out;
}

std::vector<float> flat_adam_state(L::Trainer& t) {
  std::vector<float> out;
  const Value state = t.optimizers()[0]->state_dict();  // kept alive: the loop reads into it
  for (const Value::Item& item : state.at("state").items()) {
    for (const char* key : {"exp_avg", "exp_avg_sq"}) {
      for (float v : item.second.at(key).as_tensor().to_vector<float>()) out.push_back(v);
    }
  }
  return out;
}

// Bazel's per-test directory when there is one, so concurrent runs do not share files.
std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path base = dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
  return (base / ("fulgur_trainer_" + name)).string();
}

}  // namespace

TEST_CASE("checkpoint: Lightning's keys, hooks and values") {
  auto ds = dataset();
  Model model;
  auto cb = std::make_shared<SaveAt>(-1, "");
  L::Trainer trainer({.callbacks = {cb}, .max_epochs = 2, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  const std::string path = temp_path("keys.ckpt");
  trainer.save_checkpoint(path);
  const Value ck = fulgur::load(path);
  for (const char* key : {"epoch", "global_step", "pytorch-lightning_version", "fulgur_version", "state_dict", "loops",
                          "callbacks", "optimizer_states", "lr_schedulers", "hparams_name", "hyper_parameters"}) {
    CAPTURE(key);
    CHECK(ck.contains(key));
  }
  CHECK(ck.at("epoch").as_int() == 2);
  CHECK(ck.at("global_step").as_int() == 8);
  CHECK(ck.at("model_extra").as_int() == 42);  // on_save_checkpoint
  CHECK(ck.at("hyper_parameters").at("hidden").as_int() == 4);
  CHECK(ck.at("callbacks").at("SaveAt").at("at").as_int() == -1);
  CHECK(ck.at("optimizer_states").size() == 1);
  CHECK(ck.at("lr_schedulers")[0].at("last_epoch").as_int() == 2);
  CHECK(ck.at("state_dict").keys().size() == 4);
  CHECK(ck.at("state_dict").at("net.0.weight").as_tensor().size(0) == 4);

  // Weights only: no training state.
  const std::string weights = temp_path("weights.ckpt");
  trainer.save_checkpoint(weights, true);
  CHECK_FALSE(fulgur::load(weights).contains("optimizer_states"));

  // load_from_checkpoint rebuilds from the saved hparams, with overrides.
  auto loaded = L::load_from_checkpoint<Model>(path, {{"lr", 1e-4}});
  CHECK(loaded->hparam<double>("lr") == 1e-4);
  CHECK(loaded->hparam<int>("hidden") == 4);
  CHECK(flat_params(*loaded) == flat_params(model));

  // Lightning's map_location and strict.
  auto on_cpu = L::load_from_checkpoint<Model>(path, {}, {.map_location = kCPU});
  CHECK(on_cpu->net->parameters()[0].device() == kCPU);
  CHECK(flat_params(*on_cpu) == flat_params(model));
  CHECK_THROWS_WITH_AS(L::load_from_checkpoint<ModelWithHead>(path), doctest::Contains("head.weight"), Error);
  manual_seed(11);
  const std::vector<float> fresh_head = ModelWithHead().head->parameter("weight").to_vector<float>();
  manual_seed(11);
  std::shared_ptr<ModelWithHead> partial;
  const std::string warnings = fulgur::testing::captured_stderr(
      [&] { partial = L::load_from_checkpoint<ModelWithHead>(path, {}, {.strict = false}); });
  // Lightning's warning, the keys as a Python list.
  CHECK(warnings == "warning: Found keys that are in the model state dict but not in the checkpoint: "
                    "['head.weight', 'head.bias']\n");
  CHECK(partial->head->parameter("weight").to_vector<float>() == fresh_head);
  std::vector<float> body;
  for (const Tensor& p : partial->net->parameters()) {
    for (float v : p.to_vector<float>()) body.push_back(v);
  }
  CHECK(body == flat_params(model));  // the saved layers loaded; the head keeps its initial values
  std::filesystem::remove(path);
  std::filesystem::remove(weights);
}

TEST_CASE("checkpoint: without save_hyperparameters() there are no hyper_parameters to rebuild from") {
  // Model with its HParams given to the base class but never saved (Lightning: the
  // constructor's arguments are recorded only by save_hyperparameters()).
  class Unsaved : public L::LightningModule {
   public:
    explicit Unsaved(L::HParams hp = {}) : L::LightningModule(hp.with_defaults({{"hidden", 2}})) {
      net = register_module("net", nn::Linear(3, hparam<int>("hidden")));
    }
    Tensor forward(const Tensor& x) override { return (*net)(x); }
    L::StepOutput training_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      return F::mse_loss(forward(x).sum(1, true), y);
    }
    L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
    std::shared_ptr<nn::Linear> net;
  };
  Unsaved model({{"hidden", 5}});
  L::Trainer trainer({.max_epochs = 1, .enable_checkpointing = false, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4}));
  const std::string path = temp_path("unsaved.ckpt");
  trainer.save_checkpoint(path);
  const Value ck = fulgur::load(path);
  CHECK_FALSE(ck.contains("hyper_parameters"));
  CHECK_FALSE(ck.contains("hparams_name"));
  // So load_from_checkpoint builds with the defaults (hidden 2) and the weights (hidden 5) do
  // not fit, as in Lightning; passing the value again rebuilds it.
  CHECK_THROWS_AS(L::load_from_checkpoint<Unsaved>(path), Error);
  auto loaded = L::load_from_checkpoint<Unsaved>(path, {{"hidden", 5}});
  CHECK(loaded->net->parameter("weight").to_vector<float>() == model.net->parameter("weight").to_vector<float>());
  std::filesystem::remove(path);
}

namespace {

// `model` trained one epoch on dataset(), then saved as `name` in the temp dir; the file's path.
std::string fit_and_save(L::LightningModule& model, const std::string& name) {
  L::Trainer trainer({.max_epochs = 1, .enable_checkpointing = false, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4}));
  const std::string path = temp_path(name);
  trainer.save_checkpoint(path);
  return path;
}

// The checkpoint at `path` rewritten as if its tensors had been saved from cuda:0: each
// storage's location 'cpu' in data.pkl (a BINUNICODE string) becomes 'cuda:0'.
std::string as_saved_from_cuda(const std::string& path) {
  const serialize::ZipReader zip(path);
  const std::string cpu = std::string("X\x03\0\0\0", 5) + "cpu";
  const std::string cuda = std::string("X\x06\0\0\0", 5) + "cuda:0";
  std::string out;
  serialize::ZipWriter writer([&](const void* d, size_t n) { out.append(static_cast<const char*>(d), n); });
  int relocated = 0;
  for (const serialize::ZipEntry& e : zip.entries()) {
    const std::vector<uint8_t> bytes = zip.read(e);
    std::string data(bytes.begin(), bytes.end());
    if (e.name.ends_with("data.pkl")) {
      for (size_t at = data.find(cpu); at != std::string::npos; at = data.find(cpu, at + cuda.size())) {
        data.replace(at, cpu.size(), cuda);
        ++relocated;
      }
    }
    writer.add(e.name, data);
  }
  writer.finish();
  REQUIRE(relocated > 0);
  const std::string relocated_path = path + ".cuda";
  std::ofstream(relocated_path, std::ios::binary) << out;
  return relocated_path;
}

}  // namespace

TEST_CASE("load_from_checkpoint: tensors go back to the device they were saved from where it exists") {
  Model model;
  const std::string path = fit_and_save(model, "device.ckpt");
  const std::string from_gpu = as_saved_from_cuda(path);
  // torch.load asks map_location about each storage's saved location.
  std::vector<std::string> locations;
  (void)fulgur::load(from_gpu, [&](const std::string& location) {
    locations.push_back(location);
    return kCPU;
  });
  REQUIRE_FALSE(locations.empty());
  for (const std::string& l : locations) CHECK(l == "cuda:0");
  // Lightning's default: back on cuda:0 where the CUDA accelerator has it, else on the CPU
  // (this machine without a GPU), with the same values.
  const Device here = L::CUDAAccelerator().is_available() ? Device::cuda(0) : kCPU;
  auto loaded = L::load_from_checkpoint<Model>(from_gpu);
  for (const Tensor& p : loaded->parameters()) CHECK(p.device() == here);
  CHECK(flat_params(*loaded) == flat_params(model));
  // A checkpoint saved from the CPU stays there.
  for (const Tensor& p : L::load_from_checkpoint<Model>(path)->parameters()) CHECK(p.device() == kCPU);
  std::filesystem::remove(path);
  std::filesystem::remove(from_gpu);
}

TEST_CASE("load_from_checkpoint: configure_model runs before on_load_checkpoint, as in Lightning") {
  // Layers built in configure_model (idempotent: the Trainer calls it again).
  class Deferred : public L::LightningModule {
   public:
    explicit Deferred(L::HParams hp = {}) : L::LightningModule(std::move(hp)) { save_hyperparameters(); }
    void configure_model() override {
      calls.push_back("configure_model");
      if (!net) net = register_module("net", nn::Linear(3, 1));
    }
    void on_load_checkpoint(const Value&) override { calls.push_back("on_load_checkpoint"); }
    Tensor forward(const Tensor& x) override { return (*net)(x); }
    L::StepOutput training_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      return F::mse_loss(forward(x), y);
    }
    L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.05}); }
    std::shared_ptr<nn::Linear> net;
    std::vector<std::string> calls;
  };
  Deferred model;
  const std::string path = fit_and_save(model, "deferred.ckpt");
  auto loaded = L::load_from_checkpoint<Deferred>(path);
  CHECK(loaded->calls == std::vector<std::string>{"configure_model", "on_load_checkpoint"});
  CHECK(flat_params(*loaded) == flat_params(model));
  std::filesystem::remove(path);
}

TEST_CASE("load_from_checkpoint: an empty state_dict gives the module as constructed (strict=false)") {
  const std::string path = temp_path("empty_state.ckpt");
  fulgur::save(Value::dict({{"state_dict", Value::dict()}, {"hyper_parameters", Value::dict({{"hidden", 3}})}}), path);
  CHECK_THROWS_WITH_AS(L::load_from_checkpoint<Model>(path), doctest::Contains("Missing key(s)"), Error);
  manual_seed(5);
  const std::vector<float> fresh = flat_params(*std::make_shared<Model>(L::HParams{{"hidden", 3}}));
  manual_seed(5);
  std::shared_ptr<Model> loaded;
  const std::string warnings = fulgur::testing::captured_stderr(
      [&] { loaded = L::load_from_checkpoint<Model>(path, {}, {.strict = false}); });
  if (L::is_rank_zero()) {  // (a warning printed by rank 0 only)
    CHECK(fulgur::testing::contains(warnings, "warning: The state dict in '" + path + "' contains no parameters.\n"));
  }
  CHECK(loaded->hparam<int>("hidden") == 3);
  CHECK(flat_params(*loaded) == fresh);
  std::filesystem::remove(path);
}

TEST_CASE("load_from_checkpoint: map_location as a Device, a dict of locations, or a function") {
  Model model;
  const std::string path = fit_and_save(model, "map_location.ckpt");
  const std::string from_gpu = as_saved_from_cuda(path);
  const auto on_cpu = [&](const L::LoadFromCheckpointOptions& options) {
    auto loaded = L::load_from_checkpoint<Model>(from_gpu, {}, options);
    for (const Tensor& p : loaded->parameters()) CHECK(p.device() == kCPU);
    CHECK(flat_params(*loaded) == flat_params(model));
  };
  on_cpu({.map_location = kCPU});
  on_cpu({.map_location = std::map<std::string, std::string>{{"cuda:0", "cpu"}}});
  std::vector<std::string> asked;
  on_cpu({.map_location = [&](const std::string& location) {
            asked.push_back(location);
            return kCPU;
          }});
  CHECK_FALSE(asked.empty());
  for (const std::string& l : asked) CHECK(l == "cuda:0");
  // A dict value that is not a device is an error naming it.
  CHECK_THROWS_WITH_AS(L::load_from_checkpoint<Model>(from_gpu, {}, {.map_location = std::map<std::string, std::string>{
                                                                         {"cuda:0", "tpu"}}}),
                       doctest::Contains("tpu"), Error);
  std::filesystem::remove(path);
  std::filesystem::remove(from_gpu);
}

TEST_CASE("load_from_checkpoint: hparams_file (.yaml, .csv) replaces the saved hyper_parameters") {
  Model model({{"lr", 0.05}, {"hidden", 4}});
  const std::string path = fit_and_save(model, "hparams_file.ckpt");
  const std::string yaml = temp_path("hparams.yaml");
  std::ofstream(yaml) << "lr: 0.2\nhidden: 4\nnote: from yaml\n";
  auto from_yaml = L::load_from_checkpoint<Model>(path, {}, {.hparams_file = yaml});
  CHECK(from_yaml->hparam<double>("lr") == 0.2);
  CHECK(from_yaml->hparam<std::string>("note") == "from yaml");
  CHECK(flat_params(*from_yaml) == flat_params(model));
  // Lightning's tags.csv: a header, then key,value rows whose values go through
  // ast.literal_eval (saving.convert), the text itself where that fails; overrides win.
  const std::string csv = temp_path("tags.csv");
  std::ofstream(csv) << "key,value\r\nlr,0.3\r\nhidden,4\r\nflag,True\r\nloud,TRUE\r\nname,\"a,\"\"b\"\"\"\r\n"
                        "layers,\"[64, 32]\"\r\nsteps,1_000\r\nnothing,None\r\nact,relu\r\n"
                        "mid,a\"b\r\nafter,\"ab\"c\"d\"\r\n";  // quotes that open no field, text after one
  auto from_csv = L::load_from_checkpoint<Model>(path, {{"lr", 0.4}}, {.hparams_file = csv});
  const Value hp = from_csv->hparams().to_value();
  CHECK(hp.at("lr").as_double() == 0.4);
  CHECK(hp.at("hidden").is_int());
  CHECK(hp.at("hidden").as_int() == 4);
  CHECK(hp.at("flag").as_bool() == true);
  CHECK(hp.at("loud").as_string() == "TRUE");  // not a Python literal
  CHECK(hp.at("name").as_string() == "a,\"b\"");
  CHECK(hp.at("layers") == Value::list({64, 32}));
  CHECK(hp.at("steps").as_int() == 1000);
  CHECK(hp.at("nothing").is_none());
  CHECK(hp.at("act").as_string() == "relu");
  CHECK(hp.at("mid").as_string() == "a\"b");          // Python's csv: "a\"b"
  CHECK(hp.at("after").as_string() == "abc\"d\"");     // and 'abc"d"'
  // A missing file: Lightning's warning, and no saved hyper_parameters (the module's defaults).
  const std::string missing = temp_path("absent.yaml");
  std::shared_ptr<Model> from_missing;
  const std::string warning = fulgur::testing::captured_stderr(
      [&] { from_missing = L::load_from_checkpoint<Model>(path, {}, {.hparams_file = missing}); });
  CHECK(warning == "warning: Missing Tags: " + missing + ".\n");
  CHECK(from_missing->hparam<double>("lr") == 0.05);
  CHECK_THROWS_WITH_AS(L::load_from_checkpoint<Model>(path, {}, {.hparams_file = temp_path("hparams.json")}),
                       doctest::Contains(".csv, .yml or .yaml is required for `hparams_file`"), Error);
  for (const std::string& f : {path, yaml, csv}) std::filesystem::remove(f);
}

TEST_CASE("strict_loading: the module decides how the Trainer and load_from_checkpoint load it") {
  // A module that saves and loads only part of itself (here: the checkpoints lack its head).
  class LooseHead : public ModelWithHead {
   public:
    explicit LooseHead(L::HParams hp = {}) : ModelWithHead(std::move(hp)) { strict_loading(false); }
  };
  Model model;
  const std::string path = fit_and_save(model, "strict_loading.ckpt");
  CHECK(ModelWithHead().strict_loading());
  // load_from_checkpoint takes the module's strict_loading when strict is not given, and
  // refuses a strict= that contradicts it, with Lightning's message.
  auto loose = L::load_from_checkpoint<LooseHead>(path);
  CHECK(flat_params(*loose->net) == flat_params(model));
  (void)L::load_from_checkpoint<LooseHead>(path, {}, {.strict = false});
  CHECK_THROWS_WITH_AS(L::load_from_checkpoint<LooseHead>(path, {}, {.strict = true}),
                       doctest::Contains("You set `.load_from_checkpoint(..., strict=True)` which is in conflict with "
                                         "`LooseHead.strict_loading=False. Please set the same value for both of them."),
                       Error);
  // The Trainer's ckpt_path restore too: the strict module refuses the checkpoint, the loose one
  // takes the layers it has.
  L::Trainer predictor({.enable_progress_bar = false, .enable_model_summary = false});
  ModelWithHead strict_module;
  CHECK_THROWS_WITH_AS(predictor.predict(strict_module, data::DataLoader(dataset(), {.batch_size = 4}),
                                         {.ckpt_path = path}),
                       doctest::Contains("head.weight"), Error);
  LooseHead loose_module;
  (void)predictor.predict(loose_module, data::DataLoader(dataset(), {.batch_size = 4}), {.ckpt_path = path});
  CHECK(flat_params(*loose_module.net) == flat_params(model));
  std::filesystem::remove(path);
}

TEST_CASE("checkpoint: resume at an epoch end and mid-epoch equals the uninterrupted run bit for bit") {
  auto ds = dataset();
  for (const bool shuffle : {false, true}) {
    CAPTURE(shuffle);
    manual_seed(7);
    Model straight;
    data::DataLoader straight_dl(ds, {.batch_size = 4, .shuffle = shuffle});
    L::Trainer full({.max_epochs = 4, .enable_progress_bar = false});
    full.fit(straight, straight_dl);
    CHECK(full.global_step() == 16);

    for (const int64_t at : {8, 6}) {  // the last batch of epoch 1, and mid-epoch 1
      CAPTURE(at);
      const std::string path = temp_path("resume_" + std::to_string(at) + ".ckpt");
      manual_seed(7);
      Model first;
      data::DataLoader first_dl(ds, {.batch_size = 4, .shuffle = shuffle});
      L::Trainer part({.callbacks = {std::make_shared<SaveAt>(at, path)}, .max_epochs = 4,
                       .enable_progress_bar = false});
      part.fit(first, first_dl);

      manual_seed(123);  // a different start: everything must come from the checkpoint
      Model resumed;
      data::DataLoader resumed_dl(ds, {.batch_size = 4, .shuffle = shuffle});
      auto cb = std::make_shared<SaveAt>(-1, "");
      L::Trainer rest({.callbacks = {cb}, .max_epochs = 4, .enable_progress_bar = false});
      rest.fit(resumed, resumed_dl, {}, {.ckpt_path = path});
      CHECK(cb->loaded == at);  // the callback state came back
      CHECK(rest.global_step() == 16);
      CHECK(rest.current_epoch() == 4);
      // Both saves happen in on_train_batch_end, so they carry the loader's state (its
      // generators too): the shuffled order of later epochs comes back as well.
      CHECK(flat_params(resumed) == flat_params(straight));
      CHECK(flat_adam_state(rest) == flat_adam_state(full));
      std::filesystem::remove(path);
    }
  }
}

namespace {
// Saves in on_train_epoch_end of `epoch`, where ModelCheckpoint saves by default.
struct SaveAtEpochEnd : L::Callback {
  SaveAtEpochEnd(int64_t epoch, std::string path) : epoch(epoch), path(std::move(path)) {}
  void on_train_epoch_end(L::Trainer& t, L::LightningModule&) override {
    if (t.current_epoch() == epoch) t.save_checkpoint(path);
  }
  int64_t epoch;
  std::string path;
};
}  // namespace

TEST_CASE("checkpoint: resume from on_train_epoch_end and from after fit (no shuffling)") {
  auto ds = dataset();
  manual_seed(7);
  Model straight;
  L::Trainer full({.max_epochs = 4, .enable_progress_bar = false});
  full.fit(straight, data::DataLoader(ds, {.batch_size = 4}));
  for (const bool after_fit : {false, true}) {
    CAPTURE(after_fit);
    const std::string path = temp_path("epoch_end.ckpt");
    manual_seed(7);
    Model first;
    if (after_fit) {
      L::Trainer part({.max_epochs = 2, .enable_progress_bar = false});
      part.fit(first, data::DataLoader(ds, {.batch_size = 4}));
      part.save_checkpoint(path);
    } else {
      L::Trainer part({.callbacks = {std::make_shared<SaveAtEpochEnd>(1, path)}, .max_epochs = 4,
                       .enable_progress_bar = false});
      part.fit(first, data::DataLoader(ds, {.batch_size = 4}));
    }
    const Value ck = fulgur::load(path);
    CHECK(ck.at("epoch").as_int() == (after_fit ? 2 : 1));  // Lightning: the epoch being ended
    Model resumed;
    L::Trainer rest({.max_epochs = 4, .enable_progress_bar = false});
    rest.fit(resumed, data::DataLoader(ds, {.batch_size = 4}), {}, {.ckpt_path = path});
    CHECK(rest.global_step() == 16);
    CHECK(flat_params(resumed) == flat_params(straight));
    CHECK(flat_adam_state(rest) == flat_adam_state(full));
    std::filesystem::remove(path);
  }
}

TEST_CASE("checkpoint: ckpt_path errors") {
  auto ds = dataset();
  Model model;
  L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  // Nothing saved yet: "best" is Lightning's error, "last" its warning (and a fresh start).
  CHECK_THROWS_WITH_AS(trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), {}, {.ckpt_path = "best"}),
                       doctest::Contains("`.fit(ckpt_path=\"best\")` is set but `ModelCheckpoint` is not configured to "
                                         "save the best model."),
                       Error);
  L::Trainer no_checkpointing({.max_epochs = 1, .enable_checkpointing = false, .enable_progress_bar = false});
  no_checkpointing.fit(model, data::DataLoader(ds, {.batch_size = 4}), {}, {.ckpt_path = "last"});
  CHECK(no_checkpointing.ckpt_path().empty());
  CHECK(no_checkpointing.global_step() == 4);
  CHECK_THROWS_AS(trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), {}, {.ckpt_path = "/nonexistent.ckpt"}),
                  Error);
}

TEST_CASE("validate/test/predict with ckpt_path restore the callbacks too; weights-only checkpoints skip them") {
  // Lightning's _restore_modules_and_callbacks runs restore_callbacks in every stage;
  // _call_callbacks_on_load_checkpoint returns at once when the checkpoint has no "callbacks".
  struct CountsLoads : SaveAt {
    using SaveAt::SaveAt;
    void on_load_checkpoint(L::Trainer&, L::LightningModule&, const Value&) override { ++on_load_calls; }
    int on_load_calls = 0;
  };
  struct Evaluated : Model {
    void validation_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      log("val_loss", F::mse_loss(forward(x), y));
    }
    Tensor predict_step(const L::Batch& batch, int64_t) override { return forward(batch.tensor(0)); }
  };
  auto ds = dataset();
  const std::string full = temp_path("eval_restore_full.ckpt");
  const std::string weights = temp_path("eval_restore_weights.ckpt");
  {
    Evaluated model;
    L::Trainer trainer(fulgur::testing::quiet_options(
        {.callbacks = {std::make_shared<SaveAt>(3, full)}, .max_epochs = 1, .limit_val_batches = 0}));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    trainer.save_checkpoint(weights, /*weights_only=*/true);
  }
  for (const std::string stage : {"validate", "predict"}) {
    CAPTURE(stage);
    auto cb = std::make_shared<CountsLoads>(0, "");
    Evaluated model;
    L::Trainer trainer(fulgur::testing::quiet_options({.callbacks = {cb}}));
    if (stage == "validate") {
      trainer.validate(model, data::DataLoader(ds, {.batch_size = 8}), {.ckpt_path = full, .verbose = false});
    } else {
      trainer.predict(model, data::DataLoader(ds, {.batch_size = 8}), {.ckpt_path = full});
    }
    CHECK(cb->on_load_calls == 1);
    CHECK(cb->loaded == 3);  // SaveAt's state, saved under the same key
  }
  auto cb = std::make_shared<CountsLoads>(0, "");
  Evaluated model;
  L::Trainer trainer(fulgur::testing::quiet_options({.callbacks = {cb}}));
  trainer.validate(model, data::DataLoader(ds, {.batch_size = 8}), {.ckpt_path = weights, .verbose = false});
  CHECK(cb->on_load_calls == 0);
  CHECK(cb->loaded == -1);
}
