// The .m2b container: round trip, and one clear error per kind of bad file.
#include "mamba2/runtime/Container.h"
#include "ProgramFixture.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace mamba2;

namespace {

const target::Board &kv260() { return *target::findBoard("kv260"); }

std::vector<uint8_t> build(const std::string &text) {
  return runtime::writeContainer(isa::assemble(text, "t.s"), kv260());
}

std::string loadError(const std::vector<uint8_t> &f, const runtime::LoadOptions &o = {}) {
  return runtime::loadContainer(f.data(), f.size(), o).error;
}

std::string validateError(const std::string &text) {
  return runtime::validateProgram(isa::assemble(text, "t.s"), kv260(), 1000);
}

// Re-seals a modified payload so that only the intended check can fail.
void reseal(std::vector<uint8_t> &f) {
  uint32_t c = runtime::crc32(f.data() + runtime::kHeaderBytes, f.size() - runtime::kHeaderBytes);
  for (int i = 0; i < 4; ++i)
    f[16 + i] = uint8_t(c >> (8 * i));
}

} // namespace

// The check sum is CRC-32 (IEEE, reflected 0xEDB88320): its check value, and the same sums
// as a bit-at-a-time definition over lengths and splits that cross every word boundary.
TEST(Container, Crc32IsTheIeeeCrc) {
  const char *check = "123456789";
  EXPECT_EQ(runtime::crc32(reinterpret_cast<const uint8_t *>(check), 9), 0xCBF43926u);
  auto bitwise = [](const uint8_t *d, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
      c ^= d[i];
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
  };
  std::vector<uint8_t> data(1000);
  uint32_t x = 12345;
  for (uint8_t &b : data) {
    x = x * 1103515245u + 12345u;
    b = uint8_t(x >> 16);
  }
  for (size_t n : {0, 1, 7, 8, 15, 16, 31, 33, 64, 257, 1000}) {
    EXPECT_EQ(runtime::crc32(data.data(), n), bitwise(data.data(), n)) << n;
    for (size_t split : {size_t(0), n / 3, n})
      EXPECT_EQ(
          runtime::crc32Update(runtime::crc32(data.data(), split), data.data() + split, n - split),
          bitwise(data.data(), n))
          << n << " split at " << split;
  }
}

TEST(Container, RoundTripKeepsEverything) {
  isa::Program p = isa::assemble(test::kAllUnits, "t.s");
  std::vector<uint8_t> f = runtime::writeContainer(p, kv260());
  runtime::LoadResult r = runtime::loadContainer(f.data(), f.size());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(isa::disassemble(r.program), isa::disassemble(p));
  EXPECT_STREQ(r.board->name, "kv260");
}

TEST(Container, HeaderErrors) {
  std::vector<uint8_t> good = build(test::kAllUnits);
  EXPECT_EQ(loadError({}), "truncated file: 0 bytes, the header alone is 40 (header)");
  auto f = good;
  f[0] = 'X';
  EXPECT_EQ(loadError(f), "not a .m2b file: bad magic (header, offset 0)");
  f = good;
  f[4] = 9;
  EXPECT_EQ(loadError(f),
            "container version 9 is not supported (this runtime reads 3) (header, offset 4)");
  f = good;
  f[4] = 2; // one semaphore map program-wide, before the entries' own
  EXPECT_EQ(loadError(f), "container version 2 is not supported (this runtime reads 3: version 3 "
                          "records each entry point's semaphore map; compile the model again) "
                          "(header, offset 4)");
  f = good;
  f[6] = 7;
  EXPECT_EQ(loadError(f), "ISA version 7 does not match this overlay's 1 (header, offset 6)");
  f = good;
  f.resize(f.size() - 10);
  EXPECT_NE(loadError(f).find("truncated file: header announces"), std::string::npos);
  f = good;
  f.push_back(0);
  EXPECT_EQ(loadError(f), "file has 1 bytes after the payload (header, offset 8)");
  f = good;
  f[f.size() - 5] ^= 0x10;
  EXPECT_EQ(loadError(f).rfind("checksum mismatch", 0), 0u);
  f = good;
  std::memcpy(f.data() + runtime::kHeaderBytes + 8, "\xff\xff\xff\x7f", 4);
  reseal(f);
  EXPECT_EQ(loadError(f), "payload is not a well-formed program table (payload)");
}

