// The --eval score (bits of a token under the overlay's integer logits, a text's bits per byte)
// against closed forms, and the performance summary's figures from known counters.
#include "mamba2/runtime/Report.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mamba2;

TEST(Report, PortableLogMatchesLibm) {
  for (double x : {1e-300, 1e-5, 0.3, 0.5, 0.70710678, 1.0, 1.5, 2.0, 3.0, 255.999, 1e9, 1e300}) {
    const double want = std::log(x);
    EXPECT_NEAR(runtime::portableLog(x), want, 4.5e-16 * std::max(1.0, std::fabs(want))) << x;
  }
  EXPECT_EQ(runtime::portableLog(1.0), 0.0);
}

TEST(Report, TokenBitsOfClosedForms) {
  // Equal logits: log2(vocab) bits whichever the token.
  std::vector<int32_t> q(256, -7);
  EXPECT_NEAR(runtime::tokenBits(q.data(), 256, 4, 3), 8.0, 1e-13);
  // Two logits 16 apart at logit_frac 4 (real 0 and 1): -log2(e / (1 + e)) and -log2(1 / (1 + e)).
  const int32_t two[2] = {0, 16};
  const double e = std::exp(1.0);
  EXPECT_NEAR(runtime::tokenBits(two, 2, 4, 1), -std::log2(e / (1 + e)), 1e-14);
  EXPECT_NEAR(runtime::tokenBits(two, 2, 4, 0), -std::log2(1 / (1 + e)), 1e-14);
  // The extremes of int32 do not overflow the difference.
  const int32_t far[2] = {INT32_MIN, INT32_MAX};
  EXPECT_EQ(runtime::tokenBits(far, 2, 0, 1), 0.0);
  EXPECT_NEAR(runtime::tokenBits(far, 2, 0, 0), 4294967295.0 / std::log(2.0), 1e-5);
}

TEST(Report, ScoreTextDividesByThePredictedBytes) {
  // Three tokens of 1, 2 and 3 bytes, uniform logits over 4 ids: 2 bits per prediction.
  std::vector<int32_t> logits(3 * 4, 0);
  runtime::TextScore s = runtime::scoreText(logits, {0, 1, 2}, {1, 2, 3}, 4, 0);
  EXPECT_EQ(s.tokens, 3u);
  EXPECT_EQ(s.predictions, 2u);
  EXPECT_EQ(s.bytes, 5u);
  EXPECT_NEAR(s.bits, 4.0, 1e-14);
  EXPECT_NEAR(s.bitsPerByte(), 0.8, 1e-14);
  EXPECT_NEAR(s.perplexity(), 4.0, 1e-13);
}

namespace {

runtime::SessionCall call(runtime::SessionCall::Phase phase, bool prefill, uint64_t cycles,
                          uint64_t loadBytes, uint64_t matrixBusy) {
  runtime::SessionCall c{phase, prefill, {}};
  c.counters.timed = true;
  c.counters.cycles = cycles;
  c.counters.units[unsigned(isa::Slot::Load)].bytes = loadBytes;
  c.counters.units[unsigned(isa::Slot::Matrix)].busy = matrixBusy;
  c.counters.trace.push_back({unsigned(isa::Slot::Matrix), 1, 2, 0, "matrix.mm8"});
  return c;
}

} // namespace

TEST(Report, JoinedCallsFollowEachOther) {
  using P = runtime::SessionCall::Phase;
  std::vector<runtime::SessionCall> calls = {call(P::Prompt, true, 100, 10, 50),
                                             call(P::Decode, false, 40, 5, 10)};
  runtime::RunCounters all = runtime::joinCalls(calls);
  EXPECT_TRUE(all.timed);
  EXPECT_EQ(all.cycles, 140u);
  EXPECT_EQ(all.units[unsigned(isa::Slot::Load)].bytes, 15u);
  ASSERT_EQ(all.trace.size(), 2u);
  EXPECT_EQ(all.trace[1].start, 101u);
  EXPECT_EQ(all.trace[1].end, 102u);
}

TEST(Report, SummaryFiguresFromCounters) {
  using P = runtime::SessionCall::Phase;
  const target::Board &b = *target::findBoard("kv260"); // 250 MHz
  // A prompt of 5 tokens (t_block 4): one prefill call of 1000 cycles and one decode of 250;
  // two decode steps of 200 and 300 cycles.
  std::vector<runtime::SessionCall> calls = {
      call(P::Prompt, true, 1000, 4000, 500), call(P::Prompt, false, 250, 1000, 125),
      call(P::Decode, false, 200, 1000, 100), call(P::Decode, false, 300, 1000, 100)};
  const std::string s = runtime::performanceSummary(calls, 4, b, runtime::RunMode::Cycle);
  // 1250 cycles at 250 MHz = 5 us: 1 M tokens/s; 5000 bytes in 5 us = 1 GB/s.
  EXPECT_NE(s.find("performance: kv260 at 250 MHz, cycle mode\n"), std::string::npos) << s;
  EXPECT_NE(s.find("prompt: 5 tokens in 1 prefill + 1 decode calls, 1250 cycles, 5.000 us, "
                   "1.00 M tokens/s\n"),
            std::string::npos)
      << s;
  // 250 cycles per step = 1 us: 1 M tokens/s; 1000 bytes per us = 1 GB/s.
  EXPECT_NE(s.find("decode: 2 steps, 250.0 cycles per step (min 200, max 300), 1.000 us per "
                   "token, 1.00 M tokens/s\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  calls: prefill 1000.0 cycles each (250.0 per token), decode 250.0 cycles "
                   "each\n"),
            std::string::npos)
      << s;
  char dram[160];
  // The bound: the bytes at the board's achievable bytes per cycle.
  std::snprintf(dram, sizeof dram,
                "DRAM: 1000 bytes per step, 1.000 GB/s, %.1f%% of the board's achievable %.1f "
                "GB/s (bandwidth bound %.1f cycles)\n",
                100.0 / b.streamGBps(), b.streamGBps(), 1000 / b.dramBytesPerCycle());
  EXPECT_NE(s.find(dram), std::string::npos) << s;
  EXPECT_NE(s.find("busy: load 0.0% store 0.0% matrix 50.0% vector 0.0% ssm 0.0%"),
            std::string::npos)
      << s;
  const std::string f = runtime::performanceSummary(calls, 4, b, runtime::RunMode::Functional);
  EXPECT_NE(f.find("functional mode: no cycle model"), std::string::npos) << f;
  EXPECT_NE(f.find("prompt: 5 tokens in 1 prefill + 1 decode calls, 5000 DRAM bytes"),
            std::string::npos)
      << f;
  EXPECT_EQ(f.find("cycles"), std::string::npos) << f;
}
