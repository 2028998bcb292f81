// Chrome trace / Perfetto JSON of a cycle-mode run: one track per unit, one slice per
// macro-instruction (timestamps in microseconds at the board's clock).
#pragma once
#include "mamba2/runtime/Counters.h"
#include "mamba2/target/Board.h"

#include <string>

namespace mamba2::runtime {

/// The trace as a JSON document ({"traceEvents": [...]}).
std::string chromeTraceJson(const RunCounters &r, const target::Board &board);

/// A table of per-unit counters (for --stats).
std::string statsTable(const RunCounters &r, const target::Board &board);

} // namespace mamba2::runtime
