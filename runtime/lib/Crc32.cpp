// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) through zlib's crc32_z, which computes
// the same function several bytes at a time (a 2 GB program's check sum in about a second).
#include "mamba2/runtime/Container.h"

#include <zlib.h>

namespace mamba2::runtime {

uint32_t crc32Update(uint32_t crc, const uint8_t *data, size_t n) {
  return static_cast<uint32_t>(::crc32_z(crc, data, n));
}

uint32_t crc32(const uint8_t *data, size_t n) { return crc32Update(0, data, n); }

} // namespace mamba2::runtime
