#include "mamba2/runtime/Report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mamba2::runtime {

RunCounters joinCalls(const std::vector<SessionCall> &calls) {
  RunCounters all;
  all.timed = !calls.empty();
  for (const SessionCall &c : calls) {
    const RunCounters &r = c.counters;
    all.timed = all.timed && r.timed;
    for (const TraceEvent &e : r.trace)
      all.trace.push_back({e.unit, e.start + all.cycles, e.end + all.cycles, e.bundle, e.name});
    all.cycles += r.cycles;
    all.bundles += r.bundles;
    for (unsigned u = 0; u < isa::kNumSlots; ++u) {
      UnitCounters &a = all.units[u];
      const UnitCounters &b = r.units[u];
      a.instructions += b.instructions;
      a.busy += b.busy;
      a.stallToken += b.stallToken;
      a.stallMemory += b.stallMemory;
      a.bytes += b.bytes;
      a.ops += b.ops;
    }
  }
  return all;
}

namespace {

std::string fmt(const char *f, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

// 1234567 -> "1.23 M", for rates.
std::string rate(double v) {
  if (v >= 1e9)
    return fmt("%.2f G ", v / 1e9);
  if (v >= 1e6)
    return fmt("%.2f M ", v / 1e6);
  if (v >= 1e3)
    return fmt("%.2f k ", v / 1e3);
  return fmt("%.2f ", v);
}

std::string latency(double us) {
  return us >= 1e6   ? fmt("%.3f s", us / 1e6)
         : us >= 1e3 ? fmt("%.3f ms", us / 1e3)
                     : fmt("%.3f us", us);
}

uint64_t dramBytes(const RunCounters &r) {
  return r.units[unsigned(isa::Slot::Load)].bytes + r.units[unsigned(isa::Slot::Store)].bytes;
}

} // namespace

std::string performanceSummary(const std::vector<SessionCall> &calls, int32_t tBlock,
                               const target::Board &board, RunMode mode) {
  std::vector<SessionCall> prompt, decode;
  for (const SessionCall &c : calls)
    (c.phase == SessionCall::Phase::Prompt ? prompt : decode).push_back(c);
  // A device without cycle counters (a board without them) reports its calls untimed.
  const bool timed = mode != RunMode::Functional && !calls.empty() && joinCalls(calls).timed;
  const char *modeName = mode == RunMode::Cycle    ? "cycle"
                         : mode == RunMode::Timing ? "timing"
                                                   : "functional";
  const double mhz = board.clockMhz, achievable = board.streamGBps();
  std::string out =
      std::string("performance: ") + board.name + " at " + fmt("%.0f MHz", mhz) + ", " + modeName +
      " mode" +
      (timed                         ? ""
       : mode == RunMode::Functional ? ": no cycle model (--mode cycle or timing times the calls)"
                                     : ": the device reported no cycle counts") +
      "\n";
  auto phase = [&](const char *name, const std::vector<SessionCall> &cs, bool perStep) {
    if (cs.empty()) {
      out += std::string(name) + ": no calls\n";
      return;
    }
    const RunCounters sum = joinCalls(cs);
    unsigned prefillCalls = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const SessionCall &c : cs) {
      prefillCalls += c.prefillEntry;
      lo = std::min(lo, c.counters.cycles);
      hi = std::max(hi, c.counters.cycles);
    }
    const uint64_t tokens = uint64_t(prefillCalls) * uint64_t(tBlock) + (cs.size() - prefillCalls);
    const double n = double(cs.size());
    std::string line = std::string(name) + ": ";
    if (perStep)
      line += std::to_string(cs.size()) + " steps";
    else
      line += std::to_string(tokens) + " tokens in " + std::to_string(prefillCalls) +
              " prefill + " + std::to_string(cs.size() - prefillCalls) + " decode calls";
    const double bytes = double(dramBytes(sum));
    if (!timed) {
      out += line + (perStep ? fmt(", %.0f DRAM bytes per step\n", bytes / n)
                             : fmt(", %.0f DRAM bytes\n", bytes));
      return;
    }
    const double cycles = perStep ? double(sum.cycles) / n : double(sum.cycles);
    const double us = cycles / mhz, seconds = us * 1e-6;
    if (perStep)
      line += fmt(", %.1f cycles per step (min %.0f, max %.0f)", cycles, double(lo), double(hi)) +
              ", " + latency(us) + " per token, " + rate(1 / seconds) + "tokens/s\n";
    else
      line += fmt(", %.0f cycles", cycles) + ", " + latency(us) + ", " +
              rate(double(tokens) / seconds) + "tokens/s\n";
    out += line;
    if (!perStep) { // the prompt's calls by entry: cycles per call and per token
      uint64_t pc = 0, dc = 0;
      for (const SessionCall &c : cs)
        (c.prefillEntry ? pc : dc) += c.counters.cycles;
      const size_t decodeCalls = cs.size() - prefillCalls;
      out += "  calls:";
      if (prefillCalls)
        out += fmt(" prefill %.1f cycles each (%.1f per token)", double(pc) / prefillCalls,
                   double(pc) / (double(prefillCalls) * tBlock));
      if (prefillCalls && decodeCalls)
        out += ",";
      if (decodeCalls)
        out += fmt(" decode %.1f cycles each", double(dc) / double(decodeCalls));
      out += "\n";
    }
    const double gbps = sum.cycles ? bytes / (double(sum.cycles) / (mhz * 1e6)) / 1e9 : 0;
    out += std::string("  DRAM: ") +
           (perStep ? fmt("%.0f bytes per step", bytes / n) : fmt("%.0f bytes", bytes)) +
           fmt(", %.3f GB/s, %.1f%% of the board's achievable %.1f GB/s", gbps,
               100 * gbps / achievable, achievable) +
           fmt(" (bandwidth bound %.1f cycles)\n",
               (perStep ? bytes / n : bytes) / board.dramBytesPerCycle());
    out += "  busy:";
    for (unsigned u = 1; u < isa::kNumSlots; ++u)
      out +=
          std::string(" ") + isa::kSlotNames[u] +
          fmt(" %.1f%%", sum.cycles ? 100.0 * double(sum.units[u].busy) / double(sum.cycles) : 0.0);
    out += "\n";
  };
  phase("prompt", prompt, false);
  phase("decode", decode, true);
  return out;
}

