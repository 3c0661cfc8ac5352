// LoaderState: the DataLoader's progress as plain data, and its Value form (what
// DataLoader::state_dict() returns and a checkpoint stores).
//
// Why generator states and not the epoch's index list: an epoch's order (and its worker
// seeds) is a function of the generators' states when the epoch started, so two pairs of
// integers per generator replace a list as long as the dataset.
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/value.h"

namespace fulgur::data {

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;

  static GeneratorState of(const Generator& generator);
  void apply_to(Generator& generator) const;
  friend bool operator==(const GeneratorState&, const GeneratorState&) = default;
};

struct LoaderState {
  int64_t epoch = -1;            // index of the latest epoch started; -1 before the first
  int64_t batches_yielded = 0;   // batches handed out in that epoch
  bool in_progress = false;      // that epoch has batches left
  std::vector<GeneratorState> epoch_start_generators;  // when that epoch started
  std::vector<GeneratorState> generators;              // now

  // {"epoch", "batches_yielded", "in_progress", "epoch_start_generators": [[seed, offset],
  // ...], "generators": [...]}; 64-bit seeds and offsets are stored bit for bit as int.
  Value to_value() const;
  // Throws fulgur::Error naming the missing or mistyped entry.
  static LoaderState from_value(const Value& value);
};

}  // namespace fulgur::data
