// Integer building blocks of every operation: rounding shifts and saturation. These definitions
// are the contract; the overlay (hw/) and the compiler's integer evaluator must agree bit for bit.
#pragma once
#include <cstdint>

namespace mamba2::isa::ref {

/// Clamp to the int32 range.
inline int32_t sat32(int64_t x) {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : static_cast<int32_t>(x);
}
/// Clamp to the int8 range.
inline int8_t sat8(int64_t x) {
  return x > 127 ? int8_t(127) : x < -128 ? int8_t(-128) : static_cast<int8_t>(x);
}

/// x / 2^s rounded to nearest, ties away from zero ("round half away from zero").
/// s is clamped to 0..63. Exact for every int64 x (the magnitude is taken as uint64).
///   rnd(5, 1) = 3, rnd(-5, 1) = -3, rnd(4, 1) = 2, rnd(-1, 1) = -1, rnd(x, 0) = x.
inline int64_t rnd(int64_t x, int s) {
  if (s <= 0)
    return x;
  if (s > 63)
    s = 63;
  uint64_t mag = x < 0 ? uint64_t(0) - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  uint64_t q = (mag >> s) + ((mag >> (s - 1)) & 1u); // add the half bit: ties go up in magnitude
  return x < 0 ? -static_cast<int64_t>(q) : static_cast<int64_t>(q);
}

/// Power-of-two scaling of an int32: s >= 0 divides with rnd(); s < 0 multiplies by 2^-s and
/// saturates. s is clamped to -31..63.
inline int32_t shift32(int32_t x, int s) {
  if (s >= 0)
    return sat32(rnd(x, s));
  if (s < -31)
    s = -31;
  return sat32(static_cast<int64_t>(x) * (int64_t(1) << -s));
}

/// Per-channel fixed-point requantisation int32 -> int8: sat8(rnd(x * mult, shift)).
inline int8_t requant8(int32_t x, int32_t mult, unsigned shift) {
  return sat8(rnd(static_cast<int64_t>(x) * mult, static_cast<int>(shift)));
}

/// Scaling of one K-group's int32 partial sum by its fixed-point scale: the exact int64 product
/// p * scale, then shift >= 0: sat32(rnd(product, shift)) (round half away from zero);
/// shift < 0: sat32(product * 2^-shift) (saturating left shift, shift clamped to -31).
inline int32_t scaleGroup(int32_t p, int32_t scale, int shift) {
  int64_t ps = static_cast<int64_t>(p) * scale;
  if (shift >= 0)
    return sat32(rnd(ps, shift));
  int k = shift < -31 ? 31 : -shift;
  if (ps > (int64_t(INT32_MAX) >> k))
    return INT32_MAX;
  if (ps < -(int64_t(1) << (31 - k)))
    return INT32_MIN;
  return static_cast<int32_t>(ps * (int64_t(1) << k));
}

/// Signed value of one nibble of a packed int4 byte: low nibble = even element.
inline int8_t int4At(uint8_t byte, bool high) {
  int v = high ? (byte >> 4) : (byte & 0xF);
  return static_cast<int8_t>(v >= 8 ? v - 16 : v);
}

/// Wrapping int32 addition (two's complement), without signed-overflow UB.
inline int32_t wrapAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t wrapSub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}

} // namespace mamba2::isa::ref
