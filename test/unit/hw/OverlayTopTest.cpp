// C-simulation testbench of the HLS top `mamba2_overlay` (KV260 build): the programs of
// test/e2e/overlay (all fit the KV260 scratchpad) run through the top function exactly as XRT
// would call it, its decoupled units exchanging instructions and tokens through streams, and
// every DRAM region must equal the reference interpreter's. stream_loops.s has tokens flowing
// both ways (buffer filled / buffer free). Faults come back in the status word.
#include "mamba2/hw/Board.h"
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/isa/Interp.h"
#include "mamba2/target/KernelArgs.h"
#include "mamba2/target/Stripes.h"

#include "Dma.h"
#include "OverlayPrograms.h"

#include <gtest/gtest.h>

#include <random>

// The top compiled for KV260 (board 3, 2 ports) and for U280 (board 2, 32 HBM ports), as XRT
// would call them: the signature of target/KernelArgs.h with the board's ports.
#define MAMBA2_TOP_PARAMS(BEAT, PORTS)                                                             \
  const uint8_t *bundles, const uint8_t *ucode, uint32_t num_bundles, uint32_t ucode_words,        \
      uint32_t entry, uint32_t waiters_lo, uint32_t waiters_hi, uint32_t base_const,               \
      uint32_t base_io, uint32_t base_state, uint32_t base_scratch, uint32_t *status,              \
      uint32_t *counters, PORTS(BEAT)
extern "C" void mamba2_overlay(MAMBA2_TOP_PARAMS(mamba2::hw::Beat<16>,
                                                 MAMBA2_TARGET_PORT_PARAMS_3));
// The U280 top is linked in this build (Mamba2OverlayTopCsimU280); a Vitis HLS C simulation of
// one board's top (hw/scripts/hls.tcl) runs the KV260 half only.
#ifdef MAMBA2_TB_U280
extern "C" void mamba2_overlay_u280(MAMBA2_TOP_PARAMS(mamba2::hw::Beat<64>,
                                                      MAMBA2_TARGET_PORT_PARAMS_2));
#endif

using namespace mamba2;

