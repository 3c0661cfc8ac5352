// data::load_npy / load_npz on files written by NumPy (tools/gen_data_files.py; the values
// follow the formulas given there) and on corrupted bytes.
#include <cmath>
#include <fstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::data;

namespace {

std::string file_string(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "missing test file " << path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string npy_error(const std::string& bytes) {
  try {
    load_npy(*serialize::memory_source("x.npy", std::vector<uint8_t>(bytes.begin(), bytes.end())));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string npy_file_error(const std::string& path) {
  try {
    load_npy(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A version 1.0 file with this header dict and payload.
std::string npy(const std::string& dict, const std::string& payload) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + payload;
}

std::string path(const std::string& name) { return "tests/data/npy/" + name + ".npy"; }

}  // namespace

TEST_CASE("load_npy: every supported dtype") {
  const Tensor f4 = load_npy(path("f4"));
  CHECK(f4.dtype() == kFloat32);
  CHECK(f4.sizes() == IntArrayRef({2, 3}));
  for (int i = 0; i < 6; ++i) CHECK(testing::get(f4, {i / 3, i % 3}) == (i - 2.5) * 0.25);

  const Tensor f8 = load_npy(path("f8"));
  CHECK(f8.dtype() == kFloat64);
  CHECK(f8.sizes() == IntArrayRef({3, 4}));
  const auto f8v = f8.to_vector<double>();
  for (int i = 0; i < 12; ++i) CHECK(f8v[i] == i / 3.0);

  const Tensor f2 = load_npy(path("f2"));
  CHECK(f2.dtype() == kFloat16);
  CHECK(f2.to_vector<double>() == std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0});

  CHECK(load_npy(path("i1")).dtype() == kInt8);
  CHECK(load_npy(path("i1")).to_vector<int64_t>() == std::vector<int64_t>{-3, -2, -1, 0, 1, 2});
  CHECK(load_npy(path("i2")).dtype() == kInt16);
  CHECK(load_npy(path("i2")).to_vector<int64_t>() == std::vector<int64_t>{-2000, -1000, 0, 1000});
  CHECK(load_npy(path("i4")).dtype() == kInt32);
  CHECK(load_npy(path("i4")).to_vector<int64_t>()[0] == -500000);
  CHECK(load_npy(path("i4")).to_vector<int64_t>()[9] == 400000);
  const Tensor i8 = load_npy(path("i8"));
  CHECK(i8.dtype() == kInt64);
  for (int i = 0; i < 4; ++i) CHECK(i8.to_vector<int64_t>()[i] == i * (int64_t{1} << 40) - 7);
  CHECK(load_npy(path("u1")).dtype() == kUInt8);
  CHECK(load_npy(path("u1")).to_vector<int64_t>() == std::vector<int64_t>{0, 50, 100, 150, 200, 250});
  const Tensor b1 = load_npy(path("b1"));
  CHECK(b1.dtype() == kBool);
  CHECK(b1.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1, 1});

  const Tensor s = load_npy(path("scalar_f8"));
  CHECK(s.dim() == 0);
  CHECK(s.item<double>() == 3.5);
  const Tensor e = load_npy(path("empty_f4"));
  CHECK(e.sizes() == IntArrayRef({0, 3}));
}

TEST_CASE("load_npy: fortran_order gives the same values, row-major") {
  const Tensor f = load_npy(path("fortran_f4"));
  CHECK(f.sizes() == IntArrayRef({2, 3, 4}));
  CHECK(f.is_contiguous());
  const auto v = f.to_vector<float>();
  for (int i = 0; i < 24; ++i) CHECK(v[i] == static_cast<float>(i));
  const Tensor g = load_npy(path("fortran_i8"));
  CHECK(g.sizes() == IntArrayRef({2, 3}));
  CHECK(g.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("load_npy: format versions 2.0 and 3.0") {
  const Tensor v1 = load_npy(path("f4"));
  CHECK(equal(load_npy(path("v2_f4")), v1));
  CHECK(equal(load_npy(path("v3_f4")), v1));
}

TEST_CASE("load_npy: unsupported dtypes are rejected with the reason") {
  CHECK(npy_file_error(path("bad_big_endian")) ==
        "npy: 'tests/data/npy/bad_big_endian.npy': dtype '>f4' is not supported: big-endian data (convert "
        "with .astype('<f4') before saving)");
  CHECK(npy_file_error(path("bad_object")) ==
        "npy: 'tests/data/npy/bad_object.npy': dtype '|O' is not supported: object arrays hold pickled Python "
        "objects (save numeric arrays only)");
  CHECK(npy_file_error(path("bad_u2")) ==
        "npy: 'tests/data/npy/bad_u2.npy': dtype '<u2' is not supported: unsigned 16/32/64-bit integers have no "
        "Fulgur dtype (save with .astype(np.int64))");
  CHECK(npy_file_error(path("bad_complex")) ==
        "npy: 'tests/data/npy/bad_complex.npy': dtype '<c8' is not supported: complex numbers are not supported");
  CHECK(npy_file_error(path("bad_structured")).find(
            "'descr' is a list: structured (record) dtypes are not supported") != std::string::npos);
}

TEST_CASE("load_npy: corrupt files") {
  const std::string good = file_string(path("f4"));
  CHECK(npy_error("") == "npy: 'x.npy': truncated: 0 bytes is shorter than the .npy preamble (10 bytes)");
  CHECK(npy_error("\x93NUMPX" + good.substr(6)) ==
        "npy: 'x.npy': bad magic string (a .npy file starts with \\x93NUMPY): not a .npy file");
  CHECK(npy_error(good.substr(0, 6) + std::string("\x04\x00", 2) + good.substr(8)) ==
        "npy: 'x.npy': unsupported format version 4.0 (supported: 1.0, 2.0, 3.0)");
  CHECK(npy_error(good.substr(0, 8) + "\xff\xff" + good.substr(10)) ==
        "npy: 'x.npy': truncated: the header length field says 65535 bytes but only " +
            std::to_string(good.size() - 10) + " follow");
  CHECK(npy_error(good.substr(0, good.size() - 3)) ==
        "npy: 'x.npy': shape [2, 3] of float32 needs 24 bytes of data but the file has 21 (truncated)");
  CHECK(npy_error(good + "x") ==
        "npy: 'x.npy': shape [2, 3] of float32 needs 24 bytes of data but the file has 25 (trailing data)");
  // Sizes whose product overflows, and a plausible huge shape: no allocation.
  CHECK(npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", "")) ==
        "npy: 'x.npy': shape [4294967296, 4294967296, 4294967296] overflows: the element count is too large "
        "(corrupt header)");
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", "")) ==
        "npy: 'x.npy': shape [0, 4294967296, 4294967296] overflows: the element count is too large (corrupt header)");
  CHECK(npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", "")) ==
        "npy: 'x.npy': shape [100000, 100000] of float64 needs 80000000000 bytes of data but the file has 0 "
        "(truncated)");
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""))
            .find("integer too large in the shape tuple") != std::string::npos);
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""))
            .find("expected a non-negative integer in the shape tuple") != std::string::npos);
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }", ""))
            .find("unsupported value for 'extra'") != std::string::npos);
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 'y', }", "")) ==
        "npy: 'x.npy': unexpected key 'x' in the header (expected descr, fortran_order, shape)");
  CHECK(npy_error(npy("{'descr': '<f4', 'shape': (2, 3), }", "")) ==
        "npy: 'x.npy': the header lacks one of the keys descr, fortran_order, shape");
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", "12345678"))
            .find("unsupported value for 'fortran_order'") != std::string::npos);
  CHECK(npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", "")).find(
            "npy: 'x.npy': cannot parse the header") == 0);
  CHECK(npy_error(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", std::string("\x01\x07", 2))) ==
        "npy: 'x.npy': bool array holds byte 7 at element 1 (expected 0 or 1)");
  // Python 2 files wrote shape longs with an L suffix.
  CHECK(load_npy(*serialize::memory_source(
                     "py2.npy", [] {
                       const std::string s = npy("{'descr': '<i2', 'fortran_order': False, 'shape': (2L,), }",
                                                 std::string("\x01\x00\x02\x00", 4));
                       return std::vector<uint8_t>(s.begin(), s.end());
                     }()))
            .to_vector<int64_t>() == std::vector<int64_t>{1, 2});
}

