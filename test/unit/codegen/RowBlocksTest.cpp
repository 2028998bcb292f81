// The row blocks' cost model (compiler/include/mamba2/CodeGen/RowBlocks.h): its estimates, the
// work it reads from ovl functions (against closed forms of the shape), its choice per board for
// a small model and for one layer of the 2.7B shape, the emitter following the choice, and the
// option's text.
#include "Harness.h"
#include "OvlModels.h"

#include "mamba2/CodeGen/RowBlocks.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mamba2;
using namespace codegen::test;

namespace {

TEST(RowBlockCost, EstimatesFollowTheModel) {
  codegen::PrefillWork w;
  w.rows = 32;
  w.scans = 24;
  w.ops = 10;
  w.matrix = 1000, w.stream = 100, w.scan = 1500, w.vector = 400;
  const double hand = 10 * codegen::kOpHandoff, issue = 10 * codegen::kStepIssue;
  // Op by op: max(M, D) + S + V + n kOpHandoff.
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 1), 1000 + 1500 + 400 + hand);
  // 4 blocks (interleaved): max(4 D, busiest + the others / 4 + 4 n kStepIssue).
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 4), 1500 + (1000 + 400) / 4.0 + 4 * issue);
  // 2 and 3 blocks (key order): half the others' work.
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 2), 1500 + (1000 + 400) / 2.0 + 2 * issue);
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 3), 1500 + (1000 + 400) / 2.0 + 3 * issue);
  codegen::RowBlockChoice c = codegen::chooseRowBlocks(w);
  EXPECT_EQ(c.blocks, 4u);
  ASSERT_EQ(c.estimates.size(), 4u); // op by op, 2, 3, 4
  EXPECT_EQ(c.estimates[0].first, 1u);
  EXPECT_EQ(c.estimates[3].first, 4u);
  EXPECT_DOUBLE_EQ(c.cycles, c.estimates[3].second);
  // A DRAM-bound shape: every block streams the weights again, so op by op wins.
  w.stream = 5000;
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 1), 5000 + 1500 + 400 + hand);
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 2), 10000);
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 4), 20000);
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 1u);
  // Between the two: the count the stream allows. Op by op 3,300; 2 blocks max(1,800, 2,400);
  // 3 blocks max(2,700, 2,500); 4 blocks max(3,600, 2,250).
  w.stream = 900;
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 2u);
  w.stream = 500; // op by op 3,300; 2 blocks 2,400; 3 blocks 2,500; 4 blocks max(2,000, 2,250)
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 4u);
  // A tie goes to op by op: 2 blocks max(4,600, 2,400) against 2,300 + 2,300.
  w.stream = 2300;
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 1), 4600);
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 2), 4600);
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 1u);
  // The ops after the blocked ones add the same to every estimate.
  w.stream = 900;
  w.outside = 1234;
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 1), 1234 + 1000 + 1500 + 400 + hand);
  EXPECT_DOUBLE_EQ(codegen::rowBlockCycles(w, 4), 1234 + 3600);
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 2u);
  // No scan, or one row: nothing to block.
  w.scans = 0;
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 1u);
  w.scans = 1, w.rows = 1, w.stream = 0;
  EXPECT_EQ(codegen::chooseRowBlocks(w).blocks, 1u);
}

