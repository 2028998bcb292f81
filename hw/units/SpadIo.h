// Scratchpad access and the integer helpers every unit shares (HLS synthesisable).
// Written independently of isa/Arith.h; the testbenches prove they agree bit for bit.
#pragma once
#include "mamba2/hw/HlsTypes.h"

namespace mamba2::hw {

// Little-endian loads/stores; addresses were range-checked before a unit runs.
inline i32 ld32(const byte_t *s, u64 a) {
#pragma HLS INLINE
  u32 v = u32(s[a]) | (u32(s[a + 1]) << 8) | (u32(s[a + 2]) << 16) | (u32(s[a + 3]) << 24);
  return i32(v);
}
inline void st32(byte_t *s, u64 a, i32 v) {
#pragma HLS INLINE
  u32 u = u32(v);
  s[a] = byte_t(u & 0xFF);
  s[a + 1] = byte_t((u >> 8) & 0xFF);
  s[a + 2] = byte_t((u >> 16) & 0xFF);
  s[a + 3] = byte_t((u >> 24) & 0xFF);
}
inline i8 ld8(const byte_t *s, u64 a) {
#pragma HLS INLINE
  u32 v = u32(s[a]);
  return i8(v >= 128 ? int(v) - 256 : int(v));
}
inline void st8(byte_t *s, u64 a, i8 v) {
#pragma HLS INLINE
  s[a] = byte_t(u32(int(v) & 0xFF));
}

/// Round-half-away-from-zero right shift: non-negative values add the half in unsigned
/// arithmetic; negative values use floor((x + 2^(s-1) - 1) / 2^s). s clamps to 0..63.
inline i64 rshift_round(i64 x, int s) {
#pragma HLS INLINE
  if (s <= 0)
    return x;
  if (s > 63)
    s = 63;
  if (x >= 0)
    return i64((u64(x) + (u64(1) << (s - 1))) >> s);
  return (x + ((i64(1) << (s - 1)) - 1)) >> s;
}
inline i32 clip32(i64 x) {
#pragma HLS INLINE
  const i64 hi = 2147483647, lo = -hi - 1;
  return i32(x > hi ? hi : x < lo ? lo : x);
}
inline i8 clip8(i64 x) {
#pragma HLS INLINE
  return i8(x > 127 ? 127 : x < -128 ? -128 : x);
}
inline int clamp_int(int v, int lo, int hi) {
#pragma HLS INLINE
  return v < lo ? lo : v > hi ? hi : v;
}
/// Two's complement wrapping add of int32s.
inline i32 add_wrap(i32 a, i32 b) {
#pragma HLS INLINE
  return i32(u32(a) + u32(b));
}

} // namespace mamba2::hw
