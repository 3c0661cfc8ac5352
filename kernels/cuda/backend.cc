#include "fulgur/kernels/cuda/backend.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/cuda/caching_allocator.h"
#include "fulgur/kernels/cuda/cublaslt_gemm.h"
#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/cuda_device_memory.h"
#include "fulgur/kernels/cuda/cudnn_batch_norm.h"
#include "fulgur/kernels/cuda/cudnn_conv.h"
#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/kernels/cuda/fused_entries.h"
#include "fulgur/kernels/cuda/gemm_choice.h"
#include "fulgur/kernels/cuda/pinned_host_allocator.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/cuda/stream.h"
#include "fulgur/kernels/cuda/tensor_gemm.h"
#include "fulgur/kernels/cuda/tensor_gemm_16bit.h"
#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/host_nonzero.h"
#include "fulgur/kernels/kernel_table.h"

namespace fulgur::cuda {
namespace {

using kernels::ElementwiseArgs;

std::atomic<BackendKind> g_kind{BackendKind::None};

// Nominal size of the emulated device's memory (host memory is taken as tensors need it).
constexpr size_t kEmulatedCapacity = size_t{16} << 30;

CachingAllocator& emulated_allocator() {
  // Leaked on purpose, as the host allocator: tensors in static objects may die after main.
  static auto* memory = new EmulatedDeviceMemory(kEmulatedCapacity);
  static auto* allocator = new CachingAllocator(*memory);
  return *allocator;
}

void check_device_index(Device device, const char* op) {
  if (g_kind.load() == BackendKind::Emulated) {
    FULGUR_CHECK(device.index == 0, op, "the emulated CUDA device is cuda:0 only, got ", device,
                 "; hint: use Device::cuda(0)");
  } else {
    require_device(device.index, op);
  }
}

// The allocator of CUDA tensors: the caching allocator of the tensor's device, on its
// current stream (real GPU) or of the emulated device.
class CudaTensorAllocator final : public Allocator {
 public:
  void empty_cache() override {
    if (g_kind.load() == BackendKind::Emulated) return emulated_allocator().empty_cache();
    for (int d = 0; d < device_count(); ++d) device_caching_allocator(d).empty_cache();
  }
  size_t cached_bytes() const override {
    if (g_kind.load() == BackendKind::Emulated) return emulated_allocator().stats().cached_bytes();
    size_t total = 0;
    for (int d = 0; d < device_count(); ++d) total += device_caching_allocator(d).stats().cached_bytes();
    return total;
  }

