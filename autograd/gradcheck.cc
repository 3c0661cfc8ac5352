#include "fulgur/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::autograd {
namespace {

// Evaluates f on detached copies of inputs where input `which` has element `flat` moved by delta.
// The copies require grad where the inputs do and f runs in the caller's grad mode: a function
// that differentiates inside (the second-order check's first derivatives) needs its graph.
std::vector<Tensor> evaluate_perturbed(const Function& f, const std::vector<Tensor>& inputs, size_t which,
                                       int64_t flat, double delta) {
  std::vector<Tensor> copies;
  {
    NoGradGuard guard;
    for (size_t i = 0; i < inputs.size(); ++i) {
      Tensor c = inputs[i].detach().clone();
      if (i == which) {
        Tensor element = c.reshape({-1}).narrow(0, flat, 1);
        element.add_(delta);
      }
      copies.push_back(c);
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) copies[i].requires_grad_();
  std::vector<Tensor> out = f(copies);
  for (Tensor& o : out) o = o.detach().to(kFloat64).contiguous();
  return out;
}

std::vector<double> flat_values(const Tensor& t) { return t.to(kFloat64).contiguous().to_vector<double>(); }

bool check_first_order(const Function& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  std::vector<Tensor> outputs = f(inputs);
  std::vector<Tensor> diff_inputs;
  std::vector<size_t> diff_index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    FULGUR_CHECK(inputs[i].dtype() == kFloat64, "gradcheck", "input ", i, " is ", inputs[i].dtype(),
                 "; hint: gradcheck needs float64 inputs for finite differences to be meaningful");
    diff_inputs.push_back(inputs[i]);
    diff_index.push_back(i);
  }
  FULGUR_CHECK(!diff_inputs.empty(), "gradcheck", "no input requires grad");
  for (size_t oi = 0; oi < outputs.size(); ++oi) {
    const Tensor& out = outputs[oi];
    if (!out.is_floating_point()) continue;
    const int64_t n_out = out.numel();
    // Analytic Jacobian rows: d out[k] / d inputs.
    std::vector<std::vector<std::vector<double>>> analytic(static_cast<size_t>(n_out));
    for (int64_t k = 0; k < n_out; ++k) {
      Tensor seed = zeros_like(out);
      {
        NoGradGuard guard;
        seed.reshape({-1}).narrow(0, k, 1).fill_(1);
      }
      std::vector<Tensor> g;
      if (out.requires_grad()) {
        g = grad({out}, diff_inputs, {.grad_outputs = {seed}, .retain_graph = true, .allow_unused = true});
      } else {
        g.assign(diff_inputs.size(), Tensor());
      }
      for (size_t j = 0; j < diff_inputs.size(); ++j) {
        analytic[static_cast<size_t>(k)].push_back(g[j].defined() ? flat_values(g[j])
                                                                  : std::vector<double>(static_cast<size_t>(diff_inputs[j].numel()), 0.0));
      }
    }
    // Numeric Jacobian columns, compared as they come.
    for (size_t j = 0; j < diff_inputs.size(); ++j) {
      for (int64_t e = 0; e < diff_inputs[j].numel(); ++e) {
        const auto plus = evaluate_perturbed(f, inputs, diff_index[j], e, o.eps);
        const auto minus = evaluate_perturbed(f, inputs, diff_index[j], e, -o.eps);
        const std::vector<double> p = flat_values(plus[oi]), m = flat_values(minus[oi]);
        for (int64_t k = 0; k < n_out; ++k) {
          const double numeric = (p[static_cast<size_t>(k)] - m[static_cast<size_t>(k)]) / (2 * o.eps);
          const double a = analytic[static_cast<size_t>(k)][j][static_cast<size_t>(e)];
          const bool ok = std::abs(a - numeric) <= o.atol + o.rtol * std::abs(numeric) ||
                          (std::isnan(a) && std::isnan(numeric));
          FULGUR_CHECK(ok, "gradcheck", "Jacobian mismatch for output ", oi, " element ", k, " with respect to input ",
                       diff_index[j], " element ", e, ": numerical ", numeric, ", analytical ", a, " (eps ", o.eps,
                       ", atol ", o.atol, ", rtol ", o.rtol, ")");
        }
      }
    }
  }
  return true;
}

}  // namespace

bool gradcheck(const Function& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  ensure_installed();
  check_first_order(f, inputs, options);
  if (!options.check_second_order) return true;
  // Second order: check the function inputs -> (d/d inputs of sum(outputs * fixed weights)).
  std::vector<Tensor> weights;
  {
    NoGradGuard guard;
    Generator gen(1234);
    for (const Tensor& out : f(inputs)) weights.push_back(rand(out.sizes(), {.dtype = kFloat64}, &gen));
  }
  std::vector<size_t> diff_index;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) diff_index.push_back(i);
  const Function first_derivatives = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> diff;
    for (size_t i : diff_index) diff.push_back(xs[i]);
    std::vector<Tensor> outs = f(xs);
    Tensor total = zeros({}, {.dtype = kFloat64});
    for (size_t i = 0; i < outs.size(); ++i) total = total.add(outs[i].to(kFloat64).mul(weights[i]).sum());
    if (!total.requires_grad()) {
      std::vector<Tensor> z;
      for (const Tensor& d : diff) z.push_back(zeros_like(d));
      return z;
    }
    std::vector<Tensor> g = grad({total}, diff, {.create_graph = true, .allow_unused = true});
    for (size_t i = 0; i < g.size(); ++i)
      if (!g[i].defined()) g[i] = zeros_like(diff[i]);
    return g;
  };
  GradcheckOptions first = options;
  first.check_second_order = false;
  return check_first_order(first_derivatives, inputs, first);
}

bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
               const GradcheckOptions& options) {
  return gradcheck(Function([&](const std::vector<Tensor>& xs) { return std::vector<Tensor>{f(xs)}; }), inputs,
                   options);
}

}  // namespace fulgur::autograd
