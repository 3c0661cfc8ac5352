// fulgur::save / fulgur::load: round trips of every Value kind and dtype, views and shared
// storage, files written by torch.save (tools/gen_serialize_files.py, tests/data/serialize/),
// hostile and corrupt files, and the 1,000 random byte flips.
// GCC 12 bug 105329: false -Wrestrict on std::string concatenation at -O3.
#pragma GCC diagnostic ignored "-Wrestrict"

#include <random>
#include <string>

#include "fulgur/serialize/checkpoint.h"
#include "fulgur/serialize/pickle_reader.h"
#include "fulgur/serialize/zip_reader.h"
#include "fulgur/serialize/zip_writer.h"
#include "serialize_test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
using serialize::load_from;
using serialize::memory_source;
using serialize::save_to_string;
using namespace std::string_literals;

namespace {

const std::string kData = "tests/data/serialize/";

Value load_bytes(const std::string& bytes, const std::string& name = "mem.pt") {
  return load_from(memory_source(name, std::vector<uint8_t>(bytes.begin(), bytes.end())));
}

Tensor arange_as(int64_t n, DType dtype, double scale, double offset) {
  Tensor t = make_tensor({n}, dtype, kCPU);
  for (int64_t i = 0; i < n; ++i) {
    set(t, {i}, dtype == kBool ? static_cast<double>(i % 2) : i * scale + offset);
  }
  return t;
}

// A tree with every Value kind, every dtype, views and shared storage.
Value sample_value() {
  Tensor base = arange_as(12, kFloat32, 0.5, -1.0).view({3, 4});
  Value dtypes = Value::dict();
  for (DType dt : all_dtypes()) {
    dtypes.set(std::string(dtype_name(dt)), arange_as(5, dt, is_floating(dt) ? 1.5 : 1.0,
                                                      dt == kBool || dt == kUInt8 ? 0.0 : -2.0));
  }
  Tensor p = arange_as(3, kFloat32, 2.0, 0.0);
  p.requires_grad_(true);
  return Value::dict({
      {"none", Value()},
      {"true", true},
      {"false", false},
      {"int", 7},
      {"neg", -123456},
      {"big", int64_t{1} << 40},
      {"min", std::numeric_limits<int64_t>::min()},
      {"max", std::numeric_limits<int64_t>::max()},
      {"float", 0.1},
      {"inf", std::numeric_limits<double>::infinity()},
      {"neg_zero", -0.0},
      {"str", "h\xc3\xa9llo \xe2\x98\x83"},
      {"tuple", Value::tuple({1, 2.5, "x"})},
      {"list", Value::list({1, Value::list({2, Value::list({3})}), Value::dict()})},
      {"empty_list", Value::list()},
      {"empty_tuple", Value::tuple()},
      {"long_tuple", Value::tuple({1, 2, 3, 4, 5})},
      {"int_keys", Value::dict({{0, "a"}, {5, "b"}, {-7, "c"}})},
      {"state_dict", Value::dict({{"w", base}, {"w_t", base.t()}})},
      {"base", base},
      {"transposed", base.t()},
      {"row", base[1]},
      {"strided", base.slice(1, 0, 4, 2)},
      {"scalar", full({}, 3.25, {.dtype = kFloat64})},
      {"empty", zeros({0, 3})},
      {"expanded", tensor({1.0f, 2.0f}).expand({3, 2})},
      {"param", p},
      {"dtypes", dtypes},
  });
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A zip with the given pickle as archive/data.pkl and the given storages (for hand-made
// hostile pickles).
std::string torch_zip(const std::string& pickle,
                      const std::vector<std::pair<std::string, std::string>>& records = {}) {
  std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pickle}};
  for (const auto& [k, v] : records) entries.emplace_back("archive/" + k, v);
  entries.emplace_back("archive/version", "3\n");
  return serialize::zip_to_string(entries);
}

// Pickle bytes: protocol 2, the body, STOP.
std::string pkl(const std::string& body) { return std::string("\x80\x02", 2) + body + "."; }

std::string binunicode(const std::string& s) {
  std::string out = "X";
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + s;
}

std::string binint(int32_t v) {
  std::string out = "J";
  for (int i = 0; i < 4; ++i) out += static_cast<char>((static_cast<uint32_t>(v) >> (8 * i)) & 0xFF);
  return out;
}

// _rebuild_tensor_v2 over storage '0' (FloatStorage of `numel`), with size/stride tuples.
std::string tensor_pickle(int32_t numel, const std::string& size, const std::string& stride, int32_t offset = 0) {
  return pkl("ctorch._utils\n_rebuild_tensor_v2\n((" + binunicode("storage") + "ctorch\nFloatStorage\n" +
             binunicode("0") + binunicode("cpu") + binint(numel) + "tQ" + binint(offset) + size + stride +
             "\x89" "ccollections\nOrderedDict\n)Rt" "R");
}

}  // namespace