 protected:
  void* raw_allocate(size_t nbytes, Device device) override {
    check_device_index(device, "allocate");
    if (g_kind.load() == BackendKind::Emulated) return emulated_allocator().malloc(nbytes, nullptr);
    return device_caching_allocator(device.index).malloc(nbytes, current_stream(device.index).handle());
  }
  void raw_deallocate(void* ptr, size_t, Device device) override {
    if (g_kind.load() == BackendKind::Emulated) return emulated_allocator().free(ptr);
    device_caching_allocator(device.index).free(ptr);
  }
};

// The page-locked host memory of this process (registered with the backend; never destroyed,
// as the other allocators: pinned tensors in static objects may die after main).
PinnedHostAllocator* g_pinned = nullptr;

// fp16 / bf16 matmuls take the tensor-core GEMM; float32 / float64 the CUDA-core one.
bool is_16bit(DType dtype) { return dtype == DType::Float16 || dtype == DType::BFloat16; }

// ---- the emulated device's table: the kernel sources through the SIMT emulator ----

template <Exec E>
struct Entries;

template <>
struct Entries<Exec::Emulated> {
  static void unary(kernels::UnaryOp op, const ElementwiseArgs& a) { tensor_unary<Exec::Emulated>(op, a, nullptr); }
  static void binary(kernels::BinaryOp op, const ElementwiseArgs& a) { tensor_binary<Exec::Emulated>(op, a, nullptr); }
  static void where(const ElementwiseArgs& a) { tensor_where<Exec::Emulated>(a, nullptr); }
  static void clamp(const ElementwiseArgs& a) { tensor_clamp<Exec::Emulated>(a, nullptr); }
  static void copy(const ElementwiseArgs& a) { tensor_copy<Exec::Emulated>(a, nullptr); }
  static void fill(const ElementwiseArgs& a, const Scalar& v) { tensor_fill<Exec::Emulated>(a, v, nullptr); }
  static void reduce(const kernels::ReduceArgs& a) { tensor_reduce<Exec::Emulated>(a, nullptr); }
  static void sequence(const kernels::SequenceArgs& a) { tensor_sequence<Exec::Emulated>(a, nullptr); }
  static void gemm(const kernels::GemmArgs& a) {
    if (is_16bit(a.dtype)) return tensor_gemm_16bit<Exec::Emulated>(a, nullptr);
    tensor_gemm<Exec::Emulated>(a, nullptr);
  }
  static void gather(const kernels::IndexArgs& a) { tensor_gather<Exec::Emulated>(a, nullptr); }
  static void scatter(const kernels::IndexArgs& a, kernels::ScatterMode m) { tensor_scatter<Exec::Emulated>(a, m, nullptr); }
  static void sort(const kernels::SortArgs& a) { tensor_sort<Exec::Emulated>(a, nullptr); }
  static void random(const kernels::RandomArgs& a) { tensor_random<Exec::Emulated>(a, nullptr); }
  static void im2col(const kernels::Im2colArgs& a) { tensor_im2col<Exec::Emulated>(a, nullptr); }
  static void col2im(const kernels::Im2colArgs& a) { tensor_col2im<Exec::Emulated>(a, nullptr); }
  static void max_pool(const kernels::MaxPoolArgs& a) { tensor_max_pool<Exec::Emulated>(a, nullptr); }
  static void softmax(const kernels::SoftmaxArgs& a) { tensor_softmax<Exec::Emulated>(a, nullptr); }
  static void cross_entropy_forward(const kernels::CrossEntropyArgs& a) {
    fused_cross_entropy_forward<Exec::Emulated>(a, nullptr);
  }
  static void cross_entropy_backward(const kernels::CrossEntropyArgs& a) {
    fused_cross_entropy_backward<Exec::Emulated>(a, nullptr);
  }
  static void layer_norm_forward(const kernels::LayerNormArgs& a) { fused_layer_norm_forward<Exec::Emulated>(a, nullptr); }
  static void layer_norm_backward(const kernels::LayerNormArgs& a) {
    fused_layer_norm_backward<Exec::Emulated>(a, nullptr);
  }
  static void adam_step(const kernels::AdamArgs& a) { fused_adam_step<Exec::Emulated>(a, nullptr); }
  static void unscale_and_check_finite(const kernels::UnscaleArgs& a) {
    fused_unscale_and_check_finite<Exec::Emulated>(a, nullptr);
  }
  // The emulated device's memory is host memory: the mask is scanned where it lies.
  static int64_t nonzero(const bool* mask, int64_t n, int64_t* out) { return kernels::host_nonzero(mask, n, out); }
  static void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
    FULGUR_CHECK(dst_device.is_cuda() || src_device.is_cuda(), "copy", "internal: no CUDA side in a copy from ",
                 src_device, " to ", dst_device);
    if (nbytes) std::memcpy(dst, src, nbytes);  // the emulated device's memory is host memory
  }
  // Host memory on both sides: the copy is done when this returns, which "not waited for" allows.
  static void copy_bytes_async(void* dst, Device, const void* pinned_src, size_t nbytes) {
    if (nbytes) std::memcpy(dst, pinned_src, nbytes);
  }
};

#if FULGUR_WITH_CUDA
// ---- a real GPU: kernels on the current stream of the operands' device ----

// The device that owns `ptr` (tensors on cuda:1 launch there even if cuda:0 is current).
int device_of(const void* ptr) {
  if (device_count() <= 1 || ptr == nullptr) return current_device();
  cudaPointerAttributes attr{};
  cuda_check(cudaPointerGetAttributes(&attr, ptr), "cudaPointerGetAttributes", "a CUDA tensor's data");
  return attr.device;
}

// Runs launch(stream) on the device owning `ptr` and turns a launch failure into fulgur::Error.
template <typename Launch>
void on_device(const void* ptr, const char* what, Launch&& launch) {
  DeviceGuard guard(device_of(ptr));
  launch(current_stream().handle());
  cuda_check(cudaGetLastError(), what, "kernel launch");
}

template <>
struct Entries<Exec::Gpu> {
  static void unary(kernels::UnaryOp op, const ElementwiseArgs& a) {
    on_device(a.op[0].data, "unary", [&](void* s) { tensor_unary<Exec::Gpu>(op, a, s); });
  }
  static void binary(kernels::BinaryOp op, const ElementwiseArgs& a) {
    on_device(a.op[0].data, "binary", [&](void* s) { tensor_binary<Exec::Gpu>(op, a, s); });
  }
  static void where(const ElementwiseArgs& a) {
    on_device(a.op[0].data, "where", [&](void* s) { tensor_where<Exec::Gpu>(a, s); });
  }
  static void clamp(const ElementwiseArgs& a) {
    on_device(a.op[0].data, "clamp", [&](void* s) { tensor_clamp<Exec::Gpu>(a, s); });
  }
  static void copy(const ElementwiseArgs& a) {
    on_device(a.op[0].data, "copy", [&](void* s) { tensor_copy<Exec::Gpu>(a, s); });
  }
  static void fill(const ElementwiseArgs& a, const Scalar& v) {
    on_device(a.op[0].data, "fill", [&](void* s) { tensor_fill<Exec::Gpu>(a, v, s); });
  }
  static void reduce(const kernels::ReduceArgs& a) {
    on_device(a.out, "reduce", [&](void* s) { tensor_reduce<Exec::Gpu>(a, s); });
  }
  static void sequence(const kernels::SequenceArgs& a) {
    on_device(a.out, "sequence", [&](void* s) { tensor_sequence<Exec::Gpu>(a, s); });
  }
  // cuBLASLt or ours per shape (gemm_choice.h).
  static void gemm(const kernels::GemmArgs& a) {
    on_device(a.c, "gemm", [&](void* s) {
      const auto ours = [s](const kernels::GemmArgs& args) {
        if (is_16bit(args.dtype)) return tensor_gemm_16bit<Exec::Gpu>(args, s);
        tensor_gemm<Exec::Gpu>(args, s);
      };
      if (gemm_choice({a.dtype, a.m, a.n, a.k, a.batch}).backend == GemmBackend::CublasLt) {
        return cublaslt_gemm(a, s, ours);
      }
      ours(a);
    });
  }
  static void gather(const kernels::IndexArgs& a) {
    on_device(a.other, "gather", [&](void* s) { tensor_gather<Exec::Gpu>(a, s); });
  }
  static void scatter(const kernels::IndexArgs& a, kernels::ScatterMode m) {
    on_device(a.self, "scatter", [&](void* s) { tensor_scatter<Exec::Gpu>(a, m, s); });
  }
  static void sort(const kernels::SortArgs& a) {
    on_device(a.values, "sort", [&](void* s) { tensor_sort<Exec::Gpu>(a, s); });
  }
  static void random(const kernels::RandomArgs& a) {
    on_device(a.out, "random", [&](void* s) { tensor_random<Exec::Gpu>(a, s); });
  }
  static void im2col(const kernels::Im2colArgs& a) {
    on_device(a.cols, "im2col", [&](void* s) { tensor_im2col<Exec::Gpu>(a, s); });
  }
  static void col2im(const kernels::Im2colArgs& a) {
    on_device(a.image, "col2im", [&](void* s) { tensor_col2im<Exec::Gpu>(a, s); });
  }
  static void max_pool(const kernels::MaxPoolArgs& a) {
    on_device(a.out, "max_pool", [&](void* s) { tensor_max_pool<Exec::Gpu>(a, s); });
  }
  static void softmax(const kernels::SoftmaxArgs& a) {
    on_device(a.out, "softmax", [&](void* s) { tensor_softmax<Exec::Gpu>(a, s); });
  }
  static void cross_entropy_forward(const kernels::CrossEntropyArgs& a) {
    on_device(a.loss, "cross_entropy", [&](void* s) { fused_cross_entropy_forward<Exec::Gpu>(a, s); });
  }
  static void cross_entropy_backward(const kernels::CrossEntropyArgs& a) {
    on_device(a.dlogits, "cross_entropy backward", [&](void* s) { fused_cross_entropy_backward<Exec::Gpu>(a, s); });
  }
  static void layer_norm_forward(const kernels::LayerNormArgs& a) {
    on_device(a.y, "layer_norm", [&](void* s) { fused_layer_norm_forward<Exec::Gpu>(a, s); });
  }
  static void layer_norm_backward(const kernels::LayerNormArgs& a) {
    on_device(a.dx, "layer_norm backward", [&](void* s) { fused_layer_norm_backward<Exec::Gpu>(a, s); });
  }
  // cuDNN where it loads (cudnn_conv.h); supports_conv says where.
  static bool supports_conv(const kernels::ConvArgs& a) { return cudnn_supports(a, device_of(a.x)); }
  static void conv_forward(const kernels::ConvArgs& a) {
    on_device(a.y, "conv", [&](void* s) { cudnn_conv_forward(a, s); });
  }
  static void conv_backward_input(const kernels::ConvArgs& a) {
    on_device(a.dx, "conv backward (input)", [&](void* s) { cudnn_conv_backward_input(a, s); });
  }
  static void conv_backward_weight(const kernels::ConvArgs& a) {
    on_device(a.dweight, "conv backward (weight)", [&](void* s) { cudnn_conv_backward_weight(a, s); });
  }
  static bool supports_batch_norm(const kernels::BatchNormArgs& a) {
    return cudnn_supports_batch_norm(a, device_of(a.x));
  }
  static void batch_norm_forward(const kernels::BatchNormArgs& a) {
    on_device(a.y, "batch_norm", [&](void* s) { cudnn_batch_norm_forward(a, s); });
  }
  static void batch_norm_backward(const kernels::BatchNormArgs& a) {
    on_device(a.dx, "batch_norm backward", [&](void* s) { cudnn_batch_norm_backward(a, s); });
  }
  static void adam_step(const kernels::AdamArgs& a) {
    if (a.count == 0) return;
    on_device(a.tensors[0].param, "Adam", [&](void* s) { fused_adam_step<Exec::Gpu>(a, s); });
  }
  static void unscale_and_check_finite(const kernels::UnscaleArgs& a) {
    on_device(a.found_inf, "GradScaler.unscale_", [&](void* s) { fused_unscale_and_check_finite<Exec::Gpu>(a, s); });
  }
  // The mask comes to the host, is scanned there, and the positions go back: nonzero's
  // output size depends on the data, so the host waits for it anyway (PyTorch synchronises
  // too). A device-side scan would save the two copies for large masks.
  static int64_t nonzero(const bool* mask, int64_t n, int64_t* out) {
    std::vector<unsigned char> host(static_cast<size_t>(n));
    const Device device = Device::cuda(device_of(mask));
    copy_bytes(host.data(), Device::cpu(), mask, device, static_cast<size_t>(n));
    const bool* host_mask = reinterpret_cast<const bool*>(host.data());
    if (!out) return kernels::host_nonzero(host_mask, n, nullptr);
    std::vector<int64_t> positions(static_cast<size_t>(n));
    const int64_t count = kernels::host_nonzero(host_mask, n, positions.data());
    copy_bytes(out, device, positions.data(), Device::cpu(), static_cast<size_t>(count) * sizeof(int64_t));
    return count;
  }
  // Synchronous for now: an async copy on the device's current stream, then a wait, so the
  // host buffer may be reused (or read) as soon as this returns. Pinned staging buffers and
  // truly asynchronous copies are not built yet.
  static void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
    if (nbytes == 0) return;
    const Device device = dst_device.is_cuda() ? dst_device : src_device;
    FULGUR_CHECK(device.is_cuda(), "copy", "internal: no CUDA side in a copy from ", src_device, " to ", dst_device);
    DeviceGuard guard(device.index);
    const Stream stream = current_stream(device.index);
    const auto s = static_cast<cudaStream_t>(stream.handle());
    cuda_check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, s), "cudaMemcpyAsync",
               std::to_string(nbytes) + " bytes from " + src_device.str() + " to " + dst_device.str());
    cuda_check(cudaStreamSynchronize(s), "cudaStreamSynchronize", "after a copy to " + dst_device.str());
  }
  // Queued on the destination device's current stream; the pinned block records the copy, so
  // it is not handed out again before the copy has read it.
  static void copy_bytes_async(void* dst, Device dst_device, const void* pinned_src, size_t nbytes) {
    if (nbytes == 0) return;
    DeviceGuard guard(dst_device.index);
    const Stream stream = current_stream(dst_device.index);
    cuda_check(cudaMemcpyAsync(dst, pinned_src, nbytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream.handle())),
               "cudaMemcpyAsync", std::to_string(nbytes) + " bytes from pinned host memory to " + dst_device.str());
    g_pinned->record_use(pinned_src, stream);
  }
};
#endif

