// self.log(..., sync_dist=true) across processes. The ranks first agree on what they are about
// to reduce (keys and reductions, gathered as one string): if they differ, every rank raises
// an error showing the difference, instead of entering mismatched collectives and hanging (a
// known Lightning deadlock when ranks log different keys).
#include <algorithm>
#include <set>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

namespace {

std::string signature_of(const std::vector<detail::SyncItem>& items) {
  std::string s;
  for (const auto& item : items) s += item.key + " (" + item.op + ")\n";
  return s;
}

std::set<std::string> lines_of(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.insert(line);
  return out;
}

}  // namespace

std::vector<double> Trainer::sync_logged(const std::vector<detail::SyncItem>& items) {
  const std::string mine = signature_of(items);
  const std::vector<std::string> all = strategy_->all_gather_strings(mine);
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    // Name what each differing rank has that rank 0 has not, and the reverse.
    const std::set<std::string> first = lines_of(all[0]), other = lines_of(all[r]);
    std::string only_first, only_other;
    for (const auto& k : first) if (!other.count(k)) only_first += (only_first.empty() ? "" : ", ") + k;
    for (const auto& k : other) if (!first.count(k)) only_other += (only_other.empty() ? "" : ", ") + k;
    FULGUR_FAIL("log", "the processes logged different values with sync_dist=True in `", current_fx_, "`: rank 0 "
                "only: [", only_first, "], rank ", r, " only: [", only_other, "]", (only_first.empty() &&
                only_other.empty() ? " (same keys, different order)" : ""), "; every rank must log the same keys "
                "with sync_dist=True at the same point (a rank that skipped a log call would leave the others "
                "waiting); hint: log on every rank, or use sync_dist=False (or rank_zero_only) for "
                "rank-specific values");
  }
  // One collective per reduction kind, in a fixed order.
  std::vector<double> out(items.size());
  for (const char* op : {"sum", "mean", "max", "min"}) {
    std::vector<double> values;
    std::vector<size_t> where;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].op != op) continue;
      values.push_back(items[i].value);
      where.push_back(i);
    }
    if (values.empty()) continue;
    const Tensor reduced = strategy_->reduce(from_vector(values), op);
    const std::vector<double> back = reduced.to_vector<double>();
    for (size_t j = 0; j < where.size(); ++j) out[where[j]] = back[j];
  }
  return out;
}

}  // namespace fulgur::lightning
