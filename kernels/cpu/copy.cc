// Copies with dtype conversion, fills, and host<->host byte copies.
#include <cstring>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"
#include "fulgur/kernels/host_nonzero.h"

namespace fulgur::kernels::cpu {

void copy(const ElementwiseArgs& args) {
  visit_dtype(args.op[0].dtype, [&](auto out_tag) {
    using To = typename decltype(out_tag)::type;
    visit_dtype(args.op[1].dtype, [&](auto in_tag) {
      using From = typename decltype(in_tag)::type;
      elementwise_loop<2>(args, [&](char** p, const int64_t* s, int64_t n) {
        if constexpr (std::is_same_v<To, From>) {
          if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
            std::memcpy(p[0], p[1], static_cast<size_t>(n) * sizeof(To));
            return;
          }
        }
        if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
          To* out = reinterpret_cast<To*>(p[0]);
          const From* in = reinterpret_cast<const From*>(p[1]);
          for (int64_t i = 0; i < n; ++i) out[i] = convert<To>(in[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<To*>(p[0] + i * s[0]) =
                convert<To>(*reinterpret_cast<const From*>(p[1] + i * s[1]));
          }
        }
      });
    });
  });
}

void fill(const ElementwiseArgs& args, const Scalar& value) {
  visit_dtype(args.op[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = value.to<T>();
    elementwise_loop<1>(args, [&](char** p, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(T)) {
        T* out = reinterpret_cast<T*>(p[0]);
        for (int64_t i = 0; i < n; ++i) out[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
      }
    });
  });
}

void sequence(const SequenceArgs& args) {
  visit_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = reinterpret_cast<T*>(args.out);
    const int64_t n = args.numel;
    if (args.linspace) {
      // PyTorch's formula: fill from both ends so that the last point is exactly `end`.
      const double step = n > 1 ? (args.end - args.start) / static_cast<double>(n - 1) : 0.0;
      const int64_t half = n / 2;
      parallel_for(0, n, kDefaultGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const double v = i < half ? args.start + step * static_cast<double>(i)
                                    : args.end - step * static_cast<double>(n - 1 - i);
          out[i] = convert<T>(v);
        }
      });
    } else if (args.integral) {
      parallel_for(0, n, kDefaultGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          out[i] = convert<T>(static_cast<int64_t>(static_cast<uint64_t>(args.start_int) +
                                                   static_cast<uint64_t>(i) * static_cast<uint64_t>(args.step_int)));
        }
      });
    } else {
      parallel_for(0, n, kDefaultGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = convert<T>(args.start + static_cast<double>(i) * args.step);
      });
    }
  });
}

int64_t nonzero(const bool* mask, int64_t n, int64_t* out) { return host_nonzero(mask, n, out); }

}  // namespace fulgur::kernels::cpu
