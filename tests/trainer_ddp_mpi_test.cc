// strategy="ddp" under `mpirun -np 2` (fulgur_mpi_test): every TEST_CASE runs on both ranks,
// which meet in the same collectives. Expectations come from a single-process run of the same
// model on the same data (computed on each rank, no collective), or from the rank formula.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fulgur/trainer/ddp_strategy.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;
using fulgur::testing::error_message_of;
using fulgur::testing::quiet_options;
using fulgur::testing::regression_data;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

// A small MLP (tanh hidden layer) on the 3-feature regression data, SGD with momentum.
class Mlp : public L::LightningModule {
 public:
  explicit Mlp(uint64_t seed = 1, double lr = 0.05) : lr_(lr) {
    manual_seed(seed);
    l1 = register_module("l1", nn::Linear(3, 8));
    l2 = register_module("l2", nn::Linear(8, 1));
  }
  Tensor forward(const Tensor& x) override { return (*l2)((*l1)(x).tanh()); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override {
    return optim::SGD(parameters(), {.lr = lr_, .momentum = 0.9});
  }
  std::shared_ptr<nn::Linear> l1, l2;
  double lr_;
};

// |a - b| <= 1e-6 |b| (+ a floor for values near 0), element by element.
void check_same_parameters(nn::Module& got, nn::Module& want) {
  const auto a = got.named_parameters();
  const auto b = want.named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> x = a[i].second.to_vector<double>();
    const std::vector<double> y = b[i].second.to_vector<double>();
    REQUIRE(x.size() == y.size());
    for (size_t j = 0; j < x.size(); ++j) {
      INFO(a[i].first, "[", j, "]: ddp ", x[j], " single ", y[j]);
      CHECK(std::abs(x[j] - y[j]) <= 1e-6 * std::abs(y[j]) + 1e-12);
    }
  }
}

// Every rank's copy of `s`, through a strategy's collective.
std::vector<std::string> gather(L::Trainer& trainer, const std::string& s) {
  return trainer.strategy().all_gather_strings(s);
}

std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += std::to_string(x) + ",";
  return s;
}

L::TrainerOptions ddp(L::TrainerOptions o = {}) {
  o = quiet_options(std::move(o));
  o.strategy = "ddp";
  o.precision = "64-true";
  o.limit_val_batches = 0;
  return o;
}

}  // namespace

TEST_CASE("ddp: 2 ranks x batch B train like 1 process x batch 2B (same data order)") {
  unsetenv("PL_GLOBAL_SEED");
  auto ds = regression_data(32);
  SUBCASE("sequential order, 2 epochs") {
    Mlp model, reference;
    L::Trainer trainer(ddp({.max_epochs = 2}));
    CHECK(trainer.world_size() == 2);
    CHECK(trainer.strategy().name() == "ddp");
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(trainer.num_training_batches() == 4);  // 32 samples / 2 ranks / 4
    CHECK(trainer.global_step() == 8);
    L::Trainer single(quiet_options({.max_epochs = 2, .precision = "64-true", .limit_val_batches = 0}));
    single.fit(reference, data::DataLoader(ds, {.batch_size = 8}));
    check_same_parameters(model, reference);
    // And the ranks agree bit for bit.
    const auto all = gather(trainer, join(model.l1->parameter("weight").to_vector<double>()));
    CHECK(all[0] == all[1]);
  }
  SUBCASE("shuffled: the DistributedSampler's permutation (seed + epoch), 3 epochs") {
    Mlp model, reference;
    L::Trainer trainer(ddp({.max_epochs = 3}));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4, .shuffle = true}));
    // One process reading the same global order: a DistributedSampler of one replica, which
    // the Trainer also moves to the next epoch.
    auto sampler = std::make_shared<data::DistributedSampler>(
        32, data::DistributedSamplerOptions{.num_replicas = 1, .rank = 0, .shuffle = true, .seed = 0});
    L::Trainer single(quiet_options({.max_epochs = 3, .precision = "64-true", .limit_val_batches = 0}));
    single.fit(reference, data::DataLoader(ds, {.batch_size = 8, .sampler = sampler}));
    CHECK(sampler->epoch() == 2);
    check_same_parameters(model, reference);
  }
  SUBCASE("gradient accumulation: 2 micro-batches of 2 per rank = 2 of 4 in one process") {
    Mlp model, reference;
    L::Trainer trainer(ddp({.max_epochs = 1, .accumulate_grad_batches = 2}));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    CHECK(trainer.global_step() == 4);
    L::Trainer single(quiet_options(
        {.max_epochs = 1, .precision = "64-true", .limit_val_batches = 0, .accumulate_grad_batches = 2}));
    single.fit(reference, data::DataLoader(ds, {.batch_size = 4}));
    check_same_parameters(model, reference);
  }
  SUBCASE("gradient clipping applies to the averaged gradient") {
    Mlp model, reference;
    L::Trainer trainer(ddp({.max_epochs = 1, .gradient_clip_val = 0.05}));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    L::Trainer single(quiet_options(
        {.max_epochs = 1, .precision = "64-true", .limit_val_batches = 0, .gradient_clip_val = 0.05}));
    single.fit(reference, data::DataLoader(ds, {.batch_size = 8}));
    check_same_parameters(model, reference);
  }
}

