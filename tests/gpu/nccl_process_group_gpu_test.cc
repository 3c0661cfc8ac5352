// The NCCL process group on real GPUs. One rank on device 0 (bootstrapped by SelfProcessGroup)
// always; two ranks on devices 0 and 1 when the machine has two GPUs: the test binary starts
// itself twice (fork + exec, so the children begin without the parent's CUDA state) with a
// socketpair as the bootstrap group, and each child runs the skipped-by-default case
// "nccl two-rank child". Expected values are computed on the host in double from the inputs
// (sums of small integers and halves: exact in every dtype used).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fulgur/distributed/nccl_process_group.h"
#include "fulgur/distributed/self_process_group.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/half.h"
#include "fulgur/tensor/ops.h"
#include "tests/gpu/skip_without_gpu.h"
#if FULGUR_WITH_NCCL
#include <cuda_runtime.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/stream.h"
#endif

using namespace fulgur;
using namespace fulgur::distributed;

namespace {

// On a GPU machine a build without NCCL is a packaging mistake, but say so instead of failing.
bool skip_without_nccl() {
  if (nccl_is_available()) return false;
  MESSAGE("SKIPPED (no NCCL): " << nccl_unavailable_reason());
  return true;
}

#if FULGUR_WITH_NCCL
using cuda::cuda_check;

std::string error_of(const auto& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Host values <-> the bytes of `dtype`, through double (the values used are exact in each).
std::vector<unsigned char> encode(DType dtype, const std::vector<double>& values) {
  const size_t size = element_size(dtype);
  std::vector<unsigned char> out(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i) {
    unsigned char* p = out.data() + i * size;
    const double v = values[i];
    switch (dtype) {
      case DType::Float32: { const float x = static_cast<float>(v); std::memcpy(p, &x, size); break; }
      case DType::Float64: std::memcpy(p, &v, size); break;
      case DType::BFloat16: { const BFloat16 x(static_cast<float>(v)); std::memcpy(p, &x.bits, size); break; }
      case DType::Float16: { const Half x(static_cast<float>(v)); std::memcpy(p, &x.bits, size); break; }
      case DType::Int32: { const auto x = static_cast<int32_t>(v); std::memcpy(p, &x, size); break; }
      case DType::Int64: { const auto x = static_cast<int64_t>(v); std::memcpy(p, &x, size); break; }
      case DType::UInt8: { const auto x = static_cast<uint8_t>(v); std::memcpy(p, &x, size); break; }
      case DType::Int8: { const auto x = static_cast<int8_t>(v); std::memcpy(p, &x, size); break; }
      case DType::Bool: { const uint8_t x = v != 0 ? 1 : 0; std::memcpy(p, &x, size); break; }
      case DType::Int16: { const auto x = static_cast<int16_t>(v); std::memcpy(p, &x, size); break; }
    }
  }
  return out;
}

std::vector<double> decode(DType dtype, const std::vector<unsigned char>& bytes) {
  const size_t size = element_size(dtype);
  std::vector<double> out(bytes.size() / size);
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char* p = bytes.data() + i * size;
    switch (dtype) {
      case DType::Float32: { float x; std::memcpy(&x, p, size); out[i] = x; break; }
      case DType::Float64: std::memcpy(&out[i], p, size); break;
      case DType::BFloat16: { uint16_t b; std::memcpy(&b, p, size); out[i] = BFloat16::to_float(b); break; }
      case DType::Float16: { uint16_t b; std::memcpy(&b, p, size); out[i] = Half::to_float(b); break; }
      case DType::Int32: { int32_t x; std::memcpy(&x, p, size); out[i] = x; break; }
      case DType::Int64: { int64_t x; std::memcpy(&x, p, size); out[i] = static_cast<double>(x); break; }
      case DType::UInt8: out[i] = *p; break;
      case DType::Int8: { int8_t x; std::memcpy(&x, p, size); out[i] = x; break; }
      case DType::Bool: out[i] = *p; break;
      case DType::Int16: { int16_t x; std::memcpy(&x, p, size); out[i] = x; break; }
    }
  }
  return out;
}

// Small values that every NCCL dtype holds exactly: integers in [-11, 11], plus .5 for floats;
// non-negative for uint8, 0/1 for bool.
std::vector<double> base_values(DType dtype, int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double x = static_cast<double>((i * 7) % 23 - 11);
    if (dtype == DType::UInt8) x += 11;
    if (dtype == DType::Bool) x = i % 3 == 0 ? 1 : 0;
    if (is_floating(dtype) && i % 2 == 1) x += 0.5;
    v[static_cast<size_t>(i)] = x;
  }
  return v;
}

