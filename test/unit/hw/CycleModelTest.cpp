// Closed-form tests of the cycle model (hw/lib/CycleModel.cpp): each cost against its formula,
// written out here from the board description rather than read back from the model.
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/target/MatrixBanks.h"

#include "Matrix.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace mamba2;

namespace {

const hw::BoardConfig &board(const char *name) { return *hw::findBoard(name); }

// One port's sustained bytes per cycle: one beat, and its achievable bandwidth.
double portBytesPerCycle(const hw::BoardConfig &b) {
  return std::min(b.axiBits / 8.0, b.portAchievableGBps * 1e3 / b.clockMhz);
}

isa::UopArgs matmul(unsigned m, unsigned k, unsigned n, bool int4) {
  isa::UopArgs u;
  u.op = int4 ? isa::UopCode::Mm4 : isa::UopCode::Mm8;
  u.m = m;
  u.k = k;
  u.n = n;
  return u;
}

unsigned log2u(unsigned v) { return unsigned(std::ceil(std::log2(double(v)))); }

} // namespace

// A DMA of N contiguous bytes over P ports: N / stripe bursts dealt to the ports in turn, each
// port one beat per cycle at most its achievable bandwidth, all of them at most the DRAM's.
TEST(CycleModel, DmaOfNBytesOverPPorts) {
  for (const hw::BoardConfig &b : hw::boards()) {
    const uint64_t n = uint64_t(1) << 20; // 1 MiB: at least 256 bursts, more than any P
    const double rate =
        std::min(b.axiPorts * portBytesPerCycle(b), b.dramAchievableGBps * 1e3 / b.clockMhz);
    hw::DmaCost c = hw::dmaCost(1, n, b);
    EXPECT_EQ(c.ports, b.axiPorts) << b.name;
    EXPECT_EQ(c.bursts, n / b.stripeBytes) << b.name;
    EXPECT_EQ(c.cycles, uint64_t(std::ceil(double(n) / rate))) << b.name;
    // never above width x clock x ports
    EXPECT_LE(double(n) / double(c.cycles), b.axiPorts * b.axiBits / 8.0) << b.name;
  }
  // U280: 32 ports x 13 GB/s = 416 GB/s = 1664 B/cycle at 250 MHz.
  EXPECT_EQ(hw::dmaTransferCycles(1, uint64_t(1) << 20, board("u280")), 631u); // 1048576 / 1664
  // KV260: 2 x 128-bit ports at 250 MHz carry 8 GB/s, below the DDR's 16.3.
  EXPECT_EQ(hw::dmaTransferCycles(1, uint64_t(1) << 20, board("kv260")), 32768u); // / 32 B
}

TEST(CycleModel, SmallTransferUsesOnlyThePortsItsBurstsReach) {
  const hw::BoardConfig &u = board("u280");
  // 128 bytes: two 64-byte beats, one 256-byte stripe, one port at 13 GB/s = 52 B/cycle.
  hw::DmaCost c = hw::dmaCost(1, 128, u);
  EXPECT_EQ(c.beats, 2u);
  EXPECT_EQ(c.ports, 1u);
  EXPECT_EQ(c.cycles, 3u); // ceil(128 / 52)
  // 2 KiB: eight stripes on eight ports: ceil(2048 / (8 x 52)) = 5.
  EXPECT_EQ(hw::dmaCost(1, 2048, u).ports, 8u);
  EXPECT_EQ(hw::dmaTransferCycles(1, 2048, u), 5u);
  // A row is whole beats: 65 bytes move two beats.
  EXPECT_EQ(hw::dmaCost(1, 65, u).beats, 2u);
  // 64 rows of 64 bytes contiguous in DRAM (as in the scratchpad): the engine moves them as one
  // span of 4096 bytes, 16 stripes on 16 ports in one wave of 4 beats; the ports' rate rules:
  // max(4, ceil(4096 / (16 x 52))) = 5.
  EXPECT_EQ(hw::dmaCost(64, 64, u).schedule, 4u);
  EXPECT_EQ(hw::dmaTransferCycles(64, 64, u), 5u);
  // Rows apart in DRAM are spans of their own: rows of one byte still move a whole beat each,
  // one wave of one beat per row.
  const hw::DmaCost strided = hw::dmaCostAt(0, 100, 1, 64, u);
  EXPECT_EQ(strided.beats, 100u);
  EXPECT_EQ(strided.schedule, 100u);
  // A span that starts inside a stripe: bytes 200..711 touch stripes 0..2 (beats 3, 0..3,
  // 0..3 of 256-byte stripes): one wave of beats 0..3.
  const hw::DmaCost mid = hw::dmaCostAt(200, 1, 512, 512, u);
  EXPECT_EQ(mid.bursts, 3u);
  EXPECT_EQ(mid.beats, 9u); // beats 3..11 of the region
  EXPECT_EQ(mid.schedule, 4u);
}