TEST_CASE("ddp: every rank starts from rank 0's parameters") {
  auto ds = regression_data(8);
  L::Trainer probe(ddp({.max_epochs = 1}));
  const int64_t rank = probe.global_rank();
  Mlp model(/*seed=*/100 + rank, /*lr=*/0.0);  // different weights on each rank, no learning
  Mlp rank0(/*seed=*/100, 0.0);
  probe.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  check_same_parameters(model, rank0);
}

TEST_CASE("ddp: DistributedSampler shares are disjoint and complete; padding as PyTorch's") {
  for (int64_t n : {10, 11}) {
    CAPTURE(n);
    // Each sample is its own index; training_step records what this rank saw.
    struct Recorder : Mlp {
      L::StepOutput training_step(const L::Batch& batch, int64_t) override {
        for (double v : batch.tensor(0).to_vector<double>()) seen.push_back(static_cast<int64_t>(v));
        return forward(zeros({1, 3}, {.dtype = DType::Float64})).sum() * 0.0;
      }
      std::vector<int64_t> seen;
    };
    auto ds = std::make_shared<data::TensorDataset>(arange(n).to(DType::Float64));
    Recorder model;
    L::Trainer trainer(ddp({.max_epochs = 1}));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2, .shuffle = true}));
    std::string mine;
    for (int64_t i : model.seen) mine += std::to_string(i) + " ";
    const auto all = gather(trainer, mine);
    std::vector<int64_t> r0, r1;
    for (auto [s, out] : {std::pair{all[0], &r0}, std::pair{all[1], &r1}}) {
      std::istringstream in(s);
      for (int64_t v; in >> v;) out->push_back(v);
    }
    // ceil(n / 2) each; the union is everything.
    CHECK(r0.size() == static_cast<size_t>((n + 1) / 2));
    CHECK(r1.size() == r0.size());
    std::set<int64_t> both(r0.begin(), r0.end());
    both.insert(r1.begin(), r1.end());
    CHECK(both.size() == static_cast<size_t>(n));
    // Overlap: none when n is even; with n = 11 the padding repeats the first index of the
    // permutation on the last rank (PyTorch: indices += indices[:padding_size]).
    std::vector<int64_t> common;
    std::set<int64_t> s0(r0.begin(), r0.end()), s1(r1.begin(), r1.end());
    std::set_intersection(s0.begin(), s0.end(), s1.begin(), s1.end(), std::back_inserter(common));
    CHECK(common.size() == (n % 2 == 0 ? 0u : 1u));
    if (n % 2 == 1) CHECK(r1.back() == r0.front());
  }
}

namespace {

// Logs rank-dependent values: rank r logs r + 1 (and 10 * (r + 1) without sync).
class RankLogger : public Mlp {
 public:
  L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
    const double r = static_cast<double>(trainer().global_rank());
    log("mean", r + 1, {.on_step = true, .on_epoch = true, .sync_dist = true});
    log("sum", r + 1, {.on_step = false, .on_epoch = true, .reduce_fx = "sum", .sync_dist = true});
    log("max", r + 1, {.on_epoch = true, .reduce_fx = "max", .sync_dist = true});
    log("min", r + 1, {.on_epoch = true, .reduce_fx = "min", .sync_dist = true});
    log("local", 10 * (r + 1), {.on_epoch = true});
    // Batch sizes differ per rank (rank 1's batches weigh 3x): the synced epoch mean is
    // sum(value * size) / sum(size) over both ranks.
    log("weighted", r + 1, {.on_step = false, .on_epoch = true, .sync_dist = true,
                            .batch_size = trainer().global_rank() == 0 ? 1 : 3});
    metric->update(scalar_tensor(r + 1));
    log("metric", metric, {.on_step = false, .on_epoch = true});
    return Mlp::training_step(batch, i);
  }
  void test_step(const L::Batch& batch, int64_t) override {
    log("test_value", static_cast<double>(trainer().global_rank()) + 1, {.sync_dist = true});
  }
  std::shared_ptr<metrics::MeanMetric> metric = register_module("metric", metrics::MeanMetric());
};

}  // namespace

