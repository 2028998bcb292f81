#include "mamba2/runtime/Tokenizer.h"

namespace mamba2::runtime {

std::vector<int32_t> byteEncode(const std::string &text) {
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i)
    ids[i] = int32_t(static_cast<unsigned char>(text[i]));
  return ids;
}

std::string byteDecode(const std::vector<int32_t> &ids, std::string &text) {
  text.clear();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] > 255)
      return "token " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
             " is outside the byte vocabulary (0..255)";
    text += char(static_cast<unsigned char>(ids[i]));
  }
  return "";
}

namespace {

class ByteTokenizer final : public Tokenizer {
public:
  std::string describe() const override { return "bytes"; }
  size_t vocabSize() const override { return 256; }
  std::string encode(std::string_view text, std::vector<int32_t> &ids) const override {
    ids = byteEncode(std::string(text));
    return "";
  }
  std::string decode(const std::vector<int32_t> &ids, std::string &text) const override {
    return byteDecode(ids, text);
  }
  int32_t tokenId(std::string_view token) const override {
    return token.size() == 1 ? int32_t(static_cast<unsigned char>(token[0])) : -1;
  }
};

} // namespace

std::unique_ptr<Tokenizer> makeByteTokenizer() { return std::make_unique<ByteTokenizer>(); }

std::unique_ptr<Tokenizer> makeTokenizer(const std::string &spec, std::string &error) {
  if (spec.empty() || spec == "bytes")
    return makeByteTokenizer();
  return loadHfTokenizer(spec, error);
}

} // namespace mamba2::runtime
