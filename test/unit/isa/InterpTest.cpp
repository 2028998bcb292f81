// The control sequencer (loops, registers) and the serial reference interpreter.
#include "mamba2/isa/Interp.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/isa/Reference.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace mamba2::isa;

static std::vector<uint32_t> trace(const std::string &text, std::string *err = nullptr) {
  Program p = assemble(text, "t.s");
  Sequencer s(p.bundles, 0);
  std::vector<uint32_t> pcs;
  std::vector<Issue> is;
  while (!s.done() && pcs.size() < 1000) {
    pcs.push_back(s.pc());
    s.issue(is);
  }
  if (err)
    *err = s.error();
  return pcs;
}

TEST(Sequencer, NestedLoopsAndSharedEnds) {
  // outer x2 over bundles 1..3, inner x3 over bundles 2..3 (both end at 3)
  auto pcs = trace(".target t\n{ ctrl.loop count=2 body=3 }\n{ ctrl.loop count=3 body=2 "
                   "}\n{}\n{}\n{ ctrl.halt }\n");
  std::vector<uint32_t> want = {0, 1, 2, 3, 2, 3, 2, 3, 1, 2, 3, 2, 3, 2, 3, 4};
  EXPECT_EQ(pcs, want);
}

TEST(Sequencer, ZeroTripLoopSkipsItsBody) {
  auto pcs = trace(".target t\n{ ctrl.loop body=2 }\n{}\n{}\n{ ctrl.halt }\n");
  EXPECT_EQ(pcs, (std::vector<uint32_t>{0, 3}));
}

TEST(Sequencer, TripCountFromRegister) {
  auto pcs = trace(".target t\n{ ctrl.seti rd=2 imm=2 }\n{ ctrl.loop count=1 creg=2 body=1 "
                   "}\n{}\n{ ctrl.halt }\n");
  EXPECT_EQ(pcs, (std::vector<uint32_t>{0, 1, 2, 2, 2, 3}));
}

TEST(Sequencer, ErrorsNameTheBundle) {
  std::string err;
  trace(".target t\n{ ctrl.seti rd=1 imm=-1 }\n{ ctrl.loop creg=1 body=1 }\n{}\n{ ctrl.halt }\n",
        &err);
  EXPECT_EQ(err, "bundle 1: negative loop trip count -1");
  trace(".target t\n{ ctrl.loop count=2 body=5 }\n{ ctrl.halt }\n", &err);
  EXPECT_EQ(err, "bundle 0: loop body ends at bundle 5, past the program");
  trace(".target t\n{}\n{}\n", &err);
  EXPECT_EQ(err, "bundle 1: ran past the last bundle without ctrl.halt");
  trace(".target t\n{ ctrl.loop count=2 body=2 }\n{ ctrl.loop count=2 body=2 }\n{}\n{}\n{ "
        "ctrl.halt }\n",
        &err);
  EXPECT_EQ(err, "bundle 1: loop body overruns the enclosing loop ending at bundle 2");
  std::string deep = ".target t\n";
  for (int i = 0; i < 5; ++i)
    deep += "{ ctrl.loop count=2 body=" + std::to_string(5 - i) + " }\n";
  deep += "{}\n{ ctrl.halt }\n";
  trace(deep, &err);
  EXPECT_EQ(err, "bundle 4: hardware loops nested deeper than 4");
}

TEST(Interp, RunsADmaAndVectorProgram) {
  Program p = assemble(R"(.target t
.region io 64
.data io 0 i32 1 2 3 4 10 20 30 40
.entry main
.uop 0 add32 dst=32 src0=0 src1=16 len=4
{ load.dma rows=1 rowb=32 region=io signal=0 }
{ vector.run ulen=1 iters=1 wait=0 signal=1 }
{ ctrl.halt ; store.dma spad=32 dram=32 region=io rows=1 rowb=16 wait=1 }
)",
                       "t.s");
  Memory m = Memory::forProgram(p, 1024);
  InterpResult r = interpret(p, "main", m);
  ASSERT_EQ(r.error, "");
  int32_t out[4];
  std::memcpy(out, m.dram[1].data() + 32, 16);
  EXPECT_EQ(out[0], 11);
  EXPECT_EQ(out[3], 44);
  EXPECT_EQ(r.bundles, 3u);
}

