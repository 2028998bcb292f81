// Matrix unit: MAT_N dot products of MAT_K int8 (or 2*MAT_K int4) products per cycle.
// acc int32 [M][N] (+)= act int8 [M][K] . wgt [N][K]^T; int32 accumulation wraps.
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

struct MatmulArgs {
  u64 act, wgt, acc; // scratchpad byte addresses
  unsigned m, k, n;
  bool accum, int4;
};

/// Weight element k of output channel n (int8 [N][K] or packed int4 [N][K/2]).
inline i32 weight_at(const byte_t *s, const MatmulArgs &a, unsigned n, unsigned k) {
#pragma HLS INLINE
  if (!a.int4)
    return i32(ld8(s, a.wgt + u64(n) * a.k + k));
  u32 b = u32(s[a.wgt + u64(n) * (a.k / 2) + k / 2]);
  u32 nib = (k & 1) ? (b >> 4) & 0xF : b & 0xF;
  return i32(int(nib) - ((nib & 0x8) ? 16 : 0)); // sign-extend 4 bits
}

template <class Cfg> void matrix_unit(byte_t *spad, const MatmulArgs &a) {
  const unsigned LK = a.int4 ? 2 * Cfg::MAT_K : Cfg::MAT_K; // int4 packs two products per DSP lane
rows:
  for (unsigned m = 0; m < kMaxM; ++m) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 63
    if (m >= a.m)
      break;
  col_tiles:
    for (unsigned n0 = 0; n0 < kMaxLen; n0 += Cfg::MAT_N) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
      if (n0 >= a.n)
        break;
      i32 acc[Cfg::MAT_N];
#pragma HLS ARRAY_PARTITION variable = acc complete
    init:
      for (unsigned j = 0; j < Cfg::MAT_N; ++j) {
#pragma HLS UNROLL
        unsigned n = n0 + j;
        acc[j] = (a.accum && n < a.n) ? ld32(spad, a.acc + (u64(m) * a.n + n) * 4) : i32(0);
      }
    k_tiles:
      for (unsigned k0 = 0; k0 < kMaxLen; k0 += LK) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 2048
        if (k0 >= a.k)
          break;
      lanes_n:
        for (unsigned j = 0; j < Cfg::MAT_N; ++j) {
#pragma HLS UNROLL
          i32 dot = 0;
        lanes_k:
          for (unsigned i = 0; i < 2 * Cfg::MAT_K; ++i) {
#pragma HLS UNROLL
            unsigned k = k0 + i, n = n0 + j;
            if (i < LK && k < a.k && n < a.n)
              dot = add_wrap(dot,
                             i32(ld8(spad, a.act + u64(m) * a.k + k)) * weight_at(spad, a, n, k));
          }
          acc[j] = add_wrap(acc[j], dot);
        }
      }
    store:
      for (unsigned j = 0; j < Cfg::MAT_N; ++j) {
#pragma HLS UNROLL
        unsigned n = n0 + j;
        if (n < a.n)
          st32(spad, a.acc + (u64(m) * a.n + n) * 4, acc[j]);
      }
    }
  }
}

} // namespace mamba2::hw
