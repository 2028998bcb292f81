// SSM unit: per-head recurrent state update and output, SSM_LANES state columns per cycle.
//   S int32 [P][N]:  S = sat32(rnd(S * decay, ds) + rnd(dtx[p] * B[n], is))
//   y int32 [P]:     y[p] = sat32(rnd(sum_n S[p][n] * C[n], os))
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

/// Returns the cycles of its loops: per state row ceil(N / SSM_LANES).
template <class Cfg>
inline u64 ssm_update_unit(byte_t *spad, u64 S, u64 dtx, u64 B, u64 decay_at, unsigned P,
                           unsigned N, int ds, int is) {
  u64 busy = 0;
  const i64 decay = i64(ld32(spad, decay_at));
  // SSM_LANES state columns per cycle (S is written in place; B, dtx, decay overlap nothing).
  [[maybe_unused]] constexpr unsigned kLanes = Cfg::SSM_LANES;
rows:
  for (unsigned p = 0; p < kMaxLen; ++p) {
    if (p >= P)
      break;
    const i64 xp = i64(ld32(spad, dtx + 4 * u64(p)));
  cols:
    for (unsigned n = 0; n < kMaxLen; ++n) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
#pragma HLS DEPENDENCE variable = spad inter false
      if (n >= N)
        break;
      if (n % kLanes == 0)
        ++busy;
      u64 at = S + (u64(p) * N + n) * 4;
      i64 kept = rshift_round(i64(ld32(spad, at)) * decay, ds);
      i64 added = rshift_round(xp * i64(ld8(spad, B + n)), is);
      st32(spad, at, clip32(kept + added));
    }
  }
  return busy;
}

/// Returns the cycles of its loops: per state row ceil(N / SSM_LANES) (the 64-bit sum is exact,
/// so lane-parallel partial sums and an adder tree give the same result).
template <class Cfg>
inline u64 ssm_output_unit(byte_t *spad, u64 y, u64 S, u64 C, unsigned P, unsigned N, int os) {
  [[maybe_unused]] constexpr unsigned kLanes = Cfg::SSM_LANES;
  u64 busy = 0;
rows:
  for (unsigned p = 0; p < kMaxLen; ++p) {
    if (p >= P)
      break;
    i64 acc = 0;
  cols:
    for (unsigned n = 0; n < kMaxLen; ++n) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = kLanes
      if (n >= N)
        break;
      if (n % kLanes == 0)
        ++busy;
      acc += i64(ld32(spad, S + (u64(p) * N + n) * 4)) * i64(ld8(spad, C + n));
    }
    st32(spad, y + 4 * u64(p), clip32(rshift_round(acc, os)));
  }
  return busy;
}

} // namespace mamba2::hw