TEST_CASE("ddp: sync_dist reduces logged values across ranks; metric objects sync their states") {
  auto ds = regression_data(16);
  RankLogger model;
  L::Trainer trainer(ddp({.max_epochs = 1, .log_every_n_steps = 1}));
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  const auto& cb = trainer.callback_metrics();
  CHECK(cb.at("mean_step") == doctest::Approx(1.5));  // (1 + 2) / 2
  CHECK(cb.at("mean_epoch") == doctest::Approx(1.5));
  CHECK(cb.at("sum") == doctest::Approx(2 * (1 + 2)));  // 2 batches per rank, summed over ranks
  CHECK(cb.at("max_epoch") == 2.0);
  CHECK(cb.at("min_epoch") == 1.0);
  CHECK(cb.at("local_epoch") == 10.0 * (trainer.global_rank() + 1));  // not synced: this rank's
  CHECK(cb.at("weighted") == doctest::Approx((1.0 * 1 * 2 + 2.0 * 3 * 2) / (1 * 2 + 3 * 2)));
  CHECK(cb.at("metric") == doctest::Approx(1.5));  // MeanMetric over both ranks' updates
  // Only rank 0 talks to loggers; both ranks see the same synced metrics.
  const auto all = gather(trainer, std::to_string(cb.at("mean_epoch")) + std::to_string(cb.at("metric")));
  CHECK(all[0] == all[1]);
  const auto results = trainer.test(model, data::DataLoader(ds, {.batch_size = 4}), {.verbose = false});
  CHECK(results.at(0).at("test_value") == doctest::Approx(1.5));
}

TEST_CASE("ddp: ranks logging different sync_dist keys get an error showing the difference, not a hang") {
  struct Uneven : Mlp {
    L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
      log("loss_like", 1.0, {.sync_dist = true});
      if (trainer().global_rank() == 1) log("only_on_rank_1", 2.0, {.sync_dist = true});
      return Mlp::training_step(batch, i);
    }
  };
  auto ds = regression_data(8);
  Uneven model;
  L::TrainerOptions o = ddp({.max_epochs = 1});
  o.strategy = std::make_shared<L::DDPStrategy>(L::DDPStrategyOptions{.abort_on_exception = false});
  L::Trainer trainer(o);
  const std::string message = error_message_of([&] { trainer.fit(model, data::DataLoader(ds, {.batch_size = 4})); });
  CHECK(message.find("logged different values with sync_dist=True") != std::string::npos);
  CHECK(message.find("rank 1 only: [training_step.only_on_rank_1@step (mean)]") != std::string::npos);
  CHECK(message.find("rank 0 only: []") != std::string::npos);
}

