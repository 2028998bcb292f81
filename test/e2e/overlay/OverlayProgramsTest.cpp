// Every hand-written program in programs/ is assembled, packed into a .m2b, loaded through the
// validator and run on the simulator in functional and in cycle mode; the final DRAM regions
// and scratchpad must equal the reference interpreter's bit for bit. Bytes a program does not
// initialise are filled with seeded random data, so saturation and rounding edges get hit.
// A few outputs are also recomputed directly from the reference functions on host arrays.
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Reference.h"
#include "mamba2/runtime/Container.h"

#include "OverlayPrograms.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace mamba2;

namespace {

struct Prepared {
  isa::Program program;
  const hw::BoardConfig *board = nullptr;
  isa::Memory initial, ref;
};

Prepared prepare(const std::string &name, uint32_t seed) {
  Prepared r;
  isa::Program p = test::assembleOverlayProgram(name, seed);
  // Through the container and the loader, as mamba2-run would.
  const hw::BoardConfig *b = hw::findBoard(p.target);
  std::vector<uint8_t> file = runtime::writeContainer(p, *b);
  runtime::LoadResult lr = runtime::loadContainer(file.data(), file.size());
  EXPECT_EQ(lr.error, "") << name;
  r.program = lr.program;
  r.board = lr.board;
  r.initial = isa::Memory::forProgram(r.program, r.board->spadBytes());
  r.ref = r.initial;
  EXPECT_EQ(isa::interpret(r.program, "main", r.ref).error, "") << name;
  return r;
}

class OverlayProgram : public ::testing::TestWithParam<const char *> {};

TEST_P(OverlayProgram, BothModesMatchTheReferenceBitForBit) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Prepared r = prepare(GetParam(), seed);
    for (hw::SimMode mode : {hw::SimMode::Functional, hw::SimMode::Cycle}) {
      isa::Memory m = r.initial;
      hw::SimResult s = hw::simulate(r.program, "main", m, *r.board, {mode, false});
      ASSERT_EQ(s.error, "") << GetParam();
      for (unsigned reg = 0; reg < isa::kNumRegions; ++reg)
        ASSERT_TRUE(m.dram[reg] == r.ref.dram[reg])
            << GetParam() << " region " << isa::kRegionNames[reg]
            << (mode == hw::SimMode::Cycle ? " cycle" : " functional");
      ASSERT_TRUE(m.spad == r.ref.spad) << GetParam();
      if (mode == hw::SimMode::Cycle) {
        EXPECT_GT(s.cycles, 0u);
      }
    }
  }
}

// Timing mode (the cycle model without the datapaths) counts what cycle mode counts: cycles,
// bundles and every unit's counters, and leaves memory as it found it; so does the timing mode
// without a memory (simulateTiming on the memory's sizes alone, what a timing-only device runs).
TEST_P(OverlayProgram, TimingModeCountsWhatCycleModeCounts) {
  Prepared r = prepare(GetParam(), 1);
  isa::Memory mc = r.initial, mt = r.initial;
  hw::SimResult c = hw::simulate(r.program, "main", mc, *r.board, {hw::SimMode::Cycle, false});
  hw::SimResult t = hw::simulate(r.program, "main", mt, *r.board, {hw::SimMode::Timing, false});
  hw::SimResult l = hw::simulateTiming(r.program, "main", r.initial.limits(), *r.board,
                                       {hw::SimMode::Timing, false});
  ASSERT_EQ(c.error, "") << GetParam();
  for (const hw::SimResult *x : {&t, &l}) {
    const char *which = x == &t ? " (timing)" : " (timing without memory)";
    ASSERT_EQ(x->error, "") << GetParam() << which;
    EXPECT_EQ(x->cycles, c.cycles) << GetParam() << which;
    EXPECT_EQ(x->bundles, c.bundles) << GetParam() << which;
    for (unsigned u = 0; u < isa::kNumSlots; ++u) {
      const hw::UnitCounters &a = x->units[u], &b = c.units[u];
      EXPECT_EQ(a.instructions, b.instructions) << GetParam() << which << " unit " << u;
      EXPECT_EQ(a.busy, b.busy) << GetParam() << which << " unit " << u;
      EXPECT_EQ(a.stallToken, b.stallToken) << GetParam() << which << " unit " << u;
      EXPECT_EQ(a.stallMemory, b.stallMemory) << GetParam() << which << " unit " << u;
      EXPECT_EQ(a.bytes, b.bytes) << GetParam() << which << " unit " << u;
      EXPECT_EQ(a.ops, b.ops) << GetParam() << which << " unit " << u;
    }
  }
  EXPECT_TRUE(mt.spad == r.initial.spad) << GetParam();
  for (unsigned reg = 0; reg < isa::kNumRegions; ++reg)
    EXPECT_TRUE(mt.dram[reg] == r.initial.dram[reg]) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Programs, OverlayProgram, ::testing::ValuesIn(test::kOverlayPrograms),
                         test::overlayProgramName);