TEST_CASE("save/load: every Value kind and dtype round-trips, views keep their layout") {
  const Value v = sample_value();
  const std::string path = tmp_path("roundtrip.pt");
  save(v, path);
  const Value back = load(path);
  CHECK(value_difference(v, back) == "");
  // In memory too, and the file is byte-identical (saving is deterministic).
  CHECK(read_file_bytes(path) == save_to_string(v));
  CHECK(value_difference(v, load_bytes(save_to_string(back))) == "");

  // Views of one storage still share one storage.
  const Tensor& base = back.at("base").as_tensor();
  CHECK(back.at("transposed").as_tensor().storage() == base.storage());
  CHECK(back.at("row").as_tensor().storage() == base.storage());
  CHECK(back.at("row").as_tensor().storage_offset() == 4);
  CHECK(back.at("strided").as_tensor().strides() == IntArrayRef{4, 2});
  CHECK(back.at("expanded").as_tensor().strides() == IntArrayRef{0, 1});
  CHECK(back.at("state_dict").at("w").as_tensor().storage() == base.storage());
  CHECK(back.at("param").as_tensor().requires_grad());
  CHECK_FALSE(back.at("base").as_tensor().requires_grad());
  // Mutating through one view shows through the other, as in Python.
  back.at("transposed").as_tensor().select(0, 1).fill_(42.0);
  CHECK(get(base, {0, 1}) == 42.0);
}

TEST_CASE("save/load: the container is what torch.save writes") {
  const std::string bytes = save_to_string(sample_value());
  const serialize::ZipReader zip(memory_source("x.pt", std::vector<uint8_t>(bytes.begin(), bytes.end())));
  std::vector<std::string> names;
  for (const auto& e : zip.entries()) {
    names.push_back(e.name);
    CHECK(e.method == 0);
    CHECK(zip.data_offset(e) % 64 == 0);  // aligned through the "FB" extra field
  }
  REQUIRE(names.size() >= 4);
  CHECK(names.front() == "archive/data.pkl");
  CHECK(names[1] == "archive/byteorder");
  CHECK(names[2] == "archive/data/0");
  CHECK(names.back() == "archive/version");
  const auto version = zip.read(zip.at("archive/version"));
  CHECK(std::string(version.begin(), version.end()) == "3\n");
  // The pickle starts like torch.save's: PROTO 2, then the top-level dict.
  const auto p = zip.read(zip.at("archive/data.pkl"));
  CHECK(p[0] == 0x80);
  CHECK(p[1] == 2);
}

TEST_CASE("save: a state_dict is an OrderedDict; other dicts are plain dicts") {
  const std::string sd = save_to_string(Value::dict({{"w", zeros({2})}}));
  CHECK(sd.find("collections\nOrderedDict\n)R") != std::string::npos);
  const std::string plain = save_to_string(Value::dict({{"lr", 0.1}}));
  CHECK(plain.find("\x80\x02}") != std::string::npos);
}

