// mamba2c: the Mamba2 compiler driver. Reads and validates an ONNX model with the official ONNX
// library, imports it into the `onnx` dialect and runs the pipeline as far as --emit asks:
//   summary  what the model holds (ops, initializers, inputs and outputs)
//   onnx     the imported `onnx` dialect module (shape arithmetic folded with --fold)
//   m2       the module after shape folding and raising to the `m2` dialect
//   m2-quant the raised module quantised with the first --quant scheme (QuantPasses.td)
//   ovl      the first --quant scheme lowered to the overlay's integer kernels (OvlPasses.td)
// With --eval FILE: one row per --quant scheme (bits per byte, top-1 agreement with fp32, mean
// KL), each evaluated by the integer evaluator against the fp32 evaluator (docs/accuracy.md); a
// token model's text is tokenized by --tokenizer (perplexity per token and bits per byte).
// With --eval-ovl FILE: the same for each scheme lowered to ovl, in the ovl evaluator.
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mamba2/target/Board.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include "mlir/Pass/PassManager.h"

#include "mamba2/CodeGen/Driver.h"
#include "mamba2/CodeGen/Passes.h"
#include "mamba2/CodeGen/Plan.h"
#include "mamba2/CodeGen/RowBlocks.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Import/Importer.h"
#include "mamba2/Support/PhaseReport.h"
#include "mamba2/Transforms/Passes.h"
#include "mamba2/Transforms/QuantPipeline.h"
#include "mamba2/onnx/ModelReader.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"

