// Assembler / disassembler: canonical text round trips, binary round trips, clear errors.
#include "mamba2/isa/Asm.h"

#include <gtest/gtest.h>

#include <random>

using namespace mamba2::isa;

static const char *kCanonical = R"(.target kv260
.region const 64
.region io 128
.data const 0 x 0102030405
.entry main 0
.tensor y io 64 64 i32
.uop 0 add32 dst=64 src1=32 len=8
.uop 3 shift32 dst=4 src0=8 len=2 p0=-3
{ ctrl.seti rd=1 imm=-7 ; load.dma spad=16 region=io rows=1 rowb=32 signal=0 }
{ ctrl.loop count=3 creg=1 body=1 ; vector.run ulen=1 iters=2 sdst=4 wait=0 signal=1 }
{ matrix.mm4 act=1 wgt=2 acc=3 m=1 k=2 n=4 accum=1 }
{ ctrl.halt ; store.dma spad=64 region=io dram=64 rows=1 rowb=32 wait=1 }
)";

TEST(Asm, CanonicalTextRoundTripsExactly) {
  Program p = assemble(kCanonical, "t.s");
  EXPECT_EQ(disassemble(p), kCanonical);
  EXPECT_EQ(p.bundles.size(), 4u);
  EXPECT_EQ(p.bundles[0][Slot::Ctrl].get(field::reg::imm), -7);
  EXPECT_EQ(p.ucode.size(), 4u);
}

TEST(Asm, FreeFormTextBecomesCanonical) {
  Program p = assemble(".target kv260   # board\n"
                       "{ load.dma rows=1 rowb=4 region=1 ; ctrl.halt }\n"
                       "{}\n",
                       "t.s");
  EXPECT_EQ(disassemble(p),
            ".target kv260\n{ ctrl.halt ; load.dma region=io rows=1 rowb=4 }\n{}\n");
}

TEST(Asm, RandomValidEncodingsRoundTripThroughText) {
  std::mt19937_64 g(5);
  Program p;
  p.target = "u280";
  for (int i = 0; i < 300; ++i) {
    Bundle b;
    for (unsigned s = 0; s < kNumSlots; ++s) {
      std::vector<const OpInfo *> ops;
      for (const OpInfo &o : kOps)
        if (unsigned(o.slot) == s)
          ops.push_back(&o);
      const OpInfo *o = ops[g() % ops.size()];
      if (o->code == 0)
        continue;
      SlotWord w;
      w.set(field::none::op, o->code);
      const FormatInfo &f = formatInfo(o->format);
      for (unsigned j = 1; j < f.numFields; ++j) {
        BitField bf = f.fields[j].bits;
        w.set(bf, int64_t(g() & ((uint64_t(1) << bf.width) - 1)));
      }
      if (!w.raw(field::none::wen))
        w.set(field::none::wsem, 0);
      if (!w.raw(field::none::sen))
        w.set(field::none::ssem, 0);
      b.slot[s] = w;
    }
    p.bundles.push_back(b);
  }
  for (int i = 0; i < 50; ++i) {
    UopWord u;
    const UopInfo &info = kUops[g() % kNumUops];
    u.set(field::uop::uop, info.code);
    const FormatInfo &f = formatInfo(info.format); // each micro-op's own format
    for (unsigned j = 1; j < f.numFields; ++j) {
      BitField bf = f.fields[j].bits;
      u.set(bf, int64_t(g() & ((uint64_t(1) << bf.width) - 1)));
    }
    p.ucode.push_back(u);
  }
  std::string text = disassemble(p);
  Program q = assemble(text, "rt.s");
  ASSERT_EQ(q.bundles.size(), p.bundles.size());
  for (size_t i = 0; i < p.bundles.size(); ++i)
    ASSERT_EQ(q.bundles[i], p.bundles[i]) << formatBundle(p.bundles[i]);
  ASSERT_EQ(q.ucode, p.ucode);
  EXPECT_EQ(disassemble(q), text);
}

