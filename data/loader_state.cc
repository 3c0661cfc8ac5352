#include "fulgur/data/loader_state.h"

#include "fulgur/kernels/error.h"

namespace fulgur::data {
namespace {

constexpr const char* kOp = "DataLoader::load_state_dict";

Value generators_to_value(const std::vector<GeneratorState>& states) {
  Value list = Value::list();
  for (const GeneratorState& s : states) {
    list.push_back(Value::list({static_cast<int64_t>(s.seed), static_cast<int64_t>(s.offset)}));
  }
  return list;
}

std::vector<GeneratorState> generators_from_value(const Value& value, const char* key) {
  FULGUR_CHECK(value.is_sequence(), kOp, "'", key, "' must be a list, got ", value.type_name());
  std::vector<GeneratorState> out;
  for (const Value& pair : value.elements()) {
    FULGUR_CHECK(pair.is_sequence() && pair.size() == 2 && pair[0].is_int() && pair[1].is_int(),
                 kOp, "'", key, "' entries must be [seed, offset] integer pairs, got ", pair.repr());
    out.push_back({static_cast<uint64_t>(pair[0].as_int()), static_cast<uint64_t>(pair[1].as_int())});
  }
  return out;
}

const Value& entry(const Value& state, const char* key, Value::Kind kind) {
  FULGUR_CHECK(state.is_dict(), kOp, "expected a dict from DataLoader::state_dict(), got ",
               state.type_name());
  const Value* v = state.find(key);
  FULGUR_CHECK(v != nullptr, kOp, "the state has no '", key, "'; hint: pass what ",
               "DataLoader::state_dict() returned");
  FULGUR_CHECK(v->kind() == kind || (kind == Value::Kind::List && v->is_sequence()), kOp, "'", key,
               "' must be ", Value::kind_name(kind), ", got ", v->type_name());
  return *v;
}

}  // namespace

GeneratorState GeneratorState::of(const Generator& generator) {
  return {generator.initial_seed(), generator.offset()};
}

void GeneratorState::apply_to(Generator& generator) const { generator.set_state(seed, offset); }

Value LoaderState::to_value() const {
  return Value::dict({{"epoch", epoch},
                      {"batches_yielded", batches_yielded},
                      {"in_progress", in_progress},
                      {"epoch_start_generators", generators_to_value(epoch_start_generators)},
                      {"generators", generators_to_value(generators)}});
}

LoaderState LoaderState::from_value(const Value& value) {
  LoaderState s;
  s.epoch = entry(value, "epoch", Value::Kind::Int).as_int();
  s.batches_yielded = entry(value, "batches_yielded", Value::Kind::Int).as_int();
  s.in_progress = entry(value, "in_progress", Value::Kind::Bool).as_bool();
  s.epoch_start_generators = generators_from_value(
      entry(value, "epoch_start_generators", Value::Kind::List), "epoch_start_generators");
  s.generators = generators_from_value(entry(value, "generators", Value::Kind::List), "generators");
  FULGUR_CHECK(s.batches_yielded >= 0, kOp, "batches_yielded must be non-negative, got ",
               s.batches_yielded);
  return s;
}

}  // namespace fulgur::data