// The regions' contents live in the data section after the table, each at a 64-byte aligned
// offset: a large model's weights are not limited by the FlatBuffers table's 2 GiB.
TEST(Container, DataSectionHoldsTheRegionsContents) {
  isa::Program p = isa::assemble(test::kAllUnits, "t.s");
  p.regions[0].size = 1000;
  p.regions[0].init.assign(1000, 0);
  for (size_t i = 0; i < 1000; ++i)
    p.regions[0].init[i] = uint8_t(i * 7 + 1);
  p.regions[2].size = 300;
  p.regions[2].init.assign(100, 0x5a);
  std::vector<uint8_t> f = runtime::writeContainer(p, kv260());
  runtime::LoadResult r = runtime::loadContainer(f.data(), f.size());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.program.regions[0].init, p.regions[0].init);
  EXPECT_EQ(r.program.regions[2].init, p.regions[2].init);
  // The table's size is in the header; the data section starts at a 64-byte file offset and
  // ends with the last region's bytes.
  uint32_t table = 0;
  for (int i = 0; i < 4; ++i)
    table |= uint32_t(f[20 + i]) << (8 * i);
  const size_t start = (runtime::kHeaderBytes + table + 63) / 64 * 64;
  EXPECT_EQ(f.size(), start + 1024 + 100); // const at 0 (1000 bytes), state at 1024
  EXPECT_EQ(f[start], 1);
  EXPECT_EQ(f[start + 1024], 0x5a);
  // Streaming writes the same bytes.
  std::vector<uint8_t> streamed;
  runtime::writeContainer(
      p, kv260(), [&](const uint8_t *d, size_t n) { streamed.insert(streamed.end(), d, d + n); });
  EXPECT_EQ(streamed, f);

  auto g = f;
  g[start + 1010] = 1; // the padding between the two regions
  reseal(g);
  EXPECT_EQ(loadError(g), "the padding before region 'state''s data is not zero (data section)");
  g = f;
  g.push_back(0);
  for (int i = 0; i < 8; ++i)
    g[8 + i] = uint8_t((g.size() - runtime::kHeaderBytes) >> (8 * i));
  reseal(g);
  EXPECT_EQ(loadError(g), "the data section has 1 bytes after the last region's data (data "
                          "section)");
  g = f;
  for (int i = 0; i < 4; ++i)
    g[20 + i] = 0xff;
  EXPECT_EQ(loadError(g).rfind("the table's size 4294967295 does not fit", 0), 0u);
}

TEST(Container, TargetErrors) {
  std::vector<uint8_t> good = build(test::kAllUnits);
  runtime::LoadOptions other;
  other.board = target::findBoard("u280");
  EXPECT_EQ(loadError(good, other),
            "program is built for board 'kv260', this device is 'u280' (target)");
  auto f = good;
  std::memcpy(f.data() + 24, "u280\0", 5);
  EXPECT_EQ(loadError(f),
            "header names board 'u280' but the target section names 'kv260' (target)");
}

// The stripe layout of the DRAM regions over the m_axi ports is recorded and must be the
// board's: a program written for another port layout is refused.
TEST(Container, StripeLayoutIsTheBoards) {
  target::Board other = kv260();
  other.axiPorts = 32;
  other.stripeBytes = 256;
  std::vector<uint8_t> f = runtime::writeContainer(isa::assemble(test::kAllUnits, "t.s"), other);
  EXPECT_EQ(loadError(f), "program stripes DRAM over 32 ports of 256 bytes, the kv260 overlay "
                          "over 2 of 1024 (target)");
  EXPECT_EQ(loadError(build(test::kAllUnits)), "");
}

TEST(Container, OversizedRegionsAreRefusedBeforeAllocation) {
  std::vector<uint8_t> f =
      build(".target kv260\n.region scratch 2000000\n.entry main\n{ ctrl.halt }\n");
  runtime::LoadOptions o;
  o.maxRegionBytes = 1 << 20;
  EXPECT_EQ(loadError(f, o), "regions need 2000000 bytes of DRAM, more than the 1048576 this "
                             "loader allows (constants section)");
}

