// The HLS configuration against the host's board table, and the resource estimator (the
// boards' own figures: test/unit/target/BoardsTest.cpp).
#include "mamba2/hw/Board.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Resources.h"

#include <gtest/gtest.h>

using namespace mamba2::hw;

TEST(Board, HlsConfigMatchesHostConfig) {
  EXPECT_EQ(BoardCfg<2>::MAT_K, findBoard("u280")->matK);
  EXPECT_EQ(BoardCfg<3>::SPAD_BYTES, findBoard("kv260")->spadBytes());
  EXPECT_EQ(BoardCfg<0>::AXI_PORTS, findBoard("vc709")->axiPorts);
  EXPECT_EQ(BoardCfg<2>::SPAD_BANKS, findBoard("u280")->spadBanks());
  EXPECT_EQ(BoardCfg<3>::SPAD_BANKS, findBoard("kv260")->spadBanks());
}

TEST(Resources, EveryShippedConfigurationFits) {
  for (const BoardConfig &b : boards()) {
    ResourceEstimate e = estimateResources(b);
    EXPECT_TRUE(e.fits()) << b.name << ": " << (e.overBudget.empty() ? "" : e.overBudget[0]);
    EXPECT_GT(e.total.dsp, 0);
  }
}

TEST(Resources, OversizedConfigurationIsRefusedNamingTheResource) {
  BoardConfig c = *findBoard("kv260");
  c.matK = 64;
  c.matN = 64; // 4096 MACs on 1,248 DSPs
  ResourceEstimate e = estimateResources(c);
  ASSERT_FALSE(e.fits());
  EXPECT_EQ(e.overBudget[0].rfind("DSP: ", 0), 0u) << e.overBudget[0];
  BoardConfig v = *findBoard("vc709");
  v.spadKiB = 16384; // 16 MiB of BRAM on a part with 1,470
  EXPECT_FALSE(estimateResources(v).fits());
}
