// The emitter against the ovl integer evaluator, bit for bit: hand-built models that use every
// ovl op and broadcast form, emitted for two boards, run as a prefill then decode steps by isa's
// interpreter (functional, serial order) and by the cycle simulator (decoupled units), logits
// and states compared with ovl::Session. Also: what the emitter refuses.
#include "Harness.h"
#include "OvlModels.h"

#include "mamba2/CodeGen/Passes.h"
#include "mamba2/Transforms/OvlPasses.h"

#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

using namespace mamba2;
using namespace codegen::test;

namespace {

struct Case {
  const char *name;
  ModelShape shape;
  unsigned tBlock;
  uint64_t weightBuffer;          // 0: default
  unsigned maxWeightBuffers = 16; // the ring's growth into free scratchpad (2: none)
  unsigned loopLayers = 0;        // layers each entry must run in its hardware loop (at least)
  bool layerLoop = true;          // false: --no-layer-loop (every layer unrolled)
  bool perLayerUops = false;      // the loop's layers differ in immediates: runs with ureg
  unsigned rowBlocks = 1;         // the prefill's layers in row blocks (EmitOptions)
  bool alike = false; // ... whose micro-ops fill the store: the layers' buffers allocated alike
};

class EmitterModels : public ::testing::TestWithParam<std::tuple<Case, const char *>> {};

TEST_P(EmitterModels, PrefillThenDecodeMatchesEvaluator) {
  const Case &c = std::get<0>(GetParam());
  const target::Board *board = target::findBoard(std::get<1>(GetParam()));
  ASSERT_NE(board, nullptr);
  Parsed m = parse(codegen::test::modelText(c.shape));
  ASSERT_TRUE(m.fn) << "the test model does not parse";
  codegen::EmitOptions opt;
  opt.tBlock = c.tBlock;
  opt.weightBufferBytes = c.weightBuffer;
  opt.maxWeightBuffers = c.maxWeightBuffers;
  opt.layerLoop = c.layerLoop;
  opt.prefillRowBlocks = c.rowBlocks;
  codegen::EmitStats stats;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &stats);
  ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
  std::string notes;
  for (const auto &n : stats.notes)
    notes += n + "\n";
  for (const auto &e : stats.entries) {
    EXPECT_GE(e.loopCount * e.loopLayers, c.loopLayers) << e.name << "\n" << notes;
    EXPECT_EQ(e.loopUopWords > 0, c.perLayerUops && e.rowBlocks == 1) // row blocks: no loop
        << e.name << "\n"
        << notes;
    if (!c.layerLoop) {
      EXPECT_EQ(e.loopCount, 0u) << e.name;
    }
  }
  // Row blocks: the prefill is emitted in them (unrolled), the decode as before.
  ASSERT_EQ(stats.entries.size(), 2u);
  EXPECT_EQ(stats.entries[0].rowBlocks, c.rowBlocks);
  EXPECT_EQ(stats.entries[1].rowBlocks, 1u);
  if (c.rowBlocks > 1) {
    EXPECT_EQ(stats.entries[0].loopCount, 0u);
  }
  // The row blocks' micro-ops fill the microcode store unless the layers' buffers are
  // allocated alike (then stored once): the emitter does that before dropping the blocks.
  EXPECT_EQ(notes.find("allocated alike") != std::string::npos, c.alike) << notes;
  EXPECT_LE(stats.ucodeWords, size_t(isa::kUcodeWords));
  if (c.loopLayers) { // the loop's program is smaller than the unrolled one
    codegen::EmitOptions unrolled = opt;
    unrolled.layerLoop = false;
    codegen::EmitStats ust;
    auto uprog = codegen::emitProgram(m.fn, *board, unrolled, &ust);
    ASSERT_TRUE(bool(uprog)) << llvm::toString(uprog.takeError());
    for (size_t e = 0; e < stats.entries.size(); ++e)
      EXPECT_LT(stats.entries[e].instructions, ust.entries[e].instructions) << notes;
    EXPECT_LT(stats.ucodeWords, ust.ucodeWords) << notes;
  }
  // The ring grows into the free scratchpad up to the limit: with tiny tile buffers (the
  // scratchpad is mostly free) it reaches it exactly, never less than double buffering.
  for (const auto &e : stats.entries) {
    EXPECT_GE(e.ringBuffers, 2u) << e.name;
    EXPECT_LE(e.ringBuffers, std::max(2u, c.maxWeightBuffers)) << e.name;
    if (c.weightBuffer) {
      EXPECT_EQ(e.ringBuffers, std::max(2u, c.maxWeightBuffers)) << e.name;
    }
    EXPECT_LE(e.spadPeak, board->spadBytes()) << e.name;
  }
  // The scan is the fused ssmstep when C follows B in the conv output, else ssmupd + ssmout.
  unsigned steps = 0, pairs = 0;
  for (const isa::UopWord &w : prog->ucode) {
    const auto code = isa::UopCode(w.raw(isa::field::uop::uop));
    steps += code == isa::UopCode::Ssmstep;
    pairs += code == isa::UopCode::Ssmupd || code == isa::UopCode::Ssmout;
  }
  EXPECT_EQ(steps > 0, !c.shape.cBeforeB);
  EXPECT_EQ(pairs > 0, c.shape.cBeforeB);
  // The gating product and the gated norm's sum of squares are one mulsumsq run (ovl-fuse's
  // mulsumsq group: every model's gated norm follows its gating multiply), never a sumsq of a
  // product made by a mulsh32 run before it.
  // The conv1d and its SiLU are one conv4pwl run (ovl-fuse's conv4pwl group: the conv output
  // never written), never a conv4 run. softplus(dt), its product by A and exp are one pwlmulpwl
  // run (ovl-fuse's pwlmulpwl group), never a mulsh32 of the per-head A between two pwl runs.
  // The residual add and the next norm's (or the final norm's) sum of squares are one addsumsq
  // run: only the first layer's norm is a sumsq of the embedding.
  unsigned mulSumsqs = 0, sumsqs = 0, convPwls = 0, convs = 0, pwlPairs = 0, addSumsqs = 0;
  for (const isa::UopWord &w : prog->ucode) {
    const auto code = isa::UopCode(w.raw(isa::field::uop::uop));
    mulSumsqs += code == isa::UopCode::Mulsumsq;
    sumsqs += code == isa::UopCode::Sumsq;
    convPwls += code == isa::UopCode::Conv4pwl;
    convs += code == isa::UopCode::Conv4;
    pwlPairs += code == isa::UopCode::Pwlmulpwl;
    addSumsqs += code == isa::UopCode::Addsumsq;
  }
  EXPECT_GT(addSumsqs, 0u);
  EXPECT_GT(pwlPairs, 0u);
  EXPECT_GT(mulSumsqs, 0u);
  EXPECT_GT(convPwls, 0u);
  EXPECT_EQ(convs, 0u);
  EXPECT_GT(sumsqs, 0u); // the pre-norms' (of the residual stream, not a product)
  std::mt19937 rng(c.shape.seed + 7);
  std::vector<int32_t> pre(c.tBlock), dec(3);
  for (auto &v : pre)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  for (auto &v : dec)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  auto calls = promptCalls(pre, c.tBlock, dec);
  Outcome want = runEvaluator(*m.module, calls);
  // A test that cannot fail proves nothing: the logits must vary (not all saturated).
  ASSERT_FALSE(want.logits.empty());
  std::set<int32_t> distinct(want.logits[0].begin(), want.logits[0].end());
  EXPECT_GT(distinct.size(), want.logits[0].size() / 2) << "the test model's logits barely vary";
  if (getenv("MAMBA2_DUMP")) {
    for (size_t i = 0; i < 8 && i < want.logits.back().size(); ++i)
      fprintf(stderr, "%d ", want.logits.back()[i]);
    fprintf(stderr, "\n");
  }
  EXPECT_EQ(compare(want, runProgram(*prog, *board, false, calls, c.shape.vocab)), "")
      << "functional";
  EXPECT_EQ(compare(want, runProgram(*prog, *board, true, calls, c.shape.vocab)), "") << "cycle";
  // Decode alone from the start: the same logits as the evaluator's token by token.
  auto decodes = promptCalls({}, c.tBlock, pre);
  EXPECT_EQ(compare(runEvaluator(*m.module, decodes),
                    runProgram(*prog, *board, false, decodes, c.shape.vocab)),
            "")
      << "decode only";
  // ovl-fuse and ovl-tile (with the same options) record the groups and tiles the emitter
  // computed: reading them, it emits the same program, byte for byte.
  mlir::PassManager pm(m.module->getContext());
  pm.addNestedPass<mlir::func::FuncOp>(codegen::createOvlFuse());
  codegen::OvlTileOptions tile;
  tile.target = board->name;
  tile.weightBuffers = opt.weightBuffers;
  tile.maxWeightBuffers = opt.maxWeightBuffers;
  tile.weightBufferBytes = opt.weightBufferBytes;
  tile.padWeightRows = opt.padWeightRows;
  pm.addNestedPass<mlir::func::FuncOp>(codegen::createOvlTile(tile));
  ASSERT_TRUE(mlir::succeeded(pm.run(*m.module)));
  ASSERT_TRUE(m.fn->hasAttr("ovl.fuse_groups") && m.fn->hasAttr("ovl.tiling"));
  auto recorded = codegen::emitProgram(m.fn, *board, opt);
  ASSERT_TRUE(bool(recorded)) << llvm::toString(recorded.takeError());
  EXPECT_TRUE(runtime::writeContainer(*recorded, *board) == runtime::writeContainer(*prog, *board))
      << "the program differs with the recorded groups and tiles";
}

