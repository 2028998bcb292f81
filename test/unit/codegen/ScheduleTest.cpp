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
  e.channels = sems.channels();
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

TEST(Schedule, EntriesWithDisjointChannelsEachGetTheirOwnSemaphores) {
  // Entry a uses 16 of the 20 unit-to-unit channels, entry b the other 4: 20 channels in all,
  // more than the 16 semaphores, but each entry alone fits. Planned one entry at a time (as the
  // emitter does), neither needs a ctrl.sync; b reuses semaphores a gives to other waiting
  // units, which each entry's own map (Symbol.channels) records and the loader accepts. Planned
  // as one map, some channels would go through ctrl.sync.
  const isa::Slot units[] = {isa::Slot::Load, isa::Slot::Store, isa::Slot::Matrix,
                             isa::Slot::Vector, isa::Slot::Ssm};
  const std::pair<isa::Slot, isa::Slot> inB[] = {{isa::Slot::Load, isa::Slot::Matrix},
                                                 {isa::Slot::Matrix, isa::Slot::Vector},
                                                 {isa::Slot::Vector, isa::Slot::Ssm},
                                                 {isa::Slot::Ssm, isa::Slot::Store}};
  Inst halt;
  halt.unit = isa::Slot::Ctrl;
  halt.word.set(isa::field::none::op, isa::op::ctrl::halt);
  std::vector<Inst> a, b;
  uint64_t at = 0;
  for (isa::Slot x : units)
    for (isa::Slot y : units) {
      if (x == y)
        continue;
      bool toB = false;
      for (auto [p, q] : inB)
        toB |= p == x && q == y;
      auto &list = toB ? b : a;
      list.push_back(inst(x, at, true));
      list.push_back(inst(y, at, false));
      at += 64;
    }
  a.push_back(halt);
  b.push_back(halt);
  SemTable shared;
  planChannels({&a, &b}, shared);
  unsigned rerouted = 0;
  for (auto &row : shared.viaCtrl)
    for (bool v : row)
      rerouted += v;
  EXPECT_GT(rerouted, 0u) << "20 channels in one map cannot all have a semaphore";

  isa::Program p;
  p.target = "kv260";
  SemTable own[2];
  const std::vector<Inst> *lists[2] = {&a, &b};
  for (unsigned e = 0; e < 2; ++e) {
    planChannels({lists[e]}, own[e]);
    for (auto &row : own[e].viaCtrl)
      for (bool v : row)
        EXPECT_FALSE(v) << "entry " << e;
    ScheduleResult sr = schedule(*lists[e], own[e]);
    ASSERT_EQ(sr.error, "");
    EXPECT_EQ(sr.syncs, 0u);
    isa::Symbol sym;
    sym.kind = isa::Symbol::Kind::Entry;
    sym.name = e ? "b" : "a";
    sym.bundle = uint32_t(p.bundles.size());
    sym.channels = own[e].channels();
    p.symbols.push_back(sym);
    p.bundles.insert(p.bundles.end(), sr.bundles.begin(), sr.bundles.end());
  }
  EXPECT_EQ(own[0].used, 16u);
  EXPECT_EQ(own[1].used, 4u);
  // The maps as recorded; b reuses some of a's semaphores with another waiting unit.
  EXPECT_EQ(p.symbols[0].channels, isa::entryChannels(p.bundles, p.symbols[0].bundle));
  EXPECT_EQ(p.symbols[1].channels, isa::entryChannels(p.bundles, p.symbols[1].bundle));
  const auto wa = isa::semWaiters(p.symbols[0].channels),
             wb = isa::semWaiters(p.symbols[1].channels);
  unsigned differ = 0; // semaphores one program-wide map could not give both entries
  for (const isa::SemChannel &c : p.symbols[1].channels)
    differ += wa[c.sem] != wb[c.sem];
  EXPECT_GT(differ, 0u);
  const target::Board *board = target::findBoard("kv260");
  ASSERT_EQ(runtime::validateProgram(p, *board, uint64_t(1) << 20), "");
  std::vector<uint8_t> f = runtime::writeContainer(p, *board);
  runtime::LoadResult r = runtime::loadContainer(f.data(), f.size());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.program.symbols[1].channels, p.symbols[1].channels);
  auto dev = runtime::makeSimulatorDevice(*board);
  ASSERT_EQ(dev->load(p), "");
  for (const char *name : {"a", "b"}) {
    isa::Memory mem = isa::Memory::forProgram(p, board->spadBytes());
    EXPECT_EQ(isa::interpret(p, name, mem).error, "") << name;
    runtime::RunOptions opt;
    opt.mode = runtime::RunMode::Cycle;
    EXPECT_EQ(dev->run(name, opt).error, "") << name;
  }
}

