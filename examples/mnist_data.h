// The MNIST DataModule of the seed's appendix, shared by examples:mnist and examples:mnist_cnn:
// MNIST from data_dir (downloaded there when the network allows), else Fashion-MNIST from
// Debian's dataset-fashion-mnist package (it says which); 55,000 / 5,000 train/val split
// (seed 42), the test set for test. HParams: data_dir ("data"), batch_size (64), num_workers (0).
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "fulgur/fulgur.h"

namespace fulgur::examples {

namespace L = fulgur::lightning;
namespace T = fulgur::data::transforms;

class MNISTData : public L::LightningDataModule {
 public:
  explicit MNISTData(L::HParams hp = {})
      : L::LightningDataModule(hp.with_defaults({{"data_dir", "data"}, {"batch_size", 64}, {"num_workers", 0}})) {}

  // Once per node: fetch MNIST when it is not there yet (download errors are not fatal: setup
  // falls back to Fashion-MNIST).
  void prepare_data() override {
    const std::string dir = hparam<std::string>("data_dir");
    if (download_failed_ || mnist_files_present(dir)) return;
    try {
      data::MNIST(dir, {.train = true, .download = true});
      data::MNIST(dir, {.train = false, .download = true});
    } catch (const Error& e) {
      if (!download_failed_) {  // prepare_data runs again for test: say it once
        std::fprintf(stderr, "MNIST is not in %s/MNIST/raw and could not be downloaded (%s)\n", dir.c_str(),
                     first_line(e.what()).c_str());
      }
      download_failed_ = true;
    }
  }

  void setup(const std::string& stage) override {
    const std::string dir = hparam<std::string>("data_dir");
    const bool mnist = mnist_files_present(dir);
    // Each dataset's own mean and std (torchvision's customary values).
    const T::Transform tf = T::Compose(
        {T::ToTensor(), mnist ? T::Normalize({0.1307}, {0.3081}) : T::Normalize({0.2860}, {0.3530})});
    auto make = [&](bool train) -> std::shared_ptr<data::MNIST> {
      if (mnist) return std::make_shared<data::MNIST>(dir, data::MNISTOptions{.train = train, .transform = tf});
      return std::make_shared<data::FashionMNIST>(dir, data::MNISTOptions{.train = train, .transform = tf});
    };
    if (!announced_) {
      std::printf("Data: %s (%s)\n", mnist ? "MNIST" : "Fashion-MNIST",
                  mnist ? (dir + "/MNIST/raw").c_str() : "Debian's dataset-fashion-mnist, MNIST being unavailable");
      announced_ = true;
    }
    name_ = mnist ? "MNIST" : "Fashion-MNIST";
    if (stage == "fit" || stage == "validate") {
      Generator split_gen(42);
      auto parts = data::random_split(make(true), {55000, 5000}, &split_gen);
      train_ = parts[0];
      val_ = parts[1];
    }
    if (stage == "test" || stage == "predict") test_ = make(false);
  }

  L::Loaders train_dataloader() override {
    return data::DataLoader(train_, {.batch_size = batch_size(), .shuffle = true, .num_workers = workers()});
  }
  L::Loaders val_dataloader() override {
    return data::DataLoader(val_, {.batch_size = batch_size(), .num_workers = workers()});
  }
  L::Loaders test_dataloader() override {
    return data::DataLoader(test_, {.batch_size = batch_size(), .num_workers = workers()});
  }
  std::string name() const override { return "MNISTData"; }
  const std::string& dataset_name() const { return name_; }

 private:
  int64_t batch_size() const { return hparam<int64_t>("batch_size"); }
  int workers() const { return static_cast<int>(hparam<int64_t>("num_workers")); }
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
  // The four files torchvision's layout puts in data_dir/MNIST/raw (plain or gzip).
  static bool mnist_files_present(const std::string& dir) {
    for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                          "t10k-labels-idx1-ubyte"}) {
      const std::filesystem::path p = std::filesystem::path(dir) / "MNIST" / "raw" / f;
      if (!std::filesystem::exists(p) && !std::filesystem::exists(p.string() + ".gz")) return false;
    }
    return true;
  }

  std::shared_ptr<const data::Dataset> train_, val_, test_;
  std::string name_;
  bool announced_ = false;
  bool download_failed_ = false;
};

}  // namespace fulgur::examples
