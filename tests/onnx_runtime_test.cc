// fulgur::onnx: TensorProto loading (raw and typed fields, dtypes, malformed data), model
// checks (opset, unknown ops, missing inputs, negative dims, external data escaping the
// model's folder) and opset-dependent semantics, on models built in memory with libonnx's
// protobuf classes.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "fulgur/nn/onnx/session.h"
#include "fulgur/nn/onnx/tensor_proto.h"
#include "test_util.h"

namespace fs = std::filesystem;
using fulgur::Tensor;
using fulgur::onnx::InferenceSession;

namespace {

::onnx::TensorProto float_proto(const std::vector<int64_t>& dims, const std::vector<float>& values, bool raw) {
  ::onnx::TensorProto p;
  p.set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) p.add_dims(d);
  if (raw) {
    p.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  } else {
    for (float v : values) p.add_float_data(v);
  }
  return p;
}

void add_input(::onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims) {
  auto* in = g->add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

::onnx::ModelProto model(int64_t opset) {
  ::onnx::ModelProto m;
  m.set_ir_version(7);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  return m;
}

::onnx::NodeProto* add_node(::onnx::GraphProto* g, const std::string& op, std::vector<std::string> ins,
                            std::vector<std::string> outs) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_0");
  for (auto& s : ins) n->add_input(s);
  for (auto& s : outs) n->add_output(s);
  return n;
}

void ints_attr(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void int_attr(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

InferenceSession session_of(const ::onnx::ModelProto& m, const fs::path& dir = {}) {
  return InferenceSession::from_bytes(m.SerializeAsString(), dir);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fulgur::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("TensorProto: raw and typed float data") {
  for (bool raw : {true, false}) {
    const Tensor t = fulgur::onnx::tensor_from_proto(float_proto({2, 3}, {1, 2, 3, 4, 5, 6}, raw));
    CHECK(t.dtype() == fulgur::DType::Float32);
    CHECK(t.sizes() == fulgur::IntArrayRef{2, 3});
    CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  }
}

TEST_CASE("TensorProto: integer, double and bool types; scalars and empty tensors") {
  ::onnx::TensorProto p;
  p.set_data_type(::onnx::TensorProto::INT64);
  p.add_dims(3);
  for (int64_t v : std::vector<int64_t>{-1, 0, int64_t{1} << 40}) p.add_int64_data(v);
  Tensor t = fulgur::onnx::tensor_from_proto(p);
  CHECK(t.dtype() == fulgur::DType::Int64);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 1LL << 40});

  ::onnx::TensorProto d;
  d.set_data_type(::onnx::TensorProto::DOUBLE);
  d.add_double_data(2.5);  // no dims: a scalar
  t = fulgur::onnx::tensor_from_proto(d);
  CHECK(t.dim() == 0);
  CHECK(t.item<double>() == 2.5);

  ::onnx::TensorProto b;
  b.set_data_type(::onnx::TensorProto::BOOL);
  b.add_dims(2);
  b.add_int32_data(1);
  b.add_int32_data(0);
  t = fulgur::onnx::tensor_from_proto(b);
  CHECK(t.dtype() == fulgur::DType::Bool);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{1, 0});

  ::onnx::TensorProto u8;
  u8.set_data_type(::onnx::TensorProto::UINT8);
  u8.add_dims(2);
  u8.set_raw_data(std::string("\x05\xff", 2));
  CHECK(fulgur::onnx::tensor_from_proto(u8).to_vector<int64_t>() == std::vector<int64_t>{5, 255});

  ::onnx::TensorProto e;
  e.set_data_type(::onnx::TensorProto::FLOAT);
  e.add_dims(0);
  e.add_dims(4);
  CHECK(fulgur::onnx::tensor_from_proto(e).numel() == 0);
}

TEST_CASE("TensorProto: malformed data is rejected") {
  auto p = float_proto({2, 3}, {1, 2, 3, 4, 5}, true);  // 5 values for 6
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(p); }).find("raw data has 20 bytes") != std::string::npos);
  p = float_proto({2, 3}, {1, 2, 3}, false);
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(p); }).find("float_data has 3 values") != std::string::npos);
  p = float_proto({-1}, {}, true);
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(p); }).find("negative dim") != std::string::npos);
  p = float_proto({1LL << 40, 1LL << 40}, {}, true);
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(p); }).find("too large") != std::string::npos);
  ::onnx::TensorProto s;
  s.set_data_type(::onnx::TensorProto::STRING);
  s.add_string_data("x");
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(s); }).find("unsupported ONNX tensor data type") !=
        std::string::npos);
  CHECK_THROWS_AS(fulgur::onnx::parse_tensor_proto(std::string("\xff\xff\xff\xff", 4)), fulgur::Error);
  CHECK_THROWS_AS(fulgur::onnx::load_tensor_proto("/nonexistent/input_0.pb"), fulgur::Error);
}

