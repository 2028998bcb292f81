// Backend-neutral run counters: what every device reports about a run (the simulator from its
// cycle model, a board from the overlay's performance counters). No hw/ types here: runtime/
// uses hw/ only inside its simulator backend.
#pragma once
#include "mamba2/isa/Encoding.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::runtime {

/// Functional: serial order, values (simulator). Cycle: values and timing. Timing: timing only,
/// no values (simulator; the same counters as Cycle).
enum class RunMode { Functional, Cycle, Timing };

struct UnitCounters {
  uint64_t instructions = 0; // macro-instructions executed
  uint64_t busy = 0;         // cycles executing (loops and pipeline fill)
  uint64_t stallToken = 0;   // cycles with an instruction at the head waiting for a token
  uint64_t stallMemory = 0;  // cycles an instruction whose tokens are there waits for the memory
                             // system: DRAM ports (a DMA), scratchpad bank ports (any unit);
                             // not in busy (docs/overlay.md "Performance counters")
  uint64_t bytes = 0;        // bytes moved (DMA) or read from the scratchpad as weights (matrix)
  uint64_t ops = 0;          // MACs (matrix), element operations (vector, SSM)
};

struct TraceEvent {
  unsigned unit;       // isa::Slot
  uint64_t start, end; // cycles
  uint32_t bundle;
  std::string name; // slot.op
};

struct RunCounters {
  bool timed = false; // cycles and busy / stall counters are meaningful
  uint64_t cycles = 0;
  uint64_t bundles = 0;
  std::array<UnitCounters, isa::kNumSlots> units{};
  std::vector<TraceEvent> trace; // unit activity, when asked for and the backend keeps it
};

} // namespace mamba2::runtime
