// Losses (mean-reduced, torch.nn.functional) and optimizers (SGD, Adam, AdamW).
#include <string>

#include "capi/handles.h"

namespace fulgur::capi {
namespace {

void check_same_shape(const Tensor& input, const Tensor& target) {
  if (input.sizes() != target.sizes()) {
    fail(FULGUR_SHAPE_MISMATCH, "input " + shape_str(input.sizes()) + " and target " + shape_str(target.sizes()) +
                                    " differ; hint: this loss takes a target of the input's shape");
  }
}

}  // namespace

Tensor compute_loss(int32_t kind, const fulgur_tensor* input_handle, const fulgur_tensor* target_handle) {
  const Tensor input = model_input(input_handle, "input");
  require(target_handle, "target");
  const Tensor& target = target_handle->tensor;
  namespace F = nn::functional;
  switch (kind) {
    case FULGUR_LOSS_MSE:
      check_same_shape(input, target);
      return F::mse_loss(input, model_input(target_handle, "target"));
    case FULGUR_LOSS_L1:
      check_same_shape(input, target);
      return F::l1_loss(input, model_input(target_handle, "target"));
    case FULGUR_LOSS_SMOOTH_L1:
      check_same_shape(input, target);
      return F::smooth_l1_loss(input, model_input(target_handle, "target"));
    case FULGUR_LOSS_BCE_WITH_LOGITS:
      check_same_shape(input, target);
      return F::binary_cross_entropy_with_logits(input, model_input(target_handle, "target"));
    case FULGUR_LOSS_CROSS_ENTROPY:
      if (target.dtype() != DType::Int64) {
        fail(FULGUR_DTYPE_MISMATCH,
             "cross entropy's target is " + std::string(dtype_name(target.dtype())) + "; it takes int64 class indices");
      }
      if (input.dim() != 2 || target.dim() != 1 || target.size(0) != input.size(0)) {
        fail(FULGUR_SHAPE_MISMATCH, "cross entropy takes logits [N, C] and target [N]; got input " +
                                        shape_str(input.sizes()) + " and target " + shape_str(target.sizes()));
      }
      return F::cross_entropy(input, target);
  }
  fail(FULGUR_INVALID_ARGUMENT, "loss kind " + std::to_string(kind) + " is not a fulgur_loss_kind (0..4)");
}

namespace {

std::vector<Tensor> parameters_of(const fulgur_model* model) {
  require(model, "model");
  std::vector<Tensor> params = model->net->parameters();
  if (params.empty())
    fail(FULGUR_INVALID_ARGUMENT, "the model has no parameters; hint: add a layer with weights first");
  return params;
}

optim::Optimizer& optimizer_of(const fulgur_optimizer* optimizer) {
  require(optimizer, "optimizer");
  return *optimizer->optimizer;
}

template <class Optim, class Options>
void make_optimizer(const fulgur_model* model, Options options, fulgur_optimizer** out) {
  require(out, "out");
  auto handle = std::make_unique<fulgur_optimizer>();
  handle->optimizer = std::make_unique<Optim>(parameters_of(model), options);
  *out = handle.release();
}

}  // namespace
}  // namespace fulgur::capi

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

fulgur_status fulgur_loss(fulgur_loss_kind kind, const fulgur_tensor* input, const fulgur_tensor* target,
                          fulgur_tensor** out) {
  return guarded(__func__, FULGUR_SHAPE_MISMATCH, [&] {
    require(out, "out");
    Tensor loss = compute_loss(static_cast<int32_t>(kind), input, target);
    *out = new fulgur_tensor{std::move(loss)};
  });
}

fulgur_status fulgur_optimizer_sgd(fulgur_model* model, double lr, double momentum, double weight_decay,
                                   int32_t nesterov, fulgur_optimizer** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    make_optimizer<optim::SGD>(
        model,
        optim::SGDOptions{.lr = lr, .momentum = momentum, .weight_decay = weight_decay, .nesterov = nesterov != 0},
        out);
  });
}

fulgur_status fulgur_optimizer_adam(fulgur_model* model, double lr, double beta1, double beta2, double eps,
                                    double weight_decay, fulgur_optimizer** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    make_optimizer<optim::Adam>(
        model, optim::AdamOptions{.lr = lr, .betas = {beta1, beta2}, .eps = eps, .weight_decay = weight_decay}, out);
  });
}

fulgur_status fulgur_optimizer_adamw(fulgur_model* model, double lr, double beta1, double beta2, double eps,
                                     double weight_decay, fulgur_optimizer** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    make_optimizer<optim::AdamW>(
        model, optim::AdamWOptions{.lr = lr, .betas = {beta1, beta2}, .eps = eps, .weight_decay = weight_decay}, out);
  });
}

void fulgur_optimizer_destroy(fulgur_optimizer* optimizer) { delete optimizer; }

fulgur_status fulgur_optimizer_step(fulgur_optimizer* optimizer) {
  return guarded(__func__, FULGUR_INTERNAL, [&] {
    optimizer_of(optimizer).step();
    ++optimizer->steps;
  });
}

fulgur_status fulgur_optimizer_zero_grad(fulgur_optimizer* optimizer) {
  return guarded(__func__, FULGUR_INTERNAL, [&] { optimizer_of(optimizer).zero_grad(); });
}

fulgur_status fulgur_optimizer_get_lr(const fulgur_optimizer* optimizer, double* lr) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const optim::Optimizer& o = optimizer_of(optimizer);
    require(lr, "lr");
    *lr = o.get_lr();
  });
}

fulgur_status fulgur_optimizer_set_lr(fulgur_optimizer* optimizer, double lr) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    optim::Optimizer& o = optimizer_of(optimizer);
    if (!(lr >= 0)) fail(FULGUR_INVALID_ARGUMENT, "lr is " + std::to_string(lr) + ", must be >= 0");
    o.set_lr(lr);
  });
}

fulgur_status fulgur_optimizer_num_steps(const fulgur_optimizer* optimizer, int64_t* steps) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    optimizer_of(optimizer);
    require(steps, "steps");
    *steps = optimizer->steps;
  });
}

}  // extern "C"
