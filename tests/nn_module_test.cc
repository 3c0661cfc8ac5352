// nn::Module and the containers: registration, traversal names, state_dict / load_state_dict,
// train/eval, to(), zero_grad, apply, repr. Reprs, name lists and load_state_dict error texts
// are PyTorch 1.13's: tests/golden/nn_module_golden.inc, written by tools/gen_nn_golden.py
// (run with Debian's PyTorch: /usr/bin/python3 tools/gen_nn_golden.py).
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

#include "tests/golden/nn_module_golden.inc"

using namespace fulgur;

namespace {

std::string golden(const std::string& name) {
  for (const auto& [k, v] : nn_golden::strings())
    if (k == name) return v;
  FAIL("no golden string ", name);
  return "";
}

template <class Named>
std::string join_names(const Named& named) {
  std::string s;
  for (size_t i = 0; i < named.size(); ++i) s += (i ? "\n" : "") + named[i].first;
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "\n" : "") + v[i];
  return s;
}

// The model of tools/gen_nn_golden.py.
class Net : public nn::Module {
 public:
  Net() {
    features = register_module("features", nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2),
                                                          nn::Linear(128, 10)));
    emb = register_module("emb", nn::Embedding(10, 4, {.padding_idx = 0}));
    norm = register_module("norm", nn::LayerNorm(4));
    blocks = register_module("blocks", nn::ModuleList(nn::Linear(4, 4, {.bias = false}), nn::GELU()));
    heads = register_module("heads", nn::ModuleDict({{"a", std::make_shared<nn::Linear>(4, 2)},
                                                     {"b", std::make_shared<nn::Identity>()}}));
    register_buffer("steps", zeros({}, {.dtype = kInt64}));
    register_buffer("scratch", zeros({2}), /*persistent=*/false);
    scale = register_parameter("scale", ones({1}));
  }
  Tensor forward(const Tensor& x) override { return (*features)(x).mul(scale); }
  std::string name() const override { return "Net"; }

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Embedding> emb;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::ModuleList> blocks;
  std::shared_ptr<nn::ModuleDict> heads;
  Tensor scale;
};

