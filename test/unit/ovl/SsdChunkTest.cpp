// The chunked SSD form (ssd::buildRecipe, run with isa::ref) against the recurrent scan
// (isa::ref::ssmUpdate / ssmOutput, what ovl.ssm computes) on hand-built data: random but seeded,
// several chunk sizes with a partial last chunk, one and two B/C groups; and the recipe's
// determinism and its errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "mamba2/Ovl/SsdChunk.h"
#include "mamba2/isa/Reference.h"

using namespace mamba2;
namespace ref = mamba2::isa::ref;

namespace {

constexpr int kDtFrac = 10, kDecayFrac = 15, kIn = 8;

struct Case {
  int64_t H, P, G, N, T;
  std::vector<int32_t> x, d, decay, B, C, S0;
  std::vector<int> multExp;
  int out = 0;
};

// dt' in (0.002, 0.25) with 10 fraction bits, A in (-4, -0.5) per head, x, B, C int8 of a
// realistic spread, the state entering at a calibrated size (|S| < 2^13), multipliers 2^0..2^2.
Case makeCase(int64_t H, int64_t P, int64_t G, int64_t N, int64_t T, uint32_t seed) {
  Case c{H, P, G, N, T, {}, {}, {}, {}, {}, {}, {}, 0};
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> ud(0.0, 1.0);
  auto i8 = [&](double sd) { return int32_t(std::clamp(std::lround(nd(rng) * sd), -127L, 127L)); };
  std::vector<double> A(static_cast<size_t>(H));
  for (auto &a : A)
    a = -(0.5 + 3.5 * ud(rng));
  for (int64_t i = 0; i < T * H * P; ++i)
    c.x.push_back(i8(40));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const double dt = 0.002 + 0.25 * ud(rng) * ud(rng);
      const int32_t dq = int32_t(std::lround(std::ldexp(dt, kDtFrac)));
      c.d.push_back(dq);
      c.decay.push_back(int32_t(std::lround(
          std::ldexp(std::exp(std::ldexp(double(dq), -kDtFrac) * A[size_t(h)]), kDecayFrac))));
    }
  for (int64_t i = 0; i < T * G * N; ++i) {
    c.B.push_back(i8(35));
    c.C.push_back(i8(35));
  }
  for (int64_t i = 0; i < H * P * N; ++i)
    c.S0.push_back(int32_t(std::lround(nd(rng) * 2000)));
  for (int64_t h = 0; h < H; ++h)
    c.multExp.push_back(int(h % 3));
  // The lowering's output shift for a 16-bit state: |S . C| < N * 127 * 2^15 below 2^30.
  c.out = std::max(0, int(std::ceil(std::log2(double(N) * 127.0 * 32768.0))) - 30);
  return c;
}

/// The scan: y [T][HP] and the state after the last row.
void scan(const Case &c, std::vector<int32_t> &y, std::vector<int32_t> &S) {
  const int64_t H = c.H, P = c.P, N = c.N, GN = c.G * c.N, hpg = H / c.G;
  S = c.S0;
  y.assign(size_t(c.T * H * P), 0);
  std::vector<int8_t> B(c.B.begin(), c.B.end()), C(c.C.begin(), c.C.end());
  std::vector<int32_t> dtx(static_cast<size_t>(P));
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t p = 0; p < P; ++p)
        dtx[size_t(p)] = ref::sat32(int64_t(c.x[size_t(t * H * P + h * P + p)]) *
                                    c.d[size_t(t * H + h)] * (int64_t(1) << c.multExp[size_t(h)]));
      const int64_t g = h / hpg;
      ref::ssmUpdate(S.data() + h * P * N, dtx.data(), B.data() + t * GN + g * N,
                     c.decay[size_t(t * H + h)], unsigned(P), unsigned(N), kDecayFrac, kIn);
      ref::ssmOutput(S.data() + h * P * N, C.data() + t * GN + g * N, y.data() + t * H * P + h * P,
                     unsigned(P), unsigned(N), c.out);
    }
}

