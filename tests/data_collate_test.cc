// default_collate against PyTorch 1.13 (tools/gen_data_golden.py): batch structures, dtypes
// and values for tensors, numbers, strings, tuples, lists and dicts; then its error messages.
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

Value T(DType dtype, Shape sizes, std::vector<double> values) {
  return Value(from_vector(values, sizes).to(dtype));
}

#include "tests/golden/data_golden.inc"

std::string leaf(DType dtype, double v) {
  if (dtype == kBool) return v != 0 ? "True" : "False";
  if (is_floating(dtype)) return float_repr(v);
  return std::to_string(static_cast<int64_t>(v));
}

// The generator's structure(): Python's repr, tensors as Tensor(dtype, [sizes], [values]).
std::string structure(const Value& v) {
  std::string out;
  auto join = [&](const std::vector<Value>& items) {
    std::string s;
    for (const Value& x : items) s += (s.empty() ? "" : ", ") + structure(x);
    return s;
  };
  switch (v.kind()) {
    case Value::Kind::Tensor: {
      const Tensor& t = v.as_tensor();
      std::ostringstream os;
      os << "Tensor(" << t.dtype() << ", " << shape_str(t.sizes()) << ", [";
      const std::vector<double> vals = values(t);
      for (size_t i = 0; i < vals.size(); ++i) os << (i ? ", " : "") << leaf(t.dtype(), vals[i]);
      os << "])";
      return os.str();
    }
    // Appends rather than "[" + s: GCC 12 bug 105329 (a false -Wrestrict) at -O2.
    case Value::Kind::List:
      out.append("[").append(join(v.as_list())).append("]");
      return out;
    case Value::Kind::Tuple:
      out.append("(").append(join(v.as_tuple())).append(v.size() == 1 ? ",)" : ")");
      return out;
    case Value::Kind::Dict:
      out.append("{");
      for (const auto& [k, x] : v.items()) {
        if (out.size() > 1) out.append(", ");
        out.append(k.repr()).append(": ").append(structure(x));
      }
      out.append("}");
      return out;
    default:
      return v.repr();
  }
}

}  // namespace

TEST_CASE("default_collate matches PyTorch's structures, dtypes and values") {
  REQUIRE(kCollateGoldens.size() >= 10);
  for (const CollateGolden& g : kCollateGoldens) {
    INFO(g.name);
    CHECK(structure(data::default_collate(g.examples)) == std::string(g.structure));
  }
}

TEST_CASE("default_collate keeps the examples' data and does not alias them") {
  Tensor a = from_vector(std::vector<float>{1, 2});
  Tensor b = from_vector(std::vector<float>{3, 4});
  Value batch = data::default_collate({Value(a), Value(b)});
  a.fill_(0);
  CHECK(values(batch.as_tensor()) == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("default_collate errors name the position, the examples and the shapes") {
  const Value t2 = T(kFloat32, {2}, {0, 1});
  const Value t3 = T(kFloat32, {3}, {0, 1, 2});
  std::string msg = error_message([&] {
    data::default_collate({Value::dict({{"image", t2}}), Value::dict({{"image", t2}}), Value::dict({{"image", t3}})});
  });
  CHECK(contains(msg, "default_collate: at ['image']"));
  CHECK(contains(msg, "[2] at example 0 and [3] at example 2"));
  CHECK(contains(msg, "hint"));

  msg = error_message([&] {
    data::default_collate({Value::tuple({t2, Value(1)}), Value::tuple({t2, Value(2), Value(3)})});
  });
  CHECK(contains(msg, "each element in list of batch should be of equal size"));
  CHECK(contains(msg, "example 0 has 2 elements and example 1 has 3"));

  msg = error_message([&] {
    data::default_collate({Value::dict({{"x", Value(1)}, {"y", Value(2)}}), Value::dict({{"x", Value(1)}})});
  });
  CHECK(contains(msg, "example 1 has no key 'y'"));

  msg = error_message([&] { data::default_collate({Value::tuple({Value(1), Value()})}); });
  CHECK(contains(msg, "at [1]"));
  CHECK(contains(msg, "found NoneType"));

  msg = error_message([&] { data::default_collate({Value::list({t2}), Value::list({Value(1)})}); });
  CHECK(contains(msg, "at [0]: example 0 is a Tensor but example 1 is int"));

  msg = error_message([&] { data::default_collate({Value(1), Value("a")}); });
  CHECK(contains(msg, "example 0 is int but example 1 is str"));

  CHECK(contains(error_message([] { data::default_collate({}); }), "empty batch"));
}