TEST_CASE("TensorProto: file round trip and external data inside / outside the folder") {
  const fs::path dir = fs::path(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") / "onnx_rt";
  fs::create_directories(dir / "sub");
  {
    std::ofstream(dir / "t.pb", std::ios::binary) << float_proto({2}, {7, 8}, true).SerializeAsString();
    const std::vector<float> w{1.5f, -2.5f};
    std::ofstream(dir / "sub/w.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(w.data()), 8);
  }
  CHECK(fulgur::onnx::load_tensor_proto(dir / "t.pb").to_vector<float>() == std::vector<float>{7, 8});

  auto ext = [](const std::string& location) {
    ::onnx::TensorProto p;
    p.set_name("w");
    p.set_data_type(::onnx::TensorProto::FLOAT);
    p.add_dims(2);
    p.set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* kv = p.add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    return p;
  };
  CHECK(fulgur::onnx::tensor_from_proto(ext("sub/w.bin"), dir).to_vector<float>() == std::vector<float>{1.5f, -2.5f});
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(ext("../onnx_rt/sub/w.bin"), dir); }).find("escapes") !=
        std::string::npos);
  CHECK(error_of([&] { fulgur::onnx::tensor_from_proto(ext("/etc/passwd"), dir); }).find("not a relative path") !=
        std::string::npos);
  CHECK_THROWS_AS(fulgur::onnx::tensor_from_proto(ext("sub/w.bin")), fulgur::Error);  // no model folder

  // The same check on a model's initializer.
  auto m = model(13);
  auto* g = m.mutable_graph();
  *g->add_initializer() = ext("../../etc/passwd");
  add_input(g, "x", {2});
  add_node(g, "Add", {"x", "w"}, {"y"});
  g->add_output()->set_name("y");
  CHECK(error_of([&] { session_of(m, dir); }).find("escapes") != std::string::npos);
  g->mutable_initializer(0)->mutable_external_data(0)->set_value("sub/w.bin");
  const auto out = session_of(m, dir).run(std::vector<Tensor>{fulgur::from_vector(std::vector<float>{1, 1})});
  CHECK(out[0].to_vector<float>() == std::vector<float>{2.5f, -1.5f});
}

TEST_CASE("InferenceSession: runs a graph; positional and named inputs") {
  auto m = model(13);
  auto* g = m.mutable_graph();
  add_input(g, "a", {2, 2});
  add_input(g, "b", {2, 2});
  // Nodes out of order: the session sorts them.
  add_node(g, "Relu", {"s"}, {"y"});
  add_node(g, "Sub", {"a", "b"}, {"s"});
  g->add_output()->set_name("y");
  const auto s = session_of(m);
  REQUIRE(s.inputs().size() == 2);
  CHECK(s.opset() == 13);
  const Tensor a = fulgur::from_vector(std::vector<float>{1, 2, 3, 4}, fulgur::Shape{2, 2});
  const Tensor b = fulgur::from_vector(std::vector<float>{2, 2, 2, 2}, fulgur::Shape{2, 2});
  CHECK(s.run({a, b})[0].to_vector<float>() == std::vector<float>{0, 0, 1, 2});
  CHECK(s.run(std::map<std::string, Tensor>{{"a", b}, {"b", a}})[0].to_vector<float>() ==
        std::vector<float>{1, 0, 0, 0});
  CHECK(error_of([&] { s.run(std::vector<Tensor>{a}); }).find("takes 2 inputs") != std::string::npos);
  CHECK(error_of([&] { s.run(std::vector<Tensor>{a, fulgur::zeros({3})}); }).find("rank 2") != std::string::npos);
  CHECK(error_of([&] { s.run(std::map<std::string, Tensor>{{"a", a}}); }).find("missing input 'b'") !=
        std::string::npos);
}

