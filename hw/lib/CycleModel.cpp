// Per-instruction cycle costs, from the board's unit sizes (lanes, II = 1 pipelines) and the
// pipeline depths below. One place: the resource estimator sizes the same units.
#include "mamba2/hw/Overlay.h"

#include "Dma.h"
#include "Hadamard.h"
#include "Matrix.h"
#include "Ssm.h"
#include "Transpose.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mamba2::hw {

namespace {

uint64_t ceilDiv(uint64_t a, uint64_t b) { return b ? (a + b - 1) / b : 0; }
unsigned log2u(uint64_t v) {
  unsigned l = 0;
  while ((uint64_t(1) << l) < v)
    ++l;
  return l;
}

// Pipeline depths (cycles from first input to first output), from the HLS schedules' shape:
// a multiply, an adder tree over the lanes, the scratchpad read/write latency.
constexpr uint64_t kSpadLatency = 2;
constexpr uint64_t kMulDepth = 3;

// The cycles of a vector / SSM micro-op's II = 1 loops in the HLS source (units/VectorUnit.h,
// Conv.h, Hadamard.h, Ssm.h: what their busy counters count).
uint64_t uopLoopCyclesOf(const isa::UopArgs &u, const BoardConfig &b, bool ssm) {
  const uint64_t lanes = ssm ? b.ssmLanes : b.vecLanes;
  const uint64_t n = u.len, cols = u.p0 < 0 ? 0 : uint64_t(u.p0);
  if (n == 0 || u.op == isa::UopCode::Unop)
    return 0;
  switch (u.op) {
  case isa::UopCode::Fwht:
    // per block and butterfly stage ceil(p/2 / lanes), then per column of the order-h
    // product one read cycle and ceil(h / lanes) output cycles
    return fwht_loop_cycles(u.len, unsigned(lanes));
  case isa::UopCode::Ssmupd:
  case isa::UopCode::Ssmout:
  case isa::UopCode::Ssmstep:
    return n * ceilDiv(cols, lanes); // per state row ceil(N / lanes)
  case isa::UopCode::Pwlmulpwl:
    return 2 * ceilDiv(n, lanes); // II = 2: each lane's table evaluator twice per element
  case isa::UopCode::Trn:
    // tiles of lanes x lanes, a row read and a column written a cycle (units/Transpose.h)
    return transpose_loop_cycles(unsigned(n), unsigned(cols), unsigned(lanes));
  case isa::UopCode::Segdecay:
    // per row max(ceil((Q + 1) / lanes), the row's multiply-round latency) (units/Ssm.h)
    return segdecay_loop_cycles(unsigned(n), unsigned(lanes));
  default:
    return ceilDiv(n, lanes); // element-wise, sumsq, conv4, pwl, rsqrt: lanes per cycle
  }
}

uint64_t uopCycles(const isa::UopArgs &u, const BoardConfig &b, bool ssm) {
  const uint64_t lanes = ssm ? b.ssmLanes : b.vecLanes;
  const uint64_t n = u.len;
  if (n == 0 || u.op == isa::UopCode::Unop)
    return 1;
  const uint64_t fill = kSpadLatency * 2 + kMulDepth, loops = uopLoopCyclesOf(u, b, ssm);
  switch (u.op) {
  case isa::UopCode::Fwht:
    return loops + fill + log2u(n % 40 == 0 ? 40 : n % 12 == 0 ? 12 : 1);
  case isa::UopCode::Sumsq:
    return loops + fill + log2u(lanes); // the lanes' partial sums through an adder tree
  case isa::UopCode::Mulsumsq:
    // mulsh32's pipeline, then the product's square (a second multiplier per lane) and sumsq's
    // adder tree: one pass over the data where mulsh32 + sumsq take two.
    return loops + fill + kMulDepth + log2u(lanes);
  case isa::UopCode::Addsumsq:
    // add32's pipeline, then the sum's square (the lane's second multiplier, as mulsumsq's) and
    // sumsq's adder tree: one pass over the data where add32 + sumsq take two.
    return loops + fill + kMulDepth + log2u(lanes);
  case isa::UopCode::Conv4:
    return loops + fill + 2;
  case isa::UopCode::Conv4pwl:
    // conv4's pipeline, then the multiply by m[c] and the table (segment index, the table's
    // read, the slope's multiply): one pass where conv4 + mulsh32 + pwl take three.
    return loops + fill + 2 + kMulDepth + kSpadLatency + kMulDepth;
  case isa::UopCode::Pwlmulpwl:
    // pwl's pipeline, then the multiply by m and the second table (its read and the slope's
    // multiply): one micro-op where pwl + mulsh32 (on the vector unit) + pwl take three, with
    // two hand-offs between the units.
    return loops + fill + kMulDepth + kSpadLatency + kMulDepth;
  case isa::UopCode::Trn:
    // the tile loop (its drain included), then a read and a write with a rotator on each side
    // instead of a multiplier
    return loops + kSpadLatency * 2 + 2;
  case isa::UopCode::Ssmupd:
  case isa::UopCode::Ssmout:
  case isa::UopCode::Ssmstep:
    // One pipeline for the three (units/Ssm.h): the update's multiply and saturating add, the
    // output's multiply by C and the adder tree over the lanes.
    return loops + fill + 1 + kMulDepth + log2u(lanes);
  default:
    return loops + fill;
  }
}

// The iterations of the matrix unit's II = 1 step loop (units/Matrix.h) that advance it (its
// busy counter): per row and N tile max(1, ceil(K / lanes)) K tiles, grouped: per K-group
// T = ceil(group / lanes) tiles and C = ceil(matN / scaleLanes) scaling cycles overlapped with
// the next group's tiles (the hand-off waits for the previous group's scaling), so
// T + (G - 1) * max(T, C) + C. The K steps' bank phases come on top (matmulConflictsOf).
uint64_t matmulStepsOf(const isa::UopArgs &u, const BoardConfig &b) {
  const uint64_t lk = u.isInt4() ? b.matKInt4() : b.matK;
  // K = 0 still runs one step per tile (it hands the zero sums over: `acc = 0` or unchanged).
  if (!u.isGrouped())
    return uint64_t(u.m) * ceilDiv(u.n, b.matN) * std::max<uint64_t>(1, ceilDiv(u.k, lk));
  const uint64_t groups = u.group ? u.k / u.group : 0;
  if (groups == 0)
    return 0;
  const uint64_t T = ceilDiv(u.group, lk), C = ceilDiv(b.matN, b.scaleLanes());
  return uint64_t(u.m) * ceilDiv(u.n, b.matN) * (T + (groups - 1) * std::max(T, C) + C);
}

// The cycles a matrix micro-op's step loop waits for the banks (target/MatrixBanks.h, at every
// K step's addresses, as units/Matrix.h runs its bank phases); `first`: the first step's cycles.
uint64_t matmulConflictsOf(const isa::UopArgs &u, const BoardConfig &b, bool first = false) {
  const MatmulArgs a = matmul_args(u);
  target::MatmulBankShape s;
  s.act = a.act;
  s.wgt = a.wgt;
  s.pitch = a.pitch;
  s.m = a.m;
  s.k = a.k;
  s.n = a.n;
  s.int4 = a.int4;
  s.grouped = a.grouped;
  s.group = a.group;
  s.scl = a.scl; // the scaler's reads are in the banks' count (units/Matrix.h)
  s.scaleLanes = b.scaleLanes();
  return target::matmulBankWaits(s, b.spadBanks(), BoardConfig::spadWordBytes(), b.matN,
                                 a.int4 ? b.matKInt4() : b.matK, first);
}

// `waits`: matmulConflictsOf(u, b), walked by the caller.
uint64_t matmulCyclesOf(const isa::UopArgs &u, const BoardConfig &b, uint64_t waits) {
  const uint64_t lk = u.isInt4() ? b.matKInt4() : b.matK;
  const uint64_t fill = matmulFill(lk);
  const uint64_t steps = matmulStepsOf(u, b) + waits;
  if (!u.isGrouped())
    return steps + fill;
  if (u.group == 0 || u.k / u.group == 0)
    return fill;
  return steps + fill + kMulDepth;
}

} // namespace

