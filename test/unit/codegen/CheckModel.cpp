// mamba2-codegen-check: emits an ovl model (.mlir, e.g. `mamba2c M.onnx --quant Q --emit=ovl
// --print-weights`) for a board, runs a prompt (prefill calls, then decode steps) in isa's
// interpreter and in the cycle simulator, and compares logits and states with the ovl
// evaluator bit for bit. Prints the program's figures and the cycle counts of each kind of call.
// Exit status 0 only when everything agrees.
#include "Harness.h"

#include "mamba2/CodeGen/RowBlocks.h"
#include "mamba2/CodeGen/SsdForm.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/SourceMgr.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <set>

using namespace mamba2;
using namespace mamba2::codegen::test;

namespace {
const char *const names[] = {"ctrl", "load", "store", "matrix", "vector", "ssm"};

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The calls `entries` (one each) in the simulator's timing mode (a timing-only device: no copy
/// of the constants): cycles, unit counters, DRAM bytes and the bandwidth bound, and the wall
/// seconds of loading the device and of simulating each call; with `promptTokens`, the calls of
/// a prompt that long.
int timeEntries(const isa::Program &program, const target::Board &b,
                const std::vector<std::string> &entries, unsigned promptTokens,
                const std::string &traceTsv) {
  const target::Board *board = &b;
  const isa::Program *prog = &program;
  // Each entry's semaphore map (the container's Symbol.channels) and the ctrl.sync bundles it
  // holds (barriers; a loop body's counted once).
  for (const isa::Symbol &s : prog->symbols) {
    if (s.kind != isa::Symbol::Kind::Entry)
      continue;
    std::set<unsigned> sems;
    for (const isa::SemChannel &c : s.channels)
      sems.insert(c.sem);
    size_t syncs = 0;
    for (size_t i = s.bundle, end = isa::entryEnd(prog->bundles, s.bundle); i < end; ++i)
      syncs += prog->bundles[i][isa::Slot::Ctrl].raw(isa::field::none::op) == isa::op::ctrl::sync;
    std::cout << "entry " << s.name << ": " << s.channels.size() << " channels on " << sems.size()
              << " of " << isa::kNumSems << " semaphores, " << syncs << " ctrl.sync bundles\n";
  }
  auto t0 = std::chrono::steady_clock::now();
  auto dev = runtime::makeSimulatorDevice(*board, {/*timingOnly=*/true});
  if (std::string e = dev->load(*prog); !e.empty()) {
    std::cerr << e << "\n";
    return 1;
  }
  std::cout << "  device load: " << secondsSince(t0) << " s\n";
  for (const std::string &entry : entries) {
    runtime::RunOptions ro;
    ro.mode = runtime::RunMode::Timing;
    ro.trace = !traceTsv.empty();
    auto rep = dev->run(entry, ro);
    if (!rep.error.empty()) {
      std::cerr << entry << ": " << rep.error << "\n";
      return 1;
    }
    if (ro.trace) { // unit activity of the call: unit, start, end, bundle, op; one a line
      std::ofstream os(traceTsv + "." + entry);
      for (const auto &e : rep.counters.trace)
        os << names[e.unit] << "\t" << e.start << "\t" << e.end << "\t" << e.bundle << "\t"
           << e.name << "\n";
    }
    std::cout << "  " << entry << ": " << rep.counters.cycles << " cycles";
    for (unsigned u = 1; u < isa::kNumSlots; ++u)
      std::cout << ", " << names[u] << " busy " << rep.counters.units[u].busy;
    std::cout << "\n    stalled on memory:";
    for (unsigned u = 1; u < isa::kNumSlots; ++u)
      std::cout << (u > 1 ? ", " : " ") << names[u] << " " << rep.counters.units[u].stallMemory;
    std::cout << "; on tokens:";
    for (unsigned u = 1; u < isa::kNumSlots; ++u)
      std::cout << (u > 1 ? ", " : " ") << names[u] << " " << rep.counters.units[u].stallToken;
    const uint64_t bytes = rep.counters.units[1].bytes + rep.counters.units[2].bytes;
    const double bound = double(bytes) / board->dramBytesPerCycle();
    std::cout << "\n    DRAM bytes " << bytes << " (load " << rep.counters.units[1].bytes
              << ", store " << rep.counters.units[2].bytes << "): bandwidth bound "
              << uint64_t(bound) << " cycles at " << board->streamGBps()
              << " GB/s = " << int(100 * bound / double(rep.counters.cycles) + 0.5)
              << " % of it reached; " << rep.counters.cycles / board->clockMhz << " us at "
              << board->clockMhz << " MHz; simulated in " << rep.wallSeconds << " s\n";
  }
  if (promptTokens == 0)
    return 0;
  // A prompt as the runtime runs it (runtime/Session, Harness.h promptCalls): whole t_block
  // calls of `prefill`, the remainder one `decode` call per token. Every call is simulated.
  int32_t tBlock = 0;
  std::memcpy(&tBlock, prog->regions[0].init.data() + prog->tensor("model")->offset + 12, 4);
  const unsigned full = promptTokens / unsigned(tBlock), rest = promptTokens % unsigned(tBlock);
  uint64_t cycles = 0, busy[isa::kNumSlots] = {};
  for (unsigned c = 0; c < full + rest; ++c) {
    runtime::RunOptions ro;
    ro.mode = runtime::RunMode::Timing;
    auto rep = dev->run(c < full ? "prefill" : "decode", ro);
    if (!rep.error.empty()) {
      std::cerr << "prompt call " << c << ": " << rep.error << "\n";
      return 1;
    }
    cycles += rep.counters.cycles;
    for (unsigned u = 1; u < isa::kNumSlots; ++u)
      busy[u] += rep.counters.units[u].busy;
  }
  std::cout << "  prompt of " << promptTokens << " tokens: " << full << " prefill calls of "
            << tBlock << " rows + " << rest << " decode calls: " << cycles << " cycles ("
            << double(cycles) / board->clockMhz / 1e3 << " ms at " << board->clockMhz << " MHz)";
  for (unsigned u = 1; u < isa::kNumSlots; ++u)
    std::cout << ", " << names[u] << " busy " << busy[u] << " ("
              << int(1000.0 * double(busy[u]) / double(cycles) + 0.5) / 10.0 << " %)";
  std::cout << "\n";
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-codegen-check: emitted program against the ovl evaluator"};
  std::string model, targetName = "kv260", text;
  unsigned tBlock = 32, prompt = 64, decode = 8;
  bool cycle = true, timing = false;
  app.add_option("model", model, "ovl module (.mlir)")->required();
  app.add_option("--target", targetName, "board");
  app.add_option("--t-block", tBlock, "rows of a prefill call");
  app.add_option("--prompt", prompt, "prompt bytes (ids) before the decode steps");
  app.add_option("--decode", decode, "decode steps after the prompt");
  app.add_option("--text", text, "file whose bytes are the ids (default: a fixed sentence)");
  unsigned maxWeightBuffers = codegen::EmitOptions{}.maxWeightBuffers;
  app.add_option("--max-weight-buffers", maxWeightBuffers,
                 "weight tile buffers an entry's ring may grow to (2: fixed double buffering)");
  app.add_flag("!--no-cycle", cycle, "skip the cycle simulator");
  app.add_flag("--timing", timing,
               "cycles only: one prefill and one decode call in the simulator's timing mode "
               "(no evaluator, no values)");
  unsigned promptTokens = 0;
  app.add_option("--prompt-tokens", promptTokens,
                 "with --timing: also the calls of a prompt of N tokens as the runtime runs it "
                 "(N / t_block prefill calls, the rest decode calls), total cycles and unit busy");
  std::vector<std::string> timedCalls{"prefill", "decode"};
  app.add_option("--calls", timedCalls,
                 "with --timing: the entries to time, one call each (default prefill,decode)")
      ->delimiter(',');
  std::string traceTsv;
  app.add_option("--trace-tsv", traceTsv,
                 "with --timing: write each call's unit activity to PREFIX.prefill / .decode");
  std::string rowBlocksText = "auto";
  app.add_option("--row-blocks", rowBlocksText,
                 "the prefill's layers in N blocks of rows (1..64; auto: the cost model's choice)")
      ->check([](const std::string &text) {
        unsigned n;
        std::string why;
        return codegen::parseRowBlocks(text, n, why) ? std::string() : why;
      });
  bool noLayerLoop = false;
  app.add_flag("--no-layer-loop", noLayerLoop, "every layer unrolled (no hardware loop)");
  unsigned semaphores = isa::kNumSems;
  app.add_option("--semaphores", semaphores,
                 "semaphores an entry may use (fewer than 16 exercises the sharing and ctrl.sync "
                 "paths)");
  bool noPipelineLoads = false;
  app.add_flag(
      "--no-pipeline-loads", noPipelineLoads,
      "layer loops without software pipelining of the weight stream: the ring restarts "
      "at each layer's first tile, one DMA per constant (docs/codegen.md \"Layer loops\")");
  bool noSharedSems = false;
  app.add_flag("--no-shared-semaphores", noSharedSems,
               "no two channels share a semaphore (the rest go through ctrl.sync)");
  bool requireUreg = false;
  app.add_flag("--require-layer-ureg", requireUreg,
               "fail unless every entry loops over layers whose micro-op immediates differ "
               "(runs with ureg); an entry in row blocks has no layer loop and is not checked");
  bool requireAllLayers = false;
  app.add_flag("--require-all-layers-looped", requireAllLayers,
               "fail unless every entry's layer loop covers all the model's layers (iterations "
               "x layers per iteration = layers); an entry in row blocks is not checked");
  bool ssdEstimate = false;
  app.add_flag("--ssd-form-estimate", ssdEstimate,
               "also print the SSD form cost model's estimate of a prefill call of --t-block rows "
               "(codegen::chooseSsdForm on the module's @main, whose scans it costs)");
  CLI11_PARSE(app, argc, argv);
  const target::Board *board = target::findBoard(targetName);
  if (!board) {
    std::cerr << "unknown target " << targetName << "\n";
    return 2;
  }
  if (model.size() > 4 && model.substr(model.size() - 4) == ".m2b") {
    // A compiled program (e.g. a full-size model from mamba2c -o): timing only.
    // Timing needs no region bytes, except the model header's t_block for --prompt-tokens.
    auto t0 = std::chrono::steady_clock::now();
    runtime::LoadOptions lo;
    lo.regionData = promptTokens != 0;
    auto loaded = runtime::loadContainerFile(model, lo);
    if (!loaded.ok()) {
      std::cerr << model << ": " << loaded.error << "\n";
      return 1;
    }
    std::cout << model << ": read and validated in " << secondsSince(t0) << " s\n";
    board = loaded.board;
    return timeEntries(loaded.program, *board, timedCalls, promptTokens, traceTsv);
  }
  ParsedFile parsed = parseFile(model);
  if (!parsed.module)
    return 2;
  auto fn = parsed.module->lookupSymbol<mlir::func::FuncOp>("main");
  if (ssdEstimate)
    std::cout << "ssd form estimate (" << tBlock << " rows): "
              << codegen::describeSsdFormChoice(codegen::chooseSsdForm(fn, *board, tBlock)) << "\n";
  codegen::EmitOptions opt;
  opt.tBlock = tBlock;
  opt.maxWeightBuffers = maxWeightBuffers;
  opt.layerLoop = !noLayerLoop;
  opt.shareSemaphores = !noSharedSems;
  opt.pipelineLoads = !noPipelineLoads;
  opt.semaphores = semaphores;
  std::string why; // checked by the option
  codegen::parseRowBlocks(rowBlocksText, opt.prefillRowBlocks, why);
  codegen::EmitStats st;
  auto prog = codegen::emitProgram(fn, *board, opt, &st);
  if (!prog) {
    std::cerr << "emit: " << llvm::toString(prog.takeError()) << "\n";
    return 1;
  }
  std::cout << "program (" << board->name << "): " << prog->bundles.size() << " bundles, "
            << st.ucodeWords << " microcode words, " << st.semaphores << " semaphores; const "
            << st.constBytes << " B (weights " << st.weightBytes << " B), state " << st.stateBytes
            << " B, " << st.layers << " layers\n";
  for (const auto &e : st.entries)
    std::cout << "  " << e.name << " (" << e.rows << " rows): " << e.bundles << " bundles, "
              << e.instructions << " instructions (" << e.fences << " fences, " << e.syncs
              << " ctrl.sync), " << e.semaphores << " semaphores, scratchpad " << e.spadPeak
              << " B, " << e.ringBuffers << " weight buffers"
              << (e.rowBlocks > 1 ? ", " + std::to_string(e.rowBlocks) + " row blocks" : "")
              << (e.function != "main" ? ", lowers @" + e.function : "") << "\n";
  for (const std::string &n : st.notes)
    std::cout << "  " << n << "\n";
  if (requireUreg)
    for (const auto &e : st.entries)
      if (e.rowBlocks <= 1 && (e.loopCount < 2 || e.loopUopWords == 0)) {
        std::cerr << "entry " << e.name << ": no layer loop over layers whose micro-ops differ ("
                  << e.loopCount << " iterations, " << e.loopUopWords
                  << " per-iteration micro-op words)\n";
        return 1;
      }
  if (requireAllLayers)
    for (const auto &e : st.entries)
      if (e.rowBlocks <= 1 && e.loopCount * e.loopLayers != st.layers) {
        std::cerr << "entry " << e.name << ": the layer loop covers " << e.loopCount << " x "
                  << e.loopLayers << " of the model's " << st.layers << " layers\n";
        return 1;
      }
  int32_t vocab;
  std::memcpy(&vocab, prog->regions[0].init.data() + prog->tensor("model")->offset + 8, 4);

  if (timing)
    return timeEntries(*prog, *board, timedCalls, promptTokens, traceTsv);

  std::string sentence = kSentence;
  if (!text.empty()) {
    auto buf = llvm::MemoryBuffer::getFile(text);
    if (!buf) {
      std::cerr << text << ": cannot read\n";
      return 2;
    }
    sentence = (*buf)->getBuffer().str();
  }
  const std::vector<int32_t> ids = textIds(prompt + decode, vocab, sentence);
  std::vector<int32_t> pre(ids.begin(), ids.begin() + prompt), dec(ids.begin() + prompt, ids.end());
  auto calls = promptCalls(pre, tBlock, dec);
  Outcome want = runEvaluator(*parsed.module, calls);
  int status = 0;
  for (int c = 0; c < (cycle ? 2 : 1); ++c) {
    Outcome got = runProgram(*prog, *board, c == 1, calls, vocab);
    std::string diff = compare(want, got);
    std::cout << (c ? "cycle simulator" : "functional") << ": " << calls.size() << " calls ("
              << prompt << " prompt ids, " << decode << " decode steps): "
              << (diff.empty() ? "logits and states equal the evaluator's bit for bit"
                               : "MISMATCH: " + diff)
              << "\n";
    if (!diff.empty())
      status = 1;
    if (c == 1)
      std::cout << "  last decode call: " << got.cycles << " cycles\n";
  }
  return status;
}
