// data::MNIST / FashionMNIST / KMNIST: torchvision's folder layout, get/get_batch with and
// without transforms, the real Fashion-MNIST from Debian's dataset-fashion-mnist (golden
// facts computed by tools/gen_data_files.py), and download = true against a local HTTP
// server started here (good, corrupt and missing files), file:// URLs and no network.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "fulgur/serialize/inflate.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::data;
namespace fs = std::filesystem;
using fulgur::testing::get;

namespace {

struct FashionGolden {
  int64_t n;
  long long pixel_sum;
  int64_t hist[10];
  struct Sample {
    int64_t index, label, pixel_sum;
    int row14[5];
  } samples[4];
};
#include "golden/fashion_mnist_golden.inc"

constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

std::string tmp_dir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const fs::path p = fs::path(base ? base : fs::temp_directory_path().string()) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::string idx_bytes(uint8_t type, std::vector<uint32_t> dims, const std::vector<uint8_t>& payload) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (const uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xff);
  return h + std::string(payload.begin(), payload.end());
}

uint8_t fake_pixel(int64_t i, int64_t y, int64_t x) { return static_cast<uint8_t>((i * 31 + y * 7 + x * 3) % 256); }
int64_t fake_label(int64_t i, bool train) { return (i * 3 + (train ? 0 : 1)) % 10; }

// The four files of a fake MNIST with n_train / n_test images (gzipped when gz).
std::map<std::string, std::string> fake_files(int64_t n_train, int64_t n_test, bool gz) {
  std::map<std::string, std::string> out;
  for (const bool train : {true, false}) {
    const int64_t n = train ? n_train : n_test;
    std::vector<uint8_t> px, lb;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t y = 0; y < 28; ++y)
        for (int64_t x = 0; x < 28; ++x) px.push_back(fake_pixel(i, y, x));
      lb.push_back(static_cast<uint8_t>(fake_label(i, train)));
    }
    const std::string p = train ? "train" : "t10k";
    std::string images = idx_bytes(0x08, {static_cast<uint32_t>(n), 28, 28}, px);
    std::string labels = idx_bytes(0x08, {static_cast<uint32_t>(n)}, lb);
    if (gz) {
      images = serialize::gzip_compress(images);
      labels = serialize::gzip_compress(labels);
    }
    const std::string suffix = gz ? ".gz" : "";
    out[p + "-images-idx3-ubyte" + suffix] = images;
    out[p + "-labels-idx1-ubyte" + suffix] = labels;
  }
  return out;
}