ModelShape shape(int layers, int groups, int inBits, int outBits, bool stream, uint32_t seed) {
  ModelShape s;
  s.layers = layers;
  s.groups = groups;
  s.inBits = inBits;
  s.outBits = outBits;
  s.streamLogits = stream;
  s.seed = seed;
  return s;
}

ModelShape grouped(ModelShape s, int group) {
  s.group = group;
  return s;
}

ModelShape padded(ModelShape s, int pad) {
  s.vocabPad = pad;
  return s;
}

ModelShape cBeforeB(ModelShape s) {
  s.cBeforeB = true;
  return s;
}

ModelShape layerShifts(ModelShape s) {
  s.layerShifts = true;
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Models, EmitterModels,
    ::testing::Combine(
        ::testing::Values(
            Case{"w8_one_layer", shape(1, 1, 8, 4, true, 1), 4, 0},
            Case{"w4_two_layers_groups", shape(2, 2, 4, 8, false, 2), 5, 0},
            // tiny weight buffers: every matmul streams several tiles
            Case{"small_tiles", shape(2, 1, 8, 4, true, 3), 3, 1024},
            // the same with double buffering only, and a ring of three
            Case{"small_tiles_two_buffers", shape(2, 1, 8, 4, true, 3), 3, 1024, 2},
            Case{"small_tiles_three_buffers", shape(2, 1, 8, 4, true, 3), 3, 1024, 3},
            // a padded vocabulary sliced off the streamed logits tiles
            Case{"padded_vocab", padded(shape(1, 1, 8, 8, true, 4), 5), 3, 512},
            // one scale group per row (in_proj, lm_head): padded weight rows
            Case{"per_channel_scales", grouped(shape(2, 1, 8, 4, true, 5), 16), 4, 0},
            // layers in a hardware loop (and the same models unrolled)
            Case{"loop_three_layers", shape(3, 1, 8, 4, true, 6), 4, 0, 16, 2},
            Case{"loop_four_layers_groups", shape(4, 2, 4, 8, false, 7), 5, 0, 16, 3},
            Case{"loop_four_layers_small_tiles", shape(4, 1, 8, 4, true, 8), 3, 1024, 3, 2},
            Case{"unrolled_four_layers", shape(4, 2, 4, 8, false, 7), 5, 0, 16, 0, false},
            // layers whose shifts differ (SSM input shift, shr, matmul scale shift): one loop,
            // those runs' micro-ops per iteration (ureg)
            Case{"loop_layer_shifts", layerShifts(shape(4, 1, 8, 4, true, 10)), 4, 0, 16, 3, true,
                 true},
            Case{"loop_layer_shifts_groups_small_tiles", layerShifts(shape(5, 2, 4, 8, false, 11)),
                 3, 1024, 3, 3, true, true},
            // C before B: the scan as ssmupd + ssmout runs (two B/C groups)
            Case{"ssm_unfused", cBeforeB(shape(2, 2, 8, 4, true, 9)), 4, 0},
            // the prefill's layers in row blocks: even, uneven (8 rows in 3 blocks of 3, 3,
            // 2), with small tiles (each block streams in_proj's tiles again), unfused scans
            Case{"row_blocks", shape(3, 1, 8, 4, true, 10), 8, 0, 16, 0, true, false, 4},
            Case{"row_blocks_uneven_groups", shape(2, 2, 4, 8, false, 11), 8, 0, 16, 0, true, false,
                 3},
            Case{"row_blocks_small_tiles", shape(2, 1, 8, 4, true, 12), 6, 1024, 3, 0, true, false,
                 2},
            Case{"row_blocks_unfused", cBeforeB(shape(2, 2, 8, 4, true, 13)), 6, 0, 16, 0, true,
                 false, 3},
            // 4 or more blocks: the scan's rows between the other stages' segments (7 rows in
            // blocks of 2, 2, 2, 1; unfused scans with small tiles)
            Case{"row_blocks_interleaved_uneven", shape(2, 2, 4, 8, false, 14), 7, 0, 16, 0, true,
                 false, 4},
            Case{"row_blocks_interleaved_unfused", cBeforeB(shape(3, 2, 8, 4, true, 15)), 8, 1024,
                 3, 0, true, false, 4},
            // 48 layers of 32 rows in 4 blocks (their shifts differ: some words per layer).
            // They needed the layers' buffers allocated alike to fit the store while the
            // row-blocked prefill ran pwlmulpwl fused (one word per layer and block); with its
            // three runs, whose words the layers share, they fit without (not covered here now).
            Case{"row_blocks_layers_alike", layerShifts(shape(48, 1, 8, 4, true, 16)), 32, 0, 16, 0,
                 true, true, 4, false}),
        ::testing::Values("kv260", "u280")),
    [](const auto &info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param);
    });