TEST(CycleModel, OutstandingRequestsBoundAPortByLittlesLaw) {
  // With one request in flight a port moves one burst per DRAM latency: rows of one 64-byte
  // beat (one burst each) then move 64 bytes per 37.5 cycles per port.
  hw::BoardConfig b = board("u280");
  b.portOutstanding = 1;
  const double latency = b.dramLatencyNs * b.clockMhz / 1e3; // 37.5 cycles
  const uint64_t rows = 2048;
  hw::DmaCost c = hw::dmaCostAt(0, rows, 64, b.stripeBytes, b); // one stripe per row
  EXPECT_EQ(c.ports, 32u);
  EXPECT_DOUBLE_EQ(c.bytesPerCycle, 32 * 64 / latency);
  EXPECT_EQ(c.cycles, uint64_t(std::ceil(rows * 64 / (32 * 64 / latency))));
  // With the board's own 32 outstanding requests the port's achievable bandwidth rules again.
  EXPECT_DOUBLE_EQ(hw::dmaCostAt(0, rows, 64, b.stripeBytes, board("u280")).bytesPerCycle,
                   32 * 52.0);
}

// HBM cross-stack traffic: with one port per pseudo-channel (U280 as shipped) no stripe leaves
// its port's stack. With 16 ports over the 32 channels, port p reads channels p and p + 16, one
// of them in the other stack: half its data crosses the lateral switch at half the rate, so the
// port moves data at 1 / (0.5 + 0.5 / 0.5) = 2/3 of its rate.
TEST(CycleModel, HbmCrossStackTraffic) {
  const hw::BoardConfig &u = board("u280");
  EXPECT_EQ(hw::crossStackShare(u), 0.0);
  EXPECT_EQ(hw::crossStackShare(board("kv260")), 0.0);
  hw::BoardConfig half = u;
  half.axiPorts = 16;
  EXPECT_DOUBLE_EQ(hw::crossStackShare(half), 0.5);
  const uint64_t rows = 64, rowBytes = 64 * 1024; // many bursts on every port
  const double port = portBytesPerCycle(u);
  EXPECT_DOUBLE_EQ(hw::dmaCost(rows, rowBytes, u).bytesPerCycle,
                   std::min(32 * port, u.dramBytesPerCycle()));
  EXPECT_NEAR(hw::dmaCost(rows, rowBytes, half).bytesPerCycle,
              std::min(16 * port * 2 / 3, half.dramAchievableGBps * 1e3 / half.clockMhz), 1e-9);
  // Every port on the other stack's channels (a one-port-per-stack layout of two ports, each
  // reading all 32 channels): half crosses, the same 2/3.
  hw::BoardConfig two = u;
  two.axiPorts = 2;
  EXPECT_DOUBLE_EQ(hw::crossStackShare(two), 0.5);
}

