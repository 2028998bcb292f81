// Chord fits of smooth functions: segment i interpolates f between its two end points.
#include "mamba2/isa/PwlBuild.h"

#include "mamba2/isa/Reference.h"

#include <cmath>
#include <stdexcept>

namespace mamba2::isa {

double pwlFunction(const std::string &name, double x) {
  if (name == "exp")
    return std::exp(x);
  if (name == "softplus")
    return x > 30 ? x : std::log1p(std::exp(x));
  if (name == "sigmoid")
    return 1.0 / (1.0 + std::exp(-x));
  if (name == "silu")
    return x / (1.0 + std::exp(-x));
  throw std::invalid_argument("no piecewise-linear builder for function '" + name + "'");
}

bool pwlKnownFunction(const std::string &name) {
  return name == "exp" || name == "softplus" || name == "sigmoid" || name == "silu";
}

static int32_t clamp32(double v) {
  if (v > INT32_MAX)
    return INT32_MAX;
  if (v < INT32_MIN)
    return INT32_MIN;
  return static_cast<int32_t>(std::llround(v));
}

// Chords of f over [x0, x0 + n*2^segShift) in integer input units; slope in 2^-slopeShift steps.
template <typename F>
static std::vector<int32_t> chords(F f, int64_t x0, int segShift, unsigned n, double outScale) {
  int slopeShift = std::min(62, segShift + 8);
  std::vector<int32_t> w = {static_cast<int32_t>(x0), segShift, static_cast<int32_t>(n),
                            slopeShift};
  double step = std::ldexp(1.0, segShift);
  for (unsigned i = 0; i < n; ++i) {
    double xa = double(x0) + i * step, xb = xa + step;
    double ya = f(xa) * outScale, yb = f(xb) * outScale;
    w.push_back(clamp32(ya));
    w.push_back(clamp32((yb - ya) / step * std::ldexp(1.0, slopeShift)));
  }
  return w;
}

std::vector<int32_t> buildPwl(const std::string &name, const PwlSpec &s) {
  if (!pwlKnownFunction(name))
    throw std::invalid_argument("no piecewise-linear builder for function '" + name + "'");
  if (s.segments < 1 || s.segments > ref::kPwlMaxSegments || !(s.hi > s.lo))
    throw std::invalid_argument("bad piecewise-linear spec (segments 1..256, hi > lo)");
  double inScale = std::ldexp(1.0, s.inFrac);
  double span = (s.hi - s.lo) * inScale / s.segments;
  int segShift = std::max(0, static_cast<int>(std::ceil(std::log2(span))));
  if (segShift > 31)
    throw std::invalid_argument("piecewise-linear range too wide for int32 inputs");
  int64_t x0 = std::llround(s.lo * inScale);
  if (x0 < INT32_MIN || x0 > INT32_MAX)
    throw std::invalid_argument("piecewise-linear range start outside int32");
  return chords([&](double xi) { return pwlFunction(name, xi / inScale); }, x0, segShift,
                s.segments, std::ldexp(1.0, s.outFrac));
}

std::vector<int32_t> buildRsqrtTable(int outFrac, unsigned segments) {
  if (outFrac < 0 || outFrac > 30 || segments < 1 || segments > ref::kPwlMaxSegments)
    throw std::invalid_argument("bad rsqrt table spec (outFrac 0..30, segments 1..256)");
  // Normalised inputs m lie in [2^29, 2^31): segments of 2^31 / (4 segments) ... cover it exactly.
  int segShift = static_cast<int>(
      std::ceil(std::log2((std::ldexp(1.0, 31) - std::ldexp(1.0, 29)) / segments)));
  return chords([](double m) { return 1.0 / std::sqrt(m); }, int64_t(1) << 29, segShift, segments,
                std::ldexp(1.0, outFrac));
}

} // namespace mamba2::isa
