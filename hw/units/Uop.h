// A micro-op as a unit's sequencer hands it to its datapath: addresses resolved for one
// iteration (scratchpad bytes; a DMA's DRAM offset in src1), already range-checked.
#pragma once
#include "mamba2/hw/HlsTypes.h"
#include "mamba2/isa/Encoding.h"

namespace mamba2::hw {

struct UopOperands {
  unsigned op; // micro-opcode (isa spec, [[uop]] code)
  u64 dst, src0, src1, src2;
  unsigned len; // elements
  int p0, p1, p2;
  unsigned m, k, n, group; // matrix micro-ops (format umm)
  int shift;
  bool accum;
  unsigned region, rows, rowb, stride; // DMA micro-ops (format udma)
};

inline bool is_matrix_uop(unsigned op) {
#pragma HLS INLINE
  return op == unsigned(isa::UopCode::Mm8) || op == unsigned(isa::UopCode::Mm4) ||
         op == unsigned(isa::UopCode::Gmm8) || op == unsigned(isa::UopCode::Gmm4);
}
inline bool is_dma_uop(unsigned op) {
#pragma HLS INLINE
  return op == unsigned(isa::UopCode::Load2d) || op == unsigned(isa::UopCode::Store2d);
}
inline bool is_int4_uop(unsigned op) {
#pragma HLS INLINE
  return op == unsigned(isa::UopCode::Mm4) || op == unsigned(isa::UopCode::Gmm4);
}
inline bool is_grouped_uop(unsigned op) {
#pragma HLS INLINE
  return op == unsigned(isa::UopCode::Gmm8) || op == unsigned(isa::UopCode::Gmm4);
}

} // namespace mamba2::hw

namespace mamba2::hw {

/// Whether every scratchpad extent of `u` lies in a scratchpad of `spad` bytes (the same extents
/// as isa::uopExtents; a pwl/rsqrt table beyond its header is checked against its header n; a
/// DMA's DRAM offset only for sign: the region sizes are the loader's to check). Addresses are
/// passed signed, as resolved (base + iteration * stride may be negative).
inline bool uop_in_range(const UopOperands &u, i64 dst, i64 s0, i64 s1, i64 s2, u64 spad) {
#pragma HLS INLINE
  const unsigned op = u.op;
  const u64 n = u.len, w4 = 4 * n, cols = u.p0 > 0 ? u64(u.p0) : 0;
  const bool bc = (u.p1 & 1) != 0;
  i64 addr[4] = {dst, s0, s1, s2};
  u64 size[4] = {0, 0, 0, 0};
  bool any = n != 0;
  if (is_matrix_uop(op) && u.m != 0 && u.n != 0) {
    any = true;
    size[0] = u64(u.m) * u.n * 4;
    size[1] = u64(u.m) * u.k;
    size[2] = is_int4_uop(op) ? u64(u.n) * (u.k / 2) : u64(u.n) * u.k;
    size[3] = is_grouped_uop(op) && u.group ? u64(u.n) * (u.k / u.group) * 4 : 0;
  }
  if (is_dma_uop(op) && u.rows != 0) {
    if (s1 < 0)
      return false;
    any = true;
    size[0] = u64(u.rows) * u.rowb;
  }
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
  if (!any)
    return true;
  for (unsigned i = 0; i < 4; ++i) {
#pragma HLS UNROLL
    if (size[i] && (addr[i] < 0 || u64(addr[i]) > spad || size[i] > spad - u64(addr[i])))
      return false;
  }
  return true;
}

/// The loop of one `run` (or macro shortcut) as a sequencer holds it.
struct RunLoop {
  i64 base, base2; // r[areg] (dst, src0), r[breg] (src1, src2)
  u32 sdst, ssrc0, ssrc1, ssrc2;
};

/// Decodes micro-op word `w` for iteration `it`: the operands, and the four addresses (dst, src0,
/// src1, src2 roles) signed as resolved, for uop_in_range. Same rules as isa::resolveUop.
inline UopOperands decode_uop(const isa::UopWord &w, const RunLoop &r, unsigned it, i64 addr[4]) {
#pragma HLS INLINE
  namespace f = isa::field;
  UopOperands u;
  u.op = unsigned(w.raw(f::uop::uop));
  u.len = 0;
  u.p0 = u.p1 = u.p2 = 0;
  u.m = u.k = u.n = u.group = 0;
  u.shift = 0;
  u.accum = false;
  u.region = u.rows = u.rowb = u.stride = 0;
  i64 a[4] = {0, 0, 0, 0};
  if (is_matrix_uop(u.op)) {
    a[0] = w.get(f::umm::acc);
    a[1] = w.get(f::umm::act);
    a[2] = w.get(f::umm::wgt);
    a[3] = w.get(f::umm::scl);
    u.m = unsigned(w.raw(f::umm::m));
    u.k = unsigned(w.raw(f::umm::k));
    u.n = unsigned(w.raw(f::umm::n));
    u.group = unsigned(w.raw(f::umm::group));
    u.shift = int(w.get(f::umm::shift));
    u.accum = w.raw(f::umm::accum) != 0;
  } else if (is_dma_uop(u.op)) {
    a[0] = w.get(f::udma::spad);
    a[2] = w.get(f::udma::dram);
    u.region = unsigned(w.raw(f::udma::region));
    u.rows = unsigned(w.raw(f::udma::rows));
    u.rowb = unsigned(w.raw(f::udma::rowb));
    u.stride = unsigned(w.raw(f::udma::stride));
  } else {
    a[0] = w.get(f::uop::dst);
    a[1] = w.get(f::uop::src0);
    a[2] = w.get(f::uop::src1);
    a[3] = w.get(f::uop::src2);
    u.len = unsigned(w.get(f::uop::len));
    u.p0 = int(w.get(f::uop::p0));
    u.p1 = int(w.get(f::uop::p1));
    u.p2 = int(w.get(f::uop::p2));
  }
  addr[0] = a[0] + r.base + i64(it) * i64(r.sdst);
  addr[1] = a[1] + r.base + i64(it) * i64(r.ssrc0);
  addr[2] = a[2] + r.base2 + i64(it) * i64(r.ssrc1);
  addr[3] = a[3] + r.base2 + i64(it) * i64(r.ssrc2);
  u.dst = u64(addr[0]);
  u.src0 = u64(addr[1]);
  u.src1 = u64(addr[2]);
  u.src2 = u64(addr[3]);
  return u;
}

/// Whether micro-op `op` may run on the sequencer of `slot` (the spec's [[uop]] unit lists).
inline bool uop_runs_on(unsigned op, unsigned slot) {
#pragma HLS INLINE
  bool ok = false;
  for (unsigned i = 0; i < isa::kNumUops; ++i) {
#pragma HLS UNROLL
    if (isa::kUops[i].code == op && ((isa::kUops[i].units >> slot) & 1))
      ok = true;
  }
  return ok;
}

} // namespace mamba2::hw