// Stalled on memory, closed form: a contiguous load of N bytes over P ports followed by a vector
// micro-op that waits for it. The engine's schedule moves P beats per cycle (N / (P x beat)
// cycles, busy); the ports sustain `rate` bytes per cycle (one port's achievable bandwidth
// times P, at most the DRAM's): the engine takes ceil(N / rate) cycles and the difference is
// stalled on memory. The vector unit's wait for the token (engine cycles + DRAM latency) is
// stalled on a token, not on memory. U280: N = 1 MiB, 512 cycles of schedule, 631 at 1,664 B per
// cycle: 119 stalled.
TEST(CycleModel, LoadStalledOnMemoryThenDependentCompute) {
  for (const hw::BoardConfig &b : hw::boards()) {
    const uint64_t n = uint64_t(1) << 20, beat = b.axiBits / 8;
    const double rate =
        std::min(b.axiPorts * portBytesPerCycle(b), b.dramAchievableGBps * 1e3 / b.clockMhz);
    const uint64_t schedule = n / (b.axiPorts * beat), cycles = uint64_t(std::ceil(n / rate));
    const std::string s = ".target " + std::string(b.name) + "\n.region const " +
                          std::to_string(n) +
                          "\n.entry main\n.uop 0 add32 dst=0 src0=0 src1=4096 " +
                          "len=64\n{ load.dma region=const rows=32 rowb=32768 stride=32768 "
                          "signal=0 }\n{ vector.run ulen=1 iters=1 wait=0 }\n{ ctrl.halt }\n";
    isa::Program p = isa::assemble(s, "stall.s");
    isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
    hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Timing});
    ASSERT_EQ(r.error, "") << b.name;
    const hw::UnitCounters &ld = r.units[unsigned(isa::Slot::Load)];
    EXPECT_EQ(ld.busy, schedule) << b.name;
    EXPECT_EQ(ld.stallMemory, std::max(cycles, schedule) - schedule) << b.name;
    const uint64_t latency = uint64_t(std::llround(b.dramLatencyNs * b.clockMhz / 1e3));
    // The load starts at cycle 1 (issued at 0) and its token arrives after its data phase and
    // the latency; the vector micro-op reached its unit at cycle 2.
    const hw::UnitCounters &vec = r.units[unsigned(isa::Slot::Vector)];
    EXPECT_EQ(vec.stallToken, 1 + std::max(cycles, schedule) + latency - 2) << b.name;
    EXPECT_EQ(vec.stallMemory, 0u) << b.name;
  }
  const hw::DmaCost u = hw::dmaCost(1, uint64_t(1) << 20, board("u280"));
  EXPECT_EQ(u.schedule, 512u);
  EXPECT_EQ(u.cycles, 631u);
}