// Head groups per phase: ovl-decode-function clones @main into @decode and
// ovl-split-head-groups{entry=decode} splits the clone alone (one head a group), so the decode
// entry lowers the split @decode and the row-blocked prefill the unsplit @main, both on the same
// state bytes (the split states are @main's cut in order). A prompt in prefill calls, then
// decode steps, bit for bit the evaluator's (of @main) in the functional and cycle simulators;
// and a decode alone from the start. Where the pieces do not lie on the 64-byte alignment (a
// conv piece of 16 channels: 48 bytes), the decode lowers @main, with a note.
struct PerPhase {
  ModelShape shape;
  int64_t headsPerGroup;
  bool own; // the decode lowers @decode (else @main, with a note)
};
/// The micro-op codes the vector and SSM runs of entry `name` name (block 0's words of a run
/// with ureg), counted.
std::map<isa::UopCode, unsigned> entryUops(const isa::Program &p, const std::string &name) {
  std::map<isa::UopCode, unsigned> n;
  const isa::Symbol *e = p.entry(name);
  if (!e)
    return n;
  for (size_t b = e->bundle; b < isa::entryEnd(p.bundles, e->bundle); ++b)
    for (isa::Slot s : {isa::Slot::Vector, isa::Slot::Ssm}) {
      const isa::SlotWord &w = p.bundles[b][s];
      if (w.raw(isa::field::none::op) == 0)
        continue;
      const uint64_t u0 = w.raw(isa::field::run::ustart), ul = w.raw(isa::field::run::ulen);
      for (uint64_t k = u0; k < u0 + ul && k < p.ucode.size(); ++k)
        ++n[isa::UopCode(p.ucode[k].raw(isa::field::uop::uop))];
    }
  return n;
}

