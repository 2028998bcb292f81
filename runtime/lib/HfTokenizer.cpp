// A Hugging Face `tokenizer.json` with a byte-level BPE model. Encoding follows the pipeline of
// Hugging Face tokenizers:
//   1. added tokens whose `normalized` is false are split off the raw text (leftmost-longest)
//   2. the rest is normalized (NFC, or nothing)
//   3. added tokens whose `normalized` is true are split off the normalized text
//   4. the ByteLevel pre-tokenizer splits each remaining piece with GPT-2's pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      (matched by hand below: \p{L}, \p{N} are Unicode general categories, \s is White_Space),
//      and/or the file's Split steps (ICU regexes), each step splitting every piece again
//   5. BPE merges each piece's bytes, lowest merge rank first (leftmost on equal rank).
// The vocabulary's strings spell bytes with GPT-2's byte-to-character table; this reader maps
// them back once at load time, so encoding and decoding work on raw bytes.
#include "mamba2/runtime/Tokenizer.h"

#include <nlohmann/json.hpp>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uregex.h>
#include <unicode/utext.h>

#include <algorithm>
#include <array>
#include <climits>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>

namespace mamba2::runtime {
namespace {

using json = nlohmann::json;

/// GPT-2's byte-to-character table: printable bytes (33..126, 161..172, 174..255) stand for
/// themselves, the other 68 bytes for U+0100.. in byte order.
std::array<char32_t, 256> byteToChar() {
  std::array<char32_t, 256> t{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    t[b] = printable ? char32_t(b) : next++;
  }
  return t;
}

void appendUtf8(std::string &out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

/// Decodes the code point at s[i]; its length in `len`, 0 when the bytes there are not UTF-8
/// (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF, truncated).
char32_t decodeUtf8(std::string_view s, size_t i, size_t &len) {
  auto cont = [&](size_t k) { return k < s.size() && (uint8_t(s[k]) & 0xC0) == 0x80; };
  uint8_t b = uint8_t(s[i]);
  len = 0;
  if (b < 0x80) {
    len = 1;
    return b;
  }
  char32_t c;
  size_t n;
  if ((b & 0xE0) == 0xC0) {
    c = b & 0x1F;
    n = 2;
  } else if ((b & 0xF0) == 0xE0) {
    c = b & 0x0F;
    n = 3;
  } else if ((b & 0xF8) == 0xF0) {
    c = b & 0x07;
    n = 4;
  } else {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if (!cont(i + k))
      return 0;
    c = (c << 6) | (uint8_t(s[i + k]) & 0x3F);
  }
  static constexpr char32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < minimum[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  len = n;
  return c;
}

/// Character classes of GPT-2's pattern.
enum class Cls : uint8_t { Letter, Number, Space, Other };

Cls classify(char32_t c) {
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      return Cls::Letter;
    if (c >= '0' && c <= '9')
      return Cls::Number;
    if (c == ' ' || (c >= '\t' && c <= '\r'))
      return Cls::Space;
    return Cls::Other;
  }
  if (u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE))
    return Cls::Space;
  switch (u_charType(UChar32(c))) {
  case U_UPPERCASE_LETTER:
  case U_LOWERCASE_LETTER:
  case U_TITLECASE_LETTER:
  case U_MODIFIER_LETTER:
  case U_OTHER_LETTER:
    return Cls::Letter;
  case U_DECIMAL_DIGIT_NUMBER:
  case U_LETTER_NUMBER:
  case U_OTHER_NUMBER:
    return Cls::Number;
  default:
    return Cls::Other;
  }
}

struct AddedToken {
  std::string content;
  int32_t id;
  bool normalized, lstrip, rstrip;
};

/// A piece of text to encode: an added token's id, or text (id -1).
struct Piece {
  std::string_view text;
  int32_t id = -1;
};

} // namespace

std::vector<std::string_view> gpt2Split(std::string_view text) {
  std::vector<std::string_view> words;
  // Code points of the text with their byte offsets (one past the end at cps.size()).
  std::vector<char32_t> cps;
  std::vector<size_t> at;
  cps.reserve(text.size());
  at.reserve(text.size() + 1);
  size_t valid = 0; // bytes of UTF-8 before the first that is not
  for (size_t len; valid < text.size(); valid += len) {
    char32_t c = decodeUtf8(text, valid, len);
    if (!len)
      break;
    at.push_back(valid);
    cps.push_back(c);
  }
  at.push_back(valid);
  std::vector<Cls> cls(cps.size());
  for (size_t i = 0; i < cps.size(); ++i)
    cls[i] = classify(cps[i]);

  const size_t n = cps.size();
  for (size_t i = 0; i < n;) {
    size_t end = 0;
    // 's|'t|'re|'ve|'m|'ll|'d
    if (cps[i] == '\'' && i + 1 < n) {
      char32_t c = cps[i + 1];
      if (c == 's' || c == 't' || c == 'm' || c == 'd')
        end = i + 2;
      else if (i + 2 < n && ((c == 'r' && cps[i + 2] == 'e') || (c == 'v' && cps[i + 2] == 'e') ||
                             (c == 'l' && cps[i + 2] == 'l')))
        end = i + 3;
    }
    // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+'
    if (!end) {
      size_t j = cps[i] == ' ' ? i + 1 : i;
      if (j < n && cls[j] != Cls::Space) {
        Cls c = cls[j];
        end = j + 1;
        while (end < n && cls[end] == c)
          ++end;
      }
    }
    // '\s+(?!\S)|\s+': a run of white space, less its last character when a non-space follows
    // and the run is longer than one.
    if (!end) {
      size_t k = i;
      while (k < n && cls[k] == Cls::Space)
        ++k;
      end = (k < n && k - 1 > i) ? k - 1 : k;
    }
    words.push_back(text.substr(at[i], at[end] - at[i]));
    i = end;
  }
  if (valid < text.size())
    words.push_back(text.substr(valid));
  return words;
}

namespace {

class HfBpeTokenizer final : public Tokenizer {
public:
  std::string load(const std::string &path);

