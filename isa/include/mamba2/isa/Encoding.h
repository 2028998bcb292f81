// Bit-level access to slots, bundles and micro-ops. The field positions come from the generated
// Encoding.gen.h (isa/spec/isa.toml); this header only moves bits.
#pragma once
#include "mamba2/isa/Encoding.gen.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace mamba2::isa {

// Widths that other parts of the ISA rely on: a change in the spec that breaks them fails here.
static_assert(field::xfer::spad.width == kSpadAddrBits, "DMA scratchpad address = spad width");
static_assert(field::mm::act.width == kSpadAddrBits && field::mm::wgt.width == kSpadAddrBits &&
                  field::mm::acc.width == kSpadAddrBits,
              "matrix addresses = spad width");
static_assert(field::uop::dst.width == kSpadAddrBits && field::uop::src2.width == kSpadAddrBits,
              "micro-op addresses = spad width");
static_assert(field::run::ustart.width == kUcodeIndexBits, "run.ustart indexes the store");
static_assert((1u << field::none::wsem.width) >= kNumSems, "wsem names every semaphore");
static_assert((1u << field::none::ssem.width) >= kNumSems, "ssem names every semaphore");
static_assert((1u << field::reg::rd.width) == kNumRegs, "rd names every register");
static_assert(field::none::op.lsb == 0 && field::uop::uop.lsb == 0, "opcode at bit 0");
static_assert(kBundleBytes == 96 && kUopBytes == 24, "bundle and micro-op sizes");

/// A little-endian word of `Bits` bits stored as uint64s; bit i is bit (i % 64) of w[i / 64].
template <unsigned Bits> struct Word {
  static constexpr unsigned kWords = Bits / 64;
  std::array<uint64_t, kWords> w{};

  /// The raw (zero-extended) value of field `f`.
  uint64_t raw(BitField f) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < f.width; ++i) {
      unsigned b = f.lsb + i;
      v |= ((w[b / 64] >> (b % 64)) & 1u) << i;
    }
    return v;
  }
  /// The value of `f`, sign-extended when the field is signed.
  int64_t get(BitField f) const {
    uint64_t v = raw(f);
    if (f.isSigned && f.width > 0 && f.width < 64 && (v >> (f.width - 1)) & 1u)
      v |= ~uint64_t(0) << f.width;
    return static_cast<int64_t>(v);
  }
  /// Stores the low `f.width` bits of `v` (callers check range with fits()).
  void set(BitField f, int64_t v) {
    uint64_t u = static_cast<uint64_t>(v);
    for (unsigned i = 0; i < f.width; ++i) {
      unsigned b = f.lsb + i;
      uint64_t bit = uint64_t(1) << (b % 64);
      if ((u >> i) & 1u)
        w[b / 64] |= bit;
      else
        w[b / 64] &= ~bit;
    }
  }
  bool isZero() const {
    for (uint64_t x : w)
      if (x)
        return false;
    return true;
  }
  /// Bits at and above `used` (the unused tail of a format) are all zero.
  bool tailZero(unsigned used) const {
    for (unsigned b = used; b < Bits; ++b)
      if ((w[b / 64] >> (b % 64)) & 1u)
        return false;
    return true;
  }
  void toBytes(uint8_t *out) const {
    for (unsigned i = 0; i < kWords; ++i)
      for (unsigned j = 0; j < 8; ++j)
        out[i * 8 + j] = static_cast<uint8_t>(w[i] >> (8 * j));
  }
  static Word fromBytes(const uint8_t *in) {
    Word x;
    for (unsigned i = 0; i < kWords; ++i)
      for (unsigned j = 0; j < 8; ++j)
        x.w[i] |= uint64_t(in[i * 8 + j]) << (8 * j);
    return x;
  }
  bool operator==(const Word &o) const { return w == o.w; }
  bool operator!=(const Word &o) const { return w != o.w; }
};

using SlotWord = Word<kSlotBits>;
using UopWord = Word<kUopBits>;

/// Whether `v` fits field `f` (two's complement range when signed).
inline bool fits(BitField f, int64_t v) {
  if (f.width >= 64)
    return true;
  if (f.width == 0)
    return v == 0;
  if (f.isSigned) {
    int64_t lo = -(int64_t(1) << (f.width - 1)), hi = (int64_t(1) << (f.width - 1)) - 1;
    return v >= lo && v <= hi;
  }
  return v >= 0 && static_cast<uint64_t>(v) < (uint64_t(1) << f.width);
}

struct Bundle {
  std::array<SlotWord, kNumSlots> slot{};
  SlotWord &operator[](Slot s) { return slot[static_cast<unsigned>(s)]; }
  const SlotWord &operator[](Slot s) const { return slot[static_cast<unsigned>(s)]; }
  bool operator==(const Bundle &o) const { return slot == o.slot; }
  void toBytes(uint8_t *out) const {
    for (unsigned i = 0; i < kNumSlots; ++i)
      slot[i].toBytes(out + i * kSlotBytes);
  }
  static Bundle fromBytes(const uint8_t *in) {
    Bundle b;
    for (unsigned i = 0; i < kNumSlots; ++i)
      b.slot[i] = SlotWord::fromBytes(in + i * kSlotBytes);
    return b;
  }
};

/// The spec entry of opcode `code` in `slot`, or nullptr when the opcode is undefined.
inline const OpInfo *findOp(Slot slot, unsigned code) {
  for (const OpInfo &o : kOps)
    if (o.slot == slot && o.code == code)
      return &o;
  return nullptr;
}
inline const UopInfo *findUop(unsigned code) {
  for (const UopInfo &u : kUops)
    if (u.code == code)
      return &u;
  return nullptr;
}
inline const FormatInfo &formatInfo(Format f) { return kFormats[static_cast<unsigned>(f)]; }

} // namespace mamba2::isa
