#include "fulgur/data/transforms.h"

#include <sstream>

#include "fulgur/data/worker_info.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/philox.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/value.h"

namespace fulgur::data::transforms {
namespace {

// A new tensor: x itself only if x does not alias `input`.
Tensor fresh(const Tensor& x, const Tensor& input) {
  Tensor c = x.contiguous();
  return c.storage() == input.storage() ? c.clone() : c;
}

// PIL layout (uint8 [H, W] or [H, W, C]) or tensor layout [..., H, W].
struct Layout {
  int64_t h_dim, w_dim;
};

Layout layout_of(const Tensor& img, const char* op) {
  if (img.dtype() == kUInt8 && (img.dim() == 2 || img.dim() == 3)) return {0, 1};
  FULGUR_CHECK(img.dim() >= 2, op, "expected an image [H, W], [H, W, C] (uint8) or [..., H, W], got shape ",
               shape_str(img.sizes()));
  return {img.dim() - 2, img.dim() - 1};
}

std::string list_repr(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + float_repr(v[i]);
  return s + "]";
}

PhiloxBlock draw_block() {
  const Generator::Draw d = current_generator().reserve(1);
  return philox4x32_10(d.seed, d.offset);
}

}  // namespace

int64_t random_index(int64_t n) {
  FULGUR_CHECK(n > 0, "random_index", "expected n > 0, got ", n);
  const PhiloxBlock b = draw_block();
  const uint64_t x = static_cast<uint64_t>(b.v[0]) << 32 | b.v[1];
  // Lemire's multiply-shift: bias below n / 2^64.
  return static_cast<int64_t>((static_cast<unsigned __int128>(x) * static_cast<uint64_t>(n)) >> 64);
}

double random_uniform() {
  const PhiloxBlock b = draw_block();
  return uniform_double(b.v[0], b.v[1]);
}

// ---- Transform ----------------------------------------------------------------------------

Tensor Transform::operator()(const Tensor& image) const {
  return impl_ ? (*impl_)(image) : image;
}

std::optional<Tensor> Transform::apply_batch(const Tensor& batch) const {
  return impl_ ? impl_->apply_batch(batch) : std::optional<Tensor>(batch);
}

std::string Transform::repr() const { return impl_ ? impl_->repr() : "None"; }

// ---- Compose ------------------------------------------------------------------------------

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {}

Tensor Compose::operator()(const Tensor& image) const {
  Tensor x = image;
  for (const Transform& t : transforms_) x = t(x);
  return x;
}

std::optional<Tensor> Compose::apply_batch(const Tensor& batch) const {
  Tensor x = batch;
  for (const Transform& t : transforms_) {
    std::optional<Tensor> y = t.apply_batch(x);
    if (!y) return std::nullopt;
    x = std::move(*y);
  }
  return x;
}

std::string Compose::repr() const {
  std::string s = "Compose(\n";
  for (const Transform& t : transforms_) s += "    " + t.repr() + "\n";
  return s + ")";
}

// ---- ToTensor -----------------------------------------------------------------------------

Tensor ToTensor::operator()(const Tensor& image) const {
  FULGUR_CHECK(image.defined() && (image.dim() == 2 || image.dim() == 3), "ToTensor",
               "expected an image [H, W] or [H, W, C], got ",
               image.defined() ? "shape " + shape_str(image.sizes()) : std::string("an undefined tensor"));
  const Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image.permute({2, 0, 1});
  if (image.dtype() == kUInt8) return chw.contiguous().to(kFloat32).div(255);
  return fresh(chw.to(kFloat32), image);
}

std::optional<Tensor> ToTensor::apply_batch(const Tensor& batch) const {
  FULGUR_CHECK(batch.dim() == 3 || batch.dim() == 4, "ToTensor",
               "expected a batch [N, H, W] or [N, H, W, C], got shape ", shape_str(batch.sizes()));
  const Tensor nchw = batch.dim() == 3 ? batch.unsqueeze(1) : batch.permute({0, 3, 1, 2});
  if (batch.dtype() == kUInt8) return nchw.contiguous().to(kFloat32).div(255);
  return fresh(nchw.to(kFloat32), batch);
}

// ---- Normalize ----------------------------------------------------------------------------

Normalize::Normalize(std::vector<double> mean, std::vector<double> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  FULGUR_CHECK(!mean_.empty() && !std_.empty(), "Normalize", "mean and std must not be empty");
  FULGUR_CHECK(mean_.size() == std_.size() || mean_.size() == 1 || std_.size() == 1, "Normalize",
               "mean has ", mean_.size(), " values and std ", std_.size(), "; expected one per channel");
}

Tensor Normalize::operator()(const Tensor& image) const {
  FULGUR_CHECK(image.defined() && image.dim() >= 3, "Normalize",
               "expected a tensor image [..., C, H, W], got ",
               image.defined() ? "shape " + shape_str(image.sizes()) : std::string("an undefined tensor"),
               "; hint: apply ToTensor() first");
  FULGUR_CHECK(image.is_floating_point(), "Normalize", "expected a floating-point tensor, got ",
               image.dtype(), "; hint: apply ToTensor() first");
  const int64_t c = image.size(-3);
  for (const auto* v : {&mean_, &std_})
    FULGUR_CHECK(v->size() == 1 || static_cast<int64_t>(v->size()) == c, "Normalize", "the image has ", c,
                 " channels (shape ", shape_str(image.sizes()), ") but ", v == &mean_ ? "mean" : "std",
                 " has ", v->size(), " values");
  const Tensor mean = from_vector(mean_).to(image.dtype()).view({-1, 1, 1});
  const Tensor sd = from_vector(std_).to(image.dtype()).view({-1, 1, 1});
  FULGUR_CHECK(!sd.eq(0).any().item<bool>(), "Normalize", "std ", list_repr(std_),
               " has a zero after conversion to ", image.dtype(), " (division by zero)");
  return image.sub(mean).div(sd);
}

std::optional<Tensor> Normalize::apply_batch(const Tensor& batch) const { return (*this)(batch); }

std::string Normalize::repr() const {
  return "Normalize(mean=" + list_repr(mean_) + ", std=" + list_repr(std_) + ")";
}

// ---- RandomCrop ---------------------------------------------------------------------------

RandomCrop::RandomCrop(int64_t size, RandomCropOptions options) : RandomCrop(size, size, std::move(options)) {}

RandomCrop::RandomCrop(int64_t height, int64_t width, RandomCropOptions options)
    : height_(height), width_(width), options_(std::move(options)) {
  FULGUR_CHECK(height > 0 && width > 0, "RandomCrop", "crop size must be positive, got (", height, ", ",
               width, ")");
  const size_t n = options_.padding.size();
  FULGUR_CHECK(n == 0 || n == 1 || n == 2 || n == 4, "RandomCrop",
               "padding must have 1, 2 or 4 values (all sides; left/right, top/bottom; left, top, "
               "right, bottom), got ", n);
  for (const int64_t p : options_.padding)
    FULGUR_CHECK(p >= 0, "RandomCrop", "padding must be non-negative, got ", p);
}

namespace {
// Constant padding of the H and W dims.
Tensor pad_hw(const Tensor& img, Layout l, int64_t left, int64_t top, int64_t right, int64_t bottom,
              double fill) {
  if (left == 0 && top == 0 && right == 0 && bottom == 0) return img;
  Shape sizes = img.sizes().vec();
  sizes[l.h_dim] += top + bottom;
  sizes[l.w_dim] += left + right;
  Tensor out = full(sizes, fill, {.dtype = img.dtype()});
  out.narrow(l.h_dim, top, img.size(l.h_dim)).narrow(l.w_dim, left, img.size(l.w_dim)).copy_(img);
  return out;
}
}  // namespace

Tensor RandomCrop::operator()(const Tensor& image) const {
  FULGUR_CHECK(image.defined(), "RandomCrop", "undefined image");
  const Layout l = layout_of(image, "RandomCrop");
  Tensor img = image;
  const auto& p = options_.padding;
  if (p.size() == 1) img = pad_hw(img, l, p[0], p[0], p[0], p[0], options_.fill);
  if (p.size() == 2) img = pad_hw(img, l, p[0], p[1], p[0], p[1], options_.fill);
  if (p.size() == 4) img = pad_hw(img, l, p[0], p[1], p[2], p[3], options_.fill);
  if (options_.pad_if_needed && img.size(l.w_dim) < width_) {
    const int64_t d = width_ - img.size(l.w_dim);
    img = pad_hw(img, l, d, 0, d, 0, options_.fill);
  }
  if (options_.pad_if_needed && img.size(l.h_dim) < height_) {
    const int64_t d = height_ - img.size(l.h_dim);
    img = pad_hw(img, l, 0, d, 0, d, options_.fill);
  }
  const int64_t h = img.size(l.h_dim), w = img.size(l.w_dim);
  FULGUR_CHECK(h >= height_ && w >= width_, "RandomCrop", "crop size (", height_, ", ", width_,
               ") is larger than the image (", h, ", ", w, ") of shape ", shape_str(image.sizes()),
               "; hint: pad_if_needed = true or padding");
  if (h == height_ && w == width_) return fresh(img, image);  // no draw, as torchvision
  const int64_t top = random_index(h - height_ + 1);
  const int64_t left = random_index(w - width_ + 1);
  return fresh(img.narrow(l.h_dim, top, height_).narrow(l.w_dim, left, width_), image);
}

std::string RandomCrop::repr() const {
  std::string s = "RandomCrop(size=(" + std::to_string(height_) + ", " + std::to_string(width_) + ")";
  if (!options_.padding.empty()) {
    s += ", padding=";
    if (options_.padding.size() == 1) {
      s += std::to_string(options_.padding[0]);
    } else {
      s += "[";
      for (size_t i = 0; i < options_.padding.size(); ++i)
        s += (i ? ", " : "") + std::to_string(options_.padding[i]);
      s += "]";
    }
  } else {
    s += ", padding=None";
  }
  return s + ")";
}

// ---- RandomHorizontalFlip -----------------------------------------------------------------

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  FULGUR_CHECK(p >= 0 && p <= 1, "RandomHorizontalFlip", "p must be in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& image) const {
  FULGUR_CHECK(image.defined(), "RandomHorizontalFlip", "undefined image");
  const Layout l = layout_of(image, "RandomHorizontalFlip");
  if (!(random_uniform() < p_)) return fresh(image, image);
  const int64_t w = image.size(l.w_dim);
  return image.index_select(l.w_dim, arange(w - 1, -1, -1));
}

std::string RandomHorizontalFlip::repr() const { return "RandomHorizontalFlip(p=" + float_repr(p_) + ")"; }

// ---- Lambda -------------------------------------------------------------------------------

Lambda::Lambda(std::function<Tensor(const Tensor&)> fn, std::string name)
    : fn_(std::move(fn)), name_(std::move(name)) {
  FULGUR_CHECK(static_cast<bool>(fn_), "Lambda", "empty function");
}

}  // namespace fulgur::data::transforms
