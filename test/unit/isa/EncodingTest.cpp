// Field packing of slots and micro-ops, driven by the generated tables.
#include "mamba2/isa/Encoding.h"

#include <gtest/gtest.h>

#include <random>

using namespace mamba2::isa;

TEST(Encoding, EveryFieldRoundTripsItsExtremes) {
  for (const FormatInfo &fmt : kFormats) {
    for (unsigned i = 0; i < fmt.numFields; ++i) {
      BitField b = fmt.fields[i].bits;
      int64_t lo = b.isSigned ? -(int64_t(1) << (b.width - 1)) : 0;
      int64_t hi = b.isSigned ? (int64_t(1) << (b.width - 1)) - 1 : (int64_t(1) << b.width) - 1;
      for (int64_t v : {lo, hi, int64_t(0), lo / 2 + 1}) {
        Word<kUopBits> w;
        for (auto &x : w.w)
          x = ~uint64_t(0); // neighbours set: set() must not disturb them
        w.set(b, v);
        EXPECT_EQ(w.get(b), v) << fmt.name << "." << fmt.fields[i].name;
        for (unsigned j = 0; j < fmt.numFields; ++j)
          if (j != i && fmt.fields[j].bits.width < 64) {
            EXPECT_EQ(w.raw(fmt.fields[j].bits), (uint64_t(1) << fmt.fields[j].bits.width) - 1);
          }
      }
    }
  }
}

TEST(Encoding, FieldsOfAFormatDoNotOverlap) {
  for (const FormatInfo &fmt : kFormats) {
    unsigned next = 0;
    for (unsigned i = 0; i < fmt.numFields; ++i) {
      EXPECT_EQ(fmt.fields[i].bits.lsb, next) << fmt.name << "." << fmt.fields[i].name;
      next += fmt.fields[i].bits.width;
    }
    EXPECT_EQ(next, fmt.usedBits);
    EXPECT_LE(next, fmt.isUop ? kUopBits : kSlotBits);
  }
}

TEST(Encoding, FitsChecksSignedAndUnsignedRanges) {
  BitField u{0, 4, false}, s{0, 4, true};
  EXPECT_TRUE(fits(u, 15));
  EXPECT_FALSE(fits(u, 16));
  EXPECT_FALSE(fits(u, -1));
  EXPECT_TRUE(fits(s, -8));
  EXPECT_FALSE(fits(s, 8));
}

TEST(Encoding, BundleBytesRoundTrip) {
  std::mt19937_64 g(4);
  Bundle b;
  for (auto &s : b.slot)
    for (auto &x : s.w)
      x = g();
  uint8_t buf[kBundleBytes];
  b.toBytes(buf);
  EXPECT_EQ(Bundle::fromBytes(buf), b);
  EXPECT_EQ(buf[0], uint8_t(b.slot[0].w[0])); // little-endian, slot 0 first
}

TEST(Encoding, OpcodeTablesAreConsistent) {
  for (unsigned s = 0; s < kNumSlots; ++s) {
    const OpInfo *nop = findOp(Slot(s), 0);
    ASSERT_NE(nop, nullptr);
    EXPECT_STREQ(nop->name, "nop");
  }
  EXPECT_EQ(findOp(Slot::Matrix, 15), nullptr);
  EXPECT_EQ(findUop(63), nullptr);
  EXPECT_STREQ(findUop(unsigned(UopCode::Fwht))->name, "fwht");
}