TEST(RowBlockCost, CandidatesAreTheBlocksTheEmitterForms) {
  EXPECT_EQ(codegen::formedRowBlocks(32, 4), 4u);
  EXPECT_EQ(codegen::formedRowBlocks(4, 3), 2u); // blocks of ceil(4 / 3) = 2 rows
  EXPECT_EQ(codegen::formedRowBlocks(4, 4), 4u);
  EXPECT_EQ(codegen::formedRowBlocks(3, 4), 3u);
  EXPECT_EQ(codegen::formedRowBlocks(1, 4), 1u);
  EXPECT_EQ(codegen::formedRowBlocks(8, 1), 1u);
  codegen::PrefillWork w;
  w.rows = 4, w.scans = 1, w.scan = 10, w.matrix = 1, w.vector = 1;
  std::vector<unsigned> counts;
  for (const auto &e : codegen::chooseRowBlocks(w).estimates)
    counts.push_back(e.first);
  EXPECT_EQ(counts, (std::vector<unsigned>{1, 2, 4})); // 3 forms 2: estimated once
  w.rows = 2;
  counts.clear();
  for (const auto &e : codegen::chooseRowBlocks(w).estimates)
    counts.push_back(e.first);
  EXPECT_EQ(counts, (std::vector<unsigned>{1, 2}));
}

TEST(RowBlockCost, OptionText) {
  unsigned n = 99;
  std::string why;
  EXPECT_TRUE(codegen::parseRowBlocks("auto", n, why));
  EXPECT_EQ(n, codegen::kAutoRowBlocks);
  EXPECT_TRUE(codegen::parseRowBlocks("1", n, why));
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(codegen::parseRowBlocks("64", n, why));
  EXPECT_EQ(n, 64u);
  for (const char *bad : {"0", "65", "", "-1", "4x", "Auto", "99999999999999999999", " 4"}) {
    n = 7;
    why.clear();
    EXPECT_FALSE(codegen::parseRowBlocks(bad, n, why)) << bad;
    EXPECT_EQ(n, 7u) << bad;
    EXPECT_NE(why.find("neither auto nor a block count in 1..64"), std::string::npos) << why;
  }
}

// One layer of the 2.7B shape (d_model 2560, 80 heads of 64, d_state 128, in_proj W4 and
// out_proj W4 with groups of 128, as W4A4 quantises them), splat constants: shapes only.
ModelShape shape27() {
  ModelShape s;
  s.d = 2560, s.di = 5120, s.heads = 80, s.ns = 128, s.groups = 1, s.vocab = 64, s.layers = 1;
  s.inBits = 4, s.outBits = 4, s.headBits = 8, s.group = 128;
  s.splatConstants = true;
  return s;
}

struct BoardCase {
  const char *board;
  unsigned small; // the choice for the small model, 32 rows
  unsigned big;   // for one 2.7B layer, 4 rows (--t-block 4)
  unsigned big32; // ... 32 rows
};

class RowBlockChoice : public ::testing::TestWithParam<BoardCase> {};

