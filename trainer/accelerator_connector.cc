#include "fulgur/trainer/accelerator_connector.h"

#include <algorithm>
#include <array>

#include "fulgur/distributed/launch_environment.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"
#include "fulgur/trainer/ddp_strategy.h"

namespace fulgur::lightning {

namespace {
// Lightning's strategy registry names that need several processes: the distributed issue.
constexpr std::array<std::string_view, 12> kDistributedStrategies = {
    "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook", "ddp_find_unused_parameters_true",
    "ddp_find_unused_parameters_false", "ddp_spawn_find_unused_parameters_true", "deepspeed", "fsdp", "dp",
    "xla", "single_xla"};

// The DDP names this build runs (processes launched by MPI); the others are refused.
bool is_ddp(std::string_view name) {
  return name == "ddp" || name == "ddp_find_unused_parameters_true" || name == "ddp_find_unused_parameters_false";
}

bool is_distributed(std::string_view name) {
  return std::find(kDistributedStrategies.begin(), kDistributedStrategies.end(), name) != kDistributedStrategies.end();
}

[[noreturn]] void refuse_distributed(const std::string& strategy, const std::string& why) {
  FULGUR_FAIL("Trainer", why, "strategy=\"", strategy,
              "\" is not available: this build runs \"ddp\" (and ddp_find_unused_parameters_true/false) with "
              "processes launched by MPI; hint: use strategy=\"ddp\" under mpirun, or strategy=\"auto\"");
}

// Lightning's cluster environments check that the launcher started devices x num_nodes
// processes; Fulgur never spawns them itself (ddp_spawn-like launching is refused).
void check_process_count(int64_t devices_per_node, bool devices_auto, int64_t num_nodes) {
  const distributed::LaunchEnvironment env = distributed::detect_launch_environment();
  const int64_t wanted = devices_per_node * num_nodes;
  if (devices_auto) {
    FULGUR_CHECK(env.world_size % num_nodes == 0, "Trainer", "num_nodes=", num_nodes, " does not divide the ",
                 env.world_size, " processes the launcher (", env.launcher, ") started; hint: start num_nodes x "
                 "devices processes");
    return;
  }
  FULGUR_CHECK(env.world_size == wanted, "Trainer", "devices=", devices_per_node, " x num_nodes=", num_nodes,
               " means ", wanted, " processes, but ", env.launcher == "none" ? std::string("this process was not "
               "started by an MPI launcher (1 process)") : "the launcher (" + env.launcher + ") started " +
               std::to_string(env.world_size),
               "; hint: launch with `mpirun -np ", wanted, " <program> ...` (or `srun -n ", wanted,
               "`): Fulgur does not spawn processes itself; or set devices=\"auto\"");
}

std::shared_ptr<Accelerator> select_accelerator(const std::string& flag) {
  // Lightning's "auto" takes a GPU when there is one. Never the emulated device: it runs the
  // CUDA kernels on the CPU, far slower than the CPU backend, and is only for testing.
  if (flag == "auto") {
    if (cuda::is_available()) return std::make_shared<CUDAAccelerator>();
    return std::make_shared<CPUAccelerator>();
  }
  if (flag == "cpu") return std::make_shared<CPUAccelerator>();
  FULGUR_CHECK(flag == "gpu" || flag == "cuda", "Trainer", "You selected an invalid accelerator name: `accelerator='",
               flag, "'`. Available names are: auto, cpu, cuda, gpu.");
  auto cuda = std::make_shared<CUDAAccelerator>();
  FULGUR_CHECK(cuda->is_available(), "Trainer", "`CUDAAccelerator` can not run on your system since the accelerator "
               "is not available. The following accelerator(s) is available and can be passed into `accelerator` "
               "argument of `Trainer`: ['cpu'].");
  return cuda;
}
}  // namespace

AcceleratorConnector::AcceleratorConnector(const std::string& accelerator_flag, const StrategyOption& strategy_flag,
                                           const std::string& devices_flag, int64_t num_nodes_flag)
    : num_nodes(num_nodes_flag) {
  // Lightning's _check_config_and_set_final_flags: names first.
  const std::string& sname = strategy_flag.name();
  if (!strategy_flag.instance()) {
    FULGUR_CHECK(sname == "auto" || sname == "single_device" || is_distributed(sname), "Trainer",
                 "You selected an invalid strategy name: `strategy='", sname, "'`. It must be either a string or an "
                 "instance of `lightning.pytorch.strategies.Strategy`. Example choices: auto, ddp, ddp_spawn, "
                 "deepspeed, ... Find a complete list of options in our documentation at https://lightning.ai");
    if (is_distributed(sname) && !is_ddp(sname)) refuse_distributed(sname, "");
  }
  // _check_device_config_and_set_final_flags.
  FULGUR_CHECK(num_nodes >= 1, "Trainer", "`num_nodes` must be a positive integer, but got ", num_nodes, ".");
  const ParsedDevices devices = parse_devices_flag(devices_flag);
  const bool zero = (devices.is_count() && devices.count() == 0) || (devices.is_list() && devices.list().empty());
  FULGUR_CHECK(!zero, "Trainer", "`Trainer(devices=", devices.repr(), ")` value is not a valid input using ",
               accelerator_flag, " accelerator.");

  // A Strategy object on a CUDA device asks for the CUDA accelerator, as in Lightning.
  std::string accel_flag = accelerator_flag;
  if (strategy_flag.instance() && accel_flag == "auto" && strategy_flag.instance()->root_device().is_cuda()) {
    accel_flag = "cuda";
  }
  accelerator = select_accelerator(accel_flag);

  // _set_parallel_devices_and_init_accelerator: "auto" is the accelerator's count.
  device_ids = accelerator->parse_devices(devices.is_auto() ? ParsedDevices{accelerator->auto_device_count()}
                                                            : devices);
  const std::vector<Device> parallel = accelerator->get_parallel_devices(device_ids);

  if (strategy_flag.instance()) {
    strategy = strategy_flag.instance();
    if (strategy->accelerator() == nullptr) strategy->accelerator(accelerator);
    if (strategy->world_size() == 1) {
      const Device root = strategy->root_device();
      device_ids = {root.is_cuda() ? static_cast<int64_t>(root.index) : 0};
    }
    return;
  }
  // _choose_strategy: several devices or nodes mean "ddp" in Lightning.
  const bool multi = device_ids.size() > 1 || num_nodes > 1;
  if (is_ddp(sname) || (sname == "auto" && multi)) {
    check_process_count(static_cast<int64_t>(device_ids.size()), devices.is_auto(), num_nodes);
    const distributed::LaunchEnvironment env = distributed::detect_launch_environment();
    if (devices.is_auto()) {
      device_ids.clear();
      for (int i = 0; i < env.local_world_size; ++i) device_ids.push_back(i);
    }
    strategy = std::make_shared<DDPStrategy>(
        DDPStrategyOptions{.find_unused_parameters = sname == "ddp_find_unused_parameters_true",
                           .parallel_devices = accelerator->get_parallel_devices(device_ids)},
        accelerator);
    return;
  }
  const std::string shown = devices.is_auto() ? std::to_string(device_ids.size()) : devices.repr();
  FULGUR_CHECK(!multi || sname == "auto", "Trainer", "strategy=\"single_device\" runs one process on one device, "
               "but devices=", shown, " and num_nodes=", num_nodes, " were requested; hint: use devices=1 "
               "and num_nodes=1");
  if (multi) {
    refuse_distributed("ddp",
                       "Trainer(devices=" + shown + ", num_nodes=" + std::to_string(num_nodes) +
                           ") needs one process per device (Lightning chooses strategy=\"ddp\" here), but ");
  }
  strategy = std::make_shared<SingleDeviceStrategy>(parallel.at(0), accelerator);
}

}  // namespace fulgur::lightning