class HeadGroupsPerPhase : public ::testing::TestWithParam<std::tuple<PerPhase, const char *>> {};

TEST_P(HeadGroupsPerPhase, DecodeSplitPrefillWholeMatchEvaluator) {
  const PerPhase &c = std::get<0>(GetParam());
  const target::Board *board = target::findBoard(std::get<1>(GetParam()));
  ASSERT_NE(board, nullptr);
  Parsed m = parse(codegen::test::modelText(c.shape));
  ASSERT_TRUE(m.fn) << "the test model does not parse";
  mlir::PassManager pm(m.module->getContext());
  pm.addPass(createOvlDecodeFunction());
  OvlSplitHeadGroupsOptions so;
  so.headsPerGroup = c.headsPerGroup;
  so.entry = "decode";
  pm.addNestedPass<mlir::func::FuncOp>(createOvlSplitHeadGroups(so));
  ASSERT_TRUE(mlir::succeeded(pm.run(*m.module)));
  auto dec = m.module->lookupSymbol<mlir::func::FuncOp>("decode");
  ASSERT_TRUE(dec);
  // @main whole, @decode split: more states, and scans marked by group.
  EXPECT_GT(dec.getNumArguments(), m.fn.getNumArguments());
  unsigned mainScans = 0, decScans = 0;
  m.fn.walk([&](ovl::SsmOp) { ++mainScans; });
  dec.walk([&](ovl::SsmOp) { ++decScans; });
  EXPECT_EQ(decScans, mainScans * unsigned(c.shape.heads / c.headsPerGroup));
  codegen::EmitOptions opt;
  opt.tBlock = 8;
  opt.prefillRowBlocks = 4;
  codegen::EmitStats stats;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &stats);
  ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
  std::string notes;
  for (const auto &n : stats.notes)
    notes += n + "\n";
  ASSERT_EQ(stats.entries.size(), 2u);
  EXPECT_EQ(stats.entries[0].function, "main");
  EXPECT_EQ(stats.entries[0].rowBlocks, 4u);
  EXPECT_EQ(stats.entries[1].function, c.own ? "decode" : "main") << notes;
  EXPECT_EQ(notes.find("entry decode: lowers @main") != std::string::npos, !c.own) << notes;
  // The decode loops over its layers (the first may differ, as in EmitterModels): the two
  // functions' constants are laid out layer by layer, so each function's layers lie a fixed
  // stride apart (also where they share bytes).
  EXPECT_GE(stats.entries[1].loopCount * stats.entries[1].loopLayers, unsigned(c.shape.layers - 1))
      << notes;
  // The decode's states alias @main's: no state bytes of their own.
  uint64_t mainStates = 0;
  for (unsigned i = 1; i < m.fn.getNumArguments(); ++i) {
    auto t = mlir::cast<mlir::RankedTensorType>(m.fn.getArgument(i).getType());
    mainStates += uint64_t(t.getNumElements()) * (t.getElementType().isInteger(8) ? 1 : 4);
  }
  EXPECT_EQ(stats.stateBytes, mainStates);
  std::mt19937 rng(c.shape.seed + 7);
  std::vector<int32_t> pre(13), more(4);
  for (auto &v : pre)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  for (auto &v : more)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  auto calls = promptCalls(pre, opt.tBlock, more); // 8 rows, 5 decode steps, 4 more
  Outcome want = runEvaluator(*m.module, calls);
  ASSERT_FALSE(want.logits.empty());
  std::set<int32_t> distinct(want.logits[0].begin(), want.logits[0].end());
  EXPECT_GT(distinct.size(), want.logits[0].size() / 2) << "the test model's logits barely vary";
  EXPECT_EQ(compare(want, runProgram(*prog, *board, false, calls, c.shape.vocab)), "")
      << "functional";
  EXPECT_EQ(compare(want, runProgram(*prog, *board, true, calls, c.shape.vocab)), "") << "cycle";
  auto decodes = promptCalls({}, opt.tBlock, pre);
  EXPECT_EQ(compare(runEvaluator(*m.module, decodes),
                    runProgram(*prog, *board, false, decodes, c.shape.vocab)),
            "")
      << "decode only";
  // Each entry runs its own function's fusion groups: the decode lowered from @decode too (its
  // conv1d + SiLU one conv4pwl run, its gated norm's reduction one mulsumsq, ...), never the
  // ops of a group one by one.
  for (const char *entry : {"prefill", "decode"}) {
    auto n = entryUops(*prog, entry);
    EXPECT_EQ(n[isa::UopCode::Conv4], 0u) << entry;
    EXPECT_GT(n[isa::UopCode::Conv4pwl], 0u) << entry;
    EXPECT_GT(n[isa::UopCode::Mulsumsq], 0u) << entry;
    // (a prefill in row blocks runs softplus, the multiply and exp as three runs: docs/codegen.md)
    EXPECT_EQ(n[isa::UopCode::Pwlmulpwl] > 0, std::string(entry) == "decode") << entry;
    EXPECT_GT(n[isa::UopCode::Addsumsq], 0u) << entry;
    EXPECT_GT(n[isa::UopCode::Ssmstep], 0u) << entry;
  }
}

