// The macro shortcuts load.dma, store.dma, matrix.mm8 and matrix.mm4 are one-word runs: the
// micro-op each stands for, built here (header-only: the HLS top uses the same definition).
// Their registers go to the run's bases: sreg / areg as r[areg] (dst and src0 operands), dreg /
// wreg as r[breg] (src1, src2: the DRAM offset, the weights).
#pragma once
#include "mamba2/isa/Encoding.h"

namespace mamba2::isa {

inline UopWord macroUop(Slot slot, unsigned code, const SlotWord &w) {
  namespace f = field;
  UopWord u;
  if (slot == Slot::Load || slot == Slot::Store) {
    u.set(f::udma::uop, int64_t(slot == Slot::Load ? UopCode::Load2d : UopCode::Store2d));
    u.set(f::udma::spad, int64_t(w.raw(f::xfer::spad)));
    u.set(f::udma::region, int64_t(w.raw(f::xfer::region)));
    u.set(f::udma::dram, int64_t(w.raw(f::xfer::dram)));
    u.set(f::udma::rows, int64_t(w.raw(f::xfer::rows)));
    u.set(f::udma::rowb, int64_t(w.raw(f::xfer::rowb)));
    u.set(f::udma::stride, int64_t(w.raw(f::xfer::stride)));
    return u;
  }
  u.set(f::umm::uop, int64_t(code == op::matrix::mm4 ? UopCode::Mm4 : UopCode::Mm8));
  u.set(f::umm::acc, int64_t(w.raw(f::mm::acc)));
  u.set(f::umm::act, int64_t(w.raw(f::mm::act)));
  u.set(f::umm::wgt, int64_t(w.raw(f::mm::wgt)));
  u.set(f::umm::m, int64_t(w.raw(f::mm::m)));
  u.set(f::umm::k, int64_t(w.raw(f::mm::k)));
  u.set(f::umm::n, int64_t(w.raw(f::mm::n)));
  u.set(f::umm::accum, int64_t(w.raw(f::mm::accum)));
  return u;
}

/// The register fields a macro shortcut binds: {r[areg] source, r[breg] source}.
inline void macroRegs(Slot slot, const SlotWord &w, unsigned &areg, unsigned &breg) {
  namespace f = field;
  if (slot == Slot::Load || slot == Slot::Store) {
    areg = unsigned(w.raw(f::xfer::sreg));
    breg = unsigned(w.raw(f::xfer::dreg));
  } else {
    areg = unsigned(w.raw(f::mm::areg));
    breg = unsigned(w.raw(f::mm::wreg));
  }
}

} // namespace mamba2::isa
