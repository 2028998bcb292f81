// The stripe layout of the DRAM regions over the overlay's m_axi ports (the board file's
// [ports]), in one place for the HLS DMA engines (hw/units/Dma.h), the cycle model, the XRT
// backend and the testbenches; the container records it (`dram_ports`, `stripe_bytes`) and the
// loader checks it.
//
// A region is cut into stripes of `stripe` bytes; stripe s of every region is on port s % ports
// at port-local byte `regionBase + (s / ports) * stripe`. Each port's memory (one buffer per
// port, on U280 one HBM pseudo-channel) holds every region's share back to back: region g starts
// at the same port-local byte `base[g]` on every port (a multiple of the stripe). The first part
// of this header is HLS-safe (no allocation); the image helpers below it are for host code.
#pragma once
#include <cstdint>

namespace mamba2::target {

/// The port of byte `offset` of a region.
constexpr unsigned stripePort(uint64_t offset, unsigned ports, unsigned stripe) {
  return unsigned((offset / stripe) % ports);
}
/// The port-local byte of byte `offset` of a region whose share starts at `base`.
constexpr uint64_t stripeLocal(uint64_t offset, uint64_t base, unsigned ports, unsigned stripe) {
  return base + (offset / stripe / ports) * stripe + offset % stripe;
}
/// Bytes one port holds of a region of `bytes` bytes: whole stripes, as many as the port with
/// the most has.
constexpr uint64_t stripeShareBytes(uint64_t bytes, unsigned ports, unsigned stripe) {
  return ((bytes + stripe - 1) / stripe + ports - 1) / ports * stripe;
}

} // namespace mamba2::target

#ifndef __SYNTHESIS__
#include <array>
#include <vector>

namespace mamba2::target {

/// Where the regions lie in the port memories: `base[g]` (port-local, the same on every port)
/// and the bytes each port's memory needs.
struct StripeMap {
  unsigned ports = 1, stripe = 1;
  std::array<uint64_t, 4> base{};
  uint64_t portBytes = 0;
};
inline StripeMap stripeMap(unsigned ports, unsigned stripe,
                           const std::array<uint64_t, 4> &regionBytes) {
  StripeMap m;
  m.ports = ports;
  m.stripe = stripe;
  for (unsigned g = 0; g < 4; ++g) {
    m.base[g] = m.portBytes;
    m.portBytes += stripeShareBytes(regionBytes[g], ports, stripe);
  }
  if (m.portBytes == 0)
    m.portBytes = stripe;
  return m;
}
/// Copies `n` bytes at `offset` of region `g` into / out of the port images (`ports` buffers of
/// m.portBytes each), stripe piece by stripe piece.
inline void stripeScatter(const StripeMap &m, unsigned g, uint64_t offset, const uint8_t *src,
                          uint64_t n, std::vector<std::vector<uint8_t>> &ports) {
  for (uint64_t i = 0; i < n;) {
    const uint64_t o = offset + i, piece = std::min<uint64_t>(m.stripe - o % m.stripe, n - i);
    uint8_t *dst = ports[stripePort(o, m.ports, m.stripe)].data() +
                   stripeLocal(o, m.base[g], m.ports, m.stripe);
    for (uint64_t j = 0; j < piece; ++j)
      dst[j] = src[i + j];
    i += piece;
  }
}
inline void stripeGather(const StripeMap &m, unsigned g, uint64_t offset, uint8_t *dst, uint64_t n,
                         const std::vector<std::vector<uint8_t>> &ports) {
  for (uint64_t i = 0; i < n;) {
    const uint64_t o = offset + i, piece = std::min<uint64_t>(m.stripe - o % m.stripe, n - i);
    const uint8_t *src = ports[stripePort(o, m.ports, m.stripe)].data() +
                         stripeLocal(o, m.base[g], m.ports, m.stripe);
    for (uint64_t j = 0; j < piece; ++j)
      dst[i + j] = src[j];
    i += piece;
  }
}

} // namespace mamba2::target
#endif
