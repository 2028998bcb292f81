// The tokenizers: the byte tokenizer, GPT-2's pre-tokenizer split, and the Hugging Face BPE
// reader on small tokenizer.json files written here (merge order, added tokens, NFC, errors).
// The real GPT-NeoX tokenizer is checked against tokenizers.js in e2e/runtime.
#include "mamba2/runtime/Tokenizer.h"
#include "mamba2/runtime/Sampling.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace mamba2::runtime;
using json = nlohmann::json;

namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view w : gpt2Split(text))
    out.emplace_back(w);
  return out;
}

using Words = std::vector<std::string>;

/// GPT-2's spelling of a byte in a vocabulary (the printable bytes are themselves, the others
/// U+0100.. in order), as UTF-8.
std::string byteChar(int b) {
  int next = 256;
  for (int c = 0; c < 256; ++c) {
    bool printable = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174;
    int cp = printable ? c : next++;
    if (c == b) {
      std::string s;
      if (cp < 0x80) {
        s += char(cp);
      } else {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
      }
      return s;
    }
  }
  return "";
}

/// A byte-level BPE tokenizer.json: ids 0..255 are the bytes, then one id per merge result.
json bpeJson(const std::vector<std::pair<std::string, std::string>> &merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b)
    vocab[byteChar(b)] = b;
  json m = json::array();
  for (const auto &[a, b] : merges) {
    if (!vocab.contains(a + b))
      vocab[a + b] = int(vocab.size());
    m.push_back(a + " " + b);
  }
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
          {"post_processor", {{"type", "ByteLevel"}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", m}}}};
}

std::string writeJson(const std::string &name, const std::string &text) {
  // ctest runs each test in its own process, several at once: a file per test, not one shared
  // "tokenizer.json" that another test may be rewriting while this one reads it.
  const auto *info = testing::UnitTest::GetInstance()->current_test_info();
  std::string path =
      testing::TempDir() + "/" +
      (info ? std::string(info->test_suite_name()) + "." + info->name() + "." : std::string()) +
      name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::unique_ptr<Tokenizer> load(const json &j, const std::string &name = "tokenizer.json") {
  std::string err;
  auto t = loadHfTokenizer(writeJson(name, j.dump()), err);
  EXPECT_TRUE(t) << err;
  return t;
}

std::string loadError(const std::string &text) {
  std::string err;
  auto t = loadHfTokenizer(writeJson("bad.json", text), err);
  EXPECT_FALSE(t);
  return err;
}

std::vector<int32_t> encode(const Tokenizer &t, std::string_view text) {
  std::vector<int32_t> ids;
  std::string err = t.encode(text, ids);
  EXPECT_EQ(err, "") << "encoding '" << text << "'";
  return ids;
}

std::vector<int32_t> bytesOf(std::string_view s) {
  std::vector<int32_t> ids;
  for (char c : s)
    ids.push_back(uint8_t(c));
  return ids;
}

} // namespace

TEST(ByteTokenizer, EncodesEachByteAndRefusesIdsAbove255) {
  auto t = makeByteTokenizer();
  EXPECT_EQ(t->vocabSize(), 256u);
  std::string text("a\0\xff", 3), back;
  std::vector<int32_t> ids;
  ASSERT_EQ(t->encode(text, ids), "");
  EXPECT_EQ(ids, (std::vector<int32_t>{97, 0, 255}));
  EXPECT_EQ(t->decode(ids, back), "");
  EXPECT_EQ(back, text);
  EXPECT_EQ(t->decode({1, 300}, back),
            "token 300 at position 1 is outside the byte vocabulary (0..255)");
  std::string err;
  EXPECT_EQ(makeTokenizer("bytes", err)->describe(), "bytes");
}

TEST(Gpt2Split, ContractionsAreLowerCaseOnly) {
  EXPECT_EQ(split("it's they're we've I'm you'll he'd don't"),
            (Words{"it", "'s", " they", "'re", " we", "'ve", " I", "'m", " you", "'ll", " he", "'d",
                   " don", "'t"}));
  EXPECT_EQ(split("IT'S ''s"), (Words{"IT", "'", "S", " ''", "s"}));
}

TEST(Gpt2Split, ASpaceJoinsTheWordAfterIt) {
  EXPECT_EQ(split("Hello world 42 ..."), (Words{"Hello", " world", " 42", " ..."}));
  EXPECT_EQ(split("abc123 4.5$$"), (Words{"abc", "123", " 4", ".", "5", "$$"}));
}

TEST(Gpt2Split, WhiteSpaceRunsLeaveTheirLastCharacterToTheNextWord) {
  EXPECT_EQ(split("a  b"), (Words{"a", " ", " b"}));
  EXPECT_EQ(split("a \n b"), (Words{"a", " \n", " b"}));
  EXPECT_EQ(split("a\nb"), (Words{"a", "\n", "b"}));
  EXPECT_EQ(split("x   "), (Words{"x", "   "}));
  EXPECT_EQ(split("\t\tx"), (Words{"\t", "\t", "x"}));
}

TEST(Gpt2Split, UnicodeCategoriesAndWhiteSpace) {
  EXPECT_EQ(split("naïve café 日本語"), (Words{"naïve", " café", " 日本語"}));
  EXPECT_EQ(split("x²³½ Ⅻ"), (Words{"x", "²³½", " Ⅻ"})); // No, No, No; Nl
  // U+00A0 and U+0085 are White_Space; U+200B and U+FEFF are not (format characters).
  EXPECT_EQ(split(" \u00a0x"), (Words{" ", "\u00a0", "x"}));
  EXPECT_EQ(split(" \u0085x"), (Words{" ", "\u0085", "x"}));
  EXPECT_EQ(split(" \ufeffx"), (Words{" \ufeff", "x"}));
  EXPECT_EQ(split("😀👍 x"), (Words{"😀👍", " x"}));
}

TEST(Gpt2Split, WordsCoverTheTextEvenWhenItIsNotUtf8) {
  EXPECT_EQ(split("ab\xff cd"), (Words{"ab", "\xff cd"}));
  EXPECT_EQ(split(""), Words{});
}

TEST(HfBpe, MergesApplyInRankOrder) {
  auto abFirst = load(bpeJson({{"a", "b"}, {"b", "c"}, {"ab", "c"}}), "ab.json");
  auto bcFirst = load(bpeJson({{"b", "c"}, {"a", "b"}, {"ab", "c"}}), "bc.json");
  ASSERT_TRUE(abFirst && bcFirst);
  int32_t abc = abFirst->tokenId("abc"), bc = bcFirst->tokenId("bc");
  ASSERT_GE(abc, 256);
  ASSERT_GE(bc, 256);
  EXPECT_EQ(encode(*abFirst, "abc"), (std::vector<int32_t>{abc}));
  EXPECT_EQ(encode(*bcFirst, "abc"), (std::vector<int32_t>{'a', bc}));
  EXPECT_EQ(abFirst->vocabSize(), 259u);
  // A pair listed twice takes its later rank (Hugging Face tokenizers and tokenizers.js build
  // the rank map in file order, later entries replacing earlier ones).
  auto again = load(bpeJson({{"a", "b"}, {"b", "c"}, {"ab", "c"}, {"a", "b"}}), "again.json");
  EXPECT_EQ(encode(*again, "abc"), (std::vector<int32_t>{'a', again->tokenId("bc")}));
}

TEST(HfBpe, EqualRanksMergeLeftmostFirst) {
  auto t = load(bpeJson({{"a", "a"}}));
  ASSERT_TRUE(t);
  int32_t aa = t->tokenId("aa");
  EXPECT_EQ(encode(*t, "aaa"), (std::vector<int32_t>{aa, 'a'}));
  EXPECT_EQ(encode(*t, "aaaa"), (std::vector<int32_t>{aa, aa}));
  auto t4 = load(bpeJson({{"a", "a"}, {"aa", "aa"}}), "aaaa.json");
  EXPECT_EQ(encode(*t4, "aaaaa"), (std::vector<int32_t>{t4->tokenId("aaaa"), 'a'}));
}

TEST(HfBpe, MergesStayInsideWordsAndSpellSpacesAsG) {
  auto t = load(bpeJson({{byteChar(' '), "a"}, {"a", "a"}}));
  ASSERT_TRUE(t);
  int32_t sa = t->tokenId("Ġa"), aa = t->tokenId("aa");
  ASSERT_GE(sa, 256);
  // "a a": words "a", " a"; "aa aa" would merge across the space without the split.
  EXPECT_EQ(encode(*t, "a a"), (std::vector<int32_t>{'a', sa}));
  EXPECT_EQ(encode(*t, "aa\naa"), (std::vector<int32_t>{aa, '\n', aa}));
  std::string back;
  EXPECT_EQ(t->decode({'a', sa, aa}, back), "");
  EXPECT_EQ(back, "a aaa");
  // A long word (linked-list merging, not quadratic).
  std::string longWord(5000, 'a');
  std::vector<int32_t> ids = encode(*t, longWord);
  EXPECT_EQ(ids, std::vector<int32_t>(2500, aa));
}

TEST(HfBpe, AddedTokensSplitTheTextLeftmostLongest) {
  json j = bpeJson({});
  j["added_tokens"] =
      json::array({{{"id", 300}, {"content", "<|eos|>"}, {"special", true}, {"normalized", false}},
                   {{"id", 301}, {"content", "  "}, {"special", false}, {"normalized", true}},
                   {{"id", 302}, {"content", "<x>"}, {"normalized", false}},
                   {{"id", 303}, {"content", "<x>y"}, {"normalized", false}},
                   {{"id", 304}, {"content", "<r>"}, {"normalized", false}, {"rstrip", true}}});
  auto t = load(j);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->vocabSize(), 305u);
  EXPECT_EQ(t->tokenId("<|eos|>"), 300);
  EXPECT_EQ(encode(*t, "a<|eos|>b"), (std::vector<int32_t>{'a', 300, 'b'}));
  EXPECT_EQ(encode(*t, "a     b"), (std::vector<int32_t>{'a', 301, 301, ' ', 'b'}));
  EXPECT_EQ(encode(*t, "<x>yz<x>"), (std::vector<int32_t>{303, 'z', 302}));
  EXPECT_EQ(encode(*t, "<r>  q"), (std::vector<int32_t>{304, 'q'}));
  std::string back;
  EXPECT_EQ(t->decode({'a', 300, 301, 303}, back), "");
  EXPECT_EQ(back, "a<|eos|>  <x>y");
}

