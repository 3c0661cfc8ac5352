// data::transforms against references computed here the way torchvision does it (ToTensor
// divides by 255 in float32, Normalize subtracts and divides in the tensor's dtype,
// RandomCrop pads then draws top then left), and distributional checks of the random ones.
#include <map>
#include <random>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::data;
using namespace fulgur::data::transforms;
using fulgur::testing::get;

namespace {

Tensor random_u8(Shape shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(numel_of(shape));
  for (auto& x : v) x = static_cast<uint8_t>(rng() & 0xff);
  return from_vector(v, shape);
}

// img[y][x] = y * W + x + 1 (float32, [1, H, W]): a crop's first value gives its position.
Tensor positions(int64_t h, int64_t w) { return arange(1, h * w + 1).to(kFloat32).view({1, h, w}); }

}  // namespace

TEST_CASE("ToTensor: uint8 HW and HWC to float32 CHW in [0, 1]") {
  const Tensor hw = random_u8({5, 7}, 1);
  const Tensor t = ToTensor()(hw);
  CHECK(t.dtype() == kFloat32);
  CHECK(t.sizes() == IntArrayRef({1, 5, 7}));
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t x = 0; x < 7; ++x)
      CHECK(get(t, {0, y, x}) == static_cast<float>(get(hw, {y, x})) / 255.0f);

  const Tensor hwc = random_u8({4, 3, 3}, 2);
  const Tensor c = ToTensor()(hwc);
  CHECK(c.sizes() == IntArrayRef({3, 4, 3}));
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t x = 0; x < 3; ++x)
        CHECK(get(c, {ch, y, x}) == static_cast<float>(get(hwc, {y, x, ch})) / 255.0f);
  CHECK(get(ToTensor()(full({1, 1}, 255, {.dtype = kUInt8})), {0, 0, 0}) == 1.0);

  // Float HWC (torchvision's float ndarray): permuted, not scaled.
  const Tensor f = ToTensor()(full({2, 2, 1}, 7.5, {.dtype = kFloat64}));
  CHECK(f.dtype() == kFloat32);
  CHECK(f.sizes() == IntArrayRef({1, 2, 2}));
  CHECK(get(f, {0, 1, 1}) == 7.5);
  CHECK_THROWS_WITH_AS(ToTensor()(zeros({2})), "ToTensor: expected an image [H, W] or [H, W, C], got shape [2]",
                       Error);
}

TEST_CASE("Normalize: per channel, in float32, as torchvision") {
  const Tensor img = ToTensor()(random_u8({4, 4, 3}, 3));
  const std::vector<double> mean = {0.485, 0.456, 0.406}, sd = {0.229, 0.224, 0.225};
  const Tensor n = Normalize(mean, sd)(img);
  CHECK(n.dtype() == kFloat32);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t x = 0; x < 4; ++x) {
        const float ref = (static_cast<float>(get(img, {c, y, x})) - static_cast<float>(mean[c])) /
                          static_cast<float>(sd[c]);
        CHECK(get(n, {c, y, x}) == ref);
      }
  // One value broadcast to every channel.
  const Tensor one = Normalize({0.5}, {0.25})(img);
  CHECK(get(one, {2, 1, 1}) == (static_cast<float>(get(img, {2, 1, 1})) - 0.5f) / 0.25f);
  CHECK_THROWS_WITH_AS(Normalize({0.5, 0.5}, {1, 1})(img),
                       "Normalize: the image has 3 channels (shape [3, 4, 4]) but mean has 2 values", Error);
  CHECK_THROWS_WITH_AS(Normalize({0.5}, {0})(img),
                       "Normalize: std [0.0] has a zero after conversion to float32 (division by zero)", Error);
  CHECK_THROWS_WITH_AS(Normalize({0.5}, {1})(random_u8({1, 4, 4}, 1)),
                       "Normalize: expected a floating-point tensor, got uint8; hint: apply ToTensor() first", Error);
  CHECK_THROWS_WITH_AS(Normalize({0.5}, {1})(zeros({4, 4})),
                       "Normalize: expected a tensor image [..., C, H, W], got shape [4, 4]; hint: apply ToTensor() first",
                       Error);
  CHECK(Normalize({0.1307}, {0.3081}).repr() == "Normalize(mean=[0.1307], std=[0.3081])");
}