/// The shifts from the proven bounds (d <= the softplus table's domain end, 8), or from the
/// data's own largest |d| and |C_t . B_s| (rows at most `Q` apart) with one bit of headroom, as
/// mamba2c's calibration gives them (`calibrated`).
ssd::ChunkShifts shiftsFor(const Case &c, bool calibrated = true, int64_t Q = 64) {
  ssd::ShiftBounds b;
  b.dState = c.N;
  b.decayFrac = kDecayFrac;
  b.inShift = kIn;
  b.outShift = c.out;
  b.dMax = std::ldexp(8.0, kDtFrac);
  b.stateBits = 16;
  b.multExp = c.multExp;
  if (calibrated) {
    int64_t d = 1, cb = 1;
    for (int32_t v : c.d)
      d = std::max<int64_t>(d, std::abs(v));
    const int64_t GN = c.G * c.N;
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t u = std::max<int64_t>(0, t - Q + 1); u <= t; ++u)
        for (int64_t g = 0; g < c.G; ++g) {
          int64_t dot = 0;
          for (int64_t n = 0; n < c.N; ++n)
            dot += int64_t(c.C[size_t(t * GN + g * c.N + n)]) * c.B[size_t(u * GN + g * c.N + n)];
          cb = std::max<int64_t>(cb, std::abs(dot));
        }
    b.dMax = 2.0 * double(d);
    b.cbMax = 2.0 * double(cb);
  }
  return ssd::chooseShifts(b);
}

std::string chunked(const Case &c, int64_t Q, std::vector<int32_t> &y, std::vector<int32_t> &S,
                    bool calibrated = true) {
  ssd::ChunkShape shape{c.H, c.P, c.G, c.N, c.T, Q};
  const ssd::ChunkShifts sh = shiftsFor(c, calibrated, Q);
  if (std::string e = ssd::checkShifts(shape, sh); !e.empty())
    return e;
  ssd::Recipe r = ssd::buildRecipe(shape, sh);
  std::vector<std::vector<int32_t>> io(r.buffers.size());
  io[size_t(r.x)] = c.x;
  io[size_t(r.d)] = c.d;
  io[size_t(r.decay)] = c.decay;
  io[size_t(r.B)] = c.B;
  io[size_t(r.C)] = c.C;
  io[size_t(r.state)] = c.S0;
  std::string e = ssd::execute(r, io);
  y = io[size_t(r.y)];
  S = io[size_t(r.state)];
  return e;
}

/// max |a - b| / max |b|.
double relErr(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::fabs(double(a[i]) - double(b[i])));
    den = std::max(den, std::fabs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}

struct Shape {
  int64_t H, P, G, N, T;
};

// The stated tolerances: the chunked form's y and state within 0.2 % of the scan's largest
// magnitude with calibrated bounds of d and C_t . B_s (its M and B * w are 16 bits of those
// bounds), within 15 % with the proven bounds alone (d up to the softplus table's domain end, 8,
// where these dt' stay below 0.26: 5 bits of M go unused).
constexpr double kTolerance = 0.002, kProvenTolerance = 0.15;

TEST(SsdChunk, MatchesTheScanWithinTolerance) {
  const Shape shapes[] = {{2, 8, 1, 16, 45}, {4, 8, 2, 16, 37}, {2, 64, 1, 32, 70}};
  for (const Shape &s : shapes)
    for (int64_t Q : {1, 8, 16, 64})
      for (bool calibrated : {true, false}) {
        SCOPED_TRACE("H " + std::to_string(s.H) + " P " + std::to_string(s.P) + " G " +
                     std::to_string(s.G) + " N " + std::to_string(s.N) + " rows " +
                     std::to_string(s.T) + " chunk " + std::to_string(Q) +
                     (calibrated ? " calibrated" : " proven"));
        Case c = makeCase(s.H, s.P, s.G, s.N, s.T, uint32_t(7 * s.T + Q));
        std::vector<int32_t> ys, Ss, yc, Sc;
        scan(c, ys, Ss);
        ASSERT_EQ(chunked(c, Q, yc, Sc, calibrated), "");
        const double ey = relErr(yc, ys), es = relErr(Sc, Ss);
        const double tol = calibrated ? kTolerance : kProvenTolerance;
        EXPECT_LT(ey, tol);
        EXPECT_LT(es, tol);
        std::printf("H %lld P %lld G %lld N %lld rows %lld chunk %lld %s: y error %.2e, state "
                    "%.2e (of the largest)\n",
                    (long long)s.H, (long long)s.P, (long long)s.G, (long long)s.N, (long long)s.T,
                    (long long)Q, calibrated ? "calibrated" : "proven", ey, es);
      }
}

