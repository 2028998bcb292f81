// The board descriptions (target/boards/*.toml): each board's figures against
// shared/design/BOARDS.md (sections in brackets), and the rules every board keeps. Adding a
// board: its file in target/boards/ and its test here (BoardChecked names it).
#include "mamba2/target/Board.h"
#include "mamba2/target/Boards.gen.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace mamba2::target;

namespace {

const Board &board(const char *name) {
  const Board *b = findBoard(name);
  if (!b)
    throw std::runtime_error(std::string("no board ") + name);
  return *b;
}

// The boards that have a test below.
const std::set<std::string> kTested = {"vc709", "vck190", "u280", "kv260"};

} // namespace

TEST(Boards, EveryBoardHasItsTest) {
  for (const Board &b : boards())
    EXPECT_TRUE(kTested.count(b.name)) << b.name << " has no test in BoardsTest.cpp";
  EXPECT_EQ(boards().size(), size_t(MAMBA2_TARGET_NUM_BOARDS));
  EXPECT_EQ(findBoard("nope"), nullptr);
  EXPECT_EQ(boardNames(), "vc709, vck190, u280, kv260");
}

TEST(Boards, IdsAreIndices) {
  for (unsigned i = 0; i < boards().size(); ++i)
    EXPECT_EQ(boards()[i].id, i);
}

TEST(Boards, MemoryFiguresAgree) {
  for (const Board &b : boards()) {
    EXPECT_LT(b.dramAchievableGBps, b.dramPeakGBps) << b.name;
    // [2] DDR efficiency 60-90 %; HBM 13 of 14.375 GB/s per PC.
    EXPECT_GE(b.dramAchievableGBps, 0.6 * b.dramPeakGBps) << b.name;
    EXPECT_LE(b.dramAchievableGBps, 0.91 * b.dramPeakGBps) << b.name;
    EXPECT_LE(b.portAchievableGBps, b.portWidthGBps() + 1e-9) << b.name;
    EXPECT_LE(b.streamGBps(), b.dramAchievableGBps) << b.name;
    EXPECT_LE(b.streamGBps(), b.axiPorts * b.portWidthGBps()) << b.name;
  }
}

TEST(Boards, U280) {
  const Board &b = board("u280");
  // [1]
  EXPECT_EQ(b.dsp, 9024u);
  EXPECT_EQ(b.bram36, 2016u);
  EXPECT_EQ(b.uram, 960u);
  EXPECT_EQ(b.lut, 1303680u);
  EXPECT_EQ(b.dspKind, unsigned(DspKind::DSP48E2));
  // [2] 32 PCs x 14.375 GB/s; Shuhai 425 GB/s; one 512-bit port on one PC 13.0-13.15 GB/s;
  // lateral (cross-stack) links at 50 %.
  EXPECT_EQ(b.memChannels, 32u);
  EXPECT_EQ(b.memStacks, 2u);
  EXPECT_DOUBLE_EQ(b.dramPeakGBps, 460.0);
  EXPECT_LE(b.dramAchievableGBps, 425.0);
  EXPECT_GE(b.portAchievableGBps, 13.0);
  EXPECT_LE(b.portAchievableGBps, 13.15);
  EXPECT_DOUBLE_EQ(b.crossStackFraction, 0.5);
  EXPECT_EQ(b.axiBits, 512u);
  // [3] below the 250 MHz a timing failure suggested
  EXPECT_LE(b.clockMhz, 250.0);
}

TEST(Boards, KV260) {
  const Board &b = board("kv260");
  // [1]
  EXPECT_EQ(b.dsp, 1248u);
  EXPECT_EQ(b.bram36, 144u);
  EXPECT_EQ(b.uram, 64u);
  EXPECT_EQ(b.lut, 117120u);
  EXPECT_EQ(b.dspKind, unsigned(DspKind::DSP48E2));
  // [2] 64-bit DDR4-2400: 19.2 GB/s; the PL reaches it through 128-bit PS ports.
  EXPECT_DOUBLE_EQ(b.dramPeakGBps, 19.2);
  EXPECT_EQ(b.axiBits, 128u);
  EXPECT_EQ(b.memStacks, 1u);
}

TEST(Boards, VCK190) {
  const Board &b = board("vck190");
  // [1] DSP58 count; the rest [UNVERIFIED]
  EXPECT_EQ(b.dsp, 1968u);
  EXPECT_EQ(b.dspKind, unsigned(DspKind::DSP58));
  // [2] NMUs carry 16 GB/s each way: a port is not above that
  EXPECT_LE(b.portAchievableGBps, 16.0);
  // [3] LightMamba's 400 MHz
  EXPECT_EQ(b.clockMhz, 400.0);
}

TEST(Boards, VC709) {
  const Board &b = board("vc709");
  // [1] 7-series: no URAM, DSP48E1
  EXPECT_EQ(b.uram, 0u);
  EXPECT_EQ(b.dspKind, unsigned(DspKind::DSP48E1));
  // [2] two 64-bit DDR3-1600 MIGs: 12.8 GB/s each, 4:1 PHY -> 200 MHz 512-bit user ports
  EXPECT_EQ(b.memChannels, 2u);
  EXPECT_DOUBLE_EQ(b.dramPeakGBps, 25.6);
  EXPECT_EQ(b.axiPorts, 2u);
  EXPECT_EQ(b.axiBits, 512u);
  EXPECT_EQ(b.clockMhz, 200.0);
}

// The optional chunked SSD units: every board but the KV260 (184 LUT left under its budget,
// docs/overlay.md "Resource estimates"); a feature a board lacks is named in its message.
TEST(Boards, ChunkedSsdFeature) {
  for (const Board &b : boards())
    EXPECT_EQ(b.chunkedSsd, std::string(b.name) != "kv260") << b.name;
  EXPECT_TRUE(board("kv260").hasFeature(""));
  EXPECT_FALSE(board("kv260").hasFeature("chunked_ssd"));
  EXPECT_TRUE(board("u280").hasFeature("chunked_ssd"));
  EXPECT_FALSE(board("u280").hasFeature("unknown_feature"));
  EXPECT_EQ(board("u280").missingFeature("trn", "chunked_ssd"), "");
  EXPECT_EQ(board("kv260").missingFeature("segdecay", "chunked_ssd"),
            "micro-op 'segdecay' needs the board feature 'chunked_ssd', which the kv260 overlay "
            "is built without (target/boards/kv260.toml [units] chunked_ssd)");
}
