// safetensors: round trips of every dtype, a file written by Python from the format's
// specification (json + numpy, tools/gen_serialize_files.py), and the format's rules on
// hostile headers.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 (std::string concatenation)

#include <random>

#include "fulgur/serialize/safetensors.h"
#include "serialize_test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
using serialize::load_safetensors_from;
using serialize::memory_source;
using serialize::safetensors_to_string;

namespace {

SafetensorsFile load_bytes(const std::string& bytes) {
  return load_safetensors_from(memory_source("m.safetensors", std::vector<uint8_t>(bytes.begin(), bytes.end())));
}

// A file with the given JSON header (padded) and data section.
std::string file_with(const std::string& json, const std::string& data) {
  std::string out;
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + json + data;
}

std::string error_of(const std::string& bytes) {
  try {
    load_bytes(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Tensor ar(int64_t n, DType dtype, double scale, double offset) {
  Tensor t = make_tensor({n}, dtype, kCPU);
  for (int64_t i = 0; i < n; ++i) set(t, {i}, dtype == kBool ? static_cast<double>(i % 2) : i * scale + offset);
  return t;
}

}  // namespace

TEST_CASE("safetensors: every dtype, views, empty and 0-dim tensors round-trip with metadata") {
  NamedTensors in;
  for (DType dt : all_dtypes()) in.emplace_back(std::string(dtype_name(dt)), ar(6, dt, 1.5, -2).view({3, 2}));
  in.emplace_back("transposed", ar(6, kFloat32, 1, 0).view({2, 3}).t());
  in.emplace_back("empty", zeros({0, 4}));
  in.emplace_back("scalar", full({}, 2.5, {.dtype = kFloat64}));
  const SafetensorsMetadata meta = {{"format", "pt"}, {"q\"uote\n", "\xe2\x98\x83"}};
  const std::string path = tmp_path("t.safetensors");
  save_safetensors(in, path, meta);
  const SafetensorsFile out = load_safetensors(path);
  CHECK(read_file_bytes(path) == safetensors_to_string(in, meta));
  REQUIRE(out.tensors.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CAPTURE(in[i].first);
    CHECK(out.tensors[i].first == in[i].first);
    const Tensor& a = in[i].second;
    const Tensor& b = out.tensors[i].second;
    CHECK(a.dtype() == b.dtype());
    CHECK(a.sizes() == b.sizes());
    CHECK(b.is_contiguous());
    CHECK(element_bytes(a) == element_bytes(b));
  }
  CHECK(out.metadata == meta);
  // The header is padded to 8 bytes so the data is aligned.
  const std::string bytes = read_file_bytes(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
}

TEST_CASE("safetensors: a file written by Python with json + numpy") {
  const SafetensorsFile f = load_safetensors("tests/data/serialize/numpy_written.safetensors");
  std::map<std::string, Tensor> t(f.tensors.begin(), f.tensors.end());
  REQUIRE(t.size() == 6);
  CHECK(t["w"].sizes() == IntArrayRef{2, 3});
  CHECK(values(t["w"]) == values(ar(6, kFloat32, 0.5, 0)));
  CHECK(t["ids"].dtype() == kInt64);
  CHECK(values(t["ids"]) == std::vector<double>{-1, 0, 1, 2});
  CHECK(t["h"].dtype() == kBFloat16);
  CHECK(values(t["h"]) == std::vector<double>{0, 0.25, 0.5});
  CHECK(t["mask"].dtype() == kBool);
  CHECK(values(t["mask"]) == std::vector<double>{0, 1, 0});
  CHECK(t["empty"].sizes() == IntArrayRef{0, 2});
  CHECK(t["s"].dim() == 0);
  CHECK(t["s"].item<double>() == 2.5);
  CHECK(f.metadata == SafetensorsMetadata{{"format", "pt"}, {"note", "written with json+numpy"}});
}

TEST_CASE("safetensors: the format's rules") {
  const std::string f8(8, '\0');
  const auto e = [](const std::string& json, const std::string& data) { return error_of(file_with(json, data)); };
  CHECK(load_bytes(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f8)).tensors.size() == 1);
  CHECK(error_of("1234") == "load_safetensors: 'm.safetensors': 4 bytes is too short for a safetensors file "
                            "(8-byte header length)");
  CHECK(error_of(std::string("\x00\xe1\xf5\x05\x00\x00\x00\x00", 8) + "{}") ==
        "load_safetensors: 'm.safetensors': header length 100000000 runs past the end of the 10-byte file "
        "(truncated?)");
  CHECK(error_of(std::string("\x01\xe1\xf5\x05\x00\x00\x00\x00", 8)).find("exceeds the format's limit of "
                                                                          "100000000 bytes") != std::string::npos);
  CHECK(e("[]", "").find("the header is not a JSON object") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}})", f8).find("duplicate key 'a'") !=
        std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", f8)
            .find("has an unknown field 'x'") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", f8)
            .find("dtype 'F8_E4M3' is not supported") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
          std::string(6, '\0'))
            .find("starts at data offset 2 but the previous tensor ends at 4 (overlap)") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f8)
            .find("starts at data offset 4 but the previous tensor ends at 0 (gap)") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f8)
            .find("the tensors cover 4 bytes of a 8-byte data section (trailing bytes)") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f8)
            .find("hold 8 bytes, but F32 shape [3] needs 12") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,16]}})", f8)
            .find("are not inside the 8-byte data section") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", f8)
            .find("element count overflows") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}})", f8)
            .find("integer overflows 64 bits") != std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", f8).find("negative numbers") !=
        std::string::npos);
  CHECK(e(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", f8).find("expected '}'") != std::string::npos);
  CHECK(e("{\"\xff\":1}", "").find("header is not valid UTF-8") != std::string::npos);
  CHECK(e(R"({"__metadata__":{"k":1}})", "").find("__metadata__ value of 'k' is not a string") !=
        std::string::npos);
  CHECK_THROWS_WITH_AS(safetensors_to_string({{"a", zeros({1})}, {"a", zeros({1})}}),
                       "save_safetensors: duplicate tensor name 'a'", Error);
  CHECK_THROWS_WITH_AS(safetensors_to_string({{"__metadata__", zeros({1})}}),
                       "save_safetensors: invalid tensor name '__metadata__'", Error);
}

TEST_CASE("safetensors: random byte flips are loaded or rejected, never a crash") {
  NamedTensors in = {{"w", ar(64, kFloat32, 0.5, 0)}, {"ids", ar(8, kInt64, 1, 0)}, {"b", ar(4, kBFloat16, 1, 0)}};
  const std::string good = safetensors_to_string(in, {{"k", "v"}});
  std::mt19937 rng(99);
  int rejected = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string bad = good;
    const size_t at = std::uniform_int_distribution<size_t>(0, bad.size() - 1)(rng);
    bad[at] = static_cast<char>(bad[at] ^ std::uniform_int_distribution<int>(1, 255)(rng));
    try {
      load_bytes(bad);
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}