double crossStackShare(const BoardConfig &b) {
  // Stripe s goes to port s % P and lives in channel s % C; a port's home stack is the stack of
  // the channels it sits next to (p * stacks / P), a channel's stack c * stacks / C. Port p
  // sees the channels c = p (mod gcd(P, C)); the share is over all such (port, channel) pairs.
  const uint64_t P = b.axiPorts, C = b.memChannels, S = b.memStacks;
  if (S <= 1 || P == 0 || C == 0)
    return 0;
  uint64_t g = P, r = C;
  while (r) {
    uint64_t t = g % r;
    g = r;
    r = t;
  }
  uint64_t pairs = 0, cross = 0;
  for (uint64_t p = 0; p < P; ++p)
    for (uint64_t c = p % g; c < C; c += g) {
      ++pairs;
      cross += (p * S / P) != (c * S / C);
    }
  return double(cross) / double(pairs);
}

DmaCost dmaCostAt(uint64_t dram, uint64_t rows, uint64_t rowBytes, uint64_t stride,
                  const BoardConfig &b) {
  DmaCost c;
  if (rows == 0 || rowBytes == 0)
    return c;
  const unsigned beat = b.axiBits / 8, P = b.axiPorts, SB = b.stripeBytes;
  // The HLS engine's schedule (hw/units/Dma.h): one span when the rows are contiguous, else one
  // per row; each span's stripes in waves of P, a wave's beats at one per cycle on each port.
  // Beats of a wave that land in the same banks take turns (bank phases): the conflicts.
  const DmaArgs a{0, dram, unsigned(rows), unsigned(rowBytes), unsigned(stride)};
  const DmaCycles loops =
      dma_transfer_cycles(a, beat, P, SB, b.spadBanks() * BoardConfig::spadWordBytes());
  c.schedule = loops.cycles;
  c.conflicts = loops.conflicts;
  auto span = [&](uint64_t o, uint64_t len) {
    c.beats += (o + len + beat - 1) / beat - o / beat;
    c.bursts += (o + len - 1) / SB - o / SB + 1; // one burst per stripe it touches
  };
  if (dma_one_span(a))
    span(dram, rows * rowBytes);
  else
    for (uint64_t r = 0; r < rows; ++r)
      span(dram + r * stride, rowBytes);
  // Consecutive stripes are on consecutive ports: a transfer of fewer stripes than ports
  // reaches only as many (requests stay outstanding on a port while the engine moves on).
  c.ports = std::min<uint64_t>(P, c.bursts);
  const double clockGHz = b.clockMhz / 1e3;
  // One port: at most one beat per cycle, its achievable bandwidth, and by Little's law at most
  // `outstanding` bursts per DRAM latency.
  const double latencyCycles = std::max(1.0, b.dramLatencyNs * clockGHz);
  const double avgBurstBytes = double(c.beats * beat) / double(c.bursts);
  double port = std::min({double(beat), b.portAchievableGBps / clockGHz,
                          b.portOutstanding * avgBurstBytes / latencyCycles});
  // HBM: the share x of a port's stripes in another stack's channels crosses the lateral
  // switch at crossStackFraction f of the rate: the port moves its data in (1 - x) + x / f of
  // the time.
  const double x = crossStackShare(b);
  if (x > 0 && b.crossStackFraction > 0)
    port /= (1 - x) + x / b.crossStackFraction;
  // All ports together: at most the DRAM's achievable bandwidth.
  c.bytesPerCycle = std::min(double(c.ports) * port, b.dramAchievableGBps / clockGHz);
  // The engine's schedule, or the memory's rate when that is slower (the ports back-pressure).
  const uint64_t data = uint64_t(std::ceil(double(c.beats * beat) / c.bytesPerCycle - 1e-9));
  c.cycles = std::max(c.schedule, data);
  return c;
}