TEST_CASE("load_npz: savez and savez_compressed") {
  for (const char* file : {"tests/data/npz/savez.npz", "tests/data/npz/savez_compressed.npz"}) {
    CAPTURE(file);
    const NpzArrays z = load_npz(file);
    CHECK(z.names()[0] == "a");
    CHECK(z.names()[1] == "b");
    CHECK(equal(z.at("a"), load_npy(path("f4"))));
    CHECK(z.at("b").dtype() == kInt64);
    CHECK(z.at("b").to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
    CHECK(z.contains("a"));
    CHECK_FALSE(z.contains("c"));
  }
  const NpzArrays c = load_npz("tests/data/npz/savez_compressed.npz");
  REQUIRE(c.size() == 3);
  CHECK(c.at("zeros").sizes() == IntArrayRef({1000}));
  CHECK(c.at("zeros").abs().sum().item<double>() == 0.0);
  CHECK_THROWS_WITH_AS(c.at("w"), "npz: no array named 'w'; the file has 'a', 'b', 'zeros'", Error);
}

TEST_CASE("load_npz: bad archives and members") {
  CHECK_THROWS_WITH_AS(load_npz("tests/data/npz/zip64.zip"),
                       "npz: 'tests/data/npz/zip64.zip': entry 'hello.txt' is not a .npy array (an .npz file holds "
                       "<name>.npy entries)",
                       Error);
  std::string s = file_string("tests/data/npz/savez.npz");
  // Corrupt the first member's shape inside the archive (and its CRC then fails first).
  const size_t at = s.find("(2, 3)");
  REQUIRE(at != std::string::npos);
  s[at + 1] = '9';
  try {
    load_npz(serialize::memory_source("m.npz", std::vector<uint8_t>(s.begin(), s.end())));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("zip: 'm.npz': entry 'a.npy': CRC-32 mismatch") == 0);
  }
  CHECK_THROWS_WITH_AS(load_npz("tests/data/npz/none.npz"),
                       "npz: 'tests/data/npz/none.npz': cannot open: No such file or directory", Error);
}

TEST_CASE("load_npz: a rejected member names the archive and the member") {
  CHECK_THROWS_WITH_AS(load_npz("tests/data/npz/bad_member.npz"),
                       "npy: 'tests/data/npz/bad_member.npz/a.npy': dtype '>f4' is not supported: big-endian data "
                       "(convert with .astype('<f4') before saving)",
                       Error);
}