template <Exec E>
kernels::KernelTable make_table() {
  kernels::KernelTable t;
  t.unary = &Entries<E>::unary;
  t.binary = &Entries<E>::binary;
  t.where = &Entries<E>::where;
  t.clamp = &Entries<E>::clamp;
  t.copy = &Entries<E>::copy;
  t.fill = &Entries<E>::fill;
  t.reduce = &Entries<E>::reduce;
  t.sequence = &Entries<E>::sequence;
  t.gemm = &Entries<E>::gemm;  // float32 / float64 (tensor_gemm.h), fp16 / bf16 (tensor_gemm_16bit.h)
  t.gather = &Entries<E>::gather;
  t.scatter = &Entries<E>::scatter;
  t.sort = &Entries<E>::sort;
  t.random = &Entries<E>::random;
  t.nonzero = &Entries<E>::nonzero;
  t.im2col = &Entries<E>::im2col;
  t.col2im = &Entries<E>::col2im;
  t.max_pool = &Entries<E>::max_pool;
  t.softmax = &Entries<E>::softmax;
  t.cross_entropy_forward = &Entries<E>::cross_entropy_forward;
  t.cross_entropy_backward = &Entries<E>::cross_entropy_backward;
  t.supports_cross_entropy = &fused_supports;
  t.layer_norm_forward = &Entries<E>::layer_norm_forward;
  t.layer_norm_backward = &Entries<E>::layer_norm_backward;
  t.supports_layer_norm = &fused_supports;
  t.adam_step = &Entries<E>::adam_step;
  t.unscale_and_check_finite = &Entries<E>::unscale_and_check_finite;
  t.supports_multi_tensor = &fused_supports;
  t.copy_bytes = &Entries<E>::copy_bytes;
  t.copy_bytes_async = &Entries<E>::copy_bytes_async;
#if FULGUR_WITH_CUDA
  if constexpr (E == Exec::Gpu) {  // cuDNN; the emulated device composes these
    t.conv_forward = &Entries<E>::conv_forward;
    t.conv_backward_input = &Entries<E>::conv_backward_input;
    t.conv_backward_weight = &Entries<E>::conv_backward_weight;
    t.supports_conv = &Entries<E>::supports_conv;
    t.batch_norm_forward = &Entries<E>::batch_norm_forward;
    t.batch_norm_backward = &Entries<E>::batch_norm_backward;
    t.supports_batch_norm = &Entries<E>::supports_batch_norm;
  }
#endif
  return t;
}

}  // namespace

