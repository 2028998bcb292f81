// The emitter against the ovl integer evaluator, bit for bit: hand-built models that use every
// ovl op and broadcast form, emitted for two boards, run as a prefill then decode steps by isa's
// interpreter (functional, serial order) and by the cycle simulator (decoupled units), logits
// and states compared with ovl::Session. Also: what the emitter refuses.
#include "mamba2/CodeGen/Emitter.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/Evaluator.h"
#include "mamba2/isa/Interp.h"
#include "mamba2/runtime/Container.h"
#include "mamba2/runtime/Device.h"

#include "OvlModels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

using namespace mamba2;
using codegen::test::ModelShape;

namespace {

struct Parsed {
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp fn;
};

Parsed parse(const std::string &text) {
  Parsed p;
  p.ctx = std::make_unique<mlir::MLIRContext>();
  p.ctx->loadDialect<mlir::func::FuncDialect, ovl::OvlDialect>();
  p.module = mlir::parseSourceString<mlir::ModuleOp>(text, p.ctx.get());
  if (p.module)
    p.fn = p.module->lookupSymbol<mlir::func::FuncOp>("main");
  return p;
}

/// What one call of an entry gives back: logits of its rows, then the state tensors.
struct Outcome {
  std::vector<std::vector<int32_t>> logits; // per call, rows x vocab
  std::vector<std::vector<uint8_t>> states; // after the last call, per state tensor
  uint64_t cycles = 0;                      // cycle mode: of the last decode call
  std::string error;
};

std::vector<uint8_t> rowsOf(const isa::Program &p, const std::vector<int32_t> &ids) {
  const isa::Symbol *emb = p.tensor("embedding");
  const isa::Symbol *model = p.tensor("model");
  int32_t d;
  std::memcpy(&d, p.regions[0].init.data() + model->offset + 4, 4);
  std::vector<uint8_t> x;
  for (int32_t id : ids) {
    const uint8_t *row = p.regions[0].init.data() + emb->offset + uint64_t(id) * uint64_t(d) * 4;
    x.insert(x.end(), row, row + 4 * d);
  }
  (void)emb;
  return x;
}

std::vector<int32_t> asI32(const std::vector<uint8_t> &b, size_t n) {
  std::vector<int32_t> v(n);
  std::memcpy(v.data(), b.data(), n * 4);
  return v;
}

std::vector<std::string> stateNames(const isa::Program &p) {
  std::vector<std::string> names;
  for (const auto &s : p.symbols)
    if (s.kind == isa::Symbol::Kind::Tensor && s.region == uint8_t(isa::RegionId::State))
      names.push_back(s.name);
  return names;
}

/// Prefill of `pre` (t_block ids), then one decode call per id of `dec`.
Outcome runProgram(const isa::Program &p, const target::Board &board, bool cycle,
                   const std::vector<int32_t> &pre, const std::vector<int32_t> &dec, int vocab) {
  Outcome r;
  const isa::Symbol *x = p.tensor("x"), *lg = p.tensor("logits");
  std::vector<std::pair<std::string, std::vector<int32_t>>> calls;
  if (!pre.empty())
    calls.push_back({"prefill", pre});
  for (int32_t id : dec)
    calls.push_back({"decode", {id}});
  if (!cycle) {
    isa::Memory mem = isa::Memory::forProgram(p, board.spadBytes());
    for (auto &[entry, ids] : calls) {
      auto bytes = rowsOf(p, ids);
      std::copy(bytes.begin(), bytes.end(), mem.dram[1].begin() + long(x->offset));
      isa::InterpResult ir = isa::interpret(p, entry, mem);
      if (!ir.error.empty()) {
        r.error = entry + ": " + ir.error;
        return r;
      }
      std::vector<uint8_t> out(mem.dram[1].begin() + long(lg->offset),
                               mem.dram[1].begin() + long(lg->offset + ids.size() * vocab * 4));
      r.logits.push_back(asI32(out, ids.size() * size_t(vocab)));
    }
    for (const auto &name : stateNames(p)) {
      const isa::Symbol *s = p.tensor(name);
      r.states.emplace_back(mem.dram[2].begin() + long(s->offset),
                            mem.dram[2].begin() + long(s->offset + s->bytes));
    }
    return r;
  }
  auto dev = runtime::makeSimulatorDevice(board);
  if (std::string e = dev->load(p); !e.empty()) {
    r.error = e;
    return r;
  }
  for (auto &[entry, ids] : calls) {
    auto bytes = rowsOf(p, ids);
    std::vector<uint8_t> xb(x->bytes, 0);
    std::copy(bytes.begin(), bytes.end(), xb.begin());
    if (std::string e = dev->writeTensor("x", xb); !e.empty()) {
      r.error = e;
      return r;
    }
    runtime::RunOptions opt;
    opt.mode = runtime::RunMode::Cycle;
    runtime::RunReport rep = dev->run(entry, opt);
    if (!rep.error.empty()) {
      r.error = entry + ": " + rep.error;
      return r;
    }
    r.cycles = rep.counters.cycles;
    std::vector<uint8_t> out;
    dev->readTensor("logits", out);
    r.logits.push_back(asI32(out, ids.size() * size_t(vocab)));
  }
  for (const auto &name : stateNames(p)) {
    std::vector<uint8_t> s;
    dev->readTensor(name, s);
    r.states.push_back(s);
  }
  return r;
}

/// The evaluator's logits for the same calls and its states after them, as bytes.
Outcome runEvaluator(mlir::ModuleOp module, const std::vector<int32_t> &pre,
                     const std::vector<int32_t> &dec) {
  Outcome r;
  auto session = ovl::Session::create(module);
  if (!session) {
    r.error = llvm::toString(session.takeError());
    return r;
  }
  std::vector<std::vector<int32_t>> calls;
  if (!pre.empty())
    calls.push_back(pre);
  for (int32_t id : dec)
    calls.push_back({id});
  for (auto &ids : calls) {
    auto l = (*session)->run(ids);
    if (!l) {
      r.error = llvm::toString(l.takeError());
      return r;
    }
    r.logits.push_back(l->v);
  }
  for (const ovl::IntTensor &t : (*session)->states()) {
    std::vector<uint8_t> b;
    for (int32_t v : t.v) {
      if (t.i8) {
        b.push_back(uint8_t(int8_t(v)));
      } else {
        for (int k = 0; k < 4; ++k)
          b.push_back(uint8_t(uint32_t(v) >> (8 * k)));
      }
    }
    r.states.push_back(b);
  }
  return r;
}

void expectSame(const Outcome &want, const Outcome &got, const std::string &what) {
  ASSERT_EQ(want.error, "") << what;
  ASSERT_EQ(got.error, "") << what;
  ASSERT_EQ(want.logits.size(), got.logits.size()) << what;
  for (size_t c = 0; c < want.logits.size(); ++c)
    ASSERT_EQ(want.logits[c], got.logits[c]) << what << ": logits of call " << c;
  ASSERT_EQ(want.states.size(), got.states.size()) << what;
  for (size_t s = 0; s < want.states.size(); ++s)
    ASSERT_EQ(want.states[s], got.states[s]) << what << ": state " << s;
}

struct Case {
  const char *name;
  ModelShape shape;
  unsigned tBlock;
  uint64_t weightBuffer; // 0: default
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
  codegen::EmitStats stats;
  auto prog = codegen::emitProgram(m.fn, *board, opt, &stats);
  ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
  std::mt19937 rng(c.shape.seed + 7);
  std::vector<int32_t> pre(c.tBlock), dec(3);
  for (auto &v : pre)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  for (auto &v : dec)
    v = int32_t(rng() % unsigned(c.shape.vocab));
  Outcome want = runEvaluator(*m.module, pre, dec);
  // A test that cannot fail proves nothing: the logits must vary (not all saturated).
  ASSERT_FALSE(want.logits.empty());
  std::set<int32_t> distinct(want.logits[0].begin(), want.logits[0].end());
  EXPECT_GT(distinct.size(), want.logits[0].size() / 2) << "the test model's logits barely vary";
  if (getenv("MAMBA2_DUMP")) {
    for (size_t i = 0; i < 8 && i < want.logits.back().size(); ++i)
      fprintf(stderr, "%d ", want.logits.back()[i]);
    fprintf(stderr, "\n");
  }
  expectSame(want, runProgram(*prog, *board, false, pre, dec, c.shape.vocab), "functional");
  expectSame(want, runProgram(*prog, *board, true, pre, dec, c.shape.vocab), "cycle");
  // Decode alone from the start: the same logits as the evaluator's token by token.
  std::vector<int32_t> all = pre;
  Outcome wantDec = runEvaluator(*m.module, {}, all);
  expectSame(wantDec, runProgram(*prog, *board, false, {}, all, c.shape.vocab), "decode only");
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

INSTANTIATE_TEST_SUITE_P(
    Models, EmitterModels,
    ::testing::Combine(::testing::Values(Case{"w8_one_layer", shape(1, 1, 8, 4, true, 1), 4, 0},
                                         Case{"w4_two_layers_groups", shape(2, 2, 4, 8, false, 2),
                                              5, 0},
                                         // tiny weight buffers: every matmul streams several tiles
                                         Case{"small_tiles", shape(2, 1, 8, 4, true, 3), 3, 1024}),
                       ::testing::Values("kv260", "u280")),
    [](const auto &info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param);
    });

} // namespace