TEST(HfBpe, NfcNormalizesBeforeSplitting) {
  json j = bpeJson({});
  auto plain = load(j, "plain.json");
  j["normalizer"] = {{"type", "NFC"}};
  auto nfc = load(j, "nfc.json");
  ASSERT_TRUE(plain && nfc);
  std::string decomposed = "cafe\u0301", composed = "caf\u00e9";
  EXPECT_EQ(encode(*nfc, decomposed), bytesOf(composed));
  EXPECT_EQ(encode(*plain, decomposed), bytesOf(decomposed));
  EXPECT_EQ(encode(*nfc, composed), bytesOf(composed));
}

TEST(HfBpe, AddPrefixSpaceAndNoRegex) {
  json j = bpeJson({{byteChar(' '), "a"}, {"a", byteChar(' ')}});
  j["pre_tokenizer"]["add_prefix_space"] = true;
  auto t = load(j, "prefix.json");
  ASSERT_TRUE(t);
  EXPECT_EQ(encode(*t, "a"), (std::vector<int32_t>{t->tokenId("Ġa")}));
  j["pre_tokenizer"]["add_prefix_space"] = false;
  j["pre_tokenizer"]["use_regex"] = false;
  auto whole = load(j, "noregex.json");
  ASSERT_TRUE(whole);
  // Without the split, "a a" is one word: (" ", "a") has rank 0, ("a", " ") rank 1.
  EXPECT_EQ(encode(*whole, "a a"), (std::vector<int32_t>{'a', whole->tokenId("Ġa")}));
  EXPECT_EQ(encode(*whole, "a b"), (std::vector<int32_t>{whole->tokenId("aĠ"), 'b'}));
}

