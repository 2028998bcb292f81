// Shared by the per-unit synthesis tops (hw/tb/<unit>_top.cpp, finn-hlslib's layout): one
// micro-op word, decoded by the generated decode (isa/UopDecode.gen.h) with the run's bases,
// checked as the overlay top checks it, then run on one unit's datapath. Compiled for one board:
// -DMAMBA2_BOARD=<id> (target/boards/*.toml). The testbenches (hw/tb/<unit>_tb.cpp) compare each
// top with the isa/ reference; hw/scripts/csim.tcl runs them in Vitis HLS.
#pragma once
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/HlsTypes.h"
#include "mamba2/isa/Encoding.h"
#include "mamba2/target/KernelArgs.h"

#include "Dma.h"
#include "Matrix.h"
#include "VectorUnit.h"

#ifndef MAMBA2_BOARD
#define MAMBA2_BOARD 3
#endif

namespace mamba2::hw::unit_top {

using Cfg = BoardCfg<MAMBA2_BOARD>;
using BeatT = Beat<Cfg::AXI_BITS / 8>;

/// What a unit top returns: 0, or the overlay top's fault code for a refused micro-op.
enum : unsigned { kOk = 0, kSpadRange = 5, kBadOp = 7 };

/// Decodes `word` (isa::kUopBytes little-endian bytes) with bases r[areg] = base, r[breg] =
/// base2 and checks it for unit `slot`.
inline unsigned decode(const byte_t *word, i32 base, i32 base2, isa::Slot slot, UopOperands &u) {
#pragma HLS INLINE
  const isa::UopWord w = isa::UopWord::fromBytes(word);
  u = isa::decodeUop(w, int64_t(base), int64_t(base2), 0, 0, 0, 0, 0);
  if (!uop_runs_on(unsigned(u.op), unsigned(slot)) ||
      (u.op == isa::UopCode::Store2d && u.region == 0))
    return kBadOp;
  // The chunked SSD form's micro-ops: only where the board has their units, with legal
  // parameters (as the overlay top).
  if ((!Cfg::CHUNKED_SSD && isa::uopNeedsChunkedSsd(u.op)) || !chunked_ssd_params_ok(u))
    return kBadOp;
  if (!uop_in_range(u, Cfg::SPAD_BYTES))
    return kSpadRange;
  return kOk;
}

} // namespace mamba2::hw::unit_top