ModelShape splatHeads(ModelShape s) {
  s.splatHeads = true;
  return s;
}

ModelShape perPhaseShape(int di, int heads, int ns, uint32_t seed, int layers = 3) {
  ModelShape s;
  s.di = di;
  s.heads = heads;
  s.ns = ns;
  s.layers = layers;
  s.seed = seed;
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Models, HeadGroupsPerPhase,
    ::testing::Combine(::testing::Values(
                           // 2 heads of 64, d_state 64: pieces of 64 channels (192 bytes)
                           PerPhase{perPhaseShape(128, 2, 64, 21), 1, true},
                           // 4 layers whose shifts differ, and two constants equal in
                           // layer 1 only (dt's bias and A: each decode op keeps its own)
                           PerPhase{splatHeads(layerShifts(perPhaseShape(128, 2, 64, 23, 4))), 1,
                                    true},
                           // 4 heads of 8, groups of 2 heads: x pieces of 16 channels (48 bytes)
                           PerPhase{perPhaseShape(32, 4, 8, 22), 2, false}),
                       ::testing::Values("kv260", "u280")),
    [](const auto &info) {
      const PerPhase &p = std::get<0>(info.param);
      return std::string(p.own ? "own" : "fallback") + (p.shape.splatHeads ? "_splats" : "") + "_" +
             std::get<1>(info.param);
    });

