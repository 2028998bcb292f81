// The per-phase time and memory report (PhaseReport.h).
#include "mamba2/Support/PhaseReport.h"

#include <cstdio>
#include <cstring>
#include <sys/resource.h>

#include "mlir/Pass/Pass.h"

namespace mamba2 {

MemoryUse MemoryUse::now() {
  MemoryUse m;
  std::FILE *f = std::fopen("/proc/self/status", "r");
  if (!f)
    return m;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1)
      m.rss = kb * 1024;
    else if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1)
      m.peak = kb * 1024;
  }
  std::fclose(f);
  return m;
}

namespace {
double cpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::string formatRow(const PhaseReport::Row &r) {
  auto gb = [](uint64_t b) { return static_cast<double>(b) / 1e9; };
  std::string name = std::string(2 * static_cast<size_t>(r.depth), ' ') + r.name;
  if (name.size() > 44)
    name = name.substr(0, 41) + "...";
  char line[160];
  std::snprintf(line, sizeof line, "%-44s %9.2f %9.2f %9.2f %9.2f %9.2f\n", name.c_str(), r.seconds,
                r.cpuSeconds, gb(r.rss), gb(r.peak), gb(r.peakRise));
  return line;
}
} // namespace

PhaseReport::PhaseReport(llvm::raw_ostream *live)
    : live_(live), start_(std::chrono::steady_clock::now()) {}

void PhaseReport::begin(std::string name) {
  Row row;
  row.name = name;
  row.depth = static_cast<int>(open_.size());
  rows_.push_back(row);
  open_.push_back({std::move(name), std::chrono::steady_clock::now(), MemoryUse::now().peak,
                   cpuSeconds(), rows_.size() - 1});
}

void PhaseReport::end() {
  if (open_.empty())
    return;
  Open o = std::move(open_.back());
  open_.pop_back();
  MemoryUse m = MemoryUse::now();
  Row &row = rows_[o.row];
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - o.start).count();
  row.rss = m.rss;
  row.peak = m.peak;
  row.peakRise = m.peak > o.peakAtStart ? m.peak - o.peakAtStart : 0;
  row.cpuSeconds = cpuSeconds() - o.cpuAtStart;
  if (live_) {
    *live_ << "report: " << formatRow(row);
    live_->flush();
  }
}

void PhaseReport::print(llvm::raw_ostream &os) const {
  auto gb = [](uint64_t b) { return static_cast<double>(b) / 1e9; };
  char line[160];
  std::snprintf(line, sizeof line, "%-44s %9s %9s %9s %9s %9s\n", "phase", "seconds", "CPU s",
                "RSS GB", "peak GB", "peak +GB");
  os << line;
  for (const Row &r : rows_)
    os << formatRow(r);
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::snprintf(line, sizeof line, "%-44s %9.2f %9.2f %9s %9.2f\n", "total", total, cpuSeconds(),
                "", gb(MemoryUse::now().peak));
  os << line;
  os.flush();
}

namespace {
struct PassRows : mlir::PassInstrumentation {
  explicit PassRows(PhaseReport &report) : report(report) {}
  static bool counted(mlir::Pass *pass) {
    // The adaptors that run nested pass managers are not passes of their own.
    return !pass->getArgument().empty();
  }
  void runBeforePass(mlir::Pass *pass, mlir::Operation *) override {
    if (counted(pass))
      report.begin(pass->getArgument().str());
  }
  void runAfterPass(mlir::Pass *pass, mlir::Operation *) override {
    if (counted(pass))
      report.end();
  }
  void runAfterPassFailed(mlir::Pass *pass, mlir::Operation *) override {
    if (counted(pass))
      report.end();
  }
  PhaseReport &report;
};
} // namespace

std::unique_ptr<mlir::PassInstrumentation> PhaseReport::passInstrumentation() {
  return std::make_unique<PassRows>(*this);
}

} // namespace mamba2