TEST(Interp, MissingTokenIsReportedAsDeadlockWithBundleAndUnit) {
  Program p = assemble(".target t\n.entry main\n{ matrix.mm8 wait=3 }\n{ ctrl.halt }\n", "t.s");
  Memory m = Memory::forProgram(p, 64);
  EXPECT_EQ(
      interpret(p, "main", m).error,
      "deadlock: bundle 0, matrix unit waits on semaphore 3 which holds no token in serial order");
}

TEST(Interp, OutOfRangeDmaIsAnErrorNotACrash) {
  Program p = assemble(".target t\n.region io 16\n.entry main\n{ load.dma region=io rows=2 rowb=16 "
                       "stride=16 }\n{ ctrl.halt }\n",
                       "t.s");
  Memory m = Memory::forProgram(p, 64);
  EXPECT_EQ(interpret(p, "main", m).error,
            "bundle 0, load unit: DMA range [0, 32) is outside region 'io' (16 bytes)");
}

// ---- ureg: a run's micro-ops start at ustart + r[ureg] ----

TEST(Ureg, FieldRoundTripsThroughTheEncoding) {
  for (unsigned r = 0; r < kNumRegs; ++r) {
    SlotWord w;
    w.set(field::none::op, op::vector::run);
    w.set(field::run::ustart, 4095);
    w.set(field::run::breg, 15);
    w.set(field::run::ureg, r);
    EXPECT_EQ(w.raw(field::run::ureg), r);
    EXPECT_EQ(w.raw(field::run::ustart), 4095u);
    EXPECT_EQ(w.raw(field::run::breg), 15u);
    EXPECT_TRUE(w.tailZero(formatInfo(Format::Run).usedBits));
  }
  // Assembled and printed: `ureg=N` is the text form.
  Program p = assemble(".target t\n.entry main\n{ vector.run ustart=2 ulen=1 iters=1 ureg=3 }\n{ "
                       "ctrl.halt }\n",
                       "t.s");
  EXPECT_EQ(p.bundles[0][Slot::Vector].raw(field::run::ureg), 3u);
  EXPECT_NE(disassemble(p).find("vector.run ustart=2 ulen=1 iters=1 ureg=3"), std::string::npos);
}

// A loop of three iterations whose one vector.run adds 10, 20, 30 in turn: three store words,
// one per iteration, chosen by r1 (START before the loop, +1 per iteration).
static Program uregProgram(int start) {
  std::string s = R"(.target t
.region io 64
.data io 0 i32 1 2 3 4 0 0 0 0 10 20 30
.entry main
.uop 0 add32 dst=16 src0=16 src1=32 len=4 p1=1
.uop 1 add32 dst=16 src0=16 src1=36 len=4 p1=1
.uop 2 add32 dst=16 src0=16 src1=40 len=4 p1=1
{ ctrl.seti rd=1 imm=START ; load.dma spad=16 region=io rows=1 rowb=16 }
{ load.dma spad=32 region=io dram=32 rows=1 rowb=12 }
{ ctrl.loop count=3 body=2 }
{ vector.run ulen=1 iters=1 ureg=1 }
{ ctrl.addi rd=1 rs=1 imm=1 }
{ ctrl.halt ; store.dma spad=16 region=io dram=16 rows=1 rowb=16 }
)";
  s.replace(s.find("START"), 5, std::to_string(start));
  return assemble(s, "t.s");
}

TEST(Ureg, InterpreterRunsOtherWordsEachIteration) {
  Program p = uregProgram(0);
  Memory m = Memory::forProgram(p, 1024);
  InterpResult r = interpret(p, "main", m);
  ASSERT_EQ(r.error, "");
  int32_t out[4];
  std::memcpy(out, m.dram[1].data() + 16, 16);
  EXPECT_EQ(out[0], 1 + 10 + 20 + 30); // iteration k ran word k
  EXPECT_EQ(out[3], 4 + 10 + 20 + 30);
}

