// Tokenizer benchmark: loads each tokenizer, encodes a text file whole and decodes the ids, and
// prints a table: load time, tokens, bytes per token, encode and decode time, tokens/s, MB/s.
// The encode runs `--repeat` times; the table shows the fastest. Data beside the project
// (../shared/data) by default; a missing file is reported and its row skipped.
//   mamba2-bench-tokenizer [--text FILE] [--tokenizer bytes|FILE ...] [--repeat N]
#include "mamba2/runtime/TensorText.h"
#include "mamba2/runtime/Tokenizer.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

using namespace mamba2;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Tokenizer throughput"};
  std::string data = std::string(MAMBA2_SOURCE_DIR) + "/../shared/data";
  std::string textPath = data + "/wikitext-2-raw-test.txt";
  std::vector<std::string> specs = {"bytes", data + "/gpt-neox-20b-tokenizer.json"};
  unsigned repeat = 3;
  app.add_option("--text", textPath, "text file to encode");
  app.add_option("--tokenizer", specs, "bytes or a tokenizer.json (repeatable)");
  app.add_option("--repeat", repeat, "encodes per tokenizer (the fastest is shown)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::vector<uint8_t> bytes;
  std::string err = runtime::readFile(textPath, bytes);
  if (!err.empty()) {
    std::printf("skipped: %s\n", err.c_str());
    return 0;
  }
  std::string text(bytes.begin(), bytes.end());
  std::printf("text: %s (%zu bytes)\n\n", textPath.c_str(), text.size());
  std::printf("| tokenizer | load s | tokens | bytes/token | encode s | tokens/s | MB/s | decode s "
              "| round trip |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string &spec : specs) {
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<runtime::Tokenizer> tok = runtime::makeTokenizer(spec, err);
    double load = since(t0);
    if (!tok) {
      std::printf("| %s | skipped: %s |\n", spec.c_str(), err.c_str());
      continue;
    }
    std::vector<int32_t> ids;
    double enc = 1e30;
    for (unsigned r = 0; r < repeat; ++r) {
      t0 = std::chrono::steady_clock::now();
      err = tok->encode(text, ids);
      enc = std::min(enc, since(t0));
      if (!err.empty())
        break;
    }
    if (!err.empty()) {
      std::printf("| %s | encode failed: %s |\n", spec.c_str(), err.c_str());
      continue;
    }
    std::string back;
    t0 = std::chrono::steady_clock::now();
    err = tok->decode(ids, back);
    double dec = since(t0);
    std::string name = spec.substr(spec.find_last_of('/') + 1);
    std::printf("| %s | %.3f | %zu | %.3f | %.3f | %.0f | %.2f | %.4f | %s |\n", name.c_str(), load,
                ids.size(), double(text.size()) / double(ids.size()), enc, double(ids.size()) / enc,
                double(text.size()) / enc / 1e6, dec,
                err.empty() && back == text ? "identical" : "DIFFERS");
  }
  return 0;
}
