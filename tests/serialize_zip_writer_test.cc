// ZipWriter: stored entries aligned to 64 bytes, CRC-32, zip64 records; read back through
// serialize::ZipReader (which verifies the CRCs).
#include "fulgur/serialize/zip_reader.h"
#include "fulgur/serialize/zip_writer.h"
#include "serialize_test_util.h"

using namespace fulgur;
using namespace fulgur::serialize;

namespace {

std::vector<std::pair<std::string, std::string>> sample_entries() {
  std::vector<std::pair<std::string, std::string>> e;
  e.emplace_back("archive/data.pkl", "\x80\x02N.");
  e.emplace_back("archive/empty", "");
  for (int i = 0; i < 20; ++i) e.emplace_back("archive/data/" + std::to_string(i), std::string(i * 37 + 1, static_cast<char>('a' + i)));
  e.emplace_back("archive/version", "3\n");
  return e;
}

void check_reads_back(const std::string& zip, const std::vector<std::pair<std::string, std::string>>& entries) {
  const ZipReader r(memory_source("t.zip", std::vector<uint8_t>(zip.begin(), zip.end())));
  REQUIRE(r.entries().size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipEntry& e = r.entries()[i];
    CHECK(e.name == entries[i].first);
    CHECK(e.method == 0);
    CHECK(r.data_offset(e) % 64 == 0);
    const std::vector<uint8_t> data = r.read(e);
    CHECK(std::string(data.begin(), data.end()) == entries[i].second);
  }
}

}  // namespace

TEST_CASE("ZipWriter: stored, 64-byte aligned entries that read back with their CRCs") {
  const auto entries = sample_entries();
  const std::string zip = zip_to_string(entries);
  check_reads_back(zip, entries);
  // The alignment padding is PyTorch's: an extra field "FB" filled with 'Z'.
  CHECK(zip.find("archive/data.pklFB") != std::string::npos);
  // No zip64 records for a small archive.
  CHECK(zip.find("PK\x06\x06") == std::string::npos);
}

TEST_CASE("ZipWriter: zip64 records (forced) read back") {
  const auto entries = sample_entries();
  const std::string zip = zip_to_string(entries, {.force_zip64 = true});
  CHECK(zip.find("PK\x06\x06") != std::string::npos);
  CHECK(zip.find("PK\x06\x07") != std::string::npos);
  check_reads_back(zip, entries);
  // Other alignments.
  const std::string z4096 = zip_to_string(entries, {.alignment = 4096});
  const ZipReader r(memory_source("t.zip", std::vector<uint8_t>(z4096.begin(), z4096.end())));
  for (const ZipEntry& e : r.entries()) CHECK(r.data_offset(e) % 4096 == 0);
}

TEST_CASE("ZipWriter: errors") {
  std::string out;
  ZipWriter w([&](const void* d, size_t n) { out.append(static_cast<const char*>(d), n); });
  w.add("a", "1");
  CHECK_THROWS_WITH_AS(w.add("a", "2"), "ZipWriter: duplicate entry 'a'", Error);
  CHECK_THROWS_WITH_AS(w.add("", "2"), "ZipWriter: entry name length 0 is not in [1, 65535]", Error);
  w.finish();
  CHECK_THROWS_WITH_AS(w.add("b", "2"), "ZipWriter: add('b') after finish()", Error);
  CHECK_THROWS_AS(ZipWriter([](const void*, size_t) {}, {.alignment = 48}), Error);
}
