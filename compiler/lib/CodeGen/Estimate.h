// What the emitter's cost models (RowBlocks.cpp, SsdForm.cpp) share: the arithmetic of cycle
// counts, the cycle model's pipeline constants they mirror (hw/lib/CycleModel.cpp), and the
// figures of their remarks.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace mamba2::codegen::estimate {

inline double ceilDiv(double a, double b) { return std::ceil(a / b); }

/// The least l with 2^l >= v.
inline double log2Up(double v) {
  double l = 0;
  while (std::exp2(l) < v)
    ++l;
  return l;
}

/// The cycle model's scratchpad read latency and multiplier depth.
constexpr double kSpadLatency = 2, kMulDepth = 3;
/// A vector / SSM micro-op's pipeline fill: two scratchpad latencies and a multiply.
constexpr double kUopFill = 2 * kSpadLatency + kMulDepth;

/// "1,969,909".
inline std::string thousands(double v) {
  std::string s = std::to_string(uint64_t(std::llround(v)));
  for (int i = int(s.size()) - 3; i > 0; i -= 3)
    s.insert(size_t(i), ",");
  return s;
}

} // namespace mamba2::codegen::estimate
