// The matrix unit's K steps on the scratchpad banks, in one place for the HLS matrix unit
// (hw/units/Matrix.h runs a step's bank phases), the cycle model (charges them) and the
// compiler (pads weight rows and places weight tiles so that a step meets no conflict).
//
// The scratchpad is `banks` banks of `word`-byte words, word-interleaved (byte a in bank
// (a / word) % banks), two ports each (target::Board::spadBanks). A K step of a matrix
// micro-op reads the activation bytes of its K tile and, in each of up to mat_n weight rows,
// the weight bytes of that tile (rows `pitch` bytes apart: the micro-op's wpitch). Each bank
// delivers two of its words per cycle; a lane's words wait in its operand registers until its
// last one is there, and the step's products run once every word has arrived: the step takes
// ceil(most words in one bank / 2) cycles, at least one. The first part of this header is
// HLS-safe; the walks below it are for host code.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace mamba2::target {

/// The cycles of one iteration of the step loop (see above): a K step's `ab` activation bytes at
/// `act` and, for rows j < `rows` (at most MAXROWS), `wb` weight bytes at `wgt + j * pitch`;
/// and the group scaler's reads in the same iteration: `slanes` (at most MAXLANES) int32 scales,
/// lane l's at `scl + l * sstride` (gmm8 / gmm4: a row's scales are `groups` words apart). `cnt`
/// is `banks` counters of the caller, zero on entry and on return.
template <unsigned MAXROWS, unsigned MAXLANES>
inline unsigned matmulIterBankCycles(unsigned banks, unsigned word, uint64_t act, uint64_t ab,
                                     uint64_t wgt, uint64_t pitch, unsigned rows, uint64_t wb,
                                     uint64_t scl, uint64_t sstride, unsigned slanes,
                                     unsigned short cnt[]) {
  unsigned most = 0;
  if (ab) {
    for (uint64_t w = act / word; w <= (act + ab - 1) / word; ++w) {
      const unsigned c = ++cnt[w % banks];
      most = c > most ? c : most;
    }
  }
  for (unsigned j = 0; j < MAXROWS; ++j) {
    if (j >= rows || wb == 0)
      break;
    const uint64_t a = wgt + uint64_t(j) * pitch;
    for (uint64_t w = a / word; w <= (a + wb - 1) / word; ++w) {
      const unsigned c = ++cnt[w % banks];
      most = c > most ? c : most;
    }
  }
  for (unsigned l = 0; l < MAXLANES; ++l) {
    if (l >= slanes)
      break;
    const uint64_t a = scl + uint64_t(l) * sstride;
    for (uint64_t w = a / word; w <= (a + 3) / word; ++w) {
      const unsigned c = ++cnt[w % banks];
      most = c > most ? c : most;
    }
  }
  // Clear what was counted (the caller's counters stay zero between steps).
  if (ab)
    for (uint64_t w = act / word; w <= (act + ab - 1) / word; ++w)
      cnt[w % banks] = 0;
  for (unsigned j = 0; j < rows && wb; ++j) {
    const uint64_t a = wgt + uint64_t(j) * pitch;
    for (uint64_t w = a / word; w <= (a + wb - 1) / word; ++w)
      cnt[w % banks] = 0;
  }
  for (unsigned l = 0; l < slanes; ++l) {
    const uint64_t a = scl + uint64_t(l) * sstride;
    for (uint64_t w = a / word; w <= (a + 3) / word; ++w)
      cnt[w % banks] = 0;
  }
  return most <= 2 ? 1u : (most + 1) / 2;
}

/// A K step's cycles without scale reads (matmulIterBankCycles with none).
template <unsigned MAXROWS>
inline unsigned matmulStepBankCycles(unsigned banks, unsigned word, uint64_t act, uint64_t ab,
                                     uint64_t wgt, uint64_t pitch, unsigned rows, uint64_t wb,
                                     unsigned short cnt[]) {
  return matmulIterBankCycles<MAXROWS, 1>(banks, word, act, ab, wgt, pitch, rows, wb, 0, 0, 0, cnt);
}

/// The weight bytes of K tile [k0, k0 + len) in a row: its offset in the row and its size
/// (int4: two weights per byte).
constexpr uint64_t matmulStepWeightOffset(bool int4, unsigned k0) { return int4 ? k0 / 2 : k0; }
constexpr uint64_t matmulStepWeightBytes(bool int4, unsigned k0, unsigned len) {
  return len == 0 ? 0 : int4 ? (k0 + len - 1) / 2 - k0 / 2 + 1 : len;
}

/// A matrix micro-op as the walk over its K steps sees it.
struct MatmulBankShape {
  uint64_t act = 0, wgt = 0, pitch = 0; // scratchpad bytes; weight row pitch (bytes)
  uint32_t m = 0, k = 0, n = 0;
  bool int4 = false, grouped = false;
  uint32_t group = 0; // grouped: the K-group size
  /// grouped: the scales (int32 [n][k / group]) at `scl`, read by `scaleLanes` multipliers
  /// (Board::scaleLanes) in the iterations that scale a group's sums; 0: their reads are not
  /// counted (the compiler's tile placement, which looks at the K steps alone).
  uint64_t scl = 0;
  unsigned scaleLanes = 0;
};

