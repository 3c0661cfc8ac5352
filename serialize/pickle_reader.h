// Unpickles what torch.save writes (and what fulgur's pickle_writer writes) into a
// fulgur::Value, without running any code: the reader is a small stack machine that knows an
// allow-list of opcodes and of globals, and everything else is rejected with an error that
// names it ("global 'posix.system' is not allowed", "opcode INST (0x69) is not supported").
//
// Opcodes: PROTO, FRAME, STOP, MARK, POP, POP_MARK, DUP, NONE, NEWTRUE, NEWFALSE, BININT,
// BININT1, BININT2, LONG1, LONG4 (up to 64 bits), BINFLOAT, BINUNICODE, SHORT_BINUNICODE,
// BINUNICODE8, EMPTY_TUPLE, TUPLE, TUPLE1-3, EMPTY_LIST, APPEND, APPENDS, EMPTY_DICT,
// SETITEM, SETITEMS, BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET, GLOBAL, STACK_GLOBAL,
// REDUCE, NEWOBJ, BUILD, BINPERSID.
// Globals (what state_dicts, optimizer state_dicts and Lightning checkpoints hold):
//   collections.OrderedDict                       -> dict (BUILD state such as _metadata is dropped)
//   torch._utils._rebuild_tensor_v2 / _rebuild_tensor, _rebuild_parameter,
//   _rebuild_parameter_with_state                 -> Tensor (parameters keep requires_grad)
//   torch.{Bool,Byte,Char,Short,Int,Long,Half,BFloat16,Float,Double}Storage (in storage ids)
//   torch.Size                                    -> tuple
//   torch.device                                  -> str ("cpu", "cuda:0")
//   Lightning's AttributeDict (pytorch_lightning / lightning_fabric / lightning) -> dict
//
// Every length, index and count is checked against the remaining input, tensor extents
// against their storage (with overflow checks) before a view is made, and the Value built is
// bounded (nesting depth, total nodes relative to the pickle's size), so hostile input cannot
// exhaust the stack or memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "fulgur/kernels/dtype.h"
#include "fulgur/tensor/storage.h"
#include "fulgur/tensor/value.h"

namespace fulgur::serialize {

// A storage a tensor refers to: ('storage', torch.<T>Storage, key, location, numel).
struct StorageRequest {
  std::string key;
  DType dtype;
  std::string location;  // "cpu", "cuda:0", ... (what load()'s MapLocation is asked about)
  int64_t numel;
};

// Returns a storage of exactly numel * element_size(dtype) bytes, or throws. Called once
// per key; tensors naming the same key share the storage.
using StorageLoader = std::function<Storage(const StorageRequest&)>;

// `where` starts error messages ("load: 'model.pt': data.pkl").
Value unpickle(const uint8_t* data, size_t size, const StorageLoader& load_storage,
               const std::string& where);

// Limits (exposed for tests).
inline constexpr int kMaxPickleDepth = 512;       // nesting of the resulting Value
inline constexpr size_t kMaxDictEntries = 1 << 15;  // Value dicts insert in linear time
inline constexpr int kMaxTensorDims = 64;

}  // namespace fulgur::serialize