std::map<std::string, std::function<std::shared_ptr<nn::Module>()>> repr_cases() {
  std::map<std::string, std::function<std::shared_ptr<nn::Module>()>> c;
  auto add = [&](const std::string& name, auto make) { c["repr/" + name] = [make] { return std::shared_ptr<nn::Module>(make()); }; };
  add("linear", [] { return std::make_shared<nn::Linear>(784, 128); });
  add("linear_nobias", [] { return std::make_shared<nn::Linear>(3, 4, nn::LinearOptions{.bias = false}); });
  add("bilinear", [] { return std::make_shared<nn::Bilinear>(2, 3, 4); });
  add("bilinear_nobias", [] { return std::make_shared<nn::Bilinear>(2, 3, 4, nn::LinearOptions{.bias = false}); });
  add("relu", [] { return std::make_shared<nn::ReLU>(); });
  add("relu_inplace", [] { return std::make_shared<nn::ReLU>(nn::ReLUOptions{.inplace = true}); });
  add("leaky_relu", [] { return std::make_shared<nn::LeakyReLU>(); });
  add("leaky_relu_0.2", [] { return std::make_shared<nn::LeakyReLU>(0.2); });
  add("leaky_relu_inplace",
      [] { return std::make_shared<nn::LeakyReLU>(nn::LeakyReLUOptions{.negative_slope = 0.1, .inplace = true}); });
  add("gelu", [] { return std::make_shared<nn::GELU>(); });
  add("gelu_tanh", [] { return std::make_shared<nn::GELU>("tanh"); });
  add("silu", [] { return std::make_shared<nn::SiLU>(); });
  add("tanh", [] { return std::make_shared<nn::Tanh>(); });
  add("sigmoid", [] { return std::make_shared<nn::Sigmoid>(); });
  add("softmax", [] { return std::make_shared<nn::Softmax>(1); });
  add("softmax_none", [] { return std::make_shared<nn::Softmax>(); });
  add("log_softmax", [] { return std::make_shared<nn::LogSoftmax>(-1); });
  add("dropout", [] { return std::make_shared<nn::Dropout>(); });
  add("dropout_0.2", [] { return std::make_shared<nn::Dropout>(nn::DropoutOptions{.p = 0.2}); });
  add("dropout_1e-05", [] { return std::make_shared<nn::Dropout>(1e-05); });
  add("embedding", [] { return std::make_shared<nn::Embedding>(3, 4); });
  add("embedding_padding", [] { return std::make_shared<nn::Embedding>(3, 4, nn::EmbeddingOptions{.padding_idx = 0}); });
  add("embedding_all", [] {
    return std::make_shared<nn::Embedding>(
        3, 4, nn::EmbeddingOptions{.padding_idx = 2, .max_norm = 1.0, .norm_type = 1.0, .scale_grad_by_freq = true});
  });
  add("flatten", [] { return std::make_shared<nn::Flatten>(); });
  add("flatten_0_2", [] { return std::make_shared<nn::Flatten>(0, 2); });
  add("unflatten", [] { return std::make_shared<nn::Unflatten>(1, Shape{2, 3}); });
  add("unflatten_1", [] { return std::make_shared<nn::Unflatten>(-1, Shape{6}); });
  add("identity", [] { return std::make_shared<nn::Identity>(); });
  add("layernorm", [] { return std::make_shared<nn::LayerNorm>(4); });
  add("layernorm_2d", [] {
    return std::make_shared<nn::LayerNorm>(Shape{2, 3}, nn::LayerNormOptions{.eps = 1e-3, .elementwise_affine = false});
  });
  add("sequential_empty", [] { return std::make_shared<nn::Sequential>(); });
  add("sequential_mnist",
      [] { return std::make_shared<nn::Sequential>(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10)); });
  add("sequential_nested", [] {
    return std::make_shared<nn::Sequential>(nn::Sequential(nn::Linear(2, 2), nn::Tanh()), nn::ModuleList(nn::ReLU()));
  });
  add("sequential_named", [] {
    return std::make_shared<nn::Sequential>(
        nn::NamedModules{{"fc", std::make_shared<nn::Linear>(2, 3)}, {"act", std::make_shared<nn::ReLU>()}});
  });
  add("modulelist", [] {
    auto l = std::make_shared<nn::ModuleList>();
    for (int i = 0; i < 3; ++i) l->push_back(nn::Linear(2, 2));
    return l;
  });
  add("moduledict", [] {
    auto d = std::make_shared<nn::ModuleDict>();
    d->insert("enc", nn::Linear(2, 2));
    d->insert("act", nn::ReLU());
    return d;
  });
  add("cross_entropy_loss", [] { return std::make_shared<nn::CrossEntropyLoss>(); });
  add("nll_loss", [] { return std::make_shared<nn::NLLLoss>(); });
  add("mse_loss", [] { return std::make_shared<nn::MSELoss>(); });
  add("l1_loss", [] { return std::make_shared<nn::L1Loss>(); });
  add("smooth_l1_loss", [] { return std::make_shared<nn::SmoothL1Loss>(); });
  add("bce_loss", [] { return std::make_shared<nn::BCELoss>(); });
  add("bce_with_logits_loss", [] { return std::make_shared<nn::BCEWithLogitsLoss>(); });
  add("kl_div_loss", [] { return std::make_shared<nn::KLDivLoss>(); });
  return c;
}

