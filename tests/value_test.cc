// fulgur::Value, the Python-like tree state dicts are made of: kinds and accessors, dict
// order and lookup, Python's equality and Python's repr.
#include <limits>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

TEST_CASE("Value: leaves and their kinds") {
  CHECK(Value().is_none());
  CHECK(Value(nullptr).is_none());
  CHECK(Value(true).is_bool());
  CHECK(Value(3).is_int());
  CHECK(Value(int64_t{1} << 40).as_int() == int64_t{1} << 40);
  CHECK(Value(uint8_t{7}).is_int());
  CHECK(Value(0.5).is_double());
  CHECK(Value(0.5f).as_double() == 0.5);
  CHECK(Value("lr").is_string());  // not a bool, as a const char* would otherwise become
  CHECK(Value(std::string("x")).as_string() == "x");
  CHECK(Value(zeros({2})).is_tensor());
  CHECK(Value::list().is_list());
  CHECK(Value::tuple().is_tuple());
  CHECK(Value::dict().is_dict());
  CHECK(std::string(Value(1.0).type_name()) == "float");
  CHECK(std::string(Value().type_name()) == "NoneType");
  CHECK(Value(3).is_number());
  CHECK_FALSE(Value(true).is_number());
  CHECK(Value(3).to_double() == 3.0);
  CHECK(Value(2.5).to_double() == 2.5);
}

TEST_CASE("Value: wrong-kind access throws, naming what it found") {
  CHECK(contains(error_message([] { (void)Value(1.5).as_int(); }), "Value::as_int: expected an int, got float 1.5"));
  CHECK(contains(error_message([] { (void)Value(1).as_double(); }), "hint: to_double() accepts ints too"));
  CHECK(contains(error_message([] { (void)Value("a").to_double(); }), "expected an int or a float, got str"));
  CHECK(contains(error_message([] { (void)Value().as_tensor(); }), "expected a Tensor, got NoneType"));
  CHECK(contains(error_message([] { (void)Value::tuple({1}).as_list(); }),
                 "expected a list, got tuple; hint: elements() reads lists and tuples"));
  CHECK(contains(error_message([] { (void)Value(1).at("x"); }), "expected a dict, got int"));
  CHECK(contains(error_message([] { (void)Value::list({1})[3]; }), "index 3 is out of range for a list of size 1"));
  CHECK(contains(error_message([] { (void)Value(2).size(); }), "a int has no size"));
  CHECK(contains(error_message([] { DictKey(3).as_string(); }), "the key is the int 3"));
}

TEST_CASE("Value: lists and tuples") {
  Value l = Value::list({1, "two", 3.0});
  l.push_back(Value::tuple({4}));
  REQUIRE(l.size() == 4);
  CHECK(l[1].as_string() == "two");
  CHECK(l[3].as_tuple()[0].as_int() == 4);
  l[0] = Value("one");
  CHECK(l.as_list()[0].as_string() == "one");
  CHECK(Value::tuple({0.9, 0.999}).elements().size() == 2);
  CHECK(contains(error_message([] { Value::tuple().push_back(1); }), "expected a list, got tuple"));
}

TEST_CASE("Value: dicts keep insertion order, str and int keys") {
  Value d = Value::dict({{"lr", 0.1}, {"betas", Value::tuple({0.9, 0.999})}});
  d.set("eps", 1e-8).set(0, "zero");
  REQUIRE(d.size() == 4);
  std::vector<std::string> keys;
  for (const auto& [k, v] : d.items()) keys.push_back(k.repr());
  CHECK(keys == std::vector<std::string>({"'lr'", "'betas'", "'eps'", "0"}));
  // Replacing keeps the position (Python's dict).
  d.set("lr", 0.2);
  CHECK(d.items()[0].first.as_string() == "lr");
  CHECK(d.at("lr").as_double() == 0.2);
  CHECK(d.at(0).as_string() == "zero");
  CHECK(d.find("missing") == nullptr);
  CHECK(d.contains("eps"));
  CHECK_FALSE(d.contains(1));
  CHECK(d.contains(int64_t{0}));
  // An int key and a string key never match.
  CHECK_FALSE(d.contains("0"));
  d.at("betas").as_tuple()[0] = 0.8;
  CHECK(d.at("betas")[0].as_double() == 0.8);
  CHECK(d.erase("eps"));
  CHECK_FALSE(d.erase("eps"));
  CHECK(d.size() == 3);
  CHECK(d.keys().size() == 3);
  const std::string msg = error_message([&] { (void)d.at("momentum"); });
  CHECK(contains(msg, "no key 'momentum' in a dict with keys ['lr', 'betas', 0]"));
  // A literal with a repeated key keeps the last value, in the first position.
  Value dup = Value::dict({{"a", 1}, {"b", 2}, {"a", 3}});
  CHECK(dup.size() == 2);
  CHECK(dup.items()[0].second.as_int() == 3);
}

TEST_CASE("Value: copies are deep, tensors are shared") {
  Tensor t = zeros({2});
  Value a = Value::dict({{"w", t}, {"l", Value::list({1})}});
  Value b = a;
  b.at("l").push_back(2);
  CHECK(a.at("l").size() == 1);
  CHECK(b.at("w").as_tensor().is_same(t));
}

