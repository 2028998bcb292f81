// Execution semantics shared by every executor: the control sequencer (hardware loops, scalar
// registers, halt), slot instructions with their registers bound ("issues"), micro-op address
// resolution, and the legality checks of each. The reference interpreter (Interp.h), the
// loader's static walk (runtime/) and the overlay simulator (hw/) all use these.
//
// Ordering contract: a program is well formed when running its bundles one at a time, slots in
// slot order (ctrl first, then load, store, matrix, vector, ssm), never waits on a semaphore with
// no token, and each semaphore is waited on by one unit only. Then the decoupled overlay (units
// running ahead in their own queues) computes the same result as that serial order.
#pragma once
#include "mamba2/isa/Encoding.h"
#include "mamba2/isa/UopDecode.gen.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::isa {

/// Scratchpad / region sizes an executor enforces (from the target configuration).
struct Limits {
  uint64_t spadBytes = 0;
  std::array<uint64_t, 4> regionBytes{};
};

/// The loop a unit's sequencer runs: micro-ops ustart .. ustart+ulen-1, `iters` times; iteration
/// i adds i*stride to each operand by role, r[areg] (base) to dst and src0, r[breg] (base2) to
/// src1 and src2. `ustart` is the run's field plus r[ureg] (`ufirst`, exact; when that is
/// outside 0..2^32-1, ustart is UINT32_MAX and checkIssue refuses the run).
struct RunArgs {
  uint32_t ustart = 0, ulen = 0, iters = 0;
  uint32_t sdst = 0, ssrc0 = 0, ssrc1 = 0, ssrc2 = 0;
  int64_t base = 0;   // value of r[areg]
  int64_t base2 = 0;  // value of r[breg]
  unsigned ureg = 0;  // register added to the ustart field (0: none)
  int64_t ufirst = 0; // ustart field + r[ureg]
};

/// One slot instruction with its registers bound, as a unit's queue holds it. Every unit runs a
/// micro-op loop: a `run` names words of the microcode store; a macro shortcut (load.dma,
/// store.dma, matrix.mm8, matrix.mm4) carries its one micro-op inline (ulen = iters = 1).
struct Issue {
  Slot slot = Slot::Ctrl;
  uint8_t op = 0;
  bool wen = false, sen = false;
  uint8_t wsem = 0, ssem = 0;
  uint32_t bundle = 0; // static bundle index, for messages
  RunArgs run;
  bool inlineUop = false;
  UopWord uop; // the inline micro-op of a macro shortcut
  /// Micro-op `i` of the run.
  const UopWord &word(const std::vector<UopWord> &ucode, uint32_t i) const {
    return inlineUop ? uop : ucode[run.ustart + i];
  }
  /// "microcode word N" for a run, the macro's name for a shortcut (for messages).
  std::string where(uint32_t i) const;
};

/// A micro-op with its addresses resolved for one iteration: UopArgs, decoded by the generated
/// decodeUop (UopDecode.gen.h, from the spec's operand roles) with the run's bases and strides.
UopArgs resolveUop(const UopWord &w, const RunArgs &r, uint32_t iter);

/// Scratchpad byte extents [addr, addr+bytes) a micro-op reads or writes (the spad operands of
/// the generated uopExtentsOf). For pwl/rsqrt only the table's 16-byte header is listed: its
/// full size is data; executors check it with checkPwlTable(). A DMA micro-op's DRAM range is
/// checked by checkUopRanges().
struct Extent {
  int64_t addr;
  uint64_t bytes;
  bool write;
};
std::vector<Extent> uopExtents(const UopArgs &u);
/// Empty when `u` may run on `slot`'s sequencer and its parameters are legal, else the reason.
std::string checkUopStatic(const UopWord &w, Slot slot);
/// Empty when every non-empty extent of `u` lies in the scratchpad (and a DMA's DRAM range in
/// its region), no written operand partly overlaps another (a matmul's accumulators overlap
/// nothing), else the reason.
std::string checkUopRanges(const UopArgs &u, const Limits &lim);
/// Empty when a pwl/rsqrt table of `tableBytes` at u.src1 lies in the scratchpad and does not
/// overlap the destination.
std::string checkPwlTable(const UopArgs &u, uint64_t tableBytes, uint64_t spadBytes);
/// Empty when pwlmulpwl's first table (`t1Bytes` at u.src1) ends by p3, where its second table
/// starts, and the second (`t2Bytes`) by p4, where the multipliers start.
std::string checkPwlMulPwlTables(const UopArgs &u, uint64_t t1Bytes, uint64_t t2Bytes);
/// Empty when every micro-op of the issue may run on its unit and, at its first and last
/// iteration (addresses grow with the iteration), stays inside its memories.
std::string checkIssue(const Issue &is, const Limits &lim, const std::vector<UopWord> &ucode);

/// Static checks of one encoded bundle (opcodes defined, canonical NOPs and token fields,
/// loop body >= 1, no write to r0, int4 K even, micro-op indices inside `ucodeWords` for a run
/// without `ureg`; with it, checkIssue checks ustart + r[ureg] when the run issues).
/// Empty when fine, else the reason.
std::string checkBundle(const Bundle &b, size_t ucodeWords);

/// The control unit: walks bundles, keeps registers and the loop stack, binds registers into
/// issues. Errors (running off the program, bad loop nesting, negative trip count) are reported
/// through error(); the walk stops.
class Sequencer {
public:
  Sequencer(const std::vector<Bundle> &bundles, uint32_t entry);
  bool done() const { return halted_ || !error_.empty(); }
  bool halted() const { return halted_; }
  const std::string &error() const { return error_; }
  uint32_t pc() const { return pc_; }
  /// The control slot of the current bundle (its wait must be satisfied before issue()).
  const SlotWord &ctrlSlot() const { return (*bundles_)[pc_][Slot::Ctrl]; }
  /// Binds the current bundle's non-ctrl slots into `out` (appended, slot order), executes its
  /// control operation and advances. Requires !done().
  void issue(std::vector<Issue> &out);
  const std::array<int32_t, kNumRegs> &regs() const { return regs_; }
  uint64_t bundlesIssued() const { return issued_; }
  /// The innermost active hardware loop, for validators that skip iterations in closed form
  /// (the runtime's loader): depth 0 when none.
  size_t loopDepth() const { return loops_.size(); }
  uint32_t loopStart() const { return loops_.back().start; }
  uint32_t loopEnd() const { return loops_.back().end; }
  uint64_t loopRemaining() const { return loops_.back().remaining; }
  /// At the start of an iteration of the innermost loop, skips `n` (< loopRemaining())
  /// iterations whose body adds `delta[r]` to register r each time (the caller has checked
  /// that the body's effect is that translation and that no register wraps).
  void skipIterations(uint64_t n, const std::array<int64_t, kNumRegs> &delta) {
    loops_.back().remaining -= n;
    for (unsigned r = 0; r < kNumRegs; ++r)
      regs_[r] = int32_t(int64_t(regs_[r]) + int64_t(n) * delta[r]);
  }

private:
  struct Loop {
    uint32_t start, end;
    uint64_t remaining;
  };
  void fail(const std::string &msg);
  const std::vector<Bundle> *bundles_;
  uint32_t pc_;
  bool halted_ = false;
  std::string error_;
  std::array<int32_t, kNumRegs> regs_{};
  std::vector<Loop> loops_;
  uint64_t issued_ = 0;
};

} // namespace mamba2::isa
