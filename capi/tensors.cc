// Tensors: caller memory wrapped without copying (any strides, row- or column-major), owned
// zero tensors, metadata, copies in and out, item and backward.
#include <cstring>
#include <string>
#include <vector>

#include "capi/handles.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/cuda/runtime.h"

namespace fulgur::capi {
namespace {

constexpr DType kDTypes[] = {DType::Float32, DType::Float64, DType::Int32,   DType::Int64,   DType::UInt8,
                             DType::Int8,    DType::Int16,   DType::Bool,    DType::Float16, DType::BFloat16};

const Tensor& tensor_of(const fulgur_tensor* t, const char* what) {
  require(t, what);
  return t->tensor;
}

// sizes[ndim] as a Shape, checked: 0 <= ndim <= FULGUR_MAX_DIMS, sizes >= 0.
Shape checked_shape(int32_t ndim, const int64_t* sizes, const char* what) {
  if (ndim < 0 || ndim > FULGUR_MAX_DIMS) {
    fail(FULGUR_INVALID_ARGUMENT, "ndim " + std::to_string(ndim) + " is outside [0, " +
                                      std::to_string(FULGUR_MAX_DIMS) + "]");
  }
  if (ndim > 0) require(sizes, what);
  Shape shape(sizes, sizes + ndim);
  for (int64_t s : shape) {
    if (s < 0) fail(FULGUR_INVALID_ARGUMENT, std::string(what) + " " + shape_str(shape) + " has a negative size");
  }
  return shape;
}

}  // namespace

// The fulgur::Device of a C device: the CPU, or cuda:n when this process has a CUDA backend (a
// GPU, or the emulated device of kernels/cuda/emulated_device.h) with that device.
Device device_of(fulgur_device device) {
  if (device.kind == FULGUR_DEVICE_CPU) return kCPU;
  if (device.kind != FULGUR_DEVICE_CUDA) {
    fail(FULGUR_INVALID_ARGUMENT, "device kind " + std::to_string(device.kind) +
                                      " is neither FULGUR_DEVICE_CPU (0) nor FULGUR_DEVICE_CUDA (1)");
  }
  kernels::ensure_backends_registered();
  const cuda::BackendKind kind = cuda::backend_kind();
  if (kind == cuda::BackendKind::None) {
    const std::string why = cuda::unavailable_reason();
    fail(FULGUR_UNSUPPORTED, "CUDA pointers (device cuda:" + std::to_string(device.index) +
                                 "): this process has no CUDA device (" + (why.empty() ? "none found" : why) +
                                 "); hint: pass host memory with {FULGUR_DEVICE_CPU, 0}");
  }
  const int count = kind == cuda::BackendKind::Emulated ? 1 : cuda::device_count();
  if (device.index < 0 || device.index >= count) {
    fail(FULGUR_INVALID_ARGUMENT, "device cuda:" + std::to_string(device.index) + " does not exist; this process has " +
                                      std::to_string(count) + " CUDA device(s) (" + cuda::tensor_device_name(0) + ")");
  }
  return Device::cuda(device.index);
}

namespace {

fulgur_tensor* wrap(Tensor t) { return new fulgur_tensor{std::move(t)}; }

}  // namespace

DType to_dtype(int32_t dtype) {
  if (dtype < 0 || dtype >= static_cast<int32_t>(std::size(kDTypes))) {
    fail(FULGUR_INVALID_ARGUMENT, "dtype " + std::to_string(dtype) + " is not a fulgur_dtype (0..9)");
  }
  return kDTypes[dtype];
}

fulgur_dtype from_dtype(DType dtype) {
  for (size_t i = 0; i < std::size(kDTypes); ++i) {
    if (kDTypes[i] == dtype) return static_cast<fulgur_dtype>(i);
  }
  fail(FULGUR_INTERNAL, "a tensor has a dtype the C API does not name");
}

}  // namespace fulgur::capi

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

fulgur_status fulgur_tensor_from_data(void* data, fulgur_dtype dtype, int32_t ndim, const int64_t* sizes,
                                      const int64_t* strides, fulgur_device device, fulgur_tensor** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(out, "out");
    const DType dt = to_dtype(dtype);
    const Shape shape = checked_shape(ndim, sizes, "sizes");
    const Device where = device_of(device);
    std::optional<Shape> st;
    if (strides != nullptr) st = Shape(strides, strides + ndim);
    *out = wrap(from_blob(data, shape, dt, st, {}, where));
  });
}