TEST(Container, StaticChecksNameTheProblemAndPlace) {
  EXPECT_EQ(
      validateError(".target kv260\n.region io 64\n.entry main\n{ load.dma region=io dram=32 "
                    "rows=1 rowb=64 }\n{ ctrl.halt }\n"),
      "DMA range [32, 96) is outside region 'io' (64 bytes) (entry 'main', bundle 0, load slot)");
  EXPECT_EQ(
      validateError(".target kv260\n.region io 64\n.entry main\n{ ctrl.seti rd=1 imm=64 }\n"
                    "{ ctrl.loop count=2 body=1 }\n{ ctrl.addi rd=1 rs=1 imm=-32 ; load.dma "
                    "region=io dreg=1 rows=1 rowb=32 }\n{ ctrl.halt }\n"),
      "DMA range [64, 96) is outside region 'io' (64 bytes) (entry 'main', bundle 2, load slot)");
  EXPECT_EQ(
      validateError(
          ".target kv260\n.entry main\n{ vector.run ustart=4000 ulen=2 iters=1 }\n{ ctrl.halt }\n"),
      "vector.run: micro-ops 4000..4002 exceed the microcode store (0 words) (bundle 0)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 ssmout len=1\n{ vector.run ulen=1 "
                          "iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0: micro-op 'ssmout' cannot run on the vector unit (entry 'main', "
            "bundle 0, vector slot)");
  // ssmstep: C's offset from B (p4) is not negative; y (over dtx) does not overlap B..C.
  EXPECT_EQ(
      validateError(".target kv260\n.entry main\n.uop 0 ssmstep src0=4096 src1=8192 "
                    "src2=9000 len=2 p0=4 p4=-4\n{ ssm.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
      "microcode word 0: micro-op 'ssmstep': C's offset from B, p4, must be >= 0 (entry "
      "'main', bundle 0, ssm slot)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 ssmstep src0=8196 src1=8192 "
                          "src2=9000 len=2 p0=4 p4=8\n{ ssm.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0, iteration 0: micro-op 'ssmstep' writes [8196, 8204) which partly "
            "overlaps operand [8192, 8204) (entry 'main', bundle 0, ssm slot)");
  EXPECT_EQ(validateError(".target kv260\n.region const 64\n.entry main\n{ store.dma region=const "
                          "rows=1 rowb=4 }\n{ ctrl.halt }\n"),
            "DMA store into the read-only const region (entry 'main', bundle 0, store slot)");
  EXPECT_EQ(
      validateError(
          ".target kv260\n.entry main\n{ load.dma wait=1 ; matrix.mm8 wait=1 }\n{ ctrl.halt }\n"),
      "entry 'main': its semaphore map gives semaphore 1 two waiting units, the load unit and "
      "the matrix unit; a semaphore has one waiting unit in an entry (symbol 0 'main')");
  EXPECT_EQ(validateError(".target kv260\n.entry main 5\n{ ctrl.halt }\n"),
            "entry point at bundle 5 is past the last bundle (1) (symbol 0 'main')");
  EXPECT_EQ(validateError(
                ".target kv260\n.region io 8\n.tensor t io 4 8 i8\n.entry main\n{ ctrl.halt }\n"),
            "tensor [4, 12) is outside region 'io' (8 bytes) (symbol 0 't')");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n{}\n"),
            "bundle 0: ran past the last bundle without ctrl.halt (entry 'main')");
  // Loops are walked in closed form: 5000 iterations of an empty body are not 5000 steps.
  EXPECT_EQ(validateError(
                ".target kv260\n.entry main\n{ ctrl.loop count=5000 body=1 }\n{}\n{ ctrl.halt }\n"),
            "");
  // An inner trip count that the outer body moves is stepped, within the limit.
  EXPECT_EQ(validateError(".target kv260\n.entry main\n{ ctrl.loop count=5000 body=3 }\n"
                          "{ ctrl.addi rd=1 rs=1 imm=1 }\n{ ctrl.loop count=0 creg=1 body=1 }\n"
                          "{}\n{ ctrl.halt }\n")
                .rfind("entry 'main' runs more than 1000 bundles; refusing to load (bundle ", 0),
            0u);
  EXPECT_EQ(validateError(".target kv260\n{ ctrl.halt }\n"),
            "program has no entry point (symbol table)");
  EXPECT_EQ(validateError(".target u280\n.entry main\n{ ctrl.halt }\n"),
            "program is built for board 'u280', not 'kv260' (target)");
  EXPECT_EQ(
      validateError(
          ".target kv260\n.entry main\n{ matrix.mm8 act=1048570 m=1 k=16 n=1 }\n{ ctrl.halt }\n"),
      "matmul activations [1048570, 1048586) is outside the scratchpad (1048576 bytes) (entry "
      "'main', bundle 0, matrix slot)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 fwht len=20\n{ vector.run ulen=1 "
                          "iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0: micro-op 'fwht': length 20 is not h*2^k with h in {1,12,40} (entry "
            "'main', bundle 0, vector slot)");
}