  std::string describe() const override { return "bpe " + path_; }
  size_t vocabSize() const override { return idBytes_.size(); }
  std::string encode(std::string_view text, std::vector<int32_t> &ids) const override;
  std::string decode(const std::vector<int32_t> &ids, std::string &text) const override;
  int32_t tokenId(std::string_view token) const override {
    auto it = tokenToId_.find(std::string(token));
    return it == tokenToId_.end() ? -1 : it->second;
  }

private:
  struct Merge {
    int32_t rank, id;
  };
  using WordCache = std::unordered_map<std::string, std::vector<int32_t>>;

  std::string loadModel(const json &model);
  std::string loadAddedTokens(const json &added);
  /// Splits `in` at the added tokens of one kind (normalized or not), leftmost-longest.
  void splitAdded(const std::vector<Piece> &in, bool normalized, std::vector<Piece> &out) const;
  std::string encodeText(std::string_view text, std::vector<int32_t> &ids, WordCache &cache,
                         std::string &scratch) const;
  std::string bpe(std::string_view word, std::vector<int32_t> &ids) const;
  static uint64_t pairKey(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }
  size_t slotOf(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> mergeShift_); }
  /// The merge of (a, b), or nullptr.
  const Merge *merge(int32_t a, int32_t b) const {
    const uint64_t key = pairKey(a, b);
    for (size_t i = slotOf(key);; i = (i + 1) & (merges_.size() - 1)) {
      if (merges_[i].key == key)
        return &merges_[i].merge;
      if (merges_[i].key == kNoPair)
        return nullptr;
    }
  }
  /// Records a merge; a pair listed again takes its later rank (as Hugging Face tokenizers do).
  void addMerge(int32_t a, int32_t b, Merge m) {
    const uint64_t key = pairKey(a, b);
    size_t i = slotOf(key);
    while (merges_[i].key != kNoPair && merges_[i].key != key)
      i = (i + 1) & (merges_.size() - 1);
    merges_[i] = {key, m};
  }

