// The scheduler of the emitter: dependencies, semaphores, fences and bundle packing (Schedule.h).
#include "Schedule.h"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <set>
#include <tuple>

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
  std::vector<long> qpos;                          // position in its unit's queue
  std::vector<Clock> clk; // per unit, the last queue position known complete before i starts
};
/// `drains`: list positions (ascending) before which every unit has drained (a layer loop's
/// barriers): nothing after one depends on anything before it.
Analysis analyze(const std::vector<Inst> &insts, const bool viaCtrl[kUnits][kUnits],
                 const std::vector<size_t> &drains = {}) {
  const size_t n = insts.size();
  Analysis an;
  an.waits.resize(n);
  an.signals.resize(n);
  an.syncs.resize(n);
  an.syncSignals.resize(n);
  std::vector<long> &qpos = an.qpos;
  qpos.resize(n);
  std::array<long, kUnits> count{};
  for (size_t i = 0; i < n; ++i)
    qpos[i] = count[unsigned(insts[i].unit)]++;
  std::vector<Clock> &clk = an.clk;
  clk.resize(n);
  std::array<long, kUnits> last;
  last.fill(-1);
  Clock barrier; // known complete before anything fetched after the last ctrl.sync
  barrier.fill(-1);
  size_t nextDrain = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned u = unsigned(insts[i].unit);
    for (; nextDrain < drains.size() && drains[nextDrain] == i; ++nextDrain)
      for (unsigned w = 0; w < kUnits; ++w)
        barrier[w] = last[w] >= 0 ? std::max(barrier[w], qpos[size_t(last[w])]) : barrier[w];
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
/// Whether the channels into `to` from the units in `from` (a bit mask) can share one semaphore
/// in the list analysed as `an`: the consumer's waits on them, in its queue order (an
/// instruction's in the order the list builder emits them), wait for producers each of which
/// completes before the next one starts (the same unit, in queue order, or known complete by
/// the vector clock). Then the tokens that have arrived are always those of a prefix of the
/// waits, and a counting semaphore pairs each wait with its own producer.
/// `stop`: on failure, the first wait out of order (its list index) and its producer's unit.
bool interleaves(const std::vector<Inst> &insts, const Analysis &an, unsigned to, unsigned from,
                 size_t *stop = nullptr, unsigned *stopUnit = nullptr) {
  long prev = -1;
  for (size_t i = 0; i < insts.size(); ++i) {
    if (unsigned(insts[i].unit) != to)
      continue;
    for (size_t j : an.waits[i]) {
      const unsigned v = unsigned(insts[j].unit);
      if (!(from >> v & 1))
        continue;
      if (prev >= 0) {
        const unsigned pv = unsigned(insts[size_t(prev)].unit);
        if (pv != v && an.clk[j][pv] < an.qpos[size_t(prev)]) {
          if (stop)
            *stop = i;
          if (stopUnit)
            *stopUnit = v;
          return false;
        }
      }
      prev = long(j);
    }
  }
  return true;
}

/// The channels into `to` that share the semaphore of (root, to), as a mask of producer units.
unsigned sharedMask(const SemTable &sems, unsigned root, unsigned to) {
  unsigned m = 1u << root;
  for (unsigned p = 0; p < kUnits; ++p)
    if (sems.shareWith[p][to] == int(root))
      m |= 1u << p;
  return m;
}

/// Checks the shared semaphores of `sems` on the list analysed as `an` (docs/codegen.md
/// "Shared semaphores"); the error names the channels and the instruction, `res.unshare` the
/// channel whose wait is out of order.
bool checkShared(const std::vector<Inst> &insts, const Analysis &an, const SemTable &sems,
                 ScheduleResult &res) {
  for (unsigned to = 0; to < kUnits; ++to)
    for (unsigned root = 0; root < kUnits; ++root) {
      const unsigned m = sharedMask(sems, root, to);
      if (m == (1u << root))
        continue;
      size_t at = 0;
      unsigned from = 0;
      if (!interleaves(insts, an, to, m, &at, &from)) {
        res.error = "channels into the " + std::string(isa::kSlotNames[to]) +
                    " unit sharing a semaphore do not interleave provably (instruction " +
                    std::to_string(at) + ", '" + insts[at].what + "')";
        res.unshare = {int(from), int(to)};
        return false;
      }
    }
  return true;
}

} // namespace