TEST_CASE("Compose(ToTensor, Normalize): batch path equals per-example calls") {
  const Transform t = Compose({ToTensor(), Normalize({0.1307}, {0.3081})});
  const Tensor batch = random_u8({6, 28, 28}, 4);
  const std::optional<Tensor> b = t.apply_batch(batch);
  REQUIRE(b.has_value());
  CHECK(b->sizes() == IntArrayRef({6, 1, 28, 28}));
  for (int64_t i = 0; i < 6; ++i) CHECK(equal((*b)[i], t(batch[i])));
  const Tensor rgb = random_u8({2, 5, 5, 3}, 5);
  const std::optional<Tensor> c = Transform(ToTensor()).apply_batch(rgb);
  REQUIRE(c.has_value());
  CHECK(c->sizes() == IntArrayRef({2, 3, 5, 5}));
  CHECK(equal((*c)[1], ToTensor()(rgb[1])));
  // Random transforms and Lambda do not batch.
  CHECK_FALSE(Transform(Compose({RandomHorizontalFlip(), ToTensor()})).apply_batch(batch).has_value());
  CHECK_FALSE(Transform(Lambda([](const Tensor& x) { return x; })).apply_batch(batch).has_value());
  CHECK(t.repr() == "Compose(\n    ToTensor()\n    Normalize(mean=[0.1307], std=[0.3081])\n)");
}

TEST_CASE("RandomCrop: padding then top, left drawn from the current generator") {
  const Tensor img = positions(6, 5);
  const RandomCrop crop(4, 3, {.padding = {1, 2}, .fill = -1});  // left/right 1, top/bottom 2
  // Reference: pad by hand, then draw exactly as the transform does.
  Tensor padded = full({1, 10, 7}, -1.0);
  padded.narrow(1, 2, 6).narrow(2, 1, 5).copy_(img);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    manual_seed(seed);
    const Tensor out = crop(img);
    manual_seed(seed);
    const int64_t top = random_index(10 - 4 + 1), left = random_index(7 - 3 + 1);
    CHECK(out.sizes() == IntArrayRef({1, 4, 3}));
    CHECK(equal(out, padded.narrow(1, top, 4).narrow(2, left, 3)));
  }
  // Four-value padding: left, top, right, bottom.
  manual_seed(1);
  const Tensor four = RandomCrop(9, 8, {.padding = {1, 2, 2, 1}})(img);
  CHECK(four.sizes() == IntArrayRef({1, 9, 8}));
  CHECK(equal(four.narrow(1, 2, 6).narrow(2, 1, 5), img));  // exact fit: no draw, no offset
  CHECK(four.sum().item<double>() == img.sum().item<double>());
}

TEST_CASE("RandomCrop: offsets uniform over the valid range, reproducible from the seed") {
  // MNIST-style: 28x28 padded by 4, cropped back to 28: top, left in [0, 8].
  const Tensor img = positions(28, 28);
  const RandomCrop crop(28, {.padding = {4}});
  manual_seed(123);
  std::map<int64_t, int> tops, lefts;
  const int n = 8100;
  std::vector<Tensor> first;
  for (int i = 0; i < n; ++i) {
    const Tensor out = crop(img);
    if (i < 5) first.push_back(out);
    // Crop pixel (14, 14) is padded pixel (top + 14, left + 14), i.e. image pixel
    // (top + 10, left + 10): always inside the image, and its value encodes the position.
    const auto v = static_cast<int64_t>(get(out, {0, 14, 14})) - 1;
    const int64_t top = v / 28 - 10, left = v % 28 - 10;
    ++tops[top];
    ++lefts[left];
  }
  CHECK(tops.size() == 9);
  CHECK(lefts.size() == 9);
  CHECK(tops.begin()->first == 0);
  CHECK(tops.rbegin()->first == 8);
  CHECK(lefts.begin()->first == 0);
  CHECK(lefts.rbegin()->first == 8);
  for (const auto& [v, c] : tops) CHECK_MESSAGE(std::abs(c - n / 9) < 150, "top ", v, ": ", c);
  for (const auto& [v, c] : lefts) CHECK_MESSAGE(std::abs(c - n / 9) < 150, "left ", v, ": ", c);
  // Same seed, same crops; in a worker, the worker's generator decides.
  manual_seed(123);
  for (const Tensor& f : first) CHECK(equal(crop(img), f));
  std::vector<Tensor> w1, w2;
  {
    WorkerScope scope({.id = 0, .num_workers = 2, .seed = 77});
    for (int i = 0; i < 5; ++i) w1.push_back(crop(img));
  }
  {
    WorkerScope scope({.id = 0, .num_workers = 2, .seed = 77});
    for (int i = 0; i < 5; ++i) w2.push_back(crop(img));
  }
  bool all_same_as_main = true;
  for (int i = 0; i < 5; ++i) {
    CHECK(equal(w1[i], w2[i]));
    all_same_as_main = all_same_as_main && equal(w1[i], first[i]);
  }
  CHECK_FALSE(all_same_as_main);
}