void check_fake(const MNIST& ds, int64_t n, bool train) {
  REQUIRE(ds.size() == n);
  CHECK(ds.data().dtype() == kUInt8);
  CHECK(ds.data().sizes() == IntArrayRef({n, 28, 28}));
  CHECK(ds.targets().dtype() == kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const Value ex = ds.get(i);
    const Tensor img = ex[0].as_tensor();
    CHECK(img.sizes() == IntArrayRef({28, 28}));
    CHECK(get(img, {3, 5}) == fake_pixel(i, 3, 5));
    CHECK(get(img, {27, 27}) == fake_pixel(i, 27, 27));
    CHECK(ex[1].as_int() == fake_label(i, train));
  }
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A minimal HTTP/1.0 server on 127.0.0.1 (an ephemeral port) serving fixed bodies by path;
// anything else is 404. Counts requests.
class HttpServer {
 public:
  explicit HttpServer(std::map<std::string, std::string> routes) : routes_(std::move(routes)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& prefix) const {
    return "http://127.0.0.1:" + std::to_string(port_) + prefix;
  }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      const size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
      const std::string path = sp1 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
      const auto it = routes_.find(path);
      std::string resp;
      if (it == routes_.end()) {
        resp = "HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
      } else {
        resp = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(it->second.size()) +
               "\r\nConnection: close\r\n\r\n" + it->second;
      }
      size_t off = 0;
      while (off < resp.size()) {
        const ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }

  std::map<std::string, std::string> routes_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::vector<MNISTResource> resources_of(const std::map<std::string, std::string>& gz_files) {
  std::vector<MNISTResource> r;
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    r.push_back({name, md5_hex(gz_files.at(name))});
  return r;
}

}  // namespace

TEST_CASE("MNIST: torchvision's layout, plain or gzip files") {
  const std::string root = tmp_dir("mnist_layout");
  for (const auto& [name, bytes] : fake_files(5, 3, false)) write_file(root + "/MNIST/raw/" + name, bytes);
  // The training images also as .gz in another root; plain files win over .gz when both exist.
  const MNIST train(root);
  check_fake(train, 5, true);
  CHECK(train.images_file() == root + "/MNIST/raw/train-images-idx3-ubyte");
  const MNIST test(root, {.train = false});
  check_fake(test, 3, false);
  CHECK(test.classes()[3] == "3 - three");

  const std::string gz_root = tmp_dir("kmnist_gz");
  for (const auto& [name, bytes] : fake_files(4, 2, true)) write_file(gz_root + "/KMNIST/raw/" + name, bytes);
  const KMNIST k(gz_root);
  check_fake(k, 4, true);
  CHECK(k.images_file() == gz_root + "/KMNIST/raw/train-images-idx3-ubyte.gz");
  CHECK(k.classes()[9] == "wo");
  CHECK(k.repr() == "Dataset KMNIST\n    Number of datapoints: 4\n    Root location: " + gz_root + "\n    Split: Train");
  CHECK_THROWS_WITH_AS(k.get(4), "KMNIST: index 4 is out of range for a dataset of size 4", Error);
  CHECK_THROWS_WITH_AS(k.get(-1), "KMNIST: index -1 is out of range for a dataset of size 4", Error);
}

TEST_CASE("MNIST: transforms, target_transform and the batch path") {
  const std::string root = tmp_dir("mnist_transforms");
  for (const auto& [name, bytes] : fake_files(6, 1, false)) write_file(root + "/MNIST/raw/" + name, bytes);
  using namespace transforms;
  const MNIST plain(root);
  const MNIST norm(root, {.transform = Compose({ToTensor(), Normalize({0.1307}, {0.3081})})});
  const Value ex = norm.get(2);
  const Tensor img = ex[0].as_tensor();
  CHECK(img.dtype() == kFloat32);
  CHECK(img.sizes() == IntArrayRef({1, 28, 28}));
  CHECK(get(img, {0, 4, 9}) == (static_cast<float>(fake_pixel(2, 4, 9)) / 255.0f - 0.1307f) / 0.3081f);

  // get_batch equals get() + collate (stack images, labels as int64).
  const std::vector<int64_t> idx = {5, 0, 2, 2};
  for (const MNIST* ds : {&plain, &norm}) {
    const std::optional<Value> b = ds->get_batch(idx);
    REQUIRE(b.has_value());
    const Tensor images = (*b)[0].as_tensor(), labels = (*b)[1].as_tensor();
    CHECK(images.size(0) == 4);
    CHECK(labels.dtype() == kInt64);
    for (size_t j = 0; j < idx.size(); ++j) {
      const Value one = ds->get(idx[j]);
      CHECK(equal(images[static_cast<int64_t>(j)], one[0].as_tensor()));
      CHECK(labels[static_cast<int64_t>(j)].item<int64_t>() == one[1].as_int());
    }
  }
  CHECK((*plain.get_batch(idx))[0].as_tensor().sizes() == IntArrayRef({4, 28, 28}));
  CHECK((*norm.get_batch(idx))[0].as_tensor().sizes() == IntArrayRef({4, 1, 28, 28}));

  // Random transforms and target transforms fall back to per-example calls.
  const MNIST aug(root, {.transform = Compose({RandomCrop(28, {.padding = {4}}), ToTensor()})});
  CHECK_FALSE(aug.get_batch(idx).has_value());
  CHECK(aug.get(1)[0].as_tensor().sizes() == IntArrayRef({1, 28, 28}));
  const MNIST odd(root, {.target_transform = [](int64_t y) { return Value(y % 2 == 1); }});
  CHECK_FALSE(odd.get_batch(idx).has_value());
  CHECK(odd.get(1)[1].as_bool() == (fake_label(1, true) % 2 == 1));
  CHECK_THROWS_WITH_AS(plain.get_batch(std::vector<int64_t>{0, 6}),
                       "MNIST: index 6 is out of range for a dataset of size 6", Error);
}

TEST_CASE("MNIST: missing and inconsistent files") {
  const std::string root = tmp_dir("mnist_missing");
  CHECK(error_of([&] { MNIST ds(root); }) ==
        "MNIST: dataset not found: looked for '" + root + "/MNIST/raw/train-images-idx3-ubyte[.gz]' and '" + root +
            "/MNIST/raw/train-labels-idx1-ubyte[.gz]'; hint: pass .download = true, or put the files there by hand");
  // Labels for 4 images but 5 images.
  auto files = fake_files(5, 1, false);
  files["train-labels-idx1-ubyte"] = fake_files(4, 1, false)["train-labels-idx1-ubyte"];
  for (const auto& [name, bytes] : files) write_file(root + "/MNIST/raw/" + name, bytes);
  CHECK(error_of([&] { MNIST ds(root); }) == "MNIST: '" + root + "/MNIST/raw/train-images-idx3-ubyte' has 5 images but '" +
                                                root + "/MNIST/raw/train-labels-idx1-ubyte' has 4 labels");
  // A truncated image file: the IDX error, no dataset.
  std::string cut = fake_files(5, 1, false)["train-images-idx3-ubyte"];
  write_file(root + "/MNIST/raw/train-images-idx3-ubyte", cut.substr(0, cut.size() - 100));
  CHECK(error_of([&] { MNIST ds(root); }) ==
        "idx: '" + root + "/MNIST/raw/train-images-idx3-ubyte': the header declares sizes [5, 28, 28] of uint8 (3920 "
        "bytes of data) but the file has 3820 bytes after the header (truncated)");
}

TEST_CASE("FashionMNIST: the real data from Debian's dataset-fashion-mnist") {
  if (!fs::exists(kFashionDir)) {
    MESSAGE("SKIPPED: " << kFashionDir << " is missing (apt-get install dataset-fashion-mnist)");
    return;
  }
  const std::string root = tmp_dir("fashion_empty");  // no FashionMNIST/raw: the system copy is used
  for (const bool train : {true, false}) {
    const FashionGolden& g = train ? kFashionTrain : kFashionTest;
    const FashionMNIST ds(root, {.train = train});
    CHECK(ds.images_file() == std::string(kFashionDir) + (train ? "/train" : "/t10k") + "-images-idx3-ubyte.gz");
    REQUIRE(ds.size() == g.n);
    CHECK(ds.data().sizes() == IntArrayRef({g.n, 28, 28}));
    CHECK(ds.data().sum({}, false, kInt64).item<int64_t>() == g.pixel_sum);
    const Tensor hist = one_hot(ds.targets(), 10).sum({0});
    for (int c = 0; c < 10; ++c) CHECK(hist[c].item<int64_t>() == g.hist[c]);
    for (const auto& s : g.samples) {
      CAPTURE(s.index);
      const Value ex = ds.get(s.index);
      CHECK(ex[1].as_int() == s.label);
      const Tensor img = ex[0].as_tensor();
      CHECK(img.sum({}, false, kInt64).item<int64_t>() == s.pixel_sum);
      for (int x = 0; x < 5; ++x) CHECK(get(img, {14, 10 + x}) == s.row14[x]);
    }
    CHECK(ds.classes()[9] == "Ankle boot");
  }
  using namespace transforms;
  const FashionMNIST norm(root, {.transform = Compose({ToTensor(), Normalize({0.2860}, {0.3530})})});
  const Tensor x0 = norm.get(0)[0].as_tensor();
  CHECK(x0.to(kFloat64).sum().item<double>() == doctest::Approx(kFashionTrain0NormalizedSum).epsilon(1e-9));
  // The file MD5 as Debian ships it (md5sum), through OpenSSL.
  CHECK(md5_file(std::string(kFashionDir) + "/t10k-labels-idx1-ubyte.gz") == "0d30e22e447f3c33dab9ed536400ac01");

  // An existing (empty) raw folder means "this root is where the data lives": no fallback.
  fs::create_directories(root + "/FashionMNIST/raw");
  CHECK(contains(error_of([&] { FashionMNIST ds(root); }), "FashionMNIST: dataset not found"));
  fs::remove_all(root + "/FashionMNIST");
  CHECK(contains(error_of([&] { FashionMNIST ds(root, {.use_system_copy = false}); }),
                 "FashionMNIST: dataset not found"));
}

TEST_CASE("md5 through OpenSSL") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("The quick brown fox jumps over the lazy dog") == "9e107d9d372bb6826bd81d3542a419d6");
  CHECK_THROWS_WITH_AS(md5_file("/nonexistent/x"), "md5: '/nonexistent/x': cannot open: No such file or directory",
                       Error);
}

