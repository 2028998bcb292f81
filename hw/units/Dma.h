// DMA engines: 2-D strided copies between a DRAM region (an m_axi port on the board) and the
// scratchpad; scratchpad rows are contiguous. Bursts of AXI_BITS/8 bytes per beat on the board.
#pragma once
#include "SpadIo.h"

namespace mamba2::hw {

struct DmaArgs {
  u64 spad, dram; // scratchpad byte address, byte offset in the region
  unsigned rows, rowb, stride;
};

inline void dma_load(byte_t *spad, const byte_t *region, const DmaArgs &a) {
rows:
  for (unsigned r = 0; r < 4096; ++r) {
    if (r >= a.rows)
      break;
  bytes:
    for (unsigned b = 0; b < 65536; ++b) {
#pragma HLS PIPELINE II = 1
      if (b >= a.rowb)
        break;
      spad[a.spad + u64(r) * a.rowb + b] = region[a.dram + u64(r) * a.stride + b];
    }
  }
}

inline void dma_store(const byte_t *spad, byte_t *region, const DmaArgs &a) {
rows:
  for (unsigned r = 0; r < 4096; ++r) {
    if (r >= a.rows)
      break;
  bytes:
    for (unsigned b = 0; b < 65536; ++b) {
#pragma HLS PIPELINE II = 1
      if (b >= a.rowb)
        break;
      region[a.dram + u64(r) * a.stride + b] = spad[a.spad + u64(r) * a.rowb + b];
    }
  }
}

} // namespace mamba2::hw
