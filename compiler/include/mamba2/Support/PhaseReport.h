// The compiler's per-phase time and memory report (mamba2c --report): wall time, resident set
// at the end and the process's peak resident set so far of each phase and each pass.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mlir/Pass/PassInstrumentation.h"
#include "llvm/Support/raw_ostream.h"

namespace mamba2 {

/// The process's resident set now and its peak so far (VmRSS and VmHWM of /proc/self/status),
/// in bytes; 0 where the file cannot be read. The peak is never reset (resetting it would also
/// reset what getrusage, hence /usr/bin/time, reports).
struct MemoryUse {
  uint64_t rss = 0, peak = 0;
  static MemoryUse now();
};

class PhaseReport {
public:
  struct Row {
    std::string name;
    int depth = 0;         // 0: a phase of the driver; 1: a pass or a step inside one
    double seconds = 0;    // wall time
    double cpuSeconds = 0; // user + system time of all the process's threads
    uint64_t rss = 0;      // resident bytes at its end
    uint64_t peak = 0;     // the process's peak resident bytes at its end
    uint64_t peakRise = 0; // how much the peak rose during it (the phase that sets the peak)
  };

  /// With `live`, each row is also printed to it as its phase ends (a long compile shows where
  /// it is; the table at the end has them all).
  explicit PhaseReport(llvm::raw_ostream *live = nullptr);
  /// Starts a phase (nested phases end before their parent: a stack).
  void begin(std::string name);
  /// Ends the innermost phase and records its row.
  void end();
  const std::vector<Row> &rows() const { return rows_; }
  /// The table: one line per phase, passes indented under the phase that ran them, then the
  /// total wall time and the peak.
  void print(llvm::raw_ostream &os) const;
  /// An instrumentation for a PassManager that records each pass as a row of this report.
  std::unique_ptr<mlir::PassInstrumentation> passInstrumentation();

private:
  struct Open {
    std::string name;
    std::chrono::steady_clock::time_point start;
    uint64_t peakAtStart;
    double cpuAtStart;
    size_t row; // where its row goes (rows of nested phases come after it)
  };
  std::vector<Open> open_;
  std::vector<Row> rows_;
  llvm::raw_ostream *live_;
  std::chrono::steady_clock::time_point start_;
};

/// Begins a phase of `report` (when not null) for the scope.
class ScopedPhase {
public:
  ScopedPhase(PhaseReport *report, std::string name) : report_(report) {
    if (report_)
      report_->begin(std::move(name));
  }
  ~ScopedPhase() {
    if (report_)
      report_->end();
  }
  ScopedPhase(const ScopedPhase &) = delete;
  ScopedPhase &operator=(const ScopedPhase &) = delete;

private:
  PhaseReport *report_;
};

} // namespace mamba2
