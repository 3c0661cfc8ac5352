// The MPI process group under mpirun (2 and 3 ranks; tests/BUILD): every collective x ReduceOp x
// dtype, sizes 0 to 2^20, non-contiguous tensors, the agreement check, timeouts, a group over
// the caller's communicator, and the launch environment. Rank r's element i holds
// value_of(dtype, r, i); every rank computes the expected result itself from that formula
// (in double, rounded to the dtype once), never through the group or the tensor kernels.
#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

#include "fulgur/distributed/init_process_group.h"
#include "fulgur/distributed/launch_environment.h"
#include "fulgur/distributed/mpi_process_group.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
using fulgur::distributed::ProcessGroup;
using fulgur::distributed::ReduceOp;

namespace {

// The group every test shares; fulgur initialises MPI here (doctest's main() does not).
ProcessGroup& world() {
  static std::shared_ptr<ProcessGroup> group =
      distributed::init_process_group("mpi", {.timeout = std::chrono::seconds(60)});
  return *group;
}

// Small integers and quarters: exact in every dtype, and so are their sums over a few ranks.
double value_of(DType dt, int rank, int64_t i) {
  const int64_t k = (i * 7 + rank * 3) % 13;
  if (dt == kBool) return (i + rank) % 3 == 0 ? 1.0 : 0.0;
  if (dt == kUInt8) return static_cast<double>(k);
  if (is_floating(dt)) return static_cast<double>(k - 6) + 0.25 * (rank + 1);
  return static_cast<double>(k - 6);
}

// The reduction of element i over ranks 0..n-1, as process_group.h defines it.
double expected_reduce(DType dt, ReduceOp op, int n, int64_t i) {
  double sum = 0, mx = -1e300, mn = 1e300;
  for (int r = 0; r < n; ++r) {
    const double v = value_of(dt, r, i);
    sum += v;
    mx = std::max(mx, v);
    mn = std::min(mn, v);
  }
  if (dt == kBool) return op == ReduceOp::Min ? mn : mx;  // min = all, sum/max = any
  switch (op) {
    case ReduceOp::Sum: return round_to(dt, sum);
    case ReduceOp::Max: return mx;
    case ReduceOp::Min: return mn;
    case ReduceOp::Avg:
      if (dt == kFloat64) return sum / n;
      // 16-bit floats are reduced in float32 and rounded once (mpi_process_group.cc).
      if (is_floating(dt)) return round_to(dt, static_cast<float>(sum) / static_cast<float>(n));
      return static_cast<double>(static_cast<int64_t>(sum) / n);  // truncating, as torch
  }
  return 0;
}

// Calls fn(i, offset) for row-major position i of t and its element offset in the storage
// (straight from sizes and strides; test_util's per-element helpers are too slow for 2^20
// elements under ASan).
template <typename Fn>
void for_each_offset(const Tensor& t, const Fn& fn) {
  const int64_t nd = t.dim();
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  int64_t off = t.storage_offset();
  for (int64_t i = 0; i < t.numel(); ++i) {
    fn(i, off);
    for (int64_t d = nd - 1; d >= 0; --d) {
      off += t.strides()[d];
      if (++idx[d] < t.sizes()[d]) break;
      off -= t.strides()[d] * t.sizes()[d];
      idx[d] = 0;
    }
  }
}

// A tensor of `shape` in `layout` (Transposed: a permuted view; Strided: a step-2 slice)
// holding value_of(dt, rank, i) at row-major position i.
Tensor rank_tensor(IntArrayRef shape, DType dt, int rank, Layout layout = Layout::Contiguous) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  Tensor t;
  if (layout == Layout::Transposed && nd >= 2) {
    const Shape fwd = shape.vec();
    const Shape rev(fwd.rbegin(), fwd.rend());
    std::vector<int64_t> perm;
    for (int64_t d = nd - 1; d >= 0; --d) perm.push_back(d);
    t = empty(rev, {.dtype = dt}).permute(perm);
  } else if (layout == Layout::Strided && nd >= 1) {
    Shape big = shape.vec();
    big.back() *= 2;
    t = empty(big, {.dtype = dt}).slice(nd - 1, 0, std::nullopt, 2);
  } else {
    t = empty(shape, {.dtype = dt});
  }
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* base = static_cast<T*>(t.storage()->data());
    for_each_offset(t, [&](int64_t i, int64_t off) {
      base[off] = static_cast<T>(static_cast<opmath_t<T>>(value_of(dt, rank, i)));
    });
  });
  return t;
}

// Every element of t in row-major order, as double.
std::vector<double> read_all(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* base = static_cast<const T*>(t.storage()->data());
    for_each_offset(t, [&](int64_t i, int64_t off) {
      out[static_cast<size_t>(i)] = static_cast<double>(static_cast<opmath_t<T>>(base[off]));
    });
  });
  return out;
}