// Device memory for one test: cudaMalloc'ed, filled from the host with a synchronous copy
// followed by a device synchronisation (the collectives run on non-blocking streams, which do
// not wait for the legacy default stream's copies).
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    if (bytes_ > 0) cuda_check(cudaMalloc(&data_, bytes_), "cudaMalloc", std::to_string(bytes_) + " bytes");
  }
  explicit Buffer(const std::vector<unsigned char>& host) : Buffer(host.size()) {
    if (bytes_ > 0) cuda_check(cudaMemcpy(data_, host.data(), bytes_, cudaMemcpyHostToDevice), "cudaMemcpy h2d");
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  ~Buffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  // 0xFF everywhere: NaN for floats, -1 / 255 for integers, so an element nobody wrote shows.
  void poison() {
    if (bytes_ > 0) cuda_check(cudaMemset(data_, 0xFF, bytes_), "cudaMemset");
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  std::vector<unsigned char> host() const {
    std::vector<unsigned char> out(bytes_);
    if (bytes_ > 0) cuda_check(cudaMemcpy(out.data(), data_, bytes_, cudaMemcpyDeviceToHost), "cudaMemcpy d2h");
    return out;
  }
  void* data() const { return data_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

const std::vector<DType> kNcclDTypes = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16,
                                        DType::Int32,   DType::Int64,   DType::UInt8,    DType::Int8};

// Holds its stream for 2 s: longer than the group's 0.5 s timeout, short enough that the
// abort that follows the timeout returns soon. ncclCommAbort frees the communicator's device
// memory, which waits for the device's other work, this host function included: on an H200
// (2026-11-29) a 20 s hold released only by the test after wait() returned made the abort,
// and so wait(), take the whole 20 s.
void CUDART_CB hold_stream(void*) { std::this_thread::sleep_for(std::chrono::seconds(2)); }

// ---- the two-process bootstrap: a socketpair carrying length-prefixed messages --------------
class SocketPairGroup final : public ProcessGroup {
 public:
  SocketPairGroup(int fd, int rank, ProcessGroupOptions options) : ProcessGroup(options), fd_(fd), rank_(rank) {}
  ~SocketPairGroup() override { close(fd_); }
  std::string backend() const override { return "socketpair"; }
  int rank() const override { return rank_; }
  int size() const override { return 2; }

  void all_reduce(Tensor&, ReduceOp) override { bytes_only("all_reduce"); }
  std::unique_ptr<Work> all_reduce_async(Tensor, ReduceOp) override { bytes_only("all_reduce_async"); }
  void broadcast(Tensor&, int) override { bytes_only("broadcast"); }
  Tensor all_gather(const Tensor&) override { bytes_only("all_gather"); }
  Tensor reduce_scatter(const Tensor&, ReduceOp) override { bytes_only("reduce_scatter"); }
  void barrier() override { all_gather_bytes(""); }

  // Rank 0 writes first and rank 1 reads first, so two large messages cannot deadlock.
  std::vector<std::string> all_gather_bytes(const std::string& bytes) override {
    std::string other;
    if (rank_ == 0) {
      send(bytes);
      other = receive();
      return {bytes, other};
    }
    other = receive();
    send(bytes);
    return {other, bytes};
  }
  std::string broadcast_bytes(const std::string& bytes, int root) override {
    if (rank_ == root) {
      send(bytes);
      return bytes;
    }
    return receive();
  }
  [[noreturn]] void abort(int exit_code, const std::string& why) override {
    std::fprintf(stderr, "rank %d aborts: %s\n", rank_, why.c_str());
    std::_Exit(exit_code);
  }

 private:
  [[noreturn]] static void bytes_only(const char* op) {
    FULGUR_FAIL(op, "the test's socketpair group carries bytes only");
  }
  void send(const std::string& bytes) {
    const uint64_t n = bytes.size();
    write_all(&n, sizeof(n));
    write_all(bytes.data(), bytes.size());
  }
  std::string receive() {
    uint64_t n = 0;
    read_all(&n, sizeof(n));
    std::string bytes(n, '\0');
    read_all(bytes.data(), n);
    return bytes;
  }
  void write_all(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      FULGUR_CHECK(w > 0, "SocketPairGroup", "write failed: ", std::strerror(errno));
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void read_all(void* data, size_t n) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(options().timeout.count()));
      FULGUR_CHECK(ready > 0, "SocketPairGroup", "no message from the other rank within the timeout");
      const ssize_t r = ::read(fd_, p, n);
      FULGUR_CHECK(r > 0, "SocketPairGroup", "the other rank closed the socket");
      p += r;
      n -= static_cast<size_t>(r);
    }
  }

  int fd_;
  int rank_;
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : -1;
}
#endif  // FULGUR_WITH_NCCL

}  // namespace