std::string load_error(nn::Module& m, const nn::StateDict& sd, bool strict = true) {
  try {
    m.load_state_dict(sd, strict);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("module golden cases and builders match one to one") {
  const auto reprs = repr_cases();
  std::set<std::string> golden_cases(nn_golden::cases().begin(), nn_golden::cases().end());
  for (const auto& c : golden_cases) CHECK_MESSAGE(reprs.count(c) + (c == "net") == 1, "no builder for ", c);
  for (const auto& [c, b] : reprs) CHECK_MESSAGE(golden_cases.count(c) == 1, "no golden case for ", c);
}

TEST_CASE("repr of every layer matches PyTorch") {
  for (const auto& [c, make] : repr_cases()) {
    CAPTURE(c);
    auto m = make();
    CHECK(m->repr() == golden(c));
    std::ostringstream os;
    os << *m;
    CHECK(os.str() == golden(c));
  }
}

TEST_CASE("nested model: repr, names and state_dict keys match PyTorch") {
  auto net = std::make_shared<Net>();
  std::ostringstream os;
  os << net;  // shared_ptr prints the module
  CHECK(os.str() == golden("net/repr"));
  CHECK(join_names(net->named_parameters()) == golden("net/named_parameters"));
  std::vector<std::string> shapes;
  for (const Tensor& p : net->parameters()) shapes.push_back(shape_str(p.sizes()));
  CHECK(join(shapes) == golden("net/parameter_shapes"));
  CHECK(join_names(net->named_buffers()) == golden("net/named_buffers"));
  CHECK(join(net->state_dict().keys()) == golden("net/state_dict"));
  CHECK(join_names(net->named_modules()) == golden("net/named_modules"));
  CHECK(join_names(net->named_children()) == golden("net/named_children"));
  CHECK(join_names(net->features->named_parameters()) == golden("net/features/named_parameters"));
  CHECK(join_names(net->named_parameters(false)) == golden("net/parameters_norecurse"));
  CHECK(net->modules().size() == net->named_modules().size());
  CHECK(net->modules()[0].get() == net.get());  // self first, owned by the same shared_ptr
  CHECK(net->children().size() == 5);
  // Members and registry are the same tensors.
  CHECK(net->parameter("scale").is_same(net->scale));
  CHECK(net->child("features") == net->features);
  CHECK(net->features->at<nn::Linear>(0)->weight.is_same(net->named_parameters()[1].second));
  CHECK(join(nn::BCEWithLogitsLoss({.weight = ones({2}), .pos_weight = ones({2})}).state_dict().keys()) ==
        golden("bce_with_logits_state_dict"));
}

TEST_CASE("load_state_dict: errors as PyTorch's (shapes printed [2, 3])") {
  nn::Sequential small(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  const nn::StateDict sd = small.state_dict();
  nn::StateDict missing = sd;
  missing.erase("0.bias");
  CHECK(load_error(small, missing) == golden("load/missing"));
  nn::StateDict unexpected = sd;
  unexpected.insert("3.weight", zeros({1}));
  unexpected.insert("extra", zeros({1}));
  CHECK(load_error(small, unexpected) == golden("load/unexpected"));
  nn::StateDict mismatch = sd;
  mismatch.insert("0.weight", zeros({2, 3}));
  CHECK(load_error(small, mismatch) == golden("load/size_mismatch"));
  nn::StateDict all = sd;
  all.erase("2.bias");
  all.insert("0.weight", zeros({2, 3}));
  all.insert("2.weight", zeros({4, 2}));
  all.insert("head.weight", zeros({1}));
  CHECK(load_error(small, all) == golden("load/all"));
  CHECK(load_error(small, all, /*strict=*/false) == golden("load/nonstrict_size_mismatch"));
  // A failed load changes nothing.
  const Tensor before = small.at<nn::Linear>(2)->weight.clone();
  nn::StateDict partial = sd;
  partial.insert("2.weight", ones({2, 4}));
  partial.insert("0.weight", zeros({9, 9}));
  CHECK_THROWS_AS(small.load_state_dict(partial), Error);
  CHECK(equal(small.at<nn::Linear>(2)->weight, before));
  // strict = false reports what did not match.
  nn::StateDict loose = sd;
  loose.erase("2.bias");
  loose.insert("head.weight", zeros({1}));
  const nn::IncompatibleKeys r = small.load_state_dict(loose, false);
  CHECK(r.missing_keys == std::vector<std::string>{"2.bias"});
  CHECK(r.unexpected_keys == std::vector<std::string>{"head.weight"});
  // The error is a fulgur::Error naming the class.
  CHECK_THROWS_WITH_AS(Net().load_state_dict({}), doctest::Contains("Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: \"scale\", \"steps\""), Error);
}

TEST_CASE("state_dict round trip into another model, in place") {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  const Tensor x = randn({3, 784});
  a.eval();
  b.eval();
  CHECK_FALSE(equal(a(x), b(x)));
  a.buffer("steps").fill_(7);
  const Tensor w = b.features->at<nn::Linear>(0)->weight;
  const void* data = w.data_ptr();
  const nn::IncompatibleKeys r = b.load_state_dict(a.state_dict());
  CHECK(r.missing_keys.empty());
  CHECK(r.unexpected_keys.empty());
  CHECK(equal(a(x), b(x)));
  CHECK(b.buffer("steps").item<int64_t>() == 7);
  // Copied into the existing tensors: members, registry and optimizers keep their handles.
  CHECK(w.data_ptr() == data);
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  CHECK(equal(w, a.features->at<nn::Linear>(0)->weight));
  CHECK_FALSE(w.is_same(a.features->at<nn::Linear>(0)->weight));
  // state_dict tensors are detached, sharing the module's data.
  const nn::StateDict sd = a.state_dict();
  CHECK_FALSE(sd.at("scale").requires_grad());
  CHECK(sd.at("scale").data_ptr() == a.scale.data_ptr());
  // Non-persistent buffers are not saved; dtype is converted on load.
  CHECK_FALSE(sd.contains("scratch"));
  nn::StateDict f64;
  for (const auto& [k, v] : sd) f64.insert(k, v.is_floating_point() ? v.to(kFloat64) : v);
  Net c;
  c.load_state_dict(f64);
  CHECK(c.scale.dtype() == kFloat32);
  c.eval();
  CHECK(equal(a(x), c(x)));
}

TEST_CASE("registration rules") {
  nn::Module m;
  Tensor& w = m.register_parameter("w", ones({2}));
  CHECK(w.requires_grad());
  CHECK(m.register_parameter("frozen", ones({2}), false).requires_grad() == false);
  CHECK(m.parameters().size() == 2);
  // Re-registering the same name replaces in place (order kept).
  m.register_parameter("w", zeros({3}));
  CHECK(m.named_parameters()[0].first == "w");
  CHECK(m.parameter("w").sizes().vec() == Shape{3});
  // An undefined parameter is "None": skipped.
  m.register_parameter("bias", Tensor());
  CHECK(m.parameters().size() == 2);
  CHECK(m.has_parameter("bias"));
  CHECK_FALSE(m.state_dict().contains("bias"));
  // A tensor with history is stored detached.
  Tensor leaf = ones({2}).requires_grad_();
  Tensor& p = m.register_parameter("derived", leaf.mul(2));
  CHECK(p.is_leaf());
  CHECK_THROWS_WITH_AS(m.register_parameter("a.b", ones({1})), doctest::Contains("must not contain \".\""), Error);
  CHECK_THROWS_WITH_AS(m.register_parameter("", ones({1})), doctest::Contains("must not be empty"), Error);
  CHECK_THROWS_WITH_AS(m.register_buffer("w", ones({1})), doctest::Contains("already exists as a parameter"), Error);
  CHECK_THROWS_WITH_AS(m.register_module("w", nn::ReLU()), doctest::Contains("already exists as a parameter"), Error);
  CHECK_THROWS_WITH_AS(m.register_parameter("idx", ones({1}, {.dtype = kInt64})),
                       doctest::Contains("only floating-point tensors can require grad"), Error);
  m.register_parameter("idx", ones({1}, {.dtype = kInt64}), false);  // allowed without grad
  // register_module by value returns the typed shared_ptr.
  std::shared_ptr<nn::Sequential> seq = m.register_module("net", nn::Sequential(nn::Linear(2, 2), nn::ReLU()));
  CHECK(seq->size() == 2);
  CHECK(m.child("net") == seq);
  auto lin = std::make_shared<nn::Linear>(2, 3);
  CHECK(m.register_module("lin", lin) == lin);
  CHECK_THROWS_WITH_AS(m.child("nope"), doctest::Contains("has no child module \"nope\""), Error);
  CHECK_THROWS_WITH_AS(m.forward(ones({1})), doctest::Contains("Module has no forward(const Tensor&)"), Error);
  CHECK_THROWS_WITH_AS(m(ones({1})), doctest::Contains("Module::forward"), Error);
}

TEST_CASE("shared modules and parameters are listed once; state_dict lists every path") {
  auto shared = std::make_shared<nn::Linear>(2, 2);
  nn::Sequential seq(shared, nn::ReLU(), shared);
  CHECK(seq.parameters().size() == 2);
  CHECK(join_names(seq.named_parameters()) == "0.weight\n0.bias");
  CHECK(seq.state_dict().keys() == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(seq.named_modules().size() == 3);  // "", "0", "1"
  CHECK(seq[0] == seq[2]);
}

TEST_CASE("train/eval, apply, zero_grad") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  for (const auto& m : net.modules()) CHECK_FALSE(m->is_training());
  net.train();
  for (const auto& m : net.modules()) CHECK(m->is_training());
  // apply: children first (depth first), then self.
  std::vector<std::string> order;
  net.apply([&](nn::Module& m) { order.push_back(m.name()); });
  CHECK(order.front() == "Linear");
  CHECK(order.back() == "Net");
  CHECK(order.size() == net.modules().size());
  // e.g. re-initialise every Linear.
  net.apply([](nn::Module& m) {
    if (auto* l = dynamic_cast<nn::Linear*>(&m); l && l->bias.defined()) nn::init::zeros_(l->bias);
  });
  CHECK(net.features->at<nn::Linear>(0)->bias.eq(0).all().item<bool>());
  // zero_grad.
  net((ones({2, 784}))).sum().backward();
  const Tensor w = net.features->at<nn::Linear>(0)->weight;
  REQUIRE(w.grad().defined());
  const void* g = w.grad().data_ptr();
  net.zero_grad(/*set_to_none=*/false);
  CHECK(w.grad().data_ptr() == g);
  CHECK(w.grad().eq(0).all().item<bool>());
  net.zero_grad();
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("to(): dtype and device in place, handles kept") {
  nn::Sequential seq(nn::Linear(3, 2), nn::ReLU());
  seq.register_buffer("count", zeros({}, {.dtype = kInt64}));
  auto lin = seq.at<nn::Linear>(0);
  const Tensor w = lin->weight;  // e.g. held by an optimizer
  seq(ones({1, 3})).sum().backward();
  const std::vector<double> before = testing::values(w);
  seq.to(kFloat64);
  CHECK(w.dtype() == kFloat64);
  CHECK(lin->weight.dtype() == kFloat64);
  CHECK(seq.parameters()[0].is_same(w));
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  CHECK(w.grad().dtype() == kFloat64);
  CHECK(testing::values(w) == before);
  CHECK(seq.buffer("count").dtype() == kInt64);  // integer buffers keep their dtype
  CHECK(seq(ones({1, 3}, {.dtype = kFloat64})).dtype() == kFloat64);
  seq.to(kCPU);
  CHECK(w.device() == kCPU);
  CHECK_THROWS_WITH_AS(seq.to(kInt32), doctest::Contains("only accepts floating point dtypes"), Error);
}

TEST_CASE("Sequential, ModuleList, ModuleDict") {
  nn::Sequential seq(nn::Linear(4, 3), nn::ReLU());
  seq.push_back(nn::Linear(3, 2));
  seq.push_back("out", nn::Sigmoid());
  CHECK(seq.size() == 4);
  CHECK(seq[-1]->name() == "Sigmoid");
  CHECK(seq.at<nn::Linear>(2)->out_features == 2);
  CHECK_THROWS_WITH_AS(seq[4], doctest::Contains("index 4 is out of range for Sequential of size 4"), Error);
  CHECK_THROWS_WITH_AS(seq.at<nn::Linear>(1), doctest::Contains("Sequential[1] is a ReLU"), Error);
  CHECK(join(seq.state_dict().keys()) == "0.weight\n0.bias\n2.weight\n2.bias");
  CHECK(join_names(seq.named_children()) == "0\n1\n2\nout");
  const Tensor x = ones({5, 4});
  const Tensor expect = seq[3]->forward(seq[2]->forward(seq[1]->forward(seq[0]->forward(x))));
  CHECK(equal(seq(x), expect));
  int n = 0;
  for (const auto& m : seq) n += m != nullptr;
  CHECK(n == 4);
  // Shared, not copied.
  auto l = std::make_shared<nn::Linear>(2, 2);
  nn::Sequential s2(l);
  CHECK(s2[0] == l);

  nn::ModuleList list(nn::Linear(2, 2), nn::ReLU());
  list.append(nn::Tanh());
  nn::ModuleList more{nn::Sigmoid()};
  list.extend(more);
  CHECK(list.size() == 4);
  CHECK(join_names(list.named_children()) == "0\n1\n2\n3");
  CHECK_THROWS_WITH_AS(list(x), doctest::Contains("ModuleList has no forward"), Error);

  nn::ModuleDict dict;
  dict.insert("enc", nn::Linear(2, 2));
  dict.insert("act", nn::ReLU());
  dict.insert("enc", nn::Linear(2, 3));  // replaced, position kept
  CHECK(dict.keys() == std::vector<std::string>{"enc", "act"});
  CHECK(dict.at<nn::Linear>("enc")->out_features == 3);
  CHECK(dict.contains("act"));
  CHECK_FALSE(dict.contains("dec"));
  CHECK_THROWS_WITH_AS(dict["dec"], doctest::Contains("no module under key \"dec\""), Error);
  CHECK(join(dict.state_dict().keys()) == "enc.weight\nenc.bias");
}

TEST_CASE("StateDict helpers") {
  nn::StateDict sd{{"a", ones({1})}, {"b", zeros({2})}};
  CHECK(sd.size() == 2);
  CHECK(sd.keys() == std::vector<std::string>{"a", "b"});
  sd.insert("a", zeros({3}));
  CHECK(sd.keys() == std::vector<std::string>{"a", "b"});
  CHECK(sd.at("a").numel() == 3);
  sd["c"] = ones({4});
  CHECK(sd.keys().back() == "c");
  CHECK(sd.find("zzz") == nullptr);
  CHECK(sd.erase("b"));
  CHECK_FALSE(sd.erase("b"));
  CHECK_THROWS_WITH_AS(sd.at("b"), doctest::Contains("no key \"b\""), Error);
}

TEST_CASE("python reprs of numbers") {
  CHECK(nn::repr_float(1e-05) == "1e-05");
  CHECK(nn::repr_float(0.0001) == "0.0001");
  CHECK(nn::repr_float(0.5) == "0.5");
  CHECK(nn::repr_float(1.0) == "1.0");
  CHECK(nn::repr_float(-2.5) == "-2.5");
  CHECK(nn::repr_float(0.1) == "0.1");
  CHECK(nn::repr_float(123456.0) == "123456.0");
  CHECK(nn::repr_float(1e16) == "1e+16");
  CHECK(nn::repr_float(1.5e300) == "1.5e+300");
  CHECK(nn::repr_float(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(nn::repr_tuple({4}) == "(4,)");
  CHECK(nn::repr_tuple({2, 3}) == "(2, 3)");
}

// The module of /work/shared/docs/api.md, as it compiles here (the trainer is not written yet).
class Classifier : public nn::Module {
 public:
  Classifier() {
    net_ = register_module("net", nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10)));
  }
  Tensor forward(const Tensor& x) override { return (*net_)(x); }
  std::string name() const override { return "Classifier"; }

 private:
  std::shared_ptr<nn::Sequential> net_;
};

TEST_CASE("a small model trains with F::cross_entropy") {
  manual_seed(0);
  auto model = std::make_shared<Classifier>();
  const Tensor x = randn({32, 784});
  const Tensor y = randint(0, 10, {32});
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    model->zero_grad();
    Tensor loss = F::cross_entropy((*model)(x), y);
    loss.backward();
    nn::clip_grad_norm_(model->parameters(), 5.0);
    {
      NoGradGuard g;
      for (Tensor& p : model->parameters()) p.sub_(p.grad().mul(0.1));
    }
    (step == 0 ? first : last) = loss.item<double>();
  }
  CHECK(last < 0.5 * first);
  CHECK(model->state_dict().keys() == std::vector<std::string>{"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"});
}
