// Causal depthwise conv1d (kernel 4) step with its int8 state; VEC_LANES channels per cycle.
// x int8 [C], params: w int8 [C][4] then bias int32 [C], state int8 [C][3], y int32 [C].
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

/// Returns the cycles of its loop: LANES channels per cycle (channels are independent: each
/// reads and writes only its own state, weights and output).
template <unsigned LANES>
inline u64 conv4_unit(byte_t *spad, u64 y, u64 x, u64 params, u64 state, unsigned C) {
  u64 busy = 0;
channels:
  for (unsigned c = 0; c < kMaxLen; ++c) {
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = LANES
#pragma HLS DEPENDENCE variable = spad inter false
    if (c >= C)
      break;
    if (c % LANES == 0)
      ++busy;
    i8 s0 = ld8(spad, state + 3 * u64(c)), s1 = ld8(spad, state + 3 * u64(c) + 1),
       s2 = ld8(spad, state + 3 * u64(c) + 2), xc = ld8(spad, x + c);
    i64 acc = i64(ld32(spad, params + 4 * u64(C) + 4 * u64(c)));
    acc += i64(i32(ld8(spad, params + 4 * u64(c))) * i32(s0));
    acc += i64(i32(ld8(spad, params + 4 * u64(c) + 1)) * i32(s1));
    acc += i64(i32(ld8(spad, params + 4 * u64(c) + 2)) * i32(s2));
    acc += i64(i32(ld8(spad, params + 4 * u64(c) + 3)) * i32(xc));
    st32(spad, y + 4 * u64(c), clip32(acc));
    st8(spad, state + 3 * u64(c), s1);
    st8(spad, state + 3 * u64(c) + 1, s2);
    st8(spad, state + 3 * u64(c) + 2, xc);
  }
  return busy;
}

} // namespace mamba2::hw
