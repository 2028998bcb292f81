// Builders of piecewise-linear tables (the compiler's side of the `pwl` and `rsqrt` micro-ops).
// Tables are data: the overlay only evaluates them (Reference.h: pwl, rsqrt).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::isa {

struct PwlSpec {
  double lo = -8, hi = 8; // real input range covered by segments (ends extrapolate)
  unsigned segments = 64; // 1..256
  int inFrac = 16;        // x_real = x_int / 2^inFrac
  int outFrac = 16;       // y_int = y_real * 2^outFrac
};

/// Functions with a builder: "exp", "softplus", "silu", "sigmoid".
bool pwlKnownFunction(const std::string &name);
/// The table words (Reference.h layout) for `name` over `spec`; throws std::invalid_argument on
/// an unknown name or a bad spec.
std::vector<int32_t> buildPwl(const std::string &name, const PwlSpec &spec);
/// Real value of the named function (the table's target).
double pwlFunction(const std::string &name, double x);
/// Table for ref::rsqrt giving y ~ 2^outFrac / sqrt(x) (outFrac <= 30).
std::vector<int32_t> buildRsqrtTable(int outFrac, unsigned segments);

} // namespace mamba2::isa