// Bank conflicts between the beats of one DMA wave. Stripe j of a wave lands j x stripe bytes
// after stripe 0 in the scratchpad, whose banks repeat every span = banks x 8 bytes: with
// period = span / gcd(stripe, span), ceil(P / period) beats of a wave fall on the same banks,
// two ports each, so a beat step takes ceil(ceil(P / period) / 2) cycles (bank phases), the
// phases after the first stalled on memory. U280 (512 banks, span 4,096 B): its 256-byte stripes
// spread the 32 beats two per bank (period 16): no conflict. With 4 KiB stripes all 32 beats
// land on the same 8 banks (period 1): 16 phases; with 1 KiB stripes 4 windows: 4 phases.
TEST(CycleModel, DmaBankConflictInsideAWave) {
  auto phases = [](const hw::BoardConfig &b, uint64_t stripes) {
    const uint64_t span = uint64_t(b.spadBanks()) * hw::BoardConfig::spadWordBytes();
    uint64_t g = b.stripeBytes, r = span;
    while (r) {
      const uint64_t t = g % r;
      g = r;
      r = t;
    }
    const uint64_t period = span / g, perBank = (stripes + period - 1) / period;
    return (perBank + 1) / 2;
  };
  const uint64_t n = uint64_t(1) << 20;
  for (const unsigned stripe : {256u, 1024u, 4096u}) {
    hw::BoardConfig b = board("u280");
    b.stripeBytes = stripe;
    const uint64_t beats = stripe / 64, waves = n / (32 * uint64_t(stripe));
    const uint64_t ph = phases(b, 32);
    EXPECT_EQ(ph, stripe == 256 ? 1u : stripe == 1024 ? 4u : 16u);
    const hw::DmaCost c = hw::dmaCost(1, n, b);
    EXPECT_EQ(c.schedule, waves * beats * ph) << stripe;
    EXPECT_EQ(c.conflicts, waves * beats * (ph - 1)) << stripe;
    EXPECT_EQ(c.cycles, std::max<uint64_t>(c.schedule, 631)) << stripe;
    // The counters: busy is the beat steps (n / 2,048 cycles), the rest stalled on memory.
    const std::string s =
        ".target u280\n.region const " + std::to_string(n) +
        "\n.entry main\n{ load.dma region=const rows=32 rowb=32768 stride=32768 }\n"
        "{ ctrl.halt }\n";
    isa::Program p = isa::assemble(s, "wave.s");
    isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
    hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Timing});
    ASSERT_EQ(r.error, "") << stripe;
    EXPECT_EQ(r.units[unsigned(isa::Slot::Load)].busy, n / 2048) << stripe;
    EXPECT_EQ(r.units[unsigned(isa::Slot::Load)].stallMemory, c.cycles - n / 2048) << stripe;
  }
  // A wave of fewer stripes puts fewer beats on a bank: with 4 KiB stripes two stripes share
  // the banks' two ports (one phase), three need two phases.
  hw::BoardConfig b = board("u280");
  b.stripeBytes = 4096;
  EXPECT_EQ(hw::dmaCost(1, 2 * 4096, b).conflicts, 0u);
  EXPECT_EQ(hw::dmaCost(1, 3 * 4096, b).schedule, 64u * 2);
  EXPECT_EQ(hw::dmaCost(1, 3 * 4096, b).conflicts, 64u);
  // Every board as shipped spreads a whole wave's beats over distinct banks (its stripes are
  // chosen so): one phase. (VCK190 had 1 KiB stripes on 128 banks, span 1 KiB: 2 phases.)
  for (const hw::BoardConfig &sb : hw::boards())
    EXPECT_EQ(phases(sb, sb.axiPorts), 1u) << sb.name;
  hw::BoardConfig v = board("vck190");
  v.stripeBytes = 1024;
  EXPECT_EQ(phases(v, 4), 2u);
  EXPECT_EQ(hw::dmaCost(1, n, v).conflicts, n / 64);  // n / (4 x 16) beat steps, 1 extra each
  EXPECT_EQ(hw::dmaCost(1, n, v).cycles, 2 * n / 64); // 32 B per cycle: 12.8 GB/s at 400 MHz
}

// A matrix tile: one row, matN outputs, matK products each: one step plus the pipeline fill.
TEST(CycleModel, MatrixTile) {
  for (const hw::BoardConfig &b : hw::boards()) {
    const uint64_t fill = 2 * 2 + 3 + log2u(b.matK); // spad read + write, multiplier, adder tree
    EXPECT_EQ(hw::matmulFill(b.matK), fill) << b.name;
    EXPECT_EQ(hw::matmulCycles(matmul(1, b.matK, b.matN, false), b), 1 + fill) << b.name;
    // int4 weights: twice the products per step (matKInt4 lanes, their own DSPs).
    EXPECT_EQ(hw::matmulCycles(matmul(1, b.matKInt4(), b.matN, true), b),
              1 + 2 * 2 + 3 + log2u(b.matKInt4()))
        << b.name;
    // M rows x N tiles x K tiles steps of one cycle each: weight rows one K tile longer than
    // K (wpitch 5 matK) reach distinct banks (BankConflict below).
    isa::UopArgs big = matmul(3, 4 * b.matK, 2 * b.matN + 1, false);
    big.wpitch = 5 * b.matK;
    big.src1 = 1 << 20;
    EXPECT_EQ(hw::matmulStepCycles(big, b), 1u) << b.name;
    EXPECT_EQ(hw::matmulConflictCycles(big, b), 0u) << b.name;
    EXPECT_EQ(hw::matmulCycles(big, b), 3u * 3 * 4 + fill) << b.name;
  }
}

