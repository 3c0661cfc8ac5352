// cpp_embed's command line: --name value or --name=value (README.md lists them).
#pragma once

#include <cstdint>
#include <string>

namespace cpp_embed {

struct Options {
  int64_t steps = 400;          // --steps: solver steps in all (a resumed run continues to this)
  int64_t train_every = 10;     // --train-every K: a training event every K steps
  int64_t grid = 32;            // --grid n: n x n interior points (a multiple of the ranks)
  double r = 0.2;               // --r: dt / h^2
  int64_t hidden = 32;          // --hidden: width of the MLP's two hidden layers
  double lr = 3e-3;             // --lr: Adam's learning rate
  int64_t batch = 16;           // --batch: minibatch size of the training samples per rank
  int64_t infer_steps = 5;      // --infer-steps: steps the surrogate advances at the end
  std::string checkpoint_dir;   // --checkpoint-dir: where checkpoints go ("" : none)
  std::string resume;           // --resume CKPT: a last.ckpt written with --checkpoint-dir
};

// Throws fulgur::Error on an unknown flag, a missing or malformed value, or a value out of range.
Options parse_options(int argc, char** argv);

}  // namespace cpp_embed
