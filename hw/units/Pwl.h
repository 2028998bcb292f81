// Nonlinear approximation unit: piecewise-linear tables (exp, softplus, SiLU, sigmoid) and
// the normalised rsqrt. Table layout: isa/Reference.h (int32 [4 + 2n]).
#pragma once
#include "SpadIo.h"

namespace mamba2::hw {

struct PwlTableHeader {
  i32 x0;
  int seg_shift, n, slope_shift;
};

inline PwlTableHeader read_pwl_header(const byte_t *spad, u64 t) {
  PwlTableHeader h;
  h.x0 = ld32(spad, t);
  i32 sh = ld32(spad, t + 4);
  h.seg_shift = sh < 0 ? 0 : sh > 31 ? 31 : int(sh);
  i32 n = ld32(spad, t + 8);
  h.n = n < 1 ? 1 : n > 256 ? 256 : int(n);
  i32 ss = ld32(spad, t + 12);
  h.slope_shift = ss < 0 ? 0 : ss > 63 ? 63 : int(ss);
  return h;
}

inline i32 pwl_eval(const byte_t *spad, u64 t, const PwlTableHeader &h, i32 x) {
#pragma HLS INLINE
  i64 rel = i64(x) - i64(h.x0);
  i64 seg = rel >> h.seg_shift; // arithmetic shift: floor
  i64 idx = seg < 0 ? i64(0) : seg > i64(h.n - 1) ? i64(h.n - 1) : seg;
  i64 start = i64(h.x0) + (idx << h.seg_shift);
  i32 d = clip32(i64(x) - start);
  i32 b = ld32(spad, t + 16 + u64(idx) * 8);
  i32 k = ld32(spad, t + 20 + u64(idx) * 8);
  return clip32(i64(b) + rshift_round(i64(k) * i64(d), h.slope_shift));
}

/// Normalise x > 0 into [2^29, 2^31) by an even left shift s2; returns s2.
inline int rsqrt_normalise(i32 x) {
#pragma HLS INLINE
  int msb = 0;
  for (int b = 30; b >= 0; --b) {
#pragma HLS UNROLL
    if (((u32(x) >> b) & 1) && msb == 0)
      msb = b;
  }
  int t = 30 - msb;
  return t - (t & 1);
}

inline i32 rsqrt_eval(const byte_t *spad, u64 t, const PwlTableHeader &h, i32 x) {
#pragma HLS INLINE
  if (x <= 0)
    return i32(2147483647);
  int s2 = rsqrt_normalise(x);
  i32 m = i32(u32(x) << s2);
  i64 y = i64(pwl_eval(spad, t, h, m)) * (i64(1) << (s2 >> 1));
  return clip32(y);
}

} // namespace mamba2::hw
