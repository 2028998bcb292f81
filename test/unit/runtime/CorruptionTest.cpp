// Hundreds of corrupted copies of a valid program (truncations, bit flips, flips with the
// checksum repaired so the deeper checks are reached): each is rejected with a message or, if
// it still loads, runs to an end or a clean error in both simulator modes.
#include "ProgramFixture.h"
#include "mamba2/hw/Overlay.h"
#include "mamba2/runtime/Container.h"

#include <gtest/gtest.h>

#include <random>

using namespace mamba2;

namespace {

struct Outcome {
  int rejected = 0, ran = 0, runErrors = 0;
};

void tryFile(const std::vector<uint8_t> &f, Outcome &o) {
  runtime::LoadOptions opt;
  opt.maxWalkBundles = 10000;
  opt.maxRegionBytes = 1 << 20; // a flipped size bit must not make the test allocate gigabytes
  runtime::LoadResult r = runtime::loadContainer(f.data(), f.size(), opt);
  if (!r.ok()) {
    ASSERT_FALSE(r.error.empty());
    ++o.rejected;
    return;
  }
  for (hw::SimMode mode : {hw::SimMode::Functional, hw::SimMode::Cycle}) {
    isa::Memory m = isa::Memory::forProgram(r.program, r.board->spadBytes());
    hw::SimResult s = hw::simulate(r.program, "main", m, *r.board, {mode, false, 10000});
    if (!s.error.empty())
      ++o.runErrors;
  }
  ++o.ran;
}

void reseal(std::vector<uint8_t> &f) {
  uint32_t c = runtime::crc32(f.data() + runtime::kHeaderBytes, f.size() - runtime::kHeaderBytes);
  for (int i = 0; i < 4; ++i)
    f[16 + i] = uint8_t(c >> (8 * i));
}

} // namespace

TEST(Corruption, TruncationsAreAllRejected) {
  std::vector<uint8_t> good =
      runtime::writeContainer(isa::assemble(test::kAllUnits, "t.s"), *hw::findBoard("kv260"));
  Outcome o;
  std::mt19937 g(21);
  for (int i = 0; i < 300; ++i) {
    size_t n = i < 60 ? size_t(i) : g() % good.size();
    tryFile(std::vector<uint8_t>(good.begin(), good.begin() + long(n)), o);
  }
  EXPECT_EQ(o.rejected, 300);
}

TEST(Corruption, BitFlipsAreRejectedByTheChecksum) {
  std::vector<uint8_t> good =
      runtime::writeContainer(isa::assemble(test::kAllUnits, "t.s"), *hw::findBoard("kv260"));
  Outcome o;
  std::mt19937 g(22);
  for (int i = 0; i < 400; ++i) {
    auto f = good;
    for (int k = 0, n = 1 + int(g() % 3); k < n; ++k)
      f[g() % f.size()] ^= uint8_t(1u << (g() % 8));
    tryFile(f, o);
  }
  EXPECT_EQ(o.rejected + o.ran, 400);
  EXPECT_GE(o.rejected,
            390); // only flips that cancel out (or hit only reserved zero bits twice) survive
}

TEST(Corruption, ResealedFlipsReachTheDeepChecksAndNeverCrash) {
  std::vector<uint8_t> good =
      runtime::writeContainer(isa::assemble(test::kAllUnits, "t.s"), *hw::findBoard("kv260"));
  Outcome o;
  std::mt19937 g(23);
  for (int i = 0; i < 600; ++i) {
    auto f = good;
    for (int k = 0, n = 1 + int(g() % 4); k < n; ++k) {
      size_t at = runtime::kHeaderBytes + g() % (f.size() - runtime::kHeaderBytes);
      f[at] ^= uint8_t(1u << (g() % 8));
    }
    reseal(f);
    tryFile(f, o);
  }
  EXPECT_EQ(o.rejected + o.ran, 600);
  EXPECT_GT(o.rejected, 100);
  EXPECT_GT(o.ran, 10) << "some flips land in data and still run";
  std::printf("resealed flips: %d rejected, %d loaded and ran (%d run errors)\n", o.rejected, o.ran,
              o.runErrors);
}
