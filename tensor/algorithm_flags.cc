#include "fulgur/tensor/algorithm_flags.h"

#include <atomic>

namespace fulgur {
namespace {
std::atomic<bool> g_deterministic{false};
std::atomic<bool> g_cudnn_enabled{true};
std::atomic<bool> g_cudnn_benchmark{false};
}  // namespace

void use_deterministic_algorithms(bool enabled) { g_deterministic = enabled; }
bool are_deterministic_algorithms_enabled() { return g_deterministic; }
void set_cudnn_enabled(bool enabled) { g_cudnn_enabled = enabled; }
bool cudnn_enabled() { return g_cudnn_enabled; }
void set_cudnn_benchmark(bool enabled) { g_cudnn_benchmark = enabled; }
bool cudnn_benchmark() { return g_cudnn_benchmark; }

}  // namespace fulgur
