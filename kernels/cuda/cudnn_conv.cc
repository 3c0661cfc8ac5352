#include "fulgur/kernels/cuda/cudnn_conv.h"

#include "fulgur/kernels/error.h"

#if FULGUR_WITH_CUDNN
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <vector>

#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/cudnn_library.h"
#include "fulgur/kernels/cuda/stream_workspace.h"
#endif

namespace fulgur::cuda {

#if FULGUR_WITH_CUDNN
namespace {

constexpr size_t kMaxWorkspace = size_t{1} << 30;
constexpr const char* kOp = "conv";

void check(cudnnStatus_t s, const char* call, const std::string& context = "") {
  cudnn_check(s, kOp, call, context);
}

const CudnnApi& api() { return cudnn_api(); }

struct Types {
  cudnnDataType_t data, compute;
  cudnnMathType_t math;
};

Types types_of(DType d) {
  switch (d) {
    case DType::Float32: return {CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH};
    case DType::Float64: return {CUDNN_DATA_DOUBLE, CUDNN_DATA_DOUBLE, CUDNN_DEFAULT_MATH};
    case DType::Float16: return {CUDNN_DATA_HALF, CUDNN_DATA_FLOAT, CUDNN_TENSOR_OP_MATH};
    case DType::BFloat16: return {CUDNN_DATA_BFLOAT16, CUDNN_DATA_FLOAT, CUDNN_TENSOR_OP_MATH};
    default: break;
  }
  FULGUR_FAIL("conv", "internal: cuDNN path got ", d, "; hint: float32, float64, float16 or bfloat16");
}

// The problem in cuDNN's terms: at least 2 spatial dims (a 1-D convolution gets a leading
// spatial dim of 1), int sizes.
struct Problem {
  int nsp = 0;
  std::array<int, 5> x{}, w{}, y{};
  std::array<int, 3> pad{}, stride{}, dilation{};
};

Problem problem_of(const kernels::ConvArgs& a) {
  Problem p;
  const int lead = a.w.nspatial == 1 ? 1 : 0;
  p.nsp = a.w.nspatial + lead;
  p.x[0] = static_cast<int>(a.batch);
  p.x[1] = static_cast<int>(a.in_channels);
  p.w[0] = static_cast<int>(a.out_channels);
  p.w[1] = static_cast<int>(a.in_channels / a.groups);
  p.y[0] = static_cast<int>(a.batch);
  p.y[1] = static_cast<int>(a.out_channels);
  for (int d = 0; d < p.nsp; ++d) {
    const int s = d - lead;  // the ConvArgs dim, or -1 for the added one
    p.x[2 + d] = s < 0 ? 1 : static_cast<int>(a.w.image_sizes[s]);
    p.w[2 + d] = s < 0 ? 1 : static_cast<int>(a.w.kernel[s]);
    p.y[2 + d] = s < 0 ? 1 : static_cast<int>(a.w.grid[s]);
    p.pad[d] = s < 0 ? 0 : static_cast<int>(a.w.padding[s]);
    p.stride[d] = s < 0 ? 1 : static_cast<int>(a.w.stride[s]);
    p.dilation[d] = s < 0 ? 1 : static_cast<int>(a.w.dilation[s]);
  }
  return p;
}

// The descriptors of one call.
struct Descriptors {
  CudnnTensorDesc x, y;
  CudnnOwned<cudnnFilterDescriptor_t, &CudnnApi::filter_destroy> w;
  CudnnOwned<cudnnConvolutionDescriptor_t, &CudnnApi::conv_destroy> conv;

