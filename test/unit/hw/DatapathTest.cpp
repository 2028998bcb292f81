// C-simulation testbench: every HLS datapath against the isa/ reference, bit for bit, on
// random and edge-case operands (saturation, negative shifts, zero lengths, garbage tables),
// for every board configuration (the tiling differs per board; the result must not).
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/isa/Reference.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace mamba2;
using isa::UopCode;

namespace {

constexpr uint64_t kSpad = 64 * 1024;

struct Bench {
  std::mt19937_64 g;
  explicit Bench(uint64_t seed) : g(seed) {}
  uint32_t u(uint32_t n) { return n ? uint32_t(g() % n) : 0; }
  // Values biased towards the extremes that trigger saturation and rounding ties.
  int32_t i32() {
    switch (u(6)) {
    case 0:
      return INT32_MAX - int32_t(u(3));
    case 1:
      return INT32_MIN + int32_t(u(3));
    case 2:
      return int32_t(u(17)) - 8;
    default:
      return int32_t(uint32_t(g()));
    }
  }
  void fill(std::vector<uint8_t> &m, bool wide) {
    if (!wide) {
      for (auto &b : m)
        b = uint8_t(g());
      return;
    }
    for (size_t i = 0; i + 4 <= m.size(); i += 4) {
      int32_t v = i32();
      std::memcpy(m.data() + i, &v, 4);
    }
  }
};

isa::Memory memory() {
  isa::Memory m;
  m.spad.assign(kSpad, 0);
  return m;
}

// Runs `words` as one vector/ssm issue on the reference and on each board's datapath.
void compare(const std::vector<isa::UopWord> &words, isa::Slot slot,
             const std::vector<uint8_t> &spad, uint32_t iters = 1, uint32_t stride = 0) {
  isa::Issue is;
  is.slot = slot;
  is.op = 1;
  is.run.ustart = 0;
  is.run.ulen = uint32_t(words.size());
  is.run.iters = iters;
  is.run.sdst = is.run.ssrc0 = stride;
  isa::Memory ref = memory();
  ref.spad = spad;
  std::string re = isa::refExecute(is, ref, words);
  for (const hw::BoardConfig &b : hw::boards()) {
    isa::Memory m = memory();
    m.spad = spad;
    std::string he = hw::executeIssue(is, m, words, b);
    ASSERT_EQ(he, re) << b.name << ": " << isa::kSlotNames[unsigned(slot)];
    if (m.spad != ref.spad) {
      size_t i = 0;
      while (m.spad[i] == ref.spad[i])
        ++i;
      FAIL() << b.name << " differs from the reference at byte " << i << " running "
             << isa::formatUop(words[0]) << (words.size() > 1 ? " ..." : "");
    }
  }
}

isa::UopWord uop(UopCode op, int64_t dst, int64_t s0, int64_t s1, int64_t s2, int64_t len,
                 int64_t p0 = 0, int64_t p1 = 0, int64_t p2 = 0) {
  namespace f = isa::field::uop;
  isa::UopWord w;
  w.set(f::uop, int64_t(op));
  w.set(f::dst, dst);
  w.set(f::src0, s0);
  w.set(f::src1, s1);
  w.set(f::src2, s2);
  w.set(f::len, len);
  w.set(f::p0, p0);
  w.set(f::p1, p1);
  w.set(f::p2, p2);
  return w;
}

} // namespace

TEST(Datapath, MatrixInt8AndInt4MatchReference) {
  Bench t(11);
  for (int trial = 0; trial < 40; ++trial) {
    bool int4 = trial % 2;
    uint32_t M = t.u(4) + (trial == 0 ? 0 : 1), K = 2 * (t.u(70) + 1), N = t.u(90) + 1;
    if (trial == 3)
      K = 0; // empty reduction: acc = 0 (or unchanged)
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, false);
    isa::Issue is;
    is.slot = isa::Slot::Matrix;
    is.op = int4 ? 2 : 1;
    is.mm = {0, 8192, 32768, M, K, N, bool(t.u(2)), int4};
    isa::Memory ref = memory();
    ref.spad = spad;
    ASSERT_EQ(isa::refExecute(is, ref, {}), "");
    for (const hw::BoardConfig &b : hw::boards()) {
      isa::Memory m = memory();
      m.spad = spad;
      ASSERT_EQ(hw::executeIssue(is, m, {}, b), "");
      ASSERT_TRUE(m.spad == ref.spad)
          << b.name << " M" << M << " K" << K << " N" << N << " int4 " << int4;
    }
  }
}

TEST(Datapath, ElementwiseOpsMatchReference) {
  Bench t(12);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    uint32_t len = trial % 25 == 0 ? 0 : t.u(300) + 1;
    UopCode ops[] = {UopCode::Add32, UopCode::Mulsh32, UopCode::Shift32, UopCode::Sext8,
                     UopCode::Req8,  UopCode::Shr8,    UopCode::Sumsq};
    UopCode op = ops[trial % 7];
    int p0 = 0, p1 = int(t.u(2));
    switch (op) {
    case UopCode::Shift32:
      p0 = int(t.u(95)) - 31;
      break; // negative = saturating left shift
    case UopCode::Sext8:
      p0 = int(t.u(24));
      break;
    default:
      p0 = int(t.u(64));
      break;
    }
    if (op == UopCode::Req8) {
      // shifts 0..63 stored as bytes
      for (uint32_t i = 0; i < 512; ++i)
        spad[24576 + i] = uint8_t(t.u(64));
    }
    compare({uop(op, 0, 8192, 16384, 24576, len, p0, p1)}, isa::Slot::Vector, spad);
  }
}

