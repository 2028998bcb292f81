// The chunked (matrix) form of the SSM scan, `ovl.ssd_chunk`, as a recipe: a list of steps, each
// exactly one micro-op of the ISA (trn, segdecay, split16, gmm8, mulsh32, sext8) applied to named
// buffers at element offsets, built from the op's sizes and shifts. The ovl evaluator executes the
// recipe with isa::ref (execute below); the emitter is to emit the same steps as micro-ops, so the
// recipe is the one definition of the form. No MLIR types here. docs/codegen.md "The chunked SSD
// form" derives every step and shift.
//
// Per call of `rows` rows (chunks of Q rows from the call's first row, the last one shorter), for
// each chunk, each B/C group g and each head h of it (with y in y's unit, S in the state's):
//   G      = C_g . B_g^T                        gmm8, exact, [Q(t)][Q(s)]
//   L      = segdecay(decay[.][h])              [Q][Q+1]: L[t][0] = cum[t], L[t][s+1] = D[t][s]
//   M      = split16(rnd(rnd(G * D, gd) * d_s, md), msplit) -> Mhi, Mlo   (0 above the diagonal)
//   Yt_h   = x8_h^T . M^T (hi and lo)           the rows' own inputs
//   Yt_h  += S0_h . C^T scaled by cum[t]         the entering state (split16 of S0)
//   S_h    = rnd(S0_h * cum[Q-1], df) + x8_h^T . (B * rnd(D[Q-1][s] * d_s, w))^T (hi and lo)
//   y      = trn(Yt) per chunk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::ssd {

/// Sizes of one op call.
struct ChunkShape {
  int64_t heads = 0;   // H
  int64_t headDim = 0; // P
  int64_t groups = 1;  // G (B/C groups; H / G heads each)
  int64_t dState = 0;  // N
  int64_t rows = 0;    // rows of the call
  int64_t chunk = 0;   // Q, 1..64
};

/// The op's shifts (attribute names in ovl.ssd_chunk in parentheses). The matmul shifts are those
/// of the lo product; the hi product's is 8 less (its operand is the top byte of 16 bits).
struct ChunkShifts {
  int decay = 0;      // (decay_shift) fraction bits of the decay; segdecay's and S0's decay shift
  int gd = 0;         // (gd_shift) rnd(G * D, gd)
  int md = 0;         // (md_shift) rnd(. * d_s, md)
  int mSplit = 0;     // (m_split) split16 of M
  int yShift = 0;     // (y_shift) the intra-chunk gmm8's shift before the head's multiplier
  int stateSplit = 0; // (state_split) split16 of the entering state
  int cShift = 0;     // (c_shift) the entering state's gmm8 shift (scales cum[t])
  int wShift = 0;     // (w_shift) rnd(D[Q-1][s] * d_s, w)
  int bwShift = 0;    // (bw_shift) rnd(B * w, bw)
  int bwSplit = 0;    // (bw_split) split16 of B * w
  int sShift = 0;     // (s_shift) the state update's gmm8 shift before the head's multiplier
  std::vector<int> multExp; // (mult_exp) per head: dtx = x8 * d * 2^multExp[h]
};

/// What the pass knows about the scan it rewrites, to choose the shifts from bounds.
struct ShiftBounds {
  int64_t dState = 0;  // N: |C_t . B_s| <= N * 128^2
  int decayFrac = 0;   // df: |D| <= 2^df
  int inShift = 0;     // the scan's in_shift (K)
  int outShift = 0;    // the scan's out_shift (O)
  double dMax = 0;     // the largest |d| (the softplus / clamp table's largest output)
  int stateBits = 16;  // the calibrated state holds |S| < 2^(stateBits - 1)
  double cbMax = 0;    // a tighter bound of |C_t . B_s| (0: N * 128^2)
  double stateMax = 0; // a tighter bound of |S| (0: 2^(stateBits - 1))
  std::vector<int> multExp;
};
/// Every shift from the bounds (docs/codegen.md lists each bound).
ChunkShifts chooseShifts(const ShiftBounds &b);
/// The smallest s >= 0 with rnd(maxAbs, s) <= 32639 (split16's largest exact value).
int splitShift(double maxAbs);

/// Checks the shifts against the micro-ops' fields; empty when they fit, else what is wrong.
std::string checkShifts(const ChunkShape &s, const ChunkShifts &sh);

enum class Kind { Trn, SegDecay, Split16, Gmm8, Mulsh32, Sext8 };
const char *kindName(Kind k);

/// A buffer: the op's operands and results (roles In / InOut / Out) and the recipe's temporaries
/// and constants. Elements are int8 or int32.
struct Buffer {
  enum Role { In, InOut, Out, Temp, Const };
  std::string name;
  bool i8 = false;
  int64_t elems = 0;
  Role role = Temp;
  std::vector<int32_t> init; // Const: the values
};

/// An operand: a buffer and an element offset in it.
struct Ref {
  int buf = -1;
  int64_t off = 0;
};

/// One micro-op, run `iters` times with the operands' offsets advanced by the strides (elements)
/// each time, as an ISA `run` does. Fields by kind:
///   trn      dst <- src0^T: rows, cols, bytes (1 or 4), srcPitch, dstPitch
///   segdecay dst [len][len + 1] <- src0 [len], shift
///   split16  dst = hi, src1 = lo <- src0, len, shift
///   gmm8     dst acc [m][n] (+)= src0 act [m][k] . src1 wgt [n][k] (row pitch wpitch) scaled by
///            src2 scl [n] (one group of k), shift, accum
///   mulsh32  dst = sat32(rnd(src0 * src1, shift)), len, bcast (src1 one element)
///   sext8    dst = src0 (int8 -> int32), len
struct Step {
  Kind kind = Kind::Trn;
  Ref dst, src0, src1, src2;
  int64_t len = 0, rows = 0, cols = 0, srcPitch = 0, dstPitch = 0, bytes = 4;
  int64_t m = 0, k = 0, n = 0, wpitch = 0;
  int shift = 0;
  bool accum = false, bcast = false;
  int64_t iters = 1, sdst = 0, ssrc0 = 0, ssrc1 = 0, ssrc2 = 0;
};

struct Recipe {
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  /// Buffer indices of the op's operands and results.
  int x = -1, d = -1, decay = -1, B = -1, C = -1, state = -1, y = -1;
  /// One line per step ("gmm8 Yt[0] += xT[0] . Mhi[0]^T m=16 k=8 n=8 shift=3 ..."), for tests and
  /// debugging.
  std::string describe() const;
};

/// The recipe of one call. Requires checkShifts(s, sh) to be empty.
Recipe buildRecipe(const ChunkShape &s, const ChunkShifts &sh);

/// Runs the recipe with isa::ref. `io[i]` holds buffer i's elements for the In / InOut / Out
/// buffers (int8 values in int32 slots); In and InOut are read, InOut and Out written. Returns
/// an empty string, or what went wrong (an operand outside its buffer).
std::string execute(const Recipe &r, std::vector<std::vector<int32_t>> &io);

} // namespace mamba2::ssd