  std::string path_;
  std::unordered_map<std::string, int32_t> tokenToId_; // as spelled in the file
  std::unordered_map<std::string, int32_t> bytesToId_; // model vocabulary by raw bytes
  std::vector<std::string> idBytes_;                   // raw bytes of each id
  std::vector<bool> known_;                            // ids that exist
  std::array<int32_t, 256> byteId_{};                  // id of each single byte, or -1
  // (left id, right id) -> rank, result: open addressing, linear probing, at most half full.
  static constexpr uint64_t kNoPair = ~uint64_t(0);
  struct MergeSlot {
    uint64_t key = kNoPair;
    Merge merge{};
  };
  std::vector<MergeSlot> merges_;
  unsigned mergeShift_ = 63;
  std::vector<AddedToken> added_; // longest first
  // Indices into added_ by kind (0: not normalized, 1: normalized) and first byte, longest first.
  std::array<std::array<std::vector<uint16_t>, 256>, 2> addedByFirst_;
  // Pre-tokenizer steps in order, each splitting every piece of the one before.
  struct PreStep {
    std::shared_ptr<URegularExpression> regex; // null: GPT-2's split (gpt2Split)
    bool removeMatches = false;                // Split "Removed" (else "Isolated")
  };
  std::string loadPreTokenizer(const json &pre, bool first, bool &byteLevel);
  std::vector<PreStep> preSteps_;
  int64_t maxId_ = 0; // ids must be below this (see load)
  bool nfc_ = false, prefixSpace_ = false, ignoreMerges_ = false;
  const icu::Normalizer2 *nfcInstance_ = nullptr;
};

std::string HfBpeTokenizer::load(const std::string &path) {
  path_ = path;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return path + ": cannot open the file";
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return path + ": not valid JSON";
  if (!doc.is_object() || !doc.contains("model"))
    return path + ": not a tokenizer.json (no `model` object)";
  auto where = [&](const std::string &field) { return path + ": " + field + ": "; };

  // Normalizer: NFC or none.
  const json &norm = doc.value("normalizer", json());
  if (!norm.is_null()) {
    std::string type = norm.value("type", "");
    if (type != "NFC")
      return where("normalizer") + "type '" + type + "' is not supported (NFC or null)";
    UErrorCode status = U_ZERO_ERROR;
    nfcInstance_ = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status))
      return where("normalizer") + "ICU has no NFC data: " + u_errorName(status);
    nfc_ = true;
  }
  // Pre-tokenizer: ByteLevel (GPT-2's split unless use_regex is false), Split on a regex or a
  // string, or a Sequence of them; a ByteLevel step is needed (the vocabulary is byte-level).
  bool byteLevel = false;
  std::string e = loadPreTokenizer(doc.value("pre_tokenizer", json()), true, byteLevel);
  if (!e.empty())
    return where("pre_tokenizer") + e;
  if (!byteLevel)
    return where("pre_tokenizer") + "has no ByteLevel step (the vocabulary is byte-level)";
  // Decoder: ByteLevel. Post-processor: ByteLevel (offsets only) or none.
  const json &dec = doc.value("decoder", json());
  if (!dec.is_object() || dec.value("type", "") != "ByteLevel")
    return where("decoder") + "'" + (dec.is_object() ? dec.value("type", "") : dec.dump()) +
           "' is not supported (ByteLevel)";
  const json &post = doc.value("post_processor", json());
  if (!post.is_null() && (!post.is_object() || post.value("type", "") != "ByteLevel"))
    return where("post_processor") + "'" +
           (post.is_object() ? post.value("type", "") : post.dump()) +
           "' is not supported (ByteLevel or null)";

  // Ids index tables: they must be about as dense as the entries (a file with an id of 10^9
  // would otherwise ask for gigabytes).
  const json &added = doc.value("added_tokens", json::array());
  const json &vocab = doc["model"].is_object() ? doc["model"].value("vocab", json()) : json();
  maxId_ = 2 * int64_t(vocab.size() + added.size()) + 1024;
  if (!(e = loadModel(doc["model"])).empty())
    return where("model") + e;
  if (!(e = loadAddedTokens(added)).empty())
    return where("added_tokens") + e;
  return "";
}

