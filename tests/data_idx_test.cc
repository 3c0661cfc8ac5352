// data::read_idx on IDX files of every element type written by tools/gen_data_files.py
// (plain, gzip, multi-member gzip) and on corrupted bytes: each rejected with an Error naming
// the file and the problem, before allocating what the header declares.
#include <fstream>

#include "fulgur/serialize/inflate.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::data;

namespace {

std::string file_string(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "missing test file " << path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Tensor parse(const std::string& bytes, const std::string& name = "x.idx") {
  return read_idx(*serialize::memory_source(name, std::vector<uint8_t>(bytes.begin(), bytes.end())));
}

std::string error_of(const std::string& bytes, const std::string& name = "x.idx") {
  try {
    parse(bytes, name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string header(uint8_t type, std::vector<uint32_t> dims) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (const uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xff);
  return h;
}

}  // namespace

TEST_CASE("read_idx: every element type, big-endian to native") {
  const Tensor u8 = read_idx("tests/data/idx/ubyte.idx");
  CHECK(u8.dtype() == kUInt8);
  CHECK(u8.sizes() == IntArrayRef({2, 3}));
  for (int i = 0; i < 6; ++i) CHECK(testing::get(u8, {i / 3, i % 3}) == 40 * i);

  const Tensor i8 = read_idx("tests/data/idx/byte.idx");
  CHECK(i8.dtype() == kInt8);
  CHECK(i8.to_vector<int64_t>() == std::vector<int64_t>{-128, -1, 0, 127});

  const Tensor i16 = read_idx("tests/data/idx/short.idx");
  CHECK(i16.dtype() == kInt16);
  CHECK(i16.sizes() == IntArrayRef({2, 2}));
  CHECK(i16.to_vector<int64_t>() == std::vector<int64_t>{-30000, -1, 2, 30000});

  const Tensor i32 = read_idx("tests/data/idx/int.idx");
  CHECK(i32.dtype() == kInt32);
  CHECK(i32.to_vector<int64_t>() == std::vector<int64_t>{INT32_MIN, 0, INT32_MAX});

  const Tensor f32 = read_idx("tests/data/idx/float.idx");
  CHECK(f32.dtype() == kFloat32);
  CHECK(f32.to_vector<float>() == std::vector<float>{1.5f, -0.25f});

  const Tensor f64 = read_idx("tests/data/idx/double.idx");
  CHECK(f64.dtype() == kFloat64);
  CHECK(f64.sizes() == IntArrayRef({2, 1}));
  CHECK(f64.to_vector<double>() == std::vector<double>{1.0 / 3.0, -1e300});
}

TEST_CASE("read_idx: gzip files, also multi-member, equal the plain ones") {
  CHECK(equal(read_idx("tests/data/idx/ubyte.idx.gz"), read_idx("tests/data/idx/ubyte.idx")));
  CHECK(equal(read_idx("tests/data/idx/double.idx.gz"), read_idx("tests/data/idx/double.idx")));
  const Tensor multi = read_idx("tests/data/idx/ubyte3d_multimember.idx.gz");
  CHECK(multi.sizes() == IntArrayRef({2, 2, 2}));
  CHECK(equal(multi, read_idx("tests/data/idx/ubyte3d.idx")));
  CHECK(multi.to_vector<int64_t>() == std::vector<int64_t>{200, 201, 202, 203, 204, 205, 206, 207});
  // Detected by content, not by name.
  CHECK(equal(parse(file_string("tests/data/idx/ubyte.idx.gz"), "no_suffix"), read_idx("tests/data/idx/ubyte.idx")));
  // Zero-size dims are fine.
  CHECK(parse(header(0x0D, {0, 5})).sizes() == IntArrayRef({0, 5}));
}

TEST_CASE("read_idx: bad plain files") {
  const std::string good = file_string("tests/data/idx/ubyte.idx");
  CHECK_THROWS_WITH_AS(read_idx("tests/data/idx/missing.idx"),
                       "idx: 'tests/data/idx/missing.idx': cannot open: No such file or directory", Error);
  CHECK(error_of("") == "idx: 'x.idx': truncated: 0 bytes is shorter than the 4-byte magic number");
  CHECK(error_of(std::string("\x01\x02\x08\x01", 4) + "abcd") ==
        "idx: 'x.idx': bad magic number 01 02 08 01 (an IDX file starts with 00 00 <type> <ndim>): not an IDX file");
  CHECK(error_of(header(0x07, {1}) + "a") ==
        "idx: 'x.idx': unknown element type 0x07 in the magic number (expected 0x08 ubyte, 0x09 byte, 0x0B "
        "short, 0x0C int, 0x0D float or 0x0E double)");
  CHECK(error_of(good.substr(0, 10)) ==
        "idx: 'x.idx': truncated: the header declares 2 dimensions (12 header bytes) but the file has 10 bytes");
  CHECK(error_of(good.substr(0, good.size() - 2)) ==
        "idx: 'x.idx': the header declares sizes [2, 3] of uint8 (6 bytes of data) but the file has 4 bytes "
        "after the header (truncated)");
  CHECK(error_of(good + "x") ==
        "idx: 'x.idx': the header declares sizes [2, 3] of uint8 (6 bytes of data) but the file has 7 bytes "
        "after the header (trailing data)");
  // 4 * 2^32-1 float64s: the product overflows; never allocated.
  CHECK(error_of(header(0x0E, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff})) ==
        "idx: 'x.idx': sizes [4294967295, 4294967295, 4294967295, 4294967295] overflow: the product of the "
        "sizes is too large (corrupt header)");
  // Found by fuzzing: a zero size makes the element count 0, but the strides of the other
  // sizes still overflow.
  CHECK(error_of(header(0x0C, {0, 0xffffffff, 0xffffffff, 0xffffffff})) ==
        "idx: 'x.idx': sizes [0, 4294967295, 4294967295, 4294967295] overflow: the product of the sizes is too "
        "large (corrupt header)");
  // A plausible but huge header on a tiny file: rejected by size, not by a failed allocation.
  CHECK(error_of(header(0x0E, {100000, 100000})) ==
        "idx: 'x.idx': the header declares sizes [100000, 100000] of float64 (80000000000 bytes of data) but "
        "the file has 0 bytes after the header (truncated)");
}

TEST_CASE("read_idx: bad gzip files") {
  const std::string gz = file_string("tests/data/idx/ubyte.idx.gz");
  const std::string plain = file_string("tests/data/idx/ubyte.idx");
  // Incomplete .gz (cut before the trailer): never accepted.
  for (size_t cut : {size_t{1}, size_t{4}, size_t{8}, gz.size() / 2}) {
    CAPTURE(cut);
    const std::string msg = error_of(gz.substr(0, gz.size() - cut), "x.gz");
    CHECK(msg.find("idx: 'x.gz': ") == 0);
    CHECK(msg.find("truncated") != std::string::npos);
  }
  // CRC trailer corrupted.
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0x55;
  CHECK(error_of(bad_crc, "x.gz").find("corrupt compressed data (zlib: incorrect data check)") != std::string::npos);
  // Garbage after the stream.
  CHECK(error_of(gz + "garbage", "x.gz").find("trailing garbage after the end of the gzip data (7 bytes)") !=
        std::string::npos);
  // Valid gzip, wrong IDX content.
  CHECK(error_of(serialize::gzip_compress(plain.substr(0, plain.size() - 1)), "x.gz") ==
        "idx: 'x.gz': the header declares sizes [2, 3] of uint8 (6 bytes of data) but the decompressed file has "
        "5 bytes after the header (truncated)");
  CHECK(error_of(serialize::gzip_compress(plain + "zz"), "x.gz") ==
        "idx: 'x.gz': the header declares sizes [2, 3] of uint8 (6 bytes of data) but the decompressed file has "
        "8 bytes after the header (trailing data)");
  // Sizes that no gzip file of this length can hold: rejected before allocating 80 GB.
  const std::string huge = serialize::gzip_compress(header(0x0E, {100000, 100000}));
  CHECK(error_of(huge, "x.gz").find("idx: 'x.gz': the header declares sizes [100000, 100000] of float64 "
                                    "(80000000000 bytes), more than a ") == 0);
  CHECK(error_of(serialize::gzip_compress(header(0x0E, {0xffffffff, 0xffffffff, 0xffffffff})), "x.gz")
            .find("overflow") != std::string::npos);
  CHECK(error_of(serialize::gzip_compress(std::string("\x05\x00\x08\x01", 4)), "x.gz")
            .find("bad magic number 05 00 08 01") != std::string::npos);
  CHECK(error_of(serialize::gzip_compress(header(0x08, {2, 3}).substr(0, 7)), "x.gz") ==
        "idx: 'x.gz': gzip stream: the data ends after 7 decompressed bytes, 5 more were expected");
}