TEST(SsdChunk, OneChunkOfAllRowsIsDeterministic) {
  Case c = makeCase(4, 8, 2, 16, 48, 11);
  std::vector<int32_t> y1, S1, y2, S2;
  ASSERT_EQ(chunked(c, 48, y1, S1), "");
  ASSERT_EQ(chunked(c, 48, y2, S2), "");
  EXPECT_EQ(y1, y2);
  EXPECT_EQ(S1, S2);
  // Two calls of 24 rows each = one call with chunks of 24.
  Case a = c, b = c;
  a.T = b.T = 24;
  a.x.resize(size_t(24 * 32));
  b.x.erase(b.x.begin(), b.x.begin() + 24 * 32);
  a.d.resize(24 * 4);
  b.d.erase(b.d.begin(), b.d.begin() + 24 * 4);
  a.decay.resize(24 * 4);
  b.decay.erase(b.decay.begin(), b.decay.begin() + 24 * 4);
  a.B.resize(24 * 32);
  b.B.erase(b.B.begin(), b.B.begin() + 24 * 32);
  a.C.resize(24 * 32);
  b.C.erase(b.C.begin(), b.C.begin() + 24 * 32);
  std::vector<int32_t> ya, Sa, yb, Sb, yw, Sw;
  // (The proven bounds: the same shifts whatever the data.)
  ASSERT_EQ(chunked(a, 64, ya, Sa, false), "");
  b.S0 = Sa;
  ASSERT_EQ(chunked(b, 64, yb, Sb, false), "");
  ASSERT_EQ(chunked(c, 24, yw, Sw, false), "");
  ya.insert(ya.end(), yb.begin(), yb.end());
  EXPECT_EQ(ya, yw);
  EXPECT_EQ(Sb, Sw);
}

TEST(SsdChunk, RecipeIsMicroOpsOnItsBuffers) {
  Case c = makeCase(2, 8, 1, 16, 10, 3);
  ssd::Recipe r = ssd::buildRecipe({2, 8, 1, 16, 10, 4}, shiftsFor(c));
  const std::string text = r.describe();
  // Chunks of 4, 4 and 2 rows: the last chunk's matrices are 2 x 2.
  EXPECT_NE(text.find("segdecay L[0] <- aT[0] len=4"), std::string::npos) << text;
  EXPECT_NE(text.find("segdecay L[0] <- aT[0] len=2"), std::string::npos) << text;
  EXPECT_NE(text.find("trn y[128] <- Yt[0] rows=16 cols=2"), std::string::npos) << text;
  for (const ssd::Step &s : r.steps)
    if (s.kind == ssd::Kind::Gmm8) {
      EXPECT_LE(s.m, 63);
      EXPECT_GE(s.shift, -31);
      EXPECT_LE(s.shift, 63);
    }
}

TEST(SsdChunk, RefusesShiftsOutsideTheFields) {
  Case c = makeCase(2, 8, 1, 16, 10, 3);
  ssd::ChunkShifts sh = shiftsFor(c);
  EXPECT_EQ(ssd::checkShifts({2, 8, 1, 16, 10, 65}, sh), "chunk must be in 1..64");
  sh.multExp = {0};
  EXPECT_EQ(ssd::checkShifts({2, 8, 1, 16, 10, 4}, sh), "mult_exp must have one exponent per head");
  sh = shiftsFor(c);
  sh.cShift = -30;
  EXPECT_NE(ssd::checkShifts({2, 8, 1, 16, 10, 4}, sh).find("c_shift"), std::string::npos);
  // A wrongly sized operand is an error, not a read outside it.
  ssd::Recipe r = ssd::buildRecipe({2, 8, 1, 16, 10, 4}, shiftsFor(c));
  std::vector<std::vector<int32_t>> io(r.buffers.size());
  EXPECT_NE(ssd::execute(r, io).find("has 0 elements"), std::string::npos);
}

} // namespace
