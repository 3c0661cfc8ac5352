// Interop with Python's torch (Debian's python3-torch, run as /usr/bin/python3): C++ saves a
// state_dict, an optimizer state and a Lightning-shaped checkpoint plus a safetensors file,
// tests/serialize_interop.py checks every value (weights_only=True for the state_dict) and
// writes a torch.nn model's state_dict, its input/output and a safetensors file, which C++
// loads into the equivalent fulgur module and checks. Without python3 or torch the test
// prints a SKIPPED line and passes.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 (std::string concatenation)

#include <sys/stat.h>

#include <cstdio>
#include <iostream>

#include "subprocess_util.h"
#include "serialize_test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

const char* kPython = "/usr/bin/python3";


Tensor ar(int64_t n, DType dtype, double scale, double offset) {
  Tensor t = make_tensor({n}, dtype, kCPU);
  for (int64_t i = 0; i < n; ++i) set(t, {i}, dtype == kBool ? static_cast<double>(i % 2) : i * scale + offset);
  return t;
}

Value misc() {
  Tensor base = ar(12, kFloat32, 0.5, -1.0).view({3, 4});
  Tensor p = ar(3, kFloat32, 2.0, 0.0);
  p.requires_grad_(true);
  Value m = Value::dict({
      {"base", base},
      {"transposed", base.t()},
      {"row", base[1]},
      {"strided", base.slice(1, 0, 4, 2)},
      {"expanded", tensor({1.0f, 2.0f}).expand({3, 2})},
      {"param", p},
      {"scalar", full({}, 3.25, {.dtype = kFloat64})},
      {"empty", zeros({0, 3})},
      {"int_keys", Value::dict({{0, "a"}, {5, "b"}, {-7, "c"}})},
      {"min", std::numeric_limits<int64_t>::min()},
      {"max", std::numeric_limits<int64_t>::max()},
      {"inf", std::numeric_limits<double>::infinity()},
      {"float", 0.1},
  });
  for (DType dt : all_dtypes()) {
    m.set("dtype_" + std::string(dtype_name(dt)),
          ar(5, dt, is_floating(dt) ? 1.5 : 1.0, dt == kBool || dt == kUInt8 ? 0.0 : -2.0));
  }
  return m;
}

}  // namespace

TEST_CASE("interop: files round-trip through Python's torch.load / torch.save") {
  std::string probe;
  if (run_command(std::string(kPython) + " -c 'import torch, numpy'", probe) != 0) {
    const std::string why = "SKIPPED: serialize interop: " + std::string(kPython) +
                            " with torch and numpy is not available (apt-get install python3-torch)";
    std::cout << why << std::endl;
    MESSAGE(why);
    return;
  }
  const std::string dir = tmp_path("interop");
  ::mkdir(dir.c_str(), 0755);

  // ---- C++ writes ----------------------------------------------------------------------
  nn::Sequential model(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  model.load_state_dict(nn::StateDict{{"0.weight", ar(12, kFloat32, 0.125, -0.5).view({4, 3})},
                                      {"0.bias", ar(4, kFloat32, 0.25, 0)},
                                      {"2.weight", ar(8, kFloat32, -0.125, 0.5).view({2, 4})},
                                      {"2.bias", ar(2, kFloat32, 1.0, -1.0)}});
  const Value sd = nn::to_value(model.state_dict());
  nn::save_state_dict(model.state_dict(), dir + "/cpp_state_dict.pt");

  Tensor w = ar(6, kFloat32, 0.5, 0).view({2, 3}).clone();
  Tensor b = ar(2, kFloat32, -1.0, 0);
  w.requires_grad_(true);
  b.requires_grad_(true);
  optim::Adam adam({w, b}, {.lr = 0.01, .betas = {0.8, 0.9}});
  w.mutable_grad() = ones({2, 3});
  b.mutable_grad() = full({2}, 2.0);
  adam.step();
  const Value opt = adam.state_dict();
  save(opt, dir + "/cpp_optimizer.pt");

  const Value ckpt = Value::dict({
      {"epoch", 3},
      {"global_step", 120},
      {"pytorch-lightning_version", "2.1.0"},
      {"state_dict", sd},
      {"optimizer_states", Value::list({opt})},
      {"lr_schedulers", Value::list({Value::dict({{"step_size", 1},
                                                  {"gamma", 0.5},
                                                  {"base_lrs", Value::list({0.01})},
                                                  {"last_epoch", 3},
                                                  {"_step_count", 4},
                                                  {"verbose", false},
                                                  {"_get_lr_called_within_step", false},
                                                  {"_last_lr", Value::list({0.00125})}})})},
      {"hyper_parameters", Value::dict({{"hidden", 4},
                                        {"lr", 0.01},
                                        {"name", "mlp \xe2\x98\x83"},
                                        {"flags", Value::list({true, false})},
                                        {"none", Value()},
                                        {"big", int64_t{1} << 40},
                                        {"neg", -7},
                                        {"shape", Value::tuple({3, 4})}})},
      {"misc", misc()},
  });
  save(ckpt, dir + "/cpp_checkpoint.pt");

  NamedTensors st;
  for (DType dt : all_dtypes()) {
    st.emplace_back(std::string(dtype_name(dt)),
                    ar(6, dt, is_floating(dt) ? 1.5 : 1.0, dt == kBool || dt == kUInt8 ? 0.0 : -2.0).view({2, 3}));
  }
  st.emplace_back("transposed", ar(6, kFloat32, 1.0, 0).view({2, 3}).t());
  save_safetensors(st, dir + "/cpp.safetensors", {{"format", "pt"}, {"source", "fulgur"}});

  // ---- Python checks and writes ------------------------------------------------------------
  std::string out;
  const int rc = run_command(std::string(kPython) + " tests/serialize_interop.py " + dir, out);
  MESSAGE(out);
  REQUIRE(rc == 0);
  CHECK(out.find("ALL OK") != std::string::npos);

  // ---- C++ loads what Python wrote -----------------------------------------------------------
  nn::Sequential net(nn::Conv2d(1, 4, 3), nn::BatchNorm2d(4), nn::ReLU(), nn::Flatten(), nn::Linear(4 * 4 * 4, 10));
  net.load_state_dict(nn::load_state_dict_file(dir + "/py_model_state_dict.pt"));
  net.eval();
  const Value io = load(dir + "/py_model_io.pt");
  const Tensor y = net(io.at("x").as_tensor());
  CHECK(y.sizes() == IntArrayRef{3, 10});
  CHECK(allclose(y, io.at("y").as_tensor(), 1e-5, 1e-6));

  const SafetensorsFile py = load_safetensors(dir + "/py.safetensors");
  const Value ref = load(dir + "/py_safetensors_ref.pt");
  REQUIRE(py.tensors.size() == ref.size());
  for (const auto& [name, t] : py.tensors) {
    CAPTURE(name);
    const Tensor& r = ref.at(name).as_tensor();
    CHECK(t.dtype() == r.dtype());
    CHECK(t.sizes() == r.sizes());
    CHECK(element_bytes(t) == element_bytes(r));
  }
  REQUIRE(py.metadata.size() == 1);
  CHECK(py.metadata[0].second == "numpy");
}
