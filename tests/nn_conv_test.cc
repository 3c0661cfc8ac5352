// Convolution and pooling (tensor/window.cc, nn/functional/conv.h, pooling.h, nn/conv.h,
// nn/pooling.h): outputs and gradients against PyTorch 1.13 (golden/nn_conv_golden.inc,
// float64, 1e-10), finite-difference gradchecks, module parameters / init / reprs, errors.
#include "fulgur/tests/test_util.h"
#include "tests/golden/nn_conv_golden.inc"
#include "fulgur/autograd/node.h"

#include <map>

using namespace fulgur;
using namespace fulgur::testing;
using nn_golden::GCase;

namespace {

// Leaves (requires_grad) for the case's floating inputs among `names`.
std::map<std::string, Tensor> leaves(const GCase& c, std::initializer_list<const char*> names) {
  std::map<std::string, Tensor> m;
  for (const char* n : names) {
    Tensor t = nn_golden::tensor(c, n);
    if (t.defined()) m[n] = t.requires_grad_();
  }
  return m;
}

// out against "out"; then backward of sum(out * grad_out) and every leaf's grad against
// "grad.<leaf>".
void check_out_and_grads(const GCase& c, const Tensor& out, std::map<std::string, Tensor>& in) {
  nn_golden::expect_golden(out, c, "out");
  out.mul(nn_golden::tensor(c, "grad_out")).sum().backward();
  for (auto& [name, t] : in) {
    if (nn_golden::has_tensor(c, "grad." + name)) nn_golden::expect_golden(t.grad(), c, "grad." + name);
  }
}

nn::ConvPadding golden_padding(const GCase& c) {
  if (nn_golden::has_str(c, "padding")) return nn::ConvPadding(nn_golden::str(c, "padding"));
  return nn::ConvPadding(nn_golden::ints(c, "padding"));
}

Shape stride_of(const GCase& c) { return nn_golden::has_ints(c, "stride") ? nn_golden::ints(c, "stride") : Shape{}; }

void run_golden_case(const GCase& c) {
  INFO("golden case ", c.name);
  const std::string kind = c.kind;
  using nn_golden::int1;
  using nn_golden::ints;
  auto in = leaves(c, {"input", "weight", "bias"});
  const Tensor x = in["input"];
  const Tensor w = in.count("weight") ? in["weight"] : Tensor();
  const Tensor b = in.count("bias") ? in["bias"] : Tensor();
  Tensor out;
  if (kind == "unfold") {
    out = F::unfold(x, ints(c, "kernel_size"), ints(c, "dilation"), ints(c, "padding"), ints(c, "stride"));
  } else if (kind == "unfold_nd") {
    out = fulgur::unfold(x, ints(c, "kernel_size"), ints(c, "dilation"), ints(c, "padding"), ints(c, "stride"));
  } else if (kind == "fold") {
    out = F::fold(x, ints(c, "output_size"), ints(c, "kernel_size"), ints(c, "dilation"), ints(c, "padding"),
                  ints(c, "stride"));
  } else if (kind == "conv1d" || kind == "conv2d" || kind == "conv3d") {
    auto fn = kind == "conv1d" ? F::conv1d : kind == "conv2d" ? F::conv2d : F::conv3d;
    out = fn(x, w, b, ints(c, "stride"), golden_padding(c), ints(c, "dilation"), int1(c, "groups"));
  } else if (kind == "conv_transpose1d" || kind == "conv_transpose2d") {
    auto fn = kind == "conv_transpose1d" ? F::conv_transpose1d : F::conv_transpose2d;
    out = fn(x, w, b, ints(c, "stride"), ints(c, "padding"), ints(c, "output_padding"), int1(c, "groups"),
             ints(c, "dilation"));
  } else if (kind == "max_pool1d" || kind == "max_pool2d") {
    auto fn = kind == "max_pool1d" ? F::max_pool1d_with_indices : F::max_pool2d_with_indices;
    auto [values, indices] = fn(x, ints(c, "kernel_size"), stride_of(c), ints(c, "padding"), ints(c, "dilation"),
                                int1(c, "ceil_mode") != 0);
    CHECK(indices.dtype() == kInt64);
    nn_golden::expect_golden(indices, c, "indices", 0.0);
    out = values;
  } else if (kind == "avg_pool1d") {
    out = F::avg_pool1d(x, ints(c, "kernel_size"), stride_of(c), ints(c, "padding"), int1(c, "ceil_mode") != 0,
                        int1(c, "count_include_pad") != 0);
  } else if (kind == "avg_pool2d") {
    std::optional<int64_t> divisor;
    if (nn_golden::has_ints(c, "divisor_override")) divisor = int1(c, "divisor_override");
    out = F::avg_pool2d(x, ints(c, "kernel_size"), stride_of(c), ints(c, "padding"), int1(c, "ceil_mode") != 0,
                        int1(c, "count_include_pad") != 0, divisor);
  } else if (kind == "adaptive_avg_pool1d" || kind == "adaptive_avg_pool2d") {
    std::vector<std::optional<int64_t>> size;
    for (int64_t v : ints(c, "output_size")) size.push_back(v < 0 ? std::nullopt : std::optional<int64_t>(v));
    const F::AdaptiveSize os(size);
    out = kind == "adaptive_avg_pool1d" ? F::adaptive_avg_pool1d(x, os) : F::adaptive_avg_pool2d(x, os);
  } else {
    FAIL("unhandled kind " << kind);
  }
  check_out_and_grads(c, out, in);
}

const std::vector<std::string> kConvKinds = {
    "unfold",     "unfold_nd",  "fold",       "conv1d",     "conv2d",     "conv3d",
    "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d"};

Tensor rnd(IntArrayRef shape, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  return random_tensor(shape, kFloat64, rng, Layout::Contiguous, lo, hi);
}

}  // namespace