TEST_CASE("MNIST download: a local HTTP server with a corrupt and a good mirror") {
  const auto gz = fake_files(7, 2, true);
  std::map<std::string, std::string> routes;
  for (const auto& [name, bytes] : gz) {
    routes["/good/" + name] = bytes;
    std::string bad = bytes;
    bad[bad.size() / 2] ^= 0x5a;
    if (name.starts_with("train")) routes["/bad/" + name] = bad;  // t10k-*: 404 on the bad mirror
  }
  HttpServer server(routes);
  const std::string root = tmp_dir("mnist_download");
  const MNIST ds(root, {.download = true,
                        .mirrors = {server.url("/bad/"), server.url("/good/")},
                        .resources = resources_of(gz)});
  check_fake(ds, 7, true);
  const std::string raw = root + "/MNIST/raw";
  // As torchvision leaves it: the .gz and the unpacked file; no temporary files.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(raw)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
                                          "t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz",
                                          "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                          "train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"});
  CHECK(ds.images_file() == raw + "/train-images-idx3-ubyte");
  CHECK(server.requests() == 8);  // 4 files x 2 mirrors (bad first: MD5 mismatch or 404)
  // Already there: no new requests.
  const MNIST again(root, {.train = false, .download = true, .mirrors = {server.url("/good/")},
                           .resources = resources_of(gz)});
  check_fake(again, 2, false);
  CHECK(server.requests() == 8);
}