/// Over every iteration of the matrix unit's step loop (units/Matrix.h, in its order: row m,
/// N tile; per tile the K steps of `lk` products, group by group, and while a group's K steps
/// run the scaler folds the previous group's sums, `scaleLanes` lanes an iteration, the last
/// group's after them; a group's last K step waits while the scaler still holds the previous
/// group; K = 0 one step per tile), the sum of the iterations' bank cycles minus one: the
/// cycles the loop waits for the banks. `first`: the first iteration's cycles instead.
inline uint64_t matmulBankWaits(const MatmulBankShape &s, unsigned banks, unsigned word,
                                unsigned matN, unsigned lk, bool first = false) {
  if (s.m == 0 || s.n == 0)
    return first ? 1 : 0;
  const uint64_t gsize = s.grouped ? s.group : s.k;
  const uint64_t groups = s.grouped ? (s.group ? s.k / s.group : 0) : 1;
  const unsigned sl = s.grouped ? s.scaleLanes : 0;
  const unsigned lanesStep = s.grouped && s.scaleLanes ? s.scaleLanes : matN; // scaler's pace
  std::vector<unsigned short> cnt(banks, 0);
  uint64_t waits = 0;
  for (uint32_t m = 0; m < s.m; ++m)
    for (uint32_t n0 = 0; n0 < s.n; n0 += matN) {
      const unsigned rows = s.n - n0 < matN ? s.n - n0 : matN;
      uint64_t g = 0, kk = 0, sg = 0;
      unsigned sidx = 0;
      bool pend = false;
      for (;;) {
        if (g >= groups && !pend)
          break;
        const bool held = pend && sidx + lanesStep < matN;
        const bool kstep = g < groups && !(kk + lk >= gsize && held);
        const unsigned k0 = unsigned(g * gsize + kk);
        const unsigned len = kstep ? unsigned(lk < gsize - kk ? lk : gsize - kk) : 0;
        const unsigned slanes =
            pend && sl && sidx < rows ? (rows - sidx < sl ? rows - sidx : sl) : 0;
        const unsigned c = matmulIterBankCycles<65535, 65535>(
            banks, word, s.act + uint64_t(m) * s.k + k0, len,
            s.wgt + uint64_t(n0) * s.pitch + matmulStepWeightOffset(s.int4, k0), s.pitch,
            kstep ? rows : 0, matmulStepWeightBytes(s.int4, k0, len),
            s.scl + ((uint64_t(n0) + sidx) * groups + sg) * 4, groups * 4, slanes, cnt.data());
        if (first)
          return c;
        waits += c - 1;
        if (pend) {
          sidx += lanesStep;
          if (sidx >= matN)
            pend = false;
        }
        if (kstep) {
          if (kk + lk >= gsize) {
            if (s.grouped) {
              pend = true;
              sg = g;
              sidx = 0;
            }
            ++g;
            kk = 0;
          } else {
            kk += lk;
          }
        }
      }
    }
  return first ? 1 : waits;
}

/// The pitch of weight rows of `rowBytes` bytes that a K step (`stepBytes` of each of `matN`
/// rows, at most the row) spreads over the banks: the smallest multiple of the word, at least
/// `rowBytes`, at which no bank holds more than two of the step's weight words and at most banks /
/// 32 hold two (those the activations must miss: the compiler places the tile so that they do). The
/// bytes after a row's are padding. Rows of a K step move together, so one step decides.
inline uint64_t weightRowPitch(uint64_t rowBytes, unsigned banks, unsigned word, unsigned matN,
                               unsigned stepBytes) {
  const uint64_t span = uint64_t(banks) * word, start = (rowBytes + word - 1) / word * word;
  if (stepBytes > rowBytes)
    stepBytes = unsigned(rowBytes); // a short row is read whole in one step
  if (stepBytes == 0)
    return start;
  std::vector<unsigned short> cnt(banks, 0);
  uint64_t best = start, bestDoubled = ~uint64_t(0);
  for (uint64_t p = start; p < start + span; p += word) {
    std::fill(cnt.begin(), cnt.end(), 0);
    unsigned most = 0;
    for (unsigned j = 0; j < matN; ++j)
      for (uint64_t w = j * p / word; w <= (j * p + stepBytes - 1) / word; ++w) {
        const unsigned c = ++cnt[w % banks];
        most = c > most ? c : most;
      }
    uint64_t doubled = 0;
    for (unsigned short c : cnt)
      doubled += c >= 2;
    if (most <= 2 && doubled <= banks / 32)
      return p;
    if (most <= 2 && doubled < bestDoubled)
      best = p, bestDoubled = doubled;
  }
  return best;
}

} // namespace mamba2::target
