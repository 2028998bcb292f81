// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table-driven.
#include "mamba2/runtime/Container.h"

#include <array>

namespace mamba2::runtime {

static std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

uint32_t crc32Update(uint32_t crc, const uint8_t *data, size_t n) {
  static const std::array<uint32_t, 256> table = makeTable();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i)
    c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t crc32(const uint8_t *data, size_t n) { return crc32Update(0, data, n); }

} // namespace mamba2::runtime
