// Models: a torch.nn.Sequential built layer by layer from a seeded stream, forward, mode,
// parameters, ONNX export.
#include <cstring>
#include <functional>
#include <string>

#include "capi/handles.h"
#include "fulgur/nn/onnx/export.h"
#include "fulgur/nn/onnx/onnx_module.h"

namespace fulgur::capi {
namespace {

nn::Sequential& net_of(const fulgur_model* model) {
  require(model, "model");
  return *model->net;
}

// Builds a layer with the model's stream as this thread's default generator, which is where
// layer constructors draw their initial weights (as after torch.manual_seed(seed)). Other
// threads' default generators are untouched.
void add_seeded(fulgur_model* model, const std::function<std::shared_ptr<nn::Module>()>& make) {
  require(model, "model");
  std::shared_ptr<nn::Module> layer;
  {
    DefaultGeneratorGuard guard(*model->generator);
    layer = make();
  }
  model->net->push_back(std::move(layer));
}

void check_positive(int64_t value, const char* what) {
  if (value <= 0) fail(FULGUR_INVALID_ARGUMENT, std::string(what) + " is " + std::to_string(value) + ", must be > 0");
}

std::pair<std::string, Tensor> parameter_at(const fulgur_model* model, int64_t index) {
  const auto params = net_of(model).named_parameters();
  if (index < 0 || index >= static_cast<int64_t>(params.size())) {
    fail(FULGUR_INVALID_ARGUMENT,
         "parameter index " + std::to_string(index) + " is outside [0, " + std::to_string(params.size()) + ")");
  }
  return params[static_cast<size_t>(index)];
}

}  // namespace

// The model's input as float32 (float64 is converted; other dtypes refused).
Tensor model_input(const fulgur_tensor* x, const char* what) {
  require(x, what);
  const Tensor& t = x->tensor;
  if (t.dtype() == DType::Float32) return t;
  if (t.dtype() == DType::Float64) return t.to(DType::Float32);
  fail(FULGUR_DTYPE_MISMATCH, std::string(what) + " is " + std::string(dtype_name(t.dtype())) +
                                  "; the model takes float32 (or float64, converted)");
}

}  // namespace fulgur::capi

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

fulgur_status fulgur_model_create(uint64_t seed, fulgur_model** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(out, "out");
    auto model = std::make_unique<fulgur_model>();
    model->net = std::make_shared<nn::Sequential>();
    model->generator = std::make_shared<Generator>(seed);
    *out = model.release();
  });
}

void fulgur_model_destroy(fulgur_model* model) { delete model; }

fulgur_status fulgur_model_to(fulgur_model* model, fulgur_device device) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] { net_of(model).to(device_of(device)); });
}

fulgur_status fulgur_model_add_onnx(fulgur_model* model, const char* path) {
  return guarded(__func__, FULGUR_IO_ERROR, [&] {
    require(model, "model");
    require(path, "path");
    model->net->push_back(std::make_shared<fulgur::onnx::OnnxModule>(path));
  });
}

fulgur_status fulgur_model_add_linear(fulgur_model* model, int64_t in_features, int64_t out_features, int32_t bias) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    check_positive(in_features, "in_features");
    check_positive(out_features, "out_features");
    add_seeded(model, [&] {
      return std::make_shared<nn::Linear>(in_features, out_features, nn::LinearOptions{.bias = bias != 0});
    });
  });
}

fulgur_status fulgur_model_add_relu(fulgur_model* model) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT,
                 [&] { add_seeded(model, [] { return std::make_shared<nn::ReLU>(); }); });
}

fulgur_status fulgur_model_add_tanh(fulgur_model* model) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT,
                 [&] { add_seeded(model, [] { return std::make_shared<nn::Tanh>(); }); });
}

fulgur_status fulgur_model_add_sigmoid(fulgur_model* model) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT,
                 [&] { add_seeded(model, [] { return std::make_shared<nn::Sigmoid>(); }); });
}

fulgur_status fulgur_model_add_gelu(fulgur_model* model, int32_t approximate_tanh) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    add_seeded(model, [&] { return std::make_shared<nn::GELU>(approximate_tanh != 0 ? "tanh" : "none"); });
  });
}

