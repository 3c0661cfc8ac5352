// Random fills from Philox4x32-10: element i uses block (offset + i) under key seed, so the
// values do not depend on threads or on the device (kernels/cuda uses the same mapping).
#include <cmath>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"
#include "fulgur/kernels/philox.h"

namespace fulgur::kernels::cpu {

void random(const RandomArgs& args) {
  visit_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = reinterpret_cast<T*>(args.out);
    constexpr bool kDouble = std::is_same_v<T, double>;
    parallel_for(0, args.numel, 8192, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const PhiloxBlock r = philox4x32_10(args.seed, args.offset + static_cast<uint64_t>(i));
        switch (args.kind) {
          case RandomKind::Uniform: {
            const double u = kDouble ? uniform_double(r.v[0], r.v[1]) : uniform_float(r.v[0]);
            double v = args.a + (args.b - args.a) * u;
            if (!kDouble && v >= args.b) v = args.a;  // float rounding must not reach b
            out[i] = convert<T>(v);
            break;
          }
          case RandomKind::Normal: {
            // Box-Muller; 1 - u keeps the log's argument in (0, 1].
            const double u1 = 1.0 - (kDouble ? uniform_double(r.v[0], r.v[1]) : uniform_float(r.v[0]));
            const double u2 = kDouble ? uniform_double(r.v[2], r.v[3]) : uniform_float(r.v[2]);
            const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
            out[i] = convert<T>(args.a + args.b * z);
            break;
          }
          case RandomKind::RandInt: {
            const uint64_t range = static_cast<uint64_t>(args.b_int) - static_cast<uint64_t>(args.a_int);
            const uint64_t bits = static_cast<uint64_t>(r.v[0]) << 32 | r.v[1];
            const uint64_t pick = static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * range) >> 64);
            out[i] = convert<T>(static_cast<int64_t>(static_cast<uint64_t>(args.a_int) + pick));
            break;
          }
          case RandomKind::Bernoulli: {
            double p = args.a;
            if (args.probs) p = static_cast<double>(static_cast<opmath_t<T>>(reinterpret_cast<const T*>(args.probs)[i]));
            out[i] = convert<T>(uniform_double(r.v[0], r.v[1]) < p ? 1.0 : 0.0);
            break;
          }
          case RandomKind::Bits64: {
            const uint64_t bits = static_cast<uint64_t>(r.v[0]) << 32 | r.v[1];
            out[i] = convert<T>(static_cast<int64_t>(bits >> 1));
            break;
          }
        }
      }
    });
  });
}

}  // namespace fulgur::kernels::cpu
