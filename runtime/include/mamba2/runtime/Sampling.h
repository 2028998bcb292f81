// Next-token selection from logits. Reproducible: for a given seed and logits, every machine
// picks the same tokens. The random numbers come from SplitMix64 (a specified generator, not a
// std:: distribution, whose output is implementation-defined), and the probabilities from IEEE
// double arithmetic in a fixed order with this file's own exp (libm's may differ in the last
// bit between systems); lib/Sampling.cpp is compiled without fused multiply-add contraction.
#pragma once
#include "mamba2/runtime/Tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::runtime {

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014;
/// the constants of Vigna's reference splitmix64.c).
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// [0, 1) with 53 random bits: next() >> 11 times 2^-53.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

private:
  uint64_t state_;
};

/// e^x for x <= 0 from + - * / and ldexp only (correctly rounded in IEEE arithmetic, so the same
/// everywhere); relative error below 1e-15 against a correctly rounded exp; 0 below -745.
double portableExp(double x);

/// Sampling, in this order: logits / temperature, the topK largest (ties: lower id first), their
/// softmax, then the smallest prefix (most probable first) whose probability reaches topP, and one
/// draw from that prefix renormalised. Temperature 0 is greedy: the largest logit, lowest id on
/// ties, and no random number is used.
struct SamplerConfig {
  float temperature = 0; // 0: greedy
  unsigned topK = 0;     // 0: all
  float topP = 1;        // in (0, 1]; 1: all
  uint64_t seed = 0;
};

class Sampler {
public:
  /// Throws std::invalid_argument for a temperature that is negative or not finite, or a topP
  /// outside (0, 1].
  explicit Sampler(const SamplerConfig &cfg);
  /// Index of the chosen token; throws std::invalid_argument on an empty or non-finite input.
  int sample(const std::vector<float> &logits);
  /// Quantised logits: real value = q * scale.
  int sample(const std::vector<int32_t> &q, float scale);

private:
  SamplerConfig cfg_;
  SplitMix64 rng_;
  std::vector<int> order_; // scratch
  std::vector<double> p_;  // scratch
};

} // namespace mamba2::runtime
