// A generation session on a device for a compiled model: the program ABI of docs/runtime.md.
//
//   tensor `model`      const i32 [8]  {abi_version = 1, d_model, vocab, t_block, logit_frac,
//                                       n_layer, 0, 0}
//   tensor `embedding`  const i32 [vocab][d_model]  rows the host gathers into `x`
//   tensor `x`          io    i32 [t_block][d_model] the embedded rows of one call
//   tensor `logits`     io    i32 [t_block][vocab]   real value = q * 2^-logit_frac
//   region `state`      the conv and SSM caches; their initial contents are the sequence start
//   entry `prefill`     all t_block rows of x through the model in order
//   entry `decode`      row 0 of x only
//
// A prompt of n tokens runs floor(n / t_block) `prefill` calls, then n mod t_block `decode`
// calls; a generated token is one `decode` call. The program computes the same logits whichever
// entry processes a token, so the split does not change them.
#pragma once
#include "mamba2/runtime/Device.h"
#include "mamba2/runtime/Sampling.h"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace mamba2::runtime {

/// The ABI version this runtime reads from `model[0]`.
constexpr int32_t kModelAbiVersion = 1;

/// The contents of the program's `model` tensor.
struct ModelInfo {
  int32_t abiVersion = 0, dModel = 0, vocab = 0, tBlock = 0, logitFrac = 0, nLayer = 0;
};

struct SessionConfig {
  RunOptions run;
  /// Longest sequence prefill() accepts (tokens); 0: no limit.
  size_t maxPromptTokens = 4096;
};

/// Which logits prefill() returns: the last position's ([vocab]) or every position's
/// ([n][vocab], row i = the logits after token i).
enum class WantLogits { Last, All };

/// One device call the session made, with its counters (per-unit, cycles when timed).
struct SessionCall {
  enum class Phase { Prompt, Decode } phase; // inside prefill(), or a step()
  bool prefillEntry;                         // entry `prefill` (t_block tokens) or `decode` (1)
  RunCounters counters;
};

class Session {
public:
  /// `device` must already hold `program` (Device::load). Call open() before anything else.
  Session(Device &device, const isa::Program &program, SessionConfig cfg = {});

  /// Reads `model` and checks every symbol of the ABI against it; empty when the program can
  /// be run, else what is missing or wrong. The other calls fail until it has succeeded.
  std::string open();
  const ModelInfo &model() const { return info_; }
  /// Real logit = int32 logit * logitScale() (2^-logit_frac).
  float logitScale() const;

  /// Restores every state tensor to its initial contents (a new sequence).
  std::string reset();
  /// Feeds `ids` from the current state: floor(n / t_block) `prefill` calls, then the rest
  /// through `decode`. `logits` gets the last position's row or every position's rows.
  std::string prefill(const std::vector<int32_t> &ids, WantLogits want,
                      std::vector<int32_t> &logits);
  /// The same calls, each position's logits row ([vocab]) handed to `row` as it comes (no
  /// [n][vocab] array: --eval of a long text); a non-empty return stops with that error.
  using LogitRow = std::function<std::string(size_t position, const int32_t *logits)>;
  std::string prefill(const std::vector<int32_t> &ids, const LogitRow &row);
  /// Feeds one token through `decode`, returns the logits of the next.
  std::string step(int32_t token, std::vector<int32_t> &logits);
  /// reset(), prefill(prompt), then samples `n` tokens, each but the last fed back by step().
  /// In timing mode nothing is computed: the calls run for their counters, `out` stays empty.
  std::string generate(const std::vector<int32_t> &prompt, unsigned n, Sampler &sampler,
                       std::vector<int32_t> &out);

  /// Every device call since construction (or clearCalls()), in order.
  const std::vector<SessionCall> &calls() const { return calls_; }
  void clearCalls() { calls_.clear(); }

private:
  std::string call(bool prefillEntry, SessionCall::Phase phase, const std::vector<int32_t> &ids,
                   size_t first, size_t rows, bool readLogits);
  std::string feed(const std::vector<int32_t> &ids, bool lastOnly, const LogitRow &row);

  Device &dev_;
  const isa::Program &prog_;
  SessionConfig cfg_;
  ModelInfo info_;
  bool open_ = false;
  const isa::Symbol *embedding_ = nullptr;
  std::vector<SessionCall> calls_;
  std::vector<uint8_t> xBytes_, logitBytes_; // scratch
  std::vector<int32_t> rows_;                // the last call's logits rows
};

} // namespace mamba2::runtime