std::string HfBpeTokenizer::loadPreTokenizer(const json &pre, bool first, bool &byteLevel) {
  std::string type = pre.is_object() ? pre.value("type", "") : pre.dump();
  if (type == "Sequence") {
    const json &steps = pre.value("pretokenizers", json());
    if (!steps.is_array())
      return "Sequence has no `pretokenizers` array";
    for (size_t i = 0; i < steps.size(); ++i) {
      std::string e = loadPreTokenizer(steps[i], first && i == 0, byteLevel);
      if (!e.empty())
        return "pretokenizers[" + std::to_string(i) + "]: " + e;
    }
    return "";
  }
  if (type == "ByteLevel") {
    byteLevel = true;
    // The prefix space goes before the text is split, so only a first step may add it.
    if (pre.value("add_prefix_space", false)) {
      if (!first)
        return "ByteLevel with add_prefix_space after another step is not supported";
      prefixSpace_ = true;
    }
    if (pre.value("use_regex", true))
      preSteps_.push_back({nullptr, false});
    return "";
  }
  if (type == "Split") {
    const json &pattern = pre.value("pattern", json());
    std::string behavior = pre.value("behavior", "");
    if (behavior != "Isolated" && behavior != "Removed")
      return "Split behavior '" + behavior + "' is not supported (Isolated or Removed)";
    if (pre.value("invert", false))
      return "Split with invert is not supported";
    bool literal = pattern.is_object() && pattern.contains("String");
    const json &text =
        pattern.is_object() ? pattern.value(literal ? "String" : "Regex", json()) : json();
    if (!text.is_string() || text.get_ref<const std::string &>().empty())
      return "Split needs a non-empty pattern {\"Regex\": ...} or {\"String\": ...}";
    const std::string &p = text.get_ref<const std::string &>();
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(p);
    UErrorCode status = U_ZERO_ERROR;
    UParseError where{};
    URegularExpression *re =
        uregex_open(u.getBuffer(), u.length(), literal ? UREGEX_LITERAL : 0, &where, &status);
    if (U_FAILURE(status))
      return "Split pattern '" + p + "' does not compile (ICU " + u_errorName(status) +
             " at offset " + std::to_string(where.offset) + ")";
    preSteps_.push_back(
        {std::shared_ptr<URegularExpression>(re, uregex_close), behavior == "Removed"});
    return "";
  }
  return "'" + type + "' is not supported (ByteLevel, Split, Sequence)";
}

std::string HfBpeTokenizer::loadModel(const json &model) {
  if (!model.is_object() || model.value("type", "") != "BPE")
    return "type is not BPE";
  for (const char *unsupported : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(unsupported) && !model[unsupported].is_null() &&
        !(model[unsupported].is_string() &&
          model[unsupported].get_ref<const std::string &>().empty()))
      return std::string(unsupported) + " is not supported";
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0.0)
    return "dropout is not supported (encoding is deterministic)";
  if (model.value("byte_fallback", false))
    return "byte_fallback is not supported (a byte-level vocabulary has every byte)";
  ignoreMerges_ = model.value("ignore_merges", false);

  const json &vocab = model.value("vocab", json());
  if (!vocab.is_object() || vocab.empty())
    return "vocab is not a non-empty object";
  std::array<char32_t, 256> b2c = byteToChar();
  std::unordered_map<char32_t, uint8_t> c2b;
  for (int b = 0; b < 256; ++b)
    c2b[b2c[b]] = uint8_t(b);
  // A vocabulary string's bytes: each character through the table; a string with a character
  // outside it stands for its own UTF-8 (as the ByteLevel decoder does).
  auto toBytes = [&](const std::string &s) {
    std::string bytes;
    for (size_t i = 0; i < s.size();) {
      size_t len;
      char32_t c = decodeUtf8(s, i, len);
      auto it = len ? c2b.find(c) : c2b.end();
      if (it == c2b.end())
        return s;
      bytes += char(it->second);
      i += len;
    }
    return bytes;
  };
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      return "vocab: '" + it.key() + "' has no valid id";
    if (it.value().get<int64_t>() >= maxId_)
      return "vocab: '" + it.key() + "' has id " + std::to_string(it.value().get<int64_t>()) +
             ", far beyond the number of entries (ids must be dense)";
    int32_t id = it.value().get<int32_t>();
    if (size_t(id) >= idBytes_.size()) {
      idBytes_.resize(id + 1);
      known_.resize(id + 1);
    }
    if (known_[id])
      return "vocab: id " + std::to_string(id) + " appears twice";
    known_[id] = true;
    idBytes_[id] = toBytes(it.key());
    tokenToId_[it.key()] = id;
    bytesToId_.emplace(idBytes_[id], id);
  }
  for (int b = 0; b < 256; ++b) {
    std::string c;
    appendUtf8(c, b2c[b]);
    auto it = tokenToId_.find(c);
    byteId_[b] = it == tokenToId_.end() ? -1 : it->second;
  }

  const json &merges = model.value("merges", json::array());
  if (!merges.is_array())
    return "merges is not an array";
  unsigned bits = 1;
  while ((size_t(1) << bits) < 2 * merges.size())
    ++bits;
  merges_.assign(size_t(1) << bits, MergeSlot{});
  mergeShift_ = 64 - bits;
  for (size_t r = 0; r < merges.size(); ++r) {
    const json &m = merges[r];
    std::string a, b;
    if (m.is_string()) { // "left right"
      const std::string &s = m.get_ref<const std::string &>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 == s.size() ||
          s.find(' ', sp + 1) != std::string::npos)
        return "merges[" + std::to_string(r) + "] '" + s + "' is not 'left right'";
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0];
      b = m[1];
    } else {
      return "merges[" + std::to_string(r) + "] is neither 'left right' nor [left, right]";
    }
    auto ia = tokenToId_.find(a), ib = tokenToId_.find(b), ic = tokenToId_.find(a + b);
    for (auto [it, s] : {std::pair{ia, a}, std::pair{ib, b}, std::pair{ic, a + b}})
      if (it == tokenToId_.end())
        return "merges[" + std::to_string(r) + "]: '" + s + "' is not in the vocabulary";
    addMerge(ia->second, ib->second, Merge{int32_t(r), ic->second});
  }
  return "";
}