DmaCost dmaCost(uint64_t rows, uint64_t rowBytes, const BoardConfig &b) {
  return dmaCostAt(0, rows, rowBytes, rowBytes, b);
}

uint64_t dmaTransferCycles(uint64_t rows, uint64_t rowBytes, const BoardConfig &b) {
  return dmaCost(rows, rowBytes, b).cycles;
}

uint64_t matmulCycles(const isa::UopArgs &u, const BoardConfig &b) {
  return matmulCyclesOf(u, b, matmulConflictsOf(u, b));
}

uint64_t MatmulWaitsMemo::waits(const isa::UopArgs &u, const BoardConfig &b) {
  // What matmulConflictsOf reads: the micro-op's addresses, pitch, shape, kind and group, and
  // the board's banks and tile sizes.
  const MatmulArgs a = matmul_args(u);
  const std::array<uint64_t, 9> key{a.act,
                                    a.wgt,
                                    a.grouped ? a.scl : 0,
                                    a.pitch,
                                    uint64_t(a.m) << 32 | a.k,
                                    uint64_t(a.n) << 32 | a.group,
                                    uint64_t(a.int4) | uint64_t(a.grouped) << 1,
                                    uint64_t(b.spadBanks()) << 32 | b.matN,
                                    uint64_t(b.matK) << 32 | b.matKInt4()};
  auto it = memo_.find(key);
  if (it == memo_.end())
    it = memo_.emplace(key, matmulConflictsOf(u, b)).first;
  return it->second;
}

uint64_t matmulSteps(const isa::UopArgs &u, const BoardConfig &b) { return matmulStepsOf(u, b); }

uint64_t matmulConflictCycles(const isa::UopArgs &u, const BoardConfig &b) {
  return matmulConflictsOf(u, b);
}

uint64_t uopLoopCycles(const isa::UopArgs &u, const BoardConfig &b, bool ssm) {
  return uopLoopCyclesOf(u, b, ssm);
}

uint64_t matmulStepCycles(const isa::UopArgs &u, const BoardConfig &b) {
  return matmulConflictsOf(u, b, true);
}

