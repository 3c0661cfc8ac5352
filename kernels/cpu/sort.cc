// Row-wise sort / top-k. Ties break on position, so every sort is stable and top-k is
// deterministic; NaN compares greater than every number (first when descending), as in
// PyTorch. k < n uses partial_sort: O(n log k).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {

void sort(const SortArgs& a) {
  visit_dtype(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using M = opmath_t<T>;
    parallel_for(0, a.rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, a.n)), [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> order(static_cast<size_t>(a.n));
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = reinterpret_cast<const T*>(a.in) + r * a.n;
        std::iota(order.begin(), order.end(), int64_t{0});
        auto less = [&](int64_t i, int64_t j) {  // strict "sorts before" on values only
          const M x = static_cast<M>(row[i]), y = static_cast<M>(row[j]);
          if constexpr (is_floating_v<T>) {
            const bool xn = std::isnan(x), yn = std::isnan(y);
            if (xn || yn) return a.descending ? (xn && !yn) : (!xn && yn);
          }
          return a.descending ? x > y : x < y;
        };
        auto before = [&](int64_t i, int64_t j) {
          if (less(i, j)) return true;
          if (less(j, i)) return false;
          return i < j;
        };
        if (a.k < a.n) std::partial_sort(order.begin(), order.begin() + a.k, order.end(), before);
        else std::sort(order.begin(), order.end(), before);
        T* values = reinterpret_cast<T*>(a.values) + r * a.k;
        int64_t* indices = a.indices + r * a.k;
        for (int64_t j = 0; j < a.k; ++j) {
          values[j] = row[order[static_cast<size_t>(j)]];
          indices[j] = order[static_cast<size_t>(j)];
        }
      }
    });
  });
}

}  // namespace fulgur::kernels::cpu