// A store too small for every iteration's micro-ops: the loop spans the first layers only, as
// many as fit (the others unrolled, sharing the words they agree on), still with ureg, and the
// program stays bit-exact. Layers whose shifts alternate (0, 1, 0, ...): unrolled layers share
// their words, a loop's iterations each keep their own.
TEST(EmitterLoop, SmallStoreShortensTheLoop) {
  const target::Board *board = target::findBoard("u280");
  ASSERT_NE(board, nullptr);
  const ModelShape sh = layerShifts(shape(6, 1, 8, 4, true, 16));
  Parsed m = parse(codegen::test::modelText(sh));
  ASSERT_TRUE(m.fn);
  codegen::EmitOptions opt;
  opt.tBlock = 4;
  opt.prefillRowBlocks = 1;
  // One layer an iteration: with the ring running on across the layers (pipelineLoads) the
  // loop's iterations are blocks of two layers, whose alternating shifts then agree.
  opt.pipelineLoads = false;
  codegen::EmitStats all;
  auto whole = codegen::emitProgram(m.fn, *board, opt, &all);
  ASSERT_TRUE(bool(whole)) << llvm::toString(whole.takeError());
  ASSERT_EQ(all.entries.size(), 2u);
  const unsigned covered = all.entries[1].loopCount * all.entries[1].loopLayers;
  EXPECT_GE(covered, 4u); // (layer 0 may be unrolled: its input comes from the embedding)
  EXPECT_GT(all.entries[1].loopUopWords, 0u);
  // One word fewer than that program needs.
  opt.loopUcodeWords = all.ucodeWords - 1;
  codegen::EmitStats st;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &st);
  ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
  std::string notes;
  for (const auto &n : st.notes)
    notes += n + "\n";
  EXPECT_NE(notes.find("layer loop over layers 0.."), std::string::npos) << notes;
  for (const auto &e : st.entries) {
    EXPECT_GE(e.loopCount * e.loopLayers, 2u) << e.name << "\n" << notes;
    EXPECT_LT(e.loopCount * e.loopLayers, covered) << e.name << "\n" << notes;
    EXPECT_GT(e.loopUopWords, 0u) << e.name << "\n" << notes;
  }
  EXPECT_LE(st.ucodeWords, opt.loopUcodeWords) << notes;
  std::mt19937 rng(sh.seed + 7);
  std::vector<int32_t> pre(opt.tBlock), dec(3);
  for (auto &v : pre)
    v = int32_t(rng() % unsigned(sh.vocab));
  for (auto &v : dec)
    v = int32_t(rng() % unsigned(sh.vocab));
  auto calls = promptCalls(pre, opt.tBlock, dec);
  Outcome want = runEvaluator(*m.module, calls);
  EXPECT_EQ(compare(want, runProgram(*prog, *board, false, calls, sh.vocab)), "") << "functional";
  EXPECT_EQ(compare(want, runProgram(*prog, *board, true, calls, sh.vocab)), "") << "cycle";
}

} // namespace

