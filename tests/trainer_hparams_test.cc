// L::HParams: defaults and overrides, typed reads and their errors, the Value round trip a
// checkpoint's "hyper_parameters" relies on; LightningModule::hparam and StepOutput/Batch.
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

TEST_CASE("HParams: defaults, overrides, typed reads") {
  const L::HParams given{{"lr", 1e-4}, {"name", "mlp"}};
  const L::HParams hp = given.with_defaults({{"hidden", 128}, {"lr", 1e-3}, {"dropout", false},
                                             {"layers", Value::list({64, 32})},
                                             {"optim", Value::dict({{"betas", Value::list({0.9, 0.999})}})}});
  CHECK(hp.keys() == std::vector<std::string>{"hidden", "lr", "dropout", "layers", "optim", "name"});
  CHECK(hp.get<int>("hidden") == 128);
  CHECK(hp.get<int64_t>("hidden") == 128);
  CHECK(hp.get<double>("lr") == 1e-4);       // the given value wins
  CHECK(hp.get<double>("hidden") == 128.0);  // an int reads as a float (Python's lr=1)
  CHECK(hp.get<bool>("dropout") == false);
  CHECK(hp.get<std::string>("name") == "mlp");
  CHECK(hp.get<std::vector<int64_t>>("layers") == std::vector<int64_t>{64, 32});
  CHECK(hp.get<L::HParams>("optim").get<std::vector<double>>("betas") == std::vector<double>{0.9, 0.999});
  CHECK(hp.get<int>("missing", 7) == 7);
  CHECK(hp.repr() == "{'hidden': 128, 'lr': 0.0001, 'dropout': False, 'layers': [64, 32], 'optim': {'betas': "
                     "[0.9, 0.999]}, 'name': 'mlp'}");
  const L::HParams over = hp.merged({{"lr", 0.5}, {"extra", 1}});
  CHECK(over.get<double>("lr") == 0.5);
  CHECK(over.get<int>("extra") == 1);
  CHECK(over.get<int>("hidden") == 128);

  CHECK_THROWS_WITH_AS(hp.get<int>("lr"), doctest::Contains("'lr' is a float (0.0001), not a int"), Error);
  CHECK_THROWS_WITH_AS(hp.get<std::string>("hidden"), doctest::Contains("not a str"), Error);
  CHECK_THROWS_WITH_AS(hp.at("nope"), doctest::Contains("no hyperparameter 'nope' (have: hidden, lr, dropout"), Error);

  const L::HParams back = L::HParams::from_value(hp.to_value());
  CHECK(back == hp);
  CHECK_THROWS_AS(L::HParams::from_value(Value(3)), Error);
  CHECK_THROWS_AS(L::HParams::from_value(Value::dict({{1, 2}})), Error);
}

TEST_CASE("LightningModule: hparam, save_hyperparameters; Batch and StepOutput") {
  struct M : L::LightningModule {
    explicit M(L::HParams hp = {}) : L::LightningModule(hp.with_defaults({{"in_dim", 4}})) { save_hyperparameters(); }
  };
  M m({{"in_dim", 8}});
  CHECK(m.hparam<int>("in_dim") == 8);
  CHECK(m.hyperparameters_saved());
  CHECK_FALSE(m.has_trainer());

  const L::Batch batch(Value::tuple({Value(ones({5, 2})), Value(zeros({5}))}));
  auto [x, y] = batch.unpack<2>();
  CHECK(x.size(0) == 5);
  CHECK(y.dim() == 1);
  CHECK(batch.batch_size() == 5);
  CHECK_THROWS_WITH_AS(batch.unpack<3>(),
                       doctest::Contains("cannot unpack 3 tensors from a batch that is a tuple of 2"), Error);
  CHECK(L::Batch(ones({})).batch_size() == 1);

  const L::StepOutput t(ones({}));
  CHECK(t.has_loss());
  const L::StepOutput d{{"loss", Value(ones({}))}, {"n", 3}};
  CHECK(d.loss().item<double>() == 1.0);
  CHECK(d.as_dict().at("n").as_int() == 3);
  const L::StepOutput bad{{"n", 3}};
  CHECK_THROWS_WITH_AS(bad.loss(), doctest::Contains("the 'loss' key needs to be present"), Error);
  CHECK(L::StepOutput().is_none());
}