namespace {

struct TopRun {
  uint32_t status = 0xFFFFFFFF;
  std::array<uint64_t, target::kNumCounterWords / 2> words{};
  uint64_t counter(unsigned proc, unsigned field) const {
    return words[target::counterWord(proc, field) / 2];
  }
};

/// Runs `p` through the top of board `id`, the regions striped over its ports as the XRT
/// backend lays them out (target/Stripes.h), and gathers the regions back into `dram`.
TopRun runTop(const isa::Program &p, std::array<std::vector<uint8_t>, 4> &dram, uint32_t entry = 0,
              unsigned id = 3) {
  const target::Board &b = target::boards()[id];
  std::vector<uint8_t> bundles = p.bundleBytes(), ucode = p.ucodeBytes();
  ucode.push_back(0); // a valid pointer even without microcode
  std::array<uint64_t, 4> sizes{};
  for (unsigned r = 0; r < 4; ++r)
    sizes[r] = p.regions[r].size;
  const target::StripeMap m = target::stripeMap(b.axiPorts, b.stripeBytes, sizes);
  std::vector<std::vector<uint8_t>> ports(b.axiPorts, std::vector<uint8_t>(m.portBytes, 0));
  for (unsigned r = 0; r < 4; ++r)
    target::stripeScatter(m, r, 0, p.regions[r].init.data(), p.regions[r].init.size(), ports);
  TopRun t;
  uint32_t ctr[target::kNumCounterWords] = {};
  const uint32_t nb = uint32_t(p.bundles.size()), nw = uint32_t(p.ucode.size());
  const uint32_t bc = uint32_t(m.base[0]), bi = uint32_t(m.base[1]), bs = uint32_t(m.base[2]),
                 bx = uint32_t(m.base[3]);
  // The semaphore map of the entry starting at `entry` (the runtime passes the container's).
  std::vector<isa::SemChannel> channels = isa::entryChannels(p.bundles, entry);
  for (const isa::Symbol &s : p.symbols)
    if (s.kind == isa::Symbol::Kind::Entry && s.bundle == entry)
      channels = s.channels;
  const auto waiters = isa::semWaiters(channels);
  const uint32_t wl = target::waiterWord(waiters, 0), wh = target::waiterWord(waiters, 1);
#define MAMBA2_PORT_ARG16(q, name) , reinterpret_cast<hw::Beat<16> *>(ports[q].data())
#define MAMBA2_PORT_ARG64(q, name) , reinterpret_cast<hw::Beat<64> *>(ports[q].data())
  if (id == 3)
    mamba2_overlay(bundles.data(), ucode.data(), nb, nw, entry, wl, wh, bc, bi, bs, bx, &t.status,
                   ctr MAMBA2_TARGET_FOR_PORTS_3(MAMBA2_PORT_ARG16));
#ifdef MAMBA2_TB_U280
  else
    mamba2_overlay_u280(bundles.data(), ucode.data(), nb, nw, entry, wl, wh, bc, bi, bs, bx,
                        &t.status, ctr MAMBA2_TARGET_FOR_PORTS_2(MAMBA2_PORT_ARG64));
#endif
#undef MAMBA2_PORT_ARG16
#undef MAMBA2_PORT_ARG64
  for (unsigned r = 0; r < 4; ++r) {
    dram[r].assign(std::max<size_t>(p.regions[r].size, 1), 0);
    target::stripeGather(m, r, 0, dram[r].data(), p.regions[r].size, ports);
  }
  for (unsigned i = 0; i < target::kNumCounterWords / 2; ++i)
    t.words[i] = uint64_t(ctr[2 * i]) | (uint64_t(ctr[2 * i + 1]) << 32);
  return t;
}

/// What the cycle model charges the engines' loops: per load/store micro-op the DMA schedule
/// (dmaCostAt(...).schedule), per matrix micro-op its steps (matmulSteps), walking the program
/// in serial order.
struct LoopCounts {
  uint64_t load = 0, store = 0, matrix = 0, vector = 0, ssm = 0;
  uint64_t loadConflicts = 0, storeConflicts = 0; // the DMA's bank phases after the first
};
LoopCounts modelLoops(const isa::Program &p, const target::Board &b) {
  LoopCounts c;
  isa::Sequencer seq(p.bundles, 0);
  std::vector<isa::Issue> out;
  while (!seq.done()) {
    out.clear();
    seq.issue(out);
    for (const isa::Issue &is : out)
      for (uint32_t it = 0; it < is.run.iters; ++it)
        for (uint32_t i = 0; i < is.run.ulen; ++i) {
          const isa::UopArgs u = isa::resolveUop(is.word(p.ucode, i), is.run, it);
          if (u.isDma()) {
            const hw::DmaCost d = hw::dmaCostAt(uint64_t(u.src1), u.rows, u.rowb, u.stride, b);
            (is.slot == isa::Slot::Load ? c.load : c.store) += d.schedule - d.conflicts;
            (is.slot == isa::Slot::Load ? c.loadConflicts : c.storeConflicts) += d.conflicts;
          } else if (u.isMatrix())
            c.matrix += hw::matmulSteps(u, b);
          else if (is.slot == isa::Slot::Vector)
            c.vector += hw::uopLoopCycles(u, b, false);
          else if (is.slot == isa::Slot::Ssm)
            c.ssm += hw::uopLoopCycles(u, b, true);
        }
  }
  return c;
}

/// The counters C simulation keeps in cycles (the kernel's cycles, every process's cycles
/// stalled on a token and on memory) equal the cycle model's when it charges only what the
/// source counts (sourceCycles: loop iterations, no fill, latency, port rate or sharing).
void expectSourceCycles(const isa::Program &p, const TopRun &t, const target::Board &b,
                        const std::string &what) {
  hw::SimOptions src;
  src.mode = hw::SimMode::Timing;
  src.sourceCycles = true;
  isa::Memory smem = isa::Memory::forProgram(p, b.spadBytes());
  const hw::SimResult s = hw::simulate(p, "main", smem, b, src);
  ASSERT_EQ(s.error, "") << what;
  EXPECT_EQ(t.words[0], s.cycles) << what << " on " << b.name;
  for (unsigned u = 0; u < isa::kNumSlots; ++u) {
    EXPECT_EQ(t.counter(u, target::kCtrStallToken), s.units[u].stallToken)
        << what << " on " << b.name << " unit " << u;
    EXPECT_EQ(t.counter(u, target::kCtrStallMemory), s.units[u].stallMemory)
        << what << " on " << b.name << " unit " << u;
  }
}

uint32_t status(const isa::Program &p, std::array<std::vector<uint8_t>, 4> &dram) {
  return runTop(p, dram).status;
}

} // namespace

