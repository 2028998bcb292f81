// The scheduler alone: more unit-to-unit channels than semaphores. Every ordered pair of the
// five units exchanges data once (20 channels); the least used channels must go through
// ctrl.sync, every semaphore keep one waiting unit, and the program run serially without
// waiting on an empty semaphore (isa's ordering contract), as the loader and the interpreter
// check.
#include "Schedule.h"

#include "mamba2/isa/Interp.h"
#include "mamba2/runtime/Container.h"
#include "mamba2/runtime/Device.h"

#include <gtest/gtest.h>

using namespace mamba2;
using namespace mamba2::codegen;

namespace {

isa::SlotWord emptyRun(isa::Slot unit) {
  isa::SlotWord w;
  const uint8_t op = unit == isa::Slot::Load     ? isa::op::load::run
                     : unit == isa::Slot::Store  ? isa::op::store::run
                     : unit == isa::Slot::Matrix ? isa::op::matrix::run
                     : unit == isa::Slot::Vector ? isa::op::vector::run
                                                 : isa::op::ssm::run;
  w.set(isa::field::none::op, op);
  return w;
}

Inst inst(isa::Slot unit, uint64_t lo, bool write) {
  Inst in;
  in.unit = unit;
  in.word = emptyRun(unit);
  in.access.push_back({0, lo, lo + 64, write});
  return in;
}

TEST(Schedule, MoreChannelsThanSemaphoresGoThroughCtrlSync) {
  const isa::Slot units[] = {isa::Slot::Load, isa::Slot::Store, isa::Slot::Matrix,
                             isa::Slot::Vector, isa::Slot::Ssm};
  std::vector<Inst> list;
  uint64_t at = 0;
  // Pair (a, b) exchanges data 1 + (index % 3) times, so channels differ in use.
  unsigned k = 0;
  for (isa::Slot a : units)
    for (isa::Slot b : units) {
      if (a == b)
        continue;
      for (unsigned r = 0; r <= k % 3; ++r, at += 64) {
        list.push_back(inst(a, at, true));
        list.push_back(inst(b, at, false));
      }
      ++k;
    }
  Inst halt;
  halt.unit = isa::Slot::Ctrl;
  halt.word.set(isa::field::none::op, isa::op::ctrl::halt);
  list.push_back(halt);

  SemTable sems;
  planChannels({&list}, sems);
  ScheduleResult sr = schedule(list, sems);
  ASSERT_EQ(sr.error, "");
  EXPECT_LE(sems.used, isa::kNumSems);
  unsigned syncs = 0, rerouted = 0;
  for (const auto &b : sr.bundles)
    syncs += b[isa::Slot::Ctrl].raw(isa::field::none::op) == isa::op::ctrl::sync;
  for (auto &row : sems.viaCtrl)
    for (bool v : row)
      rerouted += v;
  EXPECT_GT(rerouted, 0u) << "20 channels cannot all have a semaphore";
  EXPECT_GT(syncs, 0u);

  isa::Program p;
  p.target = "kv260";
  p.bundles = sr.bundles;
  isa::Symbol e;
  e.kind = isa::Symbol::Kind::Entry;
  e.name = "main";
  p.symbols.push_back(e);
  const target::Board *board = target::findBoard("kv260");
  EXPECT_EQ(runtime::validateProgram(p, *board, uint64_t(1) << 20), "");
  isa::Memory mem = isa::Memory::forProgram(p, board->spadBytes());
  isa::InterpResult ir = isa::interpret(p, "main", mem);
  EXPECT_EQ(ir.error, "");
  // The decoupled units (cycle simulator) finish too.
  auto dev = runtime::makeSimulatorDevice(*board);
  ASSERT_EQ(dev->load(p), "");
  runtime::RunOptions opt;
  opt.mode = runtime::RunMode::Cycle;
  EXPECT_EQ(dev->run("main", opt).error, "");
}

TEST(Schedule, ChannelsWeighedPerTokenKeepTheDecodesSemaphores) {
  // Two entries share the semaphores: a long prefill-like list uses all 20 channels, four of
  // them once and the rest five times; a short decode-like list uses only those four. By raw
  // counts the four are the least used and go through ctrl.sync, in the decode too; weighed by
  // waits per token (the prefill's call takes 32 tokens, the decode's one) they keep their
  // semaphores and the prefill's rarer channels take ctrl.sync instead (docs/codegen.md).
  const isa::Slot units[] = {isa::Slot::Load, isa::Slot::Store, isa::Slot::Matrix,
                             isa::Slot::Vector, isa::Slot::Ssm};
  const std::pair<isa::Slot, isa::Slot> shared[] = {{isa::Slot::Load, isa::Slot::Matrix},
                                                    {isa::Slot::Matrix, isa::Slot::Vector},
                                                    {isa::Slot::Vector, isa::Slot::Ssm},
                                                    {isa::Slot::Ssm, isa::Slot::Store}};
  auto isShared = [&](isa::Slot a, isa::Slot b) {
    for (auto [x, y] : shared)
      if (x == a && y == b)
        return true;
    return false;
  };
  Inst halt;
  halt.unit = isa::Slot::Ctrl;
  halt.word.set(isa::field::none::op, isa::op::ctrl::halt);
  std::vector<Inst> prefill, decode;
  uint64_t at = 0;
  for (isa::Slot a : units)
    for (isa::Slot b : units) {
      if (a == b)
        continue;
      for (unsigned r = 0; r < (isShared(a, b) ? 1u : 5u); ++r, at += 64) {
        prefill.push_back(inst(a, at, true));
        prefill.push_back(inst(b, at, false));
      }
    }
  for (auto [a, b] : shared) {
    decode.push_back(inst(a, at, true));
    decode.push_back(inst(b, at, false));
    at += 64;
  }
  prefill.push_back(halt);
  decode.push_back(halt);
  auto rerouted = [&](const SemTable &sems) {
    unsigned n = 0;
    for (auto [a, b] : shared)
      n += sems.viaCtrl[unsigned(a)][unsigned(b)];
    return n;
  };
  SemTable counts;
  planChannels({&prefill, &decode}, counts);
  EXPECT_EQ(rerouted(counts), 4u);
  SemTable perToken;
  planChannels({&prefill, &decode}, perToken, {}, {1.0 / 32, 1.0});
  EXPECT_EQ(rerouted(perToken), 0u);
  ScheduleResult sr = schedule(decode, perToken);
  ASSERT_EQ(sr.error, "");
  for (const auto &b : sr.bundles)
    EXPECT_NE(b[isa::Slot::Ctrl].raw(isa::field::none::op), isa::op::ctrl::sync);
  EXPECT_EQ(schedule(prefill, perToken).error, "");
}

TEST(Schedule, ImpliedDependenciesNeedNoSemaphore) {
  // load writes A; vector reads A and writes B; ssm reads A and B: its wait on the vector
  // implies the load (vector clocks), so the ssm waits once.
  std::vector<Inst> list = {inst(isa::Slot::Load, 0, true), inst(isa::Slot::Vector, 0, false),
                            inst(isa::Slot::Vector, 64, true)};
  Inst s = inst(isa::Slot::Ssm, 0, false);
  s.access.push_back({0, 64, 128, false});
  list.push_back(s);
  Inst halt;
  halt.unit = isa::Slot::Ctrl;
  halt.word.set(isa::field::none::op, isa::op::ctrl::halt);
  list.push_back(halt);
  SemTable sems;
  planChannels({&list}, sems);
  ScheduleResult sr = schedule(list, sems);
  ASSERT_EQ(sr.error, "");
  EXPECT_EQ(sems.used, 2u); // load -> vector, vector -> ssm
  EXPECT_EQ(sr.fences, 0u);
}

} // namespace