template <typename T> std::vector<T> at(const std::vector<uint8_t> &m, size_t off, size_t n) {
  std::vector<T> v(n);
  std::memcpy(v.data(), m.data() + off, n * sizeof(T));
  return v;
}

} // namespace

TEST(OverlayPrograms, LinearW8A8EqualsReferenceFormula) {
  Prepared r = prepare("linear_w8a8.s", 9);
  isa::Memory m = r.initial;
  ASSERT_EQ(hw::simulate(r.program, "main", m, *r.board, {hw::SimMode::Cycle}).error, "");
  auto x = at<int8_t>(r.initial.dram[1], 0, 128);
  auto w = at<int8_t>(r.initial.dram[0], 0, 2048);
  auto mult = at<int32_t>(r.initial.dram[0], 2048, 32);
  auto sh = at<uint8_t>(r.initial.dram[0], 2176, 32);
  std::vector<int32_t> acc(64);
  isa::ref::matmulI8(x.data(), w.data(), acc.data(), 2, 64, 32, false);
  auto y = at<int8_t>(m.dram[1], 256, 64);
  int saturated = 0;
  for (unsigned i = 0; i < 64; ++i) {
    EXPECT_EQ(y[i], isa::ref::requant8(acc[i], mult[i % 32], sh[i % 32])) << i;
    saturated += y[i] == 127 || y[i] == -128;
  }
  EXPECT_LT(saturated, 64) << "scales keep most outputs in range";
}

TEST(OverlayPrograms, GroupScaledW4A4EqualsReferenceFormula) {
  Prepared r = prepare("gmm_w4a4.s", 12);
  for (hw::SimMode mode : {hw::SimMode::Functional, hw::SimMode::Cycle}) {
    isa::Memory m = r.initial;
    hw::SimResult s = hw::simulate(r.program, "main", m, *r.board, {mode});
    ASSERT_EQ(s.error, "");
    auto x = at<int8_t>(r.initial.dram[1], 0, 256);
    auto w = at<uint8_t>(r.initial.dram[0], 0, 4096);
    auto scl = at<int32_t>(r.initial.dram[0], 4096, 256);
    auto y = at<int8_t>(m.dram[1], 512, 128);
    int saturated = 0;
    for (unsigned tile = 0; tile < 2; ++tile) {
      // Tile t: output channels 32t .. 32t+31, weights rows and scale rows of those channels.
      std::vector<int32_t> acc(64);
      isa::ref::matmulGrouped(x.data(), w.data() + tile * 2048, true, scl.data() + tile * 128,
                              acc.data(), 2, 128, 32, 32, 12, false);
      for (unsigned i = 0; i < 64; ++i) {
        int8_t want = isa::ref::sat8(isa::ref::rnd(acc[i], 8));
        EXPECT_EQ(y[tile * 64 + i], want) << tile << " " << i;
        saturated += want == 127 || want == -128;
      }
    }
    EXPECT_LT(saturated, 32) << "scales keep most outputs in range";
    if (mode == hw::SimMode::Cycle) {
      // Every unit ran microcode: load (2 runs + x), matrix, vector, store.
      EXPECT_EQ(s.units[unsigned(isa::Slot::Matrix)].instructions, 1u);
      EXPECT_EQ(s.units[unsigned(isa::Slot::Matrix)].ops, 2u * 2 * 32 * 128);
      EXPECT_EQ(s.units[unsigned(isa::Slot::Load)].bytes, 256u + 4096 + 1024);
    }
  }
}