// A bank conflict: weight rows whose pitch is a multiple of the banks' span (banks x word
// bytes) all fall in the same banks, so a step reads mat_n words from each of those banks, two
// per cycle: ceil(mat_n / 2) cycles per step. One K tile more per row spreads them over
// distinct banks (mat_n x mat_k / word <= banks): one cycle per step.
TEST(CycleModel, BankConflict) {
  for (const hw::BoardConfig &b : hw::boards()) {
    const uint64_t span = uint64_t(b.spadBanks()) * hw::BoardConfig::spadWordBytes();
    ASSERT_LE(uint64_t(b.matN) * b.matK, span) << b.name;
    // Conflicting: K = span; activations in the banks after the weights' first K tile.
    isa::UopArgs u = matmul(2, unsigned(span), b.matN, false);
    u.src0 = b.matK;
    u.src1 = 0;
    const uint64_t step = (b.matN + 1) / 2;
    EXPECT_EQ(hw::matmulStepCycles(u, b), step) << b.name;
    EXPECT_EQ(hw::matmulCycles(u, b), 2 * (span / b.matK) * step + hw::matmulFill(b.matK))
        << b.name;
    // Spread: K = span + mat_k, activations in the same banks as row 0 (two words per bank).
    isa::UopArgs v = matmul(2, unsigned(span + b.matK), b.matN, false);
    EXPECT_EQ(hw::matmulStepCycles(v, b), 1u) << b.name;
    EXPECT_EQ(hw::matmulCycles(v, b), 2 * (span / b.matK + 1) + hw::matmulFill(b.matK)) << b.name;
    // Three words in one bank take two cycles: a second activation window over row 0's banks
    // is not possible in one micro-op, so place row 0 and 1 together with the activations.
    isa::UopArgs w = matmul(1, unsigned(span), 2, false);
    EXPECT_EQ(hw::matmulStepCycles(w, b), 2u) << b.name; // act, row 0, row 1 in bank 0..
  }
}

// A bank conflict between units: the banks serve 2 x banks words per cycle. On KV260 (32
// banks, 64 words per cycle) the matrix unit takes 36 words (288 bytes) and the SSM unit 32
// (16 lanes x 16 bytes): an SSM micro-op that starts while a matmul runs takes turns with it,
// ceil(cycles * 68 / 64); the extra cycles count as stalled on memory. Alone it takes its own
// cycles. On U280 (512 banks) the matrix unit (528 words) and the vector unit (192) fit.
// The compiler's weight row pitch (target::weightRowPitch) removes the conflicts at their cause:
// [mat_n][1024] int8 and int4 weights at that pitch, activations at a place within one span that
// the search finds (as codegen's weightTilePlace), run every K step in one cycle; at the dense
// pitch the U280's K steps wait (16 int8 / 8 int4 rows on the same banks); the pad is at most
// 1/32. VC709 int4 keeps a few waits: its rule accepts the dense pitch (at most 2 words per
// bank, 16 banks with 2), and the activations' 4-word windows, moving twice as fast as the
// weights' 2-word ones, meet those banks at some step wherever they start.
TEST(CycleModel, PaddedWeightRowsSpreadAKStep) {
  for (const hw::BoardConfig &b : hw::boards())
    for (bool int4 : {false, true}) {
      const uint64_t row = int4 ? 512 : 1024, word = hw::BoardConfig::spadWordBytes();
      const uint64_t pitch =
          target::weightRowPitch(row, b.spadBanks(), unsigned(word), b.matN, b.matK);
      EXPECT_LE(pitch - row, row / 32) << b.name;
      isa::UopArgs u = matmul(1, 1024, b.matN, int4);
      u.wpitch = uint32_t(pitch);
      u.src0 = 0;
      uint64_t waits = ~uint64_t(0);
      for (uint64_t d = 0; d < uint64_t(b.spadBanks()) * word && waits != 0; d += word) {
        u.src1 = int64_t(65536 + d);
        waits = hw::matmulConflictCycles(u, b);
      }
      if (int4 && b.name == std::string("vc709")) {
        EXPECT_LE(waits, 3u);
        continue;
      }
      EXPECT_EQ(waits, 0u) << b.name << (int4 ? " int4" : " int8");
      EXPECT_EQ(hw::matmulCycles(u, b), 1024 / (int4 ? b.matKInt4() : b.matK) +
                                            hw::matmulFill(int4 ? b.matKInt4() : b.matK))
          << b.name;
    }
  const hw::BoardConfig &u280 = board("u280");
  isa::UopArgs dense = matmul(1, 1024, u280.matN, false);
  dense.src1 = 65536;
  // 16 K steps of ceil((16 rows on one bank window + the activations) / 2) = 9 cycles
  EXPECT_EQ(hw::matmulConflictCycles(dense, u280), 16u * (9 - 1));
  dense = matmul(1, 1024, u280.matN, true); // 8 rows per window: 4 or 5 cycles per K step
  dense.src1 = 65536;
  EXPECT_GE(hw::matmulConflictCycles(dense, u280), 8u * 3);
}