TEST(Ureg, AStartOutsideTheStoreIsAnErrorWhenTheRunIssues) {
  // The loader's static check passes (ustart 0, ulen 1 fit); iteration 3 reads word 3.
  Program p = uregProgram(1);
  EXPECT_EQ(checkBundle(p.bundles[3], p.ucode.size()), "");
  Memory m = Memory::forProgram(p, 1024);
  EXPECT_EQ(interpret(p, "main", m).error,
            "bundle 3, vector unit: micro-ops 3..3 (ustart + r1) are outside the microcode store "
            "of 3 words");
  Program q = uregProgram(-1);
  Memory mq = Memory::forProgram(q, 1024);
  EXPECT_EQ(interpret(q, "main", mq).error,
            "bundle 3, vector unit: micro-ops -1..-1 (ustart + r1) are outside the microcode "
            "store of 3 words");
  // Without ureg the static check still catches a run past the store.
  q.bundles[3][Slot::Vector].set(field::run::ureg, 0);
  q.bundles[3][Slot::Vector].set(field::run::ustart, 3);
  EXPECT_EQ(checkBundle(q.bundles[3], q.ucode.size()),
            "vector.run: micro-ops 3..4 exceed the microcode store (3 words)");
}

// ---- the chunked SSD form's micro-ops: trn, split16, segdecay ----

namespace {
// One run of the micro-op in `uop` (assembly text) on a scratchpad of random bytes; returns the
// interpreter's error and leaves the scratchpad in `spad`.
std::string runOne(const std::string &uop, std::vector<uint8_t> &spad, Slot slot) {
  Program p = assemble(".target t\n.uop 0 " + uop + "\n", "t.s");
  Memory m;
  m.spad = spad;
  Issue is;
  is.slot = slot;
  is.op = 1;
  is.run.ulen = is.run.iters = 1;
  std::string e = refExecute(is, m, p.ucode);
  spad = m.spad;
  return e;
}
std::vector<uint8_t> randomSpad(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<uint8_t> s(n);
  for (auto &b : s)
    b = uint8_t(g());
  return s;
}
} // namespace

TEST(ChunkedSsd, InterpreterRunsTheReferences) {
  // trn int32 with pitches beyond the extents: dst[c][r] = src[r][c], the gaps untouched.
  std::vector<uint8_t> s = randomSpad(65536, 1), before = s;
  ASSERT_EQ(runOne("trn dst=32768 src0=0 len=5 p0=7 p1=4 p2=9 p3=6", s, Slot::Vector), "");
  std::vector<uint8_t> want = before;
  ref::transpose(before.data(), want.data() + 32768, 5, 7, 4, 9, 6);
  EXPECT_TRUE(s == want);
  // trn int8, dense pitches (0: C and R).
  s = before;
  ASSERT_EQ(runOne("trn dst=40000 src0=100 len=33 p0=19 p1=1", s, Slot::Vector), "");
  want = before;
  ref::transpose(before.data() + 100, want.data() + 40000, 33, 19, 1, 19, 33);
  EXPECT_TRUE(s == want);
  // split16: hi at dst, lo at src2.
  s = before;
  ASSERT_EQ(runOne("split16 dst=20000 src0=0 src2=21000 len=100 p0=9", s, Slot::Vector), "");
  want = before;
  int32_t x[100];
  std::memcpy(x, before.data(), sizeof x);
  ref::split16(x, reinterpret_cast<int8_t *>(want.data() + 20000),
               reinterpret_cast<int8_t *>(want.data() + 21000), 100, 9);
  EXPECT_TRUE(s == want);
  // segdecay Q = 64.
  s = before;
  ASSERT_EQ(runOne("segdecay dst=8192 src0=0 len=64 p0=30", s, Slot::Ssm), "");
  want = before;
  int32_t a[64];
  std::memcpy(a, before.data(), sizeof a);
  std::vector<int32_t> out(64 * 65);
  ref::segDecay(a, out.data(), 64, 30);
  std::memcpy(want.data() + 8192, out.data(), out.size() * 4);
  EXPECT_TRUE(s == want);
}

