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
//   --unraised          evaluate the graph as imported: the onnx interpreter runs every op
//
// Any graph (not only a Mamba2 language model), run by the onnx interpreter as imported:
//   mamba2-eval MODEL.onnx --input in0.pb --input in1.pb [--expect out0.pb ...]
// inputs and expected outputs are serialized ONNX TensorProtos, one per graph input / output
// in order; outputs are compared as ONNX's backend tests do (--expect-rtol 1e-3, --expect-atol
// 1e-7 for floating point, exact for integers and bools) and the verdict is PASS or FAIL.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include "mamba2/Eval/M2Evaluator.h"
#include "mamba2/Eval/OnnxInterpreter.h"
#include "mamba2/Eval/TensorProto.h"
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

/// Runs the imported graph on TensorProto inputs; compares with expected outputs if given.
int runGraph(mlir::ModuleOp module, const std::vector<std::string> &inputs,
             const std::vector<std::string> &expects, double rtol, double atol, int threads) {
  auto func = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (!func)
    return error("the imported module has no @main");
  unsigned nIn = func.getNumArguments(), nOut = func.getNumResults();
  if (inputs.size() != nIn)
    return error("the graph has " + std::to_string(nIn) + " input(s), " +
                 std::to_string(inputs.size()) + " --input file(s) given");
  if (!expects.empty() && expects.size() != nOut)
    return error("the graph has " + std::to_string(nOut) + " output(s), " +
                 std::to_string(expects.size()) + " --expect file(s) given");
  auto declared = [](mlir::Type t) {
    auto dt = eval::dtypeOf(mlir::cast<mlir::TensorType>(t).getElementType());
    if (!dt) {
      llvm::consumeError(dt.takeError());
      return eval::DType::F32;
    }
    return *dt;
  };
  std::vector<eval::Tensor> args;
  for (unsigned i = 0; i < nIn; ++i) {
    auto t = eval::readTensorProto(inputs[i]);
    if (!t)
      return error(llvm::toString(t.takeError()));
    args.push_back(eval::asDeclared(*t, declared(func.getArgumentTypes()[i])));
  }
  eval::ThreadPool pool(threads);
  auto outs = eval::runOnnxFunction(func, args, pool);
  if (!outs)
    return error(llvm::toString(outs.takeError()));
  bool ok = true;
  for (unsigned i = 0; i < nOut; ++i) {
    const eval::Tensor &t = (*outs)[i];
    std::string name = "#" + std::to_string(i);
    if (auto n = func.getResultAttrOfType<mlir::StringAttr>(i, "onnx.name"))
      name += " '" + n.str() + "'";
    std::printf("output %s: %s %s", name.c_str(), eval::dtypeName(t.dtype()),
                eval::formatShape(t.shape()).c_str());
    if (expects.empty()) {
      std::printf(" =");
      for (int64_t k = 0; k < std::min<int64_t>(t.numel(), 16); ++k)
        std::printf(" %.9g", eval::elementAsDouble(t, k));
      std::printf("%s\n", t.numel() > 16 ? " ..." : "");
      continue;
    }
    auto e = eval::readTensorProto(expects[i]);
    if (!e)
      return error(llvm::toString(e.takeError()));
    eval::Comparison c = eval::compare(t, eval::asDeclared(*e, t.dtype()), rtol, atol);
    std::printf(": %s", c.ok ? "PASS" : "FAIL");
    if (c.ok && eval::isFloat(t.dtype()))
      std::printf(" (max abs error %.3g)", c.maxAbsError);
    if (!c.ok)
      std::printf(": %s", c.message.c_str());
    std::printf("\n");
    ok = ok && c.ok;
  }
  if (expects.empty())
    return 0;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
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
  bool unraised = false;
  int greedyMax = -1;
  app.add_option("--greedy", greedyMax,
                 "compare at most this many tokens of the reference's greedy continuation");
  app.add_flag("--unraised", unraised, "run the graph as imported, in the onnx interpreter");
  std::vector<std::string> inputs, expects;
  double expectRtol = 1e-3, expectAtol = 1e-7;
  app.add_option("--input", inputs, "TensorProto file for the next graph input (any graph)");
  app.add_option("--expect", expects, "TensorProto file of the next expected graph output");
  app.add_option("--expect-rtol", expectRtol, "relative tolerance of --expect (floats)");
  app.add_option("--expect-atol", expectAtol, "absolute tolerance of --expect (floats)");
  CLI11_PARSE(app, argc, argv);
  // Oversubscribing a little is legitimate (thread-count invariance is tested on 2 cores);
  // 100,000 threads is not.
  const int maxThreads = 4 * std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  if (threads < 0 || threads > maxThreads)
    return error("--threads " + std::to_string(threads) + " is outside 0.." +
                 std::to_string(maxThreads) + " (0: all cores; at most 4 per core)");
  if (!writeDir.empty() && goldenDir.empty())
    return error("--write-golden needs --golden (the prompts are read from golden.json)");

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
  if (!inputs.empty() || !expects.empty())
    return runGraph(*module, inputs, expects, expectRtol, expectAtol, threads);
  mlir::PassManager pm(&context);
  pm.addNestedPass<mlir::func::FuncOp>(createOnnxFoldShapes());
  RaiseOnnxToM2Options raise;
  raise.strict = true;
  pm.addNestedPass<mlir::func::FuncOp>(createRaiseOnnxToM2(raise));
  if (!unraised && mlir::failed(pm.run(*module)))
    return 1;
  if (unraised) {
    int64_t onnxOps = 0;
    module->walk([&](mlir::Operation *op) {
      onnxOps += op->getDialect() && op->getDialect()->getNamespace() == "onnx";
    });
    std::printf("unraised: %lld onnx ops, run by the onnx interpreter\n",
                static_cast<long long>(onnxOps));
  }
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
      size_t steps =
          greedyMax >= 0 ? std::min<size_t>(greedyMax, p.greedy.size()) : p.greedy.size();
      for (size_t i = 0; lg && i < steps; ++i) {
        const float *last = lg->data() + (lg->size() - V);
        int64_t next = std::max_element(last, last + V) - last;
        if (next != p.greedy[i])
          break;
        ++match;
        lg = gs.run({next}, 1);
      }
      if (!lg)
        return error(llvm::toString(lg.takeError()));
      greedy = std::to_string(match) + "/" + std::to_string(steps);
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
