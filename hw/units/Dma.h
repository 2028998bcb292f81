// DMA engines: 2-D strided copies between a DRAM region (an m_axi port on the board) and the
// scratchpad; scratchpad rows are contiguous. One step per AXI beat: BEAT bytes (the board's
// port width) move per cycle, the last beat of a row partial. The scratchpad's banks
// (SPAD_BANKS banks of SPAD_WORD-byte words, word-interleaved, HlsConfig.h) serve a beat of
// consecutive bytes at any address on one port: BEAT / SPAD_WORD + 1 words in as many banks.
#pragma once
#include "SpadIo.h"

namespace mamba2::hw {

struct DmaArgs {
  u64 spad, dram; // scratchpad byte address, byte offset in the region
  unsigned rows, rowb, stride;
};

template <class Cfg> inline void dma_load(byte_t *spad, const byte_t *region, const DmaArgs &a) {
  constexpr unsigned BEAT = Cfg::AXI_BITS / 8;
  static_assert(Cfg::LOAD_DEMAND == BEAT && BEAT / Cfg::SPAD_WORD + 1 <= Cfg::SPAD_BANKS,
                "DMA: a beat per cycle needs its words in distinct scratchpad banks");
rows:
  for (unsigned r = 0; r < 4096; ++r) {
    if (r >= a.rows)
      break;
  beats:
    for (unsigned t = 0; t < 65536 / BEAT + 1; ++t) {
#pragma HLS PIPELINE II = 1
      if (u64(t) * BEAT >= a.rowb)
        break;
    lanes:
      for (unsigned i = 0; i < BEAT; ++i) {
#pragma HLS UNROLL
        const unsigned b = t * BEAT + i;
        if (b < a.rowb)
          spad[a.spad + u64(r) * a.rowb + b] = region[a.dram + u64(r) * a.stride + b];
      }
    }
  }
}

template <class Cfg> inline void dma_store(const byte_t *spad, byte_t *region, const DmaArgs &a) {
  constexpr unsigned BEAT = Cfg::AXI_BITS / 8;
  static_assert(Cfg::LOAD_DEMAND == BEAT && BEAT / Cfg::SPAD_WORD + 1 <= Cfg::SPAD_BANKS,
                "DMA: a beat per cycle needs its words in distinct scratchpad banks");
rows:
  for (unsigned r = 0; r < 4096; ++r) {
    if (r >= a.rows)
      break;
  beats:
    for (unsigned t = 0; t < 65536 / BEAT + 1; ++t) {
#pragma HLS PIPELINE II = 1
      if (u64(t) * BEAT >= a.rowb)
        break;
    lanes:
      for (unsigned i = 0; i < BEAT; ++i) {
#pragma HLS UNROLL
        const unsigned b = t * BEAT + i;
        if (b < a.rowb)
          region[a.dram + u64(r) * a.stride + b] = spad[a.spad + u64(r) * a.rowb + b];
      }
    }
  }
}

} // namespace mamba2::hw