static std::string errorOf(const std::string &text) {
  try {
    assemble(text, "bad.s");
  } catch (const AsmError &e) {
    return e.what();
  }
  return "";
}

TEST(Asm, ErrorsNameFileLineAndProblem) {
  EXPECT_EQ(errorOf(".target x\n{ load.dma rows=4096 }\n"),
            "bad.s:2: error: value 4096 does not fit field 'rows' (12 bits) of load.dma");
  EXPECT_EQ(errorOf(".target x\n{ load.foo }\n"),
            "bad.s:2: error: slot 'load' has no operation 'foo'");
  EXPECT_EQ(errorOf(".target x\n{ dma.load }\n"), "bad.s:2: error: unknown slot 'dma'");
  EXPECT_EQ(errorOf(".target x\n{ ctrl.halt ; ctrl.halt }\n"),
            "bad.s:2: error: slot 'ctrl' used twice in one bundle");
  EXPECT_EQ(errorOf(".target x\n{ load.dma rows=x1 }\n"),
            "bad.s:2: error: 'x1' is not a number (rows)");
  EXPECT_EQ(errorOf(".target x\n{ load.dma bogus=1 }\n"),
            "bad.s:2: error: no field 'bogus' in load.dma (format 'xfer')");
  EXPECT_EQ(errorOf(".target x\n{ load.dma wait=16 }\n"),
            "bad.s:2: error: wait=16: semaphores are 0..15");
  EXPECT_EQ(errorOf(".target x\n.uop 4096 add32\n"),
            "bad.s:2: error: microcode index 4096 outside the store (0..4095)");
  EXPECT_EQ(errorOf(".target x\n.uop 1 frob\n"), "bad.s:2: error: unknown micro-op 'frob'");
  EXPECT_EQ(errorOf(".target x\n.region heap 4\n"),
            "bad.s:2: error: unknown region 'heap' (const, io, state, scratch)");
  EXPECT_EQ(errorOf(".target x\n.region io 4\n.data io 0 i8 200\n"),
            "bad.s:3: error: value 200 out of range for i8");
  EXPECT_EQ(errorOf(".target x\n.region io 4\n.data io 2 i32 1\n"),
            "bad.s:3: error: data [2, 6) is outside region 'io' (4 bytes; .region comes first)");
  EXPECT_EQ(errorOf(".target x\n.data io 4294967296 i8 1\n"),
            "bad.s:2: error: data [4294967296, 4294967297) is outside region 'io' (0 bytes; "
            ".region comes first)");
  EXPECT_EQ(errorOf(".target x\n{ ctrl.halt\n"),
            "bad.s:2: error: bundle must end with '}' on the same line");
  EXPECT_EQ(errorOf("{}\n"), "bad.s: error: no .target directive");
  EXPECT_EQ(errorOf(".target x\n.bogus\n"), "bad.s:2: error: unknown directive '.bogus'");
  // Each micro-op takes the fields of its own format.
  EXPECT_EQ(errorOf(".target x\n.uop 0 gmm4 len=3\n"),
            "bad.s:2: error: no field 'len' in gmm4 (format 'umm')");
  EXPECT_EQ(errorOf(".target x\n.uop 0 load2d dst=3\n"),
            "bad.s:2: error: no field 'dst' in load2d (format 'udma')");
  EXPECT_EQ(errorOf(".target x\n.uop 0 gmm8 shift=64\n"),
            "bad.s:2: error: value 64 does not fit field 'shift' (7 signed bits) of gmm8");
  EXPECT_EQ(errorOf(".target x\n.uop 0 mm8 m=64\n"),
            "bad.s:2: error: value 64 does not fit field 'm' (6 bits) of mm8");
  EXPECT_EQ(errorOf(".target x\n{ load.dma rows=99999999999999999999999 }\n"),
            "bad.s:2: error: '99999999999999999999999' is not a number in range (rows)");
}