TEST_CASE("golden: unfold, fold, convolutions and pooling match PyTorch 1.13 (values and gradients)") {
  int checked = 0;
  for (const std::string& kind : kConvKinds) {
    const auto cases = nn_golden::cases_of_kind(kind);
    CHECK_MESSAGE(!cases.empty(), "no golden cases of kind ", kind);
    for (const GCase* c : cases) {
      run_golden_case(*c);
      ++checked;
    }
  }
  CHECK(checked >= 50);
}

TEST_CASE("golden: Conv modules with padding_mode reflect / replicate / circular / zeros") {
  const auto c1 = nn_golden::cases_of_kind("conv1d_module");
  auto cases = nn_golden::cases_of_kind("conv2d_module");
  cases.insert(cases.end(), c1.begin(), c1.end());
  REQUIRE(cases.size() >= 6);
  for (const GCase* cp : cases) {
    const GCase& c = *cp;
    INFO("golden case ", c.name);
    using nn_golden::int1;
    using nn_golden::ints;
    nn::ConvOptions o{.stride = ints(c, "stride"),
                      .padding = golden_padding(c),
                      .dilation = ints(c, "dilation"),
                      .groups = int1(c, "groups"),
                      .bias = int1(c, "bias") != 0,
                      .padding_mode = nn_golden::str(c, "padding_mode"),
                      .dtype = kFloat64};
    std::shared_ptr<nn::ConvNd> m;
    if (std::string(c.kind) == "conv1d_module")
      m = std::make_shared<nn::Conv1d>(int1(c, "in_channels"), int1(c, "out_channels"), ints(c, "kernel_size"), o);
    else
      m = std::make_shared<nn::Conv2d>(int1(c, "in_channels"), int1(c, "out_channels"), ints(c, "kernel_size"), o);
    CHECK(m->repr() == nn_golden::str(c, "repr"));
    {
      NoGradGuard g;
      m->weight.copy_(nn_golden::tensor(c, "weight"));
      if (m->bias.defined()) m->bias.copy_(nn_golden::tensor(c, "bias"));
    }
    Tensor x = nn_golden::tensor(c, "input").requires_grad_();
    const Tensor out = m->forward(x);
    nn_golden::expect_golden(out, c, "out");
    out.mul(nn_golden::tensor(c, "grad_out")).sum().backward();
    nn_golden::expect_golden(x.grad(), c, "grad.input");
    nn_golden::expect_golden(m->weight.grad(), c, "grad.weight");
    if (m->bias.defined()) nn_golden::expect_golden(m->bias.grad(), c, "grad.bias");
  }
}