namespace {
/// The decode of a 5-layer model with small weight tiles in a ring of two (tBlock 3, `bytes`
/// a tile buffer): per weight tile in load order, the cycle its load starts and the cycle its
/// matmul ends (timing mode, the simulator's trace); the layer loop's layers and its tiles a layer.
struct TileTimes {
  std::vector<uint64_t> loadStart, mmEnd;
  unsigned loopLayers = 0, ring = 0;
  size_t bundles = 0;
  std::string notes;
};
TileTimes decodeTileTimes(bool pipeline, uint64_t bytes, int layers = 5) {
  TileTimes t;
  const target::Board *board = target::findBoard("u280");
  Parsed m = parse(codegen::test::modelText(shape(layers, 1, 8, 4, true, 8)));
  if (!board || !m.fn)
    return t;
  codegen::EmitOptions opt;
  opt.tBlock = 3;
  opt.weightBufferBytes = bytes;
  opt.weightBuffers = 2;
  opt.maxWeightBuffers = 2;
  opt.prefillRowBlocks = 1;
  opt.pipelineLoads = pipeline;
  codegen::EmitStats st;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &st);
  if (!prog) {
    t.notes = llvm::toString(prog.takeError());
    return t;
  }
  for (const auto &n : st.notes)
    t.notes += n + "\n";
  t.loopLayers = st.entries[1].loopCount * st.entries[1].loopLayers;
  t.ring = st.entries[1].ringBuffers;
  t.bundles = st.entries[1].bundles;
  const uint64_t ringBase = board->spadBytes() - uint64_t(t.ring) * bytes;
  auto dev = runtime::makeSimulatorDevice(*board, {/*timingOnly=*/true});
  if (std::string e = dev->load(*prog); !e.empty()) {
    t.notes += e;
    return t;
  }
  runtime::RunOptions ro;
  ro.mode = runtime::RunMode::Timing;
  ro.trace = true;
  auto rep = dev->run("decode", ro);
  if (!rep.error.empty()) {
    t.notes += rep.error;
    return t;
  }
  std::vector<std::pair<uint64_t, uint64_t>> loads, mms; // (start, end) in start order
  for (const auto &e : rep.counters.trace) {
    const isa::SlotWord &w = prog->bundles[e.bundle][isa::Slot(e.unit)];
    if (isa::Slot(e.unit) == isa::Slot::Load && w.raw(isa::field::none::op) == isa::op::load::dma &&
        w.raw(isa::field::xfer::spad) >= ringBase)
      loads.push_back({e.start, e.end});
    else if (isa::Slot(e.unit) == isa::Slot::Matrix && e.end > e.start + 1)
      mms.push_back({e.start, e.end});
  }
  std::sort(loads.begin(), loads.end());
  std::sort(mms.begin(), mms.end());
  for (auto &l : loads)
    t.loadStart.push_back(l.first);
  for (auto &x : mms)
    t.mmEnd.push_back(x.second);
  return t;
}
} // namespace

