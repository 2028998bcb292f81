// Board configurations and the resource estimator.
#include "mamba2/hw/Board.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Resources.h"

#include <gtest/gtest.h>

using namespace mamba2::hw;

TEST(Board, BudgetsMatchBoardsPage) {
  // shared/design/BOARDS.md section 1 ([src] rows; VC709 / VCK190 memories [UNVERIFIED] there).
  EXPECT_EQ(findBoard("u280")->dsp, 9024u);
  EXPECT_EQ(findBoard("u280")->bram36, 2016u);
  EXPECT_EQ(findBoard("u280")->uram, 960u);
  EXPECT_EQ(findBoard("u280")->lut, 1303680u);
  EXPECT_EQ(findBoard("kv260")->dsp, 1248u);
  EXPECT_EQ(findBoard("kv260")->bram36, 144u);
  EXPECT_EQ(findBoard("kv260")->uram, 64u);
  EXPECT_EQ(findBoard("kv260")->lut, 117120u);
  EXPECT_EQ(findBoard("vck190")->dsp, 1968u);
  EXPECT_EQ(findBoard("vc709")->uram, 0u);
  EXPECT_EQ(findBoard("nope"), nullptr);
}

TEST(Board, AchievableBandwidthIsBelowPeakAndWithinMeasuredBounds) {
  for (const BoardConfig &b : boards()) {
    EXPECT_LT(b.dramAchievableGBps, b.dramPeakGBps) << b.name;
    EXPECT_GE(b.dramAchievableGBps, 0.6 * b.dramPeakGBps) << b.name;
  }
  // U280: at most ~425 GB/s in all, ~13 GB/s per pseudo-channel port.
  const BoardConfig *u = findBoard("u280");
  EXPECT_LE(u->dramAchievableGBps, 425.0);
  EXPECT_LE(u->dramAchievableGBps / u->axiPorts, 13.15);
}

TEST(Board, HlsConfigMatchesHostConfig) {
  EXPECT_EQ(BoardCfg<2>::MAT_K, findBoard("u280")->matK);
  EXPECT_EQ(BoardCfg<3>::SPAD_BYTES, findBoard("kv260")->spadBytes());
  for (unsigned i = 0; i < boards().size(); ++i)
    EXPECT_EQ(boards()[i].id, i);
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
