// C-simulation testbench: every HLS datapath against the isa/ reference, bit for bit, on
// random and edge-case operands (saturation, negative shifts, zero lengths, garbage tables),
// for every board configuration (the tiling differs per board; the result must not).
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/isa/Reference.h"

#include "Matrix.h"

#include <gtest/gtest.h>

#include <algorithm>
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

isa::UopWord umm(UopCode op, int64_t acc, int64_t act, int64_t wgt, int64_t scl, int64_t m,
                 int64_t k, int64_t n, int64_t group = 0, int64_t shift = 0, bool accum = false,
                 int64_t wpitch = 0) {
  namespace f = isa::field::umm;
  isa::UopWord w;
  w.set(f::uop, int64_t(op));
  w.set(f::acc, acc);
  w.set(f::act, act);
  w.set(f::wgt, wgt);
  w.set(f::scl, scl);
  w.set(f::m, m);
  w.set(f::k, k);
  w.set(f::n, n);
  w.set(f::group, group);
  w.set(f::shift, shift);
  w.set(f::accum, accum);
  w.set(f::wpitch, wpitch);
  return w;
}

isa::UopWord udma(UopCode op, int64_t spad, unsigned region, int64_t dram, int64_t rows,
                  int64_t rowb, int64_t stride) {
  namespace f = isa::field::udma;
  isa::UopWord w;
  w.set(f::uop, int64_t(op));
  w.set(f::spad, spad);
  w.set(f::region, region);
  w.set(f::dram, dram);
  w.set(f::rows, rows);
  w.set(f::rowb, rowb);
  w.set(f::stride, stride);
  return w;
}

// Runs `words` as one issue of `slot` with run loop `r` (ustart = 0, ulen = words) on the
// reference and on each board's datapath; memories (scratchpad and DRAM) must match, errors too.
void compareRun(const std::vector<isa::UopWord> &words, isa::Slot slot, const isa::Memory &start,
                isa::RunArgs r) {
  isa::Issue is;
  is.slot = slot;
  is.op = slot == isa::Slot::Matrix ? isa::op::matrix::run : 1;
  r.ustart = 0;
  r.ulen = uint32_t(words.size());
  is.run = r;
  isa::Memory ref = start;
  std::string re = isa::refExecute(is, ref, words);
  for (const hw::BoardConfig &b : hw::boards()) {
    isa::Memory m = start;
    ASSERT_EQ(hw::executeIssue(is, m, words, b), re) << b.name;
    ASSERT_TRUE(m.spad == ref.spad)
        << b.name << " scratchpad differs running " << isa::formatUop(words[0]);
    for (unsigned g = 0; g < 4; ++g)
      ASSERT_TRUE(m.dram[g] == ref.dram[g]) << b.name << " region " << g;
  }
}

} // namespace

