// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord framing uses
// (TensorBoard event files). Debian ships no crc32c library package (no libcrc32c-dev), and
// the loggers need a few hundred bytes per record, so a table-driven byte-at-a-time CRC is
// enough; tests/trainer_loggers_test.cc checks RFC 3720's vectors (B.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fulgur::lightning::loggers {

// The CRC of `n` bytes, continuing from `crc` (0 starts a new one).
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// TFRecord's masked CRC (tensorflow/core/lib/hash/crc32c.h: Mask): rotate right by 15 and
// add a constant, so that a CRC of data holding CRCs is not itself trivially predictable.
inline uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t unmask_crc32c(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace fulgur::lightning::loggers
