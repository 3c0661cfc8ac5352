#include "fulgur/data/mnist.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "fulgur/data/download.h"
#include "fulgur/data/idx.h"
#include "fulgur/kernels/error.h"
#include "fulgur/serialize/inflate.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kMnistClasses = {"0 - zero",  "1 - one", "2 - two",   "3 - three",
                                                "4 - four",  "5 - five", "6 - six",  "7 - seven",
                                                "8 - eight", "9 - nine"};
const std::vector<std::string> kFashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                  "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
const std::vector<std::string> kKmnistClasses = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};

std::string split_prefix(bool train) { return train ? "train" : "t10k"; }

// dir/base, else dir/base.gz, else "".
std::string find_file(const std::string& dir, const std::string& base) {
  std::error_code ec;
  for (const std::string& p : {dir + "/" + base, dir + "/" + base + ".gz"})
    if (fs::is_regular_file(p, ec)) return p;
  return "";
}

// Decompresses a .gz file next to itself, atomically (temp file + rename).
void gunzip_file(const std::string& gz, const std::string& dest) {
  const auto src = serialize::open_file(gz, "MNIST");
  serialize::InflateStream in(*src, 0, src->size(), serialize::InflateStream::Format::Gzip, "MNIST",
                              "gzip stream");
  const std::string tmp = dest + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    FULGUR_CHECK(out.good(), "MNIST", "cannot write '", tmp, "'");
    std::vector<char> buf(1 << 16);
    size_t n;
    while ((n = in.read_some(buf.data(), buf.size())) > 0) out.write(buf.data(), static_cast<std::streamsize>(n));
    out.flush();
    FULGUR_CHECK(out.good(), "MNIST", "writing '", tmp, "' failed (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, dest, ec);
  FULGUR_CHECK(!ec, "MNIST", "cannot rename '", tmp, "' to '", dest, "': ", ec.message());
}

}  // namespace