TEST_CASE("ddp: unused parameters: PyTorch's error by default, zero-free averaging with find_unused_parameters") {
  struct WithUnused : Mlp {
    WithUnused() { unused = register_parameter("unused", ones({2})); }
    Tensor unused;
  };
  auto ds = regression_data(8);
  SUBCASE("default: the error names the parameter on every rank") {
    WithUnused model;
    L::TrainerOptions o = ddp({.max_epochs = 1});
    o.strategy = std::make_shared<L::DDPStrategy>(L::DDPStrategyOptions{.abort_on_exception = false});
    L::Trainer trainer(o);
    const std::string message =
        error_message_of([&] { trainer.fit(model, data::DataLoader(ds, {.batch_size = 4})); });
    CHECK(message.find("Expected to have finished reduction in the prior iteration") != std::string::npos);
    CHECK(message.find("(unused)") != std::string::npos);
  }
  SUBCASE("ddp_find_unused_parameters_true: trains as one process; the unused gradient stays undefined") {
    WithUnused model;
    Mlp reference;
    L::TrainerOptions o = ddp({.max_epochs = 1});
    o.strategy = "ddp_find_unused_parameters_true";
    L::Trainer trainer(o);
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    CHECK_FALSE(model.unused.grad().defined());
    CHECK(model.unused.to_vector<double>() == std::vector<double>{1, 1});
    L::Trainer single(quiet_options({.max_epochs = 1, .precision = "64-true", .limit_val_batches = 0}));
    single.fit(reference, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(std::abs(model.l2->parameter("bias").item<double>() - reference.l2->parameter("bias").item<double>()) <
          1e-9);
  }
}

TEST_CASE("ddp: a parameter used on one rank only is averaged with the other rank's zero (same collective order)") {
  // Rank 0's bucket is complete during backward, rank 1's is not: both must still queue the
  // bucket's all-reduce before the used-anywhere flags, or the collectives pair up wrongly.
  struct UsedOnRankZero : Mlp {
    UsedOnRankZero() { extra = register_parameter("extra", ones({1})); }
    L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
      Tensor loss = Mlp::training_step(batch, i).loss();
      if (trainer().global_rank() == 0) loss = loss + extra.sum() * 0.5;  // d/d(extra) = 0.5 on rank 0
      return loss;
    }
    Tensor extra;
  };
  UsedOnRankZero model;
  L::TrainerOptions o = ddp({.max_steps = 1});
  o.strategy = "ddp_find_unused_parameters_true";
  L::Trainer trainer(o);
  trainer.fit(model, data::DataLoader(regression_data(8), {.batch_size = 4}));
  // SGD's first step (momentum buffer = gradient): 1 - lr * (0.5 + 0) / 2.
  CHECK(model.extra.item<double>() == doctest::Approx(1 - 0.05 * 0.25).epsilon(1e-12));
}

TEST_CASE("ddp: gradient buckets hold parameters in reverse registration order, split at bucket_cap_mb") {
  auto ds = regression_data(8);
  Mlp model;
  // 8 * 8 bytes = 64 B for l1.bias: a cap of 100 B puts every parameter in a bucket of its own
  // except l2.bias + ... (l2.weight 64 B + l2.bias 8 B = 72 B fit together).
  auto strategy = std::make_shared<L::DDPStrategy>(L::DDPStrategyOptions{.bucket_cap_mb = 100.0 / (1024 * 1024)});
  L::TrainerOptions o = ddp({.max_epochs = 1});
  o.strategy = strategy;
  L::Trainer trainer(o);
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  // After fit the buckets are gone (teardown); rebuild them the way setup does to inspect.
  L::GradientBuckets buckets(model.named_parameters(), strategy->process_group(), 100.0 / (1024 * 1024), false);
  const auto layout = buckets.bucket_layout();
  REQUIRE(layout.size() == 3);
  CHECK(layout[0] == std::vector<std::string>{"l2.bias", "l2.weight"});
  CHECK(layout[1] == std::vector<std::string>{"l1.bias"});
  CHECK(layout[2] == std::vector<std::string>{"l1.weight"});
}

TEST_CASE("ddp: the strategy's collectives (reduce, all_gather, broadcast, boolean decisions, barrier)") {
  L::Trainer trainer(ddp({.max_epochs = 1}));
  L::Strategy& s = trainer.strategy();
  const int64_t r = trainer.global_rank();
  CHECK(s.reduce(scalar_tensor(static_cast<double>(r)), "sum").item<double>() == 1.0);
  CHECK(s.reduce(scalar_tensor(static_cast<double>(r)), "mean").item<double>() == 0.5);
  CHECK(s.reduce(scalar_tensor(static_cast<double>(r)), "max").item<double>() == 1.0);
  CHECK(s.all_gather(full({2}, static_cast<double>(r + 1))).to_vector<double>() == std::vector<double>{1, 1, 2, 2});
  CHECK(s.broadcast(Value("from rank " + std::to_string(r)), 0).as_string() == "from rank 0");
  CHECK(s.broadcast(Value(static_cast<int64_t>(r * 7)), 1).as_int() == 7);
  CHECK(s.reduce_boolean_decision(r == 0, true) == false);
  CHECK(s.reduce_boolean_decision(r == 0, false) == true);
  s.barrier("test");
  // LightningModule::all_gather goes through the strategy during a run.
  struct Gatherer : Mlp {
    L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
      gathered = all_gather(full({1}, static_cast<double>(trainer().global_rank() + 5)));
      return Mlp::training_step(batch, i);
    }
    Tensor gathered;
  };
  Gatherer model;
  L::Trainer fit_trainer(ddp({.max_steps = 1}));
  fit_trainer.fit(model, data::DataLoader(regression_data(8), {.batch_size = 4}));
  CHECK(model.gathered.sizes() == std::vector<int64_t>{2, 1});
  CHECK(model.gathered.to_vector<double>() == std::vector<double>{5, 6});
  CHECK(trainer.is_global_zero() == (r == 0));
}

