// Text <-> token ids behind one interface. Two tokenizers:
//   bytes  built in: every byte is its own id (0..255), the vocabulary of the default model
//          (models/mamba2ref/train.py)
//   BPE    a Hugging Face `tokenizer.json` with a byte-level BPE model (GPT-2, GPT-NeoX: the
//          Mamba2 family's tokenizer): NFC normalizer, ByteLevel pre-tokenizer (GPT-2 split
//          pattern) and Split steps (regexes), merges applied by rank, added / special tokens,
//          ByteLevel decoder (docs/runtime.md).
// Ids are int32 because the device's `token` tensor is (Session.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2::runtime {

class Tokenizer {
public:
  virtual ~Tokenizer() = default;
  /// "bytes", or "bpe" and the file it was read from.
  virtual std::string describe() const = 0;
  /// Ids are 0 .. vocabSize() - 1 (the largest id + 1; a BPE vocabulary may have gaps).
  virtual size_t vocabSize() const = 0;
  /// Empty on success; else what is wrong with `text` and at which byte (a BPE tokenizer needs
  /// UTF-8).
  virtual std::string encode(std::string_view text, std::vector<int32_t> &ids) const = 0;
  /// The bytes the ids stand for, concatenated (not necessarily valid UTF-8 when the ids are a
  /// prefix of a longer sequence). Empty on success; an unknown id is an error naming its
  /// position.
  virtual std::string decode(const std::vector<int32_t> &ids, std::string &text) const = 0;
  /// The id of a token written as in the tokenizer's vocabulary or added tokens (for instance
  /// "<|endoftext|>"), or -1.
  virtual int32_t tokenId(std::string_view token) const = 0;
};

std::unique_ptr<Tokenizer> makeByteTokenizer();

/// Reads a Hugging Face `tokenizer.json`. nullptr and `error` (naming the file and the field)
/// when the file cannot be read or uses a component this reader does not implement.
std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string &path, std::string &error);

/// "bytes" (or empty): the byte tokenizer; anything else: the path of a tokenizer.json.
std::unique_ptr<Tokenizer> makeTokenizer(const std::string &spec, std::string &error);

/// The ByteLevel pre-tokenizer's split of UTF-8 text into words, GPT-2's pattern
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// with \p{L} and \p{N} the Unicode general categories and \s the White_Space property. The
/// words cover the text, in order; bytes that are not UTF-8 end the split as one last word.
std::vector<std::string_view> gpt2Split(std::string_view text);

/// Bytes <-> token ids 0..255 (what the byte tokenizer does).
std::vector<int32_t> byteEncode(const std::string &text);
/// Empty error on success; an id outside 0..255 is an error naming its position.
std::string byteDecode(const std::vector<int32_t> &ids, std::string &text);

} // namespace mamba2::runtime