// Counts elements where got(i) != want(i); reports the first.
template <typename Want>
void check_values(const Tensor& t, const Want& want, const std::string& what) {
  const std::vector<double> got = read_all(t);
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < static_cast<int64_t>(got.size()); ++i) {
    if (got[i] != want(i)) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  INFO(what, ": first mismatch at ", first, (first >= 0 ? ": got " + std::to_string(got[first]) + ", want " + std::to_string(want(first)) : std::string()));
  CHECK(bad == 0);
}

const std::vector<ReduceOp> kOps = {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the group spans the job: rank and size are MPI's") {
  int rank = -1, size = -1;
  world();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(world().rank() == rank);
  CHECK(world().size() == size);
  CHECK(world().backend() == "mpi");
  CHECK(distributed::mpi_is_initialized());
  CHECK(distributed::mpi_initialized_by_fulgur());  // doctest's main() did not initialise MPI
}

TEST_CASE("launch environment under mpirun equals MPI's view") {
  const distributed::LaunchEnvironment env = distributed::detect_launch_environment();
  CHECK(env.launcher == "openmpi");
  CHECK(env.world_size == world().size());
  CHECK(env.rank == world().rank());
  // One machine: every rank is local.
  CHECK(env.local_world_size == world().size());
  CHECK(env.local_rank == world().rank());
  CHECK(env.node_rank == 0);
}

TEST_CASE("all_reduce: every dtype, op and size, contiguous and not") {
  ProcessGroup& g = world();
  const int n = g.size(), me = g.rank();
  struct Case {
    Shape shape;
    Layout layout;
  };
  const std::vector<Case> cases = {
      {{0}, Layout::Contiguous},         {{1}, Layout::Contiguous},
      {{7}, Layout::Contiguous},         {{1000}, Layout::Contiguous},
      {{1 << 20}, Layout::Contiguous},   {{40, 25}, Layout::Transposed},
      {{1000}, Layout::Strided},         {{3, 0, 2}, Layout::Transposed},
  };
  for (DType dt : all_dtypes()) {
    for (ReduceOp op : kOps) {
      for (const Case& c : cases) {
        const std::string what = std::string(dtype_name(dt)) + " " + to_string(op) + " " +
                                 shape_str(c.shape) + " " + layout_name(c.layout);
        CAPTURE(what);
        Tensor t = rank_tensor(c.shape, dt, me, c.layout);
        if (dt == kBool && op == ReduceOp::Avg) {
          CHECK(error_of([&] { g.all_reduce(t, op); }).find("avg of a bool tensor") != std::string::npos);
          continue;
        }
        g.all_reduce(t, op);
        CHECK(t.dtype() == dt);
        CHECK(t.sizes() == IntArrayRef(c.shape));
        check_values(t, [&](int64_t i) { return expected_reduce(dt, op, n, i); }, what);
      }
    }
  }
}

TEST_CASE("all_reduce_async: test() and wait(), 16-bit floats and avg finish in place") {
  ProcessGroup& g = world();
  for (DType dt : {kFloat32, kBFloat16, kFloat16, kInt32}) {
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg}) {
      Tensor a = rank_tensor({1000}, dt, g.rank());
      Tensor b = rank_tensor({7, 3}, dt, g.rank());
      auto wa = g.all_reduce_async(a, op);
      auto wb = g.all_reduce_async(b, op);
      while (!wb->test()) {
      }
      wa->wait();
      CHECK(wa->test());
      check_values(a, [&](int64_t i) { return expected_reduce(dt, op, g.size(), i); }, "a");
      check_values(b, [&](int64_t i) { return expected_reduce(dt, op, g.size(), i); }, "b");
    }
  }
  Tensor strided = rank_tensor({10}, kFloat32, g.rank(), Layout::Strided);
  CHECK(error_of([&] { g.all_reduce_async(strided); }).find("needs a contiguous tensor") != std::string::npos);
}

TEST_CASE("broadcast: every dtype and size from the first and the last rank") {
  ProcessGroup& g = world();
  for (DType dt : all_dtypes()) {
    for (int root : {0, g.size() - 1}) {
      for (const Shape& shape : std::vector<Shape>{{0}, {1}, {7}, {1000}, {1 << 20}, {40, 25}}) {
        const Layout layout = shape.size() == 2 ? Layout::Transposed : Layout::Contiguous;
        Tensor t = rank_tensor(shape, dt, g.rank(), layout);
        g.broadcast(t, root);
        check_values(t, [&](int64_t i) { return value_of(dt, root, i); },
                     std::string(dtype_name(dt)) + " root " + std::to_string(root) + " " + shape_str(shape));
      }
    }
  }
}

