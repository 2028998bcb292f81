// Compile-time board configurations for the HLS kernels, from the same config/boards.def the
// host side reads. BoardCfg<id>::MAT_K etc. size the unrolled datapaths.
#pragma once

namespace mamba2::hw {

template <unsigned Id> struct BoardCfg;
#define BOARD(id, name, part, dsp, bram, uram, lut, kind, mhz, peak, ach, lat, ports, bits, mk,    \
              mn, vl, sl, spad, qd)                                                                \
  template <> struct BoardCfg<id> {                                                                \
    static constexpr unsigned MAT_K = mk;   /* int8 MACs per dot product per cycle */              \
    static constexpr unsigned MAT_N = mn;   /* dot products per cycle */                           \
    static constexpr unsigned SCALE_LANES = /* group-scale multipliers (Board.h scaleLanes) */     \
        (mn)*2 * (mk) / 128 < 1      ? 1                                                           \
        : (mn)*2 * (mk) / 128 > (mn) ? (mn)                                                        \
                                     : (mn)*2 * (mk) / 128;                                        \
    static constexpr unsigned VEC_LANES = vl;                                                      \
    static constexpr unsigned SSM_LANES = sl;                                                      \
    static constexpr unsigned long SPAD_BYTES = (unsigned long)(spad)*1024ul;                      \
    static constexpr unsigned AXI_BITS = bits;                                                     \
    static constexpr unsigned QUEUE_DEPTH = qd; /* per-unit instruction queue */                   \
  };
#include "../../../config/boards.def"
#undef BOARD

// Largest sizes the ISA allows (loop trip-count bounds for HLS).
constexpr unsigned kMaxLen = 65535;  // micro-op len, matmul K and N (16-bit fields)
constexpr unsigned kMaxM = 63;       // matmul M (6-bit field)
constexpr unsigned kMaxFwht = 40960; // largest h*2^k <= kMaxLen (40 * 1024)

} // namespace mamba2::hw
