// Runs an emitted program and the ovl evaluator on the same token calls and compares them (the
// emitter's tests and mamba2-codegen-check).
#pragma once

#include "mamba2/CodeGen/Emitter.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/Evaluator.h"
#include "mamba2/isa/Interp.h"
#include "mamba2/runtime/Container.h"
#include "mamba2/runtime/Device.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace mamba2::codegen::test {

/// One call of an entry point: its name and the ids of its rows.
struct Call {
  std::string entry;
  std::vector<int32_t> ids;
};

/// A prompt as the ABI runs it: floor(n / t_block) prefill calls, then one decode per token left,
/// then one decode per generated token.
inline std::vector<Call> promptCalls(const std::vector<int32_t> &prompt, unsigned tBlock,
                                     const std::vector<int32_t> &decode) {
  std::vector<Call> calls;
  size_t i = 0;
  for (; i + tBlock <= prompt.size(); i += tBlock)
    calls.push_back({"prefill", std::vector<int32_t>(prompt.begin() + long(i),
                                                     prompt.begin() + long(i + tBlock))});
  for (; i < prompt.size(); ++i)
    calls.push_back({"decode", {prompt[i]}});
  for (int32_t id : decode)
    calls.push_back({"decode", {id}});
  return calls;
}

struct Parsed {
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp fn;
};

/// An ovl module read from a file, errors reported through its source manager (empty `module`
/// when it does not parse).
struct ParsedFile {
  std::unique_ptr<mlir::MLIRContext> ctx = std::make_unique<mlir::MLIRContext>();
  std::unique_ptr<llvm::SourceMgr> mgr = std::make_unique<llvm::SourceMgr>();
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> diag;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};
inline ParsedFile parseFile(const std::string &path) {
  ParsedFile p;
  p.ctx->loadDialect<mlir::func::FuncDialect, ovl::OvlDialect>();
  p.diag = std::make_unique<mlir::SourceMgrDiagnosticHandler>(*p.mgr, p.ctx.get());
  p.module = mlir::parseSourceFile<mlir::ModuleOp>(path, *p.mgr, p.ctx.get());
  return p;
}

/// The sentence the tools' prompts are made of by default.
inline constexpr const char *kSentence =
    "It is a truth universally acknowledged, that a single man in "
    "possession of a good fortune, must be in want of a wife.";
/// `n` ids: the bytes of `text`, repeated, modulo the vocabulary.
inline std::vector<int32_t> textIds(size_t n, int32_t vocab, const std::string &text = kSentence) {
  std::vector<int32_t> ids;
  for (size_t i = 0; ids.size() < n; ++i)
    ids.push_back(int32_t(uint8_t(text[i % text.size()])) % vocab);
  return ids;
}

/// The argmax of the last row (`vocab` logits) of a call's logits: the greedy next id.
inline int32_t argmaxLast(const std::vector<int32_t> &logits, int vocab) {
  const size_t row = logits.size() - size_t(vocab);
  size_t best = row;
  for (size_t i = row; i < logits.size(); ++i)
    if (logits[i] > logits[best])
      best = i;
  return int32_t(best - row);
}

inline Parsed parse(const std::string &text) {
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

inline std::vector<uint8_t> rowsOf(const isa::Program &p, const std::vector<int32_t> &ids) {
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

inline std::vector<int32_t> asI32(const std::vector<uint8_t> &b, size_t n) {
  std::vector<int32_t> v(n);
  std::memcpy(v.data(), b.data(), n * 4);
  return v;
}

inline std::vector<std::string> stateNames(const isa::Program &p) {
  std::vector<std::string> names;
  for (const auto &s : p.symbols)
    if (s.kind == isa::Symbol::Kind::Tensor && s.region == uint8_t(isa::RegionId::State))
      names.push_back(s.name);
  return names;
}

/// Prefill of `pre` (t_block ids), then one decode call per id of `dec`.
/// Runs `calls` in order (the state carries), functional (isa::interpret) or in the cycle
/// simulator.
inline Outcome runProgram(const isa::Program &p, const target::Board &board, bool cycle,
                          const std::vector<Call> &calls, int vocab) {
  Outcome r;
  const isa::Symbol *x = p.tensor("x"), *lg = p.tensor("logits");
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

/// The evaluator's logits for `calls` and its states after them, as bytes; then `greedy` more
/// decode calls, each on the argmax of the previous call's last row (of `vocab` logits),
/// appended to `calls` and their ids to `text`.
inline Outcome runEvaluatorGreedy(mlir::ModuleOp module, std::vector<Call> &calls, unsigned greedy,
                                  int vocab, std::vector<int32_t> &text) {
  Outcome r;
  auto session = ovl::Session::create(module);
  if (!session) {
    r.error = llvm::toString(session.takeError());
    return r;
  }
  for (size_t c = 0; c <= calls.size(); ++c) {
    if (c == calls.size()) {
      if (greedy == 0 || r.logits.empty())
        break;
      --greedy;
      text.push_back(argmaxLast(r.logits.back(), vocab));
      calls.push_back({"decode", {text.back()}});
    }
    // The entry the program runs for the call: its function in the module (@decode where
    // ovl-decode-function made one).
    auto l = (*session)->run(calls[c].ids,
                             calls[c].entry == "decode" ? ovl::Phase::Decode : ovl::Phase::Prefill);
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

/// The evaluator's logits for the same calls and its states after them, as bytes.
inline Outcome runEvaluator(mlir::ModuleOp module, std::vector<Call> calls) {
  std::vector<int32_t> none;
  return runEvaluatorGreedy(module, calls, 0, 0, none);
}

/// Empty when both ran and agree bit for bit, else the first difference.
inline std::string compare(const Outcome &want, const Outcome &got) {
  if (!want.error.empty())
    return "evaluator: " + want.error;
  if (!got.error.empty())
    return "program: " + got.error;
  if (want.logits.size() != got.logits.size())
    return "different numbers of calls";
  for (size_t c = 0; c < want.logits.size(); ++c) {
    if (want.logits[c].size() != got.logits[c].size())
      return "call " + std::to_string(c) + ": different logit counts";
    for (size_t i = 0; i < want.logits[c].size(); ++i)
      if (want.logits[c][i] != got.logits[c][i])
        return "call " + std::to_string(c) + ", logit " + std::to_string(i) + ": evaluator " +
               std::to_string(want.logits[c][i]) + ", program " + std::to_string(got.logits[c][i]);
  }
  if (want.states.size() != got.states.size())
    return "different numbers of states";
  for (size_t s = 0; s < want.states.size(); ++s)
    if (want.states[s] != got.states[s])
      return "state " + std::to_string(s) + " differs";
  return "";
}

} // namespace mamba2::codegen::test
