// The emitter's instruction list and its scheduler (internal to compiler/lib/CodeGen).
//
// An entry point is first a list of unit instructions in program order, each with the
// scratchpad and DRAM ranges it reads and writes. The scheduler finds the cross-unit
// dependencies (read/write, write/read and write/write overlaps; a unit runs its own queue in
// order), keeps only those not already implied (vector clocks over the units' queues), gives each
// a semaphore of its (producer unit, consumer unit) channel, adds fence instructions where one
// instruction must wait on or signal more than one channel, and packs the list into bundles:
// each instruction goes to the earliest bundle after its unit's previous one and after the
// bundles of the instructions it waits for.
#pragma once

#include "mamba2/isa/Encoding.h"
#include "mamba2/isa/Program.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mamba2::codegen {

/// A byte range of one memory: space 0 is the scratchpad, 1 + r DRAM region r.
struct Access {
  uint8_t space = 0;
  uint64_t lo = 0, hi = 0; // [lo, hi)
  bool write = false;
};

struct Inst {
  isa::Slot unit = isa::Slot::Ctrl;
  isa::SlotWord word; // opcode and operands; the token fields are the scheduler's
  std::vector<Access> access;
  std::string what; // the op it comes from, for listings
  long op = -1;     // index of that op in the function body (-1: none)
  /// A `run`'s micro-ops: the emitter places them in the microcode store (and sets `ustart`)
  /// once it knows which instructions the program keeps (a layer loop keeps one iteration's).
  std::vector<isa::UopWord> uops;
};

/// A per-layer hardware loop over part of an entry's instruction list: insts[begin, end) is
/// one iteration (its first copy, with that iteration's DRAM offsets), run `count` times;
/// iteration k adds k * delta[i] to the DRAM offset of body instruction i (through a scalar
/// register per distinct delta, advanced by ctrl.addi at the end of the body).
struct LoopPlan {
  size_t begin = 0, end = 0;
  unsigned count = 0;         // >= 2
  std::vector<int64_t> delta; // per body instruction: DRAM bytes per iteration (0: fixed)
  /// Runs whose micro-ops differ per iteration (immediates): each iteration's are a block of
  /// `ustride` words in the store, iteration k's at k * ustride from the first; the run adds a
  /// register advanced by `ustride` (its `ureg`) to its ustart. Per body instruction: its
  /// micro-ops' offset inside a block, -1 when they are the same every iteration.
  uint32_t ustride = 0;
  std::vector<int32_t> uoff;
};

struct ScheduleResult {
  std::vector<isa::Bundle> bundles;
  size_t instructions = 0, fences = 0;
  /// A failed check of a shared semaphore: the channel (from, to) to plan again without
  /// sharing (SemTable::noShare); -1: none.
  std::pair<int, int> unshare{-1, -1};
  size_t syncs = 0; // ctrl.sync barriers: channels without a semaphore, a loop's drains (a loop
                    // body's counted once)
  std::string error;
};

/// Channel -> semaphore assignment of one entry point (its semaphore map in the container).
struct SemTable {
  int sem[isa::kNumSlots][isa::kNumSlots];
  bool viaCtrl[isa::kNumSlots][isa::kNumSlots] = {}; // channels that go through ctrl.sync
  /// Channels that share another's semaphore: (from, to) uses the semaphore of
  /// (shareWith[from][to], to) (-1: its own). Only channels into one unit whose waits interleave
  /// provably (schedule checks it and fails otherwise; docs/codegen.md "Shared semaphores").
  int shareWith[isa::kNumSlots][isa::kNumSlots];
  bool noShare[isa::kNumSlots][isa::kNumSlots] = {}; // planChannels never shares these
  unsigned used = 0;
  unsigned limit = isa::kNumSems; // semaphores the entry may use (fewer: tests of the paths)
  SemTable() {
    for (auto &r : sem)
      for (int &s : r)
        s = -1;
    for (auto &r : shareWith)
      for (int &s : r)
        s = -1;
  }
  /// The map as the container records it (isa::Symbol::channels), by semaphore.
  std::vector<isa::SemChannel> channels() const;
};

/// Decides which channels of all entry points get a semaphore and which go through ctrl.sync
/// (when there are more than semaphores; a semaphore has one waiting unit in an entry; the
/// emitter plans each entry alone, several entries here share one map).
/// `required` lists (producer unit, consumer unit) channels that must keep a semaphore (a
/// layer loop's drains). `weights` (one per entry, default 1) scale each entry's waits: the
/// emitter gives the prefill 1 / t_block and the decode 1, i.e. waits per token.
/// With `share`, channels into one unit whose waits interleave provably (each producer known
/// complete before the next one starts, in the consumer's order of waits) share a semaphore
/// first (SemTable::shareWith; schedule() checks the sharing on its own analysis and fails
/// otherwise: plan again without).
void planChannels(const std::vector<const std::vector<Inst> *> &entries, SemTable &sems,
                  const std::vector<std::pair<unsigned, unsigned>> &required = {},
                  const std::vector<double> &weights = {}, bool share = false);
/// Schedules `insts` (program order; the last must be ctrl.halt) into bundles. With `loop`, the
/// body becomes a ctrl.loop (see LoopPlan and docs/codegen.md "Layer loops"): every unit drains
/// before the loop and after it, and a dependency on the previous iteration waits on a token
/// the previous iteration signals (before the first iteration, a fence after the prologue).
ScheduleResult schedule(const std::vector<Inst> &insts, SemTable &sems,
                        const LoopPlan *loop = nullptr);
/// The channels the drains of the loop of `insts` use (for planChannels).
std::vector<std::pair<unsigned, unsigned>> loopChannels(const std::vector<Inst> &insts,
                                                        const LoopPlan &loop);

} // namespace mamba2::codegen