TEST_CASE("all_gather: every rank's tensor stacked in rank order") {
  ProcessGroup& g = world();
  for (DType dt : all_dtypes()) {
    for (const Shape& shape : std::vector<Shape>{{0}, {1}, {7}, {1000}, {1 << 20}, {40, 25}, {}}) {
      const Layout layout = shape.size() == 2 ? Layout::Transposed : Layout::Strided;
      Tensor t = rank_tensor(shape, dt, g.rank(), layout);
      Tensor out = g.all_gather(t);
      Shape want = {g.size()};
      want.insert(want.end(), shape.begin(), shape.end());
      CHECK(out.sizes() == IntArrayRef(want));
      const int64_t per_rank = numel_of(shape);
      check_values(out, [&](int64_t i) { return value_of(dt, static_cast<int>(i / std::max<int64_t>(per_rank, 1)), i % std::max<int64_t>(per_rank, 1)); },
                   std::string(dtype_name(dt)) + " " + shape_str(shape));
    }
  }
}

TEST_CASE("reduce_scatter: rank r gets the reduction of every rank's r-th chunk") {
  ProcessGroup& g = world();
  const int n = g.size();
  for (DType dt : all_dtypes()) {
    for (ReduceOp op : kOps) {
      for (int64_t k : {0, 1, 5, 1 << 14}) {
        const Shape shape = {n * k, 3};
        Tensor in = rank_tensor(shape, dt, g.rank(), k == 5 ? Layout::Transposed : Layout::Contiguous);
        if (dt == kBool && op == ReduceOp::Avg) {
          CHECK(error_of([&] { g.reduce_scatter(in, op); }).find("avg of a bool tensor") != std::string::npos);
          continue;
        }
        Tensor out = g.reduce_scatter(in, op);
        CHECK(out.sizes() == IntArrayRef(Shape{k, 3}));
        const int64_t first = g.rank() * k * 3;
        check_values(out, [&](int64_t j) { return expected_reduce(dt, op, n, first + j); },
                     std::string(dtype_name(dt)) + " " + to_string(op) + " k=" + std::to_string(k));
      }
    }
  }
  Tensor odd = zeros({n * 2 + 1, 2});
  CHECK(error_of([&] { g.reduce_scatter(odd); }).find("must be a multiple of the group size") != std::string::npos);
}

TEST_CASE("bytes: all_gather_bytes with different lengths, broadcast_bytes, barrier") {
  ProcessGroup& g = world();
  // Rank r brings r copies of 'a' + r (rank 0 brings nothing).
  const std::vector<std::string> all = g.all_gather_bytes(std::string(g.rank(), static_cast<char>('a' + g.rank())));
  REQUIRE(static_cast<int>(all.size()) == g.size());
  for (int r = 0; r < g.size(); ++r) CHECK(all[r] == std::string(r, static_cast<char>('a' + r)));
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  const std::string got = g.broadcast_bytes(g.rank() == g.size() - 1 ? big : std::string("ignored"), g.size() - 1);
  CHECK(got == big);
  CHECK(g.broadcast_bytes(g.rank() == 0 ? std::string() : std::string("x"), 0).empty());
  g.barrier();
  CHECK(error_of([&] { g.broadcast_bytes("x", g.size()); }).find("is not a rank of this group") != std::string::npos);
}

TEST_CASE("mismatched calls raise the same error on every rank, and the group stays usable") {
  ProcessGroup& g = world();
  const int me = g.rank();
  // Shapes: rank r passes [r + 2].
  Tensor t = zeros({me + 2});
  const std::string shapes = error_of([&] { g.all_reduce(t); });
  CHECK(shapes.find("all_reduce: the ranks' calls do not agree: rank 0: all_reduce(sum) of float32 [2]") != std::string::npos);
  CHECK(shapes.find("rank 1: all_reduce(sum) of float32 [3]") != std::string::npos);
  CHECK(read_all(t) == std::vector<double>(me + 2, 0.0));  // untouched
  // Dtypes.
  Tensor d = zeros({4}, {.dtype = me == 0 ? kFloat32 : kFloat64});
  const std::string dtypes = error_of([&] { g.all_gather(d); });
  CHECK(dtypes.find("rank 0: all_gather of float32 [4]; rank 1: all_gather of float64 [4]") != std::string::npos);
  // Different collectives.
  Tensor c = zeros({4});
  const std::string calls = error_of([&] {
    if (me == 0) g.all_reduce(c, ReduceOp::Max);
    else g.broadcast(c, 0);
  });
  CHECK(calls.find("rank 0: all_reduce(max) of float32 [4]; rank 1: broadcast(root 0) of float32 [4]") != std::string::npos);
  CHECK(!g.broken());
  // Still in step: a correct call works.
  Tensor ok = full({3}, me + 1.0);
  g.all_reduce(ok);
  CHECK(read_all(ok) == std::vector<double>(3, g.size() * (g.size() + 1) / 2.0));
}