TEST(Datapath, MatrixMicroOpsMatchReference) {
  // mm8 / mm4 / gmm8 / gmm4 on random tiles; group-scaled with extreme scales (saturation of the
  // scaled partial sum and of the accumulator), shifts -31..63 (negative: saturating left shift;
  // zero), group = 1, group = K, K = 0, M or N = 0; run loops over several tiles; weight rows
  // dense or `wpitch` apart (every third trial: the row's bytes plus 0..40).
  Bench t(11);
  const UopCode ops[] = {UopCode::Mm8, UopCode::Mm4, UopCode::Gmm8, UopCode::Gmm4};
  for (int trial = 0; trial < 160; ++trial) {
    UopCode op = ops[trial % 4];
    bool grouped = op == UopCode::Gmm8 || op == UopCode::Gmm4;
    uint32_t M = t.u(4) + (trial < 8 ? 0 : 1), N = t.u(40) + (trial % 13 == 0 ? 0 : 1);
    uint32_t group = 2 * (t.u(8) + 1), groups = t.u(6) + 1, K = group * groups;
    if (trial % 11 == 0)
      group = K; // one group spanning K
    if (trial % 17 == 0)
      K = 0; // empty reduction: acc = 0 (or unchanged), no scale read
    if (trial % 7 == 0 && !(op == UopCode::Gmm4))
      group = 1, K = t.u(20) + 1;
    if (op == UopCode::Mm4 || op == UopCode::Gmm4)
      K += K & 1;
    if (grouped && (group == 0 || (K && K % group)))
      group = K ? K : 1;
    int shift = 0;
    if (grouped) {
      switch (trial % 5) {
      case 0:
        shift = 0;
        break;
      case 1:
        shift = -int(t.u(32)); // saturating left shift
        break;
      case 2:
        shift = 63;
        break;
      default:
        shift = int(t.u(40));
      }
    }
    isa::Memory m = memory();
    t.fill(m.spad, trial % 3 != 0);                  // int32 extremes also become act / wgt bytes
    for (size_t i = 49152; i + 4 <= 57344; i += 4) { // scales: extreme or small
      int32_t v = t.i32();
      std::memcpy(m.spad.data() + i, &v, 4);
    }
    isa::RunArgs r;
    r.iters = t.u(3); // 0 (zero-length loop), 1 or 2 tiles
    r.sdst = uint32_t(M * N * 4);
    r.ssrc0 = uint32_t(M * K);
    r.ssrc1 = 0;
    r.ssrc2 = 0;
    const bool int4 = op == UopCode::Mm4 || op == UopCode::Gmm4;
    const uint32_t wpitch = trial % 3 == 2 ? (int4 ? K / 2 : K) + t.u(41) : 0;
    compareRun(
        {umm(op, 32768, 0, 8192, 49152, M, K, N, grouped ? group : 0, shift, t.u(2), wpitch)},
        isa::Slot::Matrix, m, r);
  }
}

TEST(Datapath, GroupScaleArithmeticEdges) {
  // The scaling of one group's partial sum: rounding ties away from zero, both saturations.
  using isa::ref::scaleGroup;
  EXPECT_EQ(scaleGroup(5, 1, 1), 3);
  EXPECT_EQ(scaleGroup(-5, 1, 1), -3);
  EXPECT_EQ(scaleGroup(7, 3, 0), 21);
  EXPECT_EQ(scaleGroup(INT32_MAX, INT32_MAX, 0), INT32_MAX);
  EXPECT_EQ(scaleGroup(INT32_MIN, INT32_MAX, 0), INT32_MIN);
  EXPECT_EQ(scaleGroup(INT32_MIN, INT32_MIN, 63), 1); // 2^62 / 2^63 = 0.5 rounds away
  EXPECT_EQ(scaleGroup(1, 1, -30), 1 << 30);
  EXPECT_EQ(scaleGroup(2, 1, -30), INT32_MAX);
  EXPECT_EQ(scaleGroup(-2, 1, -30), INT32_MIN);
  EXPECT_EQ(scaleGroup(-1, 1, -31), INT32_MIN);
  EXPECT_EQ(scaleGroup(1, 1, -31), INT32_MAX);
  for (int32_t p : {0, 1, -1, 12345, -99999, INT32_MAX, INT32_MIN})
    for (int32_t s : {0, 1, -1, 77, INT32_MAX, INT32_MIN})
      for (int sh : {-31, -7, -1, 0, 1, 9, 31, 62, 63})
        EXPECT_EQ(hw::scale_partial(p, s, sh), scaleGroup(p, s, sh)) << p << " " << s << " " << sh;
}

