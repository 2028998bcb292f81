// mamba2-tokenize: text <-> token ids with the byte tokenizer or a Hugging Face tokenizer.json.
//   mamba2-tokenize --tokenizer FILE TEXTFILE             ids of the whole file, one line
//   mamba2-tokenize --tokenizer FILE TEXTFILE --lines K   ids of every K-th line (its line end
//                                                         included), one output line each
//   mamba2-tokenize --tokenizer FILE IDSFILE --decode     the text of whitespace-separated ids
//   mamba2-tokenize --tokenizer FILE TEXTFILE --roundtrip encode, decode, compare with the
//                                                         file; prints counts and tokens/s
#include "mamba2/runtime/TensorText.h"
#include "mamba2/runtime/Tokenizer.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>

using namespace mamba2;

static int fail(const std::string &msg) {
  std::fprintf(stderr, "mamba2-tokenize: error: %s\n", msg.c_str());
  return 1;
}

static void printIds(const std::vector<int32_t> &ids) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i)
      line += ' ';
    line += std::to_string(ids[i]);
  }
  line += '\n';
  std::fputs(line.c_str(), stdout);
}

int main(int argc, char **argv) {
  CLI::App app{"Encode text to token ids or decode ids to text"};
  std::string input, spec = "bytes";
  unsigned every = 0;
  bool decode = false, roundtrip = false;
  app.add_option("input", input, "text file (ids with --decode)")->required();
  app.add_option("--tokenizer", spec, "bytes (default) or a Hugging Face tokenizer.json");
  app.add_option("--lines", every, "encode every K-th line separately (K >= 1)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--decode", decode, "the input is ids; print their text");
  app.add_flag("--roundtrip", roundtrip,
               "encode the file, decode the ids, require the same bytes; print tokens/s");
  CLI11_PARSE(app, argc, argv);

  std::string err;
  std::unique_ptr<runtime::Tokenizer> tok = runtime::makeTokenizer(spec, err);
  if (!tok)
    return fail(err);
  std::vector<uint8_t> bytes;
  if (!(err = runtime::readFile(input, bytes)).empty())
    return fail(err);
  std::string text(bytes.begin(), bytes.end());
  std::vector<int32_t> ids;

  if (decode) {
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(word, &used);
      } catch (const std::exception &) {
      }
      if (used != word.size() || v < INT32_MIN || v > INT32_MAX)
        return fail(input + ": '" + word + "' is not a token id");
      ids.push_back(int32_t(v));
    }
    std::string out;
    if (!(err = tok->decode(ids, out)).empty())
      return fail(input + ": " + err);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  if (every) {
    size_t lineNo = 0;
    for (size_t at = 0; at < text.size(); ++lineNo) {
      size_t nl = text.find('\n', at);
      size_t end = nl == std::string::npos ? text.size() : nl + 1;
      if (lineNo % every == 0) {
        if (!(err = tok->encode(std::string_view(text).substr(at, end - at), ids)).empty())
          return fail(input + ": line " + std::to_string(lineNo + 1) + ": " + err);
        printIds(ids);
      }
      at = end;
    }
    return 0;
  }
  auto t0 = std::chrono::steady_clock::now();
  if (!(err = tok->encode(text, ids)).empty())
    return fail(input + ": " + err);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!roundtrip) {
    printIds(ids);
    return 0;
  }
  std::string back;
  if (!(err = tok->decode(ids, back)).empty())
    return fail(input + ": decoding the ids: " + err);
  if (back != text) {
    size_t i = 0;
    while (i < back.size() && i < text.size() && back[i] == text[i])
      ++i;
    return fail(input + ": decode(encode(text)) differs from the text at byte " +
                std::to_string(i));
  }
  std::printf("%s: %zu bytes -> %zu tokens (%.3f bytes/token); decode(encode(text)) == text; "
              "encode %.3f s, %.0f tokens/s\n",
              input.c_str(), text.size(), ids.size(), double(text.size()) / double(ids.size()),
              secs, double(ids.size()) / secs);
  return 0;
}
