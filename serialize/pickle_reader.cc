#include "fulgur/serialize/pickle_reader.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/pickle_opcodes.h"
#include "fulgur/serialize/torch_storage_types.h"
#include "fulgur/serialize/utf8.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::serialize {
namespace {

namespace op = pickle_op;

// The allowed globals, as the reader knows them.
enum class Global {
  OrderedDict,
  AttributeDict,
  RebuildTensorV2,
  RebuildTensor,
  RebuildParameter,
  RebuildParameterWithState,
  StorageType,  // torch.<T>Storage; the dtype is in Obj::dtype
  Size,
  Device,
};

struct GlobalName {
  std::string_view module;
  std::string_view name;
  Global global;
};

constexpr GlobalName kGlobals[] = {
    {"collections", "OrderedDict", Global::OrderedDict},
    {"torch._utils", "_rebuild_tensor_v2", Global::RebuildTensorV2},
    {"torch._utils", "_rebuild_tensor", Global::RebuildTensor},
    {"torch._utils", "_rebuild_parameter", Global::RebuildParameter},
    {"torch._utils", "_rebuild_parameter_with_state", Global::RebuildParameterWithState},
    {"torch", "Size", Global::Size},
    {"torch", "device", Global::Device},
    {"pytorch_lightning.utilities.parsing", "AttributeDict", Global::AttributeDict},
    {"lightning_fabric.utilities.data", "AttributeDict", Global::AttributeDict},
    {"lightning.fabric.utilities.data", "AttributeDict", Global::AttributeDict},
    {"lightning.pytorch.utilities.parsing", "AttributeDict", Global::AttributeDict},
};

struct Obj;
using Ref = std::shared_ptr<Obj>;

// A Python object under construction. Lists and dicts are mutable and may be shared through
// the memo, so they are reference objects here; conversion to Value happens at the end.
struct Obj {
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;  // Str: the text; Global: "module.name"
  std::vector<Ref> items;  // Tuple, List
  std::vector<std::pair<Ref, Ref>> entries;  // Dict
  std::unordered_map<std::string, size_t> index;  // Dict: key -> position in entries
  Global global = Global::OrderedDict;
  DType dtype = DType::Float32;  // Global::StorageType, Storage
  Storage storage;
  int64_t numel = 0;  // Storage
  Tensor tensor;
};

const char* kind_name(Obj::Kind k) {
  switch (k) {
    case Obj::Kind::None: return "None";
    case Obj::Kind::Bool: return "bool";
    case Obj::Kind::Int: return "int";
    case Obj::Kind::Float: return "float";
    case Obj::Kind::Str: return "str";
    case Obj::Kind::Tuple: return "tuple";
    case Obj::Kind::List: return "list";
    case Obj::Kind::Dict: return "dict";
    case Obj::Kind::Global: return "global";
    case Obj::Kind::Storage: return "storage";
    case Obj::Kind::Tensor: return "Tensor";
  }
  return "?";
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const StorageLoader& loader, const std::string& where)
      : p_(data), n_(size), loader_(loader), where_(where),
        node_budget_(16 * static_cast<uint64_t>(size) + 1024) {}

  ~Unpickler() {
    // Containers may reference each other in cycles (a list appended to itself through the
    // memo) or nest deeply; emptying every one of them here frees them without recursion.
    for (const Ref& c : containers_) {
      c->items.clear();
      c->entries.clear();
    }
  }

  Value run() {
    const Ref result = parse();
    return convert(*result, 0);
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    FULGUR_FAIL(where_.c_str(), problem, " (at byte ", op_pos_, ")");
  }

