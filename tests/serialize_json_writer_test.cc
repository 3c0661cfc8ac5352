// serialize::to_json against what Python's json.dumps(..., ensure_ascii=False) prints for the
// same values (the expected strings were printed by python3 3.11 and are Python's, not ours).
#include "fulgur/serialize/json_writer.h"

#include <cmath>
#include <limits>

#include "tests/test_util.h"

using namespace fulgur;

TEST_CASE("to_json: json.dumps' text for every kind of Value") {
  const double inf = std::numeric_limits<double>::infinity();
  const Value v = Value::dict()
                      .set("a", Value())
                      .set("b", Value::list({Value(true), Value(false), Value(1), Value(0.1), Value(1.0), Value(1e-08),
                                             Value(1e16), Value(-0.0)}))
                      .set("c", Value::tuple({Value(1), Value("x")}))
                      .set(3, Value::dict().set("n", std::nan("")).set("i", inf).set("j", -inf));
  CHECK(serialize::to_json(v) ==
        R"({"a": null, "b": [true, false, 1, 0.1, 1.0, 1e-08, 1e+16, -0.0], "c": [1, "x"], "3": )"
        R"({"n": NaN, "i": Infinity, "j": -Infinity}})");
  CHECK(serialize::to_json(Value("q\"b\\s\n\t\x01\xc3\xbc")) == "\"q\\\"b\\\\s\\n\\t\\u0001\xc3\xbc\"");
  CHECK(serialize::to_json(Value(int64_t{123456789012345678})) == "123456789012345678");
  CHECK(serialize::json_number(2.5e-7) == "2.5e-07");
  CHECK(serialize::json_number(1e22) == "1e+22");
  CHECK(serialize::json_number(123456789.125) == "123456789.125");
  CHECK(serialize::to_json(Value::list({})) == "[]");
  CHECK(serialize::to_json(Value::dict()) == "{}");
  CHECK_THROWS_WITH_AS(serialize::to_json(Value::list({Value(full({2}, 1.0f))})),
                       doctest::Contains("not JSON serializable"), Error);
}