  Descriptors(const Problem& p, const Types& t, int64_t groups) {
    const CudnnApi& a = api();
    const int nd = p.nsp + 2;
    set_contiguous_desc(x, t.data, p.x.data(), nd, kOp);
    set_contiguous_desc(y, t.data, p.y.data(), nd, kOp);
    check(a.filter_create(&w.value), "cudnnCreateFilterDescriptor");
    check(a.filter_set(w.value, t.data, CUDNN_TENSOR_NCHW, nd, p.w.data()), "cudnnSetFilterNdDescriptor");
    check(a.conv_create(&conv.value), "cudnnCreateConvolutionDescriptor");
    check(a.conv_set(conv.value, p.nsp, p.pad.data(), p.stride.data(), p.dilation.data(), CUDNN_CROSS_CORRELATION,
                     t.compute),
          "cudnnSetConvolutionNdDescriptor");
    check(a.conv_set_groups(conv.value, static_cast<int>(groups)), "cudnnSetConvolutionGroupCount");
    check(a.conv_set_math(conv.value, t.math), "cudnnSetConvolutionMathType");
  }
};

enum class Direction { Forward, BackwardData, BackwardFilter };

// One ranked candidate, whichever direction's perf struct it came from.
struct Candidate {
  int algo = 0;
  cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
  cudnnDeterminism_t determinism = CUDNN_NON_DETERMINISTIC;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t memory = 0;
};

template <typename Perf>
std::vector<Candidate> candidates_of(const Perf* perf, int n) {
  std::vector<Candidate> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({static_cast<int>(perf[i].algo), perf[i].status, perf[i].determinism, perf[i].mathType,
                   perf[i].memory});
  }
  return out;
}

// cuDNN's heuristic ranking for the direction (no GPU work).
std::vector<Candidate> heuristic(cudnnHandle_t h, Direction dir, const Descriptors& d) {
  const CudnnApi& a = api();
  int n = 0;
  switch (dir) {
    case Direction::Forward: {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      check(a.forward_heuristic(h, d.x.value, d.w.value, d.conv.value, d.y.value, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                &n, perf),
            "cudnnGetConvolutionForwardAlgorithm_v7");
      return candidates_of(perf, n);
    }
    case Direction::BackwardData: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      check(a.data_heuristic(h, d.w.value, d.y.value, d.conv.value, d.x.value, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                             &n, perf),
            "cudnnGetConvolutionBackwardDataAlgorithm_v7");
      return candidates_of(perf, n);
    }
    case Direction::BackwardFilter: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      check(a.filter_heuristic(h, d.x.value, d.y.value, d.conv.value, d.w.value,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf),
            "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
      return candidates_of(perf, n);
    }
  }
  return {};
}

// The buffers of one call: what it reads and the one it writes.
struct Buffers {
  const void* x = nullptr;   // forward, backward filter
  const void* w = nullptr;   // forward, backward data
  const void* dy = nullptr;  // backward
  void* out = nullptr;       // y, dx or dweight
};

// cudnnFind*AlgorithmEx: every candidate run and timed on these buffers (the output is
// written, and written again by the real call), fastest first.
std::vector<Candidate> timed(cudnnHandle_t h, Direction dir, const Descriptors& d, const Buffers& b, int device,
                             void* stream, size_t workspace) {
  const CudnnApi& a = api();
  const StreamWorkspace ws(device, workspace, stream);
  int n = 0;
  switch (dir) {
    case Direction::Forward: {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      check(a.forward_find(h, d.x.value, b.x, d.w.value, b.w, d.conv.value, d.y.value, b.out,
                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf, ws.data(), ws.bytes()),
            "cudnnFindConvolutionForwardAlgorithmEx");
      return candidates_of(perf, n);
    }
    case Direction::BackwardData: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      check(a.data_find(h, d.w.value, b.w, d.y.value, b.dy, d.conv.value, d.x.value, b.out,
                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf, ws.data(), ws.bytes()),
            "cudnnFindConvolutionBackwardDataAlgorithmEx");
      return candidates_of(perf, n);
    }
    case Direction::BackwardFilter: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      check(a.filter_find(h, d.x.value, b.x, d.y.value, b.dy, d.conv.value, d.w.value, b.out,
                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf, ws.data(), ws.bytes()),
            "cudnnFindConvolutionBackwardFilterAlgorithmEx");
      return candidates_of(perf, n);
    }
  }
  return {};
}