class OverlayTop : public ::testing::TestWithParam<const char *> {};

// Every e2e program on the KV260 top (2 ports of 16-byte beats) and the U280 top (32 ports of
// 64-byte beats): the regions striped over the ports, the result bit for bit the reference
// interpreter's. The counters the top keeps (AXI-lite) are the simulator's instructions, bytes
// and operations, and every unit's loop iterations (busy) are exactly what the cycle model
// charges for their schedules.
TEST_P(OverlayTop, MatchesReferenceInterpreter) {
#ifdef MAMBA2_TB_U280
  for (unsigned id : {3u, 2u})
#else
  for (unsigned id : {3u})
#endif
    for (uint32_t seed : {4u, 5u}) {
      const target::Board &b = target::boards()[id];
      isa::Program p = test::assembleOverlayProgram(GetParam(), seed);
      isa::Memory ref = isa::Memory::forProgram(p, b.spadBytes());
      ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
      std::array<std::vector<uint8_t>, 4> dram;
      const TopRun t = runTop(p, dram, 0, id);
      ASSERT_EQ(t.status, 0u) << b.name;
      for (unsigned r = 0; r < 4; ++r)
        if (p.regions[r].size) {
          EXPECT_TRUE(dram[r] == ref.dram[r])
              << GetParam() << " on " << b.name << " region " << isa::kRegionNames[r];
        }
      isa::Memory mem = isa::Memory::forProgram(p, b.spadBytes());
      hw::SimOptions opt;
      opt.mode = hw::SimMode::Cycle;
      const hw::SimResult sim = hw::simulate(p, "main", mem, b, opt);
      ASSERT_EQ(sim.error, "");
      for (unsigned u = 1; u < isa::kNumSlots; ++u) {
        EXPECT_EQ(t.counter(u, target::kCtrInstructions), sim.units[u].instructions) << u;
        EXPECT_EQ(t.counter(u, target::kCtrBytes), sim.units[u].bytes) << u;
        EXPECT_EQ(t.counter(u, target::kCtrOps), sim.units[u].ops) << u;
      }
      EXPECT_EQ(t.counter(0, target::kCtrInstructions), sim.bundles);
      const LoopCounts c = modelLoops(p, b);
      EXPECT_EQ(t.counter(1, target::kCtrBusy), c.load) << GetParam() << " on " << b.name;
      EXPECT_EQ(t.counter(2, target::kCtrBusy), c.store) << GetParam() << " on " << b.name;
      EXPECT_EQ(t.counter(3, target::kCtrBusy), c.matrix) << GetParam() << " on " << b.name;
      EXPECT_EQ(t.counter(4, target::kCtrBusy), c.vector) << GetParam() << " on " << b.name;
      EXPECT_EQ(t.counter(5, target::kCtrBusy), c.ssm) << GetParam() << " on " << b.name;
      EXPECT_GT(t.words[0], 0u); // cycles
      expectSourceCycles(p, t, b, GetParam());
    }
}
INSTANTIATE_TEST_SUITE_P(Kv260Programs, OverlayTop, ::testing::ValuesIn(test::kOverlayPrograms),
                         test::overlayProgramName);

