// serialize::ZipReader on archives written by NumPy, Python's zipfile (a hand-made zip64
// archive that zipfile reads) and torch.save (tools/gen_data_files.py), and on corrupted
// copies: every bad archive is an Error naming the file and the problem.
#include <cstring>
#include <fstream>
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::serialize;

namespace {

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "missing test file " << path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

size_t rfind(const std::vector<uint8_t>& b, const char* sig) {
  for (size_t i = b.size() - 4 + 1; i-- > 0;)
    if (std::memcmp(b.data() + i, sig, 4) == 0) return i;
  FAIL("signature not found");
  return 0;
}
size_t find(const std::vector<uint8_t>& b, const char* sig) {
  for (size_t i = 0; i + 4 <= b.size(); ++i)
    if (std::memcmp(b.data() + i, sig, 4) == 0) return i;
  FAIL("signature not found");
  return 0;
}
void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = v & 0xff;
  b[at + 1] = v >> 8;
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = (v >> (8 * i)) & 0xff;
}

// The Error message of reading every entry of the archive (or of opening it).
std::string error_of(std::vector<uint8_t> bytes, const std::string& name = "bad.zip") {
  try {
    ZipReader z(memory_source(name, std::move(bytes)));
    for (const auto& e : z.entries()) z.read(e);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

}  // namespace

TEST_CASE("ZipReader: numpy.savez (stored) and savez_compressed (deflate)") {
  ZipReader z("tests/data/npz/savez.npz");
  CHECK(z.name() == "tests/data/npz/savez.npz");
  REQUIRE(z.entries().size() == 2);
  CHECK(z.entries()[0].name == "a.npy");
  CHECK(z.entries()[1].name == "b.npy");
  CHECK(z.entries()[0].method == 0);
  const auto a = z.read(z.at("a.npy"));
  CHECK(a.size() == z.at("a.npy").uncompressed_size);
  CHECK(as_string(a).substr(0, 6) == "\x93NUMPY");
  CHECK(z.find("c.npy") == nullptr);

  ZipReader c("tests/data/npz/savez_compressed.npz");
  REQUIRE(c.entries().size() == 3);
  CHECK(c.entries()[2].name == "zeros.npy");
  CHECK(c.entries()[2].method == 8);
  CHECK(c.entries()[2].compressed_size < c.entries()[2].uncompressed_size);
  const auto zeros = c.read(c.at("zeros.npy"));
  REQUIRE(zeros.size() == 128 + 4000);  // 128-byte v1 header, 1000 float32 zeros
  CHECK(std::all_of(zeros.begin() + 128, zeros.end(), [](uint8_t b) { return b == 0; }));
  // The same array stored and deflated reads the same.
  CHECK(c.read(c.at("a.npy")) == a);
}

TEST_CASE("ZipReader: zip64 end records and extra fields") {
  ZipReader z("tests/data/npz/zip64.zip");
  REQUIRE(z.entries().size() == 2);
  CHECK(z.entries()[0].name == "hello.txt");
  CHECK(z.entries()[0].uncompressed_size == 12);
  CHECK(as_string(z.read(z.entries()[0])) == "hello zip64\n");
  std::string fulgur40;
  for (int i = 0; i < 40; ++i) fulgur40 += "fulgur ";
  CHECK(z.entries()[1].method == 8);
  CHECK(as_string(z.read(z.at("deflated.txt"))) == fulgur40);
  // read_into checks the destination size.
  std::vector<uint8_t> small(3);
  CHECK_THROWS_WITH_AS(z.read_into(z.entries()[0], small.data(), small.size()),
                       "zip: 'tests/data/npz/zip64.zip': entry 'hello.txt': destination holds 3 bytes, the entry 12",
                       Error);
}

TEST_CASE("ZipReader: a torch.save file") {
  ZipReader z("tests/data/npz/torch_save.pt");
  std::istringstream names(as_string(file_bytes("tests/data/npz/torch_save.names.txt")));
  std::vector<std::string> expected;
  for (std::string line; std::getline(names, line);) expected.push_back(line);
  REQUIRE(z.entries().size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(z.entries()[i].name == expected[i]);
  // The tensor's storage: float32 0..5, little-endian, stored uncompressed.
  const auto& e = z.at("archive/data/0");
  CHECK(e.method == 0);
  const auto bytes = z.read(e);
  REQUIRE(bytes.size() == 24);
  float v[6];
  std::memcpy(v, bytes.data(), 24);
  for (int i = 0; i < 6; ++i) CHECK(v[i] == static_cast<float>(i));
  // torch.save aligns storage data to 64 bytes.
  CHECK(z.data_offset(e) % 64 == 0);
}

TEST_CASE("ZipReader: missing entries and files") {
  ZipReader z("tests/data/npz/savez.npz");
  CHECK_THROWS_WITH_AS(z.at("x.npy"),
                       "zip: 'tests/data/npz/savez.npz': no entry named 'x.npy'; the archive has 2 entries: 'a.npy', 'b.npy'",
                       Error);
  CHECK_THROWS_WITH_AS(ZipReader("tests/data/npz/nope.npz"),
                       "zip: 'tests/data/npz/nope.npz': cannot open: No such file or directory", Error);
  CHECK_THROWS_WITH_AS(ZipReader("tests/data/npz"), "zip: 'tests/data/npz': cannot open: is a directory", Error);
}

TEST_CASE("ZipReader: corrupt archives are rejected before any large allocation") {
  const auto good = file_bytes("tests/data/npz/savez.npz");
  const size_t eocd = rfind(good, "PK\x05\x06");
  const size_t cd = find(good, "PK\x01\x02");

  CHECK(error_of({}) == "zip: 'bad.zip': not a zip file: 0 bytes is shorter than an end-of-central-directory record (22 bytes)");
  CHECK(error_of(std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2)) ==
        "zip: 'bad.zip': not a zip file: no end-of-central-directory record (truncated, or not a zip archive)");
  {  // cut inside the central directory: the end record points past the file
    std::vector<uint8_t> b(good.begin(), good.begin() + cd + 10);
    b.insert(b.end(), good.begin() + eocd, good.end());
    CHECK(error_of(b).find("does not fit before the end record") != std::string::npos);
  }
  {  // entry count far beyond what the central directory can hold
    auto b = good;
    put16(b, eocd + 8, 0xffff);
    put16(b, eocd + 10, 0xffff);
    CHECK(error_of(b) == "zip: 'bad.zip': the end record declares 65535 entries, but a " +
                             std::to_string(eocd - cd) + "-byte central directory holds at most " +
                             std::to_string((eocd - cd) / 46));
  }
  {  // central directory offset past the end
    auto b = good;
    put32(b, eocd + 16, 0x7fffffff);
    CHECK(error_of(b).find("zip: 'bad.zip': central directory (offset 2147483647") == 0);
  }
  {  // a huge uncompressed size in a stored entry
    auto b = good;
    put32(b, cd + 24, 0xfffffff0);
    CHECK(error_of(b) ==
          "zip: 'bad.zip': entry 'a.npy': stored (uncompressed) but its sizes differ: 152 vs 4294967280");
  }
  {  // compressed size running into the central directory
    auto b = good;
    put32(b, cd + 20, 0x00ffffff);
    put32(b, cd + 24, 0x00ffffff);
    CHECK(error_of(b) ==
          "zip: 'bad.zip': entry 'a.npy': compressed size 16777215 runs past the start of the central directory");
  }
  {  // unsupported method, encryption
    auto b = good;
    put16(b, cd + 10, 12);
    CHECK(error_of(b) ==
          "zip: 'bad.zip': entry 'a.npy': compression method 12 is not supported (only 0 = stored and 8 = deflate)");
    b = good;
    put16(b, cd + 8, 1);
    CHECK(error_of(b) == "zip: 'bad.zip': entry 'a.npy': is encrypted (not supported)");
  }
  {  // broken local header
    auto b = good;
    b[0] = 'X';
    CHECK(error_of(b) == "zip: 'bad.zip': entry 'a.npy': no local header at offset 0 (bad signature 0x04034b58)");
  }
  {  // flipped data byte: CRC
    auto b = good;
    b[80] ^= 0xff;
    const std::string msg = error_of(b);
    CHECK(msg.find("zip: 'bad.zip': entry 'a.npy': CRC-32 mismatch: the archive says 0x") == 0);
    CHECK(msg.find("(corrupt data)") != std::string::npos);
  }
  {  // duplicate names
    auto b = good;
    const size_t cd2 = find(std::vector<uint8_t>(good.begin() + cd + 4, good.end()), "PK\x01\x02") + cd + 4;
    b[cd2 + 46] = 'a';  // "b.npy" -> "a.npy"
    CHECK(error_of(b) == "zip: 'bad.zip': entry 'a.npy': appears twice in the archive");
  }
}

TEST_CASE("ZipReader: corrupt deflate data") {
  const auto good = file_bytes("tests/data/npz/savez_compressed.npz");
  const size_t cd = find(good, "PK\x01\x02");
  {  // declared uncompressed size beyond the deflate ratio
    auto b = good;
    put32(b, cd + 24, 0xfffffff0);
    CHECK(error_of(b).find("zip: 'bad.zip': entry 'a.npy': declares 4294967280 bytes uncompressed, more than ") == 0);
  }
  {  // garbage inside the first deflate stream
    auto b = good;
    const size_t data = 30 + 5;  // local header + "a.npy"
    REQUIRE(b.size() > data + 40);
    std::string garbage(40, '\xff');
    b.erase(b.begin() + data, b.begin() + data + 40);
    b.insert(b.begin() + data, garbage.begin(), garbage.end());
    const std::string msg = error_of(b);
    CHECK(msg.find("zip: 'bad.zip': entry 'a.npy': ") == 0);
    CHECK(msg.find("corrupt compressed data (zlib: ") != std::string::npos);
  }
}
