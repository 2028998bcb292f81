// Bit-exact reference semantics of every unit operation, on plain host arrays. The overlay (hw/)
// is an independent implementation tested against these functions.
#pragma once
#include "mamba2/isa/Arith.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::isa::ref {

// ---- matrix unit ----
/// acc[M][N] (+)= act[M][K] . wgt[N][K]^T, int32 wrapping accumulate.
void matmulI8(const int8_t *act, const int8_t *wgt, int32_t *acc, unsigned M, unsigned K,
              unsigned N, bool accumulate);
/// As matmulI8 with wgt packed int4 [N][K/2] (K even; low nibble = even k).
void matmulI4(const int8_t *act, const uint8_t *wgt, int32_t *acc, unsigned M, unsigned K,
              unsigned N, bool accumulate);

/// Group-scaled matmul: K splits into K/group groups of `group` elements; for each group g the
/// wrapping int32 partial sum p = sum_{k in g} act[m][k] * wgt[n][k] is scaled and added with
/// int32 saturation, groups in increasing order:
///   acc[m][n] = sat32(acc[m][n] + scaleGroup(p, scl[n][g], shift))
/// starting from acc (accumulate) or 0. wgt int8 [N][K] or, with int4, packed [N][K/2];
/// scl int32 [N][K/group]. Requires group >= 1 dividing K.
void matmulGrouped(const int8_t *act, const uint8_t *wgt, bool int4, const int32_t *scl,
                   int32_t *acc, unsigned M, unsigned K, unsigned N, unsigned group, int shift,
                   bool accumulate);

// ---- piecewise-linear functions ----
/// A table as stored in the scratchpad (int32 little-endian words):
///   [0] x0  [1] segShift  [2] n  [3] slopeShift  then n pairs (intercept b_i, slope k_i).
/// Header values are clamped when read: segShift 0..31, n 1..256, slopeShift 0..63.
constexpr unsigned kPwlHeaderWords = 4;
constexpr unsigned kPwlMaxSegments = 256;
struct PwlHeader {
  int32_t x0;
  int segShift;
  unsigned n;
  int slopeShift;
};
PwlHeader pwlHeader(const int32_t *words);
/// Bytes the table at `words` occupies (header clamped).
inline unsigned pwlTableBytes(const PwlHeader &h) { return 4 * (kPwlHeaderWords + 2 * h.n); }
/// i = clamp(floor((x - x0) / 2^segShift), 0, n-1); d = sat32(x - (x0 + i*2^segShift));
/// y = sat32(b_i + rnd(k_i * d, slopeShift)). Segments at the ends extrapolate.
int32_t pwl(const int32_t *words, int32_t x);
/// Normalised rsqrt: x <= 0 -> INT32_MAX. Else e = floor(log2 x), t = 30 - e, s2 = t rounded
/// down to even, m = x * 2^s2 in [2^29, 2^31), y = sat32(pwl(table, m) * 2^(s2/2)).
/// A table for 2^F / sqrt(m) over m then gives y ~ 2^F / sqrt(x).
int32_t rsqrt(const int32_t *words, int32_t x);
/// The pwlmulpwl micro-op: s[i] = pwl(t1, x[i]), y[i] = pwl(t2, sat32(rnd(s[i] * m[j], shift)))
/// with j = 0 when `bcast`, else i mod `period` when period > 0 (rows of `period` channels), else
/// i: softplus(dt) and exp(dt * A) in one pass.
void pwlMulPwl(const int32_t *t1, const int32_t *t2, const int32_t *x, const int32_t *m, bool bcast,
               unsigned period, int shift, int32_t *s, int32_t *y, unsigned n);

// ---- Hadamard ----
/// Whether n = h * 2^k with h in {1, 12, 40} (the sizes the fwht micro-op accepts).
bool fwhtSizeOk(unsigned n);
/// The h of n = h * 2^k that fwht uses (the first of 1, 12, 40 that fits), 0 if none does.
unsigned fwhtSmallFactor(unsigned n);
/// The +-1 Hadamard matrix of order h in {1, 2, 12, 20, 40}, row-major h*h (Paley I for 12 and
/// 20 from the quadratic residues mod 11 and 19; 40 = H2 (x) H20).
const std::vector<int8_t> &hadamardSmall(unsigned h);
/// x <- (H_h (x) H_2^k) x in place, wrapping int32; element index = a * 2^k + b, a < h, b < 2^k.
/// Unnormalised: the 1/sqrt(n) goes into the neighbouring scale. Requires fwhtSizeOk(n).
void fwht(int32_t *x, unsigned n);

