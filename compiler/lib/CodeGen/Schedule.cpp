// The scheduler of the emitter: dependencies, semaphores, fences and bundle packing (Schedule.h).
#include "Schedule.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace mamba2::codegen {
namespace {

namespace f = isa::field;
constexpr unsigned kUnits = isa::kNumSlots;
using Clock = std::array<long, kUnits>;

bool conflicts(const Inst &a, const Inst &b) {
  for (const Access &x : a.access)
    for (const Access &y : b.access)
      if (x.space == y.space && (x.write || y.write) && x.lo < y.hi && y.lo < x.hi)
        return true;
  return false;
}

/// An instruction that does nothing but wait for or signal a token on `unit`.
isa::SlotWord fenceWord(isa::Slot unit) {
  isa::SlotWord w;
  switch (unit) {
  case isa::Slot::Ctrl:
    w.set(f::none::op, isa::op::ctrl::sync);
    break;
  case isa::Slot::Load:
    w.set(f::none::op, isa::op::load::run);
    break;
  case isa::Slot::Store:
    w.set(f::none::op, isa::op::store::run);
    break;
  case isa::Slot::Matrix:
    w.set(f::none::op, isa::op::matrix::run);
    break;
  case isa::Slot::Vector:
    w.set(f::none::op, isa::op::vector::run);
    break;
  case isa::Slot::Ssm:
    w.set(f::none::op, isa::op::ssm::run);
    break;
  }
  return w; // a run of zero micro-ops and zero iterations: nothing but its tokens
}

} // namespace

namespace {
/// The cross-unit waits of every instruction (producer indices), found with vector clocks.
/// Channels in `viaCtrl` ((producer unit, consumer unit) pairs) are not given their own
/// semaphore: a ctrl.sync before the consumer waits instead, and orders everything after it.
struct Analysis {
  std::vector<std::vector<size_t>> waits, signals; // direct edges
  std::vector<std::vector<size_t>> syncs;          // producers a ctrl.sync before i waits for
  std::vector<std::vector<size_t>> syncSignals;    // consumers whose ctrl.sync j signals
};
Analysis analyze(const std::vector<Inst> &insts, const bool viaCtrl[kUnits][kUnits]) {
  const size_t n = insts.size();
  Analysis an;
  an.waits.resize(n);
  an.signals.resize(n);
  an.syncs.resize(n);
  an.syncSignals.resize(n);
  std::vector<long> qpos(n);
  std::array<long, kUnits> count{};
  for (size_t i = 0; i < n; ++i)
    qpos[i] = count[unsigned(insts[i].unit)]++;
  std::vector<Clock> clk(n);
  std::array<long, kUnits> last;
  last.fill(-1);
  Clock barrier; // known complete before anything fetched after the last ctrl.sync
  barrier.fill(-1);
  for (size_t i = 0; i < n; ++i) {
    const unsigned u = unsigned(insts[i].unit);
    Clock c = barrier;
    if (last[u] >= 0) {
      for (unsigned w = 0; w < kUnits; ++w)
        c[w] = std::max(c[w], clk[size_t(last[u])][w]);
      c[u] = std::max(c[u], qpos[size_t(last[u])]);
    }
    if (insts[i].unit != isa::Slot::Ctrl) {
      // The latest conflicting instruction of every other unit not already known complete.
      std::array<long, kUnits> need;
      need.fill(-1);
      std::array<bool, kUnits> done{};
      done[u] = true;
      done[0] = true; // ctrl touches no memory
      unsigned open = 0;
      for (unsigned v = 0; v < kUnits; ++v)
        open += !done[v];
      for (long j = long(i) - 1; j >= 0 && open; --j) {
        const unsigned v = unsigned(insts[size_t(j)].unit);
        if (done[v])
          continue;
        if (qpos[size_t(j)] <= c[v]) {
          done[v] = true;
          --open;
          continue;
        }
        if (conflicts(insts[i], insts[size_t(j)])) {
          need[v] = j;
          done[v] = true;
          --open;
        }
      }
      // Wait for the producer that implies the most first, then the others not yet implied.
      std::vector<size_t> order;
      for (unsigned v = 0; v < kUnits; ++v)
        if (need[v] >= 0)
          order.push_back(size_t(need[v]));
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return a > b; });
      for (size_t j : order) {
        const unsigned v = unsigned(insts[j].unit);
        if (qpos[j] <= c[v])
          continue;
        Clock cj = clk[j];
        cj[v] = std::max(cj[v], qpos[j]);
        if (viaCtrl[v][u]) {
          an.syncs[i].push_back(j);
          an.syncSignals[j].push_back(i);
          for (unsigned w = 0; w < kUnits; ++w)
            barrier[w] = std::max(barrier[w], cj[w]);
        } else {
          an.waits[i].push_back(j);
          an.signals[j].push_back(i);
        }
        for (unsigned w = 0; w < kUnits; ++w)
          c[w] = std::max(c[w], cj[w]);
      }
    }
    clk[i] = c;
    last[u] = long(i);
  }
  return an;
}
} // namespace