std::vector<isa::SemChannel> SemTable::channels() const {
  std::vector<isa::SemChannel> out;
  for (unsigned from = 0; from < kUnits; ++from)
    for (unsigned to = 0; to < kUnits; ++to) {
      const int root = shareWith[from][to] >= 0 ? shareWith[from][to] : int(from);
      if (sem[root][to] >= 0)
        out.push_back({uint8_t(sem[root][to]), uint8_t(from), uint8_t(to)});
    }
  std::sort(out.begin(), out.end(), [](const isa::SemChannel &a, const isa::SemChannel &b) {
    return std::tie(a.sem, a.to, a.from) < std::tie(b.sem, b.to, b.from);
  });
  return out;
}

void planChannels(const std::vector<const std::vector<Inst> *> &entries, SemTable &sems,
                  const std::vector<std::pair<unsigned, unsigned>> &required,
                  const std::vector<double> &weights, bool share) {
  // Every channel the entries use, with its number of waits (times its entry's weight); when
  // they outnumber the semaphores, channels into one unit whose waits interleave provably share
  // one (with `share`), and the least used of the rest go through ctrl.sync (one semaphore per
  // producer unit).
  std::map<std::pair<unsigned, unsigned>, double> uses;
  bool none[kUnits][kUnits] = {};
  std::vector<Analysis> ans;
  for (size_t e = 0; e < entries.size(); ++e) {
    const auto *insts = entries[e];
    const double w = e < weights.size() ? weights[e] : 1.0;
    ans.push_back(analyze(*insts, none));
    const Analysis &an = ans.back();
    for (size_t i = 0; i < insts->size(); ++i)
      for (size_t j : an.waits[i])
        uses[{unsigned((*insts)[j].unit), unsigned((*insts)[i].unit)}] += w;
  }
  for (const auto &ch : required) // a loop's drains: never through ctrl.sync, never shared
    uses[ch] = std::numeric_limits<double>::infinity();
  if (uses.size() <= sems.limit)
    return;
  if (share) {
    // The least used channel first joins a group with the same waiting unit, while the
    // semaphores fall short; drains and channels to ctrl stay alone.
    std::vector<std::pair<double, std::pair<unsigned, unsigned>>> order;
    for (auto &[ch, k] : uses)
      if (k != std::numeric_limits<double>::infinity() && ch.second != unsigned(isa::Slot::Ctrl) &&
          !sems.noShare[ch.first][ch.second])
        order.push_back({k, ch});
    std::sort(order.begin(), order.end());
    size_t count = uses.size();
    for (auto &[k, ch] : order) {
      if (count <= sems.limit)
        break;
      const unsigned to = ch.second;
      bool hasMembers = false;
      for (unsigned p = 0; p < kUnits; ++p)
        hasMembers |= sems.shareWith[p][to] == int(ch.first);
      if (hasMembers)
        continue;
      for (auto &[k2, root] : order) {
        if (root.second != to || root == ch || sems.shareWith[root.first][to] >= 0)
          continue;
        const unsigned m = sharedMask(sems, root.first, to) | 1u << ch.first;
        bool ok = true;
        for (size_t e = 0; e < entries.size() && ok; ++e)
          ok = interleaves(*entries[e], ans[e], to, m);
        if (ok) {
          sems.shareWith[ch.first][to] = int(root.first);
          --count;
          break;
        }
      }
    }
  }
  // Groups of channels on one semaphore (a channel alone is a group of one), by use.
  std::map<std::pair<unsigned, unsigned>, std::pair<double, unsigned>> groups; // -> use, members
  for (auto &[ch, k] : uses) {
    const int r = sems.shareWith[ch.first][ch.second];
    auto &g = groups[{r >= 0 ? unsigned(r) : ch.first, ch.second}];
    g.first += k;
    g.second |= 1u << ch.first;
  }
  if (groups.size() <= sems.limit)
    return;
  std::vector<std::pair<double, std::pair<unsigned, unsigned>>> byUse;
  for (auto &[key, g] : groups)
    byUse.push_back({g.first, key});
  std::sort(byUse.begin(), byUse.end(), [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t d = byUse.size(); d-- > 0;) {
    std::set<std::pair<unsigned, unsigned>> need;
    for (size_t k = 0; k < byUse.size(); ++k) {
      if (k < d) {
        need.insert(byUse[k].second);
        continue;
      }
      const unsigned members = groups[byUse[k].second].second;
      for (unsigned p = 0; p < kUnits; ++p)
        if (members >> p & 1)
          need.insert({p, unsigned(isa::Slot::Ctrl)});
    }
    if (need.size() <= sems.limit) {
      for (size_t k = d; k < byUse.size(); ++k) {
        const unsigned to = byUse[k].second.second, members = groups[byUse[k].second].second;
        for (unsigned p = 0; p < kUnits; ++p)
          if (members >> p & 1) {
            sems.viaCtrl[p][to] = true;
            sems.shareWith[p][to] = -1;
          }
      }
      return;
    }
  }
}

namespace {

/// One instruction of the final list (fences included) before it is placed in a bundle.
struct Final {
  isa::Slot unit;
  isa::SlotWord word;
  int wsem = -1, ssem = -1;
  long after = -1; // final index of the signalling instruction this one waits on (same section)
  bool fence = false;
  bool barrier = false; // a ctrl.sync: nothing after it in the list goes to an earlier bundle
};

/// A wait of one instruction: the channel's producer unit, the signaller's key (producer,
/// consumer) and whether it goes through a ctrl.sync before the instruction.
struct Wait {
  unsigned from;
  std::pair<long, long> key;
  bool sync;
  bool carried; // signalled by the previous loop iteration (no placement constraint)
};
struct Signal {
  unsigned to; // consumer unit (ctrl for a sync)
  std::pair<long, long> key;
};

class ListBuilder {
public:
  ListBuilder(SemTable &sems, std::string &error) : sems_(sems), error_(error) {}
  std::vector<Final> out;
  std::map<std::pair<long, long>, size_t> sigAt; // key -> final index of its signal

  int semOf(unsigned from, unsigned to) {
    if (sems_.shareWith[from][to] >= 0)
      return semOf(unsigned(sems_.shareWith[from][to]), to);
    int &s = sems_.sem[from][to];
    if (s < 0) {
      if (sems_.used >= sems_.limit) {
        error_ =
            "more than " + std::to_string(sems_.limit) + " unit-to-unit channels need a semaphore";
        return 0;
      }
      s = int(sems_.used++);
    }
    return s;
  }
  long signaller(const Wait &w) const {
    if (w.carried)
      return -1;
    auto it = sigAt.find(w.key);
    return it == sigAt.end() ? -1 : long(it->second);
  }
  /// Appends `in` with its waits (extra ones as fences before it, syncs as ctrl.sync before
  /// those) and its signals (extra ones as fences after it).
  void add(const Inst &in, const std::vector<Wait> &waits, const std::vector<Signal> &signals) {
    const unsigned u = unsigned(in.unit);
    const unsigned ctrl = unsigned(isa::Slot::Ctrl);
    std::vector<const Wait *> direct;
    for (const Wait &w : waits) {
      if (w.sync) {
        out.push_back({isa::Slot::Ctrl, fenceWord(isa::Slot::Ctrl), semOf(w.from, ctrl), -1,
                       signaller(w), true, true});
      } else {
        direct.push_back(&w);
      }
    }
    for (size_t k = 0; k < direct.size(); ++k) {
      const Wait &w = *direct[k];
      if (k + 1 < direct.size())
        out.push_back(
            {in.unit, fenceWord(in.unit), semOf(w.from, u), -1, signaller(w), true, false});
      else
        out.push_back({in.unit, in.word, semOf(w.from, u), -1, signaller(w), false, false});
    }
    if (direct.empty())
      out.push_back({in.unit, in.word, -1, -1, -1, false, false});
    for (size_t k = 0; k < signals.size(); ++k) {
      int s = semOf(u, signals[k].to);
      if (k == 0)
        out.back().ssem = s;
      else
        out.push_back({in.unit, fenceWord(in.unit), -1, s, -1, true, false});
      sigAt[signals[k].key] = out.size() - 1;
    }
  }
  /// A fence on `unit` that signals (from, to)'s semaphore, or waits on it.
  size_t fence(isa::Slot unit, int wsem, int ssem, long after = -1) {
    out.push_back({unit, fenceWord(unit), wsem, ssem, after, true, unit == isa::Slot::Ctrl});
    return out.size() - 1;
  }

private:
  SemTable &sems_;
  std::string &error_;
};

/// The waits and signals of instruction i of an analysed list, keyed by list indices.
void edgesOf(const Inst &, size_t i, const Analysis &an, const std::vector<Inst> &insts,
             std::vector<Wait> &waits, std::vector<Signal> &signals) {
  waits.clear();
  signals.clear();
  for (size_t j : an.syncs[i])
    waits.push_back({unsigned(insts[j].unit), {long(j), long(i)}, true, false});
  for (size_t j : an.waits[i])
    waits.push_back({unsigned(insts[j].unit), {long(j), long(i)}, false, false});
  for (size_t c : an.signals[i])
    signals.push_back({unsigned(insts[c].unit), {long(i), long(c)}});
  for (size_t c : an.syncSignals[i])
    signals.push_back({unsigned(isa::Slot::Ctrl), {long(i), long(c)}});
}

/// Packs `out` into bundles: each instruction in the earliest bundle after its unit's previous
/// one and after its signaller's, from `first` on.
struct Packer {
  std::vector<isa::Bundle> &bundles;
  std::vector<long> bundleOf;
  std::array<long, kUnits> lastBundle;
  long maxBundle = -1, barrier = 0;
  size_t fences = 0, syncs = 0;

  Packer(std::vector<isa::Bundle> &b, size_t n) : bundles(b), bundleOf(n, -1) {
    lastBundle.fill(-1);
  }
  /// Starts a section at bundle `first`: nothing after goes before it.
  void restart(long first) {
    lastBundle.fill(first - 1);
    barrier = first;
  }
  void place(const std::vector<Final> &out, size_t k) {
    const Final &fi = out[k];
    const unsigned u = unsigned(fi.unit);
    long b = std::max(lastBundle[u] + 1, barrier);
    if (fi.after >= 0)
      b = std::max(b, bundleOf[size_t(fi.after)] + 1);
    const bool halt = fi.unit == isa::Slot::Ctrl && fi.word.raw(f::none::op) == isa::op::ctrl::halt;
    if (halt)
      b = std::max(b, maxBundle);
    if (b >= long(bundles.size()))
      bundles.resize(size_t(b) + 1);
    isa::SlotWord w = fi.word;
    if (fi.wsem >= 0) {
      w.set(f::none::wen, 1);
      w.set(f::none::wsem, fi.wsem);
    }
    if (fi.ssem >= 0) {
      w.set(f::none::sen, 1);
      w.set(f::none::ssem, fi.ssem);
    }
    bundles[size_t(b)][fi.unit] = w;
    if (fi.barrier)
      barrier = b;
    bundleOf[k] = b;
    lastBundle[u] = b;
    maxBundle = std::max(maxBundle, b);
    fences += fi.fence;
    syncs += fi.unit == isa::Slot::Ctrl && fi.fence;
  }
  /// A bundle of its own after everything so far, holding `w` in the ctrl slot.
  long ctrlBundle(const isa::SlotWord &w) {
    long b = maxBundle + 1;
    bundles.resize(size_t(b) + 1);
    bundles[size_t(b)][isa::Slot::Ctrl] = w;
    maxBundle = b;
    return b;
  }
};

ScheduleResult scheduleLoop(const std::vector<Inst> &insts, SemTable &sems, const LoopPlan &loop);

} // namespace

ScheduleResult schedule(const std::vector<Inst> &insts, SemTable &sems, const LoopPlan *loop) {
  if (loop && loop->count > 0)
    return scheduleLoop(insts, sems, *loop);
  ScheduleResult res;
  const size_t n = insts.size();
  // 1. Dependencies (channels routed as planChannels decided).
  Analysis an = analyze(insts, sems.viaCtrl);
  if (!checkShared(insts, an, sems, res))
    return res;
  // 2-3. Semaphores (one per (producer unit, consumer unit) channel) and the final list:
  //      fences before an instruction for its extra waits, after it for its extra signals.
  ListBuilder lb(sems, res.error);
  std::vector<Wait> waits;
  std::vector<Signal> signals;
  for (size_t i = 0; i < n; ++i) {
    edgesOf(insts[i], i, an, insts, waits, signals);
    lb.add(insts[i], waits, signals);
  }
  if (!res.error.empty())
    return res;
  // 4. Bundles: the earliest after the unit's previous instruction and after the signaller.
  Packer pk(res.bundles, lb.out.size());
  for (size_t k = 0; k < lb.out.size(); ++k)
    pk.place(lb.out, k);
  res.instructions = lb.out.size();
  res.fences = pk.fences;
  res.syncs = pk.syncs;
  return res;
}

namespace {
/// The units a drain passes through, in a fixed order: each one's fence waits for the
/// previous one's (every unit's earlier work is then done), the last signals ctrl, whose
/// ctrl.sync stops fetch until then. One channel to ctrl and otherwise (mostly) the
/// program's own channels, so the drains seldom push a channel onto ctrl.sync.
std::vector<unsigned> drainChain(const std::vector<Inst> &insts, size_t from, size_t to) {
  std::set<unsigned> used;
  for (size_t i = from; i < to && i < insts.size(); ++i)
    if (insts[i].unit != isa::Slot::Ctrl)
      used.insert(unsigned(insts[i].unit));
  std::vector<unsigned> chain;
  for (isa::Slot s :
       {isa::Slot::Load, isa::Slot::Matrix, isa::Slot::Vector, isa::Slot::Ssm, isa::Slot::Store})
    if (used.count(unsigned(s)))
      chain.push_back(unsigned(s));
  return chain;
}
} // namespace

std::vector<std::pair<unsigned, unsigned>> loopChannels(const std::vector<Inst> &insts,
                                                        const LoopPlan &loop) {
  std::set<std::pair<unsigned, unsigned>> chs;
  for (auto c : {drainChain(insts, 0, loop.begin), drainChain(insts, loop.begin, loop.end)}) {
    for (size_t k = 0; k + 1 < c.size(); ++k)
      chs.insert({c[k], c[k + 1]});
    if (!c.empty())
      chs.insert({c.back(), unsigned(isa::Slot::Ctrl)});
  }
  return {chs.begin(), chs.end()};
}

namespace {

/// The loop: the list is analysed as prologue, three copies of the body (iterations 1-3, each
/// with its DRAM offsets) and the epilogue, with every unit drained before the first copy and
/// after the last. Iteration 1 then depends on nothing before it, iteration 2 on itself and
/// iteration 1 (the steady state), iteration 3 must repeat iteration 2 exactly. The body keeps
/// iteration 2's waits: on its own instructions (placed after them) and on the previous
/// iteration's (carried: tokens the previous iteration signals; before iteration 1, fences after
/// the prologue signal them, and after the last iteration fences consume the ones left over).
/// A channel's waits and signals keep their order (a dependency not implied by an earlier one
/// on the same channel is later in both units' queues), so counting semaphores pair them as
/// the unrolled program would.
ScheduleResult scheduleLoop(const std::vector<Inst> &insts, SemTable &sems, const LoopPlan &loop) {
  ScheduleResult res;
  const size_t nP = loop.begin, nb = loop.end - loop.begin;
  if (loop.end <= loop.begin || loop.end > insts.size() || loop.delta.size() != nb ||
      loop.count < 2) {
    res.error = "malformed layer loop";
    return res;
  }
  // Registers: one per distinct DRAM step and the microcode stride (one register serves a
  // DRAM step and the stride when they are equal: both start at 0 and advance by it).
  std::map<int64_t, unsigned> regOf;
  std::vector<int64_t> steps = loop.delta;
  if (loop.ustride)
    steps.push_back(int64_t(loop.ustride));
  for (int64_t d : steps)
    if (d != 0 && !regOf.count(d)) {
      if (regOf.size() + 1 >= isa::kNumRegs) {
        res.error = "the layer loop needs more than " + std::to_string(isa::kNumRegs - 1) +
                    " address registers";
        return res;
      }
      unsigned r = unsigned(regOf.size() + 1);
      regOf[d] = r;
    }
  std::vector<Inst> u(insts.begin(), insts.begin() + long(loop.end));
  for (int k = 1; k <= 2; ++k)
    for (size_t a = 0; a < nb; ++a) {
      Inst in = insts[loop.begin + a];
      for (Access &x : in.access)
        if (x.space > 0) {
          x.lo += uint64_t(k * loop.delta[a]);
          x.hi += uint64_t(k * loop.delta[a]);
        }
      u.push_back(std::move(in));
    }
  const size_t nE = insts.size() - loop.end;
  u.insert(u.end(), insts.begin() + long(loop.end), insts.end());
  const size_t b1 = nP, b2 = nP + nb, b3 = nP + 2 * nb, e0 = nP + 3 * nb;
  Analysis an = analyze(u, sems.viaCtrl, {b1, e0});

  // Body edges of iteration 2 (and the check that iterations 1 and 3 agree with it).
  struct Edge {
    size_t j;     // producer, body position
    bool carried; // in the previous iteration
    bool sync;
    bool operator==(const Edge &o) const {
      return j == o.j && carried == o.carried && sync == o.sync;
    }
  };
  auto edgesAt = [&](size_t base, size_t a, std::vector<Edge> &out) -> bool {
    out.clear();
    const size_t i = base + a;
    for (int sync = 1; sync >= 0; --sync)
      for (size_t j : sync ? an.syncs[i] : an.waits[i]) {
        if (j >= base && j < base + nb)
          out.push_back({j - base, false, bool(sync)});
        else if (base >= nb && j >= base - nb && j < base)
          out.push_back({j - (base - nb), true, bool(sync)});
        else
          return false;
      }
    return true;
  };
  std::vector<std::vector<Edge>> body(nb);
  std::vector<Edge> e1, e3;
  for (size_t a = 0; a < nb; ++a) {
    bool ok = edgesAt(b2, a, body[a]) && edgesAt(b3, a, e3) && edgesAt(b1, a, e1);
    if (ok) {
      ok = e3 == body[a];
      std::vector<Edge> intra;
      for (const Edge &e : body[a])
        if (!e.carried)
          intra.push_back(e);
      ok &= e1 == intra;
    }
    if (!ok) {
      res.error = "the layer loop's dependencies do not repeat from one iteration to the next "
                  "(body instruction " +
                  std::to_string(a) + ", '" + insts[loop.begin + a].what + "')";
      return res;
    }
  }
  for (size_t i = 0; i < nP; ++i)
    for (size_t c : an.signals[i])
      if (c >= nP) {
        res.error = "a prologue instruction signals past the loop's first drain";
        return res;
      }

  // Shared semaphores: their waits interleave over the prologue, three iterations and the
  // epilogue; none is a drain's channel or waits on the previous iteration (the first
  // iteration's tokens are signalled before the loop, out of the order the check sees).
  if (!checkShared(u, an, sems, res))
    return res;
  auto shared = [&](unsigned from, unsigned to) {
    if (sems.shareWith[from][to] >= 0)
      return true;
    for (unsigned p = 0; p < kUnits; ++p)
      if (sems.shareWith[p][to] == int(from))
        return true;
    return false;
  };
  for (auto [from, to] : loopChannels(insts, loop))
    if (shared(from, to)) {
      res.error = std::string("the layer loop's drain uses the channel from the ") +
                  isa::kSlotNames[from] + " unit to the " + isa::kSlotNames[to] +
                  " unit, which shares a semaphore";
      res.unshare = {int(from), int(to)};
      return res;
    }
  for (size_t a = 0; a < nb; ++a)
    for (const Edge &e : body[a]) {
      const unsigned from = unsigned(insts[loop.begin + e.j].unit),
                     to = unsigned(insts[loop.begin + a].unit);
      if (e.carried && !e.sync && shared(from, to)) {
        res.error = std::string("the layer loop's body waits on the previous iteration through "
                                "the channel from the ") +
                    isa::kSlotNames[from] + " unit to the " + isa::kSlotNames[to] +
                    " unit, which shares a semaphore";
        res.unshare = {int(from), int(to)};
        return res;
      }
    }

  ListBuilder lb(sems, res.error);
  std::vector<Wait> waits;
  std::vector<Signal> signals;
  // Prologue.
  for (size_t i = 0; i < nP; ++i) {
    edgesOf(u[i], i, an, u, waits, signals);
    lb.add(u[i], waits, signals);
  }
  // Carried channels: tokens for iteration 1, then the drain (a fence on every unit the
  // prologue used signals ctrl, a ctrl.sync waits), then the registers.
  const unsigned ctrl = unsigned(isa::Slot::Ctrl);
  std::map<std::pair<unsigned, unsigned>, unsigned> carried; // (from, to) -> per iteration
  for (size_t a = 0; a < nb; ++a)
    for (const Edge &e : body[a])
      if (e.carried)
        ++carried[{unsigned(insts[loop.begin + e.j].unit),
                   e.sync ? ctrl : unsigned(insts[loop.begin + a].unit)}];
  for (auto &[ch, k] : carried)
    for (unsigned t = 0; t < k; ++t)
      lb.fence(isa::Slot(ch.first), -1, lb.semOf(ch.first, ch.second));
  auto drain = [&](size_t from, size_t to) {
    std::vector<unsigned> chain = drainChain(insts, from, to);
    long prev = -1;
    for (size_t k = 0; k < chain.size(); ++k) {
      const unsigned v = chain[k];
      const int w = k ? lb.semOf(chain[k - 1], v) : -1;
      const int sg = lb.semOf(v, k + 1 < chain.size() ? chain[k + 1] : ctrl);
      prev = long(lb.fence(isa::Slot(v), w, sg, prev));
    }
    if (!chain.empty())
      lb.fence(isa::Slot::Ctrl, lb.semOf(chain.back(), ctrl), -1, prev);
  };
  drain(0, nP);
  for (auto &[d, r] : regOf) {
    Inst set;
    set.unit = isa::Slot::Ctrl;
    set.word.set(f::none::op, isa::op::ctrl::seti);
    set.word.set(f::reg::rd, r);
    set.word.set(f::reg::imm, 0);
    lb.add(set, {}, {});
  }
  const size_t bodyFirst = lb.out.size();
  // Body: iteration 2's edges; a producer signals its consumers in this iteration and the next.
  const long K = 2 * long(u.size()); // body keys: apart from the prologue's and epilogue's
  std::vector<std::vector<Signal>> sigs(nb);
  for (size_t a = 0; a < nb; ++a)
    for (const Edge &e : body[a])
      sigs[e.j].push_back({e.sync ? ctrl : unsigned(insts[loop.begin + a].unit),
                           {K + long(e.j), K + long(a) + (e.carried ? long(nb) : 0)}});
  for (size_t a = 0; a < nb; ++a) {
    Inst in = insts[loop.begin + a];
    if (int64_t d = loop.delta[a]) {
      const unsigned r = regOf[d];
      const uint8_t op = uint8_t(in.word.raw(f::none::op));
      if (in.unit == isa::Slot::Load && op == isa::op::load::dma)
        in.word.set(f::xfer::dreg, r);
      else if (in.unit == isa::Slot::Store && op == isa::op::store::dma)
        in.word.set(f::xfer::dreg, r);
      else if (in.unit == isa::Slot::Load || in.unit == isa::Slot::Store)
        in.word.set(f::run::breg, r);
      else {
        res.error = "a layer loop instruction that moves with the layer is not a DMA";
        return res;
      }
    }
    if (loop.ustride && a < loop.uoff.size() && loop.uoff[a] >= 0) {
      if (in.uops.empty()) {
        res.error = "a layer loop instruction with per-iteration micro-ops is not a run";
        return res;
      }
      in.word.set(f::run::ureg, regOf[int64_t(loop.ustride)]);
    }
    waits.clear();
    for (const Edge &e : body[a])
      waits.push_back({unsigned(insts[loop.begin + e.j].unit),
                       {K + long(e.j), K + long(a) + (e.carried ? long(nb) : 0)},
                       e.sync,
                       e.carried});
    lb.add(in, waits, sigs[a]);
  }
  const size_t bodyLast = lb.out.size();
  // After the loop: consume the last iteration's carried tokens, drain, then the epilogue.
  for (auto &[ch, k] : carried)
    for (unsigned t = 0; t < k; ++t)
      lb.fence(isa::Slot(ch.second), lb.semOf(ch.first, ch.second), -1);
  drain(loop.begin, loop.end);
  for (size_t i = e0; i < e0 + nE; ++i) {
    edgesOf(u[i], i, an, u, waits, signals);
    for (const Wait &w : waits)
      if (size_t(w.key.first) < e0) {
        res.error = "an epilogue instruction waits past the loop's last drain";
        return res;
      }
    lb.add(u[i], waits, signals);
  }
  if (!res.error.empty())
    return res;

  // Bundles: prologue; the loop bundle; the body from the next bundle, then one ctrl.addi
  // bundle per register; the epilogue after them.
  Packer pk(res.bundles, lb.out.size());
  for (size_t k = 0; k < bodyFirst; ++k)
    pk.place(lb.out, k);
  isa::SlotWord lw;
  lw.set(f::none::op, isa::op::ctrl::loop);
  lw.set(f::loop::count, loop.count);
  const long loopAt = pk.ctrlBundle(lw);
  pk.restart(loopAt + 1);
  for (size_t k = bodyFirst; k < bodyLast; ++k)
    pk.place(lb.out, k);
  for (auto &[d, r] : regOf) {
    isa::SlotWord w;
    w.set(f::none::op, isa::op::ctrl::addi);
    w.set(f::reg::rd, r);
    w.set(f::reg::rs, r);
    w.set(f::reg::imm, d);
    pk.ctrlBundle(w);
  }
  const long bodyBundles = pk.maxBundle - loopAt;
  if (bodyBundles >= (long(1) << f::loop::body.width)) {
    res.error = "the layer loop's body of " + std::to_string(bodyBundles) +
                " bundles exceeds the loop format's body field";
    return res;
  }
  res.bundles[size_t(loopAt)][isa::Slot::Ctrl].set(f::loop::body, bodyBundles);
  pk.restart(pk.maxBundle + 1);
  for (size_t k = bodyLast; k < lb.out.size(); ++k)
    pk.place(lb.out, k);
  res.instructions = lb.out.size();
  res.fences = pk.fences;
  res.syncs = pk.syncs;
  return res;
}

} // namespace

} // namespace mamba2::codegen
