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

struct XferArgs {
  int64_t spad = 0; // bytes, registers added
  unsigned region = 0;
  int64_t dram = 0; // byte offset in the region, registers added
  uint32_t rows = 0, rowb = 0, stride = 0;
};
struct MmArgs {
  int64_t act = 0, wgt = 0, acc = 0;
  uint32_t m = 0, k = 0, n = 0;
  bool accum = false, int4 = false;
};
struct RunArgs {
  uint32_t ustart = 0, ulen = 0, iters = 0;
  uint32_t sdst = 0, ssrc0 = 0, ssrc1 = 0, ssrc2 = 0;
  int64_t base = 0; // value of r[areg]
};

/// One slot instruction with its registers bound, as a unit's queue holds it.
struct Issue {
  Slot slot = Slot::Ctrl;
  uint8_t op = 0;
  bool wen = false, sen = false;
  uint8_t wsem = 0, ssem = 0;
  uint32_t bundle = 0; // static bundle index, for messages
  XferArgs x;
  MmArgs mm;
  RunArgs run;
};

/// A micro-op with its addresses resolved for one iteration.
struct UopArgs {
  UopCode op = UopCode::Unop;
  int64_t dst = 0, src0 = 0, src1 = 0, src2 = 0;
  uint32_t len = 0;
  int p0 = 0, p1 = 0, p2 = 0;
};
UopArgs resolveUop(const UopWord &w, const RunArgs &r, uint32_t iter);

/// Byte extents [addr, addr+bytes) a micro-op reads or writes. For pwl/rsqrt only the table's
/// 16-byte header is listed: its full size is data; executors check it with checkPwlTable().
struct Extent {
  int64_t addr;
  uint64_t bytes;
  bool write;
};
std::vector<Extent> uopExtents(const UopArgs &u);
/// Empty when `u` may run on `slot`'s sequencer and its parameters are legal, else the reason.
std::string checkUopStatic(const UopWord &w, Slot slot);
/// Empty when every extent of `u` lies in a scratchpad of `spadBytes`, else the reason.
std::string checkUopRanges(const UopArgs &u, uint64_t spadBytes);
/// Empty when a pwl/rsqrt table of `tableBytes` at u.src1 lies in the scratchpad and does not
/// overlap the destination.
std::string checkPwlTable(const UopArgs &u, uint64_t tableBytes, uint64_t spadBytes);
/// Empty when the issue's DMA / matmul / microcode ranges are inside their memories.
std::string checkIssue(const Issue &is, const Limits &lim, const std::vector<UopWord> &ucode);

/// Static checks of one encoded bundle (opcodes defined, canonical NOPs and token fields,
/// loop body >= 1, no write to r0, int4 K even, micro-op indices inside `ucodeWords`).
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