TEST_CASE("save: errors") {
  CHECK(error_of([] { save_to_string(Value("bad \xff utf8")); }).find("not valid UTF-8") != std::string::npos);
  CHECK(error_of([] { save(Value(1), "/nonexistent-dir/x.pt"); }) ==
        "save: '/nonexistent-dir/x.pt': cannot create a temporary file in '/nonexistent-dir': No such file or "
        "directory");
}

TEST_CASE("load: torch.save files from torch 1.13 and 2.x with exact values") {
  for (const char* file : {"torch1_values.pt", "torch2_values.pt"}) {
    CAPTURE(file);
    const Value v = load(kData + file);
    CHECK(v.at("none").is_none());
    CHECK(v.at("true").as_bool());
    CHECK(v.at("int").as_int() == 7);
    CHECK(v.at("neg").as_int() == -123456);
    CHECK(v.at("big").as_int() == (int64_t{1} << 40));
    CHECK(v.at("min").as_int() == std::numeric_limits<int64_t>::min());
    CHECK(v.at("max").as_int() == std::numeric_limits<int64_t>::max());
    CHECK(v.at("float").as_double() == 0.1);
    CHECK(std::isinf(v.at("inf").as_double()));
    CHECK(v.at("str").as_string() == "h\xc3\xa9llo \xe2\x98\x83");
    CHECK(v.at("tuple").is_tuple());
    CHECK(v.at("tuple")[2].as_string() == "x");
    CHECK(v.at("list")[1][1][0].as_int() == 3);
    CHECK(v.at("int_keys").at(5).as_string() == "b");
    const Tensor& base = v.at("base").as_tensor();
    CHECK(base.sizes() == IntArrayRef{3, 4});
    CHECK(values(base) == values(arange_as(12, kFloat32, 0.5, -1.0)));
    const Tensor& t = v.at("transposed").as_tensor();
    CHECK(t.strides() == IntArrayRef{1, 4});
    CHECK(t.storage() == base.storage());
    CHECK(v.at("row").as_tensor().storage_offset() == 4);
    CHECK(values(v.at("row").as_tensor()) == std::vector<double>{1.0, 1.5, 2.0, 2.5});
    CHECK(v.at("strided").as_tensor().strides() == IntArrayRef{4, 2});
    CHECK(v.at("scalar").as_tensor().dim() == 0);
    CHECK(v.at("scalar").as_tensor().dtype() == kFloat64);
    CHECK(v.at("scalar").as_tensor().item<double>() == 3.25);
    CHECK(v.at("empty").as_tensor().sizes() == IntArrayRef{0, 3});
    CHECK(v.at("expanded").as_tensor().strides() == IntArrayRef{0, 1});
    CHECK(v.at("param").as_tensor().requires_grad());
    CHECK(values(v.at("param").as_tensor()) == std::vector<double>{0, 2, 4});
    for (DType dt : all_dtypes()) {
      CAPTURE(dt);
      const Tensor& x = v.at("dtype_" + std::string(dtype_name(dt))).as_tensor();
      CHECK(x.dtype() == dt);
      CHECK(values(x) == values(arange_as(5, dt, is_floating(dt) ? 1.5 : 1.0,
                                          dt == kBool || dt == kUInt8 ? 0.0 : -2.0)));
    }
  }
}

