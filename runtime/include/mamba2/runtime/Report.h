// What a session's device calls add up to: the performance summary mamba2-run prints after a
// generation or an evaluation, the calls' counters joined into one run (--stats, --trace), and
// the bits-per-byte score of a text from the overlay's logits (--eval). docs/runtime.md gives
// every field and formula.
#pragma once
#include "mamba2/runtime/Session.h"
#include "mamba2/target/Board.h"

#include <cstddef>
#include <string>
#include <vector>

namespace mamba2::runtime {

/// The calls one after the other: cycles, bundles and unit counters summed; trace events moved
/// by the cycles of the calls before them.
RunCounters joinCalls(const std::vector<SessionCall> &calls);

/// The summary of `calls` (SessionCall::Phase::Prompt: the prompt, Decode: the decode steps) on
/// `board`: cycles, projected latency and tokens/s at the board's clock, DRAM bytes and their
/// share of the board's achievable bandwidth, each unit's busy fraction. Without timing
/// (functional mode) only the calls and the bytes.
std::string performanceSummary(const std::vector<SessionCall> &calls, int32_t tBlock,
                               const target::Board &board, RunMode mode);

/// -log2 softmax(q * 2^-logitFrac)[next] over q[0..vocab): the log-sum-exp in double, the
/// exponentials (portableExp) summed over v = 0..vocab-1 in that order, a portable logarithm.
double tokenBits(const int32_t *q, size_t vocab, int logitFrac, size_t next);

/// The natural logarithm of x > 0 from + - * / and frexp only (the same on every machine).
double portableLog(double x);

struct TextScore {
  uint64_t tokens = 0;      // tokens of the text
  uint64_t predictions = 0; // tokens - 1: positions 1..n-1 are predicted
  uint64_t bytes = 0;       // bytes of the predicted tokens (the text's, less the first token's)
  double bits = 0;          // sum over positions of tokenBits, in position order
  double bitsPerByte() const { return bytes ? bits / double(bytes) : 0; }
  /// Per-token perplexity: 2^(bits / predictions).
  double perplexity() const;
};

/// Adds positions one at a time, in position order (the sum's order is fixed).
class TextScorer {
public:
  TextScorer(size_t vocab, int logitFrac) : vocab_(vocab), frac_(logitFrac) {}
  /// The first token: counted, not predicted.
  void first() { ++s_.tokens; }
  /// `logits` ([vocab]) after the previous token; `next` the token that came, `nextBytes` its
  /// bytes.
  void add(const int32_t *logits, size_t next, size_t nextBytes);
  const TextScore &score() const { return s_; }

private:
  size_t vocab_;
  int frac_;
  TextScore s_;
};

/// Scores `logits` ([n][vocab], row i = the logits after ids[i]) against the next ids;
/// tokenBytes[i] is the number of bytes token ids[i] spells.
TextScore scoreText(const std::vector<int32_t> &logits, const std::vector<int32_t> &ids,
                    const std::vector<size_t> &tokenBytes, size_t vocab, int logitFrac);

} // namespace mamba2::runtime