TEST_CASE("one rank: all_reduce of every NCCL dtype and op leaves the values (world size 1)") {
  FULGUR_SKIP_WITHOUT_GPU();
  if (skip_without_nccl()) return;
#if FULGUR_WITH_NCCL
  auto group = nccl_process_group(std::make_shared<SelfProcessGroup>(), 0);
  MESSAGE("NCCL " << nccl_version() << ", " << cuda::device_count() << " device(s)");
  CHECK(group->backend() == "nccl");
  CHECK(group->rank() == 0);
  CHECK(group->size() == 1);
  CHECK(group->device() == 0);
  const cuda::Stream stream = cuda::Stream::create(0);
  for (DType dtype : kNcclDTypes) {
    for (int64_t n : {int64_t{1}, int64_t{3}, int64_t{1000}, int64_t{1} << 20}) {
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
        CAPTURE(dtype);
        CAPTURE(n);
        CAPTURE(to_string(op));
        const std::vector<unsigned char> input = encode(dtype, base_values(dtype, n));
        Buffer buffer(input);
        group->all_reduce(buffer.data(), n, dtype, op, stream.handle());
        group->wait(stream.handle());
        CHECK(buffer.host() == input);
      }
    }
  }
  // bool travels as uint8: Sum and Max are "any", Min "all"; one rank: the values themselves.
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) {
    const std::vector<unsigned char> input = encode(DType::Bool, base_values(DType::Bool, 100));
    Buffer buffer(input);
    group->all_reduce(buffer.data(), 100, DType::Bool, op, stream.handle());
    group->wait(stream.handle());
    CHECK(buffer.host() == input);
  }
#endif
}

TEST_CASE("one rank: broadcast, all_gather, reduce_scatter, barrier") {
  FULGUR_SKIP_WITHOUT_GPU();
  if (skip_without_nccl()) return;
#if FULGUR_WITH_NCCL
  auto group = nccl_process_group(std::make_shared<SelfProcessGroup>(), 0);
  const cuda::Stream stream = cuda::Stream::create(0);
  for (DType dtype : kNcclDTypes) {
    CAPTURE(dtype);
    const int64_t n = 4099;
    const std::vector<double> values = base_values(dtype, n);
    const std::vector<unsigned char> input = encode(dtype, values);

    Buffer broadcast(input);
    group->broadcast(broadcast.data(), n, dtype, 0, stream.handle());
    group->wait(stream.handle());
    CHECK(decode(dtype, broadcast.host()) == values);

    Buffer gather_in(input);
    Buffer gather_out(input.size());  // size() * n elements, size() == 1
    gather_out.poison();
    group->all_gather(gather_in.data(), gather_out.data(), n, dtype, stream.handle());
    group->wait(stream.handle());
    CHECK(decode(dtype, gather_out.host()) == values);

    Buffer scatter_in(input);
    Buffer scatter_out(input.size());
    scatter_out.poison();
    group->reduce_scatter(scatter_in.data(), scatter_out.data(), n, dtype, ReduceOp::Sum, stream.handle());
    group->wait(stream.handle());
    CHECK(decode(dtype, scatter_out.host()) == values);
  }
  group->barrier();
  // The default stream (nullptr) works too.
  const std::vector<unsigned char> input = encode(DType::Float32, base_values(DType::Float32, 64));
  Buffer buffer(input);
  group->all_reduce(buffer.data(), 64, DType::Float32, ReduceOp::Sum, nullptr);
  group->wait(nullptr);
  CHECK(buffer.host() == input);
  // Zero elements: nothing moves, nothing is queued, no pointer needed.
  group->all_reduce(nullptr, 0, DType::Float32, ReduceOp::Sum, stream.handle());
  group->wait(stream.handle());
  CHECK_FALSE(group->broken());
#endif
}