TEST(Schedule, ChannelsWhoseWaitsInterleaveShareASemaphore) {
  // One chain through all 20 unit-to-unit channels (an Euler circuit of the five units): each
  // instruction reads what the previous one wrote, so every producer is known complete before
  // the next one starts and the channels into one unit can share its semaphore. With sharing,
  // 4 of the 20 channels share (as many as the 16 semaphores fall short) and no ctrl.sync;
  // without, some channels go through ctrl.sync.
  const unsigned path[] = {1, 2, 1, 3, 1, 4, 1, 5, 2, 3, 2, 4, 2, 5, 3, 4, 3, 5, 4, 5, 1};
  std::vector<Inst> list;
  for (size_t k = 0; k < std::size(path); ++k) {
    Inst in = inst(isa::Slot(path[k]), 64 * (k + 1), true);
    if (k)
      in.access.push_back({0, 64 * k, 64 * (k + 1), false});
    list.push_back(in);
  }
  Inst halt;
  halt.unit = isa::Slot::Ctrl;
  halt.word.set(isa::field::none::op, isa::op::ctrl::halt);
  list.push_back(halt);
  auto syncsOf = [](const ScheduleResult &sr) {
    unsigned n = 0;
    for (const auto &b : sr.bundles)
      n += b[isa::Slot::Ctrl].raw(isa::field::none::op) == isa::op::ctrl::sync;
    return n;
  };
  SemTable alone;
  planChannels({&list}, alone);
  ScheduleResult without = schedule(list, alone);
  ASSERT_EQ(without.error, "");
  EXPECT_GT(syncsOf(without), 0u);

  SemTable sems;
  planChannels({&list}, sems, {}, {}, /*share=*/true);
  ScheduleResult sr = schedule(list, sems);
  ASSERT_EQ(sr.error, "");
  EXPECT_EQ(syncsOf(sr), 0u);
  EXPECT_EQ(sems.used, 16u);
  isa::Program p;
  p.target = "kv260";
  p.bundles = sr.bundles;
  isa::Symbol e;
  e.kind = isa::Symbol::Kind::Entry;
  e.name = "main";
  e.channels = sems.channels();
  EXPECT_EQ(e.channels.size(), 20u);
  p.symbols.push_back(e);
  EXPECT_EQ(p.symbols[0].channels, isa::entryChannels(p.bundles, 0));
  const target::Board *board = target::findBoard("kv260");
  EXPECT_EQ(runtime::validateProgram(p, *board, uint64_t(1) << 20), "");
  isa::Memory mem = isa::Memory::forProgram(p, board->spadBytes());
  EXPECT_EQ(isa::interpret(p, "main", mem).error, "");
  auto dev = runtime::makeSimulatorDevice(*board);
  ASSERT_EQ(dev->load(p), "");
  runtime::RunOptions opt;
  opt.mode = runtime::RunMode::Cycle;
  EXPECT_EQ(dev->run("main", opt).error, "");
}

TEST(Schedule, SharingWaitsThatDoNotInterleaveIsRefused) {
  // The vector unit waits on the matrix unit (i2) and then on the load unit (i4), but nothing
  // orders the load's second write after the matrix: a token of the load could satisfy the
  // wait meant for the matrix. planChannels does not share them; schedule refuses a table that
  // does. With the load's second write after the matrix's read of X (a write-after-read), the
  // order is known and sharing is accepted.
  auto listOf = [](bool ordered) {
    std::vector<Inst> l = {inst(isa::Slot::Load, 0, true), inst(isa::Slot::Matrix, 0, false)};
    l[1].access.push_back({0, 64, 128, true});                   // matrix: X -> Y
    l.push_back(inst(isa::Slot::Vector, 64, false));             // vector reads Y
    l.push_back(inst(isa::Slot::Load, ordered ? 0 : 128, true)); // load writes X again, or Z
    l.back().access.push_back({0, 128, 192, true});
    Inst v = inst(isa::Slot::Vector, 128, false); // vector reads Z
    l.push_back(v);
    Inst halt;
    halt.unit = isa::Slot::Ctrl;
    halt.word.set(isa::field::none::op, isa::op::ctrl::halt);
    l.push_back(halt);
    return l;
  };
  const unsigned load = unsigned(isa::Slot::Load), matrix = unsigned(isa::Slot::Matrix),
                 vector = unsigned(isa::Slot::Vector);
  for (bool ordered : {false, true}) {
    std::vector<Inst> l = listOf(ordered);
    SemTable sems;
    sems.shareWith[load][vector] = int(matrix);
    ScheduleResult sr = schedule(l, sems);
    if (ordered) {
      EXPECT_EQ(sr.error, "");
    } else {
      EXPECT_EQ(sr.error, "channels into the vector unit sharing a semaphore do not interleave "
                          "provably (instruction 4, '')");
    }
  }
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
