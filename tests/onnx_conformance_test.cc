// The ONNX conformance cases of ../shared/data/onnx-conformance (117 real cases from the ONNX
// repository) run through fulgur::onnx::InferenceSession. Every case whose operators are all
// implemented must pass. The folder is found from this file's real path (the runfile is a
// link into the source tree) or FULGUR_ONNX_CONFORMANCE_DIR; without it the test SKIPs.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "fulgur/nn/onnx/conformance.h"
#include "fulgur/nn/onnx/session.h"
#include "fulgur/nn/onnx/tensor_proto.h"

namespace fs = std::filesystem;

namespace {

fs::path conformance_dir(std::string* why) {
  std::error_code ec;
  if (const char* env = std::getenv("FULGUR_ONNX_CONFORMANCE_DIR")) {
    if (fs::is_directory(env, ec)) return env;
    *why = std::string("FULGUR_ONNX_CONFORMANCE_DIR=") + env + " is not a folder";
    return {};
  }
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  fs::path self = "tests/onnx_conformance_test.cc";
  if (srcdir != nullptr && ws != nullptr) self = fs::path(srcdir) / ws / "tests/onnx_conformance_test.cc";
  const fs::path real = fs::canonical(self, ec);
  if (ec) {
    *why = "cannot resolve " + self.string() + " to the source tree";
    return {};
  }
  // <repo>/tests/onnx_conformance_test.cc -> <repo>/../shared/data/onnx-conformance
  const fs::path dir = real.parent_path().parent_path().parent_path() / "shared/data/onnx-conformance";
  if (!fs::is_directory(dir, ec)) {
    *why = dir.string() + " does not exist";
    return {};
  }
  return dir;
}

}  // namespace

TEST_CASE("ONNX conformance cases") {
  std::string why;
  const fs::path dir = conformance_dir(&why);
  if (dir.empty()) {
    std::cout << "SKIPPED: ONNX conformance data not found (" << why
              << "); set FULGUR_ONNX_CONFORMANCE_DIR or check out ../shared beside the repository\n";
    return;
  }
  const auto cases = fulgur::onnx::find_conformance_cases(dir);
  REQUIRE(cases.size() > 0);
  int passed = 0, failed = 0, failed_unsupported = 0;
  for (const auto& c : cases) {
    const auto r = fulgur::onnx::run_conformance_case(c);
    if (r.passed) {
      ++passed;
      continue;
    }
    ++failed;
    bool all_supported = !r.op_types.empty();
    for (const auto& op : r.op_types) all_supported = all_supported && fulgur::onnx::is_op_supported(op);
    if (!all_supported) ++failed_unsupported;
    std::cout << "FAIL " << r.name << ": " << r.reason << (all_supported ? "" : " [uses an unimplemented op]")
              << "\n";
    CHECK_MESSAGE(!all_supported, "case ", r.name, " failed: ", r.reason);
  }
  std::cout << "ONNX conformance: " << passed << "/" << cases.size() << " passed, " << failed << " failed ("
            << failed_unsupported << " with unimplemented ops)\n";
  if (std::getenv("FULGUR_ONNX_CONFORMANCE_DIR") == nullptr) CHECK(cases.size() == 117);
}

TEST_CASE("ONNX conformance models with flipped bytes are run or rejected, never crash") {
  std::string why;
  const fs::path dir = conformance_dir(&why);
  if (dir.empty()) {
    std::cout << "SKIPPED: ONNX conformance data not found (" << why << ")\n";
    return;
  }
  const auto cases = fulgur::onnx::find_conformance_cases(dir);
  std::mt19937 rng(1234);
  int loaded = 0, rejected = 0;
  for (size_t c = 0; c < cases.size(); c += 4) {
    std::ifstream in(cases[c] / "model.onnx", std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string original = ss.str();
    std::vector<fulgur::Tensor> inputs;
    for (int k = 0;; ++k) {
      const fs::path p = cases[c] / "test_data_set_0" / ("input_" + std::to_string(k) + ".pb");
      if (!fs::exists(p)) break;
      inputs.push_back(fulgur::onnx::load_tensor_proto(p));
    }
    for (int trial = 0; trial < 20 && !original.empty(); ++trial) {
      std::string bytes = original;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        bytes[rng() % bytes.size()] ^= static_cast<char>(1u << (rng() % 8));
      }
      try {
        const auto session = fulgur::onnx::InferenceSession::from_bytes(bytes, cases[c]);
        session.run(inputs);
        ++loaded;
      } catch (const fulgur::Error&) {
        ++rejected;
      }
    }
  }
  std::cout << "flipped models: " << loaded << " ran, " << rejected << " rejected with fulgur::Error\n";
  CHECK(loaded + rejected > 0);
}