TEST_CASE("InferenceSession: bad models are rejected with the reason") {
  {
    auto m = model(13);
    auto* g = m.mutable_graph();
    add_input(g, "x", {1});
    add_node(g, "FancyOp", {"x"}, {"y"})->set_name("my_node");
    g->add_output()->set_name("y");
    const auto e = error_of([&] { session_of(m); });
    CHECK(e.find("FancyOp") != std::string::npos);
    CHECK(e.find("my_node") != std::string::npos);
  }
  {
    auto m = model(13);
    auto* g = m.mutable_graph();
    add_input(g, "x", {1});
    add_node(g, "Add", {"x", "nowhere"}, {"y"});
    g->add_output()->set_name("y");
    CHECK(error_of([&] { session_of(m); }).find("input 'nowhere'") != std::string::npos);
  }
  {
    auto m = model(13);
    m.clear_opset_import();
    m.mutable_graph()->add_output()->set_name("y");
    CHECK(error_of([&] { session_of(m); }).find("no opset") != std::string::npos);
  }
  {
    auto m = model(13);
    auto* g = m.mutable_graph();
    add_input(g, "x", {-3});
    CHECK(error_of([&] { session_of(m); }).find("negative dim") != std::string::npos);
  }
  {
    auto m = model(13);
    auto* g = m.mutable_graph();
    *g->add_initializer() = float_proto({-2}, {}, true);
    g->mutable_initializer(0)->set_name("w");
    CHECK(error_of([&] { session_of(m); }).find("negative dim") != std::string::npos);
  }
  CHECK_THROWS_AS(InferenceSession::from_bytes("not a model"), fulgur::Error);
  CHECK_THROWS_AS(InferenceSession("/nonexistent/model.onnx"), fulgur::Error);
}

TEST_CASE("InferenceSession: opset decides where Squeeze and Unsqueeze read their axes") {
  const Tensor x = fulgur::zeros({1, 3, 1});
  for (int64_t opset : {11, 13}) {
    auto m = model(opset);
    auto* g = m.mutable_graph();
    add_input(g, "x", {1, 3, 1});
    auto* sq = add_node(g, "Squeeze", {"x"}, {"s"});
    auto* un = add_node(g, "Unsqueeze", {"s"}, {"y"});
    if (opset < 13) {
      ints_attr(sq, "axes", {-1});
      ints_attr(un, "axes", {0});
    } else {
      ::onnx::TensorProto p;
      p.set_name("ax");
      p.set_data_type(::onnx::TensorProto::INT64);
      p.add_dims(1);
      p.add_int64_data(-1);
      *g->add_initializer() = p;
      p.set_name("ax0");
      p.set_int64_data(0, 0);
      *g->add_initializer() = p;
      sq->add_input("ax");
      un->add_input("ax0");
    }
    g->add_output()->set_name("y");
    const auto y = session_of(m).run(std::vector<Tensor>{x})[0];
    CHECK(y.sizes() == fulgur::IntArrayRef{1, 1, 3});
  }
}

TEST_CASE("InferenceSession: opset 6 broadcast/axis and Softmax's 2-D coercion before opset 13") {
  {
    auto m = model(6);
    auto* g = m.mutable_graph();
    add_input(g, "a", {2, 3, 2});
    add_input(g, "b", {3});
    auto* n = add_node(g, "Add", {"a", "b"}, {"y"});
    int_attr(n, "broadcast", 1);
    int_attr(n, "axis", 1);
    g->add_output()->set_name("y");
    const auto y = session_of(m).run(std::vector<Tensor>{fulgur::zeros({2, 3, 2}), fulgur::from_vector(std::vector<float>{1, 2, 3})})[0];
    CHECK(y.to_vector<float>() == std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  }
  for (int64_t opset : {6, 13}) {
    auto m = model(opset);
    auto* g = m.mutable_graph();
    add_input(g, "x", {1, 2, 2});
    add_node(g, "Softmax", {"x"}, {"y"});
    g->add_output()->set_name("y");
    const auto y = session_of(m).run(std::vector<Tensor>{fulgur::zeros({1, 2, 2})})[0].to_vector<float>();
    // opset 6: axis 1 over the flattened [1, 4] -> 1/4 each; opset 13: axis -1 -> 1/2 each.
    CHECK(y[0] == doctest::Approx(opset == 6 ? 0.25 : 0.5));
  }
}

namespace {

::onnx::TensorProto int64_proto(const std::string& name, const std::vector<int64_t>& values) {
  ::onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(::onnx::TensorProto::INT64);
  p.add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) p.add_int64_data(v);
  return p;
}

Tensor iota(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return fulgur::from_vector(v, fulgur::Shape(dims.begin(), dims.end()));
}

}  // namespace

