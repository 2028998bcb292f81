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
  // The chunked SSD form's units (trn, split16, segdecay): compiled out when false.
  static constexpr bool CHUNKED_SSD = B::CHUNKED_SSD;
  static constexpr unsigned long SPAD_BYTES = (unsigned long)B::SPAD_KIB * 1024ul;
  static constexpr unsigned AXI_BITS = B::PORTS_BITS;
  static constexpr unsigned AXI_PORTS = B::PORTS_COUNT;
  // Scratchpad bytes each unit reads + writes per cycle at its initiation interval of 1 (the
  // same formulas as target::Board::*SpadDemand; test/unit/hw/BoardTest.cpp compares them).
  static constexpr unsigned STRIPE_BYTES = B::PORTS_STRIPE_BYTES;   // target/Stripes.h
  static constexpr unsigned LOAD_DEMAND = AXI_PORTS * AXI_BITS / 8; // a beat per port
  static constexpr unsigned MAT_DEMAND = MAT_N * MAT_K + 2 * MAT_K; // weights + int8 act
  static constexpr unsigned VEC_DEMAND = 12 * VEC_LANES;            // 2 int32 in, 1 out
  static constexpr unsigned SSM_DEMAND = 16 * SSM_LANES;            // 3 int32 in, 1 out
  // The scratchpad's banks (target::Board::spadBanks, the same formula): SPAD_BANKS banks of
  // SPAD_WORD-byte words, word-interleaved (byte a in bank (a / SPAD_WORD) % SPAD_BANKS), two
  // ports each. A bank word is one URAM / BRAM36 word (72 bits, 64 of data); a bank is one
  // primitive deep. As many banks as the capacity needs, at least as many as the widest unit
  // needs with both ports, rounded up to a power of two.
  static constexpr unsigned SPAD_WORD = 8;
  static constexpr unsigned long SPAD_PRIM_BYTES = B::BUDGET_URAM > 0 ? 32768ul : 4096ul;
  static constexpr unsigned long SPAD_BANKS_CAP =
      (SPAD_BYTES + SPAD_PRIM_BYTES - 1) / SPAD_PRIM_BYTES;
  static constexpr unsigned MAX_DEMAND = MAT_DEMAND > VEC_DEMAND
                                             ? (MAT_DEMAND > SSM_DEMAND ? MAT_DEMAND : SSM_DEMAND)
                                             : (VEC_DEMAND > SSM_DEMAND ? VEC_DEMAND : SSM_DEMAND);
  static constexpr unsigned long SPAD_BANKS_WIDTH =
      (MAX_DEMAND + 2 * SPAD_WORD - 1) / (2 * SPAD_WORD);
  static constexpr unsigned long pow2ceil(unsigned long v) {
    unsigned long p = 1;
    while (p < v)
      p *= 2;
    return p;
  }
  static constexpr unsigned SPAD_BANKS =
      unsigned(pow2ceil(SPAD_BANKS_CAP > SPAD_BANKS_WIDTH ? SPAD_BANKS_CAP : SPAD_BANKS_WIDTH));
  /// Bytes per cycle the banks serve: both ports of every bank, a word each.
  static constexpr unsigned SPAD_SUPPLY = 2 * SPAD_BANKS * SPAD_WORD;
  static constexpr unsigned SPAD_LANES = SPAD_BANKS * SPAD_WORD; // bytes per port per cycle
  static constexpr unsigned QUEUE_DEPTH = B::QUEUE_DEPTH;        // per-unit instruction queue
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