std::string HfBpeTokenizer::loadAddedTokens(const json &added) {
  if (!added.is_array())
    return "not an array";
  for (size_t i = 0; i < added.size(); ++i) {
    const json &t = added[i];
    std::string at = "[" + std::to_string(i) + "]: ";
    if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
        !t.contains("id") || !t["id"].is_number_integer() || t["id"].get<int64_t>() < 0)
      return at + "needs a string `content` and an integer `id`";
    if (t["id"].get<int64_t>() >= maxId_)
      return at + "id " + std::to_string(t["id"].get<int64_t>()) +
             " is far beyond the number of entries (ids must be dense)";
    AddedToken a{t["content"], t["id"].get<int32_t>(), t.value("normalized", true),
                 t.value("lstrip", false), t.value("rstrip", false)};
    if (a.content.empty())
      return at + "empty content";
    if (t.value("single_word", false))
      return at + "single_word is not supported";
    size_t len;
    for (size_t k = 0; k < a.content.size(); k += len)
      if (!decodeUtf8(a.content, k, len))
        return at + "content is not UTF-8";
    if (size_t(a.id) >= idBytes_.size()) {
      idBytes_.resize(a.id + 1);
      known_.resize(a.id + 1);
    }
    auto v = tokenToId_.find(a.content);
    if (v != tokenToId_.end() && v->second != a.id)
      return at + "'" + a.content + "' has id " + std::to_string(a.id) + " but the vocabulary " +
             std::to_string(v->second);
    if (known_[a.id] && v == tokenToId_.end())
      return at + "id " + std::to_string(a.id) + " is already another token's";
    // An added token decodes to its content (the ByteLevel decoder passes it through).
    known_[a.id] = true;
    idBytes_[a.id] = a.content;
    tokenToId_[a.content] = a.id;
    added_.push_back(std::move(a));
  }
  std::stable_sort(added_.begin(), added_.end(), [](const AddedToken &x, const AddedToken &y) {
    return x.content.size() > y.content.size();
  });
  if (added_.size() > 65535)
    return "more than 65535 added tokens";
  for (size_t i = 0; i < added_.size(); ++i)
    addedByFirst_[added_[i].normalized][uint8_t(added_[i].content[0])].push_back(uint16_t(i));
  return "";
}

