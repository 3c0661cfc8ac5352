// MNIST, FashionMNIST and KMNIST, as torchvision.datasets reads them.
//
//   data::MNIST train("data", {.train = true, .download = true,
//                              .transform = transforms::Compose({transforms::ToTensor(),
//                                  transforms::Normalize({0.1307}, {0.3081})})});
//   auto [image, label] = ...train.get(0)...   // (float32 [1, 28, 28], int 5)
//
// Files (torchvision's layout): root/<Name>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte,
// each plain or gzip-compressed (".gz" appended); <Name> is MNIST, FashionMNIST or KMNIST.
// Where the data is looked for, in order:
//   1. root/<Name>/raw/<file>, then root/<Name>/raw/<file>.gz;
//   2. FashionMNIST only, when root/<Name>/raw does not exist and use_system_copy: Debian's
//      dataset-fashion-mnist package, /usr/share/datasets/fashion-mnist/<file>.gz;
//   3. with download = true: the four files are fetched from the mirrors in turn (libcurl),
//      each MD5-checked as torchvision lists them, written atomically into root/<Name>/raw,
//      and unpacked next to the .gz (as torchvision leaves them, so Python can reuse root);
//   4. otherwise fulgur::Error saying where the files were looked for and how to get them.
//
// get(i) returns the tuple (image, label) like torchvision's __getitem__: the image is a
// uint8 [28, 28] tensor (the PIL image's pixels) passed through `transform` when set (with
// ToTensor: float32 [1, 28, 28]); the label is an int (int64), passed through
// target_transform when set.
//
// get_batch(indices) gathers a batch with one index_select instead of per-example calls when
// there is no target_transform and the transform is batchable (none, ToTensor, Normalize, and
// Compose of these; see transforms.h): images [B, 28, 28] uint8, or [B, 1, 28, 28] float32
// after ToTensor; labels int64 [B]. The values equal get() + default collate exactly.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fulgur/data/dataset.h"
#include "fulgur/data/transforms.h"

namespace fulgur::data {

struct MNISTResource {
  std::string filename;  // "train-images-idx3-ubyte.gz"
  std::string md5;       // of the .gz as served
};

struct MNISTOptions {
  bool train = true;
  bool download = false;
  transforms::Transform transform = {};
  std::function<Value(int64_t)> target_transform = {};
  // Override the class's download mirrors (each a URL prefix ending in '/') and file list
  // with MD5s, as torchvision users reassign MNIST.mirrors / MNIST.resources.
  std::vector<std::string> mirrors = {};
  std::vector<MNISTResource> resources = {};
  // FashionMNIST: read Debian's /usr/share/datasets/fashion-mnist when root has no raw folder.
  bool use_system_copy = true;
};

class MNIST : public Dataset {
 public:
  explicit MNIST(const std::string& root, MNISTOptions options = {});

  int64_t size() const override { return data_.size(0); }
  Value get(int64_t index) const override;
  std::optional<Value> get_batch(std::span<const int64_t> indices) const override;

  const Tensor& data() const { return data_; }        // uint8 [N, 28, 28]
  const Tensor& targets() const { return targets_; }  // int64 [N]
  const std::vector<std::string>& classes() const { return spec_.classes; }
  const std::string& name() const { return spec_.name; }
  bool train() const { return options_.train; }
  std::string raw_folder() const;               // root/<Name>/raw
  const std::string& images_file() const { return images_file_; }  // the files actually read
  const std::string& labels_file() const { return labels_file_; }
  std::string repr() const;

  // The download lists (torchvision's, checked against torchvision/datasets/mnist.py).
  static const std::vector<std::string>& default_mirrors(const std::string& name);
  static const std::vector<MNISTResource>& default_resources(const std::string& name);

 protected:
  struct Spec {
    std::string name;
    std::vector<std::string> classes;
    std::string system_dir;  // a read-only system copy ("" for none)
  };
  MNIST(const std::string& root, MNISTOptions options, Spec spec);

 private:
  void load();
  void download() const;

  std::string root_;
  MNISTOptions options_;
  Spec spec_;
  Tensor data_;
  Tensor targets_;
  std::string images_file_, labels_file_;
};

// Zalando's Fashion-MNIST: same format, classes T-shirt/top ... Ankle boot.
class FashionMNIST : public MNIST {
 public:
  explicit FashionMNIST(const std::string& root, MNISTOptions options = {});
};

// Kuzushiji-MNIST: same format, ten hiragana classes.
class KMNIST : public MNIST {
 public:
  explicit KMNIST(const std::string& root, MNISTOptions options = {});
};

}  // namespace fulgur::data
