// ONNX backend-test cases (model.onnx + test_data_set_N/{input,output}_K.pb): discovery and
// running, shared by //tools:onnx_conformance and the conformance test.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace fulgur::onnx {

struct CaseResult {
  std::string name;                // the case folder's name
  bool passed = false;
  std::string reason;              // why it failed
  std::set<std::string> op_types;  // op types the model uses (empty if it did not parse)
};

// Every folder under root (root itself included) that holds a model.onnx, sorted.
std::vector<std::filesystem::path> find_conformance_cases(const std::filesystem::path& root);

// Loads the model, runs every test_data_set_N and compares each output with the expected
// one: same shape, |actual - expected| <= atol + rtol * |expected| element-wise (NaN matches
// NaN). Never throws: errors become a failed result with the reason.
CaseResult run_conformance_case(const std::filesystem::path& dir, double rtol = 1e-3, double atol = 1e-7);

// Whether the runtime has a kernel for this op type (default domain).
bool is_op_supported(const std::string& op_type);

}  // namespace fulgur::onnx
