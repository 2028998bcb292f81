#include "mamba2/runtime/Sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace mamba2::runtime {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double portableExp(double x) {
  if (std::isnan(x))
    return x;
  if (x < -745.2)
    return 0;
  if (x > 0)
    throw std::invalid_argument("portableExp: x > 0");
  // x = k ln2 + r with |r| <= ln2 / 2. ln2 is split in a high part with 32 significant bits
  // (k * kLn2Hi is exact for |k| < 2^21) and the rest (Cody and Waite).
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01; // 0x3FE62E42FEE00000
  constexpr double kLn2Lo = 1.90821492927058770002e-10; // ln2 - kLn2Hi
  double k = std::floor(x * kLog2e + 0.5);
  double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // e^r by its Taylor series to r^17/17! (|r| <= 0.35: the remainder is below 1e-19), Horner.
  double s = 1.0;
  for (int n = 17; n >= 1; --n)
    s = 1.0 + s * r / double(n);
  return std::ldexp(s, int(k));
}

static std::string show(float v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

Sampler::Sampler(const SamplerConfig &cfg) : cfg_(cfg), rng_(cfg.seed) {
  if (!(cfg.temperature >= 0) || !std::isfinite(cfg.temperature))
    throw std::invalid_argument("sampler: temperature must be finite and >= 0, not " +
                                show(cfg.temperature));
  if (!(cfg.topP > 0 && cfg.topP <= 1))
    throw std::invalid_argument("sampler: top-p must be in (0, 1], not " + show(cfg.topP));
}

int Sampler::sample(const std::vector<float> &logits) {
  if (logits.empty())
    throw std::invalid_argument("sampler: no logits");
  for (float v : logits)
    if (!std::isfinite(v))
      throw std::invalid_argument("sampler: non-finite logit");
  // Greedy: the largest logit, the lowest index on ties; no need to order the vocabulary.
  if (cfg_.temperature == 0)
    return int(std::max_element(logits.begin(), logits.end()) - logits.begin());
  // Order: larger logit first, lower index on ties. A total order, so any sort gives one result.
  auto before = [&](int a, int b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  order_.resize(logits.size());
  std::iota(order_.begin(), order_.end(), 0);
  size_t keep = cfg_.topK ? std::min<size_t>(cfg_.topK, order_.size()) : order_.size();
  std::partial_sort(order_.begin(), order_.begin() + long(keep), order_.end(), before);
  p_.resize(keep);
  const double mx = logits[order_[0]], t = cfg_.temperature;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i)
    sum += p_[i] = portableExp((double(logits[order_[i]]) - mx) / t);
  // The nucleus: the first tokens whose probability reaches topP.
  size_t nucleus = keep;
  if (cfg_.topP < 1) {
    const double target = double(cfg_.topP) * sum;
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
      cum += p_[i];
      if (cum >= target) {
        nucleus = i + 1;
        break;
      }
    }
  }
  double total = 0;
  for (size_t i = 0; i < nucleus; ++i)
    total += p_[i];
  double u = rng_.uniform() * total;
  for (size_t i = 0; i < nucleus; ++i) {
    if (u < p_[i])
      return order_[i];
    u -= p_[i];
  }
  return order_[nucleus - 1];
}

int Sampler::sample(const std::vector<int32_t> &q, float scale) {
  std::vector<float> f(q.size());
  for (size_t i = 0; i < q.size(); ++i)
    f[i] = float(q[i]) * scale;
  return sample(f);
}

} // namespace mamba2::runtime
