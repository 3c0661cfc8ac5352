#include "fulgur/trainer/ddp_strategy.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "fulgur/autograd/autograd.h"
#include "fulgur/distributed/host_staged_process_group.h"
#include "fulgur/distributed/init_process_group.h"
#include "fulgur/distributed/launch_environment.h"
#include "fulgur/distributed/nccl_process_group.h"
#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"
#include "fulgur/serialize/byte_source.h"
#include "fulgur/serialize/checkpoint.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/accelerator.h"
#include "fulgur/trainer/lightning_module.h"
#include "fulgur/trainer/metrics/metric.h"
#include "fulgur/trainer/process_group_reducer.h"

namespace fulgur::lightning {

namespace {

// The module's buffers without the states of its metric objects: those accumulate per rank
// and are reduced by the metric itself in compute() (torchmetrics keeps them out of the
// module's buffers for the same reason), so DDP must not overwrite them with rank 0's.
std::vector<std::pair<std::string, Tensor>> model_buffers(LightningModule& module) {
  std::vector<std::string> metric_prefixes;
  for (const auto& [name, m] : module.named_modules()) {
    if (!name.empty() && dynamic_cast<const metrics::Metric*>(m.get()) != nullptr) metric_prefixes.push_back(name + ".");
  }
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, b] : module.named_buffers()) {
    const bool metric_state = std::any_of(metric_prefixes.begin(), metric_prefixes.end(),
                                          [&](const std::string& p) { return name.starts_with(p); });
    if (!metric_state) out.emplace_back(name, b);
  }
  return out;
}

}  // namespace

DDPStrategy::DDPStrategy(DDPStrategyOptions options, std::shared_ptr<Accelerator> accelerator)
    : Strategy(std::move(accelerator)),
      options_(std::move(options)),
      group_(options_.process_group),
      env_(distributed::detect_launch_environment()) {
  const std::string& backend = options_.process_group_backend;
  FULGUR_CHECK(backend.empty() || backend == "mpi" || backend == "nccl", "DDPStrategy", "process_group_backend=\"",
               backend, "\" is not available; hint: \"mpi\" (CPU tensors, CUDA tensors through host memory; use it "
               "where Lightning uses \"gloo\"), \"nccl\" (GPUs) or \"\" to choose by device");
  FULGUR_CHECK(backend != "nccl" || distributed::nccl_is_available(), "DDPStrategy",
               "process_group_backend=\"nccl\": ", distributed::nccl_unavailable_reason(),
               "; hint: \"mpi\" also serves CUDA tensors, through host memory");
  FULGUR_CHECK(options_.bucket_cap_mb > 0, "DDPStrategy", "bucket_cap_mb=", options_.bucket_cap_mb,
               " must be positive");
}

DDPStrategy::~DDPStrategy() = default;

Device DDPStrategy::root_device() const {
  const auto& devices = options_.parallel_devices;
  if (!devices.empty()) {
    FULGUR_CHECK(env_.local_rank < static_cast<int64_t>(devices.size()), "DDPStrategy", "local rank ", env_.local_rank,
                 " has no device: parallel_devices holds ", devices.size(), "; hint: one device per process of a node "
                 "(start as many processes per node as devices)");
    return devices[static_cast<size_t>(env_.local_rank)];
  }
  if (dynamic_cast<const CUDAAccelerator*>(accelerator()) != nullptr) return Device::cuda(static_cast<int>(env_.local_rank));
  return kCPU;
}

std::string DDPStrategy::process_group_backend() const {
  if (!options_.process_group_backend.empty()) return options_.process_group_backend;
  // NCCL needs real GPUs: the emulated device's memory is host memory no NCCL can reach.
  const bool gpus = root_device().is_cuda() && cuda::is_available() && !cuda::emulated_device_enabled();
  return gpus && distributed::nccl_is_available() ? "nccl" : "mpi";
}

void DDPStrategy::connect() {
  if (connected_) return;
  const distributed::ProcessGroupOptions group_options{.timeout = options_.timeout};
  if (!group_) {
    if (process_group_backend() == "nccl") {
      const Device device = root_device();
      FULGUR_CHECK(device.is_cuda(), "DDPStrategy", "process_group_backend=\"nccl\" needs CUDA devices, but this "
                   "rank runs on ", device, "; hint: accelerator=\"gpu\", or process_group_backend=\"mpi\"");
      group_ = distributed::nccl_process_group(distributed::init_process_group("mpi", group_options), device.index,
                                               group_options);
    } else {
      group_ = distributed::init_process_group("mpi", group_options);
    }
  }
  if (root_device().is_cuda() && group_->backend() != "nccl") {
    group_ = std::make_shared<distributed::HostStagedProcessGroup>(group_);
  }
  connected_ = true;
}

Tensor DDPStrategy::for_collective(const Tensor& tensor) const { return tensor.detach().to(root_device()); }

int64_t DDPStrategy::world_size() const {
  return group_ ? group_->size() : env_.world_size;
}
int64_t DDPStrategy::global_rank() const { return group_ ? group_->rank() : env_.rank; }
int64_t DDPStrategy::local_rank() const { return env_.local_rank; }
int64_t DDPStrategy::node_rank() const { return env_.node_rank; }

