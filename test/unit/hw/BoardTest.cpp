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

// The scratchpad's bank geometry and the units' demands: the HLS constants (HlsConfig.h) and the
// host's (target::Board) are the same formulas; every unit's demand is served.
template <class Cfg> void expectSameBanks(const BoardConfig &b) {
  EXPECT_EQ(Cfg::SPAD_BANKS, b.spadBanks()) << b.name;
  EXPECT_EQ(Cfg::SPAD_WORD, BoardConfig::spadWordBytes()) << b.name;
  EXPECT_EQ(Cfg::SPAD_SUPPLY, b.spadBytesPerCycle()) << b.name;
  EXPECT_EQ(Cfg::MAT_DEMAND, b.matrixSpadDemand()) << b.name;
  EXPECT_EQ(Cfg::VEC_DEMAND, b.vectorSpadDemand()) << b.name;
  EXPECT_EQ(Cfg::SSM_DEMAND, b.ssmSpadDemand()) << b.name;
  EXPECT_EQ(Cfg::LOAD_DEMAND, b.loadSpadDemand()) << b.name;
  // capacity: the banks, one primitive deep each, hold the scratchpad
  EXPECT_GE(uint64_t(b.spadBanks()) * (b.uram ? 32768u : 4096u), b.spadBytes()) << b.name;
  for (const SpadDemand &d : spadDemand(b))
    EXPECT_LE(d.bytesPerCycle, spadSupply(b)) << b.name << " " << d.unit;
}

TEST(Board, ScratchpadBanksServeEveryUnit) {
  expectSameBanks<BoardCfg<0>>(*findBoard("vc709"));
  expectSameBanks<BoardCfg<1>>(*findBoard("vck190"));
  expectSameBanks<BoardCfg<2>>(*findBoard("u280"));
  expectSameBanks<BoardCfg<3>>(*findBoard("kv260"));
  // U280: 4 MiB of URAM is 128 primitives; the matrix unit's 4,224 bytes per cycle need 264
  // banks of 8 bytes with both ports: 512.
  EXPECT_EQ(findBoard("u280")->spadBanks(), 512u);
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
