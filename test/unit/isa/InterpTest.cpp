// The control sequencer (loops, registers) and the serial reference interpreter.
#include "mamba2/isa/Interp.h"
#include "mamba2/isa/Asm.h"

#include <gtest/gtest.h>

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
