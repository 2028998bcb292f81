// Piecewise-linear function evaluation and the normalised rsqrt built on it.
#include "mamba2/isa/Reference.h"

namespace mamba2::isa::ref {

static int clampInt(int64_t v, int lo, int hi) {
  return static_cast<int>(v < lo ? lo : v > hi ? hi : v);
}

PwlHeader pwlHeader(const int32_t *words) {
  PwlHeader h;
  h.x0 = words[0];
  h.segShift = clampInt(words[1], 0, 31);
  h.n = static_cast<unsigned>(clampInt(words[2], 1, int(kPwlMaxSegments)));
  h.slopeShift = clampInt(words[3], 0, 63);
  return h;
}

int32_t pwl(const int32_t *words, int32_t x) {
  PwlHeader h = pwlHeader(words);
  int64_t rel = int64_t(x) - h.x0;
  // floor division by 2^segShift (arithmetic shift of a negative value floors in C++20; spell it
  // out)
  int64_t seg =
      rel >= 0 ? (rel >> h.segShift) : -((-rel + (int64_t(1) << h.segShift) - 1) >> h.segShift);
  int64_t i = seg < 0 ? 0 : seg >= int64_t(h.n) ? int64_t(h.n) - 1 : seg;
  int64_t xi = int64_t(h.x0) + i * (int64_t(1) << h.segShift);
  int32_t d = sat32(int64_t(x) - xi);
  int32_t b = words[kPwlHeaderWords + 2 * i];
  int32_t k = words[kPwlHeaderWords + 2 * i + 1];
  return sat32(int64_t(b) + rnd(int64_t(k) * d, h.slopeShift));
}

int32_t rsqrt(const int32_t *words, int32_t x) {
  if (x <= 0)
    return INT32_MAX;
  int e = 0;
  while (e < 30 && (x >> (e + 1)) != 0)
    ++e; // e = floor(log2 x), 0..30
  int t = 30 - e;
  int s2 = t & ~1;
  int32_t m = static_cast<int32_t>(int64_t(x) * (int64_t(1) << s2)); // [2^29, 2^31)
  return sat32(int64_t(pwl(words, m)) * (int64_t(1) << (s2 / 2)));
}

} // namespace mamba2::isa::ref