// The workspace `algo` needs under the descriptor's current math type, in *bytes; cuDNN's
// status (NOT_SUPPORTED for an algorithm this problem cannot take).
cudnnStatus_t workspace_of(cudnnHandle_t h, Direction dir, const Descriptors& d, int algo, size_t* bytes) {
  const CudnnApi& a = api();
  switch (dir) {
    case Direction::Forward:
      return a.forward_workspace(h, d.x.value, d.w.value, d.conv.value, d.y.value,
                                 static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
    case Direction::BackwardData:
      return a.data_workspace(h, d.w.value, d.y.value, d.conv.value, d.x.value,
                              static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
    case Direction::BackwardFilter:
      return a.filter_workspace(h, d.x.value, d.y.value, d.conv.value, d.w.value,
                                static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

// Everything the choice depends on: device, direction, dtype, the problem, the two switches.
using Key = std::array<int64_t, 3 + 5 * 3 + 3 * 3 + 2 + 2>;
std::map<Key, Choice> g_choices;

Key key_of(const kernels::ConvArgs& args, const Problem& p, Direction dir, int device) {
  Key k{};
  size_t i = 0;
  k[i++] = device;
  k[i++] = static_cast<int64_t>(dir);
  k[i++] = static_cast<int64_t>(args.dtype);
  for (const auto* v : {&p.x, &p.w, &p.y})
    for (int e : *v) k[i++] = e;
  for (const auto* v : {&p.pad, &p.stride, &p.dilation})
    for (int e : *v) k[i++] = e;
  k[i++] = args.groups;
  k[i++] = p.nsp;
  k[i++] = args.deterministic;
  k[i++] = args.benchmark;
  return k;
}

const char* direction_name(Direction dir) {
  return dir == Direction::Forward ? "forward" : dir == Direction::BackwardData ? "input gradient" : "weight gradient";
}

// The ranked candidates that may run, with their math type and workspace settled: each
// succeeded in the ranking, is deterministic when asked, and fits kMaxWorkspace. float32 runs
// with FMA math whatever the ranking says: DEFAULT math would allow TF32 on sm_80+.
std::vector<Choice> usable(cudnnHandle_t h, const kernels::ConvArgs& args, Direction dir, const Descriptors& d,
                           const std::vector<Candidate>& ranked) {
  const CudnnApi& a = api();
  std::vector<Choice> out;
  for (const Candidate& c : ranked) {
    if (c.status != CUDNN_STATUS_SUCCESS) continue;
    if (args.deterministic && c.determinism != CUDNN_DETERMINISTIC) continue;
    cudnnMathType_t math = c.math;
    if (args.dtype == DType::Float32) {
      if (math != CUDNN_FMA_MATH && math != CUDNN_DEFAULT_MATH) continue;
      math = CUDNN_FMA_MATH;
    }
    size_t bytes = 0;
    if (a.conv_set_math(d.conv.value, math) != CUDNN_STATUS_SUCCESS) continue;
    if (workspace_of(h, dir, d, c.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > kMaxWorkspace) continue;
    out.push_back({c.algo, math, bytes});
  }
  return out;
}

// Queues the call with choice c; cuDNN's status (nothing queued unless success). Throws when
// the workspace cannot be allocated.
cudnnStatus_t launch(cudnnHandle_t h, const kernels::ConvArgs& args, Direction dir, const Descriptors& d,
                     const Buffers& b, const Choice& c, int device, void* stream) {
  const CudnnApi& a = api();
  check(a.conv_set_math(d.conv.value, c.math), "cudnnSetConvolutionMathType");
  const StreamWorkspace ws(device, c.workspace, stream);
  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  const bool wide = args.dtype == DType::Float64;
  const void* one = wide ? static_cast<const void*>(&one_d) : &one_f;
  const void* zero = wide ? static_cast<const void*>(&zero_d) : &zero_f;
  switch (dir) {
    case Direction::Forward:
      return a.forward(h, one, d.x.value, b.x, d.w.value, b.w, d.conv.value,
                       static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws.data(), ws.bytes(), zero, d.y.value, b.out);
    case Direction::BackwardData:
      return a.backward_data(h, one, d.w.value, b.w, d.y.value, b.dy, d.conv.value,
                             static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws.data(), ws.bytes(), zero,
                             d.x.value, b.out);
    case Direction::BackwardFilter:
      return a.backward_filter(h, one, d.x.value, b.x, d.y.value, b.dy, d.conv.value,
                               static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.data(), ws.bytes(), zero,
                               d.w.value, b.out);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

// Queues the call; the caller holds the handle. The first call of a problem tries the usable
// candidates in rank order (an algorithm the ranking lists can still refuse the problem, or
// its workspace can fail to allocate) and caches the one that ran.
void run_on(cudnnHandle_t h, const kernels::ConvArgs& args, const Types& t, const Problem& p, const Key& key,
            Direction dir, const Buffers& b, int device, void* stream) {
  const Descriptors d(p, t, args.groups);
  const auto cached = g_choices.find(key);  // under the handle lock
  if (cached != g_choices.end()) {
    check(launch(h, args, dir, d, b, cached->second, device, stream), "cudnnConvolution (cached algorithm)",
          direction_name(dir));
    return;
  }
  std::vector<Candidate> ranked = heuristic(h, dir, d);
  if (args.benchmark) {
    // Time them with as much workspace as the largest heuristic candidate within the cap.
    size_t most = 0;
    for (const Candidate& c : ranked)
      if (c.status == CUDNN_STATUS_SUCCESS && c.memory <= kMaxWorkspace) most = std::max(most, c.memory);
    ranked = timed(h, dir, d, b, device, stream, most);
  }
  std::string tried;
  for (const Choice& c : usable(h, args, dir, d, ranked)) {
    std::string why;
    try {
      const cudnnStatus_t s = launch(h, args, dir, d, b, c, device, stream);
      if (s == CUDNN_STATUS_SUCCESS) {
        g_choices.emplace(key, c);
        return;
      }
      why = api().error_string(s);
    } catch (const Error& e) {  // the workspace
      why = e.what();
    }
    tried += (tried.empty() ? "" : "; ") + std::string("algorithm ") + std::to_string(c.algo) + ": " + why;
  }
  FULGUR_FAIL(kOp, "cuDNN has no ", args.deterministic ? "deterministic " : "", "algorithm that runs this ",
              direction_name(dir), " (", args.dtype, ", batch ", args.batch, ", ", args.in_channels, " -> ",
              args.out_channels, " channels, groups ", args.groups, ") within ", kMaxWorkspace >> 20,
              " MiB of workspace", tried.empty() ? "" : " (tried ", tried, tried.empty() ? "" : ")",
              "; hint: fulgur::set_cudnn_enabled(false) composes convolutions from im2col and matmul");
}

void run(const kernels::ConvArgs& args, Direction dir, const Buffers& b, void* stream) {
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice", "conv on cuDNN");
  const Types t = types_of(args.dtype);
  const Problem p = problem_of(args);
  const Key key = key_of(args, p, dir, device);
  with_cudnn_handle(device, stream, kOp, [&](cudnnHandle_t h) { run_on(h, args, t, p, key, dir, b, device, stream); });
}

bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

}  // namespace

bool cudnn_supports(const kernels::ConvArgs& args, int device) {
  if (!cudnn_takes_dtype(args.dtype, device)) return false;
  if (args.w.nspatial < 1 || args.w.nspatial > 3 || args.groups < 1) return false;
  int64_t x = args.batch * args.in_channels, y = args.batch * args.out_channels,
          w = args.out_channels * (args.in_channels / args.groups);
  for (int d = 0; d < args.w.nspatial; ++d) {
    x *= args.w.image_sizes[d];
    y *= args.w.grid[d];
    w *= args.w.kernel[d];
    if (!fits_int(args.w.padding[d]) || !fits_int(args.w.stride[d]) || !fits_int(args.w.dilation[d])) return false;
  }
  if (!fits_int(x) || !fits_int(y) || !fits_int(w)) return false;
  return cudnn_ready(device, nullptr);
}

void cudnn_conv_forward(const kernels::ConvArgs& args, void* stream) {
  run(args, Direction::Forward, {args.x, args.weight, nullptr, args.y}, stream);
}
void cudnn_conv_backward_input(const kernels::ConvArgs& args, void* stream) {
  run(args, Direction::BackwardData, {nullptr, args.weight, args.dy, args.dx}, stream);
}
void cudnn_conv_backward_weight(const kernels::ConvArgs& args, void* stream) {
  run(args, Direction::BackwardFilter, {args.x, nullptr, args.dy, args.dweight}, stream);
}

#else  // no CUDA toolkit or no cuDNN headers: nothing to load

bool cudnn_supports(const kernels::ConvArgs&, int) { return false; }
void cudnn_conv_forward(const kernels::ConvArgs&, void*) { FULGUR_FAIL("conv", "built without cuDNN"); }
void cudnn_conv_backward_input(const kernels::ConvArgs&, void*) { FULGUR_FAIL("conv", "built without cuDNN"); }
void cudnn_conv_backward_weight(const kernels::ConvArgs&, void*) { FULGUR_FAIL("conv", "built without cuDNN"); }
#endif

}  // namespace fulgur::cuda