// C simulation's clocks where the e2e programs do not go: a full instruction stream holds
// fetch (40 matmuls, each slower than its load, against a stream of 16 (KV260) or 32 (U280)
// entries and the one waiting at the unit's head) and fetch waits for a token of the matrix
// unit (ctrl.sync). The top's cycles and stalls equal the cycle model's in sourceCycles mode.
TEST(OverlayTopClocks, FullStreamsAndFetchTokenWaitInCycles) {
#ifdef MAMBA2_TB_U280
  for (unsigned id : {3u, 2u}) {
#else
  for (unsigned id : {3u}) {
#endif
    const target::Board &b = target::boards()[id];
    const std::string mm = "matrix.mm8 act=8192 wgt=16384 acc=32768 m=4 k=256 n=64";
    const std::string s = ".target " + std::string(b.name) +
                          "\n.region const 65536\n.entry main\n{ ctrl.loop count=40 body=1 }\n"
                          "{ load.dma region=const rows=4 rowb=1024 stride=1024 signal=0 ; " +
                          mm + " wait=0 }\n{ " + mm +
                          " signal=1 }\n{ ctrl.sync wait=1 }\n"
                          "{ ctrl.halt }\n";
    const isa::Program p = isa::assemble(s, "clocks.s");
    std::array<std::vector<uint8_t>, 4> dram;
    const TopRun t = runTop(p, dram, 0, id);
    ASSERT_EQ(t.status, 0u) << b.name;
    expectSourceCycles(p, t, b, "clocks.s");
    // 41 matmuls of matmulSteps each, one after the other, bound the cycles from below; fetch
    // waited on the sync's token.
    isa::UopArgs u;
    u.op = isa::UopCode::Mm8;
    u.m = 4;
    u.k = 256;
    u.n = 64;
    EXPECT_GE(t.words[0], 41 * hw::matmulSteps(u, b)) << b.name;
    EXPECT_GT(t.counter(0, target::kCtrStallToken), 0u) << b.name;
  }
}

TEST(OverlayTopFaults, StatusNamesFaultAndBundle) {
  std::array<std::vector<uint8_t>, 4> dram;
  isa::Program p = isa::assemble(
      ".target kv260\n.entry main\n{}\n{ matrix.mm8 wait=3 }\n{ ctrl.halt }\n", "t.s");
  EXPECT_EQ(status(p, dram), (1u << 24) | 1u); // deadlock at bundle 1
  p = isa::assemble(
      ".target kv260\n.entry main\n{ matrix.mm8 act=1048570 m=1 k=16 n=1 }\n{ ctrl.halt }\n",
      "t.s");
  EXPECT_EQ(status(p, dram), (5u << 24) | 0u); // scratchpad range
  p = isa::assemble(".target kv260\n.entry main\n{}\n", "t.s");
  EXPECT_EQ(status(p, dram), (4u << 24) | 1u); // ran past the program
  // Two units waiting on each other (each for a token only the other gives after it): deadlock
  // at the earlier bundle; and a fetch waiting on a token nobody gives.
  p = isa::assemble(".target kv260\n.entry main\n{ load.dma wait=1 signal=2 }\n{ matrix.mm8 "
                    "wait=2 signal=1 }\n{ ctrl.halt }\n",
                    "t.s");
  EXPECT_EQ(status(p, dram), (1u << 24) | 0u);
  p = isa::assemble(".target kv260\n.entry main\n{}\n{ ctrl.sync wait=4 }\n{ ctrl.halt }\n", "t.s");
  EXPECT_EQ(status(p, dram), (1u << 24) | 1u);
  // A micro-op on the wrong unit, a store into the const region.
  p = isa::assemble(".target kv260\n.entry main\n.uop 0 mm8 m=1 k=4 n=4 acc=64\n{ vector.run "
                    "ulen=1 iters=1 }\n{ ctrl.halt }\n",
                    "t.s");
  EXPECT_EQ(status(p, dram), (7u << 24) | 0u);
  p = isa::assemble(".target kv260\n.entry main\n{}\n{ store.dma rows=1 rowb=4 }\n{ ctrl.halt }\n",
                    "t.s");
  EXPECT_EQ(status(p, dram), (7u << 24) | 1u);
}

// The top routes tokens by the semaphore map of the entry it runs (waiters_lo / waiters_hi,
// from the container's Symbol.channels): entries a and b both use semaphore 0, a from the load
// unit to the matrix unit, b from the vector unit to the SSM unit. Routed by one program-wide
// map, one of the two entries would send its tokens to the wrong unit and deadlock.
TEST(OverlayTopTokens, RoutedByTheEntrysSemaphoreMap) {
  std::array<std::vector<uint8_t>, 4> dram;
  const isa::Program p = isa::assemble(".target kv260\n.entry a 0\n.entry b 3\n"
                                       "{ load.run signal=0 }\n{ matrix.run wait=0 }\n"
                                       "{ ctrl.halt }\n{ vector.run signal=0 }\n"
                                       "{ ssm.run wait=0 }\n{ ctrl.halt }\n",
                                       "t.s");
  ASSERT_EQ(p.symbols[0].channels, (std::vector<isa::SemChannel>{{0, 1, 3}}));
  ASSERT_EQ(p.symbols[1].channels, (std::vector<isa::SemChannel>{{0, 4, 5}}));
  EXPECT_EQ(runTop(p, dram, 0).status, 0u);
  EXPECT_EQ(runTop(p, dram, 3).status, 0u);
  // Entry b run with entry a's map: the vector unit's token goes to the matrix unit, the SSM
  // unit waits for ever (deadlock at bundle 4).
  isa::Program wrong = p;
  wrong.symbols[1].channels = wrong.symbols[0].channels;
  EXPECT_EQ(runTop(wrong, dram, 3).status, (1u << 24) | 4u);
}

// DMA transfers of random shape through the top: spans that start and end inside stripes and
// beats, rows apart in DRAM (one span each) and contiguous (one span), loads from the const
// region and stores (partial beats read, merged, written back) into io, on the KV260 top and
// the U280 top; every region must equal the reference interpreter's.
TEST(OverlayTopDma, StripedTransfersMatchTheInterpreter) {
  std::mt19937_64 g(2026);
  auto u = [&](uint64_t n) { return n ? g() % n : 0; };
  const uint64_t region = 64 * 1024, area = 16 * 1024;
  std::string s = ".target kv260\n.region const " + std::to_string(region) + "\n.region io " +
                  std::to_string(region) + "\n.entry main\n.data const 0 x ";
  static const char *hex = "0123456789abcdef";
  for (uint64_t i = 0; i < region; ++i) {
    const unsigned v = unsigned(g() & 0xFF);
    s += hex[v >> 4];
    s += hex[v & 15];
  }
  s += "\n";
  for (unsigned i = 0; i < 40; ++i) {
    auto shape = [&](uint64_t &rows, uint64_t &rowb, uint64_t &stride, uint64_t &dram) {
      rows = 1 + u(6);
      rowb = 1 + u(area / rows);
      stride = u(2) ? rowb : rowb + u(700);
      dram = u(region - ((rows - 1) * stride + rowb) + 1);
    };
    uint64_t rows, rowb, stride, dram;
    shape(rows, rowb, stride, dram);
    const uint64_t spad = i * area + u(64);
    auto n = [](uint64_t v) { return std::to_string(v); };
    s += "{ load.dma spad=" + n(spad) + " region=const dram=" + n(dram) + " rows=" + n(rows) +
         " rowb=" + n(rowb) + " stride=" + n(stride) + " signal=0 }\n";
    const uint64_t loaded = rows * rowb;
    uint64_t srows = 1 + u(4), srowb = 1 + u(loaded / srows), sstride = srowb + u(2) * u(300);
    const uint64_t sdram = u(region - ((srows - 1) * sstride + srowb) + 1);
    s += "{ store.dma spad=" + n(spad) + " region=io dram=" + n(sdram) + " rows=" + n(srows) +
         " rowb=" + n(srowb) + " stride=" + n(sstride) + " wait=0 }\n";
  }
  s += "{ ctrl.halt }\n";
  const isa::Program p = isa::assemble(s, "dma.s");
#ifdef MAMBA2_TB_U280
  for (unsigned id : {3u, 2u}) {
#else
  for (unsigned id : {3u}) {
#endif
    const target::Board &b = target::boards()[id];
    isa::Memory ref = isa::Memory::forProgram(p, b.spadBytes());
    ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
    std::array<std::vector<uint8_t>, 4> dram;
    const TopRun t = runTop(p, dram, 0, id);
    ASSERT_EQ(t.status, 0u) << b.name;
    EXPECT_TRUE(dram[0] == ref.dram[0]) << b.name;
    EXPECT_TRUE(dram[1] == ref.dram[1]) << b.name;
    const LoopCounts c = modelLoops(p, b);
    EXPECT_EQ(t.counter(1, target::kCtrBusy), c.load) << b.name;
    EXPECT_EQ(t.counter(2, target::kCtrBusy), c.store) << b.name;
    EXPECT_EQ(t.counter(1, target::kCtrStallMemory), c.loadConflicts) << b.name;
    EXPECT_EQ(t.counter(2, target::kCtrStallMemory), c.storeConflicts) << b.name;
  }
}

// A run's `ureg`: a loop of three iterations whose vector.run reads store word r1 (START, then
// +1 each iteration), through the top as through the interpreter; a start outside the store is
// the kUcodeRange fault at the run's bundle.
TEST(OverlayTopUreg, RunsOtherWordsEachIterationAndFaultsOutsideTheStore) {
  auto program = [](int start) {
    return isa::assemble(".target kv260\n.region io 64\n"
                         ".data io 0 i32 1 2 3 4 0 0 0 0 10 20 30\n.entry main\n"
                         ".uop 0 add32 dst=16 src0=16 src1=32 len=4 p1=1\n"
                         ".uop 1 add32 dst=16 src0=16 src1=36 len=4 p1=1\n"
                         ".uop 2 add32 dst=16 src0=16 src1=40 len=4 p1=1\n"
                         "{ ctrl.seti rd=1 imm=" +
                             std::to_string(start) +
                             " ; load.dma spad=16 region=io rows=1 rowb=16 }\n"
                             "{ load.dma spad=32 region=io dram=32 rows=1 rowb=12 signal=0 }\n"
                             "{ ctrl.sync wait=0 }\n{ ctrl.loop count=3 body=2 }\n"
                             "{ vector.run ulen=1 iters=1 ureg=1 }\n{ ctrl.addi rd=1 rs=1 imm=1 }\n"
                             "{ vector.run signal=1 }\n"
                             "{ ctrl.halt ; store.dma spad=16 region=io dram=16 rows=1 rowb=16 "
                             "wait=1 }\n",
                         "ureg.s");
  };
  const isa::Program p = program(0);
  const target::Board &b = target::boards()[3];
  isa::Memory ref = isa::Memory::forProgram(p, b.spadBytes());
  ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
  int32_t want;
  std::memcpy(&want, ref.dram[1].data() + 16, 4);
  EXPECT_EQ(want, 1 + 10 + 20 + 30);
  std::array<std::vector<uint8_t>, 4> dram;
  const TopRun t = runTop(p, dram, 0, 3);
  ASSERT_EQ(t.status, 0u);
  EXPECT_TRUE(dram[1] == ref.dram[1]);
  EXPECT_EQ(status(program(1), dram), (6u << 24) | 4u);  // word 3 of 3
  EXPECT_EQ(status(program(-1), dram), (6u << 24) | 4u); // word -1
}

// The chunked SSD form's micro-ops through the overlay top: trn (int32 and int8 with pitches),
// split16 and segdecay (Q = 32) in one program. On the U280 top (built with their units) the
// regions equal the reference interpreter's bit for bit, the vector and SSM busy counters are
// what the cycle model charges, and C simulation's cycles and stalls are the model's
// `sourceCycles`; the KV260 top (built without them) faults on the first (bad micro-op, bundle
// 1).
static std::string chunkedSsdProgram(const char *target) {
  std::mt19937_64 g(17);
  std::string s = std::string(".target ") + target + "\n.region io 65536\n";
  for (unsigned row = 0; row < 64; ++row) {
    s += ".data io " + std::to_string(row * 128) + " i32";
    for (unsigned i = 0; i < 32; ++i) {
      int32_t v = int32_t(uint32_t(g()));
      if (row < 1) // the decays a_t of segdecay: 0, 1.0 = 2^20, below it
        v = i % 5 == 0 ? 0 : i % 5 == 1 ? (1 << 20) : int32_t(g() % (1u << 20));
      s += " " + std::to_string(v);
    }
    s += "\n";
  }
  s += ".entry main\n"
       ".uop 0 trn dst=16384 src0=0 len=64 p0=32 p1=4\n"
       ".uop 1 trn dst=32768 src0=0 len=32 p0=48 p1=1 p2=64 p3=40\n"
       ".uop 2 split16 dst=36000 src0=512 src2=37000 len=256 p0=7\n"
       ".uop 3 segdecay dst=40960 src0=0 len=32 p0=20\n"
       "{ load.dma rows=1 rowb=8192 region=io signal=0 }\n"
       "{ vector.run ulen=3 iters=1 wait=0 signal=1 }\n"
       "{ ssm.run ustart=3 ulen=1 iters=1 wait=1 signal=2 }\n"
       "{ ctrl.halt ; store.dma spad=16384 dram=8192 region=io rows=1 rowb=28800 wait=2 }\n";
  return s;
}

TEST(OverlayTopChunkedSsd, U280MatchesTheInterpreterAndTheModelKv260Faults) {
  {
    const target::Board &b = *target::findBoard("kv260");
    ASSERT_FALSE(b.chunkedSsd);
    isa::Program p = isa::assemble(chunkedSsdProgram("kv260"), "t.s");
    std::array<std::vector<uint8_t>, 4> dram;
    EXPECT_EQ(runTop(p, dram, 0, b.id).status, (7u << 24) | 1u);
  }
#ifdef MAMBA2_TB_U280
  const target::Board &b = *target::findBoard("u280");
  ASSERT_TRUE(b.chunkedSsd);
  isa::Program p = isa::assemble(chunkedSsdProgram("u280"), "t.s");
  isa::Memory ref = isa::Memory::forProgram(p, b.spadBytes());
  ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
  std::array<std::vector<uint8_t>, 4> dram;
  const TopRun t = runTop(p, dram, 0, b.id);
  ASSERT_EQ(t.status, 0u);
  EXPECT_TRUE(dram[1] == ref.dram[1]);
  const LoopCounts c = modelLoops(p, b);
  // trn 64 x 32 and 32 x 48 on 128 lanes: one tile each, (64 + 32) + (32 + 48); split16 256
  // elements: 2; segdecay Q = 32: max(ceil(33 / 128), 4) = 4 a row, 128.
  EXPECT_EQ(c.vector, 96u + 80u + 2u);
  EXPECT_EQ(c.ssm, 128u);
  EXPECT_EQ(t.counter(4, target::kCtrBusy), c.vector);
  EXPECT_EQ(t.counter(5, target::kCtrBusy), c.ssm);
  isa::Memory mem = isa::Memory::forProgram(p, b.spadBytes());
  hw::SimOptions opt;
  opt.mode = hw::SimMode::Cycle;
  const hw::SimResult sim = hw::simulate(p, "main", mem, b, opt);
  ASSERT_EQ(sim.error, "");
  EXPECT_TRUE(mem.dram[1] == ref.dram[1]);
  for (unsigned u = 1; u < isa::kNumSlots; ++u)
    EXPECT_EQ(t.counter(u, target::kCtrOps), sim.units[u].ops) << u;
  EXPECT_EQ(t.counter(4, target::kCtrOps), 64u * 32 + 32u * 48 + 256);
  EXPECT_EQ(t.counter(5, target::kCtrOps), 32u * 33);
  expectSourceCycles(p, t, b, "chunked SSD");
#endif
}
