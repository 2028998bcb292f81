// mamba2-run: loads a .m2b program onto a device (overlay simulator or an FPGA through XRT),
// runs an entry point, and prints / saves tensors, counters and a timeline.
#include "mamba2/runtime/Device.h"
#include "mamba2/runtime/Report.h"
#include "mamba2/runtime/Session.h"
#include "mamba2/runtime/TensorText.h"
#include "mamba2/runtime/Tokenizer.h"
#include "mamba2/runtime/Trace.h"

#include <CLI/CLI.hpp>

#include "mamba2/target/Board.h"

#include <cstdio>

using namespace mamba2;

static int fail(const std::string &msg) {
  std::fprintf(stderr, "mamba2-run: error: %s\n", msg.c_str());
  return 1;
}

static bool splitAssign(const std::string &s, std::string &name, std::string &path) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
    return false;
  name = s.substr(0, eq);
  path = s.substr(eq + 1);
  return true;
}

// The calls' counters after a session: per-unit table, trace, performance summary.
static int finishSession(const runtime::Session &session, const target::Board &board,
                         runtime::RunMode mode, bool stats, const std::string &traceFile) {
  const runtime::RunCounters all = runtime::joinCalls(session.calls());
  if (stats)
    std::printf("%s", runtime::statsTable(all, board).c_str());
  std::printf(
      "%s",
      runtime::performanceSummary(session.calls(), session.model().tBlock, board, mode).c_str());
  if (!traceFile.empty()) {
    std::string j = runtime::chromeTraceJson(all, board);
    std::string err = runtime::writeFile(traceFile, std::vector<uint8_t>(j.begin(), j.end()));
    if (!err.empty())
      return fail(err);
  }
  return 0;
}

