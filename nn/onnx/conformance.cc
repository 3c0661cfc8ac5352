#include "fulgur/nn/onnx/conformance.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/nn/onnx/session.h"
#include "fulgur/nn/onnx/tensor_proto.h"

namespace fulgur::onnx {
namespace fs = std::filesystem;
namespace {

std::set<std::string> op_types_of(const fs::path& model_path) {
  std::set<std::string> ops;
  std::ifstream in(model_path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  ::onnx::ModelProto model;
  if (!model.ParseFromString(ss.str())) return ops;
  for (const auto& n : model.graph().node()) ops.insert(n.op_type());
  return ops;
}

std::string shape_str(const Tensor& t) {
  std::ostringstream ss;
  ss << "[";
  for (int64_t i = 0; i < t.dim(); ++i) ss << (i ? ", " : "") << t.size(i);
  ss << "]";
  return ss.str();
}

// Empty when equal within tolerance, else the reason.
std::string compare(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.sizes() != expected.sizes()) {
    return "shape " + shape_str(actual) + ", expected " + shape_str(expected);
  }
  const auto a = actual.to_vector<double>();
  const auto e = expected.to_vector<double>();
  int64_t bad = 0, first = -1;
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(e[i])) continue;
    const double diff = std::abs(a[i] - e[i]);
    if (!(diff <= atol + rtol * std::abs(e[i])) && !(a[i] == e[i])) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++bad;
      worst = std::max(worst, diff);
    }
  }
  if (bad == 0) return {};
  std::ostringstream ss;
  ss << bad << " of " << a.size() << " values differ (first at flat index " << first << ": " << a[first]
     << " vs " << e[first] << ", max abs diff " << worst << ")";
  return ss.str();
}

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix, const std::string& suffix) {
  std::vector<fs::path> out;
  for (int i = 0;; ++i) {
    const fs::path p = dir / (prefix + std::to_string(i) + suffix);
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

}  // namespace

bool is_op_supported(const std::string& op_type) { return op_registry().count(op_type) > 0; }

std::vector<fs::path> find_conformance_cases(const fs::path& root) {
  std::vector<fs::path> cases;
  std::error_code ec;
  if (fs::is_regular_file(root / "model.onnx", ec)) cases.push_back(root);
  if (fs::is_directory(root, ec)) {
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && fs::is_regular_file(it->path() / "model.onnx", ec)) cases.push_back(it->path());
    }
  }
  std::sort(cases.begin(), cases.end());
  cases.erase(std::unique(cases.begin(), cases.end()), cases.end());
  return cases;
}

CaseResult run_conformance_case(const fs::path& dir, double rtol, double atol) {
  CaseResult r;
  r.name = dir.filename().string();
  if (r.name.empty()) r.name = dir.parent_path().filename().string();
  r.op_types = op_types_of(dir / "model.onnx");
  try {
    const InferenceSession session(dir / "model.onnx");
    std::vector<fs::path> sets;
    for (int i = 0;; ++i) {
      const fs::path p = dir / ("test_data_set_" + std::to_string(i));
      if (!fs::is_directory(p)) break;
      sets.push_back(p);
    }
    if (sets.empty()) {
      r.reason = "no test_data_set_N folder";
      return r;
    }
    for (const auto& set : sets) {
      std::vector<Tensor> inputs;
      for (const auto& p : numbered(set, "input_", ".pb")) inputs.push_back(load_tensor_proto(p));
      std::vector<Tensor> expected;
      for (const auto& p : numbered(set, "output_", ".pb")) expected.push_back(load_tensor_proto(p));
      const auto outputs = session.run(inputs);
      if (outputs.size() != expected.size()) {
        r.reason = set.filename().string() + ": " + std::to_string(outputs.size()) + " outputs, expected " +
                   std::to_string(expected.size());
        return r;
      }
      for (size_t k = 0; k < outputs.size(); ++k) {
        const std::string diff = compare(outputs[k], expected[k], rtol, atol);
        if (!diff.empty()) {
          r.reason = set.filename().string() + " output " + std::to_string(k) + ": " + diff;
          return r;
        }
      }
    }
    r.passed = true;
  } catch (const std::exception& e) {
    r.reason = e.what();
  }
  return r;
}

}  // namespace fulgur::onnx
