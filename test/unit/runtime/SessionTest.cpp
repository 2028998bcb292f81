// A session keeps its state caches across steps and a reset restores them. The "model" is a
// toy decode program: h (state) += token; logits[j] = -|h - j * 10| so the argmax tracks h / 10.
#include "mamba2/runtime/Session.h"
#include "mamba2/isa/Asm.h"

#include <gtest/gtest.h>

using namespace mamba2;

namespace {

// spad: token 0, h 16, logits 64 (i32 [4]), bias 128 (i32 [4] = 0 -10 -20 -30), tmp 192.
// logits = -(|h + bias|) computed as mulsh32 by -1 of (h + bias)^2 >> 6 (monotone in |h - 10 j|).
const char *kToy = R"(.target kv260
.region const 64
.region io 64
.region state 16
.data const 0 i32 0 -10 -20 -30 -1
.data state 0 i32 5
.tensor token io 0 4 i32
.tensor logits io 16 16 i32
.tensor h state 0 4 i32
.entry decode
.uop 0 add32 dst=16 src0=16 src1=0 len=1
.uop 1 add32 dst=192 src0=128 src1=16 len=4 p1=1
.uop 2 mulsh32 dst=192 src0=192 src1=192 len=4 p0=6
.uop 3 mulsh32 dst=64 src0=192 src1=144 len=4 p1=1
{ load.dma region=io rows=1 rowb=4 }
{ load.dma spad=16 region=state rows=1 rowb=4 }
{ load.dma spad=128 region=const rows=1 rowb=20 signal=0 }
{ vector.run ulen=4 iters=1 wait=0 signal=1 }
{ store.dma spad=16 region=state rows=1 rowb=4 wait=1 }
{ ctrl.halt ; store.dma spad=64 region=io dram=16 rows=1 rowb=16 }
)";

} // namespace

TEST(Session, StateCarriesOverStepsAndResetRestoresIt) {
  isa::Program p = isa::assemble(kToy, "toy.s");
  for (runtime::RunMode mode : {runtime::RunMode::Functional, runtime::RunMode::Cycle}) {
    auto dev = runtime::makeSimulatorDevice(*target::findBoard("kv260"));
    ASSERT_EQ(dev->load(p), "");
    runtime::SessionConfig cfg;
    cfg.run.mode = mode;
    runtime::Session s(*dev, p, cfg);
    ASSERT_EQ(s.check(), "");
    std::vector<int32_t> logits;
    ASSERT_EQ(s.step(6, logits), ""); // h = 11
    runtime::Sampler greedy({});
    EXPECT_EQ(greedy.sample(logits, 1.0f), 1);
    ASSERT_EQ(s.step(10, logits), ""); // h = 21
    EXPECT_EQ(greedy.sample(logits, 1.0f), 2);
    ASSERT_EQ(s.reset(), "");
    ASSERT_EQ(s.step(0, logits), ""); // h = 5 again
    EXPECT_EQ(greedy.sample(logits, 1.0f), 0);
    std::vector<int32_t> out;
    ASSERT_EQ(s.reset(), "");
    ASSERT_EQ(s.generate({30}, 3, greedy, out), ""); // h = 35, 38, 41: nearest of 0 10 20 30 is 30
    EXPECT_EQ(out, (std::vector<int32_t>{3, 3, 3}));
    ASSERT_EQ(s.reset(), "");
    ASSERT_EQ(s.generate({-5}, 2, greedy, out), ""); // h = 0 -> token 0 fed back -> h = 0
    EXPECT_EQ(out, (std::vector<int32_t>{0, 0}));
  }
}

TEST(Session, MissingAbiIsReported) {
  isa::Program p = isa::assemble(".target kv260\n.entry main\n{ ctrl.halt }\n", "t.s");
  auto dev = runtime::makeSimulatorDevice(*target::findBoard("kv260"));
  ASSERT_EQ(dev->load(p), "");
  runtime::Session s(*dev, p);
  EXPECT_EQ(s.check(), "program has no entry point 'decode'");
}