TEST_CASE("load: a torch.nn state_dict loads into the same fulgur module and gives the same outputs") {
  const Value sd = load(kData + "torch1_model_state_dict.pt");
  REQUIRE(sd.is_dict());
  nn::StateDict state;
  for (const auto& [k, t] : sd.items()) state.insert(k.as_string(), t.as_tensor());
  nn::Sequential m(nn::Conv2d(2, 3, 3, {.padding = 1}), nn::BatchNorm2d(3), nn::ReLU(), nn::Flatten(),
                   nn::Linear(3 * 4 * 4, 5));
  m.load_state_dict(state);
  m.eval();
  const Value io = load(kData + "torch1_model_io.pt");
  const Tensor y = m(io.at("x").as_tensor());
  CHECK(allclose(y, io.at("y").as_tensor(), 1e-5, 1e-5));
  CHECK(state.at("1.num_batches_tracked").dtype() == kInt64);
  CHECK(state.at("1.num_batches_tracked").item<int64_t>() == 3);
}

TEST_CASE("load: a torch.optim.Adam state_dict") {
  const Value s = load(kData + "torch1_adam_state.pt");
  const Value& groups = s.at("param_groups");
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].at("lr").as_double() == 0.01);
  CHECK(groups[1].at("lr").as_double() == 0.5);
  CHECK(groups[0].at("betas").is_tuple());
  CHECK(groups[0].at("betas")[0].as_double() == 0.8);
  CHECK(groups[0].at("params")[0].as_int() == 0);
  CHECK(groups[1].at("params")[0].as_int() == 1);
  const Value& state = s.at("state");
  CHECK(state.at(0).at("exp_avg").as_tensor().sizes() == IntArrayRef{2, 3});
  CHECK(state.at(1).at("step").as_tensor().item<double>() == 1.0);
  CHECK(std::abs(state.at(1).at("exp_avg").as_tensor().to_vector<float>()[0] - 0.4f) < 1e-6f);
}

TEST_CASE("load: a Lightning .ckpt (pytorch_lightning 2.1, torch 2.x)") {
  const Value ck = load(kData + "torch2_lightning.ckpt");
  CHECK(ck.at("epoch").as_int() == 2);
  CHECK(ck.at("global_step").as_int() == 4);
  CHECK(ck.at("hyper_parameters").at("hidden").as_int() == 4);
  CHECK(ck.at("hyper_parameters").at("lr").as_double() == 0.01);
  const Value& sd = ck.at("state_dict");
  CHECK(sd.at("net.0.weight").as_tensor().sizes() == IntArrayRef{4, 3});
  CHECK(sd.at("net.2.bias").as_tensor().sizes() == IntArrayRef{2});
  const Value& opt = ck.at("optimizer_states")[0];
  CHECK(opt.at("state").at(0).at("exp_avg").as_tensor().sizes() == IntArrayRef{4, 3});
  CHECK(ck.at("lr_schedulers")[0].at("gamma").as_double() == 0.5);
  CHECK(ck.at("loops").at("fit_loop").is_dict());
  // The weights load into the fulgur module of the same shape.
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  nn::StateDict state;
  for (const auto& [k, t] : sd.items()) state.insert(k.as_string().substr(4), t.as_tensor());
  net.load_state_dict(state);
}