// Software pipelining of the layer loop (EmitOptions::pipelineLoads, docs/codegen.md "Layer
// loops"): 5 layers of 3 weight tiles in a ring of two (1.5 KiB tiles). Restarting the ring at
// each layer puts the next layer's first tile in the buffer of the layer's last tile (the
// out_proj's, whose matmul waits for the whole layer): that load starts only when the
// layer's last matmul has ended. With the ring running on, it takes the buffer of the tile
// two before and loads while the layer's tail computes, before its last matmul ends, at
// every layer boundary of the loop (layers 1-4: layer 0, fed by the embedding, is unrolled;
// the loop then runs 2 iterations of 2 layers, without pipelining 4 of 1).
TEST(EmitterPipeline, NextIterationsFirstTileLoadsBeforeTheLayerEnds) {
  const TileTimes on = decodeTileTimes(true, 1536), off = decodeTileTimes(false, 1536);
  ASSERT_EQ(on.ring, 2u) << on.notes;
  ASSERT_EQ(off.ring, 2u) << off.notes;
  EXPECT_EQ(on.loopLayers, 4u) << on.notes;
  EXPECT_NE(on.notes.find("2 iterations of 2 layers"), std::string::npos) << on.notes;
  EXPECT_EQ(off.loopLayers, 4u) << off.notes;
  for (const TileTimes *t : {&on, &off}) {
    ASSERT_EQ(t->loadStart.size(), t->mmEnd.size()) << t->notes;
    ASSERT_GE(t->loadStart.size(), 15u) << t->notes;
  }
  const unsigned T = 3; // in_proj 2 tiles, out_proj 1 (the layer's tiles before the lm_head's)
  for (unsigned l = 2; l < 5; ++l) { // the loop's layers after its first (layer 0 unrolled)
    const size_t k = size_t(l) * T;  // layer l's first tile
    EXPECT_LT(on.loadStart[k], on.mmEnd[k - 1]) << "layer " << l << "\n" << on.notes;
    EXPECT_GE(off.loadStart[k], off.mmEnd[k - 1]) << "layer " << l << "\n" << off.notes;
  }
}

// Where the ring running on cannot loop over as many layers (4 layers of 3 tiles in a ring of
// two: layer 0, fed by the embedding, is unrolled anyway, and blocks of two layers leave one
// of the other three out), the entry keeps the restart at each layer, with a note.
TEST(EmitterPipeline, RingRestartsWhereItsBlocksLoseLayers) {
  const TileTimes t = decodeTileTimes(true, 1536, 4);
  ASSERT_EQ(t.ring, 2u) << t.notes;
  EXPECT_EQ(t.loopLayers, 3u) << t.notes;
  EXPECT_NE(t.notes.find("entry decode: the weight ring restarts at each layer (running on "
                         "across the layers, its loop would cover 0 of 4 layers, restarting 3)"),
            std::string::npos)
      << t.notes;
}
