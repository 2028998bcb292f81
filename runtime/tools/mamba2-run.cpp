// mamba2-run: loads a .m2b program onto a device (overlay simulator or an FPGA through XRT),
// runs an entry point, and prints / saves tensors, counters and a timeline.
#include "mamba2/runtime/Device.h"
#include "mamba2/runtime/Session.h"
#include "mamba2/runtime/TensorText.h"
#include "mamba2/runtime/Tokenizer.h"
#include "mamba2/runtime/Trace.h"

#include <CLI/CLI.hpp>

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

int main(int argc, char **argv) {
  CLI::App app{"Run a Mamba2 overlay program"};
  std::string input, entry = "main", device = "sim", mode = "functional", traceFile, xclbin;
  std::vector<std::string> inputs, outputs, prints;
  bool stats = false;
  unsigned xrtIndex = 0;
  uint64_t maxBundles = uint64_t(1) << 32;
  std::string prompt, tokenizerSpec = "bytes";
  unsigned genTokens = 0;
  runtime::SamplerConfig sc;
  float logitScale = 1.0f;
  app.add_option("program", input, "program file (.m2b)")->required();
  app.add_option("--entry", entry, "entry point to run");
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
                 "generate: prompt text, encoded by --tokenizer and fed through entry `decode` "
                 "(Session ABI)");
  app.add_option("--tokenizer", tokenizerSpec,
                 "generate: bytes (default: one id per byte) or a Hugging Face tokenizer.json "
                 "(byte-level BPE)");
  app.add_option("--tokens", genTokens, "generate: number of tokens to sample after the prompt");
  app.add_option("--temperature", sc.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", sc.topK, "sample among the k largest logits (0: all)");
  app.add_option("--top-p", sc.topP, "nucleus sampling threshold");
  app.add_option("--seed", sc.seed, "sampling seed");
  app.add_option("--logit-scale", logitScale, "real logit = int32 logit * scale");
  CLI11_PARSE(app, argc, argv);

  if (!traceFile.empty() && mode == "functional")
    return fail("--trace needs --mode cycle or timing (a functional run has no timeline)");
  if (device == "xrt" && xclbin.empty())
    return fail("--device xrt needs --xclbin FILE");
  std::string err;
  std::unique_ptr<runtime::Tokenizer> tokenizer;
  std::vector<int32_t> promptIds;
  if (!prompt.empty() || genTokens) {
    if (!(tokenizer = runtime::makeTokenizer(tokenizerSpec, err)))
      return fail("--tokenizer: " + err);
    if (!(err = tokenizer->encode(prompt, promptIds)).empty())
      return fail("--prompt: " + err);
  }

  runtime::LoadResult lr = runtime::loadContainerFile(input);
  if (!lr.ok())
    return fail(lr.error);
  std::unique_ptr<runtime::Device> dev;
  if (device == "sim") {
    dev = runtime::makeSimulatorDevice(*lr.board);
  } else {
    std::string err;
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
  if (!prompt.empty() || genTokens) {
    runtime::SessionConfig cfg;
    cfg.run = opt;
    cfg.logitScale = logitScale;
    runtime::Session session(*dev, lr.program, cfg);
    std::vector<int32_t> out;
    try {
      runtime::Sampler sampler(sc);
      if (!(err = session.generate(promptIds, genTokens, sampler, out)).empty())
        return fail(input + ": " + err);
    } catch (const std::invalid_argument &e) {
      return fail(e.what());
    }
    std::printf("prompt tokens:");
    for (int32_t t : promptIds)
      std::printf(" %d", t);
    std::printf("\ntokens:");
    for (int32_t t : out)
      std::printf(" %d", t);
    std::string text;
    if ((err = tokenizer->decode(out, text)).empty())
      std::printf("\ntext: %s", text.c_str());
    else
      std::printf("\ntext: (none: %s)", err.c_str());
    std::printf("\n");
    return 0;
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
