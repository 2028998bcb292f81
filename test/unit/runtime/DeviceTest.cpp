// Devices: the simulator runs a loaded program in both modes with the same results; tensors go
// in and out by name; the XRT backend says clearly that no board is present.
#include "mamba2/runtime/Device.h"
#include "ProgramFixture.h"
#include "mamba2/isa/Interp.h"
#include "mamba2/runtime/Trace.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mamba2;

TEST(Device, SimulatorModesAgreeAndMatchTheReference) {
  isa::Program p = isa::assemble(test::kAllUnits, "t.s");
  const target::Board &b = *target::findBoard("kv260");
  isa::Memory ref = isa::Memory::forProgram(p, b.spadBytes());
  std::vector<int8_t> x(64);
  for (int i = 0; i < 64; ++i)
    x[i] = int8_t(i * 7 - 100);
  std::copy(x.begin(), x.end(), ref.dram[1].begin());
  ASSERT_EQ(isa::interpret(p, "main", ref).error, "");
  uint64_t cycles = 0;
  for (runtime::RunMode mode : {runtime::RunMode::Functional, runtime::RunMode::Cycle}) {
    auto dev = runtime::makeSimulatorDevice(b);
    ASSERT_EQ(dev->load(p), "");
    ASSERT_EQ(dev->writeTensor("x", std::vector<uint8_t>(x.begin(), x.end())), "");
    runtime::RunReport r = dev->run("main", {mode, mode == runtime::RunMode::Cycle});
    ASSERT_EQ(r.error, "");
    std::vector<uint8_t> y;
    ASSERT_EQ(dev->readTensor("y", y), "");
    EXPECT_TRUE(std::equal(y.begin(), y.end(), ref.dram[1].begin() + 512));
    EXPECT_EQ(r.counters.timed, mode == runtime::RunMode::Cycle);
    if (mode == runtime::RunMode::Cycle)
      cycles = r.counters.cycles;
  }
  // Timing only: the same cycles, no values.
  auto dev = runtime::makeSimulatorDevice(b);
  ASSERT_EQ(dev->load(p), "");
  runtime::RunReport t = dev->run("main", {runtime::RunMode::Timing, false});
  ASSERT_EQ(t.error, "");
  EXPECT_TRUE(t.counters.timed);
  EXPECT_EQ(t.counters.cycles, cycles);
  std::vector<uint8_t> y;
  ASSERT_EQ(dev->readTensor("y", y), "");
  EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](uint8_t v) { return v == 0; }));
}

// A timing-only simulator keeps no copy of the regions: a program loaded without its region
// bytes (LoadOptions::regionData off) times the same cycles and counters as a full device's
// timing run; it refuses tensors and the modes that compute values.
TEST(Device, TimingOnlySimulatorCountsWithoutTheRegionsBytes) {
  isa::Program p = isa::assemble(test::kAllUnits, "t.s");
  const target::Board &b = *target::findBoard("kv260");
  auto full = runtime::makeSimulatorDevice(b);
  ASSERT_EQ(full->load(p), "");
  runtime::RunReport want = full->run("main", {runtime::RunMode::Timing, true});
  ASSERT_EQ(want.error, "");

  runtime::LoadOptions lo;
  lo.regionData = false;
  const std::vector<uint8_t> file = runtime::writeContainer(p, b);
  runtime::LoadResult bare = runtime::loadContainer(file.data(), file.size(), lo);
  ASSERT_TRUE(bare.ok()) << bare.error;
  bool someInit = false;
  for (unsigned r = 0; r < isa::kNumRegions; ++r) {
    EXPECT_TRUE(bare.program.regions[r].init.empty()) << r;
    EXPECT_EQ(bare.program.regions[r].size, p.regions[r].size) << r;
    someInit = someInit || !p.regions[r].init.empty();
  }
  EXPECT_TRUE(someInit); // the program has constants that the bare load left out

  auto dev = runtime::makeSimulatorDevice(b, {/*timingOnly=*/true});
  EXPECT_EQ(dev->describe(), "simulator (kv260, timing only)");
  ASSERT_EQ(dev->load(bare.program), "");
  runtime::RunReport got = dev->run("main", {runtime::RunMode::Timing, true});
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.counters.cycles, want.counters.cycles);
  EXPECT_EQ(got.counters.bundles, want.counters.bundles);
  for (unsigned u = 0; u < isa::kNumSlots; ++u) {
    EXPECT_EQ(got.counters.units[u].busy, want.counters.units[u].busy) << u;
    EXPECT_EQ(got.counters.units[u].stallToken, want.counters.units[u].stallToken) << u;
    EXPECT_EQ(got.counters.units[u].stallMemory, want.counters.units[u].stallMemory) << u;
    EXPECT_EQ(got.counters.units[u].bytes, want.counters.units[u].bytes) << u;
    EXPECT_EQ(got.counters.units[u].ops, want.counters.units[u].ops) << u;
  }
  EXPECT_EQ(got.counters.trace.size(), want.counters.trace.size());
  std::vector<uint8_t> y;
  EXPECT_EQ(dev->readTensor("y", y),
            "tensor 'y' cannot be read: this simulator runs timing only and holds no memory");
  EXPECT_EQ(dev->writeTensor("x", std::vector<uint8_t>(64)),
            "tensor 'x' cannot be written: this simulator runs timing only and holds no memory");
  EXPECT_EQ(dev->run("main", {runtime::RunMode::Cycle, false}).error,
            "this simulator runs timing only (it holds no memory to compute values in)");
  EXPECT_EQ(dev->run("main", {runtime::RunMode::Functional, false}).error,
            "this simulator runs timing only (it holds no memory to compute values in)");
}

TEST(Device, TensorErrors) {
  auto dev = runtime::makeSimulatorDevice(*target::findBoard("kv260"));
  std::vector<uint8_t> b;
  EXPECT_EQ(dev->readTensor("x", b), "no tensor named 'x'");
  EXPECT_EQ(dev->run("main", {}).error, "no program loaded");
  ASSERT_EQ(dev->load(isa::assemble(test::kAllUnits, "t.s")), "");
  EXPECT_EQ(dev->writeTensor("x", {1, 2}), "tensor 'x' is 64 bytes, got 2");
  EXPECT_EQ(dev->run("nope", {}).error, "no entry point named 'nope'");
}

TEST(Device, XrtSaysClearlyWhenNoBoardIsPresent) {
  std::string err;
  auto dev = runtime::makeXrtDevice(*target::findBoard("u280"), "/nonexistent.xclbin", 0, err);
  EXPECT_EQ(dev, nullptr);
  EXPECT_TRUE(err.find("no usable FPGA board") != std::string::npos ||
              err.find("no XRT support") != std::string::npos)
      << err;
}

TEST(Trace, ChromeTraceHasOneTrackPerUnitAndSlicesInMicroseconds) {
  isa::Program p = isa::assemble(test::kAllUnits, "t.s");
  auto dev = runtime::makeSimulatorDevice(*target::findBoard("kv260"));
  ASSERT_EQ(dev->load(p), "");
  runtime::RunReport r = dev->run("main", {runtime::RunMode::Cycle, true});
  ASSERT_EQ(r.error, "");
  std::string j = runtime::chromeTraceJson(r.counters, dev->board());
  EXPECT_NE(j.find("\"matrix unit\""), std::string::npos);
  EXPECT_NE(j.find("\"matrix.mm8\""), std::string::npos);
  EXPECT_NE(j.find("\"ph\": \"X\""), std::string::npos);
  std::string s = runtime::statsTable(r.counters, dev->board());
  EXPECT_NE(s.find("stall-token"), std::string::npos);
}
