// Fast Walsh-Hadamard transform for n = h * 2^k, h in {1, 12, 40}.
#include "mamba2/isa/Reference.h"

#include <map>
#include <mutex>
#include <stdexcept>

namespace mamba2::isa::ref {

// Paley construction I, order q + 1 for a prime q = 3 (mod 4):
//   H = I + S, S = [[0, 1^T], [-1, Q]], Q[i][j] = chi(j - i) (Legendre symbol mod q).
static std::vector<int8_t> paley(unsigned q) {
  std::vector<int> chi(q, -1);
  chi[0] = 0;
  for (unsigned a = 1; a < q; ++a)
    chi[(a * a) % q] = 1;
  unsigned n = q + 1;
  std::vector<int8_t> h(n * n);
  for (unsigned i = 0; i < n; ++i)
    for (unsigned j = 0; j < n; ++j) {
      int s;
      if (i == 0 && j == 0)
        s = 0;
      else if (i == 0)
        s = 1;
      else if (j == 0)
        s = -1;
      else
        s = chi[(j + q - i) % q];
      h[i * n + j] = static_cast<int8_t>(s + (i == j ? 1 : 0));
    }
  return h;
}

static std::vector<int8_t> kron2(const std::vector<int8_t> &a, unsigned n) {
  std::vector<int8_t> h(4 * n * n);
  for (unsigned i = 0; i < 2 * n; ++i)
    for (unsigned j = 0; j < 2 * n; ++j) {
      int s = (i >= n && j >= n) ? -1 : 1;
      h[i * 2 * n + j] = static_cast<int8_t>(s * a[(i % n) * n + (j % n)]);
    }
  return h;
}

const std::vector<int8_t> &hadamardSmall(unsigned h) {
  static std::mutex mu;
  static std::map<unsigned, std::vector<int8_t>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(h);
  if (it != cache.end())
    return it->second;
  std::vector<int8_t> m;
  switch (h) {
  case 1:
    m = {1};
    break;
  case 2:
    m = {1, 1, 1, -1};
    break;
  case 12:
    m = paley(11);
    break;
  case 20:
    m = paley(19);
    break;
  case 40:
    m = kron2(paley(19), 20);
    break;
  default:
    throw std::invalid_argument("no Hadamard matrix of order " + std::to_string(h));
  }
  return cache.emplace(h, std::move(m)).first->second;
}

unsigned fwhtSmallFactor(unsigned n) {
  for (unsigned h : {1u, 12u, 40u})
    if (n % h == 0) {
      unsigned p = n / h;
      if (p != 0 && (p & (p - 1)) == 0)
        return h;
    }
  return 0;
}

bool fwhtSizeOk(unsigned n) { return n != 0 && fwhtSmallFactor(n) != 0; }

void fwht(int32_t *x, unsigned n) {
  unsigned h = fwhtSmallFactor(n);
  if (h == 0)
    throw std::invalid_argument("fwht size " + std::to_string(n) + " is not h*2^k, h in {1,12,40}");
  unsigned p = n / h; // 2^k
  // Butterflies along b (stride 1) inside each block a.
  for (unsigned a = 0; a < h; ++a) {
    int32_t *v = x + a * p;
    for (unsigned len = 1; len < p; len <<= 1)
      for (unsigned i = 0; i < p; i += 2 * len)
        for (unsigned j = i; j < i + len; ++j) {
          int32_t u = v[j], w = v[j + len];
          v[j] = wrapAdd(u, w);
          v[j + len] = wrapSub(u, w);
        }
  }
  if (h == 1)
    return;
  // Dense H_h along a for every b.
  const std::vector<int8_t> &H = hadamardSmall(h);
  std::vector<int32_t> col(h);
  for (unsigned b = 0; b < p; ++b) {
    for (unsigned a = 0; a < h; ++a)
      col[a] = x[a * p + b];
    for (unsigned r = 0; r < h; ++r) {
      int32_t s = 0;
      for (unsigned a = 0; a < h; ++a)
        s = H[r * h + a] > 0 ? wrapAdd(s, col[a]) : wrapSub(s, col[a]);
      x[r * p + b] = s;
    }
  }
}

} // namespace mamba2::isa::ref
