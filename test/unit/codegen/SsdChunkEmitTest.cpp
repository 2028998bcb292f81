// The emitter's lowering of the chunked SSD form (ovl.ssd_chunk, ovl-ssd-form{form=chunked}):
// hand-built models whose scans the pass rewrites, emitted for boards with the form's micro-ops,
// run as prefill calls (a last chunk shorter than the others) then decode steps (the recurrent
// scan of @decode) by isa's interpreter and by the cycle simulator, logits and states equal bit
// for bit to ovl::Session's (which runs the same recipe with isa::ref). Also: the row blocks of
// a chunked prefill are whole chunks, and what the lowering refuses.
#include "Harness.h"
#include "OvlModels.h"

#include "mamba2/Transforms/OvlPasses.h"

#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

using namespace mamba2;
using namespace codegen::test;

namespace {

struct ChunkCase {
  const char *name;
  ModelShape shape;
  unsigned tBlock;        // rows of a prefill call
  int64_t chunk;          // Q
  unsigned rowBlocks = 1; // requested row blocks of the prefill
  unsigned wantBlocks = 1;
};

/// The model of `c` with its @main's scans in the chunked form (and @decode the scan).
Parsed chunkedModel(const ChunkCase &c, std::string &error) {
  ModelShape s = c.shape;
  s.chunkable = true;
  Parsed m = parse(modelText(s));
  if (!m.fn) {
    error = "the test model does not parse";
    return m;
  }
  mlir::PassManager pm(m.module->getContext());
  OvlSsdFormOptions o;
  o.form = "chunked";
  o.chunk = c.chunk;
  pm.addPass(createOvlSsdForm(o));
  if (mlir::failed(pm.run(*m.module)))
    error = "ovl-ssd-form failed";
  m.fn = m.module->lookupSymbol<mlir::func::FuncOp>("main");
  return m;
}

class ChunkedModels : public ::testing::TestWithParam<std::tuple<ChunkCase, const char *>> {};

TEST_P(ChunkedModels, PrefillChunksThenDecodeMatchEvaluator) {
  const ChunkCase &c = std::get<0>(GetParam());
  const target::Board *board = target::findBoard(std::get<1>(GetParam()));
  ASSERT_NE(board, nullptr);
  std::string error;
  Parsed m = chunkedModel(c, error);
  ASSERT_EQ(error, "");
  unsigned chunked = 0;
  m.fn.walk([&](ovl::SsdChunkOp) { ++chunked; });
  ASSERT_EQ(chunked, unsigned(c.shape.layers)) << "every scan of @main in the chunked form";
  codegen::EmitOptions opt;
  opt.tBlock = c.tBlock;
  opt.prefillRowBlocks = c.rowBlocks;
  codegen::EmitStats stats;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &stats);
  ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
  ASSERT_EQ(stats.entries.size(), 2u);
  EXPECT_EQ(stats.entries[0].rowBlocks, c.wantBlocks);
  EXPECT_EQ(stats.entries[1].function, "decode");
  // The prefill runs the form's micro-ops, the decode the scan.
  std::map<isa::UopCode, unsigned> uses;
  for (const isa::UopWord &w : prog->ucode)
    ++uses[isa::UopCode(w.raw(isa::field::uop::uop))];
  for (auto code :
       {isa::UopCode::Trn, isa::UopCode::Segdecay, isa::UopCode::Split16, isa::UopCode::Gmm8})
    EXPECT_GT(uses[code], 0u) << int(code);
  EXPECT_GT(uses[isa::UopCode::Ssmstep] + uses[isa::UopCode::Ssmupd], 0u);
  std::mt19937 rng(c.shape.seed + 11);
  std::vector<int32_t> pre(2 * c.tBlock + 2), dec(3);
  for (auto &v : pre)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  for (auto &v : dec)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  auto calls = promptCalls(pre, c.tBlock, dec); // two prefill calls, then decodes
  Outcome want = runEvaluator(*m.module, calls);
  ASSERT_FALSE(want.logits.empty()) << want.error;
  std::set<int32_t> distinct(want.logits[0].begin(), want.logits[0].end());
  EXPECT_GT(distinct.size(), want.logits[0].size() / 2) << "the test model's logits barely vary";
  EXPECT_EQ(compare(want, runProgram(*prog, *board, false, calls, c.shape.vocab)), "")
      << "functional";
  EXPECT_EQ(compare(want, runProgram(*prog, *board, true, calls, c.shape.vocab)), "") << "cycle";
}