TEST_CASE("RandomCrop: pad_if_needed, layouts and errors") {
  // Width 24 -> pad 4 each side (32); height 20 -> pad 8 each side (36), as torchvision.
  const Tensor img = positions(20, 24);
  const RandomCrop crop(28, {.pad_if_needed = true});
  Tensor padded = zeros({1, 36, 32});
  padded.narrow(1, 8, 20).narrow(2, 4, 24).copy_(img);
  manual_seed(9);
  const Tensor out = crop(img);
  manual_seed(9);
  const int64_t top = random_index(36 - 28 + 1), left = random_index(32 - 28 + 1);
  CHECK(equal(out, padded.narrow(1, top, 28).narrow(2, left, 28)));

  // uint8 [H, W, C] (PIL layout) crops H and W.
  const Tensor hwc = random_u8({10, 12, 3}, 6);
  const Tensor c = RandomCrop(5, 6)(hwc);
  CHECK(c.sizes() == IntArrayRef({5, 6, 3}));
  CHECK(c.dtype() == kUInt8);
  // float [C, H, W] crops the last two.
  CHECK(RandomCrop(5, 6)(ToTensor()(hwc)).sizes() == IntArrayRef({3, 5, 6}));
  // Same size: a copy, not a view.
  const Tensor same = RandomCrop(10, 12)(hwc);
  CHECK(equal(same, hwc));
  CHECK_FALSE(same.storage() == hwc.storage());

  CHECK_THROWS_WITH_AS(RandomCrop(32)(positions(28, 28)),
                       "RandomCrop: crop size (32, 32) is larger than the image (28, 28) of shape [1, 28, 28]; hint: "
                       "pad_if_needed = true or padding",
                       Error);
  CHECK_THROWS_WITH_AS(RandomCrop(3, {.padding = {1, 2, 3}}),
                       "RandomCrop: padding must have 1, 2 or 4 values (all sides; left/right, top/bottom; left, top, "
                       "right, bottom), got 3",
                       Error);
  CHECK(RandomCrop(28, {.padding = {4}}).repr() == "RandomCrop(size=(28, 28), padding=4)");
}

TEST_CASE("RandomHorizontalFlip: mirrors with probability p") {
  const Tensor img = positions(3, 4);
  const Tensor mirrored = img.index_select(2, from_vector(std::vector<int64_t>{3, 2, 1, 0}));
  manual_seed(5);
  const RandomHorizontalFlip flip(0.3);
  const int n = 4000;
  int flipped = 0;
  for (int i = 0; i < n; ++i) {
    const Tensor out = flip(img);
    if (equal(out, mirrored)) {
      ++flipped;
    } else {
      REQUIRE(equal(out, img));
    }
  }
  // 0.3 +- 4 standard deviations (sqrt(0.21 / 4000) = 0.0072).
  CHECK(std::abs(flipped / double(n) - 0.3) < 0.029);
  CHECK(equal(RandomHorizontalFlip(1.0)(img), mirrored));
  CHECK(equal(RandomHorizontalFlip(0.0)(img), img));
  // PIL layout: uint8 [H, W, C] flips dim 1.
  const Tensor hwc = random_u8({2, 3, 2}, 8);
  const Tensor f = RandomHorizontalFlip(1.0)(hwc);
  CHECK(get(f, {1, 0, 1}) == get(hwc, {1, 2, 1}));
  CHECK_THROWS_WITH_AS(RandomHorizontalFlip(1.5), "RandomHorizontalFlip: p must be in [0, 1], got 1.5", Error);
  CHECK(RandomHorizontalFlip().repr() == "RandomHorizontalFlip(p=0.5)");
}

TEST_CASE("Lambda and Compose with MNIST-style augmentation") {
  const Transform t = Compose({RandomCrop(28, {.padding = {2}}), RandomHorizontalFlip(),
                               ToTensor(), Lambda([](const Tensor& x) { return x.mul(2); }, "Double()")});
  const Tensor out = t(random_u8({28, 28}, 10));
  CHECK(out.sizes() == IntArrayRef({1, 28, 28}));
  CHECK(out.max().item<double>() <= 2.0);
  CHECK(t.repr() ==
        "Compose(\n    RandomCrop(size=(28, 28), padding=2)\n    RandomHorizontalFlip(p=0.5)\n    ToTensor()\n"
        "    Double()\n)");
  const Transform none;
  CHECK_FALSE(static_cast<bool>(none));
  const Tensor x = zeros({2});
  CHECK(none(x).is_same(x));
}