double portableLog(double x) {
  if (!(x > 0) || std::isinf(x))
    return x == 0 ? -HUGE_VAL : x > 0 ? x : NAN;
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(z), z = (m - 1) / (m + 1), |z| <
  // 0.172: the series to z^39 leaves less than 1e-30.
  int e = 0;
  double m = std::frexp(x, &e); // [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2;
    --e;
  }
  const double z = (m - 1) / (m + 1), z2 = z * z;
  double s = 0;
  for (int k = 39; k >= 1; k -= 2)
    s = 1.0 / double(k) + z2 * s;
  constexpr double kLn2 = 0.69314718055994530942;
  return 2 * z * s + double(e) * kLn2;
}

double tokenBits(const int32_t *q, size_t vocab, int logitFrac, size_t next) {
  const double scale = std::ldexp(1.0, -logitFrac);
  int32_t top = q[0];
  for (size_t v = 1; v < vocab; ++v)
    top = std::max(top, q[v]);
  double sum = 0;
  for (size_t v = 0; v < vocab; ++v)
    sum += portableExp(double(int64_t(q[v]) - top) * scale); // exact difference, <= 0
  const double lse = portableLog(sum);                       // log-sum-exp less the maximum
  constexpr double kLn2 = 0.69314718055994530942;
  return (lse - double(int64_t(q[next]) - top) * scale) / kLn2;
}

double TextScore::perplexity() const {
  return predictions ? std::pow(2.0, bits / double(predictions)) : 0;
}

void TextScorer::add(const int32_t *logits, size_t next, size_t nextBytes) {
  s_.bits += tokenBits(logits, vocab_, frac_, next);
  s_.bytes += nextBytes;
  ++s_.predictions;
  ++s_.tokens;
}

TextScore scoreText(const std::vector<int32_t> &logits, const std::vector<int32_t> &ids,
                    const std::vector<size_t> &tokenBytes, size_t vocab, int logitFrac) {
  TextScorer t(vocab, logitFrac);
  if (!ids.empty())
    t.first();
  for (size_t i = 0; i + 1 < ids.size(); ++i)
    t.add(logits.data() + i * vocab, size_t(ids[i + 1]), tokenBytes[i + 1]);
  return t.score();
}

} // namespace mamba2::runtime