int main(int argc, char **argv) {
  CLI::App app{"Run a Mamba2 overlay program: an entry point, or a compiled model (--prompt, "
               "--eval) through the session ABI of docs/runtime.md"};
  std::string input, entry = "main", device = "sim", mode = "functional", traceFile, xclbin;
  std::vector<std::string> inputs, outputs, prints;
  bool stats = false;
  unsigned xrtIndex = 0;
  uint64_t maxBundles = uint64_t(1) << 32;
  std::string prompt, tokenizerSpec = "bytes", targetName, evalFile;
  unsigned genTokens = 0;
  size_t maxPrompt = 4096;
  uint64_t evalBytes = 0;
  runtime::SamplerConfig sc;
  app.add_option("program", input, "program file (.m2b)")->required();
  app.add_option("--entry", entry, "entry point to run");
  app.add_option("--target", targetName,
                 "board the program must be built for (refused otherwise); default: the file's")
      ->check(CLI::IsMember(mamba2::target::boardNameList()));
  app.add_option("--device", device, "sim (overlay C simulation) or xrt (FPGA board)")
      ->check(CLI::IsMember({"sim", "xrt"}));
  app.add_option("--mode", mode,
                 "simulator mode: functional (serial, fast), cycle (decoupled units, counters) or "
                 "timing (cycle counters only, no values)")
      ->check(CLI::IsMember({"functional", "cycle", "timing"}));
  app.add_option("--input", inputs, "NAME=FILE: raw bytes into tensor NAME before the run");
  app.add_option("--output", outputs, "NAME=FILE: raw bytes of tensor NAME after the run");
  app.add_option("--print", prints, "print tensor NAME after the run");
  app.add_flag("--stats", stats, "print per-unit counters");
  app.add_option("--trace", traceFile,
                 "write a Chrome trace / Perfetto JSON timeline (needs --mode cycle or timing)");
  app.add_option("--xclbin", xclbin, "bitstream for --device xrt");
  app.add_option("--xrt-index", xrtIndex, "XRT device index");
  app.add_option("--max-bundles", maxBundles, "stop with an error after this many bundles");
  app.add_option("--prompt", prompt,
                 "generate: prompt text, encoded by --tokenizer, run by entries `prefill` and "
                 "`decode` (session ABI)");
  app.add_option("--tokenizer", tokenizerSpec,
                 "bytes (default: one id per byte) or a Hugging Face tokenizer.json "
                 "(byte-level BPE)");
  app.add_option("-n,--tokens", genTokens, "generate: number of tokens to sample after the prompt");
  app.add_option("--max-prompt", maxPrompt,
                 "longest prompt (or --eval text) in tokens; longer is an error (0: no limit)");
  app.add_option("--eval", evalFile,
                 "bits per byte and perplexity of the file's text from the overlay's logits");
  app.add_option("--eval-bytes", evalBytes, "--eval: only the file's first N bytes (0: all)");
  app.add_option("--temperature", sc.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", sc.topK, "sample among the k largest logits (0: all)");
  app.add_option("--top-p", sc.topP, "nucleus sampling threshold");
  app.add_option("--seed", sc.seed, "sampling seed");
  CLI11_PARSE(app, argc, argv);

  if (!traceFile.empty() && mode == "functional")
    return fail("--trace needs --mode cycle or timing (a functional run has no timeline)");
  if (device == "xrt" && xclbin.empty())
    return fail("--device xrt needs --xclbin FILE");
  const bool generating = !prompt.empty() || genTokens, evaluating = !evalFile.empty();
  if (generating && evaluating)
    return fail("--eval and --prompt/--tokens: one at a time");
  if (evaluating && mode == "timing")
    return fail("--eval needs values: timing mode computes none (use --mode functional or "
                "cycle)");
  if (evalBytes && !evaluating)
    return fail("--eval-bytes needs --eval FILE");
  std::string err;
  std::unique_ptr<runtime::Tokenizer> tokenizer;
  std::vector<int32_t> promptIds;
  if (generating || evaluating) {
    if (!(tokenizer = runtime::makeTokenizer(tokenizerSpec, err)))
      return fail("--tokenizer: " + err);
    if (generating && !(err = tokenizer->encode(prompt, promptIds)).empty())
      return fail("--prompt: " + err);
  }
  std::string evalText;
  if (evaluating) {
    std::vector<uint8_t> bytes;
    if (!(err = runtime::readFile(evalFile, bytes)).empty())
      return fail("--eval: " + err);
    if (evalBytes && evalBytes < bytes.size())
      bytes.resize(evalBytes);
    evalText.assign(bytes.begin(), bytes.end());
    if (!(err = tokenizer->encode(evalText, promptIds)).empty())
      return fail("--eval " + evalFile + ": " + err);
    if (promptIds.size() < 2)
      return fail("--eval " + evalFile + ": " + std::to_string(promptIds.size()) +
                  " tokens; scoring needs at least 2");
  }

  runtime::LoadOptions lo;
  if (!targetName.empty())
    lo.board = target::findBoard(targetName);
  runtime::LoadResult lr = runtime::loadContainerFile(input, lo);
  if (!lr.ok())
    return fail(lr.error);
  std::unique_ptr<runtime::Device> dev;
  if (device == "sim") {
    dev = runtime::makeSimulatorDevice(*lr.board);
  } else {
    dev = runtime::makeXrtDevice(*lr.board, xclbin, xrtIndex, err);
    if (!dev)
      return fail(err);
  }
  err = dev->load(lr.program);
  if (!err.empty())
    return fail(err);
  for (const std::string &in : inputs) {
    std::string name, path;
    if (!splitAssign(in, name, path))
      return fail("--input '" + in + "' is not NAME=FILE");
    std::vector<uint8_t> bytes;
    if (!(err = runtime::readFile(path, bytes)).empty() ||
        !(err = dev->writeTensor(name, bytes)).empty())
      return fail("--input " + in + ": " + err);
  }
  runtime::RunOptions opt;
  opt.mode = mode == "cycle"    ? runtime::RunMode::Cycle
             : mode == "timing" ? runtime::RunMode::Timing
                                : runtime::RunMode::Functional;
  opt.trace = !traceFile.empty();
  opt.maxBundles = maxBundles;
  if (generating || evaluating) {
    runtime::SessionConfig cfg;
    cfg.run = opt;
    cfg.maxPromptTokens = maxPrompt;
    runtime::Session session(*dev, lr.program, cfg);
    if (!(err = session.open()).empty())
      return fail(input + ": " + err);
    if (evaluating) {
      // Each position's logits are scored as they come: position i predicts token i + 1.
      const size_t vocab = size_t(session.model().vocab);
      if (tokenizer->describe() == "bytes" && vocab != 256)
        return fail(input + ": --eval: the program's vocabulary is " + std::to_string(vocab) +
                    " ids, not 256 bytes: a token model reads tokens, not bytes (--tokenizer "
                    "tokenizer.json, the model's Hugging Face tokenizer)");
      runtime::TextScorer scorer(vocab, session.model().logitFrac);
      scorer.first();
      std::string piece;
      auto score = [&](size_t i, const int32_t *q) -> std::string {
        if (i + 1 == promptIds.size())
          return "";
        const int32_t next = promptIds[i + 1];
        std::string e = tokenizer->decode({next}, piece);
        if (!e.empty())
          return e;
        if (next < 0 || next >= int32_t(vocab)) // never read outside q
          return "token id " + std::to_string(next) + " at position " + std::to_string(i + 1) +
                 " is outside the vocabulary 0.." + std::to_string(vocab - 1);
        scorer.add(q, size_t(next), piece.size());
        return "";
      };
      if (!(err = session.reset()).empty() || !(err = session.prefill(promptIds, score)).empty())
        return fail(input + ": --eval " + evalFile + ": " + err +
                    (err.find("configured maximum") != std::string::npos
                         ? " (--max-prompt; --eval-bytes cuts the file)"
                         : ""));
      const runtime::TextScore &ts = scorer.score();
      std::printf("eval: %s: %zu bytes, %llu tokens, %llu predicted (%llu bytes)\n",
                  evalFile.c_str(), evalText.size(), (unsigned long long)ts.tokens,
                  (unsigned long long)ts.predictions, (unsigned long long)ts.bytes);
      std::printf("eval: %.6f bits, %.6f bits per byte, perplexity %.4f per token\n", ts.bits,
                  ts.bitsPerByte(), ts.perplexity());
      return finishSession(session, *lr.board, opt.mode, stats, traceFile);
    }
    std::vector<int32_t> out;
    try {
      runtime::Sampler sampler(sc);
      if (!(err = session.generate(promptIds, genTokens, sampler, out)).empty())
        return fail(input + ": " + err +
                    (err.find("configured maximum") != std::string::npos ? " (--max-prompt)" : ""));
    } catch (const std::invalid_argument &e) {
      return fail(e.what());
    }
    std::printf("prompt tokens:");
    for (int32_t t : promptIds)
      std::printf(" %d", t);
    if (opt.mode == runtime::RunMode::Timing) {
      std::printf("\ntiming mode: values are not computed (no tokens, no text); %u decode steps "
                  "timed\n",
                  genTokens ? genTokens - 1 : 0);
    } else {
      std::printf("\ntokens:");
      for (int32_t t : out)
        std::printf(" %d", t);
      std::string text;
      if ((err = tokenizer->decode(out, text)).empty()) {
        std::printf("\ntext: ");
        std::fwrite(text.data(), 1, text.size(), stdout); // bytes as they are, NUL included
      } else
        std::printf("\ntext: (none: %s)", err.c_str());
      std::printf("\n");
    }
    return finishSession(session, *lr.board, opt.mode, stats, traceFile);
  }
  runtime::RunReport rep = dev->run(entry, opt);
  if (!rep.error.empty())
    return fail(input + ": entry '" + entry + "': " + rep.error);
  for (const std::string &name : prints) {
    std::vector<uint8_t> bytes;
    if (!(err = dev->readTensor(name, bytes)).empty())
      return fail("--print " + name + ": " + err);
    std::printf("%s\n", runtime::formatTensor(*lr.program.tensor(name), bytes).c_str());
  }
  for (const std::string &out : outputs) {
    std::string name, path;
    if (!splitAssign(out, name, path))
      return fail("--output '" + out + "' is not NAME=FILE");
    std::vector<uint8_t> bytes;
    if (!(err = dev->readTensor(name, bytes)).empty() ||
        !(err = runtime::writeFile(path, bytes)).empty())
      return fail("--output " + out + ": " + err);
  }
  if (stats && device == "sim")
    std::printf("%s", runtime::statsTable(rep.counters, *lr.board).c_str());
  if (!traceFile.empty()) {
    err = runtime::writeFile(traceFile, [&] {
      std::string j = runtime::chromeTraceJson(rep.counters, *lr.board);
      return std::vector<uint8_t>(j.begin(), j.end());
    }());
    if (!err.empty())
      return fail(err);
  }
  return 0;
}