TEST_CASE("unfold / fold: layouts, N-d forms, fold(unfold) counts overlaps, other dtypes") {
  std::mt19937 rng(1);
  for (Layout layout : all_layouts()) {
    INFO(std::string(layout_name(layout)));
    const Tensor x = random_tensor({2, 3, 5, 6}, kFloat64, rng, layout);
    const Tensor ref = F::unfold(x.contiguous(), {2, 3}, {1, 2}, {1, 0}, {2, 1});
    CHECK(equal(F::unfold(x, {2, 3}, {1, 2}, {1, 0}, {2, 1}), ref));
    const Tensor cols = random_tensor({2, 12, 12}, kFloat64, rng, layout);
    CHECK(allclose(F::fold(cols, {4, 5}, 2, 1, 0, 1), F::fold(cols.contiguous(), {4, 5}, 2, 1, 0, 1), 0, 0));
  }
  // fold(unfold(ones)) counts how many windows cover each position.
  const Tensor ones_in = ones({1, 1, 4, 4}, {.dtype = kFloat64});
  const Tensor cover = F::fold(F::unfold(ones_in, 2), {4, 4}, 2);
  CHECK(cover.to_vector<double>() == std::vector<double>{1, 2, 2, 1, 2, 4, 4, 2, 2, 4, 4, 2, 1, 2, 2, 1});
  // 3-D windows: unfold then fold with stride = kernel reproduces the input.
  const Tensor v = rnd({1, 2, 4, 4, 6}, rng);
  const Tensor cols = fulgur::unfold(v, {2, 2, 3}, {1}, {0}, {2, 2, 3});
  CHECK(cols.sizes() == IntArrayRef({1, 2 * 12, 2 * 2 * 2}));
  CHECK(allclose(fulgur::fold(cols, {4, 4, 6}, {2, 2, 3}, {1}, {0}, {2, 2, 3}), v, 0, 0));
  // unfold copies, so every floating dtype gives exactly the float64 result rounded.
  const Tensor img = rnd({2, 2, 5, 4}, rng);
  for (DType dt : {kFloat32, kFloat16, kBFloat16}) {
    INFO(dtype_name(dt));
    const Tensor a = F::unfold(img.to(dt), {3, 2}, 1, 1, 2);
    CHECK(a.dtype() == dt);
    CHECK(equal(a.to(kFloat64), F::unfold(img.to(dt).to(kFloat64), {3, 2}, 1, 1, 2)));
    const Tensor f = F::fold(a, {5, 4}, {3, 2}, 1, 1, 2);
    CHECK(allclose(f.to(kFloat64), F::fold(a.to(kFloat64), {5, 4}, {3, 2}, 1, 1, 2), tolerance(dt) * 4, tolerance(dt) * 4));
  }
  // Empty batch.
  CHECK(F::unfold(zeros({0, 2, 4, 4}), 2).sizes() == IntArrayRef({0, 8, 9}));
}