TEST(Datapath, InPlaceElementwiseMatchesReference) {
  Bench t(13);
  std::vector<uint8_t> spad(kSpad);
  t.fill(spad, true);
  compare({uop(UopCode::Add32, 0, 0, 4096, 0, 200)}, isa::Slot::Vector, spad);
  compare({uop(UopCode::Shift32, 64, 64, 0, 0, 100, -5)}, isa::Slot::Vector, spad);
}

TEST(Datapath, HadamardAllSizeFamilies) {
  Bench t(14);
  for (uint32_t n : {1u, 2u, 16u, 256u, 12u, 24u, 96u, 1536u, 40u, 80u, 640u, 5120u}) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    compare({uop(UopCode::Fwht, 128, 0, 0, 0, n)}, isa::Slot::Vector, spad);
  }
}

TEST(Datapath, Conv1dOverSeveralStepsWithState) {
  Bench t(15);
  std::vector<uint8_t> spad(kSpad);
  t.fill(spad, false);
  // 6 time steps of 50 channels: x advances 50 bytes and y 200 bytes per iteration.
  isa::UopWord w = uop(UopCode::Conv4, 0, 20000, 30000, 40000, 50);
  isa::Issue is;
  (void)is;
  std::vector<isa::UopWord> words = {w};
  isa::Issue run;
  run.slot = isa::Slot::Vector;
  run.op = 1;
  run.run = {0, 1, 6, 200, 50, 0, 0, 0};
  isa::Memory ref = memory();
  ref.spad = spad;
  ASSERT_EQ(isa::refExecute(run, ref, words), "");
  for (const hw::BoardConfig &b : hw::boards()) {
    isa::Memory m = memory();
    m.spad = spad;
    ASSERT_EQ(hw::executeIssue(run, m, words, b), "");
    ASSERT_TRUE(m.spad == ref.spad) << b.name;
  }
}

TEST(Datapath, PiecewiseLinearBuiltAndGarbageTables) {
  Bench t(16);
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    std::vector<int32_t> table;
    if (trial % 3 == 0) {
      table = isa::buildPwl(trial % 2 ? "silu" : "exp", isa::PwlSpec{});
    } else if (trial % 3 == 1) {
      table = isa::buildRsqrtTable(20, 64);
    } else {
      table.resize(4 + 2 * 256);
      for (auto &v : table)
        v = t.i32(); // any header bits are clamped, never out of range
      table[2] = int32_t(t.u(300)) - 20;
    }
    std::memcpy(spad.data() + 40000, table.data(), table.size() * 4);
    UopCode op = trial % 2 ? UopCode::Pwl : UopCode::Rsqrt;
    compare({uop(op, 0, 8192, 40000, 0, t.u(500))}, isa::Slot::Ssm, spad);
  }
}

TEST(Datapath, SsmUpdateAndOutputMatchReference) {
  Bench t(17);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    uint32_t P = t.u(20) + (trial == 0 ? 0 : 1), N = t.u(40) + 1;
    compare({uop(UopCode::Ssmupd, 0, 20000, 30000, 31000, P, N, t.u(40), t.u(20)),
             uop(UopCode::Ssmout, 32000, 0, 30100, 0, P, N, t.u(40))},
            isa::Slot::Ssm, spad);
  }
}

TEST(Datapath, BadOperandsAreErrorsOnBothSides) {
  std::vector<uint8_t> spad(kSpad);
  // Reads past the scratchpad.
  compare({uop(UopCode::Add32, 0, kSpad - 8, 0, 0, 4)}, isa::Slot::Vector, spad);
  // A micro-op on the wrong unit, an invalid Hadamard size, a partial overlap.
  compare({uop(UopCode::Pwl, 0, 64, 128, 0, 4)}, isa::Slot::Vector, spad);
  compare({uop(UopCode::Fwht, 0, 0, 0, 0, 20)}, isa::Slot::Vector, spad);
  compare({uop(UopCode::Add32, 4, 0, 1000, 0, 8)}, isa::Slot::Vector, spad);
  // A table whose header claims more segments than fit.
  int32_t hdr[4] = {0, 4, 256, 0};
  std::memcpy(spad.data() + kSpad - 64, hdr, 16);
  compare({uop(UopCode::Pwl, 0, 64, kSpad - 64, 0, 4)}, isa::Slot::Ssm, spad);
  isa::Issue is;
  is.slot = isa::Slot::Vector;
  is.run = {0, 1, 1, 0, 0, 0, 0, 0};
  isa::Memory m = memory();
  EXPECT_EQ(hw::executeIssue(is, m, {uop(UopCode::Add32, 0, kSpad - 8, 0, 0, 4)}, hw::boards()[0]),
            "microcode word 0, iteration 0: micro-op 'add32' touches scratchpad bytes [65528, "
            "65544) outside the "
            "scratchpad of 65536 bytes");
}