TEST_CASE("InferenceSession: Slice reads attributes before opset 10 and inputs from 10 (negative steps)") {
  const Tensor x = iota({2, 5});
  {
    auto m = model(9);
    auto* g = m.mutable_graph();
    add_input(g, "x", {2, 5});
    auto* n = add_node(g, "Slice", {"x"}, {"y"});
    ints_attr(n, "starts", {1});
    ints_attr(n, "ends", {1000});
    ints_attr(n, "axes", {1});
    g->add_output()->set_name("y");
    CHECK(session_of(m).run({x})[0].to_vector<float>() == std::vector<float>{1, 2, 3, 4, 6, 7, 8, 9});
  }
  {
    auto m = model(10);
    auto* g = m.mutable_graph();
    add_input(g, "x", {2, 5});
    *g->add_initializer() = int64_proto("s", {-1});
    *g->add_initializer() = int64_proto("e", {-1000});
    *g->add_initializer() = int64_proto("a", {-1});
    *g->add_initializer() = int64_proto("st", {-2});
    add_node(g, "Slice", {"x", "s", "e", "a", "st"}, {"y"});
    g->add_output()->set_name("y");
    CHECK(session_of(m).run({x})[0].to_vector<float>() == std::vector<float>{4, 2, 0, 9, 7, 5});
  }
}

TEST_CASE("InferenceSession: Reshape (0 and -1), Pad modes, Gather with negative indices, Tile") {
  const Tensor x = iota({2, 3});
  {
    auto m = model(6);
    auto* g = m.mutable_graph();
    add_input(g, "x", {2, 3});
    *g->add_initializer() = int64_proto("shape", {0, -1, 1});
    add_node(g, "Reshape", {"x", "shape"}, {"y"});
    g->add_output()->set_name("y");
    CHECK(session_of(m).run({x})[0].sizes() == fulgur::IntArrayRef{2, 3, 1});
  }
  for (const char* mode : {"reflect", "edge", "constant"}) {
    auto m = model(6);
    auto* g = m.mutable_graph();
    add_input(g, "x", {2, 3});
    auto* n = add_node(g, "Pad", {"x"}, {"y"});
    ints_attr(n, "pads", {0, 2, 0, 1});
    auto* a = n->add_attribute();
    a->set_name("mode");
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(mode);
    g->add_output()->set_name("y");
    const auto y = session_of(m).run({x})[0];
    CHECK(y.sizes() == fulgur::IntArrayRef{2, 6});
    const auto row = y[0].to_vector<float>();
    if (std::string(mode) == "reflect") CHECK(row == std::vector<float>{2, 1, 0, 1, 2, 1});
    if (std::string(mode) == "edge") CHECK(row == std::vector<float>{0, 0, 0, 1, 2, 2});
    if (std::string(mode) == "constant") CHECK(row == std::vector<float>{0, 0, 0, 1, 2, 0});
  }
  {
    auto m = model(6);
    auto* g = m.mutable_graph();
    add_input(g, "x", {2, 3});
    *g->add_initializer() = int64_proto("i", {-1, 0});
    int_attr(add_node(g, "Gather", {"x", "i"}, {"y"}), "axis", 1);
    *g->add_initializer() = int64_proto("r", {2, 1});
    add_node(g, "Tile", {"y", "r"}, {"z"});
    g->add_output()->set_name("z");
    const auto z = session_of(m).run({x})[0];
    CHECK(z.sizes() == fulgur::IntArrayRef{4, 2});
    CHECK(z.to_vector<float>() == std::vector<float>{2, 0, 5, 3, 2, 0, 5, 3});
  }
  {
    // A kernel error names the node and the opset.
    auto m = model(6);
    auto* g = m.mutable_graph();
    add_input(g, "x", {2, 3});
    *g->add_initializer() = int64_proto("i", {3});
    add_node(g, "Gather", {"x", "i"}, {"y"})->set_name("bad_gather");
    g->add_output()->set_name("y");
    const auto e = error_of([&] { session_of(m).run({x}); });
    CHECK(e.find("bad_gather") != std::string::npos);
    CHECK(e.find("out of range") != std::string::npos);
  }
}
