#include "fulgur/serialize/pickle_writer.h"

#include <cstring>
#include <unordered_map>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/pickle_opcodes.h"
#include "fulgur/serialize/torch_storage_types.h"
#include "fulgur/serialize/utf8.h"

namespace fulgur::serialize {
namespace {

namespace op = pickle_op;

// Python's pickler batches APPENDS/SETITEMS by 1000 items; the unpickler does not care, the
// batching only bounds its stack.
constexpr size_t kBatch = 1000;

class Pickler {
 public:
  PickleOutput run(const Value& v) {
    put(op::kProto);
    put(2);
    save(v);
    put(op::kStop);
    return std::move(out_);
  }

 private:
  void put(uint8_t b) { out_.bytes.push_back(static_cast<char>(b)); }
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) put(static_cast<uint8_t>((v >> (8 * i)) & 0xFF));
  }

  void save_int(int64_t v) {
    if (v >= 0 && v < 0x100) {
      put(op::kBinInt1);
      put_le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 0x10000) {
      put(op::kBinInt2);
      put_le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      put(op::kBinInt);
      put_le(static_cast<uint64_t>(v), 4);
    } else {
      // LONG1: the shortest little-endian two's complement encoding.
      uint8_t bytes[8];
      const uint64_t u = static_cast<uint64_t>(v);
      for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>((u >> (8 * i)) & 0xFF);
      int n = 8;
      while (n > 1) {
        const bool top_zero = bytes[n - 1] == 0x00 && !(bytes[n - 2] & 0x80);
        const bool top_ones = bytes[n - 1] == 0xFF && (bytes[n - 2] & 0x80);
        if (!top_zero && !top_ones) break;
        --n;
      }
      put(op::kLong1);
      put(static_cast<uint8_t>(n));
      for (int i = 0; i < n; ++i) put(bytes[i]);
    }
  }

