// A micro-op as the vector and SSM sequencers hand it to their datapaths: addresses resolved
// for one iteration (scratchpad bytes), already range-checked.
#pragma once
#include "mamba2/hw/HlsTypes.h"
#include "mamba2/isa/Encoding.gen.h"

namespace mamba2::hw {

struct UopOperands {
  unsigned op; // micro-opcode (isa spec, [[uop]] code)
  u64 dst, src0, src1, src2;
  unsigned len; // elements
  int p0, p1, p2;
};

} // namespace mamba2::hw

namespace mamba2::hw {

/// Whether every operand extent of `u` lies in a scratchpad of `spad` bytes (the same extents
/// as isa::uopExtents; a pwl/rsqrt table beyond its header is checked against its header n).
/// addresses are passed signed, as resolved (base + iteration * stride may be negative).
inline bool uop_in_range(unsigned op, i64 dst, i64 s0, i64 s1, i64 s2, unsigned len, int p0, int p1,
                         u64 spad) {
#pragma HLS INLINE
  const u64 n = len, w4 = 4 * n, cols = p0 > 0 ? u64(p0) : 0;
  const bool bc = (p1 & 1) != 0;
  i64 addr[4] = {dst, s0, s1, s2};
  u64 size[4] = {0, 0, 0, 0};
  switch (op) {
  case unsigned(isa::UopCode::Add32):
  case unsigned(isa::UopCode::Mulsh32):
    size[0] = w4;
    size[1] = w4;
    size[2] = bc ? 4 : w4;
    break;
  case unsigned(isa::UopCode::Shift32):
    size[0] = w4;
    size[1] = w4;
    break;
  case unsigned(isa::UopCode::Sext8):
    size[0] = w4;
    size[1] = n;
    break;
  case unsigned(isa::UopCode::Req8):
    size[0] = n;
    size[1] = w4;
    size[2] = bc ? 4 : w4;
    size[3] = bc ? 1 : n;
    break;
  case unsigned(isa::UopCode::Shr8):
    size[0] = n;
    size[1] = w4;
    break;
  case unsigned(isa::UopCode::Sumsq):
    size[0] = 4;
    size[1] = w4;
    break;
  case unsigned(isa::UopCode::Fwht):
    size[0] = w4;
    break;
  case unsigned(isa::UopCode::Conv4):
    size[0] = w4;
    size[1] = n;
    size[2] = 8 * n;
    size[3] = 3 * n;
    break;
  case unsigned(isa::UopCode::Pwl):
  case unsigned(isa::UopCode::Rsqrt):
    size[0] = w4;
    size[1] = w4;
    size[2] = 16;
    break;
  case unsigned(isa::UopCode::Ssmupd):
    size[0] = w4 * cols;
    size[1] = w4;
    size[2] = cols;
    size[3] = 4;
    break;
  case unsigned(isa::UopCode::Ssmout):
    size[0] = w4;
    size[1] = w4 * cols;
    size[2] = cols;
    break;
  default:
    break;
  }
  if (n == 0)
    return true;
  for (unsigned i = 0; i < 4; ++i) {
#pragma HLS UNROLL
    if (size[i] && (addr[i] < 0 || u64(addr[i]) > spad || size[i] > spad - u64(addr[i])))
      return false;
  }
  return true;
}

} // namespace mamba2::hw