  // ---- input ---------------------------------------------------------------------------
  const uint8_t* take(size_t k) {
    if (n_ - pos_ < k) {
      fail(std::string("truncated: ") + op::name(cur_op_) + " needs " + std::to_string(k) +
           " more bytes, " + std::to_string(n_ - pos_) + " left");
    }
    const uint8_t* r = p_ + pos_;
    pos_ += k;
    return r;
  }
  uint64_t le(size_t k) {
    const uint8_t* b = take(k);
    uint64_t v = 0;
    for (size_t j = 0; j < k; ++j) v |= static_cast<uint64_t>(b[j]) << (8 * j);
    return v;
  }
  std::string_view line() {
    const void* nl = std::memchr(p_ + pos_, '\n', n_ - pos_);
    if (nl == nullptr) fail("truncated: GLOBAL name has no terminating newline");
    const size_t len = static_cast<size_t>(static_cast<const uint8_t*>(nl) - (p_ + pos_));
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len + 1;
    return s;
  }

  // ---- objects ---------------------------------------------------------------------------
  Ref make(Obj::Kind k) {
    auto r = std::make_shared<Obj>();
    r->kind = k;
    if (k == Obj::Kind::List || k == Obj::Kind::Dict || k == Obj::Kind::Tuple) {
      containers_.push_back(r);
    }
    return r;
  }
  Ref make_int(int64_t v) {
    Ref r = make(Obj::Kind::Int);
    r->i = v;
    return r;
  }
  Ref make_str(std::string_view s) {
    if (!is_valid_utf8(s)) fail("string is not valid UTF-8: " + printable_prefix(s));
    Ref r = make(Obj::Kind::Str);
    r->s = std::string(s);
    return r;
  }

  void push(Ref r) { stack_.push_back(std::move(r)); }
  Ref pop() {
    if (stack_.size() <= mark_floor()) fail(std::string(op::name(cur_op_)) + " on an empty stack");
    Ref r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  Ref& top() {
    if (stack_.size() <= mark_floor()) fail(std::string(op::name(cur_op_)) + " on an empty stack");
    return stack_.back();
  }
  size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything above the last MARK and the mark itself.
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail(std::string(op::name(cur_op_)) + " without a MARK");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack_.begin() + static_cast<ptrdiff_t>(m)),
                           std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  std::string dict_key(const Obj& k) {
    if (k.kind == Obj::Kind::Int) return "i" + std::to_string(k.i);
    if (k.kind == Obj::Kind::Str) return "s" + k.s;
    fail(std::string("dict key of type ") + kind_name(k.kind) +
         " is not supported (keys are int or str)");
  }
  void set_item(Obj& dict, Ref key, Ref value) {
    if (dict.kind != Obj::Kind::Dict) {
      fail(std::string(op::name(cur_op_)) + " on a " + kind_name(dict.kind) + ", not a dict");
    }
    std::string k = dict_key(*key);
    auto [it, inserted] = dict.index.emplace(std::move(k), dict.entries.size());
    if (inserted) {
      if (dict.entries.size() >= kMaxDictEntries) {
        fail("dict with more than " + std::to_string(kMaxDictEntries) + " entries");
      }
      dict.entries.emplace_back(std::move(key), std::move(value));
    } else {
      dict.entries[it->second].second = std::move(value);
    }
  }
  void append(Obj& list, Ref value) {
    if (list.kind != Obj::Kind::List) {
      fail(std::string(op::name(cur_op_)) + " on a " + kind_name(list.kind) + ", not a list");
    }
    list.items.push_back(std::move(value));
  }

  Ref make_tuple(std::vector<Ref> items) {
    Ref t = make(Obj::Kind::Tuple);
    t->items = std::move(items);
    return t;
  }

  Ref lookup_global(std::string_view module, std::string_view name) {
    Ref g = make(Obj::Kind::Global);
    g->s = std::string(module) + "." + std::string(name);
    for (const GlobalName& k : kGlobals) {
      if (k.module == module && k.name == name) {
        g->global = k.global;
        return g;
      }
    }
    if (module == "torch") {
      if (const auto dt = dtype_of_torch_storage_type(name)) {
        g->global = Global::StorageType;
        g->dtype = *dt;
        return g;
      }
    }
    fail("global " + printable_prefix(g->s, 120) +
         " is not allowed: only tensors, storages, OrderedDict, torch.Size, torch.device and "
         "Lightning's AttributeDict can be loaded (fulgur never runs code from a file)");
  }