TEST_CASE("ddp: one log folder and one set of checkpoints, written by rank 0; same best path on every rank") {
  auto ds = regression_data(32);
  struct Validated : Mlp {
    void validation_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      log("val_loss", F::mse_loss(forward(x), y), {.sync_dist = true});
    }
  };
  Validated model;
  const std::string root = (fs::current_path() / "ddp_files").string();
  auto ckpt = std::make_shared<L::callbacks::ModelCheckpoint>(
      L::callbacks::ModelCheckpointOptions{.monitor = "val_loss", .save_last = true, .save_top_k = 2});
  L::Trainer trainer({.callbacks = {ckpt}, .max_epochs = 4, .strategy = "ddp", .precision = "64-true",
                      .enable_progress_bar = false, .enable_model_summary = false, .default_root_dir = root});
  if (trainer.is_global_zero()) fs::remove_all(root);
  trainer.strategy().barrier();
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 8}));
  const auto paths = gather(trainer, ckpt->best_model_path() + "|" + ckpt->last_model_path());
  CHECK(paths[0] == paths[1]);
  if (trainer.is_global_zero()) {
    std::vector<std::string> versions;
    for (const auto& e : fs::directory_iterator(fs::path(root) / "lightning_logs")) {
      versions.push_back(e.path().filename().string());
    }
    CHECK(versions == std::vector<std::string>{"version_0"});
    int ckpts = 0, events = 0;
    for (const auto& e : fs::directory_iterator(fs::path(root) / "lightning_logs" / "version_0" / "checkpoints")) {
      ckpts += e.path().extension() == ".ckpt";
    }
    for (const auto& e : fs::directory_iterator(fs::path(root) / "lightning_logs" / "version_0")) {
      events += e.path().filename().string().starts_with("events.out.tfevents");
    }
    CHECK(ckpts == 3);  // top 2 + last.ckpt
    CHECK(events == 1);
    CHECK(fs::exists(ckpt->best_model_path()));
  }
  trainer.strategy().barrier();
}

TEST_CASE("ddp: hooks run in the same order on every rank, as in one process") {
  struct Hooks : Mlp {
    void on_train_start() override { calls.push_back("on_train_start"); }
    void on_train_epoch_start() override { calls.push_back("on_train_epoch_start"); }
    void on_before_backward(const Tensor&) override { calls.push_back("on_before_backward"); }
    void on_after_backward() override { calls.push_back("on_after_backward"); }
    void on_before_optimizer_step(optim::Optimizer&) override { calls.push_back("on_before_optimizer_step"); }
    void on_train_epoch_end() override { calls.push_back("on_train_epoch_end"); }
    void on_train_end() override { calls.push_back("on_train_end"); }
    std::vector<std::string> calls;
  };
  auto ds = regression_data(16);
  Hooks model, single_model;
  L::Trainer trainer(ddp({.max_epochs = 2, .accumulate_grad_batches = 2}));
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
  // The single-process run on this rank's share (8 samples) has the same number of batches.
  L::Trainer single(quiet_options({.max_epochs = 2, .precision = "64-true", .limit_val_batches = 0,
                                   .accumulate_grad_batches = 2}));
  single.fit(single_model, data::DataLoader(regression_data(8), {.batch_size = 2}));
  CHECK(model.calls == single_model.calls);
  std::string mine;
  for (const auto& c : model.calls) mine += c + ";";
  const auto all = gather(trainer, mine);
  CHECK(all[0] == all[1]);
}

TEST_CASE("ddp: prepare_data runs once per node (local rank 0), setup on every rank") {
  // mpirun starts every rank on this machine: one node, local ranks 0..world-1.
  struct Data : L::LightningDataModule {
    void prepare_data() override { ++prepared; }
    void setup(const std::string&) override { ++set_up; }
    L::Loaders train_dataloader() override { return data::DataLoader(regression_data(16), {.batch_size = 4}); }
    int prepared = 0, set_up = 0;
  };
  struct Model : Mlp {
    void prepare_data() override { ++prepared; }
    int prepared = 0;
  };
  Data dm;
  Model model;
  L::Trainer trainer(ddp({.max_epochs = 1}));
  trainer.fit(model, dm);
  const auto all = gather(trainer, std::to_string(dm.prepared) + std::to_string(model.prepared) +
                                       std::to_string(dm.set_up));
  REQUIRE(all.size() == static_cast<size_t>(trainer.world_size()));
  CHECK(trainer.world_size() >= 2);
  for (size_t r = 0; r < all.size(); ++r) {
    CAPTURE(r);
    CHECK(all[r] == (r == 0 ? "111" : "001"));
  }
}

