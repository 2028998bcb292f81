// DMA engines: 2-D strided copies between a DRAM region and the scratchpad (scratchpad rows are
// contiguous), over the board's m_axi ports (target/Stripes.h: stripe s of a region on port
// s % ports). A transfer is a list of spans of the region: the whole transfer when its rows are
// contiguous in DRAM too (stride == rowb, or one row), else one span per row. A span's stripes
// go in waves of `ports` consecutive stripes, each on its own port; a wave is one loop
// pipelined at II = 1 over beat t of a stripe, which moves beat t of every stripe of the wave:
// up to `ports` whole AXI beats per cycle, each a burst of sequential beats on its port. The
// beats go to the banked scratchpad (HlsConfig.h SPAD_BANKS banks of SPAD_WORD bytes, two ports
// each) in the same cycle: `ports` x (beat / SPAD_WORD + 1) words (static_assert below). Beats
// of stripes that land in the same banks are not moved in the same cycle: the wave's stripes
// are split into bank phases (dma_wave_phases), each beat step of the wave takes one cycle per
// phase, and the cycles of the phases after the first are the engine's bank-conflict cycles
// (stalled on memory). A store writes whole beats; a beat only partly inside the span is read,
// merged and written back.
//
// The loop trip counts come from dma_span_cycles(), which the cycle model charges as well
// (hw/lib/CycleModel.cpp); the engine returns the cycles it ran and, of them, the cycles its
// beats waited for bank ports (the DMA busy and stalled-on-memory counters).
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
/// Bank conflicts inside a wave. Stripe j of a wave lands j x `stripe` bytes after stripe 0 in
/// the scratchpad (rows are contiguous there); the banks repeat every `span` = banks x word
/// bytes, so the wave's stripes fall on span / g distinct bank windows (g = gcd(stripe, span)),
/// stripes `dma_bank_period` apart on the same window, the others on disjoint banks (g >= beat +
/// word: a beat, aligned or not, stays inside its window). Each bank has two ports: a wave of
/// `n` stripes puts ceil(n / period) beats on one bank, and moves them in
/// ceil(ceil(n / period) / 2) phases of one cycle per beat step (phase p: the stripes j with
/// (j / period) / 2 == p).
constexpr u64 dma_gcd(u64 a, u64 b) { return b ? dma_gcd(b, a % b) : a; }
constexpr u64 dma_bank_period(unsigned stripe, unsigned span) {
  return span / dma_gcd(stripe, span);
}
constexpr u64 dma_wave_phases(u64 n, unsigned stripe, unsigned span) {
  return ((n + dma_bank_period(stripe, span) - 1) / dma_bank_period(stripe, span) + 1) / 2;
}

/// Cycles of the engine's wave loops, and of them the cycles spent on bank conflicts (the
/// phases after the first of every beat step).
struct DmaCycles {
  u64 cycles, conflicts;
};

/// Waves of a span.
inline u64 dma_span_waves(u64 o, u64 len, unsigned ports, unsigned stripe) {
#pragma HLS INLINE
  if (len == 0)
    return 0;
  const u64 stripes = (o + len - 1) / stripe - o / stripe + 1;
  return (stripes + ports - 1) / ports;
}
/// Cycles the engine's wave loops run for a span at II = 1: per wave its beat steps times its
/// bank phases; the conflicts are the phases after the first. `span`: the banks' span in bytes.
inline DmaCycles dma_span_cycles(u64 o, u64 len, unsigned beat, unsigned ports, unsigned stripe,
                                 unsigned span) {
  DmaCycles c{0, 0};
  const u64 waves = dma_span_waves(o, len, ports, stripe);
  for (u64 w = 0; w < waves; ++w) {
    const DmaWave v = dma_wave(o, len, w, beat, ports, stripe);
    const u64 steps = v.thi - v.tlo + 1, ph = dma_wave_phases(v.sb - v.sa + 1, stripe, span);
    c.cycles += steps * ph;
    c.conflicts += steps * (ph - 1);
  }
  return c;
}
/// Whether a transfer is one span (rows contiguous in DRAM as in the scratchpad).
inline bool dma_one_span(const DmaArgs &a) {
#pragma HLS INLINE
  return a.rows == 1 || a.stride == a.rowb;
}
/// Cycles of a whole transfer (what dma_load / dma_store return).
inline DmaCycles dma_transfer_cycles(const DmaArgs &a, unsigned beat, unsigned ports,
                                     unsigned stripe, unsigned span) {
  if (a.rows == 0 || a.rowb == 0)
    return DmaCycles{0, 0};
  if (dma_one_span(a))
    return dma_span_cycles(a.dram, u64(a.rows) * a.rowb, beat, ports, stripe, span);
  DmaCycles c{0, 0};
  for (unsigned r = 0; r < a.rows; ++r) {
    const DmaCycles s =
        dma_span_cycles(a.dram + u64(r) * a.stride, a.rowb, beat, ports, stripe, span);
    c.cycles += s.cycles;
    c.conflicts += s.conflicts;
  }
  return c;
}

