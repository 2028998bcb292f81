// C-simulation testbench of the HLS top `mamba2_overlay` (KV260 build): the programs of
// test/e2e/overlay (all fit the KV260 scratchpad) run through the top function exactly as XRT
// would call it, its decoupled units exchanging instructions and tokens through streams, and
// every DRAM region must equal the reference interpreter's. stream_loops.s has tokens flowing
// both ways (buffer filled / buffer free). Faults come back in the status word.
#include "mamba2/hw/Board.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/isa/Interp.h"

#include "OverlayPrograms.h"

#include <gtest/gtest.h>

extern "C" void mamba2_overlay(const uint8_t *bundles, const uint8_t *ucode, uint8_t *r_const,
                               uint8_t *r_io, uint8_t *r_state, uint8_t *r_scratch,
                               uint32_t num_bundles, uint32_t ucode_words, uint32_t entry,
                               uint32_t *status);

using namespace mamba2;

namespace {

uint32_t runTop(const isa::Program &p, std::array<std::vector<uint8_t>, 4> &dram,
                uint32_t entry = 0) {
  std::vector<uint8_t> bundles = p.bundleBytes(), ucode = p.ucodeBytes();
  ucode.push_back(0); // a valid pointer even without microcode
  for (unsigned r = 0; r < 4; ++r) {
    dram[r] = p.regions[r].init;
    dram[r].resize(std::max<size_t>(p.regions[r].size, 1));
  }
  uint32_t status = 0xFFFFFFFF;
  mamba2_overlay(bundles.data(), ucode.data(), dram[0].data(), dram[1].data(), dram[2].data(),
                 dram[3].data(), uint32_t(p.bundles.size()), uint32_t(p.ucode.size()), entry,
                 &status);
  return status;
}

} // namespace

class OverlayTop : public ::testing::TestWithParam<const char *> {};

TEST_P(OverlayTop, MatchesReferenceInterpreter) {
  for (uint32_t seed : {4u, 5u}) {
    isa::Program p = test::assembleOverlayProgram(GetParam(), seed);
    isa::Memory ref = isa::Memory::forProgram(p, hw::findBoard("kv260")->spadBytes());
    ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
    std::array<std::vector<uint8_t>, 4> dram;
    ASSERT_EQ(runTop(p, dram), 0u);
    for (unsigned r = 0; r < 4; ++r)
      if (p.regions[r].size) {
        EXPECT_TRUE(dram[r] == ref.dram[r]) << GetParam() << " region " << isa::kRegionNames[r];
      }
  }
}
INSTANTIATE_TEST_SUITE_P(Kv260Programs, OverlayTop, ::testing::ValuesIn(test::kOverlayPrograms),
                         test::overlayProgramName);

TEST(OverlayTopFaults, StatusNamesFaultAndBundle) {
  std::array<std::vector<uint8_t>, 4> dram;
  isa::Program p = isa::assemble(
      ".target kv260\n.entry main\n{}\n{ matrix.mm8 wait=3 }\n{ ctrl.halt }\n", "t.s");
  EXPECT_EQ(runTop(p, dram), (1u << 24) | 1u); // deadlock at bundle 1
  p = isa::assemble(
      ".target kv260\n.entry main\n{ matrix.mm8 act=1048570 m=1 k=16 n=1 }\n{ ctrl.halt }\n",
      "t.s");
  EXPECT_EQ(runTop(p, dram), (5u << 24) | 0u); // scratchpad range
  p = isa::assemble(".target kv260\n.entry main\n{}\n", "t.s");
  EXPECT_EQ(runTop(p, dram), (4u << 24) | 1u); // ran past the program
  // Two units waiting on each other (each for a token only the other gives after it): deadlock
  // at the earlier bundle; and a fetch waiting on a token nobody gives.
  p = isa::assemble(".target kv260\n.entry main\n{ load.dma wait=1 signal=2 }\n{ matrix.mm8 "
                    "wait=2 signal=1 }\n{ ctrl.halt }\n",
                    "t.s");
  EXPECT_EQ(runTop(p, dram), (1u << 24) | 0u);
  p = isa::assemble(".target kv260\n.entry main\n{}\n{ ctrl.sync wait=4 }\n{ ctrl.halt }\n", "t.s");
  EXPECT_EQ(runTop(p, dram), (1u << 24) | 1u);
  // A micro-op on the wrong unit, a store into the const region.
  p = isa::assemble(".target kv260\n.entry main\n.uop 0 mm8 m=1 k=4 n=4 acc=64\n{ vector.run "
                    "ulen=1 iters=1 }\n{ ctrl.halt }\n",
                    "t.s");
  EXPECT_EQ(runTop(p, dram), (7u << 24) | 0u);
  p = isa::assemble(".target kv260\n.entry main\n{}\n{ store.dma rows=1 rowb=4 }\n{ ctrl.halt }\n",
                    "t.s");
  EXPECT_EQ(runTop(p, dram), (7u << 24) | 1u);
}
