// fulgur::save / fulgur::load: PyTorch's checkpoint format (what torch.save writes and
// torch.load reads) for a Value tree: None, bool, int, float, str, Tensor, list, tuple, and
// dicts with int or str keys (module state_dicts, optimizer state_dicts, Lightning
// checkpoints). docs/FORMATS.md describes exactly what is written, read and refused.
//
//   fulgur::save(Value::dict({{"state_dict", sd}, {"epoch", 3}}), "model.ckpt");
//   # Python: torch.load("model.ckpt", weights_only=False)["state_dict"]
//   Value ck = fulgur::load("model.ckpt");   // or a file written by torch.save
//
// Saving is atomic (serialize/atomic_file.h): a crash leaves the old file or the new one.
// Tensors sharing a storage are written once and still share it after loading; tensors on
// a GPU are written with their device as location ("cuda:0") and load to the CPU, as
// torch.load(map_location="cpu") does, unless a MapLocation says otherwise. Loading verifies
// every CRC-32, checks every size, offset and count before use, and unpickles through an
// allow-list (serialize/pickle_reader.h): anything else throws fulgur::Error naming what it met.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "fulgur/serialize/byte_source.h"
#include "fulgur/tensor/value.h"

namespace fulgur {

// torch.load's callable map_location: the device for a storage saved at `location` ("cpu",
// "cuda:1", or whatever another writer put there). Empty: every storage on the CPU.
using MapLocation = std::function<Device(const std::string& location)>;

void save(const Value& value, const std::string& path);
Value load(const std::string& path, const MapLocation& map_location = {});

namespace serialize {

// The file save() writes, in memory (tests, fuzzing).
std::string save_to_string(const Value& value);
// load() from any byte source (a buffer for the fuzzers and corruption tests).
Value load_from(const std::shared_ptr<const ByteSource>& source, const MapLocation& map_location = {});

}  // namespace serialize
}  // namespace fulgur