TEST(OverlayPrograms, GroupScaledW8A8EqualsReferenceFormula) {
  Prepared r = prepare("gmm_w8a8.s", 13);
  isa::Memory m = r.initial;
  ASSERT_EQ(hw::simulate(r.program, "main", m, *r.board, {hw::SimMode::Cycle}).error, "");
  auto x = at<int8_t>(r.initial.dram[1], 0, 256);
  auto w = at<uint8_t>(r.initial.dram[0], 0, 4096);
  auto scl = at<int32_t>(r.initial.dram[0], 4096, 128);
  std::vector<int32_t> acc(64);
  isa::ref::matmulGrouped(x.data(), w.data(), false, scl.data(), acc.data(), 2, 128, 32, 32, 14,
                          false);
  EXPECT_TRUE(at<int32_t>(m.dram[1], 512, 64) == acc);
  auto y = at<int8_t>(m.dram[1], 256, 64);
  int saturated = 0;
  for (unsigned i = 0; i < 64; ++i) {
    EXPECT_EQ(y[i], isa::ref::sat8(isa::ref::rnd(acc[i], 11))) << i;
    saturated += y[i] == 127 || y[i] == -128;
  }
  EXPECT_LT(saturated, 32) << "scales keep most outputs in range";
}

TEST(OverlayPrograms, HadamardEqualsReferenceTransform) {
  Prepared r = prepare("hadamard.s", 10);
  isa::Memory m = r.initial;
  ASSERT_EQ(hw::simulate(r.program, "main", m, *r.board, {hw::SimMode::Functional}).error, "");
  auto a = at<int32_t>(r.initial.dram[1], 0, 1536);
  auto b = at<int32_t>(r.initial.dram[1], 8192, 5120);
  isa::ref::fwht(a.data(), 1536);
  isa::ref::fwht(b.data(), 5120);
  EXPECT_TRUE(at<int32_t>(m.dram[1], 0, 1536) == a);
  EXPECT_TRUE(at<int32_t>(m.dram[1], 8192, 5120) == b);
}

// The fused SSM step computes what ssmupd followed by ssmout computes: conv_ssm_step.s and
// conv_ssm.s (same regions, data and seed) leave the same DRAM behind, in the cycle simulator.
TEST(OverlayPrograms, SsmStepEqualsUpdateThenOutput) {
  for (uint32_t seed : {4u, 5u}) {
    Prepared pair = prepare("conv_ssm.s", seed), fused = prepare("conv_ssm_step.s", seed);
    ASSERT_TRUE(pair.initial.dram == fused.initial.dram);
    isa::Memory a = pair.initial, b = fused.initial;
    ASSERT_EQ(hw::simulate(pair.program, "main", a, *pair.board, {hw::SimMode::Cycle}).error, "");
    hw::SimResult s = hw::simulate(fused.program, "main", b, *fused.board, {hw::SimMode::Cycle});
    ASSERT_EQ(s.error, "");
    for (unsigned reg = 0; reg < isa::kNumRegions; ++reg)
      EXPECT_TRUE(a.dram[reg] == b.dram[reg]) << isa::kRegionNames[reg] << " seed " << seed;
  }
}

TEST(OverlayPrograms, ConvStateAdvancesLikeTheReference) {
  Prepared r = prepare("conv_ssm.s", 11);
  isa::Memory m = r.initial;
  ASSERT_EQ(hw::simulate(r.program, "main", m, *r.board, {hw::SimMode::Cycle}).error, "");
  auto x = at<int8_t>(r.initial.dram[1], 0, 128);
  auto w = at<int8_t>(r.initial.dram[0], 0, 128);
  auto bias = at<int32_t>(r.initial.dram[0], 128, 32);
  auto state = at<int8_t>(r.initial.dram[2], 0, 96);
  std::vector<int32_t> y(32);
  for (unsigned t = 0; t < 4; ++t)
    isa::ref::conv4Step(x.data() + 32 * t, w.data(), bias.data(), state.data(), y.data(), 32);
  EXPECT_TRUE(at<int8_t>(m.dram[2], 0, 96) == state);
}