  // ---- the machine -----------------------------------------------------------------------
  Ref parse() {
    while (true) {
      op_pos_ = pos_;
      if (pos_ >= n_) fail("truncated: no STOP opcode");
      cur_op_ = p_[pos_++];
      switch (cur_op_) {
        case op::kProto: {
          const uint64_t v = le(1);
          if (v > 5) fail("pickle protocol " + std::to_string(v) + " is not supported (0-5)");
          break;
        }
        case op::kFrame: {
          const uint64_t len = le(8);
          if (len > n_ - pos_) fail("FRAME of " + std::to_string(len) + " bytes runs past the end");
          break;
        }
        case op::kStop: {
          Ref r = pop();
          return r;
        }
        case op::kMark: marks_.push_back(stack_.size()); break;
        case op::kPop:
          if (stack_.size() > mark_floor()) {
            stack_.pop_back();
          } else {
            pop_mark();
          }
          break;
        case op::kPopMark: pop_mark(); break;
        case op::kDup: push(top()); break;
        case op::kNone: push(make(Obj::Kind::None)); break;
        case op::kNewTrue:
        case op::kNewFalse: {
          Ref r = make(Obj::Kind::Bool);
          r->b = cur_op_ == op::kNewTrue;
          push(std::move(r));
          break;
        }
        case op::kBinInt: push(make_int(static_cast<int32_t>(static_cast<uint32_t>(le(4))))); break;
        case op::kBinInt1: push(make_int(static_cast<int64_t>(le(1)))); break;
        case op::kBinInt2: push(make_int(static_cast<int64_t>(le(2)))); break;
        case op::kLong1:
        case op::kLong4: {
          const uint64_t len = le(cur_op_ == op::kLong1 ? 1 : 4);
          if (len > 8) fail("integer of " + std::to_string(len) + " bytes does not fit in 64 bits");
          const uint8_t* b = take(static_cast<size_t>(len));
          uint64_t u = 0;
          for (uint64_t j = 0; j < len; ++j) u |= static_cast<uint64_t>(b[j]) << (8 * j);
          if (len > 0 && len < 8 && (b[len - 1] & 0x80)) u |= ~uint64_t{0} << (8 * len);  // sign
          push(make_int(static_cast<int64_t>(u)));
          break;
        }
        case op::kBinFloat: {
          const uint8_t* b = take(8);
          uint64_t bits = 0;
          for (int j = 0; j < 8; ++j) bits = bits << 8 | b[j];
          Ref r = make(Obj::Kind::Float);
          std::memcpy(&r->d, &bits, 8);
          push(std::move(r));
          break;
        }
        case op::kBinUnicode:
        case op::kShortBinUnicode:
        case op::kBinUnicode8: {
          const uint64_t len = le(cur_op_ == op::kShortBinUnicode ? 1 : cur_op_ == op::kBinUnicode ? 4 : 8);
          if (len > n_ - pos_) {
            fail("truncated: string of " + std::to_string(len) + " bytes, " +
                 std::to_string(n_ - pos_) + " left");
          }
          const uint8_t* b = take(static_cast<size_t>(len));
          push(make_str(std::string_view(reinterpret_cast<const char*>(b), static_cast<size_t>(len))));
          break;
        }
        case op::kEmptyTuple: push(make_tuple({})); break;
        case op::kTuple: push(make_tuple(pop_mark())); break;
        case op::kTuple1:
        case op::kTuple2:
        case op::kTuple3: {
          const size_t k = static_cast<size_t>(cur_op_ - op::kTuple1 + 1);
          if (stack_.size() - mark_floor() < k) {
            fail(std::string(op::name(cur_op_)) + " needs " + std::to_string(k) + " items on the stack");
          }
          std::vector<Ref> items(std::make_move_iterator(stack_.end() - static_cast<ptrdiff_t>(k)),
                                 std::make_move_iterator(stack_.end()));
          stack_.resize(stack_.size() - k);
          push(make_tuple(std::move(items)));
          break;
        }
        case op::kEmptyList: push(make(Obj::Kind::List)); break;
        case op::kAppend: {
          Ref v = pop();
          append(*top(), std::move(v));
          break;
        }
        case op::kAppends: {
          std::vector<Ref> items = pop_mark();
          Ref& list = top();
          for (Ref& v : items) append(*list, std::move(v));
          break;
        }
        case op::kEmptyDict: push(make(Obj::Kind::Dict)); break;
        case op::kSetItem: {
          Ref v = pop();
          Ref k = pop();
          set_item(*top(), std::move(k), std::move(v));
          break;
        }
        case op::kSetItems: {
          std::vector<Ref> items = pop_mark();
          if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
          Ref& dict = top();
          for (size_t j = 0; j < items.size(); j += 2) {
            set_item(*dict, std::move(items[j]), std::move(items[j + 1]));
          }
          break;
        }
        case op::kBinPut: memo_put(le(1)); break;
        case op::kLongBinPut: memo_put(le(4)); break;
        case op::kMemoize: memo_put(memo_.size()); break;
        case op::kBinGet: memo_get(le(1)); break;
        case op::kLongBinGet: memo_get(le(4)); break;
        case op::kGlobal: {
          const std::string_view module = line();
          const std::string_view name = line();
          push(lookup_global(module, name));
          break;
        }
        case op::kStackGlobal: {
          Ref name = pop();
          Ref module = pop();
          if (name->kind != Obj::Kind::Str || module->kind != Obj::Kind::Str) {
            fail("STACK_GLOBAL needs two strings");
          }
          push(lookup_global(module->s, name->s));
          break;
        }
        case op::kReduce: {
          Ref args = pop();
          Ref callable = pop();
          push(reduce(*callable, *args));
          break;
        }
        case op::kNewObj: {
          Ref args = pop();
          Ref cls = pop();
          push(new_object(*cls, *args));
          break;
        }
        case op::kBuild: {
          Ref state = pop();
          build(*top(), *state);
          break;
        }
        case op::kBinPersId: {
          Ref pid = pop();
          push(persistent_load(*pid));
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", cur_op_);
          const char* nm = op::name(cur_op_);
          fail(nm ? std::string("opcode ") + nm + " (" + hex + ") is not supported"
                  : std::string("invalid opcode ") + hex);
        }
      }
    }
  }

  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " is not defined");
    push(it->second);
  }

  // ---- calls -------------------------------------------------------------------------------
  const Obj& arg(const Obj& args, size_t j, Obj::Kind kind, const char* fn, const char* what) {
    const Obj& a = *args.items[j];
    if (a.kind != kind) {
      fail(std::string(fn) + ": argument " + std::to_string(j) + " (" + what + ") is a " +
           kind_name(a.kind) + ", expected " + kind_name(kind));
    }
    return a;
  }
  void expect_arity(const Obj& args, size_t lo, size_t hi, const char* fn) {
    if (args.items.size() < lo || args.items.size() > hi) {
      fail(std::string(fn) + " called with " + std::to_string(args.items.size()) + " arguments");
    }
  }
  // An empty dict or None (backward hooks, metadata, parameter state).
  void expect_empty(const Obj& a, const char* fn, const char* what) {
    if (a.kind == Obj::Kind::None) return;
    if (a.kind == Obj::Kind::Dict && a.entries.empty()) return;
    fail(std::string(fn) + ": " + what + " must be empty (got a " + kind_name(a.kind) +
         (a.kind == Obj::Kind::Dict ? " with " + std::to_string(a.entries.size()) + " entries" : "") + ")");
  }

  std::vector<int64_t> int_tuple(const Obj& t, const char* fn, const char* what) {
    if (t.kind != Obj::Kind::Tuple) {
      fail(std::string(fn) + ": " + what + " is a " + kind_name(t.kind) + ", expected a tuple");
    }
    if (t.items.size() > static_cast<size_t>(kMaxTensorDims)) {
      fail(std::string(fn) + ": " + std::to_string(t.items.size()) + " dimensions (at most " +
           std::to_string(kMaxTensorDims) + ")");
    }
    std::vector<int64_t> v;
    for (const Ref& x : t.items) {
      if (x->kind != Obj::Kind::Int) fail(std::string(fn) + ": " + what + " holds a " + kind_name(x->kind));
      if (x->i < 0) fail(std::string(fn) + ": negative " + what + " " + std::to_string(x->i));
      v.push_back(x->i);
    }
    return v;
  }

  Ref rebuild_tensor(const Obj& args, bool v2) {
    const char* fn = v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor";
    if (v2) {
      expect_arity(args, 6, 7, fn);
    } else {
      expect_arity(args, 4, 4, fn);
    }
    const Obj& st = arg(args, 0, Obj::Kind::Storage, fn, "storage");
    const int64_t offset = arg(args, 1, Obj::Kind::Int, fn, "storage_offset").i;
    const std::vector<int64_t> sizes = int_tuple(*args.items[2], fn, "size");
    const std::vector<int64_t> strides = int_tuple(*args.items[3], fn, "stride");
    bool requires_grad = false;
    if (v2) {
      requires_grad = arg(args, 4, Obj::Kind::Bool, fn, "requires_grad").b;
      expect_empty(*args.items[5], fn, "backward_hooks");
      if (args.items.size() == 7) expect_empty(*args.items[6], fn, "metadata");
    }
    if (offset < 0) fail(std::string(fn) + ": negative storage offset " + std::to_string(offset));
    if (sizes.size() != strides.size()) {
      fail(std::string(fn) + ": " + std::to_string(sizes.size()) + " sizes but " +
           std::to_string(strides.size()) + " strides");
    }
    // The largest element index the view reaches must lie inside the storage.
    int64_t numel = 1;
    int64_t last = offset;
    for (size_t j = 0; j < sizes.size(); ++j) {
      if (__builtin_mul_overflow(numel, sizes[j], &numel)) fail(std::string(fn) + ": element count overflows");
    }
    if (numel > 0) {
      for (size_t j = 0; j < sizes.size(); ++j) {
        int64_t reach;
        if (__builtin_mul_overflow(sizes[j] - 1, strides[j], &reach) ||
            __builtin_add_overflow(last, reach, &last)) {
          fail(std::string(fn) + ": tensor extent overflows");
        }
      }
      if (last >= st.numel) {
        fail(std::string(fn) + ": a tensor of size " + shape_str(sizes) + ", stride " +
             shape_str(strides) + " at offset " + std::to_string(offset) + " reaches element " +
             std::to_string(last) + " of a storage of " + std::to_string(st.numel) + " elements");
      }
    } else if (offset > st.numel) {
      fail(std::string(fn) + ": storage offset " + std::to_string(offset) + " past a storage of " +
           std::to_string(st.numel) + " elements");
    }
    Ref t = make(Obj::Kind::Tensor);
    t->tensor = make_view(st.storage, sizes, strides, offset, st.dtype);
    if (requires_grad) set_requires_grad(t->tensor, fn);
    return t;
  }

  void set_requires_grad(Tensor& t, const char* fn) {
    if (!is_floating(t.dtype())) {
      fail(std::string(fn) + ": requires_grad on a " + std::string(dtype_name(t.dtype())) + " tensor");
    }
    t.requires_grad_(true);
  }

  static std::string shape_str(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t j = 0; j < v.size(); ++j) s += (j ? ", " : "") + std::to_string(v[j]);
    return s + "]";
  }

  Ref reduce(const Obj& callable, const Obj& args) {
    if (callable.kind != Obj::Kind::Global) {
      fail(std::string("REDUCE calls a ") + kind_name(callable.kind) + ", not an allowed global");
    }
    if (args.kind != Obj::Kind::Tuple) fail("REDUCE arguments are a " + std::string(kind_name(args.kind)));
    switch (callable.global) {
      case Global::OrderedDict:
      case Global::AttributeDict:
        if (!args.items.empty()) fail(callable.s + " called with arguments");
        return make(Obj::Kind::Dict);
      case Global::RebuildTensorV2: return rebuild_tensor(args, true);
      case Global::RebuildTensor: return rebuild_tensor(args, false);
      case Global::RebuildParameter:
      case Global::RebuildParameterWithState: {
        const bool with_state = callable.global == Global::RebuildParameterWithState;
        const char* fn = with_state ? "_rebuild_parameter_with_state" : "_rebuild_parameter";
        expect_arity(args, with_state ? 4 : 3, with_state ? 4 : 3, fn);
        const Obj& data = arg(args, 0, Obj::Kind::Tensor, fn, "data");
        const bool requires_grad = arg(args, 1, Obj::Kind::Bool, fn, "requires_grad").b;
        expect_empty(*args.items[2], fn, "backward_hooks");
        if (with_state) expect_empty(*args.items[3], fn, "state");
        Ref t = make(Obj::Kind::Tensor);
        t->tensor = data.tensor.detach();
        if (requires_grad) set_requires_grad(t->tensor, fn);
        return t;
      }
      case Global::Size: {
        expect_arity(args, 0, 1, "torch.Size");
        if (args.items.empty()) return make_tuple({});
        const Obj& seq = *args.items[0];
        if (seq.kind != Obj::Kind::Tuple && seq.kind != Obj::Kind::List) fail("torch.Size of a " + std::string(kind_name(seq.kind)));
        for (const Ref& x : seq.items) {
          if (x->kind != Obj::Kind::Int) fail("torch.Size holds a " + std::string(kind_name(x->kind)));
        }
        return make_tuple(seq.items);
      }
      case Global::Device: {
        expect_arity(args, 1, 2, "torch.device");
        const Obj& type = arg(args, 0, Obj::Kind::Str, "torch.device", "type");
        std::string s = type.s;
        if (args.items.size() == 2 && args.items[1]->kind != Obj::Kind::None) {
          s += ":" + std::to_string(arg(args, 1, Obj::Kind::Int, "torch.device", "index").i);
        }
        return make_str(s);
      }
      case Global::StorageType:
        fail("constructing " + callable.s + " directly is not supported (storages come from persistent ids)");
    }
    fail("unknown global");
  }

  Ref new_object(const Obj& cls, const Obj& args) {
    if (cls.kind != Obj::Kind::Global ||
        (cls.global != Global::OrderedDict && cls.global != Global::AttributeDict)) {
      fail("NEWOBJ of " + (cls.kind == Obj::Kind::Global ? cls.s : std::string(kind_name(cls.kind))) +
           " is not supported");
    }
    if (args.kind != Obj::Kind::Tuple || !args.items.empty()) fail(cls.s + " created with arguments");
    return make(Obj::Kind::Dict);
  }

  void build(Obj& target, const Obj& state) {
    // OrderedDict / AttributeDict instance attributes (a state_dict's _metadata): Value dicts
    // have no attributes, so they are dropped. Anything else would set object state.
    if (target.kind == Obj::Kind::Dict &&
        (state.kind == Obj::Kind::Dict || state.kind == Obj::Kind::None)) {
      return;
    }
    fail(std::string("BUILD on a ") + kind_name(target.kind) + " with a " + kind_name(state.kind) +
         " state is not supported");
  }

  Ref persistent_load(const Obj& pid) {
    if (pid.kind != Obj::Kind::Tuple || pid.items.size() != 5 ||
        pid.items[0]->kind != Obj::Kind::Str || pid.items[0]->s != "storage") {
      fail("persistent id is not ('storage', type, key, location, numel)");
    }
    const Obj& type = *pid.items[1];
    if (type.kind != Obj::Kind::Global || type.global != Global::StorageType) {
      fail("persistent id names a " + (type.kind == Obj::Kind::Global ? type.s : std::string(kind_name(type.kind))) +
           ", not a torch storage type");
    }
    const Obj& key = arg(pid, 2, Obj::Kind::Str, "persistent id", "key");
    const Obj& location = arg(pid, 3, Obj::Kind::Str, "persistent id", "location");
    const Obj& numel = arg(pid, 4, Obj::Kind::Int, "persistent id", "numel");
    if (numel.i < 0) fail("storage '" + key.s + "' has negative size " + std::to_string(numel.i));
    auto it = storages_.find(key.s);
    if (it != storages_.end()) {
      const Obj& s = *it->second;
      if (s.dtype != type.dtype || s.numel != numel.i) {
        fail("storage '" + key.s + "' is used as " + std::string(dtype_name(s.dtype)) + "[" +
             std::to_string(s.numel) + "] and as " + std::string(dtype_name(type.dtype)) + "[" +
             std::to_string(numel.i) + "]");
      }
      return it->second;
    }
    Ref s = make(Obj::Kind::Storage);
    s->dtype = type.dtype;
    s->numel = numel.i;
    s->storage = loader_(StorageRequest{key.s, type.dtype, location.s, numel.i});
    storages_.emplace(key.s, s);
    return s;
  }

  // ---- to Value ----------------------------------------------------------------------------
  Value convert(const Obj& o, int depth) {
    if (depth > kMaxPickleDepth) fail("objects nested deeper than " + std::to_string(kMaxPickleDepth) + " levels");
    if (node_budget_ == 0) fail("the pickle expands to too many objects (shared references repeated)");
    --node_budget_;
    switch (o.kind) {
      case Obj::Kind::None: return Value();
      case Obj::Kind::Bool: return Value(o.b);
      case Obj::Kind::Int: return Value(o.i);
      case Obj::Kind::Float: return Value(o.d);
      case Obj::Kind::Str: return Value(o.s);
      case Obj::Kind::Tensor: return Value(o.tensor);
      case Obj::Kind::Tuple:
      case Obj::Kind::List: {
        std::vector<Value> items;
        items.reserve(o.items.size());
        for (const Ref& x : o.items) items.push_back(convert(*x, depth + 1));
        return o.kind == Obj::Kind::Tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
      }
      case Obj::Kind::Dict: {
        std::vector<Value::Item> items;
        items.reserve(o.entries.size());
        for (const auto& [k, v] : o.entries) {
          DictKey key = k->kind == Obj::Kind::Int ? DictKey(k->i) : DictKey(k->s);
          items.emplace_back(std::move(key), convert(*v, depth + 1));
        }
        return Value::dict(std::move(items));
      }
      case Obj::Kind::Global: fail("the global " + o.s + " cannot be a value");
      case Obj::Kind::Storage: fail("a bare storage cannot be a value (only tensors over it)");
    }
    fail("unknown object");
  }

  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t cur_op_ = 0;
  const StorageLoader& loader_;
  const std::string& where_;
  uint64_t node_budget_;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::unordered_map<std::string, Ref> storages_;
  std::vector<Ref> containers_;
};

}  // namespace

Value unpickle(const uint8_t* data, size_t size, const StorageLoader& load_storage,
               const std::string& where) {
  return Unpickler(data, size, load_storage, where).run();
}

}  // namespace fulgur::serialize