TEST(Container, MatrixAndDmaMicroOpsAreCheckedEveryOne) {
  // A DMA run whose last iteration leaves its region (the first is inside).
  EXPECT_EQ(validateError(".target kv260\n.region const 256\n.entry main\n.uop 0 load2d rows=2 "
                          "rowb=32 stride=32\n{ load.run ulen=1 iters=5 sdst=64 ssrc1=64 }\n"
                          "{ ctrl.halt }\n"),
            "microcode word 0, iteration 4: DMA range [256, 320) is outside region 'const' (256 "
            "bytes) (entry 'main', bundle 0, load slot)");
  // The breg register moves the DRAM offset, areg the scratchpad address.
  EXPECT_EQ(validateError(".target kv260\n.region io 64\n.entry main\n.uop 0 store2d "
                          "region=io rows=1 rowb=32\n{ ctrl.seti rd=2 imm=48 }\n{ store.run "
                          "ulen=1 iters=1 breg=2 }\n{ ctrl.halt }\n"),
            "microcode word 0, iteration 0: DMA range [48, 80) is outside region 'io' (64 bytes) "
            "(entry 'main', bundle 1, store slot)");
  EXPECT_EQ(validateError(".target kv260\n.region const 64\n.entry main\n.uop 0 store2d "
                          "rows=1 rowb=4\n{ store.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0: DMA store into the read-only const region (entry 'main', bundle 0, "
            "store slot)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 load2d rows=1 rowb=4\n{ "
                          "store.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0: micro-op 'load2d' cannot run on the store unit (entry 'main', "
            "bundle 0, store slot)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 gmm4 acc=4096 wgt=1024 scl=2048 "
                          "m=1 k=64 n=8 group=24\n{ matrix.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0: micro-op 'gmm4': group 24 must be >= 1 and divide k 64 (entry "
            "'main', bundle 0, matrix slot)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 mm8 acc=4096 m=1 k=64 n=8 "
                          "shift=3\n{ matrix.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0: micro-op 'mm8': group and shift are only for the group-scaled "
            "gmm8/gmm4 (entry 'main', bundle 0, matrix slot)");
  // Group scales running past the scratchpad on the second tile.
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 gmm8 acc=4096 wgt=1024 "
                          "scl=1048100 m=1 k=64 n=8 group=32\n{ matrix.run ulen=1 iters=2 "
                          "ssrc2=512 }\n{ ctrl.halt }\n"),
            "microcode word 0, iteration 1: matmul group scales [1048612, 1048676) is outside "
            "the scratchpad (1048576 bytes) (entry 'main', bundle 0, matrix slot)");
  EXPECT_EQ(validateError(".target kv260\n.entry main\n.uop 0 mm8 acc=1024 wgt=1024 m=1 k=64 "
                          "n=8\n{ matrix.run ulen=1 iters=1 }\n{ ctrl.halt }\n"),
            "microcode word 0, iteration 0: matmul accumulators overlap its weights (entry "
            "'main', bundle 0, matrix slot)");
}

TEST(Container, NonCanonicalEncodingsAreRejected) {
  isa::Program p = isa::assemble(".target kv260\n.entry main\n{ ctrl.halt }\n", "t.s");
  isa::Program q = p;
  q.bundles[0][isa::Slot::Load].set(isa::field::xfer::rows, 1); // operand bits in a NOP slot
  EXPECT_EQ(runtime::validateProgram(q, kv260(), 100),
            "load slot: a NOP must be all zeros (bundle 0)");
  q = p;
  q.bundles[0][isa::Slot::Ctrl].set(isa::field::none::wsem, 3); // semaphore without its enable
  EXPECT_EQ(runtime::validateProgram(q, kv260(), 100),
            "ctrl slot: token semaphore set without its enable bit (bundle 0)");
  q = p;
  q.bundles[0][isa::Slot::Matrix].set(isa::field::none::op, 9);
  EXPECT_EQ(runtime::validateProgram(q, kv260(), 100),
            "matrix slot: undefined opcode 9 (bundle 0)");
}