uint64_t spadWordsPerCycle(isa::Slot slot, const BoardConfig &b) {
  double bytes = 0;
  switch (slot) {
  case isa::Slot::Load:
  case isa::Slot::Store:
    bytes = b.dramBytesPerCycle(); // the rate the DMA model streams at
    break;
  case isa::Slot::Matrix:
    bytes = b.matrixSpadDemand();
    break;
  case isa::Slot::Vector:
    bytes = b.vectorSpadDemand();
    break;
  case isa::Slot::Ssm:
    bytes = b.ssmSpadDemand();
    break;
  default:
    return 0;
  }
  return uint64_t(std::ceil(bytes / BoardConfig::spadWordBytes() - 1e-9));
}

uint64_t bankShareCycles(uint64_t cycles, uint64_t words, const BoardConfig &b) {
  // Two ports per bank: 2 x banks words per cycle in all. Units that together need more take
  // turns (an arbiter per bank port): their cycles stretch by words / (2 x banks).
  const uint64_t slots = 2 * uint64_t(b.spadBanks());
  return words <= slots ? cycles : ceilDiv(cycles * words, slots);
}

uint64_t matmulFill(uint64_t lanesK) { return kSpadLatency * 2 + kMulDepth + log2u(lanesK); }

namespace {

// The walk over an issue's micro-ops (every iteration of its run) that issueCost and
// issueLoopCost share; `charge(u, c)` adds one micro-op's cycles and stalls. Control takes one
// cycle; a DMA run without rows moves nothing and takes no DRAM time; other units take a cycle.
template <class Charge>
IssueCost walkIssue(const isa::Issue &is, const std::vector<isa::UopWord> &ucode, Charge charge) {
  IssueCost c;
  if (is.slot == isa::Slot::Ctrl) {
    c.cycles = 1;
    return c;
  }
  const bool dma = is.slot == isa::Slot::Load || is.slot == isa::Slot::Store;
  for (uint32_t it = 0; it < is.run.iters; ++it)
    for (uint32_t i = 0; i < is.run.ulen; ++i) {
      if (!is.inlineUop && is.run.ustart + i >= ucode.size())
        continue;
      const isa::UopArgs u = isa::resolveUop(is.word(ucode, i), is.run, it);
      if (u.isDma() || u.isMatrix() || !dma)
        charge(u, c);
    }
  if (!dma)
    c.cycles = std::max<uint64_t>(c.cycles, 1);
  return c;
}

} // namespace

IssueCost issueCost(const isa::Issue &is, const std::vector<isa::UopWord> &ucode,
                    const BoardConfig &b, MatmulWaitsMemo *memo) {
  return walkIssue(is, ucode, [&](const isa::UopArgs &u, IssueCost &c) {
    if (u.isDma()) {
      // The engine moves beats for schedule - conflicts cycles; the rest of its time it waits
      // for bank ports (conflicts) or for the DRAM ports (their rate below the schedule's).
      const DmaCost d = dmaCostAt(uint64_t(u.src1 < 0 ? 0 : u.src1), u.rows, u.rowb, u.stride, b);
      c.cycles += d.cycles;
      c.stallMemory += d.cycles - (d.schedule - d.conflicts);
    } else if (u.isMatrix()) {
      const uint64_t waits = memo ? memo->waits(u, b) : matmulConflictsOf(u, b);
      c.cycles += matmulCyclesOf(u, b, waits);
      c.stallMemory += waits; // K steps whose words share banks
    } else {
      c.cycles += uopCycles(u, b, is.slot == isa::Slot::Ssm);
    }
  });
}

uint64_t issueCycles(const isa::Issue &is, const std::vector<isa::UopWord> &ucode,
                     const BoardConfig &b) {
  return issueCost(is, ucode, b).cycles;
}

IssueCost issueLoopCost(const isa::Issue &is, const std::vector<isa::UopWord> &ucode,
                        const BoardConfig &b, MatmulWaitsMemo *memo) {
  return walkIssue(is, ucode, [&](const isa::UopArgs &u, IssueCost &c) {
    if (u.isDma()) {
      const DmaCost d = dmaCostAt(uint64_t(u.src1 < 0 ? 0 : u.src1), u.rows, u.rowb, u.stride, b);
      c.cycles += d.schedule;
      c.stallMemory += d.conflicts;
    } else if (u.isMatrix()) {
      // the step loop's bank phases
      const uint64_t waits = memo ? memo->waits(u, b) : matmulConflictsOf(u, b);
      c.cycles += matmulSteps(u, b) + waits;
      c.stallMemory += waits;
    } else {
      c.cycles += uopLoopCyclesOf(u, b, is.slot == isa::Slot::Ssm);
    }
  });
}

} // namespace mamba2::hw