fulgur_status fulgur_tensor_from_fortran_array(void* data, fulgur_dtype dtype, int32_t ndim, const int64_t* shape,
                                               fulgur_device device, fulgur_tensor** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(out, "out");
    const DType dt = to_dtype(dtype);
    const Shape sizes = checked_shape(ndim, shape, "shape");
    const Device where = device_of(device);
    // Column-major: the first index moves fastest.
    Shape strides(sizes.size());
    int64_t stride = 1;
    for (size_t d = 0; d < sizes.size(); ++d) {
      strides[d] = stride;
      stride *= std::max<int64_t>(sizes[d], 1);
    }
    *out = wrap(from_blob(data, sizes, dt, strides, {}, where));
  });
}

fulgur_status fulgur_tensor_zeros(fulgur_dtype dtype, int32_t ndim, const int64_t* sizes, fulgur_tensor** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(out, "out");
    const DType dt = to_dtype(dtype);
    *out = wrap(zeros(checked_shape(ndim, sizes, "sizes"), {.dtype = dt}));
  });
}

void fulgur_tensor_destroy(fulgur_tensor* tensor) { delete tensor; }

fulgur_status fulgur_tensor_ndim(const fulgur_tensor* tensor, int32_t* ndim) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    require(ndim, "ndim");
    *ndim = static_cast<int32_t>(t.dim());
  });
}

fulgur_status fulgur_tensor_sizes(const fulgur_tensor* tensor, int64_t* sizes) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    if (t.dim() > 0) require(sizes, "sizes");
    std::copy(t.sizes().begin(), t.sizes().end(), sizes);
  });
}

fulgur_status fulgur_tensor_strides(const fulgur_tensor* tensor, int64_t* strides) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    if (t.dim() > 0) require(strides, "strides");
    std::copy(t.strides().begin(), t.strides().end(), strides);
  });
}

fulgur_status fulgur_tensor_numel(const fulgur_tensor* tensor, int64_t* numel) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    require(numel, "numel");
    *numel = t.numel();
  });
}

fulgur_status fulgur_tensor_dtype(const fulgur_tensor* tensor, fulgur_dtype* dtype) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    require(dtype, "dtype");
    *dtype = from_dtype(t.dtype());
  });
}

fulgur_status fulgur_tensor_device(const fulgur_tensor* tensor, fulgur_device* device) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    require(device, "device");
    const Device d = t.device();
    *device = d.is_cuda() ? fulgur_device{FULGUR_DEVICE_CUDA, d.index} : fulgur_device{FULGUR_DEVICE_CPU, 0};
  });
}

fulgur_status fulgur_tensor_data(const fulgur_tensor* tensor, void** data) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    require(data, "data");
    *data = t.data_ptr();
  });
}

fulgur_status fulgur_tensor_copy_to(const fulgur_tensor* tensor, void* dst, size_t dst_bytes) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    const size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (dst_bytes < nbytes) {
      fail(FULGUR_SHAPE_MISMATCH, "the tensor " + shape_str(t.sizes()) + " needs " + std::to_string(nbytes) +
                                      " bytes, dst_bytes is " + std::to_string(dst_bytes));
    }
    if (nbytes == 0) return;
    require(dst, "dst");
    const Tensor c = t.detach().to(kCPU).contiguous();  // a CUDA tensor comes to the host first
    std::memcpy(dst, c.data_ptr(), nbytes);
  });
}

fulgur_status fulgur_tensor_copy(fulgur_tensor* dst, const fulgur_tensor* src) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    Tensor& d = const_cast<Tensor&>(tensor_of(dst, "dst"));
    const Tensor& s = tensor_of(src, "src");
    if (d.sizes() != s.sizes()) {
      fail(FULGUR_SHAPE_MISMATCH, "dst is " + shape_str(d.sizes()) + " but src is " + shape_str(s.sizes()) +
                                      "; hint: the shapes must be equal (no broadcasting)");
    }
    NoGradGuard no_grad;
    d.copy_(s);
  });
}

fulgur_status fulgur_tensor_item(const fulgur_tensor* tensor, double* value) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    require(value, "value");
    if (t.numel() != 1) {
      fail(FULGUR_SHAPE_MISMATCH, "the tensor " + shape_str(t.sizes()) + " has " + std::to_string(t.numel()) +
                                      " elements, not one");
    }
    *value = t.detach().to(kCPU).item().to<double>();
  });
}

fulgur_status fulgur_tensor_backward(fulgur_tensor* tensor) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const Tensor& t = tensor_of(tensor, "tensor");
    if (t.numel() != 1) {
      fail(FULGUR_SHAPE_MISMATCH, "backward needs a one-element loss, the tensor is " + shape_str(t.sizes()) +
                                      "; hint: reduce it first (fulgur_loss returns the mean)");
    }
    if (!t.requires_grad()) {
      fail(FULGUR_INVALID_ARGUMENT, "the tensor does not depend on any parameter; hint: compute it with "
                                    "fulgur_model_forward in training mode, not in eval mode or by a session");
    }
    t.backward();
  });
}

}  // extern "C"
