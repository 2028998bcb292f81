// Functional mode: the serial order (isa::interpret) on the HLS datapaths.
// Cycle mode: a fetch unit dispatching bundles into per-unit queues, units starting when their
// token is there, DMA engines sharing the DRAM, time advancing from event to event.
// Timing mode: the cycle mode without the datapaths (the same checks, counts and cycles).
#include "mamba2/hw/Overlay.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace mamba2::hw {

namespace {

std::string opName(const isa::Issue &is) {
  const isa::OpInfo *o = isa::findOp(is.slot, is.op);
  return std::string(isa::kSlotNames[unsigned(is.slot)]) + "." + (o ? o->name : "?");
}

SimResult functional(const isa::Program &p, const std::string &entry, isa::Memory &mem,
                     const BoardConfig &board, const SimOptions &opt) {
  SimResult r;
  auto exec = [&](const isa::Issue &is, isa::Memory &m) {
    UnitCounters &c = r.units[unsigned(is.slot)];
    ++c.instructions;
    return executeIssue(is, m, p.ucode, board, &c.bytes, &c.ops);
  };
  isa::InterpResult ir = isa::interpret(p, entry, mem, opt.maxBundles, exec);
  r.error = ir.error;
  r.bundles = ir.bundles;
  r.units[0].instructions = ir.issued[0];
  return r;
}

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kSemMax = 0xFFFF;

struct Queued {
  isa::Issue is;
  uint64_t ready; // cycle it reaches the unit
};

struct Unit {
  std::deque<Queued> q;
  bool running = false;
  uint64_t finish = 0; // the unit can start its next instruction
};

// An instruction whose result is on its way: its token is given at `done` (for a DMA that is
// after the DRAM latency, while the engine already streams the next request).
struct InFlight {
  uint64_t done;
  isa::Issue is;
  uint64_t start;
};

// `mem` is null in timing mode (nothing is read or written there; `lim` gives its sizes).
SimResult cycle(const isa::Program &p, const std::string &entry, isa::Memory *mem,
                const isa::Limits &lim, const BoardConfig &board, const SimOptions &opt) {
  SimResult r;
  const isa::Symbol *e = p.entry(entry);
  if (!e) {
    r.error = "no entry point named '" + entry + "'";
    return r;
  }
  isa::Sequencer seq(p.bundles, e->bundle);
  std::array<Unit, isa::kNumSlots> units;
  std::array<uint32_t, isa::kNumSems> sems{};
  const uint64_t latency = uint64_t(std::llround(board.dramLatencyNs * board.clockMhz / 1000.0));
  uint64_t now = 0, fetchReady = 0, dramFree = 0;
  std::vector<isa::Issue> issued;
  std::vector<InFlight> inflight;
  bool fetchStalledOnToken = false;
  MatmulWaitsMemo memo; // matrix micro-ops' bank waits, each shape walked once per call

  auto fail = [&](const std::string &msg) {
    r.error = msg;
    r.cycles = now;
  };

  for (;;) {
    bool progress = true;
    while (progress) {
      progress = false;
      // Completions: free units, then give the tokens of results that have arrived.
      for (unsigned u = 1; u < isa::kNumSlots; ++u)
        if (units[u].running && units[u].finish <= now) {
          units[u].running = false;
          progress = true;
        }
      for (size_t i = 0; i < inflight.size();) {
        if (inflight[i].done > now) {
          ++i;
          continue;
        }
        const InFlight f = inflight[i];
        inflight.erase(inflight.begin() + long(i));
        unsigned u = unsigned(f.is.slot);
        if (f.is.sen) {
          if (sems[f.is.ssem] == kSemMax)
            return fail("cycle " + std::to_string(now) + ": bundle " + std::to_string(f.is.bundle) +
                        ", " + isa::kSlotNames[u] + " unit: semaphore " +
                        std::to_string(f.is.ssem) + " overflows"),
                   r;
          ++sems[f.is.ssem];
        }
        if (opt.trace)
          r.trace.push_back({u, f.start, f.done, f.is.bundle, opName(f.is)});
        progress = true;
      }
      // Starts: the head of each idle unit's queue, once its token is there.
      for (unsigned u = 1; u < isa::kNumSlots; ++u) {
        Unit &un = units[u];
        if (un.running || un.q.empty() || un.q.front().ready > now)
          continue;
        const isa::Issue &is = un.q.front().is;
        if (is.wen && sems[is.wsem] == 0)
          continue;
        if (is.wen)
          --sems[is.wsem];
        UnitCounters &c = r.units[u];
        std::string err = opt.mode == SimMode::Timing
                              ? countIssue(is, lim, p.ucode, &c.bytes, &c.ops)
                              : executeIssue(is, *mem, p.ucode, board, &c.bytes, &c.ops);
        if (!err.empty())
          return fail("bundle " + std::to_string(is.bundle) + ", " + isa::kSlotNames[u] +
                      " unit: " + err),
                 r;
        const IssueCost cost = opt.sourceCycles ? issueLoopCost(is, p.ucode, board, &memo)
                                                : issueCost(is, p.ucode, board, &memo);
        uint64_t work = cost.cycles;
        // Busy: the unit's loops and fill; stalled on memory: its own bank conflicts and the
        // DRAM ports' rate (issueCost), and the turns below.
        c.busy += work - cost.stallMemory;
        c.stallMemory += cost.stallMemory;
        // Bank conflicts with the units running now: together they may need more words per
        // cycle than the banks' ports serve; this instruction's cycles then take turns with
        // theirs (bankShareCycles; the extra cycles count as stalled on memory).
        uint64_t words = spadWordsPerCycle(is.slot, board);
        for (unsigned v = 1; v < isa::kNumSlots; ++v)
          if (v != u && units[v].running)
            words += spadWordsPerCycle(isa::Slot(v), board);
        if (work && !opt.sourceCycles) {
          const uint64_t shared = bankShareCycles(work, words, board);
          c.stallMemory += shared - work;
          work = shared;
        }
        uint64_t begin = now, lat = 0;
        if ((is.slot == isa::Slot::Load || is.slot == isa::Slot::Store) && work &&
            !opt.sourceCycles) {
          begin = std::max(now, dramFree); // the two DMA engines share the DRAM
          c.stallMemory += begin - now;
          dramFree = begin + work;
          lat = latency; // outstanding AXI requests: the engine is free once its data phase ends
        }
        un.finish = begin + work;
        un.running = true;
        inflight.push_back({begin + work + lat, is, now});
        ++c.instructions;
        un.q.pop_front();
        progress = true;
      }
      // Fetch: one bundle per cycle while every queue it needs has room.
      fetchStalledOnToken = false;
      if (!seq.done() && fetchReady <= now) {
        if (r.bundles >= opt.maxBundles)
          return fail("stopped after " + std::to_string(opt.maxBundles) + " bundles"), r;
        const isa::Bundle &b = p.bundles[seq.pc()];
        // A unit's instruction stream holds queueDepth entries; a free unit takes the next
        // one out to its head once it has arrived (as the HLS top's units read their streams),
        // so the instruction waiting there for its token leaves room behind it.
        bool room = true;
        for (unsigned u = 1; u < isa::kNumSlots; ++u) {
          const Unit &un = units[u];
          const size_t held = !un.running && !un.q.empty() && un.q.front().ready <= now ? 1 : 0;
          if (!b.slot[u].isZero() && un.q.size() - held >= board.queueDepth)
            room = false;
        }
        const isa::SlotWord &c = b[isa::Slot::Ctrl];
        bool cw = c.raw(isa::field::none::wen);
        unsigned cs = unsigned(c.raw(isa::field::none::wsem));
        if (room && cw && sems[cs] == 0)
          fetchStalledOnToken = true;
        else if (room) {
          if (cw)
            --sems[cs];
          issued.clear();
          uint32_t pc = seq.pc();
          seq.issue(issued);
          ++r.bundles;
          if (c.raw(isa::field::none::op)) {
            ++r.units[0].instructions;
            ++r.units[0].busy;
          }
          if (c.raw(isa::field::none::sen)) {
            unsigned s = unsigned(c.raw(isa::field::none::ssem));
            if (sems[s] == kSemMax)
              return fail("bundle " + std::to_string(pc) + ", ctrl unit: semaphore " +
                          std::to_string(s) + " overflows"),
                     r;
            ++sems[s];
          }
          for (const isa::Issue &is : issued)
            units[unsigned(is.slot)].q.push_back({is, now + 1});
          fetchReady = now + 1;
          progress = true;
        }
      }
    }
    if (!seq.error().empty())
      return fail(seq.error()), r;
    bool idle = inflight.empty();
    for (unsigned u = 1; u < isa::kNumSlots; ++u)
      idle = idle && !units[u].running && units[u].q.empty();
    if (seq.halted() && idle)
      break;
    // Next event.
    uint64_t next = kNever;
    for (unsigned u = 1; u < isa::kNumSlots; ++u) {
      if (units[u].running)
        next = std::min(next, units[u].finish);
      if (!units[u].running && !units[u].q.empty() && units[u].q.front().ready > now)
        next = std::min(next, units[u].q.front().ready);
    }
    for (const InFlight &f : inflight)
      next = std::min(next, f.done);
    if (!seq.done() && fetchReady > now)
      next = std::min(next, fetchReady);
    if (next == kNever) {
      // Nothing runs and nothing will: some unit (or fetch) waits for a token nobody can give.
      for (unsigned u = 1; u < isa::kNumSlots; ++u)
        if (!units[u].q.empty() && units[u].q.front().is.wen)
          return fail("deadlock at cycle " + std::to_string(now) + ": bundle " +
                      std::to_string(units[u].q.front().is.bundle) + ", " + isa::kSlotNames[u] +
                      " unit waits on semaphore " + std::to_string(units[u].q.front().is.wsem) +
                      " which no queued or running instruction will signal"),
                 r;
      if (fetchStalledOnToken)
        return fail("deadlock at cycle " + std::to_string(now) + ": bundle " +
                    std::to_string(seq.pc()) + ", ctrl unit waits on semaphore " +
                    std::to_string(
                        p.bundles[seq.pc()][isa::Slot::Ctrl].raw(isa::field::none::wsem)) +
                    " which no queued or running instruction will signal"),
               r;
      return fail("deadlock at cycle " + std::to_string(now) + ": fetch stalled at bundle " +
                  std::to_string(seq.pc())),
             r;
    }
    for (unsigned u = 1; u < isa::kNumSlots; ++u) {
      const Unit &un = units[u];
      if (!un.running && !un.q.empty() && un.q.front().ready <= now && un.q.front().is.wen)
        r.units[u].stallToken += next - now;
    }
    if (fetchStalledOnToken)
      r.units[0].stallToken += next - now;
    now = next;
  }
  r.cycles = now;
  return r;
}

} // namespace

SimResult simulate(const isa::Program &p, const std::string &entry, isa::Memory &mem,
                   const BoardConfig &board, const SimOptions &opt) {
  return opt.mode == SimMode::Functional ? functional(p, entry, mem, board, opt)
                                         : cycle(p, entry, &mem, mem.limits(), board, opt);
}

SimResult simulateTiming(const isa::Program &p, const std::string &entry, const isa::Limits &lim,
                         const BoardConfig &board, const SimOptions &opt) {
  if (opt.mode != SimMode::Timing) {
    SimResult r;
    r.error = "simulateTiming runs the timing mode only (functional and cycle modes compute "
              "values in a memory)";
    return r;
  }
  return cycle(p, entry, nullptr, lim, board, opt);
}

} // namespace mamba2::hw