/// A region as the engines reach it: `Ports` gives beat `i` of port `q`'s memory
/// (`read(q, i)`, `write(q, i, beat)`); `base` is the region's port-local byte (target/Stripes.h).
template <class Cfg, class Ports, bool Load>
DmaCycles dma_span(byte_t *spad, Ports &ports, u64 base, u64 spadAddr, u64 o, u64 len) {
  constexpr unsigned BEAT = Cfg::AXI_BITS / 8, P = Cfg::AXI_PORTS, SB = Cfg::STRIPE_BYTES;
  constexpr unsigned SPAN = Cfg::SPAD_BANKS * Cfg::SPAD_WORD;
  constexpr u64 PERIOD = dma_bank_period(SB, SPAN), MAX_PHASES = dma_wave_phases(P, SB, SPAN);
  static_assert(SB % BEAT == 0, "a stripe is whole beats");
  static_assert(Cfg::LOAD_DEMAND == P * BEAT &&
                    P * (BEAT / Cfg::SPAD_WORD + 1) <= 2 * Cfg::SPAD_BANKS,
                "DMA: a beat per port per cycle needs its words in the scratchpad banks' ports");
  static_assert(dma_gcd(SB, SPAN) >= BEAT + Cfg::SPAD_WORD,
                "DMA: beats of stripes in different bank windows must not share a bank");
  DmaCycles c{0, 0};
  const u64 waves = dma_span_waves(o, len, P, SB);
waves:
  for (u64 w = 0; w < (u64(1) << 32); ++w) {
    if (w >= waves)
      break;
    const DmaWave v = dma_wave(o, len, w, BEAT, P, SB);
    // Beat step t of the wave in `phases` cycles: phase p moves the beats of the stripes whose
    // position j in the wave has (j / PERIOD) / 2 == p (two beats per bank, one per port).
    const unsigned phases = unsigned(dma_wave_phases(v.sb - v.sa + 1, SB, SPAN));
    unsigned t = v.tlo, phase = 0;
  beats:
    for (unsigned j = 0; j < (SB / BEAT) * MAX_PHASES; ++j) {
#pragma HLS PIPELINE II = 1
      if (t > v.thi)
        break;
      ++c.cycles;
      if (phase != 0)
        ++c.conflicts; // waiting for bank ports that beats of this wave hold
    ports:
      for (unsigned q = 0; q < P; ++q) {
#pragma HLS UNROLL
        // The stripe of this wave on port q (stripe s is on port s % P).
        const u64 s = v.sa + (q + P - unsigned(v.sa % P)) % P;
        if (s > v.sb || ((s - v.sa) / PERIOD) / 2 != phase)
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
      if (++phase == phases) {
        phase = 0;
        ++t;
      }
    }
  }
  return c;
}

template <class Cfg, class Ports, bool Load>
DmaCycles dma_transfer(byte_t *spad, Ports &ports, u64 base, const DmaArgs &a) {
  if (a.rows == 0 || a.rowb == 0)
    return DmaCycles{0, 0};
  if (dma_one_span(a))
    return dma_span<Cfg, Ports, Load>(spad, ports, base, a.spad, a.dram, u64(a.rows) * a.rowb);
  DmaCycles c{0, 0};
rows:
  for (unsigned r = 0; r < 4096; ++r) {
    if (r >= a.rows)
      break;
    const DmaCycles s = dma_span<Cfg, Ports, Load>(spad, ports, base, a.spad + u64(r) * a.rowb,
                                                   a.dram + u64(r) * a.stride, a.rowb);
    c.cycles += s.cycles;
    c.conflicts += s.conflicts;
  }
  return c;
}

/// DRAM -> scratchpad; returns the cycles its wave loops ran and their bank-conflict cycles.
template <class Cfg, class Ports>
DmaCycles dma_load(byte_t *spad, Ports &ports, u64 base, const DmaArgs &a) {
  return dma_transfer<Cfg, Ports, true>(spad, ports, base, a);
}
/// Scratchpad -> DRAM; returns the cycles its wave loops ran and their bank-conflict cycles.
template <class Cfg, class Ports>
DmaCycles dma_store(byte_t *spad, Ports &ports, u64 base, const DmaArgs &a) {
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
