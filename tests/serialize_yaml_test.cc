// serialize/yaml.h: YAML 1.2 core-schema typing of plain scalars, quoted strings, nesting,
// errors with a line number, and to_yaml -> parse_yaml round trips.
#include <cmath>
#include <doctest/doctest.h>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/yaml.h"

namespace fulgur {

TEST_CASE("parse_yaml types plain scalars by the core schema and keeps quoted ones as strings") {
  const Value v = parse_yaml(
      "a: 3\nb: -0x10\nc: 0o17\nd: 1.5\ne: 1e-3\nf: .inf\ng: -.Inf\nh: .nan\ni: true\nj: False\nk: null\n"
      "l: ~\nm:\nn: hello world\no: '3'\np: \"true\"\nq: 1.2.3\nr: 99999999999999999999\n",
      "t.yaml");
  CHECK(v.at("a").as_int() == 3);
  CHECK(v.at("b").as_int() == -16);
  CHECK(v.at("c").as_int() == 15);
  CHECK(v.at("d").as_double() == 1.5);
  CHECK(v.at("e").as_double() == 1e-3);
  CHECK(std::isinf(v.at("f").as_double()));
  CHECK(v.at("g").as_double() < 0);
  CHECK(std::isnan(v.at("h").as_double()));
  CHECK(v.at("i").as_bool() == true);
  CHECK(v.at("j").as_bool() == false);
  CHECK(v.at("k").is_none());
  CHECK(v.at("l").is_none());
  CHECK(v.at("m").is_none());
  CHECK(v.at("n").as_string() == "hello world");
  CHECK(v.at("o").as_string() == "3");
  CHECK(v.at("p").as_string() == "true");
  CHECK(v.at("q").as_string() == "1.2.3");
  CHECK(v.at("r").as_string() == "99999999999999999999");  // beyond int64: kept as text
}

TEST_CASE("parse_yaml keeps nesting and key order") {
  const Value v = parse_yaml("trainer:\n  max_epochs: 3\n  callbacks: [a, b]\nmodel:\n  lr: 0.01\n");
  REQUIRE(v.is_dict());
  CHECK(v.keys()[0].as_string() == "trainer");
  CHECK(v.keys()[1].as_string() == "model");
  CHECK(v.at("trainer").at("max_epochs").as_int() == 3);
  CHECK(v.at("trainer").at("callbacks").as_list().size() == 2);
  CHECK(v.at("trainer").at("callbacks").as_list()[1].as_string() == "b");
  CHECK(v.at("model").at("lr").as_double() == 0.01);
}

TEST_CASE("parse_yaml reports syntax errors with the source and line") {
  try {
    parse_yaml("a: 1\nb: [1, 2\n", "config.yaml");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("config.yaml line") != std::string::npos);
  }
}

TEST_CASE("parse_yaml refuses text that is not UTF-8, as PyYAML does") {
  // Found by yaml_fuzz: yaml-cpp passes such bytes through and its emitter then writes U+FFFD.
  CHECK_THROWS_WITH_AS(parse_yaml("a: \xfe\xff\n", "bad.yaml"), doctest::Contains("bad.yaml is not UTF-8"), Error);
  CHECK(parse_yaml("name: caf\xc3\xa9\n").at("name").as_string() == "caf\xc3\xa9");
  // Control characters too (YAML's c-printable set; PyYAML: "special characters are not allowed").
  CHECK_THROWS_WITH_AS(parse_yaml("a: b\x02\n"), doctest::Contains("control character at byte 4"), Error);
  CHECK(parse_yaml("a:\tb\r\n").at("a").as_string() == "b");
  // A lone CR is a line break (YAML 5.4; yaml_fuzz found yaml-cpp keeping it as text).
  CHECK(parse_yaml(" \r").is_none());
  CHECK(parse_yaml("a: 1\rb: 2\r").at("b").as_int() == 2);
}

TEST_CASE("parse_yaml stops recursive and exponential aliases with an error") {
  // yaml_fuzz: an anchored sequence holding an alias of itself recursed without end.
  CHECK_THROWS_WITH_AS(parse_yaml("&a\n- *a\n"), doctest::Contains("recursive alias"), Error);
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  CHECK_THROWS_WITH_AS(parse_yaml(bomb), doctest::Contains("alias bomb"), Error);
  CHECK(parse_yaml("a: &x {k: 1}\nb: *x\n").at("b").at("k").as_int() == 1);  // plain aliases work
}

TEST_CASE("to_yaml writes what parse_yaml reads back unchanged") {
  const Value v = Value::dict()
                      .set("lr", 0.1)
                      .set("epochs", 3)
                      .set("whole", 2.0)
                      .set("tiny", 1e-300)
                      .set("flag", true)
                      .set("none", Value())
                      .set("name", "mnist")
                      .set("tricky", "true")
                      .set("number_text", "42")
                      .set("colon", "a: b")
                      .set("empty", "")
                      .set("controls", "a\rb\x01\t")
                      .set("layers", Value::list({Value(128), Value(64)}))
                      .set("nested", Value::dict().set("beta", Value::list({Value(0.9), Value(0.999)})));
  const std::string text = to_yaml(v);
  CHECK(text.find("lr: 0.1\n") != std::string::npos);
  CHECK(text.find("whole: 2.0\n") != std::string::npos);
  const Value back = parse_yaml(text);
  CHECK(back.at("lr").as_double() == 0.1);
  CHECK(back.at("epochs").as_int() == 3);
  CHECK(back.at("whole").is_double());
  CHECK(back.at("tiny").as_double() == 1e-300);
  CHECK(back.at("flag").as_bool());
  CHECK(back.at("none").is_none());
  CHECK(back.at("name").as_string() == "mnist");
  CHECK(back.at("tricky").as_string() == "true");
  CHECK(back.at("number_text").as_string() == "42");
  CHECK(back.at("colon").as_string() == "a: b");
  CHECK(back.at("empty").as_string() == "");
  CHECK(back.at("controls").as_string() == "a\rb\x01\t");
  CHECK(back.at("layers").as_list()[1].as_int() == 64);
  CHECK(back.at("nested").at("beta").as_list()[1].as_double() == 0.999);
}

}  // namespace fulgur