TEST_CASE("gradcheck (float64): unfold, fold, im2col/col2im with a ceil grid, second order") {
  std::mt19937 rng(2);
  const autograd::GradcheckOptions second{.check_second_order = true};
  auto unf = [](const std::vector<Tensor>& v) { return F::unfold(v[0], {2, 3}, {2, 1}, {1, 1}, {2, 1}); };
  CHECK(autograd::gradcheck(unf, {rnd({1, 2, 5, 4}, rng).requires_grad_()}, second));
  auto fld = [](const std::vector<Tensor>& v) { return F::fold(v[0], {4, 5}, {2, 2}, 1, {1, 0}, {2, 2}); };
  CHECK(autograd::gradcheck(fld, {rnd({1, 8, 6}, rng).requires_grad_()}, second));
  // A grid running past the right edge (ceil-mode pooling, "same" padding).
  auto ceil = [](const std::vector<Tensor>& v) { return fulgur::im2col(v[0], {3}, {1}, {1}, {2}, {4}); };
  CHECK(autograd::gradcheck(ceil, {rnd({2, 2, 6}, rng).requires_grad_()}, second));
  auto c2i = [](const std::vector<Tensor>& v) { return fulgur::col2im(v[0], {5, 4}, {2, 3}, {2, 1}, {1, 1}, {2, 2}, {3, 2}); };
  CHECK(autograd::gradcheck(c2i, {rnd({1, 12, 6}, rng).requires_grad_()}, second));
  // The recorded nodes are named like PyTorch's.
  const Tensor x = rnd({1, 1, 3, 3}, rng).requires_grad_();
  CHECK(F::unfold(x, 2).grad_fn()->name() == "Im2ColBackward");
  CHECK(F::fold(F::unfold(x, 2), {3, 3}, 2).grad_fn()->name() == "Col2ImBackward");
}

