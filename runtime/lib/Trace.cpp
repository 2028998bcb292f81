#include "mamba2/runtime/Trace.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mamba2::runtime {

std::string chromeTraceJson(const RunCounters &r, const target::Board &board) {
  nlohmann::json events = nlohmann::json::array();
  for (unsigned u = 0; u < isa::kNumSlots; ++u)
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", 0},
                      {"tid", u},
                      {"args", {{"name", std::string(isa::kSlotNames[u]) + " unit"}}}});
  const double usPerCycle = 1.0 / board.clockMhz;
  for (const TraceEvent &e : r.trace)
    events.push_back(
        {{"name", e.name},
         {"ph", "X"},
         {"pid", 0},
         {"tid", e.unit},
         {"ts", double(e.start) * usPerCycle},
         {"dur", double(e.end - e.start) * usPerCycle},
         {"args", {{"bundle", e.bundle}, {"start_cycle", e.start}, {"end_cycle", e.end}}}});
  nlohmann::json doc = {
      {"traceEvents", events},
      {"displayTimeUnit", "ns"},
      {"otherData", {{"board", board.name}, {"cycles", r.cycles}, {"clock_mhz", board.clockMhz}}}};
  return doc.dump(1);
}

std::string statsTable(const RunCounters &r, const target::Board &board) {
  const bool cycleMode = r.timed;
  std::string out;
  char line[256];
  if (cycleMode) {
    std::snprintf(line, sizeof line, "cycles %llu (%.3f us at %.0f MHz), bundles issued %llu\n",
                  (unsigned long long)r.cycles, double(r.cycles) / board.clockMhz, board.clockMhz,
                  (unsigned long long)r.bundles);
  } else {
    std::snprintf(line, sizeof line, "functional run: bundles issued %llu (no timing)\n",
                  (unsigned long long)r.bundles);
  }
  out += line;
  std::snprintf(line, sizeof line, "%-7s %12s %12s %8s %12s %12s %14s %14s\n", "unit", "instrs",
                "busy", "busy%", "stall-token", "stall-mem", "bytes", "ops");
  out += line;
  for (unsigned u = 0; u < isa::kNumSlots; ++u) {
    const UnitCounters &c = r.units[u];
    double pct = r.cycles ? 100.0 * double(c.busy) / double(r.cycles) : 0.0;
    std::snprintf(line, sizeof line, "%-7s %12llu %12llu %7.1f%% %12llu %12llu %14llu %14llu\n",
                  isa::kSlotNames[u], (unsigned long long)c.instructions,
                  (unsigned long long)c.busy, pct, (unsigned long long)c.stallToken,
                  (unsigned long long)c.stallMemory, (unsigned long long)c.bytes,
                  (unsigned long long)c.ops);
    out += line;
  }
  if (cycleMode && r.cycles) {
    uint64_t dramBytes =
        r.units[unsigned(isa::Slot::Load)].bytes + r.units[unsigned(isa::Slot::Store)].bytes;
    double gbps = double(dramBytes) / (double(r.cycles) / (board.clockMhz * 1e6)) / 1e9;
    std::snprintf(line, sizeof line, "DRAM: %.2f GB/s of %.1f sustained by the ports (%.1f%%)\n",
                  gbps, board.streamGBps(), 100.0 * gbps / board.streamGBps());
    out += line;
  }
  return out;
}

} // namespace mamba2::runtime