TEST(CycleModel, BankConflictBetweenUnits) {
  const hw::BoardConfig &kv = board("kv260"), &u280 = board("u280");
  EXPECT_EQ(hw::spadWordsPerCycle(isa::Slot::Matrix, kv), 36u);
  EXPECT_EQ(hw::spadWordsPerCycle(isa::Slot::Ssm, kv), 32u);
  EXPECT_EQ(hw::spadWordsPerCycle(isa::Slot::Load, kv), 4u); // 8 GB/s at 250 MHz: 32 B/cycle
  EXPECT_EQ(hw::bankShareCycles(100, 64, kv), 100u);
  EXPECT_EQ(hw::bankShareCycles(100, 68, kv), 107u); // ceil(100 * 68 / 64)
  EXPECT_EQ(hw::bankShareCycles(100, 528 + 192, u280), 100u);
  auto ssmCounters = [&](bool withMatmul) {
    std::string s = ".target kv260\n.entry main\n.uop 0 ssmupd dst=65536 src0=69632 src1=73728 "
                    "src2=77824 len=64 p0=16\n{ ssm.run ulen=1 iters=1";
    if (withMatmul)
      s += " ; matrix.mm8 wgt=8192 acc=32768 m=8 k=1024 n=16";
    s += " }\n{ ctrl.halt }\n";
    isa::Program p = isa::assemble(s, "conflict.s");
    isa::Memory m = isa::Memory::forProgram(p, kv.spadBytes());
    hw::SimResult r = hw::simulate(p, "main", m, kv, {hw::SimMode::Cycle});
    EXPECT_EQ(r.error, "");
    return r.units[unsigned(isa::Slot::Ssm)];
  };
  hw::UnitCounters alone = ssmCounters(false), shared = ssmCounters(true);
  // ssmupd P=64, N=16: ceil(64 * 16 / 16) + fill + the SSM pipeline's add, multiply by C and
  // adder tree over the 16 lanes (one loop for ssmupd, ssmout and ssmstep)
  const uint64_t c = alone.busy;
  EXPECT_EQ(c, 64u * 16 / kv.ssmLanes + 2 * 2 + 3 + 1 + 3 + 4);
  EXPECT_EQ(alone.stallMemory, 0u);
  EXPECT_EQ(shared.busy, c); // busy: the unit's own loops and fill
  EXPECT_EQ(shared.busy + shared.stallMemory, (c * 68 + 63) / 64);
}

// The pipeline fill is paid once per micro-op: cycles grow by exactly one per extra step.
TEST(CycleModel, PipelineFill) {
  const hw::BoardConfig &b = board("kv260");
  uint64_t one = hw::matmulCycles(matmul(1, b.matK, b.matN, false), b);
  for (unsigned m = 2; m <= 8; ++m)
    EXPECT_EQ(hw::matmulCycles(matmul(m, b.matK, b.matN, false), b), one + (m - 1));
  EXPECT_EQ(one - 1, hw::matmulFill(b.matK));
}

