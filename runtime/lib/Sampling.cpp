#include "mamba2/runtime/Sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace mamba2::runtime {

Sampler::Sampler(const SamplerConfig &cfg) : cfg_(cfg), state_(cfg.seed) {
  if (!(cfg.temperature >= 0) || !(cfg.topP > 0 && cfg.topP <= 1))
    throw std::invalid_argument("sampler: temperature must be >= 0 and top-p in (0, 1]");
}

double Sampler::uniform() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) * (1.0 / 9007199254740992.0); // 53 random bits
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
  // Order: larger logit first, lower index first on ties (deterministic).
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  size_t keep = cfg_.topK ? std::min<size_t>(cfg_.topK, order.size()) : order.size();
  std::vector<double> p(keep);
  double mx = logits[order[0]], sum = 0;
  for (size_t i = 0; i < keep; ++i)
    sum += p[i] = std::exp((double(logits[order[i]]) - mx) / cfg_.temperature);
  double cum = 0;
  size_t nucleus = keep;
  for (size_t i = 0; i < keep; ++i) {
    p[i] /= sum;
    cum += p[i];
    if (cum >= cfg_.topP) {
      nucleus = i + 1;
      break;
    }
  }
  double total = std::accumulate(p.begin(), p.begin() + long(nucleus), 0.0);
  double u = uniform() * total;
  for (size_t i = 0; i < nucleus; ++i) {
    if (u < p[i])
      return order[i];
    u -= p[i];
  }
  return order[nucleus - 1];
}

int Sampler::sample(const std::vector<int32_t> &q, float scale) {
  std::vector<float> f(q.size());
  for (size_t i = 0; i < q.size(); ++i)
    f[i] = float(q[i]) * scale;
  return sample(f);
}

} // namespace mamba2::runtime
