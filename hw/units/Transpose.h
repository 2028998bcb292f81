// The vector unit's transpose (micro-op trn, the chunked SSD form's B^T, C^T and x^T):
// dst[c][r] = src[r][c], R x C elements of 1 or 4 bytes, rows `sp` / `dp` elements apart.
//
// Datapath: tiles of L x L elements (L = VEC_LANES) in two tile buffers (ping-pong), each L
// small memories (one per lane, L words of 32 bits deep). A cycle reads one row of the current
// tile from the source, L consecutive elements (one contiguous span of the scratchpad: at most
// 4L / 8 + 1 words, all in different banks), while it writes one column of the previous tile
// to the destination as one row of it (again one contiguous span). So neither side depends on
// the pitches: any pitch, any element size, the banks serve it (the spans are what add32's
// lanes read and write). Element (i, j) of a tile sits in lane memory (i + j) mod L at word i:
// a row (fixed i) and a column (fixed j) each touch every lane memory once, through a rotation
// by i or j (a barrel rotator of L 32-bit words on each side).
//
// Cycles: the tile loop runs tiles in row-major order plus one iteration to drain; iteration t
// takes max(rows of tile t, columns of tile t - 1) cycles (transpose_loop_cycles, the one
// function the HLS loop and the cycle model count by).
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"

namespace mamba2::hw {

/// The cycles of trn's tile loop for R x C elements and tiles of L x L: per tile row of
/// r_i rows, max(r_i, the previous tile's columns) for its first tile and L for each next one
/// (the previous tile is full width), then the last tile's columns to drain.
inline u64 transpose_loop_cycles(unsigned R, unsigned C, unsigned L) {
  if (R == 0 || C == 0 || L == 0)
    return 0;
  const u64 tileCols = (C + L - 1) / L;
  const unsigned lastCols = C - unsigned(tileCols - 1) * L;
  u64 cycles = 0;
  unsigned prevCols = 0;
  for (unsigned r0 = 0; r0 < R; r0 += L) {
    const unsigned rows = R - r0 < L ? R - r0 : L;
    cycles += (rows > prevCols ? rows : prevCols) + (tileCols - 1) * L;
    prevCols = lastCols;
  }
  return cycles + lastCols;
}

/// Runs trn (bytes 1 or 4, sp >= C, dp >= R, dst overlapping no byte of src: checked before a
/// unit runs); returns the cycles of its loop (the busy counter).
template <unsigned kLanes>
u64 transpose_unit(byte_t *spad, u64 dst, u64 src, unsigned R, unsigned C, unsigned bytes,
                   unsigned sp, unsigned dp) {
  u32 buf[2][kLanes][kLanes]; // [ping-pong][lane memory (i + j) mod L][tile row i]
#pragma HLS ARRAY_PARTITION variable = buf dim = 2 complete
  const u64 tileCols = (C + kLanes - 1) / kLanes;
  const u64 tiles = ((R + kLanes - 1) / kLanes) * tileCols;
  const bool wide = bytes == 4;
  u64 busy = 0;
  unsigned r0 = 0, c0 = 0;                         // the current tile's origin
  unsigned pr0 = 0, pc0 = 0, prows = 0, pcols = 0; // the previous tile's (pcols 0: none)
tiles:
  for (u64 t = 0; t <= tiles; ++t) {
    const bool have = t < tiles;
    const unsigned rows = have ? (R - r0 < kLanes ? R - r0 : kLanes) : 0;
    const unsigned cols = have ? (C - c0 < kLanes ? C - c0 : kLanes) : 0;
    const unsigned steps = rows > pcols ? rows : pcols;
    const unsigned cur = unsigned(t & 1), prv = cur ^ 1u;
  steps:
    for (unsigned k = 0; k < kLanes; ++k) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = buf inter false
#pragma HLS DEPENDENCE variable = spad inter false
      if (k >= steps)
        break;
      ++busy;
      if (k < rows) { // tile row k: source row r0 + k, columns c0 .. c0 + cols - 1
        const u64 a = src + (u64(r0 + k) * sp + c0) * bytes;
      rd:
        for (unsigned l = 0; l < kLanes; ++l) {
#pragma HLS UNROLL
          if (l < cols)
            buf[cur][(k + l) % kLanes][k] =
                wide ? u32(ld32(spad, a + 4 * u64(l))) : u32(spad[a + l]);
        }
      }
      if (k < pcols) { // previous tile's column k: destination row pc0 + k, elements pr0 ..
        const u64 a = dst + (u64(pc0 + k) * dp + pr0) * bytes;
      wr:
        for (unsigned l = 0; l < kLanes; ++l) {
#pragma HLS UNROLL
          if (l < prows) {
            const u32 v = buf[prv][(l + k) % kLanes][l];
            if (wide)
              st32(spad, a + 4 * u64(l), i32(v));
            else
              spad[a + l] = byte_t(v & 0xFF);
          }
        }
      }
    }
    pr0 = r0;
    pc0 = c0;
    prows = rows;
    pcols = cols;
    c0 += kLanes;
    if (c0 >= C) {
      c0 = 0;
      r0 += kLanes;
    }
  }
  return busy;
}

} // namespace mamba2::hw
