// Compile-time board configurations for the HLS kernels, from the same target descriptions
// (target/boards/*.toml, through the generated Boards.gen.h) the host side reads.
// BoardCfg<id>::MAT_K etc. size the unrolled datapaths.
#pragma once

#include "mamba2/target/Boards.gen.h"

namespace mamba2::hw {

template <unsigned Id> struct BoardCfg;

/// The unit sizes of one board description B, with the figures derived from them.
template <class B> struct BoardUnits {
  static constexpr unsigned MAT_K = B::MAT_K; // int8 MACs per dot product per cycle
  static constexpr unsigned MAT_N = B::MAT_N; // dot products per cycle
  // group-scale multipliers (Board.h scaleLanes): matN * 2 * matK / 128, clamped to 1..matN
  static constexpr unsigned SCALE_LANES = MAT_N * 2 * MAT_K / 128 < 1 ? 1
                                          : MAT_N * 2 * MAT_K / 128 > MAT_N
                                              ? MAT_N
                                              : MAT_N * 2 * MAT_K / 128;
  static constexpr unsigned VEC_LANES = B::VEC_LANES;
  static constexpr unsigned SSM_LANES = B::SSM_LANES;
  static constexpr unsigned long SPAD_BYTES = (unsigned long)B::SPAD_KIB * 1024ul;
  static constexpr unsigned AXI_BITS = B::PORTS_BITS;
  static constexpr unsigned AXI_PORTS = B::PORTS_COUNT;
  // The scratchpad's cyclic partition: one-byte banks, as many as an AXI beat has bytes, so a
  // DMA beat of consecutive bytes is served in one cycle at any address (units/Dma.h asserts
  // it; the top declares the partition).
  static constexpr unsigned SPAD_BANKS = B::PORTS_BITS / 8;
  static constexpr unsigned QUEUE_DEPTH = B::QUEUE_DEPTH; // per-unit instruction queue
};

#define MAMBA2_BOARD_CFG(id, B)                                                                    \
  template <> struct BoardCfg<id> : BoardUnits<B> {};
MAMBA2_TARGET_BOARDS(MAMBA2_BOARD_CFG)
#undef MAMBA2_BOARD_CFG

// Largest sizes the ISA allows (loop trip-count bounds for HLS).
constexpr unsigned kMaxLen = 65535;  // micro-op len, matmul K and N (16-bit fields)
constexpr unsigned kMaxM = 63;       // matmul M (6-bit field)
constexpr unsigned kMaxFwht = 40960; // largest h*2^k <= kMaxLen (40 * 1024)

} // namespace mamba2::hw