TEST_CASE("one rank: errors name the op, count and dtype; Tensor methods refuse CPU tensors") {
  FULGUR_SKIP_WITHOUT_GPU();
  if (skip_without_nccl()) return;
#if FULGUR_WITH_NCCL
  auto group = nccl_process_group(std::make_shared<SelfProcessGroup>(), 0);
  const cuda::Stream stream = cuda::Stream::create(0);
  Buffer buffer(64);
  CHECK(contains(error_of([&] { group->all_reduce(buffer.data(), 4, DType::Int16, ReduceOp::Sum, stream.handle()); }),
                 "NCCL has no int16 type"));
  CHECK(contains(error_of([&] { group->all_reduce(buffer.data(), 4, DType::Bool, ReduceOp::Avg, stream.handle()); }),
                 "avg is not defined for bool"));
  CHECK(contains(error_of([&] { group->all_reduce(buffer.data(), -1, DType::Float32, ReduceOp::Sum, nullptr); }),
                 "count must be non-negative, got -1"));
  CHECK(contains(error_of([&] { group->all_reduce(nullptr, 8, DType::Float32, ReduceOp::Sum, nullptr); }),
                 "device_data is null for 8 elements of float32"));
  CHECK(contains(error_of([&] { group->broadcast(buffer.data(), 4, DType::Float32, 1, nullptr); }),
                 "root 1 is not a rank of this group (world size 1)"));
  CHECK_FALSE(group->broken());  // argument errors are caught before NCCL is called

  Tensor t = zeros({2, 3});
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { group->all_reduce(t); }, [&] { group->all_reduce_async(t); }, [&] { group->broadcast(t); },
           [&] { group->all_gather(t); }, [&] { group->reduce_scatter(t); }}) {
    const std::string message = error_of(call);
    CHECK(contains(message, "needs CUDA tensors on this rank's device cuda:0, got a cpu tensor of shape [2, 3] float32"));
  }
  CHECK_FALSE(group->broken());
  CHECK(group->broadcast_bytes("through the bootstrap") == "through the bootstrap");
  CHECK(group->all_gather_bytes("x") == std::vector<std::string>{"x"});

  // A device that does not exist: the valid range is named.
  const std::string message =
      error_of([&] { nccl_process_group(std::make_shared<SelfProcessGroup>(), cuda::device_count()); });
  CHECK(contains(message, "does not exist"));
  CHECK(contains(message, "rank 0: "));
#endif
}

TEST_CASE("one rank: the Tensor methods on CUDA tensors (views, every collective, async)") {
  FULGUR_SKIP_WITHOUT_GPU();
  if (skip_without_nccl()) return;
#if FULGUR_WITH_NCCL
  auto group = nccl_process_group(std::make_shared<SelfProcessGroup>(), 0);
  const Tensor host = arange(0, 24, 1, {.dtype = DType::Float32}).reshape({4, 6}) * 0.5;
  // A transposed view: packed, reduced, written back through its strides.
  Tensor base = host.to(Device::cuda(0));
  Tensor view = base.transpose(0, 1);
  group->all_reduce(view, ReduceOp::Sum);
  CHECK(equal(base.to(kCPU), host));
  group->all_reduce(view, ReduceOp::Avg);
  CHECK(equal(base.to(kCPU), host));
  Tensor b = host.to(Device::cuda(0));
  group->broadcast(b, 0);
  CHECK(equal(b.to(kCPU), host));
  const Tensor gathered = group->all_gather(view);
  CHECK(gathered.device() == Device::cuda(0));
  CHECK(gathered.sizes() == Shape{1, 6, 4});
  CHECK(equal(gathered.to(kCPU)[0], host.transpose(0, 1)));
  const Tensor scattered = group->reduce_scatter(base, ReduceOp::Sum);
  CHECK(scattered.sizes() == Shape{4, 6});
  CHECK(equal(scattered.to(kCPU), host));
  Tensor flat = host.reshape({24}).to(Device::cuda(0));
  auto work = group->all_reduce_async(flat, ReduceOp::Max);
  work->wait();
  CHECK(work->test());
  CHECK(equal(flat.to(kCPU), host.reshape({24})));
  CHECK(contains(error_of([&] { group->all_reduce_async(view); }), "needs a contiguous tensor"));
  Tensor flags = zeros({3}, {.dtype = DType::Bool, .device = Device::cuda(0)});
  CHECK(contains(error_of([&] { group->all_reduce(flags, ReduceOp::Avg); }), "avg is not defined for bool"));
  CHECK_FALSE(group->broken());
#endif
}