TEST(Datapath, DmaMicroOpsMatchReference) {
  // 2-D strided load2d / store2d, the run's iterations as the third dimension, registers as
  // bases; zero rows and zero-iteration runs move nothing.
  Bench t(21);
  for (int trial = 0; trial < 40; ++trial) {
    isa::Memory m = memory();
    t.fill(m.spad, false);
    for (auto &d : m.dram) {
      d.assign(16384, 0);
      for (auto &b : d)
        b = uint8_t(t.g());
    }
    bool load = trial % 2 == 0;
    uint32_t rows = t.u(8) + (trial % 9 == 0 ? 0 : 1), rowb = t.u(40) + 1, stride = rowb + t.u(30);
    unsigned region = load ? t.u(4) : 1 + t.u(3);
    isa::RunArgs r;
    r.iters = t.u(4);
    r.sdst = rows * rowb;             // scratchpad planes back to back
    r.ssrc1 = rows * stride + t.u(9); // DRAM planes
    r.base = t.u(100);
    r.base2 = t.u(100);
    std::vector<isa::UopWord> words = {
        udma(load ? UopCode::Load2d : UopCode::Store2d, 1000, region, 64, rows, rowb, stride)};
    compareRun(words, load ? isa::Slot::Load : isa::Slot::Store, m, r);
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

// mulsumsq (the gating multiply and the gated norm's sum of squares in one pass): random
// lengths, shifts and broadcast, in place over src0, and squares that saturate the 64-bit sum.
TEST(Datapath, MulSumsqMatchesReference) {
  Bench t(19);
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    const uint32_t len = trial % 20 == 0 ? 0 : t.u(600) + 1;
    const int64_t dst = trial % 3 == 0 ? 8192 : 0; // in place over src0, or apart
    compare({uop(UopCode::Mulsumsq, dst, 8192, 16384, 32768, len, t.u(64), t.u(2), t.u(64))},
            isa::Slot::Vector, spad);
  }
  // Products of +-2^31 saturate to +-2^31 - 1 (shift 0): 600 squares of about 2^62 reach the
  // 64-bit cap.
  std::vector<uint8_t> spad(kSpad);
  for (uint32_t i = 0; i < 600; ++i) {
    const int32_t a = i % 2 ? INT32_MIN : INT32_MAX;
    std::memcpy(&spad[8192 + 4 * i], &a, 4);
    std::memcpy(&spad[16384 + 4 * i], &a, 4);
  }
  for (int64_t sh : {0, 1, 31, 63})
    compare({uop(UopCode::Mulsumsq, 0, 8192, 16384, 32768, 600, 0, 0, sh)}, isa::Slot::Vector,
            spad);
}

TEST(Datapath, AddSumsqMatchesReference) {
  Bench t(22);
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    const uint32_t len = trial % 20 == 0 ? 0 : t.u(600) + 1;
    const int64_t dst = trial % 3 == 0 ? 8192 : 0; // in place over src0, or apart
    compare({uop(UopCode::Addsumsq, dst, 8192, 16384, 32768, len, 0, t.u(2), t.u(64))},
            isa::Slot::Vector, spad);
  }
  // Sums of +-(2^31 - 1) saturate: 600 squares of about 2^62 reach the 64-bit cap.
  std::vector<uint8_t> spad(kSpad);
  for (uint32_t i = 0; i < 600; ++i) {
    const int32_t a = i % 2 ? INT32_MIN : INT32_MAX;
    std::memcpy(&spad[8192 + 4 * i], &a, 4);
    std::memcpy(&spad[16384 + 4 * i], &a, 4);
  }
  for (int64_t sh : {0, 1, 31, 63})
    compare({uop(UopCode::Addsumsq, 0, 8192, 16384, 32768, 600, 0, 0, sh)}, isa::Slot::Vector,
            spad);
}

TEST(Datapath, InPlaceElementwiseMatchesReference) {
  Bench t(13);
  std::vector<uint8_t> spad(kSpad);
  t.fill(spad, true);
  compare({uop(UopCode::Add32, 0, 0, 4096, 0, 200)}, isa::Slot::Vector, spad);
  compare({uop(UopCode::Shift32, 64, 64, 0, 0, 100, -5)}, isa::Slot::Vector, spad);
}