fulgur_status fulgur_model_add_dropout(fulgur_model* model, double p) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(model, "model");
    if (!(p >= 0 && p < 1)) fail(FULGUR_INVALID_ARGUMENT, "p is " + std::to_string(p) + ", must be in [0, 1)");
    Generator* generator = model->generator.get();
    add_seeded(model,
               [&] { return std::make_shared<nn::Dropout>(nn::DropoutOptions{.p = p, .generator = generator}); });
  });
}

fulgur_status fulgur_model_add_layer_norm(fulgur_model* model, int64_t normalized_size, double eps) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    check_positive(normalized_size, "normalized_size");
    if (!(eps > 0)) fail(FULGUR_INVALID_ARGUMENT, "eps is " + std::to_string(eps) + ", must be > 0");
    add_seeded(model,
               [&] { return std::make_shared<nn::LayerNorm>(normalized_size, nn::LayerNormOptions{.eps = eps}); });
  });
}

fulgur_status fulgur_model_add_conv2d(fulgur_model* model, int64_t in_channels, int64_t out_channels,
                                      int64_t kernel_size, int64_t stride, int64_t padding) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    check_positive(in_channels, "in_channels");
    check_positive(out_channels, "out_channels");
    check_positive(kernel_size, "kernel_size");
    check_positive(stride, "stride");
    if (padding < 0) fail(FULGUR_INVALID_ARGUMENT, "padding is " + std::to_string(padding) + ", must be >= 0");
    add_seeded(model, [&] {
      return std::make_shared<nn::Conv2d>(in_channels, out_channels, kernel_size,
                                          nn::ConvOptions{.stride = stride, .padding = padding});
    });
  });
}

fulgur_status fulgur_model_add_flatten(fulgur_model* model) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT,
                 [&] { add_seeded(model, [] { return std::make_shared<nn::Flatten>(); }); });
}

fulgur_status fulgur_model_forward(fulgur_model* model, const fulgur_tensor* x, fulgur_tensor** out) {
  // A library error here is an input that does not fit the layers.
  return guarded(__func__, FULGUR_SHAPE_MISMATCH, [&] {
    nn::Sequential& net = net_of(model);
    require(out, "out");
    const Tensor input = model_input(x, "x");
    if (net.empty()) fail(FULGUR_INVALID_ARGUMENT, "the model has no layers; hint: add some with fulgur_model_add_*");
    std::optional<NoGradGuard> no_grad;
    if (!net.is_training()) no_grad.emplace();
    Tensor y = net.forward(input).contiguous();
    *out = new fulgur_tensor{std::move(y)};
  });
}

fulgur_status fulgur_model_set_training(fulgur_model* model, int32_t training) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] { net_of(model).train(training != 0); });
}

fulgur_status fulgur_model_num_parameter_tensors(const fulgur_model* model, int64_t* count) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const nn::Sequential& net = net_of(model);
    require(count, "count");
    *count = static_cast<int64_t>(net.parameters().size());
  });
}

fulgur_status fulgur_model_num_parameters(const fulgur_model* model, int64_t* count) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const nn::Sequential& net = net_of(model);
    require(count, "count");
    int64_t n = 0;
    for (const Tensor& p : net.parameters()) n += p.numel();
    *count = n;
  });
}

fulgur_status fulgur_model_parameter(const fulgur_model* model, int64_t index, fulgur_tensor** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(out, "out");
    *out = new fulgur_tensor{parameter_at(model, index).second};
  });
}

fulgur_status fulgur_model_parameter_name(const fulgur_model* model, int64_t index, char* name, size_t capacity) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(name, "name");
    const std::string n = parameter_at(model, index).first;
    if (n.size() + 1 > capacity) {
      fail(FULGUR_INVALID_ARGUMENT, "the name \"" + n + "\" needs " + std::to_string(n.size() + 1) +
                                        " bytes, capacity is " + std::to_string(capacity));
    }
    std::memcpy(name, n.c_str(), n.size() + 1);
  });
}

fulgur_status fulgur_model_zero_grad(fulgur_model* model) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] { net_of(model).zero_grad(); });
}

fulgur_status fulgur_model_export_onnx(fulgur_model* model, const char* path, const fulgur_tensor* sample_input) {
  return guarded(__func__, FULGUR_IO_ERROR, [&] {
    nn::Sequential& net = net_of(model);
    require(path, "path");
    const Tensor input = model_input(sample_input, "sample_input");
    fulgur::onnx::export_model(net, path, input);
  });
}

}  // extern "C"
