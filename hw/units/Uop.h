// A micro-op as a unit's sequencer hands it to its datapath: the generated decode of the spec
// (isa/spec/isa.toml -> UopDecode.gen.h: operand roles, element types, extents), the same one
// the reference interpreter and the loader use. Addresses are resolved for one iteration
// (scratchpad bytes; a DMA's DRAM offset in src1) and range-checked before a datapath runs.
#pragma once
#include "mamba2/hw/HlsTypes.h"
#include "mamba2/isa/Encoding.h"
#include "mamba2/isa/UopDecode.gen.h"

namespace mamba2::hw {

using UopOperands = isa::UopArgs;

/// Whether every non-empty scratchpad extent of `u` (isa::uopExtentsOf) lies in a scratchpad of
/// `spad` bytes; a DMA's DRAM offset is checked for sign only (the region sizes are the
/// loader's to check); a pwl/rsqrt table beyond its header is checked against its header n by
/// the caller.
inline bool uop_in_range(const UopOperands &u, u64 spad) {
#pragma HLS INLINE
  const isa::UopExtents x = isa::uopExtentsOf(u);
  bool ok = true;
extents:
  for (unsigned i = 0; i < isa::kMaxUopOperands; ++i) {
#pragma HLS UNROLL
    const isa::UopExtent &e = x.at[i];
    if (i >= x.count)
      continue;
    if (e.dram) {
      if (e.addr < 0)
        ok = false;
    } else if (e.bytes && (e.addr < 0 || u64(e.addr) > spad || u64(e.bytes) > spad - u64(e.addr))) {
      ok = false;
    }
  }
  return ok;
}

/// Whether the parameters of a chunked SSD micro-op (trn, segdecay, split16) are ones its
/// datapath is built for (the loader's isa::checkUopStatic refuses the others first; this is
/// the top's own guard): trn p0 >= 1 columns, p1 1 or 4 bytes, pitches 0 or at least the
/// extents; segdecay Q <= 64, p0 0..30; split16 p0 0..31. Other micro-ops: true.
inline bool chunked_ssd_params_ok(const UopOperands &u) {
#pragma HLS INLINE
  if (u.op == isa::UopCode::Trn)
    return u.p0 >= 1 && (u.p1 == 1 || u.p1 == 4) && (u.p2 == 0 || u.p2 >= u.p0) &&
           (u.p3 == 0 || u.p3 >= int(u.len));
  if (u.op == isa::UopCode::Segdecay)
    return u.len <= 64 && u.p0 >= 0 && u.p0 <= 30;
  if (u.op == isa::UopCode::Split16)
    return u.p0 >= 0 && u.p0 <= 31;
  return true;
}

/// The loop of one `run` (or macro shortcut) as a sequencer holds it.
struct RunLoop {
  i64 base, base2; // r[areg] (dst, src0), r[breg] (src1, src2)
  u32 sdst, ssrc0, ssrc1, ssrc2;
};

/// Decodes micro-op word `w` for iteration `it` (isa::decodeUop).
inline UopOperands decode_uop(const isa::UopWord &w, const RunLoop &r, unsigned it) {
#pragma HLS INLINE
  return isa::decodeUop(w, int64_t(r.base), int64_t(r.base2), uint32_t(r.sdst), uint32_t(r.ssrc0),
                        uint32_t(r.ssrc1), uint32_t(r.ssrc2), uint32_t(it));
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