TEST_CASE("gradcheck (float64): conv1d/2d/3d and transposed convolutions") {
  std::mt19937 rng(3);
  const autograd::GradcheckOptions second{.check_second_order = true};
  {
    auto f = [](const std::vector<Tensor>& v) { return F::conv1d(v[0], v[1], v[2], 2, 1, 2, 2); };
    CHECK(autograd::gradcheck(f, {rnd({2, 4, 7}, rng).requires_grad_(), rnd({4, 2, 2}, rng).requires_grad_(),
                                  rnd({4}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::conv2d(v[0], v[1], v[2], {2, 1}, {1, 0}, {1, 2}, 1); };
    CHECK(autograd::gradcheck(f, {rnd({1, 2, 5, 5}, rng).requires_grad_(), rnd({2, 2, 2, 2}, rng).requires_grad_(),
                                  rnd({2}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::conv2d(v[0], v[1], Tensor(), 1, "same", {2, 1}, 2); };
    CHECK(autograd::gradcheck(f, {rnd({1, 2, 4, 3}, rng).requires_grad_(), rnd({2, 1, 2, 2}, rng).requires_grad_()}));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::conv3d(v[0], v[1], v[2], 1, {1, 0, 0}); };
    CHECK(autograd::gradcheck(f, {rnd({1, 1, 2, 3, 3}, rng).requires_grad_(), rnd({2, 1, 2, 2, 2}, rng).requires_grad_(),
                                  rnd({2}, rng).requires_grad_()}));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::conv_transpose2d(v[0], v[1], v[2], 2, 1, 1, 2, 1); };
    CHECK(autograd::gradcheck(f, {rnd({1, 2, 3, 2}, rng).requires_grad_(), rnd({2, 1, 3, 2}, rng).requires_grad_(),
                                  rnd({2}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::conv_transpose1d(v[0], v[1], Tensor(), 3, 0, 2, 1, 2); };
    CHECK(autograd::gradcheck(f, {rnd({2, 2, 3}, rng).requires_grad_(), rnd({2, 2, 2}, rng).requires_grad_()}));
  }
}

TEST_CASE("gradcheck (float64): max, average and adaptive pooling") {
  std::mt19937 rng(4);
  const autograd::GradcheckOptions second{.check_second_order = true};
  // Distinct values far enough apart that a perturbation of eps never changes an argmax.
  auto distinct = [&](IntArrayRef shape) {
    const int64_t n = numel_of(shape);
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = 0.1 * static_cast<double>(i);
    std::shuffle(v.begin(), v.end(), rng);
    return from_vector(v, shape.vec()).requires_grad_();
  };
  {
    auto f = [](const std::vector<Tensor>& v) { return F::max_pool2d(v[0], 3, 2, 1, 1, true); };
    CHECK(autograd::gradcheck(f, {distinct({2, 2, 6, 5})}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::max_pool2d(v[0], {2, 2}, 1, 0, {2, 1}); };
    CHECK(autograd::gradcheck(f, {distinct({1, 2, 5, 4})}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::max_pool1d(v[0], 2, 1, 1); };
    CHECK(autograd::gradcheck(f, {distinct({2, 2, 5})}));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::avg_pool2d(v[0], 3, 2, 1, true, false); };
    CHECK(autograd::gradcheck(f, {rnd({1, 2, 6, 5}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::avg_pool2d(v[0], {2, 3}, 1, 1, false, true, 5); };
    CHECK(autograd::gradcheck(f, {rnd({1, 1, 4, 4}, rng).requires_grad_()}));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::adaptive_avg_pool2d(v[0], {3, 2}); };
    CHECK(autograd::gradcheck(f, {rnd({2, 1, 5, 5}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::adaptive_avg_pool1d(v[0], 3); };
    CHECK(autograd::gradcheck(f, {rnd({1, 2, 6}, rng).requires_grad_()}));
  }
}

TEST_CASE("max pooling: NaN propagates, -inf windows, float32 path, indices address the input plane") {
  Tensor x = from_vector<double>({1, 2, 3, 4, NAN, 6, 7, 8, 9}, Shape{1, 1, 3, 3});
  auto [v, i] = F::max_pool2d_with_indices(x, 2, 1);
  CHECK(std::isnan(v.to_vector<double>()[0]));
  CHECK(std::isnan(v.to_vector<double>()[3]));
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{4, 4, 4, 4});
  // float32 gives the same selection as float64.
  std::mt19937 rng(5);
  const Tensor y = rnd({2, 3, 7, 6}, rng);
  auto [v64, i64] = F::max_pool2d_with_indices(y, 3, 2, 1, 1, true);
  auto [v32, i32] = F::max_pool2d_with_indices(y.to(kFloat32), 3, 2, 1, 1, true);
  CHECK(equal(i32, i64));
  CHECK(equal(v32, v64.to(kFloat32)));
  // Gathering the input at the indices gives the values.
  CHECK(equal(y.flatten(2).gather(2, i64.flatten(2)).view(v64.sizes()), v64));
}

TEST_CASE("convolution and pooling give the same bits for 1 and 2 threads") {
  std::mt19937 rng(6);
  Tensor x = rnd({8, 4, 20, 20}, rng).to(kFloat32).requires_grad_();
  Tensor w = rnd({8, 4, 3, 3}, rng).to(kFloat32).requires_grad_();
  auto run = [&](int threads) {
    set_num_threads(threads);
    x.mutable_grad() = Tensor();
    w.mutable_grad() = Tensor();
    Tensor y = F::max_pool2d(F::conv2d(x, w, Tensor(), 1, 1).relu(), 2);
    y = F::avg_pool2d(y, 3, 1, 1);
    y.square().sum().backward();
    return std::vector<Tensor>{y.detach(), x.grad(), w.grad()};
  };
  const int before = get_num_threads();
  const auto one = run(1);
  const auto two = run(2);
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) CHECK(equal(one[i], two[i]));
}

TEST_CASE("Conv modules: parameters, PyTorch's default initialisation, forward, output_size") {
  nn::Conv2d conv(16, 32, 3, {.padding = 1});
  const auto named = conv.named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "weight");
  CHECK(named[1].first == "bias");
  CHECK(conv.weight.sizes() == IntArrayRef({32, 16, 3, 3}));
  CHECK(conv.bias.sizes() == IntArrayRef({32}));
  // kaiming_uniform_(a = sqrt(5)) and the bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 144.
  const double bound = 1.0 / 12.0;
  const auto w = conv.weight.to_vector<double>();
  double mean = 0, sq = 0, lo = 1, hi = -1;
  for (double v : w) {
    mean += v;
    sq += v * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  mean /= static_cast<double>(w.size());
  sq /= static_cast<double>(w.size());
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi > 0.95 * bound);
  CHECK(lo < -0.95 * bound);
  CHECK(std::abs(mean) < 0.004);                           // sd of the mean: 0.0007
  CHECK(std::abs(sq - bound * bound / 3) < 0.0003);        // U(-b, b): variance b^2 / 3
  for (double v : conv.bias.to_vector<double>()) CHECK(std::abs(v) <= bound);
  // Transposed: weight [in, out / groups, k...], fan_in = weight.size(1) * k = 3 * 4.
  nn::ConvTranspose2d tconv(4, 6, 2, {.groups = 2});
  CHECK(tconv.weight.sizes() == IntArrayRef({4, 3, 2, 2}));
  for (double v : tconv.weight.to_vector<double>()) CHECK(std::abs(v) <= 1.0 / std::sqrt(12.0));
  for (double v : tconv.bias.to_vector<double>()) CHECK(std::abs(v) <= 1.0 / std::sqrt(12.0));
  // No bias; the module forward is F::conv2d with its parameters.
  nn::Conv2d c2(3, 4, {3, 2}, {.stride = {2, 1}, .padding = "valid", .bias = false});
  CHECK(!c2.bias.defined());
  CHECK(c2.named_parameters().size() == 1);
  std::mt19937 rng(7);
  const Tensor x = random_tensor({2, 3, 7, 6}, kFloat32, rng);
  CHECK(equal(c2(x), F::conv2d(x, c2.weight, Tensor(), {2, 1})));
  nn::Conv2d same(2, 2, 4, {.padding = "same", .dilation = 1});
  CHECK(same(random_tensor({1, 2, 5, 6}, kFloat32, rng)).sizes() == IntArrayRef({1, 2, 5, 6}));
  nn::Conv1d c1(2, 3, 3, {.groups = 1, .dtype = kFloat64});
  CHECK(c1.weight.dtype() == kFloat64);
  CHECK(c1(random_tensor({2, 5}, kFloat64, rng)).sizes() == IntArrayRef({3, 3}));
  // ConvTranspose2d(output_size) chooses output_padding within PyTorch's range.
  nn::ConvTranspose2d up(2, 2, 3, {.stride = 2, .padding = 1});
  const Tensor z = random_tensor({1, 2, 4, 4}, kFloat32, rng);
  CHECK(up(z).sizes() == IntArrayRef({1, 2, 7, 7}));
  CHECK(up(z, {8, 8}).sizes() == IntArrayRef({1, 2, 8, 8}));
  CHECK(up(z, {1, 2, 8, 7}).sizes() == IntArrayRef({1, 2, 8, 7}));
  CHECK(contains(error_message([&] { up(z, {9, 8}); }),
                 "requested an output size of [9, 8], but valid sizes range from [7, 7] to [8, 8]"));
  // Training a step changes the parameters in place (handles stay registered).
  Tensor loss = c2(x).square().mean();
  loss.backward();
  CHECK(c2.weight.grad().defined());
  CHECK(c2.named_parameters()[0].second.grad().defined());
  // Module::to converts the parameters in place.
  c2.to(kFloat64);
  CHECK(c2.weight.dtype() == kFloat64);
}

TEST_CASE("Pooling modules: forward, indices, sizes as given") {
  std::mt19937 rng(8);
  const Tensor x = random_tensor({2, 3, 7, 6}, kFloat32, rng);
  nn::MaxPool2d mp({3, 3}, {.stride = 2, .padding = 1, .ceil_mode = true});
  CHECK(equal(mp(x), F::max_pool2d(x, 3, 2, 1, 1, true)));
  auto [v, i] = mp.forward_with_indices(x);
  CHECK(equal(v, mp(x)));
  CHECK(i.dtype() == kInt64);
  nn::AvgPool2d ap(3, {.stride = 1, .padding = 1, .count_include_pad = false});
  CHECK(equal(ap(x), F::avg_pool2d(x, 3, 1, 1, false, false)));
  nn::AdaptiveAvgPool2d gap(1);
  CHECK(gap(x).sizes() == IntArrayRef({2, 3, 1, 1}));
  CHECK(allclose(gap(x).flatten(), x.mean({2, 3}).flatten(), 1e-6, 1e-6));
  nn::AdaptiveAvgPool2d some({std::nullopt, 4});
  CHECK(some(x).sizes() == IntArrayRef({2, 3, 7, 4}));
  nn::MaxPool1d mp1(2);
  CHECK(mp1(x.flatten(2)).sizes() == IntArrayRef({2, 3, 21}));
  CHECK(mp.named_parameters().empty());
}

TEST_CASE("reprs and parameter names match PyTorch (golden)") {
  std::map<std::string, std::shared_ptr<nn::Module>> modules = {
      {"conv2d_default", std::make_shared<nn::Conv2d>(1, 32, 3)},
      {"conv2d_full", std::make_shared<nn::Conv2d>(8, 8, nn::IntOrTuple{3, 5},
                                                   nn::ConvOptions{.padding = "same", .dilation = 2, .groups = 4,
                                                                   .bias = false})},
      {"conv2d_valid", std::make_shared<nn::Conv2d>(3, 3, 3, nn::ConvOptions{.padding = "valid"})},
      {"conv2d_stride_pad", std::make_shared<nn::Conv2d>(32, 64, 3, nn::ConvOptions{.stride = 2, .padding = 1})},
      {"conv1d", std::make_shared<nn::Conv1d>(2, 4, 3, nn::ConvOptions{.stride = 2, .padding = 1})},
      {"conv_transpose2d", std::make_shared<nn::ConvTranspose2d>(
                               16, 8, 3, nn::ConvTransposeOptions{.stride = 2, .padding = 1, .output_padding = 1})},
      {"conv_transpose2d_groups",
       std::make_shared<nn::ConvTranspose2d>(4, 6, nn::IntOrTuple{2, 3},
                                             nn::ConvTransposeOptions{.groups = 2, .bias = false, .dilation = 2})},
      {"max_pool2d", std::make_shared<nn::MaxPool2d>(2)},
      {"max_pool2d_tuple",
       std::make_shared<nn::MaxPool2d>(nn::IntOrTuple{3, 3}, nn::MaxPoolOptions{.stride = 2, .padding = 1, .ceil_mode = true})},
      {"max_pool1d", std::make_shared<nn::MaxPool1d>(3, nn::MaxPoolOptions{.stride = 2})},
      {"avg_pool2d", std::make_shared<nn::AvgPool2d>(3, nn::AvgPoolOptions{.stride = 2, .count_include_pad = false})},
      {"avg_pool1d", std::make_shared<nn::AvgPool1d>(3)},
      {"adaptive_avg_pool2d", std::make_shared<nn::AdaptiveAvgPool2d>(F::AdaptiveSize{5, 7})},
      {"adaptive_avg_pool2d_none", std::make_shared<nn::AdaptiveAvgPool2d>(F::AdaptiveSize{std::nullopt, 7})},
      {"adaptive_avg_pool2d_int", std::make_shared<nn::AdaptiveAvgPool2d>(1)},
  };
  for (auto& [name, m] : modules) {
    INFO(name);
    const GCase& c = nn_golden::find_case("repr_" + name);
    CHECK(m->repr() == nn_golden::str(c, "repr"));
    std::string names;
    for (const auto& [n, t] : m->named_parameters()) names += (names.empty() ? "" : ",") + n;
    CHECK(names == nn_golden::str(c, "param_names"));
  }
}

TEST_CASE("errors name the op and say what is wrong, as PyTorch") {
  const Tensor x = zeros({2, 3, 8, 8});
  CHECK(contains(error_message([&] { F::conv2d(x, zeros({4, 2, 3, 3})); }),
                 "conv2d: Given groups=1, weight of size [4, 2, 3, 3], expected input[2, 3, 8, 8] to have 2 channels, "
                 "but got 3 channels instead"));
  CHECK(contains(error_message([&] { F::conv2d(x, zeros({4, 3, 3, 3}), zeros({3})); }),
                 "expected bias to be 1-dimensional with 4 elements, but got bias of size [3] instead"));
  CHECK(contains(error_message([&] { F::conv2d(zeros({3, 8}), zeros({4, 3, 3, 3})); }),
                 "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 8]"));
  CHECK(contains(error_message([&] { F::conv2d(x, zeros({4, 3, 9, 9})); }),
                 "Calculated padded input size per channel: (8 x 8). Kernel size: (9 x 9). Kernel size can't be "
                 "greater than actual input size"));
  CHECK(contains(error_message([&] { F::conv2d(x, zeros({4, 3, 3, 3}), Tensor(), 2, "same"); }),
                 "padding='same' is not supported for strided convolutions"));
  CHECK(contains(error_message([&] { F::conv2d(x, zeros({4, 3, 3, 3}), Tensor(), 1, "full"); }),
                 "Invalid padding string 'full', should be one of {'valid', 'same'}"));
  CHECK(contains(error_message([&] { F::conv2d(x, zeros({4, 3, 3, 3}, {.dtype = kFloat64})); }),
                 "Input type (float32) and weight type (float64) should be the same"));
  CHECK(contains(error_message([&] { F::conv_transpose2d(x, zeros({3, 2, 3, 3}), Tensor(), 1, 0, 1); }),
                 "output padding must be smaller than either stride or dilation"));
  CHECK(contains(error_message([&] { F::max_pool2d(x, 2, 2, 2); }),
                 "pad should be smaller than or equal to half of kernel size"));
  CHECK(contains(error_message([&] { F::max_pool2d(zeros({1, 1, 2, 2}), 3); }),
                 "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small"));
  CHECK(contains(error_message([&] { F::unfold(zeros({2, 8, 8}).unsqueeze(0).unsqueeze(0), 2); }),
                 "Input Error: Only 3D or 4D input Tensors are supported (got 5D)"));
  CHECK(contains(error_message([&] { F::fold(zeros({1, 8, 5}), {4, 4}, 2); }),
                 "expected size of input's dimension 2 to match the calculated number of sliding blocks 3 * 3 = 9, but "
                 "got input.size(2)=5."));
  CHECK(contains(error_message([&] { F::unfold(zeros({1, 1, 4, 4}, {.dtype = kInt64}), 2); }),
                 "expected a floating-point input"));
  CHECK(contains(error_message([&] { nn::Conv2d(3, 4, 3, {.groups = 2}); }), "in_channels must be divisible by groups"));
  CHECK(contains(error_message([&] { nn::Conv2d(4, 4, 3, {.padding = 3, .padding_mode = "reflect"})(zeros({1, 4, 3, 3})); }),
                 "Padding size should be less than the corresponding input dimension"));
  CHECK(contains(error_message([&] { nn::ConvTranspose2d(4, 4, 3, {.padding_mode = "reflect"}); }),
                 "Only \"zeros\" padding mode is supported for ConvTranspose2d"));
  CHECK(contains(error_message([&] { nn::Conv2d(4, 4, 3, {.padding_mode = "mirror"}); }),
                 "padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}"));
  CHECK(contains(error_message([&] { F::adaptive_avg_pool2d(zeros({1, 0, 4}), 2); }),
                 "Expected input to have non-zero size for non-batch dimensions"));
}
