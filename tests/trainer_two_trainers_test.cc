// Two independent Trainers in one process (issue 9: an embedding host may run several): each
// in its own thread, with its own seed, precision and thread count, stepping in lockstep (a
// barrier at every training step, so their random draws, autocast regions and thread counts
// interleave), gives bit for bit the weights and loss it gives when run alone. What makes it
// so (docs/INSTALL.md "Several trainers in one process"): the default generator is per thread
// under DefaultGeneratorGuard, autocast and grad mode are thread_local, set_num_threads sets
// the calling thread's OpenMP count. The control case shows the test can fail: the same two
// runs sharing the process-wide generator do not reproduce their solo results.
#include <barrier>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

constexpr int64_t kSamples = 48, kBatch = 8, kEpochs = 3;
constexpr int64_t kSteps = kSamples / kBatch * kEpochs;  // the same for both runs: lockstep

// Dropout draws from the default generator at every step; the shuffled DataLoader draws its
// seed from it every epoch; the layers' initialisation draws from it in the constructor.
class Net : public L::LightningModule {
 public:
  explicit Net(std::function<void()> at_step) : at_step_(std::move(at_step)) {
    fc1 = register_module("fc1", nn::Linear(3, 16));
    drop = register_module("drop", nn::Dropout(0.25));
    fc2 = register_module("fc2", nn::Linear(16, 1));
  }
  Tensor forward(const Tensor& x) override { return (*fc2)((*drop)(F::relu((*fc1)(x)))); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    if (at_step_) at_step_();
    seen_threads.push_back(get_num_threads());
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::mse_loss(forward(x), y);
    log("train_loss", loss);
    return loss;
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.05}); }

  std::shared_ptr<nn::Linear> fc1, fc2;
  std::shared_ptr<nn::Dropout> drop;
  std::vector<int> seen_threads;

 private:
  std::function<void()> at_step_;
};

struct Run {
  uint64_t seed;
  std::string precision;
  int threads;
};

struct Result {
  std::vector<float> weights;  // fc1, fc2 weights and biases, flattened, as float32
  double loss = 0;  // callback_metrics()["train_loss"]
  std::vector<int> seen_threads;
};

// One whole run: seed, data, model, fit. Everything random comes from the default generator.
Result train(const Run& run, const std::function<void()>& at_step = {}) {
  set_num_threads(run.threads);
  L::seed_everything(run.seed);
  const Tensor x = randn({kSamples, 3});
  const Tensor y = x.matmul(tensor<float>({1.0f, -2.0f, 0.5f}).reshape({3, 1})) + 0.3;
  auto data = std::make_shared<data::TensorDataset>(x, y);
  Net model(at_step);
  L::Trainer trainer({.max_epochs = kEpochs, .precision = run.precision, .logger = false,
                      .enable_checkpointing = false, .enable_progress_bar = false,
                      .enable_model_summary = false});
  trainer.fit(model, data::DataLoader(data, {.batch_size = kBatch, .shuffle = true}));
  Result result;
  for (const Tensor& p : model.parameters()) {
    const std::vector<double> v = testing::values(p.to(kFloat32));
    result.weights.insert(result.weights.end(), v.begin(), v.end());
  }
  result.loss = trainer.callback_metrics().at("train_loss");
  result.seen_threads = model.seen_threads;
  return result;
}

bool same_bits(const Result& a, const Result& b) {
  return a.weights.size() == b.weights.size() &&
         std::memcmp(a.weights.data(), b.weights.data(), a.weights.size() * sizeof(float)) == 0 &&
         std::memcmp(&a.loss, &b.loss, sizeof(double)) == 0;
}

// Runs a and b in two threads that meet at a barrier before every training step.
// own_generators: each thread under its own DefaultGeneratorGuard (else both share the
// process-wide generator: the control case).
std::pair<Result, Result> train_together(const Run& a, const Run& b, bool own_generators) {
  std::barrier lockstep(2);
  const auto at_step = [&] { lockstep.arrive_and_wait(); };
  Result ra, rb;
  const auto worker = [&](const Run& run, Result& out) {
    Generator generator;
    std::optional<DefaultGeneratorGuard> guard;
    if (own_generators) guard.emplace(generator);
    out = train(run, at_step);
  };
  std::thread ta(worker, std::cref(a), std::ref(ra));
  std::thread tb(worker, std::cref(b), std::ref(rb));
  ta.join();
  tb.join();
  return {ra, rb};
}

const Run kA{.seed = 7, .precision = "32-true", .threads = 1};
const Run kB{.seed = 1234, .precision = "bf16-mixed", .threads = 2};

}  // namespace

TEST_CASE("two Trainers in two threads, lockstep, each give their solo result bit for bit") {
  const int threads_before = get_num_threads();
  // Alone, one after the other, on this thread and the process-wide generator.
  const Result solo_a = train(kA);
  const Result solo_b = train(kB);
  set_num_threads(threads_before);
  REQUIRE(solo_a.seen_threads.size() == static_cast<size_t>(kSteps));
  REQUIRE(solo_b.seen_threads.size() == static_cast<size_t>(kSteps));
  // The runs differ from each other (different seeds and precisions), so equality below
  // cannot come from both threads computing the same thing.
  CHECK_FALSE(same_bits(solo_a, solo_b));

  const auto [together_a, together_b] = train_together(kA, kB, /*own_generators=*/true);
  CHECK(same_bits(together_a, solo_a));
  CHECK(same_bits(together_b, solo_b));
  // set_num_threads is per thread: each run saw its own count at every step.
  CHECK(together_a.seen_threads == std::vector<int>(kSteps, 1));
  CHECK(together_b.seen_threads == std::vector<int>(kSteps, 2));
  // This thread's count was not changed by the two threads.
  CHECK(get_num_threads() == threads_before);
}

TEST_CASE("control: sharing the process-wide generator, the lockstep runs do not reproduce") {
  const Result solo_a = train(kA);
  const Result solo_b = train(kB);
  const auto [shared_a, shared_b] = train_together(kA, kB, /*own_generators=*/false);
  // Each thread's dropout masks and shuffles now come from one stream both draw from.
  CHECK_FALSE((same_bits(shared_a, solo_a) && same_bits(shared_b, solo_b)));
}

TEST_CASE("DefaultGeneratorGuard: per thread, nests, restores") {
  Generator outer_gen(11), inner_gen(22);
  manual_seed(5);
  const float process_first = randn({1}).item<float>();
  manual_seed(5);
  {
    DefaultGeneratorGuard outer(outer_gen);
    CHECK(&default_generator() == &outer_gen);
    {
      DefaultGeneratorGuard inner(inner_gen);
      CHECK(&default_generator() == &inner_gen);
      manual_seed(99);  // seeds inner_gen only
      CHECK(inner_gen.initial_seed() == 99);
      (void)randn({4});
      CHECK(inner_gen.offset() > 0);
    }
    CHECK(&default_generator() == &outer_gen);
    CHECK(outer_gen.initial_seed() == 11);
    (void)rand({3});
    CHECK(outer_gen.offset() > 0);
    // Another thread without a guard sees the process-wide generator.
    Generator* seen = nullptr;
    std::thread([&] { seen = &default_generator(); }).join();
    CHECK(seen != &outer_gen);
    CHECK(seen != &inner_gen);
  }
  // The process-wide stream was not advanced by anything drawn under the guards.
  CHECK(randn({1}).item<float>() == process_first);
}