// Every rank must hold the same parameters (names, shapes, dtypes) or the bucket collectives
// would pair up different tensors: compared once, with the difference in the message.
void DDPStrategy::check_same_model(LightningModule& module) {
  std::ostringstream layout;
  for (const auto& [name, p] : module.named_parameters()) {
    layout << name << ':' << dtype_name(p.dtype()) << shape_str(p.sizes()) << ';';
  }
  for (const auto& [name, b] : model_buffers(module)) {
    layout << name << ':' << dtype_name(b.dtype()) << shape_str(b.sizes()) << ';';
  }
  const std::vector<std::string> all = group_->all_gather_bytes(layout.str());
  for (size_t r = 1; r < all.size(); ++r) {
    FULGUR_CHECK(all[r] == all[0], "DDPStrategy.setup", "rank ", r, " built a different model than rank 0 (DDP "
                 "needs the same parameters and buffers on every rank): rank 0 has [", all[0], "], rank ", r,
                 " has [", all[r], "]; hint: build the model the same way on every rank (same hparams)");
  }
}

void DDPStrategy::setup(LightningModule& module) {
  connect();
  Strategy::setup(module);
  check_same_model(module);
  // Lightning's DDP: every rank starts from rank 0's weights.
  NoGradGuard no_grad;
  for (auto& [name, p] : module.named_parameters()) {
    Tensor data = p.detach();
    group_->broadcast(data, 0);
  }
  for (auto& [name, b] : model_buffers(module)) group_->broadcast(b, 0);
  buckets_ = std::make_unique<GradientBuckets>(module.named_parameters(), group_, options_.bucket_cap_mb,
                                               options_.find_unused_parameters);
}

void DDPStrategy::teardown() {
  buckets_.reset();  // removes the gradient hooks
  Strategy::teardown();
}

void DDPStrategy::model_to_device(LightningModule& module) { module.to(root_device()); }

void DDPStrategy::before_training_step(LightningModule& module) {
  if (!options_.broadcast_buffers || !group_ || group_->size() == 1) return;
  NoGradGuard no_grad;
  for (auto& [name, b] : model_buffers(module)) group_->broadcast(b, 0);
}

void DDPStrategy::set_gradient_sync(bool enabled) {
  if (buckets_) buckets_->set_sync(enabled);
}

void DDPStrategy::post_backward(const Tensor&, LightningModule&) {
  if (buckets_) buckets_->finish();
}

Tensor DDPStrategy::reduce(const Tensor& tensor, const std::string& reduce_op) {
  connect();
  const distributed::ReduceOp op = distributed::parse_reduce_op(reduce_op);
  Tensor out = for_collective(tensor).clone();
  // Lightning reduces floating values; an integer mean would truncate.
  if (op == distributed::ReduceOp::Avg && !is_floating(out.dtype())) out = out.to(kFloat32);
  group_->all_reduce(out, op);
  return out.to(tensor.device());
}

Tensor DDPStrategy::all_gather(const Tensor& tensor, bool sync_grads) {
  connect();
  FULGUR_CHECK(!sync_grads, "DDPStrategy.all_gather", "sync_grads=true (a differentiable all_gather) is not "
               "supported yet; hint: gather detached values, or reduce the loss instead");
  return group_->all_gather(for_collective(tensor)).to(tensor.device());
}

Value DDPStrategy::broadcast(const Value& obj, int64_t src) {
  connect();
  const std::string bytes = group_->broadcast_bytes(
      group_->rank() == src ? serialize::save_to_string(obj) : std::string(), static_cast<int>(src));
  if (group_->rank() == src) return obj;
  return serialize::load_from(serialize::memory_source("broadcast", std::vector<uint8_t>(bytes.begin(), bytes.end())));
}

void DDPStrategy::barrier(const std::string&) {
  connect();
  group_->barrier();
}

bool DDPStrategy::reduce_boolean_decision(bool decision, bool all) {
  connect();
  Tensor votes = for_collective(from_vector(std::vector<int32_t>{decision ? 1 : 0}));
  group_->all_reduce(votes, distributed::ReduceOp::Sum);
  const int32_t yes = votes.to(kCPU).to_vector<int32_t>()[0];
  return all ? yes == group_->size() : yes > 0;
}

std::vector<std::string> DDPStrategy::all_gather_strings(const std::string& s) {
  connect();
  return group_->all_gather_bytes(s);
}

std::shared_ptr<const metrics::Reducer> DDPStrategy::metrics_reducer() {
  connect();
  if (group_->size() == 1) return nullptr;
  if (!metrics_reducer_) metrics_reducer_ = std::make_shared<ProcessGroupReducer>(group_, root_device());
  return metrics_reducer_;
}

void DDPStrategy::abort(int exit_code, const std::string& why) {
  if (group_) group_->abort(exit_code, why);
  Strategy::abort(exit_code, why);
}

}  // namespace fulgur::lightning
