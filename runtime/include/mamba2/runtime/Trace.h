// Chrome trace / Perfetto JSON of a cycle-mode run: one track per unit, one slice per
// macro-instruction (timestamps in microseconds at the board's clock).
#pragma once
#include "mamba2/hw/Overlay.h"

#include <string>

namespace mamba2::runtime {

/// The trace as a JSON document ({"traceEvents": [...]}).
std::string chromeTraceJson(const hw::SimResult &r, const hw::BoardConfig &board);

/// A table of per-unit counters (for --stats).
std::string statsTable(const hw::SimResult &r, const hw::BoardConfig &board, bool cycleMode);

} // namespace mamba2::runtime