TEST(HfBpe, BadTextAndIdsAreErrors) {
  auto t = load(bpeJson({}));
  ASSERT_TRUE(t);
  std::vector<int32_t> ids;
  EXPECT_EQ(t->encode("ab\xc3(", ids), "the text is not UTF-8 at byte 2");
  EXPECT_EQ(t->encode("\xed\xa0\x80", ids), "the text is not UTF-8 at byte 0"); // surrogate
  std::string back;
  EXPECT_EQ(t->decode({1, 256}, back),
            "token 256 at position 1 is not in the tokenizer's vocabulary");
  EXPECT_EQ(t->decode({-1}, back), "token -1 at position 0 is not in the tokenizer's vocabulary");
}

TEST(HfBpe, UnsupportedOrBrokenFilesAreErrorsNamingTheField) {
  std::string err;
  EXPECT_FALSE(loadHfTokenizer("/nonexistent/tokenizer.json", err));
  EXPECT_EQ(err, "/nonexistent/tokenizer.json: cannot open the file");
  EXPECT_NE(loadError("{\"model\": ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(loadError("[1, 2]").find("not a tokenizer.json"), std::string::npos);

  json j = bpeJson({});
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(loadError(j.dump()).find("normalizer: type 'Lowercase' is not supported"),
            std::string::npos);
  j = bpeJson({});
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  EXPECT_NE(loadError(j.dump()).find("pre_tokenizer: 'Whitespace' is not supported"),
            std::string::npos);
  j = bpeJson({});
  j["decoder"] = nullptr;
  EXPECT_NE(loadError(j.dump()).find("decoder: 'null' is not supported"), std::string::npos);
  j = bpeJson({});
  j["post_processor"] = {{"type", "TemplateProcessing"}};
  EXPECT_NE(loadError(j.dump()).find("post_processor: 'TemplateProcessing'"), std::string::npos);
  j = bpeJson({});
  j["model"]["type"] = "Unigram";
  EXPECT_NE(loadError(j.dump()).find("model: type is not BPE"), std::string::npos);
  j = bpeJson({});
  j["model"]["merges"] = {"a b"};
  EXPECT_NE(loadError(j.dump()).find("model: merges[0]: 'ab' is not in the vocabulary"),
            std::string::npos);
  j["model"]["merges"] = {"ab"};
  EXPECT_NE(loadError(j.dump()).find("merges[0] 'ab' is not 'left right'"), std::string::npos);
  j = bpeJson({});
  j["model"]["vocab"]["x"] = "seven";
  EXPECT_NE(loadError(j.dump()).find("vocab: 'x' has no valid id"), std::string::npos);
  j = bpeJson({});
  j["model"]["vocab"]["x"] = 1000000000;
  EXPECT_NE(loadError(j.dump()).find("vocab: 'x' has id 1000000000, far beyond the number of "
                                     "entries (ids must be dense)"),
            std::string::npos);
  j = bpeJson({});
  j["model"]["dropout"] = 0.1;
  EXPECT_NE(loadError(j.dump()).find("dropout is not supported"), std::string::npos);
  j = bpeJson({});
  j["added_tokens"] = json::array({{{"id", 7}, {"content", "<s>"}}});
  EXPECT_NE(loadError(j.dump()).find("added_tokens: [0]: id 7 is already another token's"),
            std::string::npos);
  j["added_tokens"] = json::array({{{"id", "x"}, {"content", "<s>"}}});
  EXPECT_NE(loadError(j.dump()).find("added_tokens: [0]: needs a string `content`"),
            std::string::npos);
  j = bpeJson({});
  j["pre_tokenizer"]["add_prefix_space"] = "yes"; // wrong type
  EXPECT_NE(loadError(j.dump()).find("bad.json: "), std::string::npos);
}

TEST(HfBpe, RandomTextRoundTripsAndSplitsCoverIt) {
  // Texts drawn (fixed seed) from pieces that stress the split: contractions, white space of
  // several kinds, digits, letters of several scripts, symbols, an added token.
  const std::vector<std::string> parts = {
      "a",      "Z",      "'s",         "'",      "re",      " ",      "  ",     "\t",     "\r\n",
      "\u00a0", "\u0085", "\u3000",     "7",      "\u00b2",  "\u0661", "\u00e9", "\u65e5", "\u0416",
      "!",      "...",    "\U0001F600", "\u200d", "<|eos|>", "<|eos",  "\u0301"};
  json j = bpeJson({{byteChar(' '), "a"}, {"a", "a"}, {"'", "s"}, {byteChar(' '), byteChar(' ')}});
  j["added_tokens"] = json::array(
      {{{"id", 400}, {"content", "<|eos|>"}, {"special", true}, {"normalized", false}}});
  auto t = load(j, "random.json");
  ASSERT_TRUE(t);
  SplitMix64 rng(99);
  for (int n = 0; n < 2000; ++n) {
    std::string text;
    for (uint64_t k = rng.next() % 24; k > 0; --k)
      text += parts[rng.next() % parts.size()];
    std::string joined;
    for (std::string_view w : gpt2Split(text)) {
      ASSERT_FALSE(w.empty()) << text;
      joined += w;
    }
    ASSERT_EQ(joined, text);
    std::string back;
    ASSERT_EQ(t->decode(encode(*t, text), back), "");
    ASSERT_EQ(back, text);
  }
}

namespace {

json splitStep(const std::string &regex, const std::string &behavior = "Isolated") {
  return {{"type", "Split"},
          {"pattern", {{"Regex", regex}}},
          {"behavior", behavior},
          {"invert", false}};
}

json sequence(std::vector<json> steps) { return {{"type", "Sequence"}, {"pretokenizers", steps}}; }

const json kByteLevelNoSplit = {
    {"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};

} // namespace

TEST(HfBpeSplit, GptTwosPatternAsARegexSplitsAsTheBuiltInSplit) {
  // ICU runs the pattern; its \s is [\t\n\f\r\p{Z}] (no U+000B, U+0085), so the texts avoid
  // those two. Merges across every kind of boundary make a different split visible.
  const std::vector<std::string> parts = {
      "a",      "Z", "'s",     "'",      "re",     " ",      "  ", "\t",  "\r\n",       "\u00a0",
      "\u3000", "7", "\u00b2", "\u0661", "\u00e9", "\u65e5", "!",  "...", "\U0001F600", "\u0301"};
  std::vector<std::pair<std::string, std::string>> merges = {
      {byteChar(' '), "a"}, {"a", byteChar(' ')}, {"'", "s"}, {"7", "a"}, {"a", "7"},
      {"!", "a"},           {"s", "a"},           {".", "."}, {"a", "!"}};
  json builtIn = bpeJson(merges), regex = bpeJson(merges);
  regex["pre_tokenizer"] = sequence(
      {splitStep(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
       kByteLevelNoSplit});
  auto a = load(builtIn, "builtin.json"), b = load(regex, "regex.json");
  ASSERT_TRUE(a && b);
  SplitMix64 rng(5);
  for (int n = 0; n < 2000; ++n) {
    std::string text;
    for (uint64_t k = rng.next() % 24; k > 0; --k)
      text += parts[rng.next() % parts.size()];
    ASSERT_EQ(encode(*a, text), encode(*b, text)) << text;
  }
}

TEST(HfBpeSplit, PiecesAreSplitAgainByEachStep) {
  // Digits in groups of up to three: "34" is a merge that the split keeps apart in "12345".
  json j = bpeJson({{"3", "4"}});
  EXPECT_EQ(encode(*load(j, "nosplit.json"), "12345"),
            (std::vector<int32_t>{'1', '2', load(j, "nosplit.json")->tokenId("34"), '5'}));
  j["pre_tokenizer"] = sequence({splitStep(R"(\p{N}{1,3})"), kByteLevelNoSplit});
  EXPECT_EQ(encode(*load(j, "digits.json"), "12345"), bytesOf("12345"));
  // Removed: the matches are dropped.
  j["pre_tokenizer"] = sequence({{{"type", "Split"},
                                  {"pattern", {{"String", " "}}},
                                  {"behavior", "Removed"},
                                  {"invert", false}},
                                 kByteLevelNoSplit});
  EXPECT_EQ(encode(*load(j, "removed.json"), "a b  c"), bytesOf("abc"));
}

TEST(HfBpeSplit, UnsupportedStepsAreErrors) {
  json j = bpeJson({});
  j["pre_tokenizer"] = sequence({splitStep("x", "MergedWithPrevious"), kByteLevelNoSplit});
  EXPECT_NE(loadError(j.dump()).find("pre_tokenizer: pretokenizers[0]: Split behavior "
                                     "'MergedWithPrevious' is not supported"),
            std::string::npos);
  j["pre_tokenizer"] = sequence({splitStep("(a"), kByteLevelNoSplit});
  EXPECT_NE(loadError(j.dump()).find("Split pattern '(a' does not compile (ICU U_REGEX_"),
            std::string::npos);
  j["pre_tokenizer"] = splitStep("a");
  EXPECT_NE(loadError(j.dump()).find("pre_tokenizer: has no ByteLevel step"), std::string::npos);
  json prefixed = kByteLevelNoSplit;
  prefixed["add_prefix_space"] = true;
  j["pre_tokenizer"] = sequence({splitStep("a"), prefixed});
  EXPECT_NE(loadError(j.dump()).find("add_prefix_space after another step is not supported"),
            std::string::npos);
}

TEST(HfBpe, ArbitraryBytesAreEncodedOrRefusedNeverMisread) {
  auto t = load(bpeJson({{"a", "b"}, {byteChar(' '), "a"}}));
  ASSERT_TRUE(t);
  SplitMix64 rng(77);
  int refused = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string text;
    for (uint64_t k = rng.next() % 16; k > 0; --k) // bytes biased to ASCII, lead and follow bytes
      text += char(std::vector<int>{'a', 'b', ' ', 0xC3, 0xA9, 0xE2, 0x80, 0xF0, 0x9F, 0xFF, 0xED,
                                    0xA0}[rng.next() % 12]);
    std::vector<int32_t> ids;
    std::string err = t->encode(text, ids), back;
    if (!err.empty()) {
      ASSERT_EQ(err.rfind("the text is not UTF-8 at byte ", 0), 0u) << err;
      ++refused;
      continue;
    }
    ASSERT_EQ(t->decode(ids, back), "");
    ASSERT_EQ(back, text);
  }
  EXPECT_GT(refused, 100);
  EXPECT_LT(refused, 2900);
}
