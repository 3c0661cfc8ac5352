#include "fulgur/distributed/process_group.h"

#include <algorithm>
#include <cctype>

#include "fulgur/kernels/error.h"

namespace fulgur::distributed {

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "unknown";
}

ReduceOp parse_reduce_op(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "sum") return ReduceOp::Sum;
  if (lower == "avg" || lower == "mean") return ReduceOp::Avg;
  if (lower == "max") return ReduceOp::Max;
  if (lower == "min") return ReduceOp::Min;
  FULGUR_FAIL("parse_reduce_op", "unknown reduce op '", printable(name, 60, true),
              "'; hint: one of \"sum\", \"avg\" (or \"mean\"), \"max\", \"min\"");
}

}  // namespace fulgur::distributed