void planChannels(const std::vector<const std::vector<Inst> *> &entries, SemTable &sems) {
  // Every channel the entries use, with its number of waits; when they outnumber the
  // semaphores, the least used go through ctrl.sync (one semaphore per producer unit).
  std::map<std::pair<unsigned, unsigned>, size_t> uses;
  bool none[kUnits][kUnits] = {};
  for (const auto *insts : entries) {
    Analysis an = analyze(*insts, none);
    for (size_t i = 0; i < insts->size(); ++i)
      for (size_t j : an.waits[i])
        ++uses[{unsigned((*insts)[j].unit), unsigned((*insts)[i].unit)}];
  }
  if (uses.size() <= isa::kNumSems)
    return;
  std::vector<std::pair<size_t, std::pair<unsigned, unsigned>>> byUse;
  for (auto &[ch, k] : uses)
    byUse.push_back({k, ch});
  std::sort(byUse.begin(), byUse.end(), [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t d = byUse.size(); d-- > 0;) {
    std::set<std::pair<unsigned, unsigned>> need;
    for (size_t k = 0; k < byUse.size(); ++k)
      need.insert(k < d ? byUse[k].second
                        : std::make_pair(byUse[k].second.first, unsigned(isa::Slot::Ctrl)));
    if (need.size() <= isa::kNumSems) {
      for (size_t k = d; k < byUse.size(); ++k)
        sems.viaCtrl[byUse[k].second.first][byUse[k].second.second] = true;
      return;
    }
  }
}

ScheduleResult schedule(const std::vector<Inst> &insts, SemTable &sems) {
  ScheduleResult res;
  const size_t n = insts.size();
  // 1. Dependencies (channels routed as planChannels decided).
  Analysis an = analyze(insts, sems.viaCtrl);
  const auto &waits = an.waits;
  const auto &signals = an.signals;

  // 2. Semaphores: one per (producer unit, consumer unit) channel.
  auto semOf = [&](unsigned from, unsigned to) -> int {
    int &s = sems.sem[from][to];
    if (s < 0) {
      if (sems.used >= isa::kNumSems)
        return -1;
      s = int(sems.used++);
    }
    return s;
  };

  // 3. The final list: fences before an instruction for its extra waits, after it for its
  //    extra signals. sigAt[(producer, consumer)] = index in the final list that signals.
  struct Final {
    isa::Slot unit;
    isa::SlotWord word;
    int wsem = -1, ssem = -1;
    long after = -1; // final index of the signalling instruction this one waits on
    bool fence = false;
    bool barrier = false; // a ctrl.sync: nothing after it in the list goes to an earlier bundle
  };
  std::vector<Final> out;
  out.reserve(n + n / 4);
  std::vector<std::vector<std::pair<size_t, size_t>>> sigIndex(n); // (consumer, final index)
  auto signalFinal = [&](size_t producer, size_t consumer) -> long {
    for (auto &p : sigIndex[producer])
      if (p.first == consumer)
        return long(p.second);
    return -1;
  };
  const unsigned ctrl = unsigned(isa::Slot::Ctrl);
  for (size_t i = 0; i < n; ++i) {
    const unsigned u = unsigned(insts[i].unit);
    for (size_t j : an.syncs[i]) {
      int s = semOf(unsigned(insts[j].unit), ctrl);
      if (s < 0) {
        res.error = "more than " + std::to_string(isa::kNumSems) +
                    " unit-to-unit channels need a semaphore";
        return res;
      }
      Final fn{isa::Slot::Ctrl, fenceWord(isa::Slot::Ctrl), s, -1, signalFinal(j, i), true, true};
      out.push_back(fn);
    }
    for (size_t k = 0; k < waits[i].size(); ++k) {
      size_t j = waits[i][k];
      int s = semOf(unsigned(insts[j].unit), u);
      if (s < 0) {
        res.error = "more than " + std::to_string(isa::kNumSems) +
                    " unit-to-unit channels need a semaphore";
        return res;
      }
      long at = signalFinal(j, i);
      if (k + 1 < waits[i].size()) {
        Final fn{insts[i].unit, fenceWord(insts[i].unit), s, -1, at, true, false};
        out.push_back(fn);
      } else {
        out.push_back({insts[i].unit, insts[i].word, s, -1, at, false, false});
      }
    }
    if (waits[i].empty())
      out.push_back({insts[i].unit, insts[i].word, -1, -1, -1, false, false});
    std::vector<std::pair<size_t, unsigned>> sig; // (consumer, consumer's channel end)
    for (size_t c : signals[i])
      sig.push_back({c, unsigned(insts[c].unit)});
    for (size_t c : an.syncSignals[i])
      sig.push_back({c, ctrl});
    for (size_t k = 0; k < sig.size(); ++k) {
      size_t c = sig[k].first;
      int s = semOf(u, sig[k].second);
      if (s < 0) {
        res.error = "more than " + std::to_string(isa::kNumSems) +
                    " unit-to-unit channels need a semaphore";
        return res;
      }
      if (k == 0) {
        out.back().ssem = s;
      } else {
        Final fn{insts[i].unit, fenceWord(insts[i].unit), -1, s, -1, true, false};
        out.push_back(fn);
      }
      sigIndex[i].push_back({c, out.size() - 1});
    }
  }

  // 4. Bundles: the earliest after the unit's previous instruction and after the signaller.
  std::vector<long> bundleOf(out.size(), -1);
  std::array<long, kUnits> lastBundle;
  lastBundle.fill(-1);
  long maxBundle = -1, barrier = 0;
  for (size_t k = 0; k < out.size(); ++k) {
    const Final &fi = out[k];
    const unsigned u = unsigned(fi.unit);
    long b = std::max(lastBundle[u] + 1, barrier);
    if (fi.after >= 0)
      b = std::max(b, bundleOf[size_t(fi.after)] + 1);
    const bool halt = fi.unit == isa::Slot::Ctrl && fi.word.raw(f::none::op) == isa::op::ctrl::halt;
    if (halt)
      b = std::max(b, maxBundle);
    if (b >= long(res.bundles.size()))
      res.bundles.resize(size_t(b) + 1);
    isa::SlotWord w = fi.word;
    if (fi.wsem >= 0) {
      w.set(f::none::wen, 1);
      w.set(f::none::wsem, fi.wsem);
    }
    if (fi.ssem >= 0) {
      w.set(f::none::sen, 1);
      w.set(f::none::ssem, fi.ssem);
    }
    res.bundles[size_t(b)][fi.unit] = w;
    if (fi.barrier)
      barrier = b;
    bundleOf[k] = b;
    lastBundle[u] = b;
    maxBundle = std::max(maxBundle, b);
    res.fences += fi.fence;
  }
  res.instructions = out.size();
  return res;
}

} // namespace mamba2::codegen