TEST_CASE("one rank: a wait that does not finish times out, aborts the communicator and breaks the group") {
  FULGUR_SKIP_WITHOUT_GPU();
  if (skip_without_nccl()) return;
#if FULGUR_WITH_NCCL
  auto group = nccl_process_group(std::make_shared<SelfProcessGroup>(), 0, {.timeout = std::chrono::milliseconds(500)});
  const cuda::Stream stream = cuda::Stream::create(0);
  // A host function holds the stream: nothing of NCCL is queued behind it, so aborting the
  // communicator leaves no NCCL kernel waiting to run.
  cuda_check(cudaLaunchHostFunc(static_cast<cudaStream_t>(stream.handle()), hold_stream, nullptr),
             "cudaLaunchHostFunc");
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { group->wait(stream.handle()); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stream.synchronize();
  CHECK(contains(message, "timed out after 0.5 s on rank 0 of 1 (cuda:0)"));
  CHECK(contains(message, "aborted"));
  CHECK(seconds >= 0.5);
  CHECK(seconds < 4.0);  // the 2 s hold (which the abort waits out), not more
  CHECK(group->broken());
  CHECK(contains(error_of([&] { group->barrier(); }), "the NCCL group is broken"));
#endif
}

TEST_CASE("two ranks on two GPUs (separate processes, socketpair bootstrap)") {
  FULGUR_SKIP_WITHOUT_GPU();
  if (skip_without_nccl()) return;
#if FULGUR_WITH_NCCL
  if (cuda::device_count() < 2) {
    MESSAGE("multi-GPU NOT verified: this machine has " << cuda::device_count()
                                                        << " GPU; the two-rank case needs 2 (one device per rank)");
    return;
  }
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  // Everything exec needs is prepared before fork: between fork and exec only
  // async-signal-safe calls (the parent has CUDA's threads).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<std::vector<std::string>> child_env(2, env_strings);
  for (int r = 0; r < 2; ++r) {
    child_env[r].push_back("FULGUR_NCCL_TEST_RANK=" + std::to_string(r));
    child_env[r].push_back("FULGUR_NCCL_TEST_FD=" + std::to_string(fds[r]));
  }
  std::vector<std::vector<char*>> envp(2);
  for (int r = 0; r < 2; ++r) {
    for (auto& s : child_env[r]) envp[r].push_back(s.data());
    envp[r].push_back(nullptr);
  }
  std::string self = "/proc/self/exe", filter = "--test-case=nccl two-rank child", no_skip = "--no-skip";
  char* argv[] = {self.data(), filter.data(), no_skip.data(), nullptr};
  pid_t pids[2];
  for (int r = 0; r < 2; ++r) {
    pids[r] = fork();
    REQUIRE(pids[r] >= 0);
    if (pids[r] == 0) {
      close(fds[1 - r]);
      execve("/proc/self/exe", argv, envp[r].data());
      _exit(127);
    }
  }
  close(fds[0]);
  close(fds[1]);
  // Both must end, with status 0, within 50 s (the test's Bazel timeout is 60 s).
  int status[2] = {-1, -1};
  bool done[2] = {false, false};
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(50);
  while ((!done[0] || !done[1]) && std::chrono::steady_clock::now() < until) {
    for (int r = 0; r < 2; ++r) {
      if (!done[r] && waitpid(pids[r], &status[r], WNOHANG) == pids[r]) done[r] = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int r = 0; r < 2; ++r) {
    CAPTURE(r);
    if (!done[r]) {
      kill(pids[r], SIGKILL);
      waitpid(pids[r], &status[r], 0);
      FAIL_CHECK("rank " << r << " did not finish within 50 s");
      continue;
    }
    CHECK(WIFEXITED(status[r]));
    CHECK(WEXITSTATUS(status[r]) == 0);
  }
#endif
}

// Runs only in the processes started by the case above (doctest::skip: --no-skip selects it).
TEST_CASE("nccl two-rank child" * doctest::skip()) {
#if FULGUR_WITH_NCCL
  const int rank = env_int("FULGUR_NCCL_TEST_RANK");
  const int fd = env_int("FULGUR_NCCL_TEST_FD");
  REQUIRE(rank >= 0);
  REQUIRE(fd >= 0);
  cuda::set_device(rank);  // this process's allocations and streams live on its own device
  auto bootstrap = std::make_shared<SocketPairGroup>(fd, rank, ProcessGroupOptions{std::chrono::seconds(60)});
  auto group = nccl_process_group(bootstrap, rank, {.timeout = std::chrono::seconds(60)});
  REQUIRE(group->size() == 2);
  REQUIRE(group->rank() == rank);
  const cuda::Stream stream = cuda::Stream::create(rank);
  const double scale = rank + 1;  // rank r holds (r + 1) * base

  for (DType dtype : {DType::Float32, DType::BFloat16, DType::Int64, DType::Float64}) {
    CAPTURE(dtype);
    const int64_t n = 100003;
    const std::vector<double> base = base_values(dtype, n);
    std::vector<double> mine(base.size());
    for (size_t i = 0; i < base.size(); ++i) mine[i] = scale * base[i];
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
      CAPTURE(to_string(op));
      Buffer buffer(encode(dtype, mine));
      group->all_reduce(buffer.data(), n, dtype, op, stream.handle());
      group->wait(stream.handle());
      std::vector<double> expected(base.size());
      for (size_t i = 0; i < base.size(); ++i) {
        const double a = base[i], b = 2 * base[i];  // ranks 0 and 1
        switch (op) {
          case ReduceOp::Sum: expected[i] = a + b; break;
          // Integers: the sum divided with truncation toward zero (C++ integer division).
          case ReduceOp::Avg:
            expected[i] = is_floating(dtype) ? (a + b) / 2
                                             : static_cast<double>(static_cast<int64_t>(a + b) / 2);
            break;
          case ReduceOp::Max: expected[i] = std::max(a, b); break;
          case ReduceOp::Min: expected[i] = std::min(a, b); break;
        }
      }
      CHECK(decode(dtype, buffer.host()) == expected);
    }

    // broadcast from rank 1: everyone ends with 2 * base.
    Buffer broadcast(encode(dtype, mine));
    group->broadcast(broadcast.data(), n, dtype, 1, stream.handle());
    group->wait(stream.handle());
    std::vector<double> twice(base.size());
    for (size_t i = 0; i < base.size(); ++i) twice[i] = 2 * base[i];
    CHECK(decode(dtype, broadcast.host()) == twice);

    // all_gather: [rank 0's, rank 1's].
    Buffer gather_in(encode(dtype, mine));
    Buffer gather_out(2 * static_cast<size_t>(n) * element_size(dtype));
    gather_out.poison();
    group->all_gather(gather_in.data(), gather_out.data(), n, dtype, stream.handle());
    group->wait(stream.handle());
    std::vector<double> gathered = base;
    gathered.insert(gathered.end(), twice.begin(), twice.end());
    CHECK(decode(dtype, gather_out.host()) == gathered);

    // reduce_scatter: chunk c of rank r holds (r + 1) * (base + c); rank r gets 3 * (base + r).
    std::vector<double> chunks;
    for (int c = 0; c < 2; ++c) {
      for (double b : base) chunks.push_back(scale * (b + c));
    }
    Buffer scatter_in(encode(dtype, chunks));
    Buffer scatter_out(static_cast<size_t>(n) * element_size(dtype));
    scatter_out.poison();
    group->reduce_scatter(scatter_in.data(), scatter_out.data(), n, dtype, ReduceOp::Sum, stream.handle());
    group->wait(stream.handle());
    std::vector<double> reduced(base.size());
    for (size_t i = 0; i < base.size(); ++i) reduced[i] = 3 * (base[i] + rank);
    CHECK(decode(dtype, scatter_out.host()) == reduced);
  }
  group->barrier();

  // A collective that rank 1 never joins: rank 0 times out (2 s), aborts its communicator and
  // breaks its group; rank 1 destroys its own group afterwards (finalize bounded by 2 s).
  {
    auto short_group = nccl_process_group(bootstrap, rank, {.timeout = std::chrono::seconds(2)});
    if (rank == 0) {
      Buffer buffer(encode(DType::Float32, base_values(DType::Float32, 1024)));
      const std::string message = error_of([&] {
        short_group->all_reduce(buffer.data(), 1024, DType::Float32, ReduceOp::Sum, stream.handle());
        short_group->wait(stream.handle());
      });
      CHECK(contains(message, "timed out after 2 s on rank 0 of 2 (cuda:0)"));
      CHECK(short_group->broken());
    }
    bootstrap->barrier();  // rank 1 waits here until rank 0 has given up
  }
  bootstrap->barrier();
#else
  MESSAGE("built without NCCL");
#endif
}