void HfBpeTokenizer::splitAdded(const std::vector<Piece> &in, bool normalized,
                                std::vector<Piece> &out) const {
  out.clear();
  const auto &byFirst = addedByFirst_[normalized];
  for (const Piece &p : in) {
    if (p.id >= 0) {
      out.push_back(p);
      continue;
    }
    std::string_view s = p.text;
    size_t start = 0; // of the text not yet emitted
    for (size_t i = 0; i < s.size();) {
      const AddedToken *hit = nullptr;
      for (uint16_t k : byFirst[uint8_t(s[i])]) // longest first: the first hit is the longest
        if (s.compare(i, added_[k].content.size(), added_[k].content) == 0) {
          hit = &added_[k];
          break;
        }
      if (!hit) {
        ++i;
        continue;
      }
      size_t b = i, e = i + hit->content.size();
      // lstrip / rstrip: the token takes the ASCII whitespace beside it.
      auto space = [&](size_t k) { return classify(char32_t(uint8_t(s[k]))) == Cls::Space; };
      if (hit->lstrip)
        while (b > start && uint8_t(s[b - 1]) < 0x80 && space(b - 1))
          --b;
      if (hit->rstrip)
        while (e < s.size() && uint8_t(s[e]) < 0x80 && space(e))
          ++e;
      if (b > start)
        out.push_back({s.substr(start, b - start), -1});
      out.push_back({s.substr(b, e - b), hit->id});
      start = i = e;
    }
    if (start < s.size())
      out.push_back({s.substr(start), -1});
  }
}

std::string HfBpeTokenizer::encode(std::string_view text, std::vector<int32_t> &ids) const {
  ids.clear();
  for (size_t i = 0, len; i < text.size(); i += len)
    if (!decodeUtf8(text, i, len))
      return "the text is not UTF-8 at byte " + std::to_string(i);
  std::vector<Piece> raw, normed;
  splitAdded({Piece{text, -1}}, /*normalized=*/false, raw);
  // Normalized text must outlive the pieces that point into it.
  std::vector<std::unique_ptr<std::string>> store;
  WordCache cache;
  std::string scratch;
  for (const Piece &p : raw) {
    if (p.id >= 0) {
      ids.push_back(p.id);
      continue;
    }
    std::string_view s = p.text;
    bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return uint8_t(c) < 0x80; });
    if (nfc_ && !ascii) {
      UErrorCode status = U_ZERO_ERROR;
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), s.size()));
      if (!nfcInstance_->isNormalized(u, status)) {
        icu::UnicodeString n = nfcInstance_->normalize(u, status);
        store.push_back(std::make_unique<std::string>());
        n.toUTF8String(*store.back());
        s = *store.back();
      }
      if (U_FAILURE(status))
        return std::string("NFC normalization failed: ") + u_errorName(status);
    }
    splitAdded({Piece{s, -1}}, /*normalized=*/true, normed);
    for (const Piece &q : normed) {
      if (q.id >= 0) {
        ids.push_back(q.id);
        continue;
      }
      std::string e = encodeText(q.text, ids, cache, scratch);
      if (!e.empty())
        return e;
    }
  }
  return "";
}

std::string HfBpeTokenizer::encodeText(std::string_view text, std::vector<int32_t> &ids,
                                       WordCache &cache, std::string &scratch) const {
  if (prefixSpace_ && (text.empty() || text[0] != ' ')) {
    scratch = " ";
    scratch += text;
    text = scratch;
  }
  std::string key; // reused: no allocation per lookup
  auto emit = [&](std::string_view word) -> std::string {
    key.assign(word);
    auto it = cache.find(key);
    if (it != cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return "";
    }
    std::vector<int32_t> w;
    std::string e = bpe(word, w);
    if (!e.empty())
      return e;
    ids.insert(ids.end(), w.begin(), w.end());
    if (cache.size() < (1u << 20))
      cache.emplace(key, std::move(w));
    return "";
  };
  // Each step splits every piece of the previous one; regexes are cloned per call (a
  // URegularExpression holds its matching state).
  std::vector<std::string_view> pieces, next;
  if (!text.empty())
    pieces.push_back(text);
  for (const PreStep &step : preSteps_) {
    next.clear();
    if (!step.regex) {
      for (std::string_view piece : pieces)
        for (std::string_view w : gpt2Split(piece))
          next.push_back(w);
    } else {
      UErrorCode status = U_ZERO_ERROR;
      std::unique_ptr<URegularExpression, void (*)(URegularExpression *)> re(
          uregex_clone(step.regex.get(), &status), uregex_close);
      for (std::string_view piece : pieces) {
        // Over UTF-8 text, match positions are byte offsets.
        UText *ut = utext_openUTF8(nullptr, piece.data(), int64_t(piece.size()), &status);
        uregex_setUText(re.get(), ut, &status);
        int64_t last = 0;
        while (U_SUCCESS(status) && uregex_findNext(re.get(), &status)) {
          int64_t b = uregex_start64(re.get(), 0, &status), e = uregex_end64(re.get(), 0, &status);
          if (b == e)
            continue;
          if (b > last)
            next.push_back(piece.substr(size_t(last), size_t(b - last)));
          if (!step.removeMatches)
            next.push_back(piece.substr(size_t(b), size_t(e - b)));
          last = e;
        }
        if (size_t(last) < piece.size())
          next.push_back(piece.substr(size_t(last)));
        utext_close(ut);
      }
      if (U_FAILURE(status))
        return std::string("pre-tokenizer regex failed: ") + u_errorName(status);
    }
    pieces.swap(next);
  }
  for (std::string_view word : pieces) {
    std::string e = emit(word);
    if (!e.empty())
      return e;
  }
  return "";
}

