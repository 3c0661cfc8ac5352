// The host's own part of a checkpoint: each rank's field and the step counter, written next to
// the Trainer's checkpoint (<ckpt>.rank<R>.field) so that --resume <ckpt> restores both. The
// Trainer's epoch and global step are recorded too: on resume they must match the checkpoint's,
// which catches a pair of files written by different runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cpp_embed {

struct HostState {
  int64_t grid = 0;   // n (interior points per side)
  int64_t ranks = 0;  // communicator size
  int64_t rank = 0;
  double r = 0;       // diffusion number
  int64_t step = 0;   // the solver's step counter
  int64_t epoch = 0;  // the Trainer's current_epoch() / global_step() when written
  int64_t global_step = 0;
  std::vector<float> field;  // the rank's (rows + 2) x (n + 2) buffer, halos included
};

std::string host_state_path(const std::string& ckpt_path, int rank);
// Atomic: written to a temporary file in the same folder, flushed to disk, renamed over `path`.
void save_host_state(const std::string& path, const HostState& state);
// Throws fulgur::Error naming the file when it is missing, truncated or not a host state.
HostState load_host_state(const std::string& path);

}  // namespace cpp_embed
