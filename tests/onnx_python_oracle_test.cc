// An independent oracle for fulgur::onnx::export_model: models exported here are checked by
// Python's onnx (Debian's python3-onnx 1.12: onnx.checker.check_model(full_check=True)) and run
// by onnxruntime (PyPI, CPUExecutionProvider, graph optimizations on and off); its outputs
// must match the module's forward and fulgur's InferenceSession (float32: rtol 1e-4, atol
// 1e-5) at two input shapes per model (the dynamic axes). tests/onnx_python_oracle.py does
// the Python side and prints one line per model.
//
// Which Python: $FULGUR_TEST_PYTHON when set (pass it with
// `--test_env=FULGUR_TEST_PYTHON=/path/to/python3`), else the venv that .ci/run makes,
// <home>/.cache/fulgur/pyenv/bin/python3 (home from the password database: in a Bazel test
// $HOME is the test's temp dir), else /usr/bin/python3. Without python3, numpy, onnx or onnxruntime
// there the test prints a SKIPPED line naming what is missing and how to get it, and passes.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 (std::string concatenation)

#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "subprocess_util.h"

#include <algorithm>
#include "fulgur/autograd/autograd.h"
#include "fulgur/nn/activation.h"
#include "fulgur/nn/attention.h"
#include "fulgur/nn/batchnorm.h"
#include "fulgur/nn/containers.h"
#include "fulgur/nn/conv.h"
#include "fulgur/nn/dropout.h"
#include "fulgur/nn/embedding.h"
#include "fulgur/nn/flatten.h"
#include "fulgur/nn/functional/activation.h"
#include "fulgur/nn/groupnorm.h"
#include "fulgur/nn/layernorm.h"
#include "fulgur/nn/linear.h"
#include "fulgur/nn/onnx/export.h"
#include "fulgur/nn/onnx/session.h"
#include "fulgur/nn/pooling.h"
#include "fulgur/tensor/ops.h"

namespace fs = std::filesystem;
using namespace fulgur;
using namespace fulgur::testing;
namespace F = fulgur::nn::functional;
namespace fx = fulgur::onnx;

