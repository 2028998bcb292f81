// The overlay in C simulation: the HLS unit datapaths (hw/units) driven either serially
// (functional mode) or as decoupled units with queues, tokens and a cycle model (cycle mode).
#pragma once
#include "mamba2/hw/Board.h"
#include "mamba2/isa/Interp.h"

#include <array>
#include <map>
#include <string>
#include <vector>

namespace mamba2::hw {

/// Runs one issue on the HLS datapaths of `board` after checking every range (a bad range is
/// an error message, never an access). Counts bytes moved and operations into the out params.
std::string executeIssue(const isa::Issue &is, isa::Memory &mem,
                         const std::vector<isa::UopWord> &ucode, const BoardConfig &board,
                         uint64_t *bytes = nullptr, uint64_t *ops = nullptr);
/// The same checks and counts as executeIssue without running the datapaths: no memory, only
/// its sizes. Checks that read data (a pwl table's size from its header) are skipped.
std::string countIssue(const isa::Issue &is, const isa::Limits &lim,
                       const std::vector<isa::UopWord> &ucode, uint64_t *bytes = nullptr,
                       uint64_t *ops = nullptr);

struct UnitCounters {
  uint64_t instructions = 0; // macro-instructions executed
  uint64_t busy = 0;         // cycles executing: loop cycles and pipeline fill
  uint64_t stallToken = 0;   // cycles with an instruction at the head waiting for a token
  uint64_t stallMemory = 0;  // cycles an instruction whose tokens are there waits for the
                             // memory system: a DMA for the DRAM ports (held by the other
                             // engine, or slower than its schedule), any unit for scratchpad
                             // bank ports (its own accesses' conflicts, other units'); not in
                             // busy (docs/overlay.md "Performance counters")
  uint64_t bytes = 0;        // bytes moved (DMA) or read from the scratchpad as weights (matrix)
  uint64_t ops = 0;          // MACs (matrix), element operations (vector, SSM)
};

struct TraceEvent {
  unsigned unit;       // isa::Slot
  uint64_t start, end; // cycles
  uint32_t bundle;
  std::string name; // slot.op
};

/// Functional: serial order, values. Cycle: the decoupled machine with its cycle model, values.
/// Timing: the cycle model alone (counts cycles, computes no values; the same cycle counts and
/// counters as Cycle for programs whose control does not depend on data, which no ISA control
/// operation does).
enum class SimMode { Functional, Cycle, Timing };

struct SimOptions {
  SimMode mode = SimMode::Functional;
  bool trace = false;
  uint64_t maxBundles = uint64_t(1) << 32;
  /// Cycle / timing mode charging only what the HLS top's C simulation counts (issueLoopCost:
  /// each instruction its loops' iterations; no pipeline fill, DRAM latency or port rate, no
  /// sharing of the DRAM ports or the banks between units). Its cycles and counters are the
  /// C-simulated top's (OverlayTop tests); the full model adds what the source cannot see.
  bool sourceCycles = false;
};

struct SimResult {
  std::string error; // empty when the program halted normally
  uint64_t cycles = 0;
  uint64_t bundles = 0;
  std::array<UnitCounters, isa::kNumSlots> units{};
  std::vector<TraceEvent> trace;
};

/// Runs `entry` of `p` on `mem` (sized for `board` by the caller).
SimResult simulate(const isa::Program &p, const std::string &entry, isa::Memory &mem,
                   const BoardConfig &board, const SimOptions &opt);

/// The timing mode without a memory: the scratchpad's and the regions' sizes are all it needs
/// (a 2.7B program's constants need not be copied to time a call). `opt.mode` must be Timing.
SimResult simulateTiming(const isa::Program &p, const std::string &entry, const isa::Limits &lim,
                         const BoardConfig &board, const SimOptions &opt);

/// Cycles the cycle model charges an issue on `board` (DMA: data-phase cycles, without latency
/// or DRAM contention).
uint64_t issueCycles(const isa::Issue &is, const std::vector<isa::UopWord> &ucode,
                     const BoardConfig &board);
/// issueCycles, and of them the cycles the unit waits on the memory system inside its own work:
/// a DMA's bank-conflict cycles and the cycles the DRAM ports' rate adds to the engine's
/// schedule, a matrix micro-op's K steps whose rows share banks. The rest is busy.
struct IssueCost {
  uint64_t cycles = 0, stallMemory = 0;
};
/// The bank waits of matrix micro-ops already walked (matmulConflictCycles, a walk over every K
/// step), by their bank shape: a model's layers repeat the same micro-ops at the same
/// addresses, so a simulation keeps one memo for its run (a 2.7B decode call: 64 layers, each
/// shape walked once). Results are the walk's; the memo only saves repeating it.
class MatmulWaitsMemo {
public:
  uint64_t waits(const isa::UopArgs &u, const BoardConfig &board);
  size_t size() const { return memo_.size(); }

private:
  std::map<std::array<uint64_t, 9>, uint64_t> memo_;
};
/// `memo`: where repeated matrix micro-ops' bank waits are kept (nullptr: walk every time).
IssueCost issueCost(const isa::Issue &is, const std::vector<isa::UopWord> &ucode,
                    const BoardConfig &board, MatmulWaitsMemo *memo = nullptr);
/// The iterations of an issue's loops in the HLS source, what its counters count: DMA the
/// engine's schedule (its bank conflicts stalled on memory), matrix matmulSteps, vector and SSM
/// uopLoopCycles; at least one cycle except a DMA that moves nothing.
IssueCost issueLoopCost(const isa::Issue &is, const std::vector<isa::UopWord> &ucode,
                        const BoardConfig &board, MatmulWaitsMemo *memo = nullptr);

/// The cycle model's cost of one DMA transfer (a load2d / store2d micro-op) of `rows` rows of
/// `rowBytes` bytes, `stride` apart from region byte `dram`: the HLS engine's schedule
/// (hw/units/Dma.h dma_transfer_cycles: spans, waves of `ports` stripes, a beat per port per
/// cycle), or the memory system's rate over the ports it reaches when that is slower.
/// docs/overlay.md gives the formula.
struct DmaCost {
  uint64_t beats = 0, bursts = 0, ports = 0; // beats and stripes it touches, ports it reaches
  uint64_t schedule = 0;                     // cycles of the engine's wave loops
  uint64_t conflicts = 0;   // of them, bank phases after the first (beats sharing banks)
  double bytesPerCycle = 0; // the memory's rate over those ports
  uint64_t cycles = 0;      // data phase, without the DRAM latency
};
DmaCost dmaCostAt(uint64_t dram, uint64_t rows, uint64_t rowBytes, uint64_t stride,
                  const BoardConfig &board);
/// dmaCostAt of a contiguous transfer from region byte 0.
DmaCost dmaCost(uint64_t rows, uint64_t rowBytes, const BoardConfig &board);
/// The share of a port's stripes that live in another HBM stack's channels (stripe s on port
/// s % ports, in channel s % channels): 0 with one stack or one port per channel (U280 as
/// shipped); that traffic crosses the lateral switch at memory.cross_stack_fraction.
double crossStackShare(const BoardConfig &board);
uint64_t dmaTransferCycles(uint64_t rows, uint64_t rowBytes, const BoardConfig &board);
/// The iterations of the matrix unit's II = 1 step loops for one matrix micro-op (units/Matrix.h,
/// what its busy counter counts): matmulCycles without the fill and the bank conflicts.
uint64_t matmulSteps(const isa::UopArgs &u, const BoardConfig &board);
/// The cycles a matrix micro-op's K steps wait for the banks (stalled on memory): over every K
/// step, at its own addresses, the step's bank cycles minus one (units/Matrix.h
/// matmul_step_cycles, which the HLS step loop runs as bank phases).
uint64_t matmulConflictCycles(const isa::UopArgs &u, const BoardConfig &board);
/// The cycles of a vector (`ssm` false) or SSM micro-op's II = 1 loops in the HLS source, what
/// their busy counters count: the unit's cycles without the pipeline fill.
uint64_t uopLoopCycles(const isa::UopArgs &u, const BoardConfig &board, bool ssm);
/// The matrix unit's cycles for one matrix micro-op, pipeline fill included.
uint64_t matmulCycles(const isa::UopArgs &u, const BoardConfig &board);
/// Cycles of the first K step of a matrix micro-op: the words it reads from the scratchpad (the
/// activation tile and mat_n weight rows' tiles, rows `wpitch` apart) counted per bank, two per
/// bank per cycle (bank conflicts of rows whose pitch maps them to the same banks). 1 when they
/// spread.
uint64_t matmulStepCycles(const isa::UopArgs &u, const BoardConfig &board);
/// Scratchpad words (8 bytes) a unit reads + writes per cycle at its nominal rate: the matrix,
/// vector and SSM units their demand (Board.h *SpadDemand), a DMA engine the rate the DMA model
/// streams at (dramBytesPerCycle). 0 for fetch.
uint64_t spadWordsPerCycle(isa::Slot slot, const BoardConfig &board);
/// Bank conflicts between units: `cycles` of scratchpad work while the running units together
/// need `words` words per cycle. The banks serve 2 x banks (two ports each); above that the
/// units take turns: ceil(cycles * words / (2 x banks)), else `cycles`.
uint64_t bankShareCycles(uint64_t cycles, uint64_t words, const BoardConfig &board);
/// The fill of the matrix pipeline for `lanesK` products per dot product: scratchpad read and
/// write latency, the multiplier depth, the adder tree.
uint64_t matmulFill(uint64_t lanesK);

} // namespace mamba2::hw