TEST_CASE("Value: Python's equality") {
  CHECK(Value(1) == Value(1.0));
  CHECK(Value(true) == Value(1));
  CHECK(Value(false) == Value(0.0));
  CHECK(Value(1) != Value(2));
  CHECK(Value() == Value());
  CHECK(Value() != Value(0));
  CHECK(Value("a") != Value(1));
  CHECK(Value::list({1, 2}) == Value::list({1.0, 2}));
  CHECK(Value::list({1, 2}) != Value::tuple({1, 2}));
  CHECK(Value::list({1, 2}) != Value::list({1}));
  // Dict equality ignores order, as Python's.
  CHECK(Value::dict({{"a", 1}, {"b", 2}}) == Value::dict({{"b", 2}, {"a", 1}}));
  CHECK(Value::dict({{"a", 1}}) != Value::dict({{"a", 2}}));
  CHECK(Value::dict({{"a", 1}}) != Value::dict({{1, 1}}));
  CHECK(Value::dict({{"a", Value::list({Value::tuple({1})})}}) == Value::dict({{"a", Value::list({Value::tuple({1})})}}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(Value(nan) != Value(nan));
  // Tensors have no single truth value.
  const Value t(zeros({2}));
  CHECK(contains(error_message([&] { (void)(t == t); }), "hint: compare the tensors with fulgur::equal"));
  CHECK(Value(zeros({2})) != Value());
}

TEST_CASE("Value: repr is Python's") {
  const Value sd = Value::dict({{"state", Value::dict({{0, Value::dict({{"step", 3}})}})},
                                {"param_groups", Value::list({Value::dict({{"lr", 0.001},
                                                                           {"betas", Value::tuple({0.9, 0.999})},
                                                                           {"eps", 1e-08},
                                                                           {"amsgrad", false},
                                                                           {"foreach", Value()},
                                                                           {"params", Value::list({0, 1})}})})}});
  CHECK(sd.repr() == "{'state': {0: {'step': 3}}, 'param_groups': [{'lr': 0.001, 'betas': (0.9, 0.999), 'eps': "
                     "1e-08, 'amsgrad': False, 'foreach': None, 'params': [0, 1]}]}");
  CHECK(Value::tuple({1}).repr() == "(1,)");
  CHECK(Value::tuple().repr() == "()");
  CHECK(Value::list().repr() == "[]");
  CHECK(Value::dict().repr() == "{}");
  CHECK(Value("it's").repr() == "\"it's\"");
  CHECK(Value("a'b\"c\n").repr() == "'a\\'b\"c\\n'");
  CHECK(Value(zeros({3, 4}, {.dtype = kFloat64})).repr() == "tensor(float64, [3, 4])");
  // Floats: the reprs Python 3 prints.
  const std::vector<std::pair<double, std::string>> floats = {
      {1.0, "1.0"},          {-0.0, "-0.0"},       {0.1, "0.1"},           {1e-4, "0.0001"},
      {1e-5, "1e-05"},       {1.5e-7, "1.5e-07"},  {123456.789, "123456.789"}, {1e15, "1000000000000000.0"},
      {1e16, "1e+16"},       {1.2345e20, "1.2345e+20"}, {2.0 / 3, "0.6666666666666666"},
      {0.040000000000000036, "0.040000000000000036"}, {-2.5, "-2.5"}, {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {std::numeric_limits<double>::infinity(), "inf"}, {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::numeric_limits<double>::quiet_NaN(), "nan"}};
  for (const auto& [x, s] : floats) CHECK_MESSAGE(float_repr(x) == s, "float_repr(", x, ")");
  std::ostringstream os;
  os << Value::list({true, 2});
  CHECK(os.str() == "[True, 2]");
}

TEST_CASE("map_tensors replaces every nested tensor and keeps the rest, order and kinds included") {
  const Value batch = Value::dict({{"x", Value(full({2}, 1.0))},
                                   {"meta", Value::tuple({Value("id"), Value(int64_t{7}), Value(full({1}, 2.0))})},
                                   {"more", Value::list({Value::list({Value(full({3}, 3.0))}), Value()})}});
  int calls = 0;
  const Value out = map_tensors(batch, [&](const Tensor& t) {
    ++calls;
    return t * 10.0;
  });
  CHECK(calls == 3);
  CHECK(out.keys() == batch.keys());
  CHECK(out.at("x").as_tensor().sum().item<double>() == 20.0);
  REQUIRE(out.at("meta").is_tuple());
  CHECK(out.at("meta")[0] == Value("id"));
  CHECK(out.at("meta")[1] == Value(int64_t{7}));
  CHECK(out.at("meta")[2].as_tensor().item<double>() == 20.0);
  REQUIRE(out.at("more").is_list());
  CHECK(out.at("more")[0][0].as_tensor().sum().item<double>() == 90.0);
  CHECK(out.at("more")[1].is_none());
  // The input is untouched.
  CHECK(batch.at("x").as_tensor().sum().item<double>() == 2.0);
  CHECK(map_tensors(Value(3.5), [](const Tensor& t) { return t; }) == Value(3.5));
}
