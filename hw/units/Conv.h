// Causal depthwise conv1d (kernel 4) step with its int8 state; VEC_LANES channels per cycle.
// x int8 [C], params: w int8 [C][4] then bias int32 [C], state int8 [C][3], y int32 [C].
// conv4pwl goes on in the same loop: the channel's sum times its multiplier m[c] (int32 [C]
// after the bias) and through a piecewise-linear table (the SiLU), then written; the conv's
// output never reaches the scratchpad.
#pragma once
#include "Pwl.h"
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

/// The conv4pwl tail of a conv4: the table (at `table`, its header read once) and whether to
/// multiply by m[c] (at params + 8C) with rounding shift `shift` first.
struct ConvPwl {
  bool on = false, mul = false;
  u64 table = 0;
  int shift = 0;
};

/// Returns the cycles of its loop: LANES channels per cycle (channels are independent: each
/// reads and writes only its own state, weights and output).
template <unsigned LANES>
inline u64 conv4_unit(byte_t *spad, u64 y, u64 x, u64 params, u64 state, unsigned C,
                      const ConvPwl &f = ConvPwl{}) {
  u64 busy = 0;
  const PwlTableHeader h = f.on ? read_pwl_header(spad, f.table) : PwlTableHeader{0, 0, 1, 0};
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
    i32 v = clip32(acc);
    if (f.on) {
      if (f.mul)
        v = clip32(
            rshift_round(i64(v) * i64(ld32(spad, params + 8 * u64(C) + 4 * u64(c))), f.shift));
      v = pwl_eval(spad, f.table, h, v);
    }
    st32(spad, y + 4 * u64(c), v);
    st8(spad, state + 3 * u64(c), s1);
    st8(spad, state + 3 * u64(c) + 1, s2);
    st8(spad, state + 3 * u64(c) + 2, xc);
  }
  return busy;
}

} // namespace mamba2::hw
