// SSM unit: per-head recurrent state update and output, SSM_LANES state columns per cycle.
//   S int32 [P][N]:  S = sat32(rnd(S * decay, ds) + rnd(dtx[p] * B[n], is))
//   y int32 [P]:     y[p] = sat32(rnd(sum_n S[p][n] * C[n], os))
// One pipelined loop serves the three SSM micro-ops: ssmupd (the update), ssmout (the output)
// and ssmstep (both in one pass: each state row is read once, updated, written back, and its
// updated value goes on to the C dot product while it is still in registers). The unit's
// multipliers per lane are the loop's three: S * decay, dtx * B and S * C.
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

/// One SSM micro-op's operands: S [P][N] int32, the per-row input x [P] (dtx, update only),
/// B and C [N] int8, the decay (update only), the output y [P] (output only; ssmstep writes it
/// over x); `upd` / `out` select the update and the output.
struct SsmArgs {
  u64 S = 0, x = 0, B = 0, C = 0, decay = 0, y = 0;
  unsigned P = 0, N = 0;
  int ds = 0, is = 0, os = 0;
  bool upd = false, out = false;
};

/// Returns the cycles of its loop: per state row ceil(N / SSM_LANES) (the output's 64-bit sum
/// is exact, so lane-parallel partial sums and an adder tree give the same result).
template <class Cfg> inline u64 ssm_rows_unit(byte_t *spad, const SsmArgs &a) {
  u64 busy = 0;
  const i64 decay = a.upd ? i64(ld32(spad, a.decay)) : 0;
  // SSM_LANES state columns per cycle (S is written in place; x, B, C and the decay overlap
  // neither S nor y, and y[p] is written after row p's x[p] was read).
  [[maybe_unused]] constexpr unsigned kLanes = Cfg::SSM_LANES;
rows:
  for (unsigned p = 0; p < kMaxLen; ++p) {
    if (p >= a.P)
      break;
    const i64 xp = a.upd ? i64(ld32(spad, a.x + 4 * u64(p))) : 0;
    i64 acc = 0;
  cols:
    for (unsigned n = 0; n < kMaxLen; ++n) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
#pragma HLS DEPENDENCE variable = spad inter false
      if (n >= a.N)
        break;
      if (n % kLanes == 0)
        ++busy;
      const u64 at = a.S + (u64(p) * a.N + n) * 4;
      i64 s = i64(ld32(spad, at));
      if (a.upd) {
        i64 kept = rshift_round(s * decay, a.ds);
        i64 added = rshift_round(xp * i64(ld8(spad, a.B + n)), a.is);
        s = i64(clip32(kept + added));
        st32(spad, at, i32(s));
      }
      if (a.out)
        acc += s * i64(ld8(spad, a.C + n));
    }
    if (a.out)
      st32(spad, a.y + 4 * u64(p), clip32(rshift_round(acc, a.os)));
  }
  return busy;
}

/// segdecay's largest chunk (Q = len, 1..64: the ISA's check) and the cycles a row waits for
/// the previous one: a row's products need the previous row's (the multiply, then the rounding
/// and saturation), so a row takes at least that many cycles even when its Q + 1 columns fit
/// in fewer lane groups.
constexpr unsigned kSegDecayMaxQ = 64;
constexpr unsigned kSegDecayRowLatency = 4;

/// The cycles of segdecay's row loop: per row max(ceil((Q + 1) / lanes), the row latency).
inline u64 segdecay_loop_cycles(unsigned Q, unsigned lanes) {
  const u64 groups = (u64(Q) + lanes) / lanes; // ceil((Q + 1) / lanes)
  return u64(Q) * (groups > kSegDecayRowLatency ? groups : kSegDecayRowLatency);
}

/// segdecay: out int32 [Q][Q + 1] row by row from a int32 [Q] with `shift` fraction bits
/// (0..30). The previous row lives in registers (Q + 1 <= 65 words, SSM_LANES a cycle): column
/// c <= t is the previous row's c times a[t] (one of the lane's SSM multipliers, the one
/// ssmupd multiplies S by the decay with), rounded and saturated; column t + 1 starts at
/// 2^shift; the rest are 0. Returns the cycles of its loop (the busy counter).
template <class Cfg> inline u64 segdecay_unit(byte_t *spad, u64 out, u64 a, unsigned Q, int shift) {
  constexpr unsigned kLanes = Cfg::SSM_LANES;
  i32 prev[kSegDecayMaxQ + 1];
#pragma HLS ARRAY_PARTITION variable = prev complete
  const int sh = clamp_int(shift, 0, 30);
  const i32 one = i32(1) << sh;
init:
  for (unsigned c = 0; c <= kSegDecayMaxQ; ++c) {
#pragma HLS UNROLL
    prev[c] = c == 0 ? one : 0; // row -1
  }
  const unsigned groups = (Q + kLanes) / kLanes;
  const unsigned steps = groups > kSegDecayRowLatency ? groups : kSegDecayRowLatency;
  u64 busy = 0;
rows:
  for (unsigned t = 0; t < kSegDecayMaxQ; ++t) {
    if (t >= Q)
      break;
    const i64 at = i64(ld32(spad, a + 4 * u64(t)));
  cols:
    for (unsigned g = 0; g < kSegDecayMaxQ + 1; ++g) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = spad inter false
      if (g >= steps)
        break;
      ++busy; // a group of lanes, or a cycle waiting for the previous row
    lanes:
      for (unsigned l = 0; l < kLanes; ++l) {
#pragma HLS UNROLL
        const unsigned c = g * kLanes + l;
        if (c > Q)
          continue;
        const i32 v = c <= t ? clip32(rshift_round(i64(prev[c]) * at, sh)) : c == t + 1 ? one : 0;
        prev[c] = v;
        st32(spad, out + (u64(t) * (Q + 1) + c) * 4, v);
      }
    }
  }
  return busy;
}

} // namespace mamba2::hw
