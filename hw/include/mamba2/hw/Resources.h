// Resource estimator: DSP, BRAM36, URAM and LUT of an overlay configuration, from the same
// unit sizes the cycle model uses (BoardConfig), and whether it fits the board.
#pragma once
#include "mamba2/hw/Board.h"

#include <string>
#include <vector>

namespace mamba2::hw {

struct ResourceLine {
  std::string part; // "matrix unit", "scratchpad", ...
  double dsp = 0, bram36 = 0, uram = 0, lut = 0;
};

struct ResourceEstimate {
  std::vector<ResourceLine> lines;
  ResourceLine total;
  /// Empty when the configuration fits the board's budgets; otherwise every resource over budget.
  std::vector<std::string> overBudget;
  bool fits() const { return overBudget.empty(); }
};

/// Fraction of each budget the estimator allows (the platform shell and routing take the rest).
constexpr double kUsableFraction = 0.85;

ResourceEstimate estimateResources(const BoardConfig &cfg);

/// One unit's scratchpad traffic per cycle at its initiation interval of 1, against what the
/// scratchpad's banks serve per cycle (spadBanks() banks of spadWordBytes()-byte words, two
/// ports each, consecutive words in consecutive banks).
struct SpadDemand {
  const char *unit;
  double bytesPerCycle; // reads + writes
  const char *what;     // the operands behind the figure
};
std::vector<SpadDemand> spadDemand(const BoardConfig &cfg);
/// Bytes per cycle the banked scratchpad serves (2 ports x spadBanks() x spadWordBytes()).
double spadSupply(const BoardConfig &cfg);

} // namespace mamba2::hw