namespace {

/// MLIR's printer hex-encodes every dense_resource blob before it elides it, which for a
/// full-size model is gigabytes of text thrown away. When weights are not printed, point the
/// large constants at one empty blob first (the module is discarded after printing).
void detachWeightsForPrinting(mlir::ModuleOp module) {
  std::optional<mlir::DenseResourceElementsHandle> empty;
  module.walk([&](mlir::Operation *op) {
    for (mlir::NamedAttribute a : op->getAttrs()) {
      auto r = llvm::dyn_cast<mlir::DenseResourceElementsAttr>(a.getValue());
      if (!r || r.getNumElements() <= 16)
        continue;
      if (!empty) {
        auto blob = mlir::HeapAsmResourceBlob::allocate(0, alignof(float));
        empty = mlir::DenseResourceElementsAttr::get(r.getType(), "elided", std::move(blob))
                    .getRawHandle();
      }
      op->setAttr(a.getName(), mlir::DenseResourceElementsAttr::get(r.getType(), *empty));
    }
  });
}

/// The vocabulary of @main's logits (batch, length, vocab); 0 when it has none.
int64_t modelVocab(mlir::ModuleOp module) {
  auto main = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (!main || main.getFunctionType().getNumResults() == 0)
    return 0;
  auto t = llvm::dyn_cast<mlir::RankedTensorType>(main.getFunctionType().getResult(0));
  return t && t.getRank() == 3 && !t.isDynamicDim(2) ? t.getDimSize(2) : 0;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2c: compile a Mamba2 ONNX model for the Mamba2 overlay"};
  std::string model;
  bool noCheck = false;
  bool noShapes = false;
  bool printWeights = false;
  std::vector<std::string> dims;
  app.add_option("model", model,
                 "ONNX model file (.onnx, external data beside it; .onnxtxt: ONNX text syntax)")
      ->required();
  app.add_flag("--no-check", noCheck, "skip the ONNX checker");
  app.add_flag("--no-shape-inference", noShapes, "skip ONNX shape inference");
  app.add_option("--dim", dims,
                 "NAME=VALUE: make a symbolic input dimension concrete (e.g. sequence=37)");
  app.add_flag("--print-weights", printWeights,
               "print every constant in full (default: large ones are elided)");
  std::string emit = "summary";
  app.add_option("--emit", emit, "what to print")
      ->check(CLI::IsMember({"summary", "onnx", "m2", "m2-quant", "ovl", "asm"}));
  std::vector<std::string> schemes;
  mamba2::QuantScheme scheme;
  std::string evalFile;
  int64_t evalBytes = 32768, window = 2048;
  int threads = 0;
  app.add_option("--quant", schemes, "quantisation scheme(s): fp32, w8a8, w4a8, w4a4")
      ->check(CLI::IsMember({"fp32", "w8a8", "w4a8", "w4a4"}));
  app.add_option("--hadamard", scheme.hadamard, "Hadamard rotation: off, on, random")
      ->check(CLI::IsMember({"off", "on", "random"}));
  app.add_option("--seed", scheme.seed, "seed of --hadamard random");
  app.add_option("--group", scheme.group, "K-group of 4-bit weight scales");
  app.add_option("--act-scales", scheme.actMode, "activation scales: token (dynamic), tensor")
      ->check(CLI::IsMember({"token", "tensor"}));
  app.add_option("--rounding", scheme.method, "weight rounding: rtn, gptq")
      ->check(CLI::IsMember({"rtn", "gptq"}));
  app.add_option("--lm-head-bits", scheme.lmHeadBits, "lm_head weight bits: 8, 4, 0 (fp32)");
  app.add_option("--pwl", scheme.pwlSegments, "piecewise-linear SiLU/softplus segments (0: off)");
  app.add_option("--ssm-pot", scheme.ssmPot,
                 "power-of-two SSM and conv with a state of this many bits (0: off)");
  app.add_option("--ssm-pot-group", scheme.ssmPotGroup,
                 "channels sharing one power-of-two exponent: tensor, head (x / state / y per "
                 "head, B and C per group, the conv likewise) or a channel count");
  app.add_option("--calib", scheme.calibText,
                 "calibration text (static scales, GPTQ, --ssm-pot; default: "
                 "../shared/data/wikitext-2-raw-test.txt)");
  CLI::Option *calibBytesOpt = app.add_option(
      "--calib-bytes", scheme.calibBytes,
      "bytes of calibration text (default: 16384, fewer where the model's linear layers "
      "would take more than --calib-macs multiply-adds over them, with a remark)");
  app.add_option("--calib-macs", scheme.calibMacs,
                 "the default calibration's budget: multiply-adds of the model's linear layers "
                 "(default 2e12: 16 KiB of 130M, 777 bytes of 2.7B; 0: no limit; a --calib-bytes "
                 "given is used whole)");
  CLI::Option *calibOffsetOpt =
      app.add_option("--calib-offset", scheme.calibOffset,
                     "bytes of calibration text skipped first (default: 0, or after the "
                     "evaluated bytes when --eval reads the calibration text)");
  app.add_option("--eval", evalFile, "text to evaluate each --quant scheme on");
  std::string evalOvlFile;
  app.add_option("--eval-ovl", evalOvlFile,
                 "text to evaluate each --quant scheme on, lowered to ovl (and at m2 level)");
  app.add_option("--eval-bytes", evalBytes, "bytes of --eval text (0: all)");
  app.add_option("--window", window,
                 "ids (bytes, or tokens with --tokenizer) per evaluation window (each from an "
                 "empty state)");
  std::string tokenizerPath;
  app.add_option("--tokenizer", tokenizerPath,
                 "--eval, --eval-ovl and calibration of a token model: its Hugging Face "
                 "tokenizer.json (default: bytes, for a byte model)");
  app.add_option("--threads", threads, "evaluator threads (0: all)");
  bool fold = false;
  bool strict = false;
  app.add_flag("--fold", fold, "with --emit=onnx: fold the shape arithmetic");
  app.add_flag("--strict", strict, "with --emit=m2: fail unless every op was raised");
  // Code generation (docs/codegen.md): -o writes the .m2b, --emit=asm prints its assembly.
  std::string outPath, targetName = "kv260";
  mamba2::codegen::EmitOptions emitOptions;
  app.add_option("-o", outPath, "write the overlay program (.m2b; with --emit=asm its assembly)");
  app.add_option("--target", targetName, "board to compile for")
      ->check(CLI::IsMember(mamba2::target::boardNameList()));
  emitOptions.tBlock = 0; // the most rows that fit (EmitOptions::tBlock)
  app.add_option("--t-block", emitOptions.tBlock,
                 "rows of one prefill call, 1..63 (default: the most of 32, 16, 8, 4, 2, 1 whose "
                 "buffers fit the target's scratchpad); with --eval-ovl, each window fed as the "
                 "runtime's calls of this many rows (default: one call)");
  std::string rowBlocks = "auto";
  app.add_option("--row-blocks", rowBlocks,
                 "the prefill's layers in N blocks of rows (1..64), interleaved so the matrix "
                 "and SSM units overlap; 1: op after op; auto (default): the cost model's "
                 "choice for --target (op by op, or the count it estimates fastest)")
      ->check([](const std::string &text) {
        unsigned n;
        std::string why;
        return mamba2::codegen::parseRowBlocks(text, n, why) ? std::string() : why;
      });
  bool headGroups = false, noHeadGroups = false;
  app.add_flag("--head-groups", headGroups,
               "ovl pipeline: reorder in_proj and split each layer's in_proj, conv and scan into "
               "head groups (m2-reorder-in-proj, ovl-split-head-groups) even where the cost model "
               "for --target keeps one group (default: only where it splits)");
  app.add_flag("--no-head-groups", noHeadGroups, "ovl pipeline: no head groups")
      ->excludes("--head-groups");
  app.add_option("--heads-per-group", scheme.headsPerGroup,
                 "heads per group of ovl-split-head-groups (splits even where the cost model "
                 "would not; 0: the cost model's choice for --target)")
      ->excludes("--no-head-groups");
  scheme.ssdForm = "auto"; // the SSD form's cost model chooses for --target and --t-block
  app.add_option("--ssd-form", scheme.ssdForm,
                 "ovl pipeline: the prefill's SSM as the recurrent scan or in the chunked (matrix) "
                 "form, the decode then in a @decode of its own, or auto: the SSD form's cost "
                 "model's choice for --target and the rows a prefill call (ovl-ssd-form; "
                 "default auto)")
      ->check(CLI::IsMember({"scan", "chunked", "auto"}));
  app.add_option("--ssd-chunk", scheme.ssdChunk,
                 "rows of a chunk of --ssd-form chunked, 1..64 (default 32; auto: the cost "
                 "model's)")
      ->check(CLI::Range(1, 64));
  app.add_option("--weight-buffers", emitOptions.weightBuffers,
                 "tile buffers of the weight ring (2: double buffering)");
  app.add_option("--weight-buffer-kib", emitOptions.weightBufferBytes,
                 "KiB of one weight tile buffer (0: an eighth of the scratchpad)");
  bool noFuseTile = false;
  app.add_flag("--no-fuse-tile", noFuseTile,
               "ovl pipeline without ovl-fuse and ovl-tile: the emitter then computes the same "
               "fusion groups and tiles itself (the program is the same)");
  bool noLayerLoop = false;
  app.add_flag("--no-layer-loop", noLayerLoop,
               "emit every layer unrolled instead of one hardware loop over the repeating layers");
  app.add_option("--semaphores", emitOptions.semaphores,
                 "semaphores an entry may use, 1..16 (fewer exercises the sharing and ctrl.sync "
                 "paths; tests)");
  bool noPipelineLoads = false;
  app.add_flag(
      "--no-pipeline-loads", noPipelineLoads,
      "layer loops without software pipelining of the weight stream: the ring restarts "
      "at each layer's first tile, one DMA per constant (docs/codegen.md \"Layer loops\")");
  bool noSharedSems = false;
  app.add_flag("--no-shared-semaphores", noSharedSems,
               "no two channels of an entry share a semaphore: those beyond the 16 semaphores "
               "go through ctrl.sync (docs/codegen.md \"Shared semaphores\")");
  bool reportPhases = false;
  app.add_flag("--report", reportPhases,
               "print each phase's and each pass's wall time, resident set at its end and the "
               "process's peak resident set so far to stderr at the end (docs/codegen.md)");
  CLI11_PARSE(app, argc, argv);
  if (scheme.calibMacs < 0) {
    std::cerr << "mamba2c: error: --calib-macs must not be negative, not " << scheme.calibMacs
              << "\n";
    return 1;
  }
  if (calibBytesOpt->count() > 0) // the bytes asked for, whatever they cost
    scheme.calibMacs = 0;
  {
    std::string why; // checked above
    mamba2::codegen::parseRowBlocks(rowBlocks, emitOptions.prefillRowBlocks, why);
  }
  std::optional<mamba2::PhaseReport> report;
  if (reportPhases)
    report.emplace(&llvm::errs());
  mamba2::PhaseReport *rep = report ? &*report : nullptr;
  // The table is printed however main returns.
  struct PrintAtExit {
    mamba2::PhaseReport *report;
    ~PrintAtExit() {
      if (report)
        report->print(llvm::errs());
    }
  } printAtExit{rep};
  emitOptions.layerLoop = !noLayerLoop;
  emitOptions.shareSemaphores = !noSharedSems;
  emitOptions.pipelineLoads = !noPipelineLoads;
  emitOptions.weightBufferBytes *= 1024;
  if (endsWith(model, ".mlir")) {
    // An `ovl` module (the input of the emitter, e.g. a test's hand-written model).
    mlir::MLIRContext ctx;
    ctx.loadDialect<mlir::func::FuncDialect, mamba2::ovl::OvlDialect>();
    llvm::SourceMgr mgr;
    mlir::SourceMgrDiagnosticHandler diag(mgr, &ctx);
    auto mod = mlir::parseSourceFile<mlir::ModuleOp>(model, mgr, &ctx);
    if (!mod)
      return 1;
    if (emit != "asm" && outPath.empty()) {
      std::cerr << "mamba2c: error: an .mlir (ovl) input needs -o FILE or --emit=asm\n";
      return 1;
    }
    return mamba2::codegen::emitModule(*mod, targetName, emitOptions,
                                       outPath.empty() ? "-" : outPath, emit == "asm", llvm::errs(),
                                       rep);
  }
  // -o / --emit=asm: the ovl pipeline of the first --quant scheme, then the emitter.
  const bool compile = emit == "asm" || !outPath.empty(), asmOut = emit == "asm";
  if (compile && (emit != "asm" && emit != "summary")) {
    std::cerr << "mamba2c: error: -o writes the program; it goes with --emit=asm or no --emit\n";
    return 1;
  }
  if (compile)
    emit = "ovl";
  const bool toOvl = emit == "ovl" || !evalOvlFile.empty();
  if (toOvl && !evalFile.empty()) {
    std::cerr << "mamba2c: error: --eval and --eval-ovl do not go together\n";
    return 1;
  }
  if (!evalOvlFile.empty())
    evalFile = evalOvlFile;
  const bool quantize = emit == "m2-quant" || emit == "ovl" || !evalFile.empty();
  if (quantize)
    emit = "m2";

  mamba2::onnx_import::ReadOptions options;
  options.check = !noCheck;
  options.inferShapes = !noShapes;
  for (const std::string &d : dims) {
    auto eq = d.find('=');
    try {
      if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument(d);
      options.dimValues[d.substr(0, eq)] = std::stoll(d.substr(eq + 1));
    } catch (const std::exception &) {
      std::cerr << "mamba2c: error: --dim expects NAME=VALUE, got '" << d << "'\n";
      return 1;
    }
  }

  llvm::Expected<mamba2::onnx_import::LoadedModel> loaded =
      llvm::createStringError(std::errc::invalid_argument, "unread");
  llvm::consumeError(loaded.takeError());
  std::optional<mamba2::ScopedPhase> phase;
  phase.emplace(rep, "read the ONNX model");
  if (endsWith(model, ".onnxtxt")) {
    // Bounded like a binary model: a device or an endless file is refused before reading.
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model, ec) ||
        std::filesystem::file_size(model, ec) > mamba2::onnx_import::kMaxModelFileBytes) {
      std::cerr << "mamba2c: error: " << model << ": not a regular file of at most "
                << mamba2::onnx_import::kMaxModelFileBytes << " bytes\n";
      return 1;
    }
    auto text = llvm::MemoryBuffer::getFile(model);
    if (!text) {
      std::cerr << "mamba2c: error: " << model << ": " << text.getError().message() << "\n";
      return 1;
    }
    loaded = mamba2::onnx_import::readModelFromText((*text)->getBuffer().str(), model, options);
  } else {
    loaded = mamba2::onnx_import::readModel(model, options);
  }
  phase.reset();
  if (!loaded) {
    std::cerr << "mamba2c: error: " << llvm::toString(loaded.takeError()) << "\n";
    return 1;
  }
  if (!loaded->adapted.libraryGaps.empty() && emit != "summary")
    std::cerr << "mamba2c: note: " << model << ": " << loaded->adapted.libraryGaps << "\n";
  if (emit == "summary") {
    std::cout << mamba2::onnx_import::formatSummary(mamba2::onnx_import::summarize(*loaded));
    return 0;
  }

  mlir::MLIRContext context;
  // Print every diagnostic (MLIR's default prints errors only, and the raising pass warns).
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  if (rep) // one row per pass: the passes run in this thread
    context.disableMultithreading();
  mamba2::import::WeightStorage storage;
  phase.emplace(rep, "import to the onnx dialect");
  auto module = mamba2::import::importModel(context, *loaded, storage);
  phase.reset();
  if (!module)
    return 1;
  if (fold || emit == "m2") {
    mlir::PassManager pm(&context);
    if (rep)
      pm.addInstrumentation(rep->passInstrumentation());
    pm.addNestedPass<mlir::func::FuncOp>(mamba2::createOnnxFoldShapes());
    if (emit == "m2") {
      mamba2::RaiseOnnxToM2Options raiseOptions;
      raiseOptions.strict = strict || quantize;
      pm.addNestedPass<mlir::func::FuncOp>(mamba2::createRaiseOnnxToM2(raiseOptions));
    }
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  if (quantize) {
    if (schemes.empty())
      schemes.push_back("w8a8");
    std::vector<mamba2::QuantScheme> all;
    bool calibrates = false;
    for (const std::string &name : schemes) {
      all.push_back(toOvl ? mamba2::ovlScheme(scheme) : scheme);
      all.back().name = name;
      calibrates |= all.back().needsCalibration();
    }
    for (mamba2::QuantScheme &s : all) {
      s.tokenizer = tokenizerPath == "bytes" ? "" : tokenizerPath;
      s.evalTBlock = emitOptions.tBlock; // --eval-ovl: the runtime's calls (0: one call)
      // --ssd-form auto costs calls of --t-block rows (32 when auto; a count outside the matmul
      // m field's 1..63 is the emitter's to refuse, naming the field).
      s.ssdRows =
          emitOptions.tBlock >= 1 && emitOptions.tBlock <= 63 ? int64_t(emitOptions.tBlock) : 32;
    }
    const int64_t vocab = modelVocab(*module);
    if (calibrates && vocab != 256 && all.front().tokenizer.empty())
      std::cerr << "mamba2c: note: " << model << " is a token model (vocabulary " << vocab
                << "): without --tokenizer its calibration reads the text's bytes as token ids\n";
    if (calibrates && scheme.calibText.empty()) {
      // The default text lies beside the project (../shared/data), not in it: where it is
      // absent, say so before any work rather than fail inside the calibration.
      std::error_code ec;
      if (!std::filesystem::is_regular_file(scheme.calibration(), ec)) {
        std::cerr << "mamba2c: error: no --calib, and the default calibration text "
                  << scheme.calibration()
                  << " is absent: name a text the model did not train on with --calib FILE\n";
        return 1;
      }
      std::cerr << "mamba2c: note: no --calib; calibrating on " << scheme.calibration() << "\n";
    }
    if (!evalFile.empty()) {
      auto text = llvm::MemoryBuffer::getFile(evalFile);
      if (!text) {
        std::cerr << "mamba2c: error: " << evalFile << ": " << text.getError().message() << "\n";
        return 1;
      }
      llvm::StringRef data = (*text)->getBuffer();
      if (evalBytes > 0 && static_cast<int64_t>(data.size()) > evalBytes)
        data = data.take_front(static_cast<size_t>(evalBytes));
      // The calibration never covers the evaluated bytes (the first data.size() of the file).
      std::error_code ec;
      if (calibrates && std::filesystem::equivalent(scheme.calibration(), evalFile, ec)) {
        const int64_t n = static_cast<int64_t>(data.size()),
                      size = static_cast<int64_t>((*text)->getBufferSize());
        const std::string calib = scheme.calibration();
        if (calibOffsetOpt->count() == 0 && n + 2 <= size) {
          for (mamba2::QuantScheme &s : all)
            s.calibOffset = n;
          std::cerr << "mamba2c: note: --eval reads the calibration text " << calib
                    << ": calibrating on its bytes " << n << ".."
                    << std::min(size, n + scheme.calibBytes) << ", after the " << n
                    << " evaluated\n";
        } else if (all.front().calibOffset < n) {
          std::cerr
              << "mamba2c: warning: the calibration bytes " << all.front().calibOffset << ".."
              << std::min(size, all.front().calibOffset + scheme.calibBytes) << " of " << calib
              << " overlap the " << n
              << " evaluated bytes: the rows are not measured on held-out bytes (--eval-bytes, "
                 "--calib-offset or another --calib)\n";
        }
      }
      auto input = mamba2::textForModel(data, vocab, all.front().tokenizer);
      if (!input) {
        std::cerr << "mamba2c: error: --eval " << evalFile << ": "
                  << llvm::toString(input.takeError()) << "\n";
        return 1;
      }
      if (input->tokenized)
        llvm::outs() << "eval: " << evalFile << ", " << data.size() << " bytes, "
                     << input->ids.size() << " tokens (" << tokenizerPath << "), windows of "
                     << window << " tokens\n";
      else
        llvm::outs() << "eval: " << evalFile << ", " << data.size() << " bytes, windows of "
                     << window << "\n";
      auto table = toOvl ? mamba2::printOvlAccuracyTable : mamba2::printAccuracyTable;
      if (auto e = table(*module, all, *input, window, threads, llvm::outs())) {
        std::cerr << "mamba2c: error: " << llvm::toString(std::move(e)) << "\n";
        return 1;
      }
      return 0;
    }
    // The module is this context's only one: the passes may free the weights they replace.
    all.front().releaseWeights = true;
    all.front().headGroups = headGroups ? "on" : noHeadGroups ? "off" : "auto";
    all.front().target = targetName;
    all.front().report = rep;
    if (auto e = toOvl ? mamba2::lowerToOvl(*module, all.front())
                       : mamba2::quantizeModule(*module, all.front())) {
      std::cerr << "mamba2c: error: " << llvm::toString(std::move(e)) << "\n";
      return 1;
    }
    // The emitter's decisions recorded in the IR (docs/passes.md): what --emit=ovl shows and
    // what the emitter then uses.
    if (toOvl && !noFuseTile) {
      mlir::PassManager pm(&context);
      if (rep)
        pm.addInstrumentation(rep->passInstrumentation());
      pm.addNestedPass<mlir::func::FuncOp>(mamba2::codegen::createOvlFuse());
      mamba2::codegen::OvlTileOptions tile;
      tile.target = targetName;
      tile.weightBuffers = emitOptions.weightBuffers;
      tile.maxWeightBuffers = emitOptions.maxWeightBuffers;
      tile.weightBufferBytes = emitOptions.weightBufferBytes;
      tile.padWeightRows = emitOptions.padWeightRows;
      pm.addNestedPass<mlir::func::FuncOp>(mamba2::codegen::createOvlTile(tile));
      if (mlir::failed(pm.run(*module))) {
        std::cerr << "mamba2c: error: ovl-fuse / ovl-tile failed (see the diagnostics above)\n";
        return 1;
      }
      if (rep)
        if (auto fn = module->lookupSymbol<mlir::func::FuncOp>("main"))
          for (const std::string &line : mamba2::codegen::describeRecorded(fn))
            llvm::errs() << "report: " << line << "\n";
    }
  }
  if (compile)
    return mamba2::codegen::emitModule(*module, targetName, emitOptions,
                                       outPath.empty() ? "-" : outPath, asmOut, llvm::errs(), rep);
  mlir::OpPrintingFlags flags;
  if (!printWeights) {
    detachWeightsForPrinting(*module);
    flags.elideLargeElementsAttrs(16).elideLargeResourceString(64);
  }
  module->print(llvm::outs(), flags);
  llvm::outs() << "\n";
  return 0;
}