TEST_CASE("MNIST download: checksum failure, HTTP errors and no network") {
  const auto gz = fake_files(3, 1, true);
  std::map<std::string, std::string> routes;
  for (const auto& [name, bytes] : gz) routes["/bad/" + name] = bytes + "x";
  HttpServer server(routes);
  const std::string root = tmp_dir("mnist_download_bad");
  const std::string raw = root + "/MNIST/raw";
  const auto res = resources_of(gz);
  const std::string msg = error_of([&] {
    MNIST ds(root, {.download = true, .mirrors = {server.url("/bad/"), server.url("/missing/")}, .resources = res});
  });
  CHECK(contains(msg, "MNIST: download failed: download: could not download '" + raw +
                          "/train-images-idx3-ubyte.gz'; tried:\n  " + server.url("/bad/") +
                          "train-images-idx3-ubyte.gz: MD5 mismatch: got " + md5_hex(gz.at("train-images-idx3-ubyte.gz") + "x") +
                          ", expected " + res[0].md5 + " (corrupt or different file)\n  " + server.url("/missing/") +
                          "train-images-idx3-ubyte.gz: curl error 22: The requested URL returned error: 404"));
  CHECK(contains(msg, "hint: without network access, fetch these files elsewhere and put them (gzipped or unpacked) in '" +
                          raw + "': train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz "
                                "t10k-labels-idx1-ubyte.gz"));
  // Nothing half-written is left behind.
  CHECK(fs::is_empty(raw));

  // No network: the default mirrors cannot be reached from the test sandbox, and a closed port.
  const std::string offline = tmp_dir("kmnist_offline");
  const std::string m = error_of([&] { KMNIST ds(offline, {.download = true}); });
  CHECK(contains(m, "KMNIST: download failed: download: could not download '" + offline +
                        "/KMNIST/raw/train-images-idx3-ubyte.gz'; tried:\n  "
                        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/train-images-idx3-ubyte.gz: curl error "));
  CHECK(contains(m, "hint: without network access"));
  const std::string refused = error_of([&] {
    MNIST ds(tmp_dir("mnist_refused"), {.download = true, .mirrors = {"http://127.0.0.1:1/"}});
  });
  CHECK(contains(refused, "http://127.0.0.1:1/train-images-idx3-ubyte.gz: curl error 7: "));
}

TEST_CASE("download_file: file:// URLs, atomic replacement") {
  const std::string dir = tmp_dir("download_file");
  write_file(dir + "/src.bin", "payload");
  const std::string url = "file://" + dir + "/src.bin";
  CHECK(download_file({"file://" + dir + "/nope.bin", url}, dir + "/dest.bin", md5_hex("payload")) == url);
  std::ifstream f(dir + "/dest.bin");
  CHECK(std::string(std::istreambuf_iterator<char>(f), {}) == "payload");
  // A failed download leaves an existing destination alone.
  CHECK(contains(error_of([&] { download_file({url}, dir + "/dest.bin", md5_hex("other")); }),
                 "MD5 mismatch: got " + md5_hex("payload")));
  std::ifstream g(dir + "/dest.bin");
  CHECK(std::string(std::istreambuf_iterator<char>(g), {}) == "payload");
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);
  CHECK_THROWS_WITH_AS(download_file({}, "x", ""), "download: no URL given for 'x'", Error);
}