ModelShape shape(int layers, int groups, int heads, int ns, uint32_t seed) {
  ModelShape s;
  s.layers = layers;
  s.groups = groups;
  s.heads = heads;
  s.ns = ns;
  s.seed = seed;
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Emitter, ChunkedModels,
    ::testing::Combine(
        ::testing::Values(
            // 6 rows in chunks of 4: a last chunk of 2 rows in every call.
            ChunkCase{"partial_chunk", shape(1, 1, 4, 8, 3), 6, 4},
            // Two layers, two B/C groups, chunks of 3 over 8 rows (3 + 3 + 2).
            ChunkCase{"groups", shape(2, 2, 4, 8, 5), 8, 3},
            // One chunk is the whole call, and chunks of one row.
            ChunkCase{"one_chunk", shape(1, 1, 2, 16, 7), 5, 8},
            ChunkCase{"rows_of_one", shape(1, 1, 4, 8, 9), 4, 1},
            // Row blocks of whole chunks: 2 blocks of 12 rows asked -> 12 is a multiple of 4.
            ChunkCase{"row_blocks", shape(2, 1, 4, 8, 13), 24, 4, 2, 2},
            // 3 blocks of 8 rows asked with chunks of 6: blocks of 12 rows (2 blocks).
            ChunkCase{"row_blocks_rounded", shape(1, 1, 4, 8, 17), 24, 6, 3, 2},
            // 4 blocks (the interleaved order): each block's chunks in one step.
            ChunkCase{"row_blocks_four", shape(2, 1, 4, 8, 19), 16, 4, 4, 4}),
        ::testing::Values("u280", "vck190")),
    [](const auto &info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param);
    });

// A board built without the form's micro-ops: the emitter refuses the op, naming the board.
TEST(ChunkedEmit, BoardWithoutTheMicroOpsRefusesTheOp) {
  const target::Board *board = target::findBoard("kv260");
  ASSERT_NE(board, nullptr);
  ChunkCase c{"kv260", shape(1, 1, 4, 8, 3), 6, 4};
  std::string error;
  Parsed m = chunkedModel(c, error);
  ASSERT_EQ(error, "");
  codegen::EmitOptions opt;
  opt.tBlock = c.tBlock;
  auto prog = codegen::emitProgram(m.fn, *board, opt);
  ASSERT_FALSE(bool(prog));
  const std::string why = llvm::toString(prog.takeError());
  EXPECT_NE(why.find("'ovl.ssd_chunk' at"), std::string::npos) << why;
  EXPECT_NE(why.find("the kv260 is built without the chunked SSD form's micro-ops"),
            std::string::npos)
      << why;
}

// A step whose field does not fit the micro-op is an error naming the op and the step (its
// recipe line), not a crash: a head of 64 x 1024 state elements makes split16's length 65,536,
// beyond the 16-bit len field.
TEST(ChunkedEmit, StepBeyondItsFieldsIsAnErrorNamingTheStep) {
  const target::Board *board = target::findBoard("u280");
  ASSERT_NE(board, nullptr);
  ModelShape s = shape(1, 1, 1, 1024, 3);
  s.di = 64;
  ChunkCase c{"wide", s, 4, 4};
  std::string error;
  Parsed m = chunkedModel(c, error);
  ASSERT_EQ(error, "");
  codegen::EmitOptions opt;
  opt.tBlock = c.tBlock;
  auto prog = codegen::emitProgram(m.fn, *board, opt);
  ASSERT_FALSE(bool(prog));
  const std::string why = llvm::toString(prog.takeError());
  EXPECT_NE(why.find("'ovl.ssd_chunk' at"), std::string::npos) << why;
  EXPECT_NE(why.find("of its recipe (split16 "), std::string::npos) << why;
  EXPECT_NE(why.find("len = 65536 does not fit its 16-bit field"), std::string::npos) << why;
}

} // namespace