// A program that loads across all ports streams at >= 90 % of the board's sustained bandwidth
// (its ports' and its DRAM's) and never above width x clock x ports.
TEST(CycleModel, StreamingProgramReachesTheBoardsBandwidth) {
  for (const hw::BoardConfig &b : hw::boards()) {
    const uint64_t chunk = 256 * 1024, chunks = 16;
    std::string s = ".target " + std::string(b.name) + "\n.region const " +
                    std::to_string(chunk * chunks) + "\n.entry main\n";
    for (uint64_t i = 0; i < chunks; ++i)
      s += "{ load.dma region=const dram=" + std::to_string(i * chunk) +
           " rows=64 rowb=4096 stride=4096 }\n";
    s += "{ ctrl.halt }\n";
    isa::Program p = isa::assemble(s, "stream.s");
    isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
    hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
    ASSERT_EQ(r.error, "") << b.name;
    const double gbps = double(chunk * chunks) / double(r.cycles) * b.clockMhz / 1e3;
    EXPECT_GE(gbps, 0.9 * b.streamGBps()) << b.name;
    EXPECT_LE(gbps, b.streamGBps() + 1e-9) << b.name;
    EXPECT_LE(gbps, b.axiPorts * b.portWidthGBps()) << b.name;
  }
}

// The memo of matrix bank waits (what a simulation keeps per call) answers the walk's waits for
// every shape, walks each shape once, and tells apart micro-ops that differ only in an address,
// the pitch, the weight kind or the board.
TEST(CycleModel, MatmulWaitsMemoGivesTheWalksWaits) {
  hw::MatmulWaitsMemo memo;
  std::vector<isa::UopArgs> shapes;
  const hw::BoardConfig &u280 = board("u280"), &kv = board("kv260");
  isa::UopArgs dense = matmul(1, 1024, u280.matN, false);
  dense.src1 = 65536;
  shapes.push_back(dense);
  isa::UopArgs moved = dense;
  moved.src1 += 8; // other banks
  shapes.push_back(moved);
  isa::UopArgs padded = dense;
  padded.wpitch = 1024 + 8;
  shapes.push_back(padded);
  shapes.push_back(matmul(1, 1024, u280.matN, true));
  isa::UopArgs grouped = matmul(2, 1024, u280.matN, true);
  grouped.op = isa::UopCode::Gmm4;
  grouped.group = 128;
  shapes.push_back(grouped);
  size_t distinct = 0;
  for (const hw::BoardConfig *b : {&u280, &kv})
    for (int pass = 0; pass < 2; ++pass)
      for (const isa::UopArgs &u : shapes) {
        EXPECT_EQ(memo.waits(u, *b), hw::matmulConflictCycles(u, *b)) << b->name;
        distinct += pass == 0;
      }
  EXPECT_EQ(memo.size(), distinct);
  EXPECT_NE(memo.waits(dense, u280), memo.waits(padded, u280));
}

// Group-scale reads are in the matrix unit's bank count. KV260 (32 banks of 8 bytes, mat_n =
// mat_k = 16, 4 scale lanes), gmm8 of one row, K = 128 in 2 groups of 64: group 0's 4 K steps,
// group 1's 4 K steps while the scaler folds group 0's sum (4 iterations of 4 lanes, only lane 0
// is a row), then 4 iterations for group 1's. Activations at 0 and weights at 1024 move
// together over banks 0..15, two words a bank a step. Group 1's first K step reads activation
// and weight words in bank 8 and the scaler reads row 0's group-0 scale at 2112 (bank 8 too):
// three words in a bank, 2 cycles, 1 wait, the only one; the scale 64 bytes on (bank 16) meets
// none. The HLS unit runs exactly those phases; the compiler's placement (no scale lanes in the
// shape) sees no wait.
TEST(CycleModel, GroupScaleReadsShareTheBanks) {
  const hw::BoardConfig &kv = board("kv260");
  ASSERT_EQ(kv.spadBanks(), 32u);
  ASSERT_EQ(kv.matN, 16u);
  ASSERT_EQ(kv.matK, 16u);
  ASSERT_EQ(kv.scaleLanes(), 4u);
  isa::UopArgs u = matmul(1, 128, 1, false);
  u.op = isa::UopCode::Gmm8;
  u.group = 64;
  u.src0 = 0;
  u.src1 = 1024;
  u.dst = 8192;
  for (int64_t scl : {2112, 2112 + 64}) {
    u.src2 = scl;
    const uint64_t want = scl == 2112 ? 1 : 0;
    EXPECT_EQ(hw::matmulConflictCycles(u, kv), want) << scl;
    // busy: T + (G - 1) max(T, C) + C = 4 + 4 + 4 steps, the waits on top, the fill and the
    // scaler's multiplier depth after them
    EXPECT_EQ(hw::matmulSteps(u, kv), 12u) << scl;
    EXPECT_EQ(hw::matmulCycles(u, kv), 12 + want + hw::matmulFill(kv.matK) + 3) << scl;
    std::vector<hw::byte_t> spad(kv.spadBytes(), 0);
    const hw::MatmulCycles c = hw::matrix_unit<hw::BoardCfg<3>>(spad.data(), hw::matmul_args(u));
    EXPECT_EQ(c.busy, 12u) << scl;
    EXPECT_EQ(c.conflicts, want) << scl;
    target::MatmulBankShape s; // as the compiler's tile placement sees it: K steps alone
    s.act = 0;
    s.wgt = 1024;
    s.pitch = 128;
    s.m = 1;
    s.k = 128;
    s.n = 1;
    s.grouped = true;
    s.group = 64;
    EXPECT_EQ(target::matmulBankWaits(s, 32, 8, kv.matN, kv.matK), 0u) << scl;
    s.scl = uint64_t(scl);
    s.scaleLanes = kv.scaleLanes();
    EXPECT_EQ(target::matmulBankWaits(s, 32, 8, kv.matN, kv.matK), want) << scl;
  }
}

