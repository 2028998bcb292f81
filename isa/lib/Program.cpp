#include "mamba2/isa/Program.h"

#include <algorithm>
#include <tuple>

namespace mamba2::isa {

int regionByName(const std::string &name) {
  for (unsigned i = 0; i < kNumRegions; ++i)
    if (name == kRegionNames[i])
      return static_cast<int>(i);
  return -1;
}

const Symbol *Program::entry(const std::string &name) const {
  for (const Symbol &s : symbols)
    if (s.kind == Symbol::Kind::Entry && s.name == name)
      return &s;
  return nullptr;
}

const Symbol *Program::tensor(const std::string &name) const {
  for (const Symbol &s : symbols)
    if (s.kind == Symbol::Kind::Tensor && s.name == name)
      return &s;
  return nullptr;
}

std::vector<uint8_t> Program::bundleBytes() const {
  std::vector<uint8_t> out(bundles.size() * kBundleBytes);
  for (size_t i = 0; i < bundles.size(); ++i)
    bundles[i].toBytes(out.data() + i * kBundleBytes);
  return out;
}

std::vector<uint8_t> Program::ucodeBytes() const {
  std::vector<uint8_t> out(ucode.size() * kUopBytes);
  for (size_t i = 0; i < ucode.size(); ++i)
    ucode[i].toBytes(out.data() + i * kUopBytes);
  return out;
}

size_t entryEnd(const std::vector<Bundle> &bundles, uint32_t start) {
  size_t covered = 0; // bundles before this are inside a loop body seen so far
  for (size_t i = start; i < bundles.size(); ++i) {
    const SlotWord &c = bundles[i][Slot::Ctrl];
    const uint64_t op = c.raw(field::none::op);
    if (op == op::ctrl::loop)
      covered = std::max(covered, i + 1 + size_t(c.raw(field::loop::body)));
    else if (op == op::ctrl::halt && i >= covered)
      return i + 1;
  }
  return bundles.size();
}

std::vector<SemChannel> entryChannels(const std::vector<Bundle> &bundles, uint32_t start) {
  std::array<uint8_t, kNumSems> waiter;
  waiter.fill(kNoWaiter);
  std::array<uint32_t, kNumSems> signallers{}; // bit u: unit u signals
  std::vector<SemChannel> out;
  const size_t end = entryEnd(bundles, start);
  for (size_t i = start; i < end; ++i)
    for (unsigned u = 0; u < kNumSlots; ++u) {
      const SlotWord &w = bundles[i].slot[u];
      if (w.raw(field::none::wen)) {
        const unsigned s = unsigned(w.raw(field::none::wsem)) % kNumSems;
        if (waiter[s] == kNoWaiter)
          waiter[s] = uint8_t(u);
        else if (waiter[s] != u) // a second waiting unit: kept, for the loader to refuse
          out.push_back({uint8_t(s), kNoWaiter, uint8_t(u)});
      }
      if (w.raw(field::none::sen))
        signallers[unsigned(w.raw(field::none::ssem)) % kNumSems] |= 1u << u;
    }
  for (unsigned s = 0; s < kNumSems; ++s) {
    if (waiter[s] != kNoWaiter && !signallers[s])
      out.push_back({uint8_t(s), kNoWaiter, waiter[s]});
    for (unsigned u = 0; u < kNumSlots; ++u)
      if (signallers[s] >> u & 1)
        out.push_back({uint8_t(s), uint8_t(u), waiter[s]});
  }
  std::sort(out.begin(), out.end(), [](const SemChannel &a, const SemChannel &b) {
    return std::tie(a.sem, a.to, a.from) < std::tie(b.sem, b.to, b.from);
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void deriveEntryChannels(Program &p) {
  for (Symbol &s : p.symbols)
    if (s.kind == Symbol::Kind::Entry)
      s.channels = entryChannels(p.bundles, s.bundle);
}

std::array<uint8_t, kNumSems> semWaiters(const std::vector<SemChannel> &channels) {
  std::array<uint8_t, kNumSems> w;
  w.fill(kNoWaiter);
  for (const SemChannel &c : channels)
    if (c.sem < kNumSems && w[c.sem] == kNoWaiter)
      w[c.sem] = c.to;
  return w;
}

unsigned dtypeBytes(const std::string &dtype) {
  if (dtype == "i8" || dtype == "u8" || dtype == "i4x2")
    return 1;
  if (dtype == "i16")
    return 2;
  if (dtype == "i32")
    return 4;
  return 0;
}

} // namespace mamba2::isa