TEST_CASE("a collective a rank never joins times out on the others, and every rank exits") {
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  // Its own group (a duplicate of MPI_COMM_WORLD) with a 1 s timeout.
  auto g = distributed::mpi_process_group(MPI_COMM_WORLD, {.timeout = std::chrono::seconds(1)});
  if (world_rank == 0) {
    Tensor t = ones({10});
    const auto start = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { g->all_reduce(t); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(e.find("all_reduce: timed out after 1 s on rank 0 of " + std::to_string(g->size()) +
                 " (all_reduce(sum) of float32 [10])") != std::string::npos);
    CHECK(e.find("hint: another rank failed") != std::string::npos);
    CHECK(s >= 0.99);
    CHECK(s < 3.0);
    CHECK(g->broken());
    const auto again = std::chrono::steady_clock::now();
    CHECK(error_of([&] { g->barrier(); }).find("the process group is broken") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - again < std::chrono::milliseconds(100));
  }
  // The others skipped it. Everyone meets on the host's communicator, then drops the group
  // (rank 0's metadata exchange is still pending on the freed duplicate).
  MPI_Barrier(MPI_COMM_WORLD);
  g.reset();
  world().barrier();  // the shared group is unaffected
}

TEST_CASE("a group over the caller's communicator: a sub-communicator, host messages untouched") {
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  // Even and odd world ranks, each half in reverse order.
  MPI_Comm half = MPI_COMM_NULL;
  REQUIRE(MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, -world_rank, &half) == MPI_SUCCESS);
  int half_rank = 0, half_size = 0;
  MPI_Comm_rank(half, &half_rank);
  MPI_Comm_size(half, &half_size);

  // The host posts a wildcard receive on MPI_COMM_WORLD before fulgur's traffic starts.
  int host_payload = -1;
  MPI_Request host_recv = MPI_REQUEST_NULL;
  if (world_rank == 0) {
    MPI_Irecv(&host_payload, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &host_recv);
  }
  {
    auto g = distributed::mpi_process_group(half, {.timeout = std::chrono::seconds(60)});
    CHECK(g->rank() == half_rank);
    CHECK(g->size() == half_size);
    CHECK(g->rank() == (world_size - 1 - world_rank) / 2);  // the key reversed the order
    Tensor t = full({5}, static_cast<double>(world_rank));
    g->all_reduce(t);
    double want = 0;
    for (int r = world_rank % 2; r < world_size; r += 2) want += r;
    CHECK(read_all(t) == std::vector<double>(5, want));
    const std::vector<std::string> names = g->all_gather_bytes(std::to_string(world_rank));
    for (int i = 0; i < half_size; ++i) {
      // Group rank i is the i-th largest world rank of this parity.
      int expect = -1, seen = 0;
      for (int r = world_size - 1; r >= 0; --r) {
        if (r % 2 == world_rank % 2 && seen++ == i) expect = r;
      }
      CHECK(names[i] == std::to_string(expect));
    }
    // Fulgur's messages did not reach the host's wildcard receive.
    if (world_rank == 0) {
      int arrived = 1;
      MPI_Test(&host_recv, &arrived, MPI_STATUS_IGNORE);
      CHECK(arrived == 0);
    }
  }
  // Now the host's own message (sent once rank 0 has looked), which the wildcard receive gets
  // intact.
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank == world_size - 1 && world_size > 1) {
    const int payload = 4242;
    MPI_Send(&payload, 1, MPI_INT, 0, 7, MPI_COMM_WORLD);
  }
  if (world_rank == 0) {
    if (world_size > 1) {
      MPI_Status status;
      MPI_Wait(&host_recv, &status);
      CHECK(host_payload == 4242);
      CHECK(status.MPI_TAG == 7);
      CHECK(status.MPI_SOURCE == world_size - 1);
    } else {
      MPI_Cancel(&host_recv);
      MPI_Request_free(&host_recv);
    }
  }
  MPI_Comm_free(&half);
  CHECK(error_of([] { distributed::mpi_process_group(MPI_COMM_NULL); }).find("MPI_COMM_NULL") != std::string::npos);
}

TEST_CASE("parse_reduce_op and errors that need no peer") {
  CHECK(distributed::parse_reduce_op("mean") == ReduceOp::Avg);
  CHECK(distributed::parse_reduce_op("SUM") == ReduceOp::Sum);
  CHECK(error_of([] { distributed::parse_reduce_op("prod"); }).find("unknown reduce op 'prod'") != std::string::npos);
  CHECK(error_of([] { distributed::init_process_group("gloo"); }).find("unknown backend 'gloo'") != std::string::npos);
  ProcessGroup& g = world();
  Tensor undefined;
  CHECK(error_of([&] { g.all_reduce(undefined); }).find("undefined") != std::string::npos);
}