// conv4pwl (conv1d + multiply + SiLU table in one pass) over several time steps with its
// state, with and without the multiply, against the reference on every board; a table that
// runs into the conv parameters is refused by both.
TEST(Datapath, Conv4PwlOverSeveralStepsWithState) {
  Bench t(20);
  const std::vector<int32_t> silu = isa::buildPwl("silu", isa::PwlSpec{});
  const uint64_t tb = 4 * silu.size();
  for (int mul = 0; mul < 2; ++mul) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, false);
    std::memcpy(&spad[30000], silu.data(), tb); // the table, then the params p4 = tb after it
    // 5 time steps of 60 channels: x advances 60 bytes and y 240 bytes per iteration.
    isa::UopWord w = uop(UopCode::Conv4pwl, 0, 20000, 30000, 40000, 60, 12 + mul, 0, mul);
    w.set(isa::field::uop::p4, int64_t(tb));
    std::vector<isa::UopWord> words = {w};
    isa::Issue run;
    run.slot = isa::Slot::Vector;
    run.op = 1;
    run.run = {0, 1, 5, 240, 60, 0, 0, 0};
    isa::Memory ref = memory();
    ref.spad = spad;
    ASSERT_EQ(isa::refExecute(run, ref, words), "");
    // The table changed what the run wrote: y is not conv4's output.
    isa::UopWord plain = uop(UopCode::Conv4, 0, 20000, 30000 + int64_t(tb), 40000, 60);
    std::vector<isa::UopWord> pw = {plain};
    isa::Memory ref2 = memory();
    ref2.spad = spad;
    ASSERT_EQ(isa::refExecute(run, ref2, pw), "");
    EXPECT_NE(std::vector<uint8_t>(ref.spad.begin(), ref.spad.begin() + 1200),
              std::vector<uint8_t>(ref2.spad.begin(), ref2.spad.begin() + 1200));
    EXPECT_TRUE(std::equal(ref.spad.begin() + 40000, ref.spad.begin() + 40180,
                           ref2.spad.begin() + 40000)); // the same state
    for (const hw::BoardConfig &b : hw::boards()) {
      isa::Memory m = memory();
      m.spad = spad;
      ASSERT_EQ(hw::executeIssue(run, m, words, b), "");
      ASSERT_TRUE(m.spad == ref.spad) << b.name << " mul " << mul;
    }
    words[0].set(isa::field::uop::p4, int64_t(tb) - 8);
    isa::Memory bad = memory();
    bad.spad = spad;
    EXPECT_NE(isa::refExecute(run, bad, words), "");
    EXPECT_NE(hw::executeIssue(run, bad, words, hw::boards().front()), "");
  }
}