  void save_float(double d) {
    put(op::kBinFloat);
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int i = 7; i >= 0; --i) put(static_cast<uint8_t>((bits >> (8 * i)) & 0xFF));
  }

  void save_string(const std::string& s) {
    FULGUR_CHECK(is_valid_utf8(s), "save", "string is not valid UTF-8 (Python's str is ",
                 "text): ", printable_prefix(s));
    FULGUR_CHECK(s.size() <= 0xFFFFFFFFu, "save", "string of ", s.size(),
                 " bytes is too long for pickle protocol 2 (4 GiB)");
    put(op::kBinUnicode);
    put_le(s.size(), 4);
    out_.bytes.append(s);
  }

  void save_global(const char* module, const char* name) {
    put(op::kGlobal);
    out_.bytes.append(module);
    put('\n');
    out_.bytes.append(name);
    put('\n');
  }

  void save_key(const DictKey& k) {
    if (k.is_int()) {
      save_int(k.as_int());
    } else {
      save_string(k.as_string());
    }
  }

  void save_items(const std::vector<Value::Item>& items) {
    for (size_t start = 0; start < items.size(); start += kBatch) {
      const size_t end = std::min(items.size(), start + kBatch);
      if (end - start == 1) {
        save_key(items[start].first);
        save(items[start].second);
        put(op::kSetItem);
        continue;
      }
      put(op::kMark);
      for (size_t i = start; i < end; ++i) {
        save_key(items[i].first);
        save(items[i].second);
      }
      put(op::kSetItems);
    }
  }

  static bool is_state_dict(const Value& v) {
    if (v.items().empty()) return false;
    for (const auto& [k, x] : v.items()) {
      if (!k.is_string() || !x.is_tensor()) return false;
    }
    return true;
  }

  void save_ordered_dict_header() {
    save_global("collections", "OrderedDict");
    put(op::kEmptyTuple);
    put(op::kReduce);
  }

  void save_tensor(const Tensor& t) {
    FULGUR_CHECK(t.defined(), "save", "undefined tensor (a Value holds only defined tensors)");
    const StorageImpl* key_ptr = t.storage().get();
    auto it = storage_index_.find(key_ptr);
    size_t index;
    if (it == storage_index_.end()) {
      index = out_.storages.size();
      storage_index_.emplace(key_ptr, index);
      const size_t esize = element_size(t.dtype());
      out_.storages.push_back({std::to_string(index), t.storage(), t.dtype(),
                               static_cast<int64_t>(t.storage()->nbytes() / esize)});
    } else {
      index = it->second;
      const PickledStorage& s = out_.storages[index];
      FULGUR_CHECK(s.dtype == t.dtype(), "save", "two tensors view one storage as ", s.dtype,
                   " and ", t.dtype(), "; torch.save files hold one dtype per storage",
                   " (hint: save a clone() of one of them)");
    }
    const PickledStorage& s = out_.storages[index];
    save_global("torch._utils", "_rebuild_tensor_v2");
    put(op::kMark);
    {
      put(op::kMark);
      save_string("storage");
      save_global("torch", std::string(torch_storage_type(s.dtype)).c_str());
      save_string(s.key);
      save_string(s.storage->device().str());
      save_int(s.numel);
      put(op::kTuple);
      put(op::kBinPersId);
    }
    save_int(t.storage_offset());
    save_int_tuple(t.sizes());
    save_int_tuple(t.strides());
    put(t.requires_grad() ? op::kNewTrue : op::kNewFalse);
    save_ordered_dict_header();  // backward hooks: an empty OrderedDict
    put(op::kTuple);
    put(op::kReduce);
  }

  void save_int_tuple(IntArrayRef v) {
    if (v.size() == 0) {
      put(op::kEmptyTuple);
      return;
    }
    if (v.size() > 3) put(op::kMark);
    for (const int64_t x : v) save_int(x);
    switch (v.size()) {
      case 1: put(op::kTuple1); break;
      case 2: put(op::kTuple2); break;
      case 3: put(op::kTuple3); break;
      default: put(op::kTuple); break;
    }
  }

  void save_sequence_items(const std::vector<Value>& items) {
    for (size_t start = 0; start < items.size(); start += kBatch) {
      const size_t end = std::min(items.size(), start + kBatch);
      if (end - start == 1) {
        save(items[start]);
        put(op::kAppend);
        continue;
      }
      put(op::kMark);
      for (size_t i = start; i < end; ++i) save(items[i]);
      put(op::kAppends);
    }
  }

  void save(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::None: put(op::kNone); return;
      case Value::Kind::Bool: put(v.as_bool() ? op::kNewTrue : op::kNewFalse); return;
      case Value::Kind::Int: save_int(v.as_int()); return;
      case Value::Kind::Double: save_float(v.as_double()); return;
      case Value::Kind::String: save_string(v.as_string()); return;
      case Value::Kind::Tensor: save_tensor(v.as_tensor()); return;
      case Value::Kind::List:
        put(op::kEmptyList);
        save_sequence_items(v.as_list());
        return;
      case Value::Kind::Tuple: {
        const auto& items = v.as_tuple();
        if (items.empty()) {
          put(op::kEmptyTuple);
          return;
        }
        if (items.size() > 3) put(op::kMark);
        for (const Value& x : items) save(x);
        switch (items.size()) {
          case 1: put(op::kTuple1); break;
          case 2: put(op::kTuple2); break;
          case 3: put(op::kTuple3); break;
          default: put(op::kTuple); break;
        }
        return;
      }
      case Value::Kind::Dict:
        if (is_state_dict(v)) {
          save_ordered_dict_header();
        } else {
          put(op::kEmptyDict);
        }
        save_items(v.items());
        return;
    }
    FULGUR_FAIL("save", "unknown Value kind ", static_cast<int>(v.kind()));
  }

  PickleOutput out_;
  std::unordered_map<const StorageImpl*, size_t> storage_index_;
};

}  // namespace

PickleOutput pickle_value(const Value& value) { return Pickler().run(value); }

}  // namespace fulgur::serialize
