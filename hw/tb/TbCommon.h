// Shared by the per-unit C-simulation testbenches (hw/tb/<unit>_tb.cpp): random scratchpads,
// micro-op words, and the isa/ reference run of one micro-op. Each testbench is a main() that
// prints what differs and returns non-zero on a mismatch (as Vitis HLS csim_design expects).
#pragma once
#include "mamba2/isa/Asm.h"
#include "mamba2/isa/Interp.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace mamba2::tb {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint32_t u(uint32_t n) { return n ? uint32_t(g() % n) : 0; }
  int32_t i32() {
    switch (u(5)) {
    case 0:
      return INT32_MAX - int32_t(u(3));
    case 1:
      return INT32_MIN + int32_t(u(3));
    default:
      return int32_t(uint32_t(g()));
    }
  }
  void fill(std::vector<uint8_t> &m) {
    for (size_t i = 0; i + 4 <= m.size(); i += 4) {
      int32_t v = i32();
      std::memcpy(m.data() + i, &v, 4);
    }
  }
};

/// A micro-op word with the given fields of its format set (the rest zero).
inline isa::UopWord word(isa::UopCode op,
                         std::initializer_list<std::pair<const char *, int64_t>> f) {
  isa::UopWord w;
  w.set(isa::field::uop::uop, int64_t(op));
  const isa::FormatInfo &fi = isa::formatInfo(isa::findUop(unsigned(op))->format);
  for (const auto &kv : f)
    for (unsigned i = 0; i < fi.numFields; ++i)
      if (std::string(fi.fields[i].name) == kv.first)
        w.set(fi.fields[i].bits, kv.second);
  return w;
}

/// The reference (isa::refExecute) of one micro-op of `slot` on `mem`; "" or its error.
inline std::string reference(const isa::UopWord &w, isa::Slot slot, isa::Memory &mem) {
  isa::Issue is;
  is.slot = slot;
  is.op = 1;
  is.run.ulen = is.run.iters = 1;
  return isa::refExecute(is, mem, {w});
}

/// Runs `w` on a unit top (`top`: vector_top or ssm_top) and on the reference from the same
/// scratchpad `start`: true when the top gives the reference's bytes and busy count `busy`
/// (hw::uopLoopCycles), or, `refused`, when the top refuses it (fault `fault`) and leaves the
/// scratchpad as it was. Prints what differs.
template <class Top>
bool agrees(Top top, const isa::UopWord &w, isa::Slot slot, const std::vector<uint8_t> &start,
            uint64_t busy, bool refused, unsigned fault) {
  isa::Memory ref;
  ref.spad = start;
  std::vector<uint8_t> spad = start;
  const std::string re = refused ? "" : reference(w, slot, ref);
  uint8_t bytes[isa::kUopBytes];
  w.toBytes(bytes);
  uint32_t got = 0;
  const unsigned e = top(spad.data(), bytes, 0, 0, &got);
  const bool ok = refused ? e == fault && spad == start
                          : re.empty() && e == 0 && spad == ref.spad && got == busy;
  if (!ok)
    std::printf("differs: %s (reference '%s', top %u, busy %u vs %llu%s)\n",
                isa::formatUop(w).c_str(), re.c_str(), e, got, (unsigned long long)busy,
                refused ? ", should be refused" : "");
  return ok;
}

inline int report(const char *unit, unsigned trials, unsigned failures) {
  std::printf("%s: %u micro-ops, %u differ from the reference\n", unit, trials, failures);
  return failures ? 1 : 0;
}

} // namespace mamba2::tb
