// Synthesis top of the DMA engines alone: one load2d or store2d micro-op between the scratchpad
// and a region striped over the board's DRAM ports (target/Stripes.h; `region_base` is the
// region's port-local byte). *busy: the cycles of its wave loops that move beats, *stall: the
// cycles its beats wait for bank ports (dma_transfer_cycles: cycles - conflicts, conflicts).
#include "UnitTop.h"

using namespace mamba2::hw;
using namespace mamba2::hw::unit_top;

namespace {
struct Ports {
#define MAMBA2_PORT_MEMBER(q, name) BeatT *name;
  MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_MEMBER)
#undef MAMBA2_PORT_MEMBER
  BeatT read(unsigned q, u64 i) const {
#pragma HLS INLINE
    switch (q) {
#define MAMBA2_PORT_READ(q, name)                                                                  \
  case q:                                                                                          \
    return name[i];
      MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_READ)
#undef MAMBA2_PORT_READ
    default:
      return port0[i];
    }
  }
  void write(unsigned q, u64 i, const BeatT &x) {
#pragma HLS INLINE
    switch (q) {
#define MAMBA2_PORT_WRITE(q, name)                                                                 \
  case q:                                                                                          \
    name[i] = x;                                                                                   \
    break;
      MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_WRITE)
#undef MAMBA2_PORT_WRITE
    default:
      break;
    }
  }
};
} // namespace

extern "C" unsigned dma_top(byte_t spad[Cfg::SPAD_BYTES], const byte_t word[24], i32 base,
                            i32 base2, u32 region_base, u32 *busy, u32 *stall,
                            MAMBA2_OVERLAY_PORT_PARAMS(BeatT)) {
#pragma HLS INTERFACE m_axi port = word offset = slave bundle = gmem_uop
  MAMBA2_OVERLAY_PORT_PRAGMAS
#pragma HLS INTERFACE s_axilite port = base
#pragma HLS INTERFACE s_axilite port = base2
#pragma HLS INTERFACE s_axilite port = region_base
#pragma HLS INTERFACE s_axilite port = busy
#pragma HLS INTERFACE s_axilite port = stall
#pragma HLS INTERFACE s_axilite port = return
  UopOperands u;
  *busy = 0;
  *stall = 0;
  const mamba2::isa::Slot slot =
      (unsigned(word[0]) & 63u) == unsigned(mamba2::isa::UopCode::Store2d) // the 6-bit code
          ? mamba2::isa::Slot::Store
          : mamba2::isa::Slot::Load;
  const unsigned e = decode(word, base, base2, slot, u);
  if (e != kOk)
    return e;
  Ports ports;
#define MAMBA2_PORT_BIND(q, name) ports.name = name;
  MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_BIND)
#undef MAMBA2_PORT_BIND
  const DmaArgs a{u64(u.dst), u64(u.src1), u.rows, u.rowb, u.stride};
  DmaCycles c{0, 0};
  if (u.op == mamba2::isa::UopCode::Load2d)
    c = dma_load<Cfg>(spad, ports, u64(region_base), a);
  else if (u.op == mamba2::isa::UopCode::Store2d)
    c = dma_store<Cfg>(spad, ports, u64(region_base), a);
  *busy = u32(c.cycles - c.conflicts);
  *stall = u32(c.conflicts);
  return kOk;
}
