// Matrix unit: MAT_N dot products of MAT_K int8 (or 2*MAT_K int4) products per cycle.
// acc int32 [M][N] (+)= act int8 [M][K] . wgt [N][K]^T; int32 accumulation wraps. Group-scaled
// (gmm8 / gmm4): each K-group's partial sum is scaled by scl int32 [N][K/group] (multiply,
// rounding shift or saturating left shift) and added with int32 saturation.
#pragma once
#include "SpadIo.h"
#include "Uop.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/target/MatrixBanks.h"

namespace mamba2::hw {

struct MatmulArgs {
  u64 act, wgt, acc, scl; // scratchpad byte addresses
  unsigned m, k, n;
  bool accum, int4;
  bool grouped;   // gmm8 / gmm4
  unsigned group; // K-group size (grouped: >= 1, divides k)
  int shift;      // grouped: -31..63
  u64 pitch;      // bytes from one weight row to the next (wpitch, or the row's K / K/2 bytes)
};

/// The cycles of the step loop: `busy` iterations (a K tile, scaling, or both: what
/// hw::matmulSteps charges) and `conflicts`, the bank phases after the first of K steps whose
/// words share banks (hw::matmulConflictCycles; stalled on memory).
struct MatmulCycles {
  u64 busy, conflicts;
};

/// One K-group's partial sum times its scale: 64-bit product, then a round-half-away rounding
/// right shift or a saturating left shift, saturated to int32.
inline i32 scale_partial(i32 p, i32 scale, int shift) {
#pragma HLS INLINE
  const i64 hi = 2147483647;
  i64 ps = i64(p) * i64(scale);
  if (shift >= 0)
    return clip32(rshift_round(ps, shift));
  int k = shift < -31 ? 31 : -shift;
  if (ps > (hi >> k))
    return i32(hi);
  if (ps < -((hi >> k) + 1))
    return i32(-hi - 1);
  return i32(ps * (i64(1) << k));
}

/// Weight element k of output channel n (int8 [N][K] or packed int4 [N][K/2], rows `pitch`
/// bytes apart).
inline i32 weight_at(const byte_t *s, const MatmulArgs &a, unsigned n, unsigned k) {
#pragma HLS INLINE
  if (!a.int4)
    return i32(ld8(s, a.wgt + u64(n) * a.pitch + k));
  u32 b = u32(s[a.wgt + u64(n) * a.pitch + k / 2]);
  u32 nib = (k & 1) ? (b >> 4) & 0xF : b & 0xF;
  return i32(int(nib) - ((nib & 0x8) ? 16 : 0)); // sign-extend 4 bits
}

/// The matmul a matrix micro-op (mm8, mm4, gmm8, gmm4) describes.
inline MatmulArgs matmul_args(const UopOperands &u) {
  MatmulArgs a;
  a.acc = u.dst;
  a.act = u.src0;
  a.wgt = u.src1;
  a.scl = u.src2;
  a.m = u.m;
  a.k = u.k;
  a.n = u.n;
  a.accum = u.accum;
  a.int4 = u.isInt4();
  a.grouped = u.isGrouped();
  a.group = u.group;
  a.shift = u.shift;
  a.pitch = u.wpitch ? u.wpitch : a.int4 ? u.k / 2 : u.k;
  return a;
}

/// Runs the matmul; returns the iterations of its II = 1 step loop (busy) and of them the bank
/// phases its K steps waited for (conflicts).
template <class Cfg> MatmulCycles matrix_unit(byte_t *spad, const MatmulArgs &a) {
  // One step reads MAT_N weight rows of MAT_K bytes (int8, or 2 MAT_K nibbles) and 2 MAT_K
  // activation bytes at most: the banks serve that in one cycle with both ports when no bank
  // holds more than two of its words (the weight rows' pitch spreads them: wpitch, the
  // compiler's padded rows), and each row's window in a bank at most once besides the
  // activations' (MAT_N x MAT_K bytes within the banks' span). A step whose words share banks
  // takes target::matmulStepBankCycles (bank phases, stalled on memory; the cycle model charges
  // the same, target/MatrixBanks.h).
  static_assert(Cfg::MAT_DEMAND == Cfg::MAT_N * Cfg::MAT_K + 2 * Cfg::MAT_K &&
                    Cfg::MAT_DEMAND <= Cfg::SPAD_SUPPLY &&
                    Cfg::MAT_N * Cfg::MAT_K <= Cfg::SPAD_LANES,
                "matrix unit: a step's weight and activation bytes exceed what the banks serve");
  // A grouped micro-op's iteration also reads SCALE_LANES int32 scales (one word each, 4-byte
  // aligned): they too fit the banks' ports; where they share a bank with the K step's words
  // the iteration takes phases like any other (target::matmulIterBankCycles).
  static_assert(Cfg::MAT_DEMAND + 4 * Cfg::SCALE_LANES <= Cfg::SPAD_SUPPLY,
                "matrix unit: a grouped step's weight, activation and scale bytes exceed what the "
                "banks serve");
  const unsigned LK = a.int4 ? 2 * Cfg::MAT_K : Cfg::MAT_K; // int4 packs two products per DSP lane
  u64 busy = 0, conflicts = 0;
  unsigned short bank_words[Cfg::SPAD_BANKS] = {}; // a K step's words per bank (zero between steps)
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
      // One pipelined loop of steps per output tile. A step runs one K tile (LK products per
      // lane) into the partial sums `part`; the last tile of a K-group hands them to `shadow`,
      // which SCALE_LANES scale multipliers fold into `acc` while the next group's tiles run
      // (the hand-off waits while the scaler still holds the previous group). Ungrouped, K is
      // one group whose sums are added (wrapping) at the hand-off. Groups reach `acc` in order,
      // so the saturating sums equal the reference's.
      constexpr unsigned kScaleLanes = Cfg::SCALE_LANES;
      static_assert(kScaleLanes >= 1 && Cfg::MAT_N % kScaleLanes == 0, "scale lanes divide MAT_N");
      const unsigned gsize = a.grouped ? a.group : a.k;
      const unsigned groups = a.grouped ? (a.group ? a.k / a.group : 0) : 1;
      i32 part[Cfg::MAT_N], shadow[Cfg::MAT_N];
#pragma HLS ARRAY_PARTITION variable = part complete
#pragma HLS ARRAY_PARTITION variable = shadow complete
      for (unsigned j = 0; j < Cfg::MAT_N; ++j) {
#pragma HLS UNROLL
        part[j] = 0;
        shadow[j] = 0;
      }
      unsigned g = 0, kk = 0;    // accumulating: group g, offset kk inside it
      bool pend = false;         // the scaler holds group sg's sums in `shadow`
      unsigned sg = 0, sidx = 0; // and has done lanes [0, sidx)
      unsigned phase = 0;        // bank phases of the present iteration done so far
      const unsigned rows = a.n - n0 < Cfg::MAT_N ? a.n - n0 : Cfg::MAT_N;
    steps:
      for (u64 t = 0; t < (u64(1) << 32); ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 2048
        if (g >= groups && !pend)
          break;
        // A K tile runs unless it ends its group while the scaler still holds the previous
        // group after this iteration's lanes.
        const bool held = pend && sidx + kScaleLanes < Cfg::MAT_N;
        const bool kstep = g < groups && !(kk + LK >= gsize && held);
        if (phase == 0) {
          // The iteration's words on the banks, the K step's and the scaler's (its lanes'
          // scales, `groups` words apart): the first phase is this iteration's, each further
          // phase one iteration in which the whole loop waits (stalled on memory).
          const unsigned k0 = g * gsize + kk;
          const unsigned len = !kstep ? 0 : LK < gsize - kk ? LK : gsize - kk;
          const unsigned slanes = !pend || sidx >= rows       ? 0
                                  : rows - sidx < kScaleLanes ? rows - sidx
                                                              : kScaleLanes;
          phase = target::matmulIterBankCycles<Cfg::MAT_N, kScaleLanes>(
              Cfg::SPAD_BANKS, Cfg::SPAD_WORD, a.act + u64(m) * a.k + k0, len,
              a.wgt + u64(n0) * a.pitch + target::matmulStepWeightOffset(a.int4, k0), a.pitch,
              kstep ? rows : 0, target::matmulStepWeightBytes(a.int4, k0, len),
              a.scl + (u64(n0 + sidx) * groups + sg) * 4, u64(groups) * 4, slanes, bank_words);
        }
        if (phase > 1) {
          --phase;
          ++conflicts;
          continue;
        }
        phase = 0;
        ++busy;
        if (pend) {
        scale:
          for (unsigned l = 0; l < kScaleLanes; ++l) {
#pragma HLS UNROLL
            unsigned j = sidx + l, n = n0 + j;
            if (j < Cfg::MAT_N && n < a.n)
              acc[j] =
                  clip32(i64(acc[j]) +
                         i64(scale_partial(
                             shadow[j], ld32(spad, a.scl + (u64(n) * groups + sg) * 4), a.shift)));
          }
          sidx += kScaleLanes;
          if (sidx >= Cfg::MAT_N)
            pend = false;
        }
        const bool last = kk + LK >= gsize;
        if (kstep) {
          const unsigned kbeg = g * gsize, kend = kbeg + gsize;
        lanes_n:
          for (unsigned j = 0; j < Cfg::MAT_N; ++j) {
#pragma HLS UNROLL
            i32 dot = 0;
          lanes_k:
            for (unsigned i = 0; i < 2 * Cfg::MAT_K; ++i) {
#pragma HLS UNROLL
              unsigned k = kbeg + kk + i, n = n0 + j;
              if (i < LK && k < kend && n < a.n)
                dot = add_wrap(dot,
                               i32(ld8(spad, a.act + u64(m) * a.k + k)) * weight_at(spad, a, n, k));
            }
            i32 sum = add_wrap(part[j], dot);
            if (!last) {
              part[j] = sum;
            } else {
              part[j] = 0;
              if (a.grouped)
                shadow[j] = sum;
              else
                acc[j] = add_wrap(acc[j], sum);
            }
          }
          if (last) {
            if (a.grouped) {
              pend = true;
              sg = g;
              sidx = 0;
            }
            ++g;
            kk = 0;
          } else {
            kk += LK;
          }
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
  return MatmulCycles{busy, conflicts};
}

} // namespace mamba2::hw