void register_cuda_backend() {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (g_kind.load() != BackendKind::None) return;
  static CudaTensorAllocator* allocator = new CudaTensorAllocator();  // never destroyed, as the host's
  if (emulated_device_enabled()) {
    g_kind = BackendKind::Emulated;
    g_pinned = new PinnedHostAllocator(/*page_locked=*/false);
    kernels::register_kernels(DeviceType::CUDA, make_table<Exec::Emulated>());
    register_allocator(DeviceType::CUDA, allocator);
    register_pinned_host_allocator(g_pinned);
    return;
  }
#if FULGUR_WITH_CUDA
  if (is_available()) {
    g_kind = BackendKind::Gpu;
    g_pinned = new PinnedHostAllocator(/*page_locked=*/true);
    kernels::register_kernels(DeviceType::CUDA, make_table<Exec::Gpu>());
    register_allocator(DeviceType::CUDA, allocator);
    register_pinned_host_allocator(g_pinned);
  }
#endif
}

BackendKind backend_kind() { return g_kind.load(); }

GemmSite current_gemm_site() {
  register_cuda_backend();
  GemmSite site;
  switch (g_kind.load()) {
    case BackendKind::Emulated: site.emulated = true; break;
    case BackendKind::None: site.cublaslt_error = "no CUDA device (" + unavailable_reason() + ")"; break;
    case BackendKind::Gpu: {
#if FULGUR_WITH_CUDA
      int device = 0, major = 0, minor = 0;
      cuda_check(cudaGetDevice(&device), "cudaGetDevice", "choosing a GEMM");
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
      site.compute_capability = major * 10 + minor;
      site.cublaslt_ready = cublaslt_ready(device, &site.cublaslt_error);
#endif
      break;
    }
  }
  return site;
}

GemmChoice gemm_choice(const GemmShape& shape) {
  const GemmPolicy policy = gemm_policy();
  // A forced "ours" needs no site: cuBLASLt is then never loaded.
  if (policy == GemmPolicy::Ours) return choose_gemm(shape, GemmSite{}, policy);
  return choose_gemm(shape, current_gemm_site(), policy);
}

std::string tensor_device_name(int index) {
  switch (g_kind.load()) {
    case BackendKind::Emulated:
      return index == 0 ? "emulated CUDA device 0 (SIMT emulator on the CPU)" : "no emulated CUDA device " + std::to_string(index);
    case BackendKind::Gpu: {
      if (index < 0 || index >= device_count()) return "no CUDA device " + std::to_string(index);
      std::string name = "CUDA device " + std::to_string(index);
#if FULGUR_WITH_CUDA
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, index) == cudaSuccess) {
        name += std::string(" (") + prop.name + ")";
      } else {
        cudaGetLastError();
      }
#endif
      return name;
    }
    case BackendKind::None: break;
  }
  return "no CUDA device";
}

}  // namespace fulgur::cuda