// Each entry point has its own semaphore map (Symbol.channels): two entries may give one
// semaphore different waiting units. The loader checks each map (one waiting unit per
// semaphore) and the entry's bundles against it, naming the entry, the semaphore and the bundle.
TEST(Container, EachEntryHasItsOwnSemaphoreMap) {
  const char *text = ".target kv260\n.entry a 0\n.entry b 3\n"
                     "{ load.run signal=0 }\n{ matrix.run wait=0 }\n{ ctrl.halt }\n"
                     "{ vector.run signal=0 }\n{ ssm.run wait=0 }\n{ ctrl.halt }\n";
  isa::Program p = isa::assemble(text, "t.s");
  const std::vector<isa::SemChannel> a = {{0, 1, 3}}, b = {{0, 4, 5}};
  ASSERT_EQ(p.entry("a")->channels, a); // load -> matrix
  ASSERT_EQ(p.entry("b")->channels, b); // vector -> ssm, the same semaphore
  std::vector<uint8_t> f = runtime::writeContainer(p, kv260());
  runtime::LoadResult r = runtime::loadContainer(f.data(), f.size());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.program.entry("a")->channels, a);
  EXPECT_EQ(r.program.entry("b")->channels, b);

  auto refused = [&](auto edit) {
    isa::Program q = p;
    edit(q.symbols[1].channels);
    return loadError(runtime::writeContainer(q, kv260()));
  };
  // A map that gives one semaphore two waiting units.
  EXPECT_EQ(refused([](auto &c) {
              c.push_back({0, 1, 3});
            }),
            "entry 'b': its semaphore map gives semaphore 0 two waiting units, the ssm unit and "
            "the matrix unit; a semaphore has one waiting unit in an entry (symbol 1 'b')");
  // An empty map; a wait the map gives to no unit or to another unit.
  EXPECT_EQ(refused([](auto &c) { c.clear(); }),
            "entry 'b': the vector unit signals semaphore 0 (bundle 3), but the entry's semaphore "
            "map has no channel from it on that semaphore (symbol 1 'b')");
  EXPECT_EQ(refused([](auto &c) {
              c = {{0, 4, isa::kNoWaiter}};
            }),
            "entry 'b': the ssm unit waits on semaphore 0 (bundle 4), which the entry's semaphore "
            "map gives to no unit (symbol 1 'b')");
  EXPECT_EQ(refused([](auto &c) {
              c = {{0, 4, 3}};
            }),
            "entry 'b': the ssm unit waits on semaphore 0 (bundle 4), which the entry's semaphore "
            "map gives to the matrix unit (symbol 1 'b')");
  // A signal from a unit the map has no channel from.
  EXPECT_EQ(refused([](auto &c) {
              c = {{0, 1, 5}};
            }),
            "entry 'b': the vector unit signals semaphore 0 (bundle 3), but the entry's semaphore "
            "map has no channel from it on that semaphore (symbol 1 'b')");
  EXPECT_EQ(refused([](auto &c) {
              c.push_back({16, 1, 5});
            }),
            "entry 'b': channel 1 of its semaphore map names semaphore 16, the overlay has 16 "
            "(symbol 1 'b')");
  EXPECT_EQ(refused([](auto &c) {
              c.push_back({3, 9, 5});
            }),
            "entry 'b': channel 1 of its semaphore map names unit 9, the overlay has 6 (symbol 1 "
            "'b')");
}

// A micro-op of an optional board feature (isa.toml `feature`) loads only for a board built
// with its units: the chunked SSD form's trn, split16 and segdecay on the KV260 (chunked_ssd =
// false) are refused naming the micro-op, the feature, the board and the word; the same
// program for the U280 loads.
TEST(Container, MicroOpsOfAFeatureTheBoardLacksAreRefused) {
  const char *uops[] = {"trn dst=4096 src0=0 len=8 p0=8 p1=4",
                        "split16 dst=0 src0=64 src2=32 len=8",
                        "segdecay dst=4096 src0=0 len=32 p0=20"};
  const char *names[] = {"trn", "split16", "segdecay"};
  for (unsigned i = 0; i < 3; ++i) {
    const std::string body = std::string(".entry main\n.uop 0 unop\n.uop 1 ") + uops[i] + "\n{ " +
                             (i == 2 ? "ssm" : "vector") +
                             ".run ustart=1 ulen=1 iters=1 }\n{ ctrl.halt }\n";
    EXPECT_EQ(validateError(".target kv260\n" + body),
              std::string("micro-op '") + names[i] +
                  "' needs the board feature 'chunked_ssd', which the kv260 overlay is built "
                  "without (target/boards/kv260.toml [units] chunked_ssd) (microcode word 1)");
    const target::Board &u280 = *target::findBoard("u280");
    EXPECT_EQ(runtime::validateProgram(isa::assemble(".target u280\n" + body, "t.s"), u280, 1000),
              "")
        << names[i];
  }
}
