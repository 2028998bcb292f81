// HLS top of the overlay: `mamba2_overlay`, one kernel with an m_axi port per memory and an
// AXI-lite control interface. Compiled for one board: -DMAMBA2_BOARD=<id> (config/boards.def).
//
// This top issues bundles in the serial order of the ISA's ordering contract (isa/Exec.h):
// control first, then load, store, matrix, vector, SSM, each honouring its tokens. For a
// well-formed program that is exactly what the decoupled overlay computes; the cycle model
// (hw/lib/Overlay.cpp) models the decoupled timing. The loader has already checked every DMA and
// micro-op range; the checks here keep a bad program from touching memory it should not and
// report it in `status` (fault << 24 | bundle).
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/isa/Encoding.h"
#include "mamba2/isa/Macro.h"

#include "Dma.h"
#include "Matrix.h"
#include "VectorUnit.h"

#ifndef MAMBA2_BOARD
#define MAMBA2_BOARD 3
#endif

namespace mamba2::hw {

using Cfg = BoardCfg<MAMBA2_BOARD>;
namespace f = isa::field;

enum Fault : unsigned {
  kOk = 0,
  kDeadlock = 1, // a wait on a semaphore with no token
  kSemOverflow = 2,
  kBadLoop = 3,      // loop nesting, trip count or body
  kOutOfProgram = 4, // ran past the last bundle
  kSpadRange = 5,    // scratchpad range outside the scratchpad
  kUcodeRange = 6,
  kBadOp = 7,
  kStepLimit = 8,
};

struct Sems {
  u32 count[isa::kNumSems];
};

static bool take(Sems &s, const isa::SlotWord &w) {
  if (!w.raw(f::none::wen))
    return true;
  unsigned i = unsigned(w.raw(f::none::wsem)) & (isa::kNumSems - 1);
  if (s.count[i] == 0)
    return false;
  --s.count[i];
  return true;
}
static bool give(Sems &s, const isa::SlotWord &w) {
  if (!w.raw(f::none::sen))
    return true;
  unsigned i = unsigned(w.raw(f::none::ssem)) & (isa::kNumSems - 1);
  if (s.count[i] == 0xFFFF)
    return false;
  ++s.count[i];
  return true;
}
static bool in_spad(i64 addr, u64 bytes) {
  return addr >= 0 && u64(addr) <= Cfg::SPAD_BYTES && bytes <= Cfg::SPAD_BYTES - u64(addr);
}

} // namespace mamba2::hw

using namespace mamba2::hw;
using namespace mamba2;