TEST_CASE("ddp: Lightning's rank_zero warnings print on global rank 0 only") {
  L::TrainerOptions options = ddp();
  options.precision = "bf16";  // an alias: Lightning's rank_zero_warn about it
  std::unique_ptr<L::Trainer> trainer;
  const std::string err =
      fulgur::testing::captured_stderr([&] { trainer = std::make_unique<L::Trainer>(std::move(options)); });
  const bool warned = err.find("`precision=bf16` is supported for historical reasons") != std::string::npos;
  const auto all = gather(*trainer, warned ? "warned" : "silent");
  REQUIRE(all.size() == static_cast<size_t>(trainer->world_size()));
  CHECK(trainer->world_size() >= 2);
  for (size_t r = 0; r < all.size(); ++r) {
    CAPTURE(r);
    CHECK(all[r] == (r == 0 ? "warned" : "silent"));
  }
}

TEST_CASE("ddp: EarlyStopping's verbose lines carry the rank; log_rank_zero_only leaves them to rank 0") {
  struct Logged : Mlp {
    L::StepOutput training_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      Tensor loss = F::mse_loss(forward(x), y);
      log("train_loss", loss, {.on_epoch = true});
      return loss;
    }
  };
  for (const bool rank_zero_only : {false, true}) {
    CAPTURE(rank_zero_only);
    auto early = std::make_shared<L::callbacks::EarlyStopping>(L::callbacks::EarlyStoppingOptions{
        .monitor = "train_loss", .verbose = true, .stopping_threshold = 1e9, .check_on_train_epoch_end = true,
        .log_rank_zero_only = rank_zero_only});
    Logged model;
    L::Trainer trainer(ddp({.callbacks = {early}, .max_epochs = 3}));
    const std::string err = fulgur::testing::captured_stderr(
        [&] { trainer.fit(model, data::DataLoader(regression_data(16), {.batch_size = 4})); });
    CHECK(trainer.current_epoch() == 1);  // stopped after the first epoch
    const std::string line = "[rank: " + std::to_string(trainer.global_rank()) + "] Stopping threshold reached";
    const bool printed = err.find(line) != std::string::npos;
    CHECK(printed == (!rank_zero_only || trainer.is_global_zero()));
  }
}

TEST_CASE("ddp: resuming the job from last.ckpt continues exactly (shuffled data, momentum)") {
  unsetenv("PL_GLOBAL_SEED");
  auto ds = regression_data(32);
  const std::string root = (fs::current_path() / "ddp_resume").string();
  auto run = [&](int64_t epochs, const std::string& ckpt_path, Mlp& model) {
    auto ckpt = std::make_shared<L::callbacks::ModelCheckpoint>(
        L::callbacks::ModelCheckpointOptions{.dirpath = root, .save_last = true});
    L::TrainerOptions o = ddp({.callbacks = {ckpt}, .max_epochs = epochs});
    o.enable_checkpointing = true;
    L::Trainer trainer(o);
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4, .shuffle = true}), {}, {.ckpt_path = ckpt_path});
    return trainer.global_step();
  };
  {
    L::Trainer probe(ddp({}));
    if (probe.is_global_zero()) fs::remove_all(root);
    probe.strategy().barrier();
  }
  Mlp uninterrupted;
  CHECK(run(4, "", uninterrupted) == 16);  // 32 samples / 2 ranks / batch 4 = 4 steps per epoch
  Mlp first_half, resumed;
  run(2, "", first_half);
  // A fresh model (other initial weights) continues from the checkpoint of epoch 2.
  Mlp fresh(/*seed=*/7);
  CHECK(run(4, root + "/last.ckpt", fresh) == 16);
  const auto a = fresh.named_parameters();
  const auto b = uninterrupted.named_parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first, ": resumed ", join(a[i].second.to_vector<double>()), " uninterrupted ",
         join(b[i].second.to_vector<double>()));
    CHECK(a[i].second.to_vector<double>() == b[i].second.to_vector<double>());  // bit-identical
  }
}
