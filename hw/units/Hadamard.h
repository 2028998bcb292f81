// Hadamard unit: in-place y = (H_h (x) H_2^k) x over int32 [h * 2^k] in the scratchpad,
// h in {1, 12, 40}. The order-h part is a ROM of sign bits built at compile time.
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

/// Sign rows of H_12 (Paley I, q = 11) and H_40 (H_2 (x) Paley I with q = 19): bit j of row i
/// set means -1.
struct HadamardRom {
  u64 row[40];
};
constexpr int legendre(unsigned a, unsigned q) {
  if (a % q == 0)
    return 0;
  for (unsigned x = 1; x < q; ++x)
    if ((x * x) % q == a % q)
      return 1;
  return -1;
}
constexpr int paley_entry(unsigned q, unsigned i, unsigned j) {
  if (i == 0)
    return 1;
  if (j == 0)
    return -1;
  return i == j ? 1 : legendre(j + q - i, q);
}
constexpr HadamardRom make_rom(unsigned h) {
  HadamardRom r{};
  for (unsigned i = 0; i < h; ++i) {
    u64 bits = 0;
    for (unsigned j = 0; j < h; ++j) {
      int s = h == 12 ? paley_entry(11, i, j)
                      : paley_entry(19, i % 20, j % 20) * ((i >= 20 && j >= 20) ? -1 : 1);
      if (s < 0)
        bits |= u64(1) << j;
    }
    r.row[i] = bits;
  }
  return r;
}
constexpr HadamardRom kRom12 = make_rom(12);
constexpr HadamardRom kRom40 = make_rom(40);

/// Odd factor h of n in {1, 12, 40} with n / h a power of two; 0 when n is not a valid size.
inline unsigned fwht_factor(unsigned n) {
  if (n == 0)
    return 0;
  unsigned h = (n % 40 == 0) ? 40 : (n % 12 == 0) ? 12 : 1;
  unsigned p = n / h;
  return (p & (p - 1)) == 0 ? h : 0;
}

/// Returns the cycles of its loops: per block and butterfly stage ceil(p/2 / LANES) cycles of
/// LANES pairs (the pairs of a stage are disjoint), then per column of the order-h product one
/// cycle reading its h words and ceil(h / LANES) cycles of LANES outputs (fwht_loop_cycles,
/// which the cycle model charges).
template <unsigned LANES> inline u64 hadamard_unit(byte_t *spad, u64 base, unsigned n) {
  unsigned h = fwht_factor(n);
  u64 busy = 0;
  if (h == 0)
    return 0; // rejected before issue
  unsigned p = n / h;
blocks:
  for (unsigned a = 0; a < 40; ++a) {
    if (a >= h)
      break;
    u64 blk = base + u64(a) * p * 4;
  stages:
    for (unsigned half = 1; half < kMaxFwht; half <<= 1) {
#pragma HLS LOOP_TRIPCOUNT min = 0 max = 10
      if (half >= p)
        break;
    pairs:
      for (unsigned t = 0; t < kMaxFwht / 2; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = LANES
#pragma HLS DEPENDENCE variable = spad inter false
        if (t >= p / 2)
          break;
        if (t % LANES == 0)
          ++busy;
        unsigned i = (t / half) * 2 * half + (t % half); // t-th pair of this stage
        i32 u = ld32(spad, blk + u64(i) * 4), v = ld32(spad, blk + u64(i + half) * 4);
        st32(spad, blk + u64(i) * 4, add_wrap(u, v));
        st32(spad, blk + u64(i + half) * 4, i32(u32(u) - u32(v)));
      }
    }
  }
  if (h == 1)
    return busy;
  const HadamardRom &rom = h == 12 ? kRom12 : kRom40;
  i32 col[40];
#pragma HLS ARRAY_PARTITION variable = col complete
columns:
  for (unsigned b = 0; b < kMaxFwht; ++b) {
    if (b >= p)
      break;
    ++busy; // the column's h words, read in one cycle
  column:
    for (unsigned a = 0; a < 40; ++a) {
#pragma HLS UNROLL
      if (a < h)
        col[a] = ld32(spad, base + (u64(a) * p + b) * 4);
    }
  outputs:
    for (unsigned r = 0; r < 40; ++r) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = LANES
      if (r >= h)
        break;
      if (r % LANES == 0)
        ++busy;
      u32 s = 0;
      for (unsigned a = 0; a < 40; ++a) {
#pragma HLS UNROLL
        if (a < h)
          s = ((rom.row[r] >> a) & 1) ? s - u32(col[a]) : s + u32(col[a]);
      }
      st32(spad, base + (u64(r) * p + b) * 4, i32(s));
    }
  }
  return busy;
}

/// The cycles hadamard_unit's loops run for length n (0 for a length it refuses).
inline u64 fwht_loop_cycles(unsigned n, unsigned lanes) {
  const unsigned h = fwht_factor(n);
  if (h == 0)
    return 0;
  const u64 p = n / h;
  u64 stages = 0;
  for (u64 half = 1; half < p; half <<= 1)
    ++stages;
  const u64 pairs = p / 2, butterflies = u64(h) * stages * ((pairs + lanes - 1) / lanes);
  return butterflies + (h > 1 ? p * (1 + (h + lanes - 1) / lanes) : 0);
}

} // namespace mamba2::hw
