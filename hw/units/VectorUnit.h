// Datapaths of the two microcoded units. vector_datapath runs element-wise ops, requantisation,
// reductions, conv1d and the Hadamard transform; ssm_datapath runs piecewise-linear functions,
// rsqrt and the SSM step. Micro-op codes are the spec's ([[uop]] in isa/spec/isa.toml).
#pragma once
#include "Conv.h"
#include "Hadamard.h"
#include "Pwl.h"
#include "Ssm.h"
#include "Transpose.h"
#include "Uop.h"
#include "mamba2/isa/Encoding.gen.h"

namespace mamba2::hw {

using isa::UopCode;

/// The sum of squares' cap (isa: the sum saturates at 2^63 - 1).
constexpr u64 kSumsqCap = u64(0x7FFFFFFFFFFFFFFFull);

/// s + x saturated at the cap (both >= 0).
inline u64 sumsq_add(u64 s, u64 x) {
#pragma HLS INLINE
  return (kSumsqCap - x < s) ? kSumsqCap : s + x;
}

/// The adder tree over the lanes' partial sums, then the rounding right shift by `shift`
/// (0..63; round half up in unsigned arithmetic, no overflow at the cap), saturated to int32:
/// every term is >= 0, so the result is min(cap, sum) in any order.
template <unsigned kLanes> i32 sumsq_reduce(const u64 (&part)[kLanes], int shift) {
#pragma HLS INLINE
  u64 s = 0;
tree:
  for (unsigned l = 0; l < kLanes; ++l) {
#pragma HLS UNROLL
    s = sumsq_add(s, part[l]);
  }
  const int sh = clamp_int(shift, 0, 63);
  const u64 q = sh == 0 ? s : (s + (u64(1) << (sh - 1))) >> sh;
  return clip32(q > kSumsqCap ? i64(kSumsqCap) : i64(q));
}

/// Runs one vector micro-op; returns the cycles of its II = 1 loops (the busy counter).
template <class Cfg> u64 vector_datapath(byte_t *spad, const UopOperands &u) {
  static_assert(Cfg::VEC_DEMAND == 12 * Cfg::VEC_LANES && Cfg::VEC_DEMAND <= Cfg::SPAD_SUPPLY,
                "vector unit: VEC_LANES lanes' operands exceed what the banks serve");
  const bool bcast = (u.p1 & 1) != 0;
  const unsigned op = unsigned(u.op);
  if (u.len == 0)
    return 0; // len 0 does nothing, reductions included
  if (op == unsigned(UopCode::Fwht))
    return hadamard_unit<Cfg::VEC_LANES>(spad, u64(u.dst), u.len);
  if (op == unsigned(UopCode::Conv4))
    return conv4_unit<Cfg::VEC_LANES>(spad, u64(u.dst), u64(u.src0), u64(u.src1), u64(u.src2),
                                      u.len);
  if (op == unsigned(UopCode::Conv4pwl)) { // the table at src1, the conv parameters p4 after it
    ConvPwl f;
    f.on = true;
    f.mul = (u.p2 & 1) != 0;
    f.table = u64(u.src1);
    f.shift = clamp_int(u.p0, 0, 63);
    return conv4_unit<Cfg::VEC_LANES>(spad, u64(u.dst), u64(u.src0),
                                      u64(u.src1) + u64(u.p4 < 0 ? 0 : u.p4), u64(u.src2), u.len,
                                      f);
  }
  if (op == unsigned(UopCode::Trn)) { // the chunked SSD form's transpose (Transpose.h)
    if constexpr (Cfg::CHUNKED_SSD) {
      if (!chunked_ssd_params_ok(u))
        return 0; // refused before a unit runs
      static_assert(4 * Cfg::VEC_LANES / Cfg::SPAD_WORD + 1 <= Cfg::SPAD_BANKS,
                    "trn: a row of VEC_LANES int32 must fall on different banks");
      const unsigned C = unsigned(u.p0 < 1 ? 1 : u.p0), bytes = u.p1 == 4 ? 4u : 1u;
      return transpose_unit<Cfg::VEC_LANES>(spad, u64(u.dst), u64(u.src0), u.len, C, bytes,
                                            u.p2 > 0 ? unsigned(u.p2) : C,
                                            u.p3 > 0 ? unsigned(u.p3) : u.len);
    }
    return 0; // a board built without the chunked SSD units: refused before a unit runs
  }
  [[maybe_unused]] constexpr unsigned kLanes = Cfg::VEC_LANES;
  u64 busy = 0;
  if (op == unsigned(UopCode::Mulsumsq) || op == unsigned(UopCode::Addsumsq)) {
    // The mulsh32 lanes, each product (saturated, rounded: the value written) squared by a
    // second multiplier per lane into the lane's partial sum, then sumsq's adder tree: one pass
    // writes the product and reduces it (reads 2 int32, writes 1 per lane, as mulsh32).
    // addsumsq: the add32 lanes' sum in the product's place (the residual add and the next
    // norm's reduction).
    const bool add = op == unsigned(UopCode::Addsumsq);
    const int msh = clamp_int(u.p0, 0, 63);
    u64 part[kLanes];
#pragma HLS ARRAY_PARTITION variable = part complete
    for (unsigned l = 0; l < kLanes; ++l)
      part[l] = 0;
  mulsumsq:
    for (unsigned i = 0; i < kMaxLen; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
#pragma HLS DEPENDENCE variable = spad inter false
      if (i >= u.len)
        break;
      if (i % kLanes == 0)
        ++busy;
      const i64 a = ld32(spad, u.src0 + 4 * u64(i));
      const i64 b = ld32(spad, u.src1 + (bcast ? 0 : 4 * u64(i)));
      const i32 y = add ? clip32(a + b) : clip32(rshift_round(a * b, msh));
      st32(spad, u.dst + 4 * u64(i), y);
      u64 &s = part[i % kLanes];
      s = sumsq_add(s, u64(i64(y) * i64(y)));
    }
    st32(spad, u.src2, sumsq_reduce(part, u.p2));
    return busy;
  }
  if (op == unsigned(UopCode::Sumsq)) {
    // VEC_LANES squares per cycle into per-lane partial sums, each saturating at the cap, then
    // the adder tree (sumsq_reduce).
    u64 part[kLanes];
#pragma HLS ARRAY_PARTITION variable = part complete
    for (unsigned l = 0; l < kLanes; ++l)
      part[l] = 0;
  sumsq:
    for (unsigned i = 0; i < kMaxLen; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
      if (i >= u.len)
        break;
      if (i % kLanes == 0)
        ++busy;
      i64 x = ld32(spad, u.src0 + 4 * u64(i));
      u64 &s = part[i % kLanes];
      s = sumsq_add(s, u64(x * x));
    }
    st32(spad, u.dst, sumsq_reduce(part, u.p0));
    return busy;
  }
  // VEC_LANES elements per cycle: a written operand is exactly a source (in place) or overlaps
  // none (the ISA's rule, checked before a unit runs), so the lanes carry no dependence.
elements:
  for (unsigned i = 0; i < kMaxLen; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
#pragma HLS DEPENDENCE variable = spad inter false
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 8192
    if (i >= u.len)
      break;
    if (i % kLanes == 0)
      ++busy;
    const u64 a4 = u.src0 + 4 * u64(i);
    const u64 b4 = u.src1 + (bcast ? 0 : 4 * u64(i));
    switch (op) {
    case unsigned(UopCode::Add32):
      st32(spad, u.dst + 4 * u64(i), clip32(i64(ld32(spad, a4)) + i64(ld32(spad, b4))));
      break;
    case unsigned(UopCode::Mulsh32):
      st32(spad, u.dst + 4 * u64(i),
           clip32(rshift_round(i64(ld32(spad, a4)) * i64(ld32(spad, b4)), clamp_int(u.p0, 0, 63))));
      break;
    case unsigned(UopCode::Shift32): {
      i32 x = ld32(spad, a4);
      int s = clamp_int(u.p0, -31, 63);
      st32(spad, u.dst + 4 * u64(i),
           s >= 0 ? clip32(rshift_round(i64(x), s)) : clip32(i64(x) * (i64(1) << -s)));
      break;
    }
    case unsigned(UopCode::Sext8):
      st32(spad, u.dst + 4 * u64(i),
           i32(ld8(spad, u.src0 + i)) * (i32(1) << clamp_int(u.p0, 0, 23)));
      break;
    case unsigned(UopCode::Req8): {
      i32 mult = ld32(spad, b4);
      unsigned sh = unsigned(spad[u.src2 + (bcast ? 0 : i)]);
      st8(spad, u.dst + i, clip8(rshift_round(i64(ld32(spad, a4)) * i64(mult), int(sh))));
      break;
    }
    case unsigned(UopCode::Shr8):
      st8(spad, u.dst + i, clip8(rshift_round(i64(ld32(spad, a4)), clamp_int(u.p0, 0, 63))));
      break;
    case unsigned(UopCode::Split16):
      // shr8's lane with a 16-bit clamp, then the halves: v = 256 hi + lo, hi = floor((v +
      // 128) / 256) (an add and an arithmetic shift), lo = v - 256 hi (the low byte, biased).
      if constexpr (Cfg::CHUNKED_SSD) {
        const i64 r = rshift_round(i64(ld32(spad, a4)), clamp_int(u.p0, 0, 31));
        const i64 v = r < -32768 ? -32768 : r > 32639 ? 32639 : r;
        const i64 hi = (v + 128) >> 8;
        st8(spad, u.dst + i, i8(hi));
        st8(spad, u.src2 + i, i8(v - 256 * hi));
      }
      break;
    default:
      break;
    }
  }
  return busy;
}

/// Runs one SSM / nonlinear micro-op; returns the cycles of its II = 1 loops (the busy counter).
template <class Cfg> u64 ssm_datapath(byte_t *spad, const UopOperands &u) {
  static_assert(Cfg::SSM_DEMAND == 16 * Cfg::SSM_LANES && Cfg::SSM_DEMAND <= Cfg::SPAD_SUPPLY,
                "SSM unit: SSM_LANES lanes' operands exceed what the banks serve");
  const unsigned op = unsigned(u.op);
  if (op == unsigned(UopCode::Ssmupd) || op == unsigned(UopCode::Ssmout) ||
      op == unsigned(UopCode::Ssmstep)) {
    // Operands by micro-op: ssmupd S = dst, dtx = src0, B = src1, decay = src2; ssmout y = dst,
    // S = src0, C = src1; ssmstep S = dst, dtx and y = src0, B = src1, C = src1 + p4,
    // decay = src2.
    SsmArgs a;
    a.P = u.len;
    a.N = unsigned(u.p0 < 0 ? 0 : u.p0);
    a.upd = op != unsigned(UopCode::Ssmout);
    a.out = op != unsigned(UopCode::Ssmupd);
    a.S = u64(a.upd ? u.dst : u.src0);
    a.x = u64(u.src0);
    a.B = u64(u.src1);
    a.C = op == unsigned(UopCode::Ssmstep) ? u64(u.src1) + u64(u.p4 < 0 ? 0 : u.p4) : u64(u.src1);
    a.decay = u64(u.src2);
    a.y = u64(a.upd ? u.src0 : u.dst);
    a.ds = clamp_int(u.p1, 0, 63);
    a.is = clamp_int(u.p2, 0, 63);
    a.os = clamp_int(op == unsigned(UopCode::Ssmout) ? u.p1 : u.p3, 0, 63);
    return ssm_rows_unit<Cfg>(spad, a);
  }
  if (op == unsigned(UopCode::Segdecay)) { // the chunked SSD form's segment decays
    if constexpr (Cfg::CHUNKED_SSD)
      return u.len && chunked_ssd_params_ok(u)
                 ? segdecay_unit<Cfg>(spad, u64(u.dst), u64(u.src0), u.len, u.p0)
                 : 0;
    return 0; // a board built without the chunked SSD units: refused before a unit runs
  }
  u64 busy = 0;
  if (op == unsigned(UopCode::Pwlmulpwl)) {
    // Each lane's one table evaluator twice per element (II = 2): the first table, the multiply
    // by m (one of the lane's SSM multipliers, idle here) and the second table; the first
    // table's value is written (src2), the product never is. Tables at src1 and src1 + p3, the
    // multipliers at src1 + p4.
    const PwlTableHeader h1 = read_pwl_header(spad, u.src1);
    const u64 t2 = u64(u.src1) + u64(u.p3 < 0 ? 0 : u.p3);
    const u64 m = u64(u.src1) + u64(u.p4 < 0 ? 0 : u.p4);
    const PwlTableHeader h2 = read_pwl_header(spad, t2);
    const bool bcast = (u.p1 & 1) != 0;
    const int msh = clamp_int(u.p0, 0, 63);
    // The multiplier's index: 0 (broadcast), i, or i mod p2 (rows of p2 channels in one run):
    // a counter that wraps at p2, no divider.
    const unsigned per = u.p2 > 0 ? unsigned(u.p2) : 0;
    unsigned j = 0;
    [[maybe_unused]] constexpr unsigned kLanes = Cfg::SSM_LANES;
  pwlmulpwl:
    for (unsigned i = 0; i < kMaxLen; ++i) {
#pragma HLS PIPELINE II = 2
#pragma HLS UNROLL factor = kLanes
#pragma HLS DEPENDENCE variable = spad inter false
      if (i >= u.len)
        break;
      if (i % kLanes == 0)
        busy += 2;
      const i32 s = pwl_eval(spad, u.src1, h1, ld32(spad, u.src0 + 4 * u64(i)));
      const i32 v =
          clip32(rshift_round(i64(s) * i64(ld32(spad, m + (bcast ? 0 : 4 * u64(j)))), msh));
      j = per && j + 1 == per ? 0 : j + 1;
      st32(spad, u.src2 + 4 * u64(i), s);
      st32(spad, u.dst + 4 * u64(i), pwl_eval(spad, t2, h2, v));
    }
    return busy;
  }
  if (op != unsigned(UopCode::Pwl) && op != unsigned(UopCode::Rsqrt))
    return 0;
  const PwlTableHeader h = read_pwl_header(spad, u.src1);
  [[maybe_unused]] constexpr unsigned kLanes = Cfg::SSM_LANES; // as the vector unit's lanes
nonlinear:
  for (unsigned i = 0; i < kMaxLen; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
#pragma HLS DEPENDENCE variable = spad inter false
    if (i >= u.len)
      break;
    if (i % kLanes == 0)
      ++busy;
    i32 x = ld32(spad, u.src0 + 4 * u64(i));
    st32(spad, u.dst + 4 * u64(i),
         op == unsigned(UopCode::Pwl) ? pwl_eval(spad, u.src1, h, x)
                                      : rsqrt_eval(spad, u.src1, h, x));
  }
  return busy;
}

} // namespace mamba2::hw
