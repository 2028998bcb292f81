// Next-token selection from logits and the byte-level tokenizer of the default model
// (vocabulary 256, models/mamba2ref/train.py). Deterministic for a given seed.
#pragma once
#include "mamba2/runtime/Tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::runtime {

struct SamplerConfig {
  float temperature = 0; // 0: greedy (argmax, lowest index on ties)
  unsigned topK = 0;     // keep the k largest logits (0: all)
  float topP = 1;        // then the smallest set whose probability reaches topP
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(const SamplerConfig &cfg);
  /// Index of the chosen token; throws std::invalid_argument on an empty or non-finite input.
  int sample(const std::vector<float> &logits);
  /// Quantised logits: real value = q * scale.
  int sample(const std::vector<int32_t> &q, float scale);

private:
  double uniform(); // [0, 1), splitmix64
  SamplerConfig cfg_;
  uint64_t state_;
};

} // namespace mamba2::runtime