extern "C" void mamba2_overlay(const byte_t *bundles, const byte_t *ucode, byte_t *r_const,
                               byte_t *r_io, byte_t *r_state, byte_t *r_scratch, u32 num_bundles,
                               u32 ucode_words, u32 entry, u32 *status) {
  // One pragma per line, as Vitis HLS reports them.
  // clang-format off
#pragma HLS INTERFACE m_axi port = bundles offset = slave bundle = gmem_insn max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = ucode offset = slave bundle = gmem_insn
#pragma HLS INTERFACE m_axi port = r_const offset = slave bundle = gmem_const max_read_burst_length = 256
#pragma HLS INTERFACE m_axi port = r_io offset = slave bundle = gmem_io
#pragma HLS INTERFACE m_axi port = r_state offset = slave bundle = gmem_state
#pragma HLS INTERFACE m_axi port = r_scratch offset = slave bundle = gmem_scratch
#pragma HLS INTERFACE m_axi port = status offset = slave bundle = gmem_io
#pragma HLS INTERFACE s_axilite port = num_bundles
#pragma HLS INTERFACE s_axilite port = ucode_words
#pragma HLS INTERFACE s_axilite port = entry
#pragma HLS INTERFACE s_axilite port = return
  // clang-format on
  static byte_t spad[Cfg::SPAD_BYTES];
  static isa::UopWord store[isa::kUcodeWords];
  byte_t *regions[4] = {r_const, r_io, r_state, r_scratch};
  Sems sems;
  i32 regs[isa::kNumRegs];
  u32 loop_start[isa::kLoopDepth], loop_end[isa::kLoopDepth], loop_left[isa::kLoopDepth];
  unsigned depth = 0;
  for (unsigned i = 0; i < isa::kNumSems; ++i)
    sems.count[i] = 0;
  for (unsigned i = 0; i < isa::kNumRegs; ++i)
    regs[i] = 0;

  unsigned nwords = ucode_words > isa::kUcodeWords ? isa::kUcodeWords : unsigned(ucode_words);
load_ucode:
  for (unsigned i = 0; i < isa::kUcodeWords; ++i) {
    if (i >= nwords)
      break;
    store[i] = isa::UopWord::fromBytes(ucode + u64(i) * isa::kUopBytes);
  }

  u32 pc = entry;
  unsigned fault = kOk;
  const u64 kMaxSteps = u64(1) << 40;
issue:
  for (u64 step = 0; step < kMaxSteps; ++step) {
    if (pc >= num_bundles) {
      fault = kOutOfProgram;
      break;
    }
    isa::Bundle b = isa::Bundle::fromBytes(bundles + u64(pc) * isa::kBundleBytes);
    const isa::SlotWord &c = b[isa::Slot::Ctrl];
    if (!take(sems, c)) {
      fault = kDeadlock;
      break;
    }
    // Non-control slots in slot order, reading the registers before the control op.
    for (unsigned s = 1; s < isa::kNumSlots && fault == kOk; ++s) {
      const isa::SlotWord &w = b.slot[s];
      unsigned op = unsigned(w.raw(f::none::op));
      if (op == 0)
        continue;
      if (!take(sems, w)) {
        fault = kDeadlock;
        break;
      }
      auto reg = [&](u64 r) { return i64(regs[r & (isa::kNumRegs - 1)]); };
      // Every unit is a micro-op sequencer: a run reads the store, a macro shortcut carries its
      // one micro-op (isa/Macro.h). Iterations x micro-ops, addresses by operand role.
      const bool is_run = (s == unsigned(isa::Slot::Load) && op == isa::op::load::run) ||
                          (s == unsigned(isa::Slot::Store) && op == isa::op::store::run) ||
                          (s == unsigned(isa::Slot::Matrix) && op == isa::op::matrix::run) ||
                          s == unsigned(isa::Slot::Vector) || s == unsigned(isa::Slot::Ssm);
      RunLoop r;
      unsigned us = 0, ul = 1, iters = 1;
      isa::UopWord inl;
      if (is_run) {
        us = unsigned(w.raw(f::run::ustart));
        ul = unsigned(w.raw(f::run::ulen));
        iters = unsigned(w.raw(f::run::iters));
        r.base = reg(w.raw(f::run::areg));
        r.base2 = reg(w.raw(f::run::breg));
        r.sdst = u32(w.raw(f::run::sdst));
        r.ssrc0 = u32(w.raw(f::run::ssrc0));
        r.ssrc1 = u32(w.raw(f::run::ssrc1));
        r.ssrc2 = u32(w.raw(f::run::ssrc2));
        if (us + ul > nwords) {
          fault = kUcodeRange;
          break;
        }
      } else {
        inl = isa::macroUop(isa::Slot(s), op, w);
        unsigned ar = 0, br = 0;
        isa::macroRegs(isa::Slot(s), w, ar, br);
        r.base = reg(ar);
        r.base2 = reg(br);
        r.sdst = r.ssrc0 = r.ssrc1 = r.ssrc2 = 0;
      }
    iterations:
      for (unsigned it = 0; it < 65536 && fault == kOk; ++it) {
        if (it >= iters)
          break;
      uops:
        for (unsigned k = 0; k < 256; ++k) {
          if (k >= ul)
            break;
          const isa::UopWord &uw = is_run ? store[us + k] : inl;
          i64 addr[4];
          UopOperands u = decode_uop(uw, r, it, addr);
          if (!uop_runs_on(u.op, s) || (u.op == unsigned(isa::UopCode::Store2d) && u.region == 0)) {
            fault = kBadOp;
            break;
          }
          if (!uop_in_range(u, addr[0], addr[1], addr[2], addr[3], Cfg::SPAD_BYTES)) {
            fault = kSpadRange;
            break;
          }
          if ((u.op == unsigned(isa::UopCode::Pwl) || u.op == unsigned(isa::UopCode::Rsqrt)) &&
              u.len) {
            PwlTableHeader h = read_pwl_header(spad, u.src1);
            if (!in_spad(addr[2], 16 + 8 * u64(h.n))) {
              fault = kSpadRange;
              break;
            }
          }
          if (s == unsigned(isa::Slot::Load) || s == unsigned(isa::Slot::Store)) {
            DmaArgs a{u.dst, u.src1, u.rows, u.rowb, u.stride};
            byte_t *region = regions[u.region & 3];
            if (u.op == unsigned(isa::UopCode::Load2d))
              dma_load(spad, region, a);
            else if (u.op == unsigned(isa::UopCode::Store2d))
              dma_store(spad, region, a);
          } else if (s == unsigned(isa::Slot::Matrix)) {
            if (is_matrix_uop(u.op))
              matrix_unit<Cfg>(spad, matmul_args(u));
          } else if (s == unsigned(isa::Slot::Vector)) {
            vector_datapath<Cfg>(spad, u);
          } else {
            ssm_datapath<Cfg>(spad, u);
          }
        }
      }
      if (fault == kOk && !give(sems, w))
        fault = kSemOverflow;
    }
    if (fault != kOk)
      break;
    if (!give(sems, c)) {
      fault = kSemOverflow;
      break;
    }
    // Control operation and loop sequencing (same rules as isa::Sequencer).
    unsigned cop = unsigned(c.raw(f::none::op));
    u32 last = pc, next = pc + 1;
    if (cop == isa::op::ctrl::halt)
      break;
    if (cop == isa::op::ctrl::seti && c.raw(f::reg::rd))
      regs[c.raw(f::reg::rd)] = i32(c.get(f::reg::imm));
    if (cop == isa::op::ctrl::addi && c.raw(f::reg::rd))
      regs[c.raw(f::reg::rd)] = i32(u32(regs[c.raw(f::reg::rs)]) + u32(c.get(f::reg::imm)));
    if (cop == isa::op::ctrl::loop) {
      i64 count = i64(c.raw(f::loop::count)) + i64(regs[c.raw(f::loop::creg)]);
      u32 body = u32(c.raw(f::loop::body));
      u64 end = u64(pc) + body;
      if (count < 0 || body == 0 || end >= num_bundles || (depth && end > loop_end[depth - 1])) {
        fault = kBadLoop;
        break;
      }
      if (count == 0) {
        last = u32(end);
        next = u32(end) + 1;
      } else {
        if (depth == isa::kLoopDepth) {
          fault = kBadLoop;
          break;
        }
        loop_start[depth] = pc + 1;
        loop_end[depth] = u32(end);
        loop_left[depth] = u32(count);
        ++depth;
        pc = pc + 1;
        continue;
      }
    }
  loop_ends:
    for (unsigned d = 0; d < isa::kLoopDepth; ++d) {
      if (depth == 0 || loop_end[depth - 1] != last)
        break;
      if (--loop_left[depth - 1] > 0) {
        next = loop_start[depth - 1];
        break;
      }
      --depth;
    }
    pc = next;
  }
  *status = fault == kOk ? u32(0) : (u32(fault) << 24) | (pc & 0xFFFFFF);
}
