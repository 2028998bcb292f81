// mamba2-eval: imports an ONNX Mamba2 model, raises it to m2 and runs it with the fp32
// evaluator. The model is the whole-sequence (chunked) form or the step form (mamba2ref.export
// --form step), which runs token by token with its states carried by the evaluator.
//   --golden DIR        compare with golden.json / golden_logits.bin (models/mamba2ref/golden.py):
//                       every prompt as one prefill, and as a prefill of all but the last
//                       --decode tokens followed by decode steps; fails beyond --rtol
//   --write-golden DIR  write this evaluator's logits for the golden prompts in the same format
//                       (to compare with onnxruntime: tools/ort/check_golden.mjs DIR --model M)
//   --check-threads     also run with one thread and require bit-identical logits
//   (the table also shows how much of the reference's greedy continuation is reproduced)
//   --prompt TEXT --generate N   greedy byte-level continuation
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include "mamba2/Eval/M2Evaluator.h"
#include "mamba2/Import/Importer.h"
#include "mamba2/Transforms/Passes.h"

using namespace mamba2;

namespace {

int error(const std::string &msg) {
  std::cerr << "mamba2-eval: error: " << msg << "\n";
  return 1;
}

struct Prompt {
  std::vector<int64_t> ids;
  std::vector<int64_t> greedy; // the reference's greedy continuation, if golden.json has one
  int64_t offset = 0;          // in floats
  std::string text;
};

/// Max |a - g| over max |g|, the relative error of one prompt's logits.
double relError(const float *a, const float *g, size_t n) {
  double maxDiff = 0, maxRef = 0;
  for (size_t i = 0; i < n; ++i) {
    maxDiff = std::max(maxDiff, std::fabs(double(a[i]) - double(g[i])));
    maxRef = std::max(maxRef, std::fabs(double(g[i])));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-eval: run a Mamba2 ONNX model with the fp32 m2 evaluator"};
  std::string model, goldenDir, writeDir, prompt;
  int threads = 0, generate = 0, decodeTail = 4;
  double rtol = 1e-4;
  bool checkThreads = false;
  app.add_option("model", model, "ONNX model file")->required();
  app.add_option("--golden", goldenDir, "folder with golden.json and its logits");
  app.add_option("--write-golden", writeDir, "write this evaluator's logits there");
  app.add_option("--rtol", rtol, "max |logit - golden| / max |golden| per prompt");
  app.add_option("--decode", decodeTail, "tokens of each prompt to run as decode steps");
  app.add_option("--threads", threads, "worker threads (0: all)");
  app.add_flag("--check-threads", checkThreads, "require identical logits with one thread");
  app.add_option("--prompt", prompt, "text to continue (bytes are tokens)");
  app.add_option("--generate", generate, "bytes to generate greedily after --prompt");
  CLI11_PARSE(app, argc, argv);

  auto loaded = onnx_import::readModel(model);
  if (!loaded)
    return error(llvm::toString(loaded.takeError()));
  mlir::MLIRContext context;
  // Print every diagnostic (MLIR's default prints errors only, and the raising pass warns).
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  import::WeightStorage storage;
  auto module = import::importModel(context, *loaded, storage);
  if (!module)
    return 1;
  mlir::PassManager pm(&context);
  pm.addNestedPass<mlir::func::FuncOp>(createOnnxFoldShapes());
  RaiseOnnxToM2Options raise;
  raise.strict = true;
  pm.addNestedPass<mlir::func::FuncOp>(createRaiseOnnxToM2(raise));
  if (mlir::failed(pm.run(*module)))
    return 1;
  auto program = eval::Program::compile(*module);
  if (!program)
    return error(llvm::toString(program.takeError()));
  eval::ThreadPool pool(threads);
  eval::ThreadPool single(1);
  const int64_t V = (*program)->vocab();

  if (!prompt.empty()) {
    eval::Session session(**program, 1, pool);
    std::vector<int64_t> ids(prompt.begin(), prompt.end());
    for (int64_t &i : ids)
      i &= 0xff;
    auto logits = session.run(ids, static_cast<int64_t>(ids.size()));
    std::string out;
    for (int i = 0; i < generate; ++i) {
      if (!logits)
        return error(llvm::toString(logits.takeError()));
      const float *last = logits->data() + (logits->size() - V);
      int64_t next = std::max_element(last, last + V) - last;
      out += static_cast<char>(next);
      logits = session.run({next}, 1);
    }
    if (!logits)
      return error(llvm::toString(logits.takeError()));
    std::cout << prompt << out << "\n";
  }

  if (goldenDir.empty())
    return 0;
  auto jsonText = llvm::MemoryBuffer::getFile(goldenDir + "/golden.json");
  if (!jsonText)
    return error(goldenDir + "/golden.json: " + jsonText.getError().message());
  auto json = llvm::json::parse((*jsonText)->getBuffer());
  if (!json)
    return error("golden.json: " + llvm::toString(json.takeError()));
  auto *root = json->getAsObject();
  auto *prompts = root ? root->getArray("prompts") : nullptr;
  auto logitsFile = root ? root->getString("logits_file") : std::nullopt;
  if (!prompts || !logitsFile)
    return error("golden.json has no prompts or logits_file");
  std::vector<Prompt> ps;
  for (const auto &p : *prompts) {
    const auto *o = p.getAsObject();
    const auto *ids = o ? o->getArray("ids") : nullptr;
    auto off = o ? o->getInteger("logits_offset") : std::nullopt;
    if (!ids || !off)
      return error("golden.json: a prompt lacks ids or logits_offset");
    Prompt q;
    for (const auto &i : *ids)
      q.ids.push_back(i.getAsInteger().value_or(-1));
    q.offset = *off;
    if (const auto *g = o->getArray("greedy_ids"))
      for (const auto &i : *g)
        q.greedy.push_back(i.getAsInteger().value_or(-1));
    if (auto t = o->getString("text"))
      q.text = t->str();
    ps.push_back(std::move(q));
  }
  auto goldenBin = llvm::MemoryBuffer::getFile(goldenDir + "/" + logitsFile->str());
  if (!goldenBin)
    return error(logitsFile->str() + ": " + goldenBin.getError().message());
  const float *golden = reinterpret_cast<const float *>((*goldenBin)->getBufferStart());
  size_t goldenFloats = (*goldenBin)->getBufferSize() / sizeof(float);

  std::vector<float> all;
  bool ok = true;
  std::printf("%-44s %6s %14s %14s %8s %9s\n", "prompt", "tokens", "prefill rel", "decode rel",
              "threads", "greedy");
  for (const Prompt &p : ps) {
    int64_t L = static_cast<int64_t>(p.ids.size());
    if (p.offset + L * V > static_cast<int64_t>(goldenFloats))
      return error("golden logits file is shorter than golden.json says");
    const float *g = golden + p.offset;
    eval::Session s(**program, 1, pool);
    auto prefill = s.run(p.ids, L);
    if (!prefill)
      return error(llvm::toString(prefill.takeError()));
    double relPrefill = relError(prefill->data(), g, prefill->size());
    // Prefill of the head, then decode steps for the tail.
    int64_t tail = std::min<int64_t>(decodeTail, L - 1);
    eval::Session d(**program, 1, pool);
    std::vector<int64_t> head(p.ids.begin(), p.ids.end() - tail);
    auto stepped = d.run(head, L - tail);
    if (!stepped)
      return error(llvm::toString(stepped.takeError()));
    for (int64_t t = L - tail; t < L; ++t) {
      auto one = d.run({p.ids[t]}, 1);
      if (!one)
        return error(llvm::toString(one.takeError()));
      stepped->insert(stepped->end(), one->begin(), one->end());
    }
    double relDecode = relError(stepped->data(), g, stepped->size());
    std::string same = "-";
    if (checkThreads) {
      eval::Session s1(**program, 1, single);
      auto one = s1.run(p.ids, L);
      if (!one)
        return error(llvm::toString(one.takeError()));
      bool identical = *one == *prefill;
      same = identical ? "same" : "DIFFER";
      ok = ok && identical;
    }
    // Greedy continuation (prefill, then decode), compared with the reference's: reported, not
    // required, since a near-tie may legitimately go the other way.
    std::string greedy = "-";
    if (!p.greedy.empty()) {
      eval::Session gs(**program, 1, pool);
      auto lg = gs.run(p.ids, L);
      size_t match = 0;
      for (size_t i = 0; lg && i < p.greedy.size(); ++i) {
        const float *last = lg->data() + (lg->size() - V);
        int64_t next = std::max_element(last, last + V) - last;
        if (next != p.greedy[i])
          break;
        ++match;
        lg = gs.run({next}, 1);
      }
      if (!lg)
        return error(llvm::toString(lg.takeError()));
      greedy = std::to_string(match) + "/" + std::to_string(p.greedy.size());
    }
    std::string label = p.text.substr(0, 40);
    for (char &c : label)
      if (c == '\n')
        c = ' ';
    std::printf("%-44s %6lld %14.3e %14.3e %8s %9s\n", ("\"" + label + "\"").c_str(),
                static_cast<long long>(L), relPrefill, relDecode, same.c_str(), greedy.c_str());
    ok = ok && relPrefill <= rtol && relDecode <= rtol;
    all.insert(all.end(), prefill->begin(), prefill->end());
  }
  if (!writeDir.empty()) {
    std::ofstream bin(writeDir + "/golden_logits.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char *>(all.data()),
              static_cast<std::streamsize>(all.size() * sizeof(float)));
    std::ofstream js(writeDir + "/golden.json");
    std::string text;
    llvm::raw_string_ostream os(text);
    os << *json;
    js << text;
    if (!bin || !js)
      return error("cannot write " + writeDir);
  }
  std::printf("%s (rtol %.1e)\n", ok ? "PASS" : "FAIL", rtol);
  return ok ? 0 : 1;
}