TEST(ChunkedSsd, EncodingRoundTripsThroughText) {
  const char *text[] = {"trn dst=4096 src0=8 len=64 p0=1536 p1=1 p2=2000 p3=70",
                        "split16 dst=12 src0=16 src2=2000 len=300 p0=31",
                        "segdecay dst=4096 src0=64 len=64 p0=30"};
  for (const char *t : text) {
    Program p = assemble(".target t\n.uop 0 " + std::string(t) + "\n", "t.s");
    ASSERT_EQ(p.ucode.size(), 1u);
    EXPECT_EQ(formatUop(p.ucode[0]), t);
    uint8_t b[kUopBytes];
    p.ucode[0].toBytes(b);
    EXPECT_EQ(UopWord::fromBytes(b), p.ucode[0]) << t;
    const UopInfo *info = findUop(unsigned(p.ucode[0].raw(field::uop::uop)));
    EXPECT_EQ(checkUopStatic(p.ucode[0], info->runsOn(Slot::Vector) ? Slot::Vector : Slot::Ssm), "")
        << t;
  }
  EXPECT_EQ(std::string(findUop(unsigned(UopCode::Trn))->feature), "chunked_ssd");
  EXPECT_EQ(std::string(findUop(unsigned(UopCode::Add32))->feature), "");
}

TEST(ChunkedSsd, BadParametersAndOperandsAreRefusedByName) {
  auto err = [](const std::string &uop, Slot slot) {
    std::vector<uint8_t> s(65536, 0);
    return runOne(uop, s, slot);
  };
  const Slot V = Slot::Vector, S = Slot::Ssm;
  EXPECT_EQ(err("trn dst=4096 src0=0 len=4 p0=4 p1=2", V),
            "microcode word 0: micro-op 'trn': element size p1 must be 1 (int8) or 4 (int32) bytes "
            "(got 2)");
  EXPECT_EQ(err("trn dst=4096 src0=0 len=4 p1=4", V),
            "microcode word 0: micro-op 'trn': columns p0 must be >= 1 (got 0)");
  EXPECT_EQ(err("trn dst=4096 src0=0 len=4 p0=8 p1=1 p2=7", V),
            "microcode word 0: micro-op 'trn': source row pitch p2 = 7 is neither 0 nor >= the 8 "
            "columns");
  EXPECT_EQ(err("trn dst=4096 src0=0 len=4 p0=8 p1=1 p3=3", V),
            "microcode word 0: micro-op 'trn': destination row pitch p3 = 3 is neither 0 nor >= "
            "the 4 rows");
  EXPECT_EQ(err("trn dst=0 src0=0 len=4 p0=4 p1=4", V),
            "microcode word 0, iteration 0: micro-op 'trn' writes [0, 64) which overlaps its "
            "source [0, 64); a transpose is never in place");
  EXPECT_EQ(err("trn dst=65500 src0=0 len=4 p0=4 p1=4", V),
            "microcode word 0, iteration 0: micro-op 'trn' touches scratchpad bytes [65500, 65564) "
            "outside the scratchpad of 65536 bytes");
  EXPECT_EQ(err("trn dst=0 src0=100 len=4 p0=4 p1=4", S),
            "microcode word 0: micro-op 'trn' cannot run on the ssm unit");
  EXPECT_EQ(err("segdecay dst=4096 src0=0 len=0 p0=8", S),
            "microcode word 0: micro-op 'segdecay': chunk length len (Q) must be 1..64 (got 0)");
  EXPECT_EQ(err("segdecay dst=4096 src0=0 len=65 p0=8", S),
            "microcode word 0: micro-op 'segdecay': chunk length len (Q) must be 1..64 (got 65)");
  EXPECT_EQ(err("segdecay dst=4096 src0=0 len=8 p0=31", S),
            "microcode word 0: micro-op 'segdecay': shift p0 must be 0..30 (2^p0, the decay 1.0, "
            "is an int32)");
  EXPECT_EQ(err("segdecay dst=60000 src0=0 len=64 p0=8", S),
            "microcode word 0, iteration 0: micro-op 'segdecay' touches scratchpad bytes [60000, "
            "76640) outside the scratchpad of 65536 bytes");
  EXPECT_EQ(err("split16 dst=4096 src0=0 src2=5000 len=8 p0=32", V),
            "microcode word 0: micro-op 'split16': shift p0 must be 0..31");
  EXPECT_EQ(err("split16 dst=4096 src0=0 src2=4100 len=8 p0=3", V),
            "microcode word 0, iteration 0: micro-op 'split16' writes [4096, 4104) which partly "
            "overlaps operand [4100, 4108)");
}