std::string HfBpeTokenizer::bpe(std::string_view word, std::vector<int32_t> &ids) const {
  ids.clear();
  if (ignoreMerges_) {
    auto it = bytesToId_.find(std::string(word));
    if (it != bytesToId_.end()) {
      ids.push_back(it->second);
      return "";
    }
  }
  if (word.size() > size_t(INT32_MAX))
    return "a word of " + std::to_string(word.size()) + " bytes is too long to merge";
  // Symbols in a doubly linked list over the word's bytes; a merge keeps the left symbol.
  struct Sym {
    int32_t id;
    int32_t prev, next;
  };
  const int32_t n = int32_t(word.size());
  std::vector<Sym> sym(n);
  for (int32_t i = 0; i < n; ++i) {
    int32_t id = byteId_[uint8_t(word[i])];
    if (id < 0)
      return "byte " + std::to_string(uint8_t(word[i])) + " has no token in the vocabulary";
    sym[i] = {id, i - 1, i + 1 < n ? i + 1 : -1};
  }
  // Candidate merges, lowest rank first, then leftmost; stale entries are skipped when popped.
  using Cand = std::pair<int32_t, int32_t>; // rank, position of the left symbol
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto consider = [&](int32_t left) {
    if (left < 0 || sym[left].next < 0)
      return;
    if (const Merge *m = merge(sym[left].id, sym[sym[left].next].id))
      heap.push({m->rank, left});
  };
  for (int32_t i = 0; i + 1 < n; ++i)
    consider(i);
  while (!heap.empty()) {
    auto [rank, left] = heap.top();
    heap.pop();
    Sym &l = sym[left];
    if (l.id < 0 || l.next < 0)
      continue;
    const Merge *m = merge(l.id, sym[l.next].id);
    if (!m || m->rank != rank)
      continue;
    Sym &r = sym[l.next];
    l.id = m->id;
    r.id = -1; // gone
    l.next = r.next;
    if (l.next >= 0)
      sym[l.next].prev = left;
    consider(l.prev);
    consider(left);
  }
  for (int32_t i = 0; i >= 0 && i < n; i = sym[i].next)
    ids.push_back(sym[i].id);
  return "";
}

std::string HfBpeTokenizer::decode(const std::vector<int32_t> &ids, std::string &text) const {
  text.clear();
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t id = ids[i];
    if (id < 0 || size_t(id) >= idBytes_.size() || !known_[id])
      return "token " + std::to_string(id) + " at position " + std::to_string(i) +
             " is not in the tokenizer's vocabulary";
    text += idBytes_[id];
  }
  return "";
}

} // namespace

std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string &path, std::string &error) {
  auto t = std::make_unique<HfBpeTokenizer>();
  try {
    error = t->load(path);
  } catch (const nlohmann::json::exception &e) { // a field of the wrong type
    error = path + ": " + e.what();
  }
  if (!error.empty())
    return nullptr;
  return t;
}

} // namespace mamba2::runtime
