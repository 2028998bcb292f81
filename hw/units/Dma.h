// DMA engines: 2-D strided copies between a DRAM region and the scratchpad (scratchpad rows are
// contiguous), over the board's m_axi ports (target/Stripes.h: stripe s of a region on port
// s % ports). A transfer is a list of spans of the region: the whole transfer when its rows are
// contiguous in DRAM too (stride == rowb, or one row), else one span per row. A span's stripes
// go in waves of `ports` consecutive stripes, each on its own port; a wave is one loop
// pipelined at II = 1 over beat t of a stripe, which moves beat t of every stripe of the wave:
// up to `ports` whole AXI beats per cycle, each a burst of sequential beats on its port. The
// beats go to the banked scratchpad (HlsConfig.h SPAD_BANKS banks of SPAD_WORD bytes, two ports
// each) in the same cycle: `ports` x (beat / SPAD_WORD + 1) words (static_assert below). A store
// writes whole beats; a beat only partly inside the span is read, merged and written back.
//
// The loop trip counts come from dma_span_cycles(), which the cycle model charges as well
// (hw/lib/CycleModel.cpp); the engine returns the cycles it ran (the DMA busy counter).
#pragma once
#include "SpadIo.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/target/Stripes.h"

namespace mamba2::hw {

struct DmaArgs {
  u64 spad, dram; // scratchpad byte address, byte offset in the region
  unsigned rows, rowb, stride;
};

/// One AXI beat: the m_axi data type of a port (Vitis packs the struct into one bus word).
template <unsigned Bytes> struct Beat { byte_t b[Bytes]; };

/// One wave of a span [o, o + len) of a region: stripes sa..sb (sb - sa < ports), beats tlo..thi
/// of a stripe (a span's first stripe may start, its last end, inside a stripe).
struct DmaWave {
  u64 sa, sb;
  unsigned tlo, thi;
};
inline DmaWave dma_wave(u64 o, u64 len, u64 w, unsigned beat, unsigned ports, unsigned stripe) {
#pragma HLS INLINE
  const u64 s0 = o / stripe, s1 = (o + len - 1) / stripe;
  DmaWave v;
  v.sa = s0 + w * ports;
  v.sb = v.sa + ports - 1 < s1 ? v.sa + ports - 1 : s1;
  const unsigned last = stripe / beat - 1;
  v.tlo = v.sa == v.sb && v.sa == s0 ? unsigned((o % stripe) / beat) : 0;
  v.thi = v.sa == v.sb && v.sb == s1 ? unsigned(((o + len - 1) % stripe) / beat) : last;
  return v;
}
/// Waves of a span.
inline u64 dma_span_waves(u64 o, u64 len, unsigned ports, unsigned stripe) {
#pragma HLS INLINE
  if (len == 0)
    return 0;
  const u64 stripes = (o + len - 1) / stripe - o / stripe + 1;
  return (stripes + ports - 1) / ports;
}
/// Cycles the engine's wave loops run for a span at II = 1: the sum of the waves' beat counts.
inline u64 dma_span_cycles(u64 o, u64 len, unsigned beat, unsigned ports, unsigned stripe) {
  u64 c = 0;
  const u64 waves = dma_span_waves(o, len, ports, stripe);
  for (u64 w = 0; w < waves; ++w) {
    const DmaWave v = dma_wave(o, len, w, beat, ports, stripe);
    c += v.thi - v.tlo + 1;
  }
  return c;
}
/// Whether a transfer is one span (rows contiguous in DRAM as in the scratchpad).
inline bool dma_one_span(const DmaArgs &a) {
#pragma HLS INLINE
  return a.rows == 1 || a.stride == a.rowb;
}
/// Cycles of a whole transfer (what dma_load / dma_store return).
inline u64 dma_transfer_cycles(const DmaArgs &a, unsigned beat, unsigned ports, unsigned stripe) {
  if (a.rows == 0 || a.rowb == 0)
    return 0;
  if (dma_one_span(a))
    return dma_span_cycles(a.dram, u64(a.rows) * a.rowb, beat, ports, stripe);
  u64 c = 0;
  for (unsigned r = 0; r < a.rows; ++r)
    c += dma_span_cycles(a.dram + u64(r) * a.stride, a.rowb, beat, ports, stripe);
  return c;
}

/// A region as the engines reach it: `Ports` gives beat `i` of port `q`'s memory
/// (`read(q, i)`, `write(q, i, beat)`); `base` is the region's port-local byte (target/Stripes.h).
template <class Cfg, class Ports, bool Load>
u64 dma_span(byte_t *spad, Ports &ports, u64 base, u64 spadAddr, u64 o, u64 len) {
  constexpr unsigned BEAT = Cfg::AXI_BITS / 8, P = Cfg::AXI_PORTS, SB = Cfg::STRIPE_BYTES;
  static_assert(SB % BEAT == 0, "a stripe is whole beats");
  static_assert(Cfg::LOAD_DEMAND == P * BEAT &&
                    P * (BEAT / Cfg::SPAD_WORD + 1) <= 2 * Cfg::SPAD_BANKS,
                "DMA: a beat per port per cycle needs its words in the scratchpad banks' ports");
  u64 cycles = 0;
  const u64 waves = dma_span_waves(o, len, P, SB);
waves:
  for (u64 w = 0; w < (u64(1) << 32); ++w) {
    if (w >= waves)
      break;
    const DmaWave v = dma_wave(o, len, w, BEAT, P, SB);
  beats:
    for (unsigned j = 0; j < SB / BEAT; ++j) {
#pragma HLS PIPELINE II = 1
      if (j > v.thi - v.tlo)
        break;
      const unsigned t = v.tlo + j;
      ++cycles;
    ports:
      for (unsigned q = 0; q < P; ++q) {
#pragma HLS UNROLL
        // The stripe of this wave on port q (stripe s is on port s % P).
        const u64 s = v.sa + (q + P - unsigned(v.sa % P)) % P;
        if (s > v.sb)
          continue;
        const u64 idx = (base + (s / P) * SB) / BEAT + t;
        const u64 first = s * SB + u64(t) * BEAT; // region byte of the beat's byte 0
        Beat<BEAT> x;
        const bool whole = first >= o && first + BEAT <= o + len;
        if (Load || !whole)
          x = ports.read(q, idx);
      lanes:
        for (unsigned i = 0; i < BEAT; ++i) {
#pragma HLS UNROLL
          const u64 a = first + i;
          if (a >= o && a < o + len) {
            if (Load)
              spad[spadAddr + (a - o)] = x.b[i];
            else
              x.b[i] = spad[spadAddr + (a - o)];
          }
        }
        if (!Load)
          ports.write(q, idx, x);
      }
    }
  }
  return cycles;
}

template <class Cfg, class Ports, bool Load>
u64 dma_transfer(byte_t *spad, Ports &ports, u64 base, const DmaArgs &a) {
  if (a.rows == 0 || a.rowb == 0)
    return 0;
  if (dma_one_span(a))
    return dma_span<Cfg, Ports, Load>(spad, ports, base, a.spad, a.dram, u64(a.rows) * a.rowb);
  u64 cycles = 0;
rows:
  for (unsigned r = 0; r < 4096; ++r) {
    if (r >= a.rows)
      break;
    cycles += dma_span<Cfg, Ports, Load>(spad, ports, base, a.spad + u64(r) * a.rowb,
                                         a.dram + u64(r) * a.stride, a.rowb);
  }
  return cycles;
}

/// DRAM -> scratchpad; returns the cycles its wave loops ran.
template <class Cfg, class Ports>
u64 dma_load(byte_t *spad, Ports &ports, u64 base, const DmaArgs &a) {
  return dma_transfer<Cfg, Ports, true>(spad, ports, base, a);
}
/// Scratchpad -> DRAM; returns the cycles its wave loops ran.
template <class Cfg, class Ports>
u64 dma_store(byte_t *spad, Ports &ports, u64 base, const DmaArgs &a) {
  return dma_transfer<Cfg, Ports, false>(spad, ports, base, a);
}

/// A region held flat in host memory (the simulator's isa::Memory), reached as the ports see
/// it: beat i of port q is the region's bytes of that stripe (zeros past its end).
template <class Cfg> struct FlatRegionPorts {
  static constexpr unsigned BEAT = Cfg::AXI_BITS / 8, P = Cfg::AXI_PORTS, SB = Cfg::STRIPE_BYTES;
  byte_t *region;
  u64 size;
  u64 offset(unsigned q, u64 i) const { // region byte of beat i of port q (base 0)
    const u64 local = i * BEAT;
    return ((local / SB) * P + q) * SB + local % SB;
  }
  Beat<BEAT> read(unsigned q, u64 i) const {
    Beat<BEAT> x;
    const u64 o = offset(q, i);
    for (unsigned j = 0; j < BEAT; ++j)
      x.b[j] = o + j < size ? region[o + j] : byte_t(0);
    return x;
  }
  void write(unsigned q, u64 i, const Beat<BEAT> &x) {
    const u64 o = offset(q, i);
    for (unsigned j = 0; j < BEAT; ++j)
      if (o + j < size)
        region[o + j] = x.b[j];
  }
};

} // namespace mamba2::hw