// ---- vector unit ----
/// sat32(rnd(sum_i x_i^2, shift)); the sum of squares saturates at 2^63 - 1.
int32_t sumsq(const int32_t *x, unsigned n, int shift);
/// The mulsumsq micro-op: y[i] = sat32(rnd(a[i] * b[i], mulShift)) (b[0] for every i when
/// `bcast`), and returns sumsq(y, n, sqShift): the products' sum of squares in the same pass.
int32_t mulSumsq(const int32_t *a, const int32_t *b, bool bcast, int32_t *y, unsigned n,
                 int mulShift, int sqShift);
/// The addsumsq micro-op: y[i] = sat32(a[i] + b[i]) (b[0] for every i when `bcast`), and
/// returns sumsq(y, n, sqShift): the sums' sum of squares in the same pass.
int32_t addSumsq(const int32_t *a, const int32_t *b, bool bcast, int32_t *y, unsigned n,
                 int sqShift);
/// One causal depthwise conv1d (kernel 4) step over C channels:
///   y[c] = sat32(bias[c] + w[c][0]*s[c][0] + w[c][1]*s[c][1] + w[c][2]*s[c][2] + w[c][3]*x[c])
///   then s[c] <- (s[c][1], s[c][2], x[c]).
/// w int8 [C][4] (w[c][3] multiplies the newest input), bias int32 [C], state int8 [C][3] oldest
/// first.
void conv4Step(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *state, int32_t *y,
               unsigned C);
/// The conv4pwl micro-op: conv4Step, then y[c] = sat32(rnd(y[c] * mult[c], shift)) when `mult`
/// is not null, then y[c] = pwl(table, y[c]).
void conv4Pwl(const int8_t *x, const int8_t *w, const int32_t *bias, const int32_t *mult, int shift,
              const int32_t *table, int8_t *state, int32_t *y, unsigned C);

// ---- SSM unit ----
/// S[p][n] = sat32(rnd(S[p][n] * decay, decayShift) + rnd(dtx[p] * B[n], inShift)).
/// S int32 [P][N], dtx int32 [P], B int8 [N]; decay is exp(dt*A) in fixed point.
void ssmUpdate(int32_t *S, const int32_t *dtx, const int8_t *B, int32_t decay, unsigned P,
               unsigned N, int decayShift, int inShift);
/// y[p] = sat32(rnd(sum_n S[p][n] * C[n], shift)); S int32 [P][N], C int8 [N].
void ssmOutput(const int32_t *S, const int8_t *C, int32_t *y, unsigned P, unsigned N, int shift);
/// ssmUpdate then ssmOutput in one pass over the state rows (the ssmstep micro-op): for each row
/// p, row p of S updated with dtxY[p], then dtxY[p] = that row's output (y over dtx in place).
/// Rows are independent, so this is bit for bit ssmUpdate on all rows followed by ssmOutput.
void ssmStep(int32_t *S, int32_t *dtxY, const int8_t *B, const int8_t *C, int32_t decay, unsigned P,
             unsigned N, int decayShift, int inShift, int outShift);

// ---- the chunked SSD form's data movement and decay (micro-ops trn, segdecay) ----
/// The trn micro-op: dst[c][r] = src[r][c] for r < rows, c < cols, elements of `bytes` bytes
/// (1: int8, 4: int32); src rows are `srcPitch` elements apart, dst rows `dstPitch` elements
/// apart (srcPitch >= cols, dstPitch >= rows). Elements are copied, not converted.
void transpose(const void *src, void *dst, unsigned rows, unsigned cols, unsigned bytes,
               unsigned srcPitch, unsigned dstPitch);
/// The segdecay micro-op: the decays of one head over a chunk of Q rows, a[0..Q) with `shift`
/// fraction bits (exp(dt * A) <= 1), to the segment products out int32 [Q][Q + 1], built row by
/// row with the rounding of the recurrent scan's state decay:
///   row -1 = (2^shift, 0, ..., 0);
///   out[t][c] = sat32(rnd(out[t-1][c] * a[t], shift)) for c <= t,
///   out[t][t + 1] = 2^shift, out[t][c] = 0 for c > t + 1.
/// So out[t][0] is the decay from the chunk's entering state to row t (prod_{r <= t} a_r) and
/// out[t][s + 1], s <= t, the decay from row s's input to row t (prod_{s < r <= t} a_r).
void segDecay(const int32_t *a, int32_t *out, unsigned Q, int shift);

/// The split16 micro-op: an int32 to 16 bits as two int8 halves for the matrix unit, exactly:
///   v = clamp(rnd(x[i], shift), -32768, 32639), hi[i] = floor((v + 128) / 256),
///   lo[i] = v - 256 * hi[i]  (so v = 256 hi + lo, hi and lo in [-128, 127]).
void split16(const int32_t *x, int8_t *hi, int8_t *lo, unsigned n, int shift);

} // namespace mamba2::isa::ref