// The work read from the function is the shape's closed form (the cycle model's rates), and
// the choice per board is the model's.
TEST_P(RowBlockChoice, FullSizeLayer) {
  const BoardCase &bc = GetParam();
  const target::Board *board = target::findBoard(bc.board);
  ASSERT_NE(board, nullptr);
  const ModelShape s = shape27();
  Parsed m = parse(modelText(s));
  ASSERT_TRUE(m.fn) << "the test model does not parse";
  const codegen::PrefillWork w = codegen::prefillWork(m.fn, *board, 4);
  EXPECT_EQ(w.scans, 1u);
  EXPECT_EQ(w.rows, 4u);
  // in_proj (N = 2 di + 2 G N + H) and out_proj, int4, 4-byte scales per group of 128.
  const double nIn = 2.0 * s.di + 2 * s.groups * s.ns + s.heads;
  const double bytes = nIn * (s.d / 2 + 4 * s.d / 128) + s.d * (s.di / 2 + 4 * s.di / 128);
  EXPECT_DOUBLE_EQ(w.weightBytes, bytes);
  EXPECT_NEAR(w.stream, bytes / board->dramBytesPerCycle(), 1e-6);
  // Per row and N tile: per group of 128 ceil(128 / 2 mat_k) K tiles, the scaling overlapped.
  auto steps = [&](double n, double k) {
    const double t = std::ceil(128.0 / board->matKInt4()),
                 c = std::ceil(double(board->matN) / board->scaleLanes());
    return 4 * std::ceil(n / board->matN) * (t + (k / 128 - 1) * std::max(t, c) + c);
  };
  EXPECT_DOUBLE_EQ(w.matrix, steps(nIn, s.d) + steps(s.d, s.di));
  // The scan: per row and head P state rows of ceil(N / lanes), plus the fill; at least that.
  const double scan = 4.0 * s.heads * 64 * std::ceil(double(s.ns) / board->ssmLanes);
  EXPECT_GE(w.scan, scan);
  EXPECT_LT(w.scan, scan * 1.5);
  EXPECT_GT(w.vector, 0);
  // After them: the final norm and the lm_head (64 rows of K 2560, W8, groups of 128).
  const double lmBytes = 64.0 * (2560 + 4 * 20);
  EXPECT_GT(w.outside, lmBytes / board->dramBytesPerCycle());
  const codegen::RowBlockChoice c = codegen::chooseRowBlocks(w);
  EXPECT_EQ(c.blocks, bc.big) << codegen::describeRowBlockChoice(w, c);
  const codegen::PrefillWork w32 = codegen::prefillWork(m.fn, *board, 32);
  const codegen::RowBlockChoice c32 = codegen::chooseRowBlocks(w32);
  EXPECT_EQ(c32.blocks, bc.big32) << codegen::describeRowBlockChoice(w32, c32);
  // The estimates scale with the rows but the stream does not.
  EXPECT_DOUBLE_EQ(w32.matrix, 8 * w.matrix);
  EXPECT_DOUBLE_EQ(w32.stream, w.stream);
}

// The emitter asked for "auto" emits the count the model chooses and says so; an explicit count
// is emitted as asked, without the note.
TEST_P(RowBlockChoice, EmitterFollowsTheChoice) {
  const BoardCase &bc = GetParam();
  const target::Board *board = target::findBoard(bc.board);
  ASSERT_NE(board, nullptr);
  ModelShape s;
  s.layers = 2;
  Parsed m = parse(modelText(s));
  ASSERT_TRUE(m.fn);
  const codegen::PrefillWork w = codegen::prefillWork(m.fn, *board, 32);
  EXPECT_EQ(w.scans, 2u);
  const codegen::RowBlockChoice c = codegen::chooseRowBlocks(w);
  EXPECT_EQ(c.blocks, bc.small) << codegen::describeRowBlockChoice(w, c);
  codegen::EmitOptions opt;
  opt.tBlock = 32;
  ASSERT_EQ(opt.prefillRowBlocks, codegen::kAutoRowBlocks); // the default
  codegen::EmitStats st;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &st);
  ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
  ASSERT_EQ(st.entries.size(), 2u);
  EXPECT_EQ(st.entries[0].rowBlocks, c.blocks);
  EXPECT_EQ(st.entries[1].rowBlocks, 1u);
  ASSERT_FALSE(st.notes.empty());
  EXPECT_EQ(st.notes[0], "entry prefill: " + codegen::describeRowBlockChoice(w, c));
  for (unsigned n : {1u, 2u}) {
    opt.prefillRowBlocks = n;
    codegen::EmitStats sn;
    auto pn = codegen::emitProgram(m.fn, *board, opt, &sn);
    ASSERT_TRUE(bool(pn)) << llvm::toString(pn.takeError());
    EXPECT_EQ(sn.entries[0].rowBlocks, n);
    for (const std::string &note : sn.notes)
      EXPECT_EQ(note.find("cost model"), std::string::npos) << note;
  }
}

INSTANTIATE_TEST_SUITE_P(Boards, RowBlockChoice,
                         ::testing::Values(BoardCase{"kv260", 4, 1, 4}, BoardCase{"u280", 4, 2, 4},
                                           BoardCase{"vc709", 4, 2, 4},
                                           BoardCase{"vck190", 4, 1, 4}),
                         [](const auto &info) { return std::string(info.param.board); });

} // namespace