// pwlmulpwl (softplus, the multiply by A, exp in one SSM micro-op) over several rows against
// the reference on every board, m per element or broadcast, the first table's value in place
// over x or apart; a table that runs into what follows it is refused by both.
TEST(Datapath, PwlMulPwlOverSeveralRows) {
  Bench t(21);
  const std::vector<int32_t> sp = isa::buildPwl("softplus", isa::PwlSpec{});
  const std::vector<int32_t> ex = isa::buildPwl("exp", isa::PwlSpec{});
  const int64_t t1 = int64_t(4 * sp.size()), t2 = int64_t(4 * ex.size());
  for (int trial = 0; trial < 8; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    std::memcpy(&spad[30000], sp.data(), size_t(t1)); // table 1, table 2 at p3, m at p4
    std::memcpy(&spad[30000 + t1], ex.data(), size_t(t2));
    const bool bc = trial % 2, inPlace = trial % 4 >= 2;
    const uint32_t len = 1 + t.u(200);
    isa::UopWord w =
        uop(UopCode::Pwlmulpwl, 0, 8192, 30000, inPlace ? 8192 : 16384, len, t.u(40), bc ? 1 : 0,
            trial % 3 == 2 ? 7 : 0); // the multipliers repeating every 7 elements (rows of 7)
    w.set(isa::field::uop::p3, t1);
    w.set(isa::field::uop::p4, t1 + t2);
    std::vector<isa::UopWord> words = {w};
    isa::Issue run;
    run.slot = isa::Slot::Ssm;
    run.op = 1;
    const uint32_t rs = 4 * len; // 3 rows: x, s and y advance a row, the parameters stay
    run.run = {0, 1, 3, rs, rs, 0, rs, 0};
    isa::Memory ref = memory();
    ref.spad = spad;
    ASSERT_EQ(isa::refExecute(run, ref, words), "");
    for (const hw::BoardConfig &b : hw::boards()) {
      isa::Memory m = memory();
      m.spad = spad;
      ASSERT_EQ(hw::executeIssue(run, m, words, b), "");
      ASSERT_TRUE(m.spad == ref.spad) << b.name << " trial " << trial;
    }
    // The first table running into the second, the second into the multipliers.
    for (int which = 0; which < 2; ++which) {
      std::vector<isa::UopWord> bad = words;
      if (which == 0)
        bad[0].set(isa::field::uop::p3, t1 - 8);
      else
        bad[0].set(isa::field::uop::p4, t1 + t2 - 8);
      isa::Memory r2 = memory(), h2 = memory();
      r2.spad = h2.spad = spad;
      EXPECT_NE(isa::refExecute(run, r2, bad), "") << which;
      EXPECT_NE(hw::executeIssue(run, h2, bad, hw::boards().front()), "") << which;
    }
  }
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

isa::UopWord ssmstep(int64_t S, int64_t dtxY, int64_t B, int64_t decay, int64_t P, int64_t N,
                     int64_t ds, int64_t is, int64_t os, int64_t cOff) {
  isa::UopWord w = uop(UopCode::Ssmstep, S, dtxY, B, decay, P, N, ds, is);
  w.set(isa::field::uop::p3, os);
  w.set(isa::field::uop::p4, cOff);
  return w;
}

// ssmstep on every board's datapath against the reference, and the reference against ssmupd
// followed by ssmout on the same operands (y written elsewhere): the state and y bit for bit.
TEST(Datapath, SsmStepMatchesReferenceAndTheUpdateOutputPair) {
  Bench t(19);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<uint8_t> spad(kSpad);
    t.fill(spad, true);
    const uint32_t P = t.u(20) + (trial == 0 ? 0 : 1), N = t.u(40) + 1;
    const int64_t ds = t.u(40), is = t.u(20), os = t.u(40), cOff = t.u(900);
    compare({ssmstep(0, 20000, 30000, 31000, P, N, ds, is, os, cOff)}, isa::Slot::Ssm, spad);
    isa::Issue one;
    one.slot = isa::Slot::Ssm;
    one.op = 1;
    one.run.ulen = 1;
    one.run.iters = 1;
    isa::Memory fused = memory(), pair = memory();
    fused.spad = pair.spad = spad;
    ASSERT_EQ(
        isa::refExecute(one, fused, {ssmstep(0, 20000, 30000, 31000, P, N, ds, is, os, cOff)}), "");
    isa::Issue two = one;
    two.run.ulen = 2;
    ASSERT_EQ(isa::refExecute(two, pair,
                              {uop(UopCode::Ssmupd, 0, 20000, 30000, 31000, P, N, ds, is),
                               uop(UopCode::Ssmout, 32000, 0, 30000 + cOff, 0, P, N, os)}),
              "");
    EXPECT_TRUE(std::equal(fused.spad.begin(), fused.spad.begin() + 4 * P * N, pair.spad.begin()))
        << "state, trial " << trial;
    EXPECT_TRUE(std::equal(fused.spad.begin() + 20000, fused.spad.begin() + 20000 + 4 * P,
                           pair.spad.begin() + 32000))
        << "y, trial " << trial;
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
  // ssmstep: y (over dtx) inside the B..C span it reads, a negative C offset, C past the end.
  for (const isa::UopWord &w : {ssmstep(0, 30010, 30000, 31000, 4, 16, 15, 6, 8, 64),
                                ssmstep(0, 20000, 30000, 31000, 4, 16, 15, 6, 8, -16),
                                ssmstep(0, 20000, kSpad - 64, 31000, 4, 16, 15, 6, 8, 64)}) {
    compare({w}, isa::Slot::Ssm, spad);
    isa::Issue is;
    is.slot = isa::Slot::Ssm;
    is.op = 1;
    is.run.ulen = is.run.iters = 1;
    isa::Memory m = memory();
    EXPECT_NE(isa::refExecute(is, m, {w}), "") << isa::formatUop(w);
  }
  // A table whose header claims more segments than fit.
  int32_t hdr[4] = {0, 4, 256, 0};
  std::memcpy(spad.data() + kSpad - 64, hdr, 16);
  compare({uop(UopCode::Pwl, 0, 64, kSpad - 64, 0, 4)}, isa::Slot::Ssm, spad);
  // Matrix and DMA micro-ops: group not dividing K, the wrong unit, a store into const, an
  // accumulator overlapping the weights, a DMA range past its region.
  isa::Memory mm = memory();
  for (auto &d : mm.dram)
    d.assign(256, 0);
  isa::RunArgs one;
  one.iters = 1;
  compareRun({umm(UopCode::Gmm8, 0, 1024, 2048, 4096, 1, 12, 4, 5)}, isa::Slot::Matrix, mm, one);
  compareRun({umm(UopCode::Mm8, 0, 1024, 2048, 0, 1, 12, 4)}, isa::Slot::Vector, mm, one);
  compareRun({umm(UopCode::Mm4, 0, 1024, 2048, 0, 1, 11, 4)}, isa::Slot::Matrix, mm, one);
  compareRun({umm(UopCode::Mm8, 2048, 1024, 2050, 0, 1, 12, 4)}, isa::Slot::Matrix, mm, one);
  compareRun({udma(UopCode::Store2d, 0, 0, 0, 1, 8, 8)}, isa::Slot::Store, mm, one);
  compareRun({udma(UopCode::Load2d, 0, 1, 200, 2, 40, 40)}, isa::Slot::Load, mm, one);
  compareRun({udma(UopCode::Load2d, 0, 1, 0, 1, 8, 8)}, isa::Slot::Store, mm, one);
  isa::Issue g;
  g.slot = isa::Slot::Matrix;
  g.op = isa::op::matrix::run;
  g.run = one;
  g.run.ulen = 1;
  EXPECT_EQ(isa::refExecute(g, mm, {umm(UopCode::Gmm8, 0, 1024, 2048, 4096, 1, 12, 4, 5)}),
            "microcode word 0: micro-op 'gmm8': group 5 must be >= 1 and divide k 12");
  // A weight pitch shorter than a row (int4 k = 12: 6 bytes).
  compareRun({umm(UopCode::Mm4, 0, 1024, 2048, 0, 1, 12, 4, 0, 0, false, 5)}, isa::Slot::Matrix, mm,
             one);
  EXPECT_EQ(isa::refExecute(g, mm, {umm(UopCode::Mm4, 0, 1024, 2048, 0, 1, 12, 4, 0, 0, false, 5)}),
            "microcode word 0: micro-op 'mm4': weight pitch 5 is less than a row's 6 bytes");

  isa::Issue is;
  is.slot = isa::Slot::Vector;
  is.run = {0, 1, 1, 0, 0, 0, 0, 0};
  isa::Memory m = memory();
  EXPECT_EQ(hw::executeIssue(is, m, {uop(UopCode::Add32, 0, kSpad - 8, 0, 0, 4)}, hw::boards()[0]),
            "microcode word 0, iteration 0: micro-op 'add32' touches scratchpad bytes [65528, "
            "65544) outside the "
            "scratchpad of 65536 bytes");
}

TEST(Datapath, HlsConfigAgreesWithBoards) {
  // The cycle model and the resource estimator read Board.h; the HLS datapaths HlsConfig.h.
  const auto &b = hw::boards();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(hw::BoardCfg<0>::SCALE_LANES, b[0].scaleLanes());
  EXPECT_EQ(hw::BoardCfg<1>::SCALE_LANES, b[1].scaleLanes());
  EXPECT_EQ(hw::BoardCfg<2>::SCALE_LANES, b[2].scaleLanes());
  EXPECT_EQ(hw::BoardCfg<3>::SCALE_LANES, b[3].scaleLanes());
  EXPECT_EQ(hw::BoardCfg<3>::MAT_N, b[3].matN);
  EXPECT_EQ(hw::BoardCfg<3>::VEC_LANES, b[3].vecLanes);
}

// The HLS top's range check (hw::uop_in_range) and the loader's (isa::checkUopRanges) both read
// the one generated decode: on random words of every micro-op, near the scratchpad's end and
// below zero, they accept and refuse the same scratchpad extents.
TEST(Datapath, HlsRangeCheckIsTheLoadersOnRandomWords) {
  Bench b(77);
  constexpr uint64_t spad = 4096;
  isa::Limits lim;
  lim.spadBytes = spad;
  lim.regionBytes = {~uint64_t(0) >> 1, ~uint64_t(0) >> 1, ~uint64_t(0) >> 1, ~uint64_t(0) >> 1};
  unsigned accepted = 0, refused = 0;
  for (const isa::UopInfo &info : isa::kUops)
    for (int trial = 0; trial < 400; ++trial) {
      isa::UopWord w;
      const isa::FormatInfo &f = isa::formatInfo(info.format);
      for (unsigned i = 1; i < f.numFields; ++i) {
        const isa::BitField bf = f.fields[i].bits;
        const uint64_t lim64 = bf.width >= 12 ? 1u << 12 : uint64_t(1) << bf.width;
        w.set(bf, int64_t(b.u(uint32_t(lim64))) - (bf.isSigned ? int64_t(b.u(4)) : 0));
      }
      w.set(isa::field::uop::uop, info.code);
      isa::RunArgs r;
      r.base = int64_t(b.u(64)) - 32;
      r.base2 = int64_t(b.u(64)) - 32;
      const isa::UopArgs u = isa::resolveUop(w, r, 0);
      // The loader's scratchpad verdict: every spad extent inside (overlap rules aside).
      bool loader = true;
      for (const isa::Extent &e : isa::uopExtents(u))
        if (e.bytes && (e.addr < 0 || uint64_t(e.addr) + e.bytes > spad))
          loader = false;
      if (u.isDma() && u.rows && u.src1 < 0)
        loader = false;
      const bool hls = hw::uop_in_range(u, spad);
      ASSERT_EQ(hls, loader) << info.name << " trial " << trial;
      // Where the loader's full check passes, the HLS one does too.
      if (isa::checkUopRanges(u, lim).empty()) {
        EXPECT_TRUE(hls) << info.name;
      }
      (hls ? accepted : refused)++;
    }
  EXPECT_GT(accepted, 500u);
  EXPECT_GT(refused, 500u);
}

// The spec's operand extents, by hand for three formats.
TEST(Datapath, GeneratedExtentsFollowTheSpec) {
  isa::UopArgs c;
  c.op = UopCode::Conv4;
  c.len = 5;
  c.dst = 100;
  isa::UopExtents x = isa::uopExtentsOf(c);
  ASSERT_EQ(x.count, 4u);
  EXPECT_EQ(x.at[0].bytes, 20u);
  EXPECT_EQ(x.at[1].bytes, 5u);
  EXPECT_EQ(x.at[2].bytes, 40u);
  EXPECT_EQ(x.at[3].bytes, 15u);
  EXPECT_TRUE(x.at[0].write && x.at[3].write && !x.at[1].write);
  isa::UopArgs g;
  g.op = UopCode::Gmm4;
  g.m = 2;
  g.k = 64;
  g.n = 3;
  g.group = 16;
  x = isa::uopExtentsOf(g);
  ASSERT_EQ(x.count, 4u);
  EXPECT_EQ(x.at[0].bytes, 24u);     // int32 [2][3]
  EXPECT_EQ(x.at[1].bytes, 128u);    // int8 [2][64]
  EXPECT_EQ(x.at[2].bytes, 96u);     // int4 [3][64]
  EXPECT_EQ(x.at[3].bytes, 3u * 16); // int32 [3][4]
  EXPECT_TRUE(g.isInt4() && g.isGrouped() && g.isMatrix() && !g.isDma());
  g.wpitch = 40; // rows 40 bytes apart: two pitches and the last row's 32 bytes
  EXPECT_EQ(isa::uopExtentsOf(g).at[2].bytes, 2u * 40 + 32);
  g.op = UopCode::Mm8;
  g.wpitch = 0;
  EXPECT_EQ(isa::uopExtentsOf(g).at[2].bytes, 3u * 64);
  g.wpitch = 100;
  EXPECT_EQ(isa::uopExtentsOf(g).at[2].bytes, 2u * 100 + 64);
  g.op = UopCode::Gmm4;
  g.n = 0;
  EXPECT_EQ(isa::uopExtentsOf(g).count, 0u); // not active
  isa::UopArgs d;
  d.op = UopCode::Store2d;
  d.rows = 3;
  d.rowb = 10;
  d.stride = 64;
  x = isa::uopExtentsOf(d);
  ASSERT_EQ(x.count, 2u);
  EXPECT_EQ(x.at[0].bytes, 30u);
  EXPECT_FALSE(x.at[0].write || x.at[0].dram);
  EXPECT_EQ(x.at[1].bytes, 2u * 64 + 10);
  EXPECT_TRUE(x.at[1].write && x.at[1].dram);
}

// The chunked SSD form's micro-ops (trn, split16, segdecay) on every board built with their
// units, bit for bit the reference's, over runs of several iterations; a board built without
// them (the KV260) refuses each, naming the micro-op and the board.
TEST(Datapath, ChunkedSsdMicroOpsMatchTheReferenceOrAreRefused) {
  Bench t(31);
  std::vector<uint8_t> spad(kSpad);
  t.fill(spad, true);
  isa::UopWord trn32 = uop(UopCode::Trn, 40000, 0, 0, 0, 13, 11, 4, 12);
  trn32.set(isa::field::uop::p3, 20);
  const isa::UopWord trn8 = uop(UopCode::Trn, 50000, 1000, 0, 0, 70, 9, 1);
  const isa::UopWord split = uop(UopCode::Split16, 30000, 0, 0, 31000, 300, 11);
  const isa::UopWord seg = uop(UopCode::Segdecay, 8192, 100, 0, 0, 64, 24);
  const struct {
    isa::UopWord w;
    isa::Slot slot;
    const char *name;
  } cases[] = {{trn32, isa::Slot::Vector, "trn"},
               {trn8, isa::Slot::Vector, "trn"},
               {split, isa::Slot::Vector, "split16"},
               {seg, isa::Slot::Ssm, "segdecay"}};
  for (const auto &c : cases) {
    isa::Issue is;
    is.slot = c.slot;
    is.op = 1;
    is.run.ulen = 1;
    is.run.iters = 3;
    is.run.sdst = is.run.ssrc0 = 64;
    is.run.ssrc2 = 64;
    isa::Memory ref = memory();
    ref.spad = spad;
    ASSERT_EQ(isa::refExecute(is, ref, {c.w}), "") << c.name;
    ASSERT_FALSE(ref.spad == spad) << c.name;
    for (const hw::BoardConfig &b : hw::boards()) {
      isa::Memory m = memory();
      m.spad = spad;
      const std::string e = hw::executeIssue(is, m, {c.w}, b);
      if (b.chunkedSsd) {
        ASSERT_EQ(e, "") << b.name << " " << c.name;
        EXPECT_TRUE(m.spad == ref.spad) << b.name << " " << c.name;
      } else {
        EXPECT_EQ(e, std::string("microcode word 0: micro-op '") + c.name +
                         "' needs the board feature 'chunked_ssd', which the " + b.name +
                         " overlay is built without (target/boards/" + b.name +
                         ".toml [units] chunked_ssd)");
        EXPECT_TRUE(m.spad == spad) << b.name << " " << c.name;
      }
    }
  }
}