TEST_CASE("load: hostile pickles are rejected, naming what they use") {
  CHECK(error_of([] { load(kData + "hostile_os_system.pt"); })
            .find("load: 'tests/data/serialize/hostile_os_system.pt': data.pkl: global 'posix.system' is not "
                  "allowed") == 0);
  const auto bad = [](const std::string& pickle) { return error_of([&] { load_bytes(torch_zip(pickle)); }); };
  CHECK(bad(pkl("cbuiltins\neval\n")).find("global 'builtins.eval' is not allowed") != std::string::npos);
  CHECK(bad(pkl(binunicode("os") + binunicode("system") + "\x93"))
            .find("global 'os.system' is not allowed") != std::string::npos);
  CHECK(bad(pkl("(cos\nsystem\nX\x01\x00\x00\x00xo"s)).find("global 'os.system' is not allowed") !=
        std::string::npos);
  CHECK(bad(pkl("(X\x01\x00\x00\x00xi__builtin__\napply\n"s))
            .find("opcode INST (0x69) is not supported") != std::string::npos);
  CHECK(bad(pkl("S'abc'\np0\n")).find("opcode STRING (0x53) is not supported") != std::string::npos);
  CHECK(bad(pkl("\xff")).find("invalid opcode 0xff") != std::string::npos);
  CHECK(bad(pkl("N\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09")).find("does not fit in 64 bits") !=
        std::string::npos);
  CHECK(bad(pkl("h\x05")).find("memo entry 5 is not defined") != std::string::npos);
  CHECK(bad(pkl("a")).find("APPEND on an empty stack") != std::string::npos);
  CHECK(bad(pkl("}N" + binunicode("v") + "s")).find("dict key of type None is not supported") !=
        std::string::npos);
  CHECK(bad("\x80\x02N").find("truncated: no STOP opcode") != std::string::npos);
  CHECK(bad(pkl("X\xff\xff\xff\x7f")).find("truncated: string of 2147483647 bytes") != std::string::npos);
  CHECK(bad(pkl("ctorch\nFloatStorage\n)R")).find("constructing torch.FloatStorage directly") !=
        std::string::npos);
  CHECK(bad(pkl("(" + binunicode("storage") + "cos\nsystem\n" + binunicode("0") + binunicode("cpu") +
                "K\x01tQ"))
            .find("global 'os.system' is not allowed") != std::string::npos);
}

TEST_CASE("load: tensors are checked against their storage before any view or allocation") {
  const std::string four_floats(16, '\0');
  const auto err = [&](const std::string& pickle, const std::string& storage) {
    return error_of([&] { load_bytes(torch_zip(pickle, {{"data/0", storage}})); });
  };
  // A valid one first.
  CHECK(load_bytes(torch_zip(tensor_pickle(4, "K\x02K\x02\x86", "K\x02K\x01\x86"), {{"data/0", four_floats}}))
            .as_tensor()
            .sizes() == IntArrayRef{2, 2});
  CHECK(err(tensor_pickle(4, "K\x03K\x02\x86", "K\x02K\x01\x86"), four_floats)
            .find("a tensor of size [3, 2], stride [2, 1] at offset 0 reaches element 5 of a storage of 4 "
                  "elements") != std::string::npos);
  CHECK(err(tensor_pickle(4, "K\x02\x85", "K\x01\x85", 3), four_floats).find("reaches element 4") !=
        std::string::npos);
  // A huge declared tensor over a small storage: rejected, nothing allocated.
  CHECK(err(tensor_pickle(4, binint(0x7fffffff) + binint(0x7fffffff) + "\x86", "J\xff\xff\xff\x7fK\x01\x86"),
            four_floats)
            .find("reaches element") != std::string::npos);
  CHECK(err(tensor_pickle(4, "\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x3f" "K\x04\x86",
                          "K\x04K\x01\x86"),
            four_floats)
            .find("overflows") != std::string::npos);
  CHECK(err(tensor_pickle(4, "J\xff\xff\xff\xff\x85", "K\x01\x85"), four_floats).find("negative size -1") !=
        std::string::npos);
  // A storage that declares more elements than its record holds.
  CHECK(err(tensor_pickle(1 << 30, "K\x02\x85", "K\x01\x85"), four_floats)
            .find("storage '0' declares 1073741824 float32 elements but its entry holds 16 bytes") !=
        std::string::npos);
  CHECK(error_of([&] { load_bytes(torch_zip(tensor_pickle(4, "K\x02\x85", "K\x01\x85"))); })
            .find("the pickle refers to storage '0' but the archive has no entry 'archive/data/0'") !=
        std::string::npos);
}

