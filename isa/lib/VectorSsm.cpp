// Reference semantics of the vector-unit reductions, conv1d and the SSM unit.
#include "mamba2/isa/Reference.h"

#include <algorithm>
#include <cstring>

namespace mamba2::isa::ref {

int32_t sumsq(const int32_t *x, unsigned n, int shift) {
  const uint64_t cap = uint64_t(INT64_MAX); // the sum saturates at 2^63 - 1
  uint64_t s = 0;
  for (unsigned i = 0; i < n; ++i) {
    uint64_t sq = static_cast<uint64_t>(int64_t(x[i]) * int64_t(x[i])); // <= 2^62
    s = s > cap - sq ? cap : s + sq;
  }
  return sat32(rnd(static_cast<int64_t>(s), shift));
}

int32_t mulSumsq(const int32_t *a, const int32_t *b, bool bcast, int32_t *y, unsigned n,
                 int mulShift, int sqShift) {
  for (unsigned i = 0; i < n; ++i)
    y[i] = sat32(rnd(int64_t(a[i]) * int64_t(b[bcast ? 0 : i]), mulShift));
  return sumsq(y, n, sqShift);
}

void conv4Pwl(const int8_t *x, const int8_t *w, const int32_t *bias, const int32_t *mult, int shift,
              const int32_t *table, int8_t *state, int32_t *y, unsigned C) {
  conv4Step(x, w, bias, state, y, C);
  for (unsigned c = 0; c < C; ++c) {
    int32_t v = y[c];
    if (mult)
      v = sat32(rnd(int64_t(v) * int64_t(mult[c]), shift));
    y[c] = pwl(table, v);
  }
}

int32_t addSumsq(const int32_t *a, const int32_t *b, bool bcast, int32_t *y, unsigned n,
                 int sqShift) {
  for (unsigned i = 0; i < n; ++i)
    y[i] = sat32(int64_t(a[i]) + int64_t(b[bcast ? 0 : i]));
  return sumsq(y, n, sqShift);
}

void pwlMulPwl(const int32_t *t1, const int32_t *t2, const int32_t *x, const int32_t *m, bool bcast,
               unsigned period, int shift, int32_t *s, int32_t *y, unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    const unsigned j = bcast ? 0 : period ? i % period : i;
    s[i] = pwl(t1, x[i]);
    y[i] = pwl(t2, sat32(rnd(int64_t(s[i]) * int64_t(m[j]), shift)));
  }
}

void conv4Step(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *state, int32_t *y,
               unsigned C) {
  for (unsigned c = 0; c < C; ++c) {
    const int8_t *wc = w + 4 * c; // [4]: oldest tap first, wc[3] on the newest input
    int8_t *sc = state + 3 * c;   // [3]: oldest first
    int64_t acc = int64_t(bias[c]) + int64_t(wc[0]) * sc[0] + int64_t(wc[1]) * sc[1] +
                  int64_t(wc[2]) * sc[2] + int64_t(wc[3]) * x[c];
    y[c] = sat32(acc);
    sc[0] = sc[1];
    sc[1] = sc[2];
    sc[2] = x[c];
  }
}

void ssmUpdate(int32_t *S, const int32_t *dtx, const int8_t *B, int32_t decay, unsigned P,
               unsigned N, int decayShift, int inShift) {
  for (unsigned p = 0; p < P; ++p)
    for (unsigned n = 0; n < N; ++n) {
      int32_t &s = S[p * N + n];
      s = sat32(rnd(int64_t(s) * decay, decayShift) + rnd(int64_t(dtx[p]) * B[n], inShift));
    }
}

void ssmOutput(const int32_t *S, const int8_t *C, int32_t *y, unsigned P, unsigned N, int shift) {
  for (unsigned p = 0; p < P; ++p) {
    int64_t acc = 0; // |S*C| < 2^38, N < 2^16: no overflow
    for (unsigned n = 0; n < N; ++n)
      acc += int64_t(S[p * N + n]) * C[n];
    y[p] = sat32(rnd(acc, shift));
  }
}

void ssmStep(int32_t *S, int32_t *dtxY, const int8_t *B, const int8_t *C, int32_t decay, unsigned P,
             unsigned N, int decayShift, int inShift, int outShift) {
  for (unsigned p = 0; p < P; ++p) {
    int32_t *row = S + size_t(p) * N;
    ssmUpdate(row, dtxY + p, B, decay, 1, N, decayShift, inShift);
    ssmOutput(row, C, dtxY + p, 1, N, outShift);
  }
}

void transpose(const void *src, void *dst, unsigned rows, unsigned cols, unsigned bytes,
               unsigned srcPitch, unsigned dstPitch) {
  const auto *s = static_cast<const uint8_t *>(src);
  auto *d = static_cast<uint8_t *>(dst);
  for (unsigned r = 0; r < rows; ++r)
    for (unsigned c = 0; c < cols; ++c)
      std::memcpy(d + (size_t(c) * dstPitch + r) * bytes, s + (size_t(r) * srcPitch + c) * bytes,
                  bytes);
}

void segDecay(const int32_t *a, int32_t *out, unsigned Q, int shift) {
  const int32_t one = int32_t(1) << shift;
  for (unsigned t = 0; t < Q; ++t) {
    int32_t *row = out + size_t(t) * (Q + 1);
    const int32_t *prev = t ? row - (Q + 1) : nullptr;
    for (unsigned c = 0; c <= Q; ++c) {
      if (c <= t) {
        const int64_t p = prev ? prev[c] : (c == 0 ? one : 0);
        row[c] = sat32(rnd(p * a[t], shift));
      } else
        row[c] = c == t + 1 ? one : 0;
    }
  }
}

void split16(const int32_t *x, int8_t *hi, int8_t *lo, unsigned n, int shift) {
  for (unsigned i = 0; i < n; ++i) {
    const int64_t v = std::clamp<int64_t>(rnd(int64_t(x[i]), shift), -32768, 32639);
    const int64_t h = (v + 128) >> 8; // floor: arithmetic shift
    hi[i] = static_cast<int8_t>(h);
    lo[i] = static_cast<int8_t>(v - 256 * h);
  }
}

} // namespace mamba2::isa::ref