namespace {




// A .npy file (version 1.0, C order) holding the tensor's elements.
void write_npy(const Tensor& t, const fs::path& path) {
  std::string descr;
  switch (t.dtype()) {
    case kFloat32:
      descr = "<f4";
      break;
    case kFloat64:
      descr = "<f8";
      break;
    case kInt64:
      descr = "<i8";
      break;
    case kInt32:
      descr = "<i4";
      break;
    case kBool:
      descr = "|b1";
      break;
    default:
      FAIL("write_npy: unexpected dtype " << t.dtype());
  }
  std::string shape;  // "(3, 4)", "(3,)", "()"
  for (int64_t d : t.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  shape = "(" + shape + (t.sizes().size() == 1 ? ",)" : ")");
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  const Tensor c = t.contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  f.write(len, 2);
  f << header;
  f.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
  REQUIRE(f.good());
}

std::string json_str(const std::string& s) { return "\"" + s + "\""; }  // names here need no escapes

// A module from a lambda (custom forwards written with tensor ops and F::).
class Lambda : public nn::Module {
 public:
  explicit Lambda(std::function<Tensor(const Tensor&)> f) : f_(std::move(f)) {}
  Tensor forward(const Tensor& x) override { return f_(x); }

 private:
  std::function<Tensor(const Tensor&)> f_;
};

// One model: exported from a function of tensors (a module's forward, or several inputs and
// outputs), then run on each entry of `runs` by the function itself and by InferenceSession.
struct Case {
  std::string name;
  std::shared_ptr<nn::Module> module;  // set: exported with export_model (fn calls its forward)
  fx::TracedFunction fn;
  std::vector<std::pair<std::string, Tensor>> params;
  std::vector<Tensor> sample;
  std::vector<std::vector<Tensor>> runs;
  fx::ExportOptions options = {};
};

// Exports the case into dir and writes its inputs and outputs; returns its manifest entry.
std::string write_case(const Case& c, const fs::path& dir) {
  const std::string model = c.name + ".onnx";
  if (c.module) {
    fx::export_model(*c.module, (dir / model).string(), c.sample.at(0), c.options);
  } else {
    fx::export_function(c.fn, c.params, (dir / model).string(), c.sample, c.options);
  }
  const fx::InferenceSession session(dir / model);
  std::string runs;
  for (size_t r = 0; r < c.runs.size(); ++r) {
    const std::vector<Tensor>& in = c.runs[r];
    std::vector<Tensor> want;
    {
      NoGradGuard g;
      want = c.fn(in);
    }
    const std::vector<Tensor> got = session.run(in);
    REQUIRE(got.size() == want.size());
    const std::string stem = c.name + "_run" + std::to_string(r);
    std::string inputs, module, ours;
    for (size_t i = 0; i < in.size(); ++i) {
      const std::string f = stem + "_input" + std::to_string(i) + ".npy";
      write_npy(in[i], dir / f);
      inputs += (i ? ", " : "") + json_str(f);
    }
    for (size_t o = 0; o < want.size(); ++o) {
      const std::string fm = stem + "_module" + std::to_string(o) + ".npy";
      const std::string fo = stem + "_session" + std::to_string(o) + ".npy";
      write_npy(want[o], dir / fm);
      write_npy(got[o], dir / fo);
      module += (o ? ", " : "") + json_str(fm);
      ours += (o ? ", " : "") + json_str(fo);
    }
    runs += std::string(r ? ",\n" : "") + "      {\"inputs\": [" + inputs + "], \"module\": [" + module +
            "], \"session\": [" + ours + "]}";
  }
  return "  {\"name\": " + json_str(c.name) + ", \"model\": " + json_str(model) + ", \"runs\": [\n" + runs + "]}";
}

Case module_case(const std::string& name, std::shared_ptr<nn::Module> m, const Tensor& sample,
                 const std::vector<Tensor>& inputs, fx::ExportOptions options = {}) {
  m->eval();
  Case c{name,
         m,
         [m](const std::vector<Tensor>& in) { return std::vector<Tensor>{m->forward(in.at(0))}; },
         {},
         {sample},
         {},
         std::move(options)};
  for (const Tensor& x : inputs) c.runs.push_back({x});
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  manual_seed(101);
  cs.push_back(module_case("mlp",
                           std::make_shared<nn::Sequential>(nn::Linear(6, 16), nn::ReLU(), nn::Dropout(0.3),
                                                            nn::Linear(16, 4), nn::Softmax(1)),
                           randn({3, 6}), {randn({3, 6}), randn({7, 6})}));

  auto cnn = std::make_shared<nn::Sequential>(
      nn::Conv2d(3, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2),
      nn::Conv2d(8, 4, 3, {.stride = 2, .dilation = 1, .groups = 2, .bias = false}), nn::Flatten(),
      nn::Linear(4 * 2 * 2, 5), nn::LogSoftmax(1));
  {
    NoGradGuard g;  // non-trivial running statistics and affine parameters
    auto bn = cnn->at<nn::BatchNorm2d>(1);
    bn->running_mean.copy_(randn({8}));
    bn->running_var.copy_(rand({8}).add(0.5));
    bn->weight.copy_(randn({8}));
    bn->bias.copy_(randn({8}));
  }
  cs.push_back(
      module_case("cnn_batchnorm_pool", cnn, randn({2, 3, 10, 10}), {randn({2, 3, 10, 10}), randn({5, 3, 10, 10})}));

  auto conv1d =
      std::make_shared<nn::Sequential>(nn::Conv1d(4, 6, 3, {.padding = std::string("same"), .dilation = 2}), nn::GELU(),
                                       nn::AvgPool1d(2, {.stride = 2, .padding = 1, .count_include_pad = false}),
                                       nn::LayerNorm(5), nn::SiLU(), nn::GELU("tanh"), nn::Tanh(), nn::Sigmoid());
  cs.push_back(module_case("conv1d_gelu_layernorm", conv1d, randn({2, 4, 8}), {randn({2, 4, 8}), randn({5, 4, 8})}));
  fx::ExportOptions o13;
  o13.opset_version = 13;  // LayerNorm as its formula (no LayerNormalization before 17)
  cs.push_back(module_case("conv1d_gelu_layernorm_opset13", conv1d, randn({2, 4, 8}),
                           {randn({1, 4, 8}), randn({6, 4, 8})}, o13));

  cs.push_back(module_case(
      "convtranspose_groupnorm_adaptive",
      std::make_shared<nn::Sequential>(nn::ConvTranspose2d(4, 6, 3, {.stride = 2, .padding = 1, .output_padding = 1}),
                                       nn::GroupNorm(3, 6), nn::LeakyReLU(0.1), nn::AvgPool2d(2),
                                       nn::AdaptiveAvgPool2d(nn::functional::AdaptiveSize({2, 2})),
                                       nn::AdaptiveAvgPool2d(1), nn::Flatten()),
      randn({2, 4, 4, 4}), {randn({2, 4, 4, 4}), randn({4, 4, 4, 4})}));

  cs.push_back(module_case(
      "conv2d_padding_modes_pool_ceil",
      std::make_shared<nn::Sequential>(nn::Conv2d(2, 3, 3, {.padding = 2, .padding_mode = "reflect"}),
                                       nn::Conv2d(3, 3, 3, {.padding = 1, .padding_mode = "replicate"}),
                                       nn::Conv2d(3, 2, 3, {.padding = 1, .padding_mode = "circular"}),
                                       nn::MaxPool2d(3, {.stride = 2, .dilation = 2, .ceil_mode = true}),
                                       nn::AdaptiveAvgPool2d(nn::functional::AdaptiveSize({3, 2})), nn::Flatten()),
      randn({2, 2, 9, 9}), {randn({2, 2, 9, 9}), randn({3, 2, 9, 9})}));
  cs.push_back(module_case("conv3d_pool_ceil",
                           std::make_shared<nn::Sequential>(
                               nn::Conv3d(2, 4, 3, {.padding = 1}), nn::MaxPool3d(2, {.ceil_mode = true}),
                               nn::AvgPool3d(2, {.ceil_mode = true, .count_include_pad = false}), nn::Flatten()),
                           randn({2, 2, 5, 5, 5}), {randn({2, 2, 5, 5, 5}), randn({3, 2, 5, 5, 5})}));

  cs.push_back(module_case("embedding",
                           std::make_shared<nn::Sequential>(nn::Embedding(10, 4), nn::Flatten(), nn::Linear(12, 2)),
                           randint(0, 10, {2, 3}), {randint(0, 10, {2, 3}), randint(0, 10, {6, 3})}));

  // A custom forward: tensor ops and F:: (kept finite: no log/rsqrt of negative numbers).
  auto lin = std::make_shared<nn::Linear>(4, 4);
  auto custom = std::make_shared<Lambda>([lin](const Tensor& x) {
    Tensor h = (*lin)(x);
    Tensor a = h.matmul(h.t().matmul(h).slice(0, 0, 4)).div(8.0);
    Tensor b = cat({a, h.exp().sqrt(), h.abs().add(1).log()}, 1);
    Tensor c = b.reshape({x.size(0), 3, 4}).permute({0, 2, 1});
    Tensor d = c.sum({2}, true).div(c.abs().mean({1, 2}, true).add(1)).squeeze(2);
    Tensor e = where(d.gt(0), d.clamp(-1.0, 1.0), d.neg().pow(2));
    Tensor f = std::get<0>(e.max(1, true)).add(e.amin({1}, true)).mul(e.sigmoid().tanh());
    Tensor g = maximum(f, f.sin()).sub(minimum(f, f.cos())).add(f.erf().abs().add(0.5).reciprocal().rsqrt());
    return F::log_softmax(g.unsqueeze(1).expand({x.size(0), 2, 4}).flatten(1), 1);
  });
  custom->register_module("lin", lin);
  cs.push_back(module_case("custom_forward", custom, randn({3, 4}), {randn({3, 4}), randn({6, 4})}));

  // topk / sort / argsort (ONNX TopK) and all / any (casts around ReduceMin / ReduceMax).
  auto ranks = std::make_shared<Lambda>([](const Tensor& x) {
    auto [v, i] = x.topk(3, 1, true);
    const Tensor pos = x.gt(0.0);
    return cat({v, i.to(DType::Float32), std::get<0>(x.sort(1)), x.argsort(1, true).to(DType::Float32),
                pos.all(1, true).to(DType::Float32), pos.any(1, true).to(DType::Float32)},
               1);
  });
  cs.push_back(module_case("topk_sort_all_any", ranks, randn({2, 5}), {randn({2, 5}), randn({7, 5})}));

  fx::ExportOptions two_axes;
  two_axes.input_names = {"x"};
  two_axes.output_names = {"y"};
  two_axes.dynamic_axes = fx::DynamicAxes{{"x", {{0, "batch"}, {1, "seq"}}}};
  cs.push_back(
      module_case("multihead_attention",
                  std::make_shared<nn::MultiheadAttention>(8, 2, nn::MultiheadAttentionOptions{.batch_first = true}),
                  randn({2, 5, 8}), {randn({3, 4, 8}), randn({1, 7, 8})}, two_axes));

  // Two inputs, two outputs (one of them an input: Identity), a parameter, in-place ops.
  const Tensor w = randn({4, 4});
  Case two{"two_inputs_two_outputs",
           nullptr,
           [w](const std::vector<Tensor>& in) {
             Tensor h = in[0].matmul(w);
             h.add_(in[1]).relu_();
             return std::vector<Tensor>{h.mul(full({4}, 2.0)), in[1]};
           },
           {{"w", w}},
           {randn({2, 4}), randn({2, 4})},
           {{randn({2, 4}), randn({2, 4})}, {randn({5, 4}), randn({5, 4})}},
           {}};
  two.options.input_names = {"a", "b"};
  two.options.output_names = {"k", "b_out"};
  cs.push_back(two);
  return cs;
}

}  // namespace

TEST_CASE("onnx oracle: exported models pass onnx.checker and onnxruntime matches the module and our runtime") {
  const auto [python, from] = find_python();
  const auto missing = missing_python_modules(python, {{"numpy", "numpy"}, {"onnx", "onnx"}, {"onnxruntime", "onnxruntime"}});
  if (!missing || !missing->empty()) {
    std::string why = "SKIPPED: onnx python oracle: ";
    if (!missing) {
      why += python + " (" + from +
             ") does not run (apt-get install python3, or point --test_env=FULGUR_TEST_PYTHON at one)";
    } else {
      const auto lacks = [&](const std::string& m) {
        return std::find(missing->begin(), missing->end(), m) != missing->end();
      };
      std::string how;
      if (lacks("numpy")) how += "apt-get install python3-numpy; ";
      if (lacks("onnx")) how += "apt-get install python3-onnx; ";
      if (lacks("onnxruntime"))
        how +=
            "/usr/bin/python3 -m venv --system-site-packages ~/.cache/fulgur/pyenv && "
            "~/.cache/fulgur/pyenv/bin/pip install onnxruntime==1.16.3, as .ci/run does; ";
      std::string names;
      for (const std::string& m : *missing) names += (names.empty() ? "" : " ") + m;
      why += python + " (" + from + ") lacks " + names + " (" + how +
             "or --test_env=FULGUR_TEST_PYTHON=<a python3 with them>)";
    }
    std::cout << why << std::endl;
    MESSAGE(why);
    return;
  }

  const char* tmp = std::getenv("TEST_TMPDIR");
  const fs::path dir = fs::path(tmp ? tmp : "/tmp") / "onnx_python_oracle";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string manifest = "[\n";
  const std::vector<Case> cs = cases();
  for (size_t i = 0; i < cs.size(); ++i) {
    CAPTURE(cs[i].name);
    manifest += write_case(cs[i], dir) + (i + 1 < cs.size() ? ",\n" : "\n");
  }
  manifest += "]\n";
  {
    std::ofstream f(dir / "manifest.json");
    f << manifest;
    REQUIRE(f.good());
  }

  std::string out;
  const int rc = run_command(shell_quoted(python) + " tests/onnx_python_oracle.py " + shell_quoted(dir.string()), out);
  MESSAGE("python: " << python << " (" << from << ")\n" << out);
  CHECK(rc == 0);
  for (const Case& c : cs) {
    CAPTURE(c.name);
    CHECK(out.find("\nOK " + c.name + ":") != std::string::npos);
  }
  CHECK(out.find("ALL OK: " + std::to_string(cs.size()) + " models") != std::string::npos);
}
