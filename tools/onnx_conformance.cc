// onnx_conformance: runs ONNX backend-test cases with fulgur's ONNX runtime.
//
//   ./bazelw run //tools:onnx_conformance -- DIR...
//
// Every folder under each DIR that holds a model.onnx is a case (test_data_set_N/input_K.pb
// and output_K.pb beside it). Prints `PASS name` or `FAIL name: reason` per case, then
// `N passed, N failed`; exits 1 if any case failed (2 on bad usage or no case found).
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "fulgur/nn/onnx/conformance.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: onnx_conformance DIR...\n";
    return 2;
  }
  // `bazel run` starts in the runfiles tree: resolve relative paths against the caller's cwd.
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  int passed = 0, failed = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path dir(argv[i]);
    if (dir.is_relative() && cwd != nullptr) dir = std::filesystem::path(cwd) / dir;
    const auto cases = fulgur::onnx::find_conformance_cases(dir);
    if (cases.empty()) std::cerr << "warning: no case (folder with model.onnx) under " << argv[i] << "\n";
    for (const auto& c : cases) {
      const auto r = fulgur::onnx::run_conformance_case(c);
      if (r.passed) {
        ++passed;
        std::cout << "PASS " << r.name << "\n";
      } else {
        ++failed;
        std::cout << "FAIL " << r.name << ": " << r.reason << "\n";
      }
      std::cout.flush();
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  if (passed + failed == 0) return 2;
  return failed == 0 ? 0 : 1;
}