const std::vector<std::string>& MNIST::default_mirrors(const std::string& name) {
  // torchvision's lists; for MNIST the HTTPS mirror first (yann.lecun.com now refuses
  // unauthenticated downloads).
  static const std::map<std::string, std::vector<std::string>> kMirrors = {
      {"MNIST", {"https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"}},
      {"FashionMNIST", {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"}},
      {"KMNIST", {"http://codh.rois.ac.jp/kmnist/dataset/kmnist/"}},
  };
  return kMirrors.at(name);
}

const std::vector<MNISTResource>& MNIST::default_resources(const std::string& name) {
  static const std::map<std::string, std::vector<MNISTResource>> kResources = {
      {"MNIST",
       {{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"},
        {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"},
        {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"}}},
      {"FashionMNIST",
       {{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
        {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
        {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
        {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"}}},
      {"KMNIST",
       {{"train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"},
        {"train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"},
        {"t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"},
        {"t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"}}},
  };
  return kResources.at(name);
}

MNIST::MNIST(const std::string& root, MNISTOptions options)
    : MNIST(root, std::move(options), Spec{"MNIST", kMnistClasses, ""}) {}

FashionMNIST::FashionMNIST(const std::string& root, MNISTOptions options)
    : MNIST(root, std::move(options),
            Spec{"FashionMNIST", kFashionClasses, "/usr/share/datasets/fashion-mnist"}) {}

KMNIST::KMNIST(const std::string& root, MNISTOptions options)
    : MNIST(root, std::move(options), Spec{"KMNIST", kKmnistClasses, ""}) {}

MNIST::MNIST(const std::string& root, MNISTOptions options, Spec spec)
    : root_(root), options_(std::move(options)), spec_(std::move(spec)) {
  load();
}

std::string MNIST::raw_folder() const { return root_ + "/" + spec_.name + "/raw"; }

void MNIST::download() const {
  const std::string raw = raw_folder();
  const auto& mirrors = options_.mirrors.empty() ? default_mirrors(spec_.name) : options_.mirrors;
  const auto& resources = options_.resources.empty() ? default_resources(spec_.name) : options_.resources;
  std::error_code ec;
  fs::create_directories(raw, ec);
  FULGUR_CHECK(!ec, spec_.name.c_str(), "cannot create '", raw, "': ", ec.message());
  for (const MNISTResource& r : resources) {
    const std::string gz = raw + "/" + r.filename;
    const bool is_gz = r.filename.ends_with(".gz");
    const std::string plain = is_gz ? gz.substr(0, gz.size() - 3) : gz;
    if (fs::is_regular_file(plain, ec)) continue;  // already there (as torchvision checks)
    std::vector<std::string> urls;
    for (const std::string& m : mirrors) urls.push_back(m + r.filename);
    try {
      if (!fs::is_regular_file(gz, ec) || (!r.md5.empty() && md5_file(gz) != r.md5))
        download_file(urls, gz, r.md5);
    } catch (const Error& e) {
      std::string files;
      for (const MNISTResource& f : resources) files += " " + f.filename;
      FULGUR_FAIL(spec_.name.c_str(), "download failed: ", e.what(),
                  "\nhint: without network access, fetch these files elsewhere and put them (gzipped "
                  "or unpacked) in '", raw, "':", files);
    }
    if (is_gz) gunzip_file(gz, plain);
  }
}

void MNIST::load() {
  const std::string prefix = split_prefix(options_.train);
  const std::string images = prefix + "-images-idx3-ubyte", labels = prefix + "-labels-idx1-ubyte";
  const std::string raw = raw_folder();
  std::error_code ec;

  images_file_ = find_file(raw, images);
  labels_file_ = find_file(raw, labels);
  const bool in_root = !images_file_.empty() && !labels_file_.empty();
  if (!in_root && !spec_.system_dir.empty() && options_.use_system_copy && !fs::exists(raw, ec)) {
    const std::string si = find_file(spec_.system_dir, images), sl = find_file(spec_.system_dir, labels);
    if (!si.empty() && !sl.empty()) images_file_ = si, labels_file_ = sl;
  }
  if (images_file_.empty() || labels_file_.empty()) {
    if (options_.download) {
      download();
      images_file_ = find_file(raw, images);
      labels_file_ = find_file(raw, labels);
    }
    if (images_file_.empty() || labels_file_.empty()) {
      std::string where = "'" + raw + "/" + images + "[.gz]' and '" + raw + "/" + labels + "[.gz]'";
      if (!spec_.system_dir.empty())
        where += options_.use_system_copy
                     ? " (and '" + spec_.system_dir + "', used only when '" + raw + "' does not exist)"
                     : "";
      FULGUR_FAIL(spec_.name.c_str(), "dataset not found: looked for ", where,
                  "; hint: pass .download = true, or put the files there by hand");
    }
  }

  Tensor imgs = read_idx(images_file_);
  Tensor labs = read_idx(labels_file_);
  FULGUR_CHECK(imgs.dtype() == kUInt8 && imgs.dim() == 3, spec_.name.c_str(), "'", images_file_,
               "' holds ", imgs.dtype(), " ", shape_str(imgs.sizes()), ", expected uint8 images [N, H, W]");
  FULGUR_CHECK(labs.dtype() == kUInt8 && labs.dim() == 1, spec_.name.c_str(), "'", labels_file_,
               "' holds ", labs.dtype(), " ", shape_str(labs.sizes()), ", expected uint8 labels [N]");
  FULGUR_CHECK(imgs.size(0) == labs.size(0), spec_.name.c_str(), "'", images_file_, "' has ", imgs.size(0),
               " images but '", labels_file_, "' has ", labs.size(0), " labels");
  data_ = imgs;
  targets_ = labs.to(kInt64);
}

Value MNIST::get(int64_t index) const {
  FULGUR_CHECK(index >= 0 && index < size(), spec_.name.c_str(), "index ", index,
               " is out of range for a dataset of size ", size());
  Tensor image = data_[index].clone();
  if (options_.transform) image = options_.transform(image);
  const int64_t label = targets_.data_ptr<int64_t>()[index];
  return Value::tuple({image, options_.target_transform ? options_.target_transform(label) : Value(label)});
}

std::optional<Value> MNIST::get_batch(std::span<const int64_t> indices) const {
  if (options_.target_transform) return std::nullopt;
  for (const int64_t i : indices)
    FULGUR_CHECK(i >= 0 && i < size(), spec_.name.c_str(), "index ", i, " is out of range for a dataset of size ", size());
  const Tensor idx = from_vector(std::vector<int64_t>(indices.begin(), indices.end()));
  Tensor images = data_.index_select(0, idx);
  if (options_.transform) {
    std::optional<Tensor> t = options_.transform.apply_batch(images);
    if (!t) return std::nullopt;
    images = std::move(*t);
  }
  return Value::tuple({images, targets_.index_select(0, idx)});
}

std::string MNIST::repr() const {
  std::string s = "Dataset " + spec_.name + "\n    Number of datapoints: " + std::to_string(size()) +
                  "\n    Root location: " + root_ + "\n    Split: " + (options_.train ? "Train" : "Test");
  if (options_.transform) s += "\n    Transform: " + options_.transform.repr();
  return s;
}

}  // namespace fulgur::data
