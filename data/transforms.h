// Image transforms, as torchvision.transforms: Compose, ToTensor, Normalize, RandomCrop,
// RandomHorizontalFlip, Lambda.
//
//   using namespace fulgur::data::transforms;
//   Transform t = Compose({RandomCrop(28, {.padding = 4}), RandomHorizontalFlip(),
//                          ToTensor(), Normalize({0.1307}, {0.3081})});
//   Tensor x = t(image);
//
// Images. Before ToTensor an image is what torchvision gets as a PIL image: a uint8 tensor
// [H, W] (grayscale) or [H, W, C]. ToTensor turns it into float32 [C, H, W] in [0, 1]. The
// geometric transforms (RandomCrop, RandomHorizontalFlip) accept both layouts: a uint8 tensor
// of dim 2 or 3 is taken as [H, W(, C)] (the PIL layout), any other tensor as torchvision's
// tensor layout [..., H, W]. Results are new tensors (never views of the input).
//
// Randomness: random transforms draw from data::current_generator() (the loader worker's
// generator, or the default generator outside workers), so a seed fixes every draw.
//
// Batches: apply_batch(x) transforms a whole batch [N, ...] at once when the transform is
// deterministic and per-example: ToTensor ([N, H, W(, C)] uint8 -> [N, C, H, W]), Normalize,
// and a Compose of such. Random transforms and Lambda return nullopt (per-example draws);
// datasets then fall back to per-example calls.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::data::transforms {

// What every transform implements.
class TransformBase {
 public:
  virtual ~TransformBase() = default;
  virtual Tensor operator()(const Tensor& image) const = 0;
  // The transform of each example of `batch` (dim 0), or nullopt if not batchable.
  virtual std::optional<Tensor> apply_batch(const Tensor& batch) const { return std::nullopt; }
  virtual std::string repr() const = 0;  // as torchvision prints it: "Normalize(mean=..., std=...)"
};

// A shared, immutable handle to any transform; built implicitly from one:
// `Transform t = ToTensor();`. Default-constructed: no transform.
class Transform {
 public:
  Transform() = default;
  template <typename T, typename = std::enable_if_t<std::is_base_of_v<TransformBase, T>>>
  Transform(T transform) : impl_(std::make_shared<T>(std::move(transform))) {}  // NOLINT
  explicit Transform(std::shared_ptr<const TransformBase> impl) : impl_(std::move(impl)) {}

  explicit operator bool() const { return impl_ != nullptr; }
  Tensor operator()(const Tensor& image) const;
  std::optional<Tensor> apply_batch(const Tensor& batch) const;
  std::string repr() const;
  const TransformBase* get() const { return impl_.get(); }

 private:
  std::shared_ptr<const TransformBase> impl_;
};

// Applies the transforms in order.
class Compose : public TransformBase {
 public:
  Compose(std::vector<Transform> transforms);  // NOLINT
  Tensor operator()(const Tensor& image) const override;
  std::optional<Tensor> apply_batch(const Tensor& batch) const override;  // if all are batchable
  std::string repr() const override;
  const std::vector<Transform>& transforms() const { return transforms_; }

 private:
  std::vector<Transform> transforms_;
};

// uint8 [H, W] or [H, W, C] -> float32 [C, H, W] (C = 1 for [H, W]), divided by 255.
// Other dtypes (torchvision's float ndarray case) are permuted to [C, H, W] and converted to
// float32 without scaling.
class ToTensor : public TransformBase {
 public:
  Tensor operator()(const Tensor& image) const override;
  std::optional<Tensor> apply_batch(const Tensor& batch) const override;
  std::string repr() const override { return "ToTensor()"; }
};

// (x - mean[c]) / std[c] per channel of a floating [..., C, H, W] tensor; mean and std have
// C entries or one (broadcast to all channels). Computed in the tensor's dtype, as
// torchvision's tensor.sub_(mean).div_(std). A zero std is an error.
class Normalize : public TransformBase {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(const Tensor& image) const override;
  std::optional<Tensor> apply_batch(const Tensor& batch) const override;
  std::string repr() const override;

 private:
  std::vector<double> mean_, std_;
};

struct RandomCropOptions {
  // torchvision's padding: {p} all sides, {left/right, top/bottom}, or {left, top, right,
  // bottom}; empty: none. Applied before the crop, filled with `fill` (constant mode).
  std::vector<int64_t> padding = {};
  // Pad (by the missing amount on both sides, as torchvision does) when the image is smaller
  // than the crop.
  bool pad_if_needed = false;
  double fill = 0;
};

// A random [h, w] window: top uniform in [0, H - h], left uniform in [0, W - w] (after
// padding). An image smaller than the crop is an error unless pad_if_needed.
class RandomCrop : public TransformBase {
 public:
  RandomCrop(int64_t size, RandomCropOptions options = {});  // square
  RandomCrop(int64_t height, int64_t width, RandomCropOptions options = {});
  Tensor operator()(const Tensor& image) const override;
  std::string repr() const override;

 private:
  int64_t height_, width_;
  RandomCropOptions options_;
};

// Mirrors the image left-right with probability p.
class RandomHorizontalFlip : public TransformBase {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(const Tensor& image) const override;
  std::string repr() const override;

 private:
  double p_;
};

// Any function of a tensor. Must be safe to call from several loader threads at once; use
// data::current_generator() for randomness.
class Lambda : public TransformBase {
 public:
  explicit Lambda(std::function<Tensor(const Tensor&)> fn, std::string name = "Lambda()");
  Tensor operator()(const Tensor& image) const override { return fn_(image); }
  std::string repr() const override { return name_; }

 private:
  std::function<Tensor(const Tensor&)> fn_;
  std::string name_;
};

// Helpers for random transforms: draws from data::current_generator().
// Uniform integer in [0, n), n > 0.
int64_t random_index(int64_t n);
// Uniform double in [0, 1).
double random_uniform();

}  // namespace fulgur::data::transforms
