// The overlay simulator: functional and cycle modes agree with the reference interpreter,
// counters add up, decoupled units overlap, and deadlocks are reported with bundle and unit.
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace mamba2;

namespace {

// Streams 8 weight tiles through a double buffer (A at 1024, B at 2048). Tokens: 0/1 "tile in
// A/B ready" (load -> matrix), 2/3 "A/B free" (matrix -> load, two primed by ctrl), 5 "all
// matmuls done" (a zero-row matmul as an in-order fence -> vector), 6 "result ready" (-> store).
const char *kPipeline = R"(.target kv260
.region const 8192
.region io 4096
.entry main
.uop 0 shr8 dst=12288 src0=8192 len=16 p0=6
{ ctrl.seti rd=1 imm=0 ; load.dma region=io rows=1 rowb=64 }
{ ctrl.sync signal=2 }
{ ctrl.sync signal=3 }
{ ctrl.loop count=4 body=4 }
{ load.dma spad=1024 region=const dreg=1 rows=16 rowb=64 stride=64 wait=2 signal=0 }
{ load.dma spad=2048 region=const dreg=1 dram=1024 rows=16 rowb=64 stride=64 wait=3 signal=1 }
{ matrix.mm8 acc=8192 wgt=1024 m=1 k=64 n=16 accum=1 wait=0 signal=2 }
{ ctrl.addi rd=1 rs=1 imm=2048 ; matrix.mm8 acc=8192 wgt=2048 m=1 k=64 n=16 accum=1 wait=1 signal=3 }
{ matrix.mm8 signal=5 }
{ vector.run ulen=1 iters=1 wait=5 signal=6 }
{ ctrl.halt ; store.dma spad=12288 region=io dram=3072 rows=1 rowb=16 wait=6 }
)";

isa::Program program(const std::string &text) { return isa::assemble(text, "t.s"); }

isa::Program withData(isa::Program p) {
  for (unsigned r = 0; r < 2; ++r) {
    p.regions[r].init.resize(p.regions[r].size);
    for (size_t i = 0; i < p.regions[r].init.size(); ++i)
      p.regions[r].init[i] = uint8_t((i * 37 + r * 11) ^ (i >> 3));
  }
  return p;
}

} // namespace

TEST(OverlaySim, BothModesEqualTheReferenceInterpreter) {
  isa::Program p = withData(program(kPipeline));
  const hw::BoardConfig &b = *hw::findBoard("kv260");
  isa::Memory ref = isa::Memory::forProgram(p, b.spadBytes());
  ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
  for (hw::SimMode mode : {hw::SimMode::Functional, hw::SimMode::Cycle}) {
    isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
    hw::SimResult r = hw::simulate(p, "main", m, b, {mode, true});
    ASSERT_EQ(r.error, "");
    EXPECT_TRUE(m.dram == ref.dram);
    EXPECT_TRUE(m.spad == ref.spad);
    EXPECT_EQ(r.units[unsigned(isa::Slot::Matrix)].instructions, 9u); // 8 tiles + the fence
    EXPECT_EQ(r.units[unsigned(isa::Slot::Matrix)].ops, 8u * 64 * 16);
    EXPECT_EQ(r.units[unsigned(isa::Slot::Load)].bytes, 64u + 8 * 1024);
  }
}

TEST(OverlaySim, CycleModeOverlapsUnitsAndCountsStalls) {
  isa::Program p = withData(program(kPipeline));
  const hw::BoardConfig &b = *hw::findBoard("kv260");
  isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
  hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle, true});
  ASSERT_EQ(r.error, "");
  // A serial machine would take every unit's busy time plus the DRAM latency of every DMA.
  uint64_t serial = 0;
  for (const auto &u : r.units)
    serial += u.busy;
  uint64_t latency = uint64_t(std::llround(b.dramLatencyNs * b.clockMhz / 1000.0));
  serial += latency * (r.units[unsigned(isa::Slot::Load)].instructions +
                       r.units[unsigned(isa::Slot::Store)].instructions);
  EXPECT_GT(r.cycles, 0u);
  EXPECT_LT(r.cycles, serial) << "units and DMA requests must overlap";
  EXPECT_GT(r.units[unsigned(isa::Slot::Matrix)].stallToken, 0u) << "matmul waits for its tiles";
  EXPECT_FALSE(r.trace.empty());
  for (const hw::TraceEvent &e : r.trace) {
    EXPECT_LE(e.start, e.end);
    EXPECT_LE(e.end, r.cycles);
  }
}

TEST(OverlaySim, TwoDmaEnginesShareTheDram) {
  isa::Program p = program(R"(.target kv260
.region io 65536
.entry main
{ load.dma region=io rows=64 rowb=512 stride=512 ; store.dma spad=40000 region=io dram=32768 rows=64 rowb=512 stride=512 }
{ ctrl.halt }
)");
  const hw::BoardConfig &b = *hw::findBoard("kv260");
  isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
  hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
  ASSERT_EQ(r.error, "");
  EXPECT_GT(r.units[unsigned(isa::Slot::Store)].stallMemory, 0u);
  // 64 KiB at the achievable bandwidth, plus latency.
  double ideal = 65536 / b.dramBytesPerCycle();
  EXPECT_GE(double(r.cycles), ideal);
  EXPECT_LT(double(r.cycles), ideal * 1.2 + 200);
}

TEST(OverlaySim, DeadlockNamesBundleAndUnitInBothModes) {
  isa::Program p = program(R"(.target kv260
.entry main
{ load.dma wait=4 }
{ matrix.mm8 signal=4 }
{ ctrl.halt }
)");
  const hw::BoardConfig &b = *hw::findBoard("kv260");
  isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
  EXPECT_EQ(
      hw::simulate(p, "main", m, b, {hw::SimMode::Functional}).error,
      "deadlock: bundle 0, load unit waits on semaphore 4 which holds no token in serial order");
  // Decoupled, the matmul runs ahead and gives the token: no deadlock there. A token nobody
  // ever gives deadlocks both.
  EXPECT_EQ(hw::simulate(p, "main", m, b, {hw::SimMode::Cycle}).error, "");
  p = program(".target kv260\n.entry main\n{ load.dma wait=4 }\n{ ctrl.halt }\n");
  hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
  EXPECT_EQ(r.error.rfind("deadlock at cycle ", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("bundle 0, load unit waits on semaphore 4"), std::string::npos) << r.error;
}

TEST(OverlaySim, ControlWaitDeadlock) {
  isa::Program p = program(".target kv260\n.entry main\n{ ctrl.sync wait=7 }\n{ ctrl.halt }\n");
  const hw::BoardConfig &b = *hw::findBoard("kv260");
  isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
  hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
  EXPECT_NE(r.error.find("bundle 0, ctrl unit waits on semaphore 7"), std::string::npos) << r.error;
}

TEST(OverlaySim, FullQueuesStallFetchWithoutLosingWork) {
  // 100 vector ops against a 16-deep queue: fetch must stall and resume.
  std::string text = ".target kv260\n.entry main\n.uop 0 add32 dst=0 src0=0 src1=64 len=16\n";
  text += "{ ctrl.loop count=100 body=1 }\n{ vector.run ulen=1 iters=1 }\n{ ctrl.halt }\n";
  isa::Program p = program(text);
  const hw::BoardConfig &b = *hw::findBoard("kv260");
  isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
  hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.units[unsigned(isa::Slot::Vector)].instructions, 100u);
  EXPECT_GE(r.cycles, r.units[unsigned(isa::Slot::Vector)].busy);
}
