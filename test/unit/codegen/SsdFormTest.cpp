// The SSD form's cost model (compiler/include/mamba2/CodeGen/SsdForm.h): each form's work per
// unit against closed forms of the board's rates, and the choice per phase on each board for
// one layer of the 130M shape and of the 2.7B shape.
#include "Harness.h"
#include "OvlModels.h"

#include "mamba2/CodeGen/SsdForm.h"
#include "mamba2/Ovl/SsdChunk.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mamba2;
using namespace codegen::test;

namespace {

TEST(SsdFormCost, ScanIsTheRowBlocksModelsScan) {
  const target::Board *u280 = target::findBoard("u280");
  ASSERT_NE(u280, nullptr);
  const codegen::SsdShape sh{24, 64, 128, 1};
  const codegen::UnitCycles s = codegen::scanCycles(*u280, sh, 32);
  // Per row and head one ssmstep over 64 state rows of ceil(128 / 128) cycles, plus the fill
  // (7), the output's multiply and adder tree (4 + log2 128).
  EXPECT_DOUBLE_EQ(s.ssm, 32.0 * 24 * (64 + 7 + 4 + 7));
  EXPECT_EQ(s.matrix, 0);
  EXPECT_EQ(s.vector, 0);
}

// The chunked form's work is its recipe's steps at the cycle model's rates: each unit at least
// its micro-ops' work at full rate (the products' MACs over mat_k x mat_n, the element-wise
// steps over the lanes), segdecay exactly one a head and chunk, and chunks from the first row.
TEST(SsdFormCost, ChunkedWorkIsTheRecipes) {
  const target::Board *u280 = target::findBoard("u280");
  ASSERT_NE(u280, nullptr);
  const codegen::SsdShape sh{24, 64, 128, 1};
  ssd::ChunkShape cs;
  cs.heads = 24, cs.headDim = 64, cs.groups = 1, cs.dState = 128, cs.rows = 16, cs.chunk = 16;
  ssd::ChunkShifts shifts;
  shifts.decay = 15;
  shifts.multExp.assign(24, 0);
  double macs = 0, elems = 0;
  unsigned segdecays = 0;
  for (const ssd::Step &st : ssd::buildRecipe(cs, shifts).steps) {
    const double it = double(std::max<int64_t>(1, st.iters));
    if (st.kind == ssd::Kind::Gmm8)
      macs += it * double(st.m * st.k * st.n);
    else if (st.kind == ssd::Kind::SegDecay)
      segdecays += unsigned(it);
    else if (st.kind != ssd::Kind::Trn)
      elems += it * double(st.len);
  }
  const codegen::UnitCycles c = codegen::chunkedCycles(*u280, sh, 16, 16);
  EXPECT_GE(c.matrix, macs / (u280->matK * u280->matN));
  EXPECT_GE(c.vector, elems / u280->vecLanes);
  // segdecay: one a head, 16 rows of max(ceil(17 / 128), 4) cycles and its fill of 7.
  EXPECT_EQ(segdecays, 24u);
  EXPECT_DOUBLE_EQ(c.ssm, 24.0 * (16 * 4 + 7));
  // Rows in chunks from the first, the last one shorter.
  const codegen::UnitCycles whole = codegen::chunkedCycles(*u280, sh, 40, 16),
                            last = codegen::chunkedCycles(*u280, sh, 8, 16);
  EXPECT_DOUBLE_EQ(whole.matrix, 2 * c.matrix + last.matrix);
  EXPECT_DOUBLE_EQ(whole.vector, 2 * c.vector + last.vector);
  EXPECT_DOUBLE_EQ(whole.ssm, 2 * c.ssm + last.ssm);
  EXPECT_EQ(codegen::chunkedCycles(*u280, sh, 0, 16).total(), 0);
  EXPECT_EQ(codegen::chunkedCycles(*u280, sh, 16, 0).total(), 0);
  EXPECT_EQ(codegen::chunkedCycles(*u280, sh, 16, 65).total(), 0);
}

ModelShape layer(int d, int heads, int ns, int bits) {
  ModelShape s;
  s.d = d, s.di = 2 * d, s.heads = heads, s.ns = ns, s.groups = 1, s.vocab = 64, s.layers = 1;
  s.inBits = bits, s.outBits = bits, s.headBits = 8, s.group = bits == 4 ? 128 : d;
  s.splatConstants = true;
  return s;
}

struct PhaseCase {
  const char *board;
  unsigned chunk130; // the chunked form's chunk for 32-row calls of a 130M layer (0: the scan)
};

class SsdFormChoice : public ::testing::TestWithParam<PhaseCase> {};

// Per phase: a decode row takes the scan on every board that has the form (the chunked form's
// products and splits cost more than one step a head); a 32-row prefill call of a 130M layer takes
// the chunked form only on the U280 (the scan is 2/3 of its units' work there; elsewhere the
// chunked form's matrix and vector work is more than the scan it removes); a 2.7B layer keeps
// the scan everywhere.
TEST_P(SsdFormChoice, PerPhase) {
  const PhaseCase &pc = GetParam();
  const target::Board *board = target::findBoard(pc.board);
  ASSERT_NE(board, nullptr);
  for (auto [s, big] :
       {std::pair{layer(768, 24, 128, 8), false}, std::pair{layer(2560, 80, 128, 4), true}}) {
    Parsed m = parse(modelText(s));
    ASSERT_TRUE(m.fn);
    const codegen::SsdFormChoice decode = codegen::chooseSsdForm(m.fn, *board, 1);
    EXPECT_EQ(decode.form, codegen::SsdForm::Scan) << codegen::describeSsdFormChoice(decode);
    EXPECT_EQ(decode.chunk, 1u);
    const codegen::SsdFormChoice pre = codegen::chooseSsdForm(m.fn, *board, 32);
    const unsigned want = big ? 0 : pc.chunk130;
    EXPECT_EQ(pre.form, want ? codegen::SsdForm::Chunked : codegen::SsdForm::Scan)
        << codegen::describeSsdFormChoice(pre);
    if (want) {
      EXPECT_EQ(pre.chunk, want);
      EXPECT_LT(pre.chunked.cycles, pre.scan.cycles);
    } else {
      EXPECT_GE(pre.chunked.cycles, pre.scan.cycles);
    }
    // The chunked estimate is the row blocks' model's with the scans' work moved.
    EXPECT_LT(pre.chunkedWork.scan, pre.scanWork.scan);
    EXPECT_GT(pre.chunkedWork.matrix, pre.scanWork.matrix);
    EXPECT_DOUBLE_EQ(pre.chunked.cycles,
                     codegen::rowBlockCycles(pre.chunkedWork, pre.chunked.blocks));
  }
}

// The KV260 overlay is built without trn, split16 and segdecay: the scan, and the note says why.
TEST(SsdFormCost, BoardWithoutTheMicroOps) {
  const target::Board *kv = target::findBoard("kv260");
  ASSERT_FALSE(kv->hasFeature("chunked_ssd"));
  Parsed m = parse(modelText(layer(768, 24, 128, 8)));
  ASSERT_TRUE(m.fn);
  const codegen::SsdFormChoice c = codegen::chooseSsdForm(m.fn, *kv, 32);
  EXPECT_EQ(c.form, codegen::SsdForm::Scan);
  EXPECT_FALSE(c.available);
  EXPECT_TRUE(c.chunked.estimates.empty());
  EXPECT_EQ(codegen::describeSsdFormChoice(c),
            "the recurrent scan for 32-row calls: the kv260 overlay is built without the chunked "
            "form's micro-ops (board feature chunked_ssd)");
}

INSTANTIATE_TEST_SUITE_P(Boards, SsdFormChoice,
                         ::testing::Values(PhaseCase{"u280", 0}, PhaseCase{"vc709", 0},
                                           PhaseCase{"vck190", 0}),
                         [](const auto &info) { return std::string(info.param.board); });

// A block is one chunk: chunks longer than the limit are not considered, and with none left
// the scan is chosen and the note says why.
TEST(SsdFormCost, ChunksAtMostTheLimit) {
  const target::Board *u280 = target::findBoard("u280");
  Parsed m = parse(modelText(layer(768, 24, 128, 8)));
  ASSERT_TRUE(m.fn);
  const codegen::SsdFormChoice eight = codegen::chooseSsdForm(m.fn, *u280, 32, 8);
  ASSERT_EQ(eight.chunked.estimates.size(), 1u);
  EXPECT_EQ(eight.chunked.estimates[0].first, 4u); // 4 blocks of 8 rows
  EXPECT_EQ(eight.chunk, 8u);
  const codegen::SsdFormChoice none = codegen::chooseSsdForm(m.fn, *u280, 32, 4);
  EXPECT_EQ(none.form, codegen::SsdForm::Scan);
  EXPECT_EQ(none.chunk, 0u);
  EXPECT_NE(codegen::describeSsdFormChoice(none).find("no chunk of the chunked form fits"),
            std::string::npos);
  // The note names the choice, its estimate and the other form's.
  const codegen::SsdFormChoice pre = codegen::chooseSsdForm(m.fn, *u280, 32);
  const std::string text = codegen::describeSsdFormChoice(pre);
  EXPECT_EQ(text.rfind("the recurrent scan for 32-row calls, 4 row blocks by the cost model: "
                       "estimated ",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("; the chunked form "), std::string::npos) << text;
  EXPECT_NE(text.find(", chunks of " + std::to_string(pre.chunk) + " rows"), std::string::npos)
      << text;
}

} // namespace