TEST_CASE("load: bad containers") {
  const std::string good = save_to_string(Value::dict({{"w", arange_as(6, kFloat32, 1, 0)}}));
  CHECK(error_of([] { load(kData + "does_not_exist.pt"); }).find("cannot open") != std::string::npos);
  CHECK(error_of([&] { load_bytes(good.substr(0, good.size() / 2)); }).find("not a zip file") !=
        std::string::npos);
  CHECK(error_of([&] { load_bytes(std::string("\x80\x02\x8a\x0alegacy", 10)); }).find("legacy (pre-1.6") !=
        std::string::npos);
  CHECK(error_of([&] { load_bytes(serialize::zip_to_string({{"x.txt", "hello"}})); })
            .find("is not inside an archive folder") != std::string::npos);
  CHECK(error_of([&] { load_bytes(serialize::zip_to_string({{"a/constants.pkl", "x"}})); })
            .find("no 'a/data.pkl' entry") != std::string::npos);
  CHECK(error_of([&] {
          load_bytes(torch_zip(pkl("N"), {{"byteorder", "big"}}));
        }).find("only little-endian") != std::string::npos);
  // Corrupt tensor data: the CRC catches it.
  std::string corrupt = good;
  const size_t data_at = corrupt.find(std::string("\x00\x00\x80\x3f", 4));  // 1.0f
  REQUIRE(data_at != std::string::npos);
  corrupt[data_at + 3] ^= 0x01;
  CHECK(error_of([&] { load_bytes(corrupt); }).find("CRC-32 mismatch") != std::string::npos);
  // A local header offset pointing elsewhere.
  std::string moved = good;
  const size_t cd = moved.find("PK\x01\x02");
  REQUIRE(cd != std::string::npos);
  moved[cd + 42] = 0x10;
  CHECK(error_of([&] { load_bytes(moved); }).find("zip: 'mem.pt': entry 'archive/data.pkl'") !=
        std::string::npos);
}

TEST_CASE("load: deep nesting, self-reference and memo blow-up are bounded") {
  // [[[[...]]]] 100000 levels deep.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "]";
  for (int i = 0; i < 99999; ++i) deep += "a";
  CHECK(error_of([&] { load_bytes(torch_zip(pkl(deep))); }).find("nested deeper than 512 levels") !=
        std::string::npos);
  // A list that contains itself.
  CHECK(error_of([&] { load_bytes(torch_zip(pkl("]q\x00h\x00"s + "a"))); }).find("nested deeper") !=
        std::string::npos);
  // Each level holds the previous one twice: 2^40 nodes from a few hundred bytes.
  std::string bomb = "]q\x00"s;
  for (int i = 1; i <= 40; ++i) {
    bomb += "](h" + std::string(1, static_cast<char>(i - 1)) + "h" + std::string(1, static_cast<char>(i - 1)) +
            "eq" + std::string(1, static_cast<char>(i));
  }
  CHECK(error_of([&] { load_bytes(torch_zip(pkl(bomb))); }).find("too many objects") != std::string::npos);
}

TEST_CASE("load: 1,000 random byte flips are each rejected or give identical content") {
  std::mt19937 rng(1234);
  for (const bool ours : {true, false}) {
    const std::string good = ours ? save_to_string(sample_value())
                                  : read_file_bytes(kData + "torch1_model_state_dict.pt");
    const Value expected = load_bytes(good);
    int loaded = 0, rejected = 0;
    for (int i = 0; i < 1000; ++i) {
      std::string bad = good;
      const size_t at = std::uniform_int_distribution<size_t>(0, bad.size() - 1)(rng);
      bad[at] = static_cast<char>(bad[at] ^ std::uniform_int_distribution<int>(1, 255)(rng));
      try {
        const Value v = load_bytes(bad);
        const std::string diff = value_difference(expected, v);
        CHECK_MESSAGE(diff.empty(), "flip at byte ", at, " loaded different content: ", diff);
        ++loaded;
      } catch (const Error&) {
        ++rejected;
      }
    }
    MESSAGE(std::string(ours ? "fulgur file: " : "torch file: "), loaded, " loaded identically, ", rejected, " rejected");
    CHECK(rejected > 500);
  }
}