// The chunked SSD form's micro-ops in closed form (units/Transpose.h, units/Ssm.h), the
// figures docs/overlay.md gives: trn of the form's 32 x 1536 int8 and 64 x 32 int32, segdecay
// of Q = 32, split16, on the U280 (128 vector / SSM lanes) and on the KV260's lane counts (8 /
// 16; the KV260 is built without these units: what they would take).
TEST(CycleModel, ChunkedSsdLoopCycles) {
  auto u = [](isa::UopCode op, uint32_t len, int p0, int p1 = 0) {
    isa::UopArgs a;
    a.op = op;
    a.len = len;
    a.p0 = p0;
    a.p1 = p1;
    return a;
  };
  using C = isa::UopCode;
  const hw::BoardConfig &u280 = board("u280");
  hw::BoardConfig kv = board("kv260");
  // U280, L = 128: one tile row of 32 rows, 12 tile columns: 32 + 11 x 128 + 128 to drain.
  EXPECT_EQ(hw::uopLoopCycles(u(C::Trn, 32, 1536, 1), u280, false), 1568u);
  EXPECT_EQ(hw::uopLoopCycles(u(C::Trn, 64, 32, 4), u280, false), 96u);   // 64 rows, 32 columns
  EXPECT_EQ(hw::uopLoopCycles(u(C::Segdecay, 32, 20), u280, true), 128u); // 4 a row (latency)
  EXPECT_EQ(hw::uopLoopCycles(u(C::Split16, 1536, 8), u280, false), 12u);
  // KV260 lanes, L = 8: 4 tile rows of 192 full tiles each, 8 cycles a tile, 8 to drain.
  EXPECT_EQ(hw::uopLoopCycles(u(C::Trn, 32, 1536, 1), kv, false), 6152u);
  EXPECT_EQ(hw::uopLoopCycles(u(C::Trn, 64, 32, 4), kv, false), 264u);
  EXPECT_EQ(hw::uopLoopCycles(u(C::Segdecay, 32, 20), kv, true), 128u); // max(ceil(33/16), 4)
  EXPECT_EQ(hw::uopLoopCycles(u(C::Segdecay, 64, 20), kv, true), 320u); // 5 a row
  EXPECT_EQ(hw::uopLoopCycles(u(C::Split16, 1536, 8), kv, false), 192u);
  // R or C = 1: a column of R takes R cycles to read and one to write (per tile), a row of C
  // one read and C writes.
  EXPECT_EQ(hw::uopLoopCycles(u(C::Trn, 20, 1, 4), kv, false), 8u + 8u + 4u + 1u);
  EXPECT_EQ(hw::uopLoopCycles(u(C::Trn, 1, 20, 4), kv, false), 1u + 8u + 8u + 4u);
}
