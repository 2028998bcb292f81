// Synthesis top of the vector unit alone: one vector micro-op (element-wise, requantisation,
// sumsq, mulsumsq, fwht, conv4, conv4pwl) on the scratchpad.
#include "UnitTop.h"

using namespace mamba2::hw;
using namespace mamba2::hw::unit_top;

extern "C" unsigned vector_top(byte_t spad[Cfg::SPAD_BYTES], const byte_t word[24], i32 base,
                               i32 base2, u32 *busy) {
#pragma HLS INTERFACE m_axi port = word offset = slave bundle = gmem_uop
#pragma HLS INTERFACE s_axilite port = base
#pragma HLS INTERFACE s_axilite port = base2
#pragma HLS INTERFACE s_axilite port = busy
#pragma HLS INTERFACE s_axilite port = return
  UopOperands u;
  *busy = 0;
  const unsigned e = decode(word, base, base2, mamba2::isa::Slot::Vector, u);
  if (e != kOk)
    return e;
  if (u.op == mamba2::isa::UopCode::Fwht && u.len && !fwht_factor(u.len))
    return kBadOp;
  if (u.op == mamba2::isa::UopCode::Conv4pwl && u.len) { // the table ends before the params
    const PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
    if (16 + 8 * u64(h.n) > u64(u.p4 < 0 ? 0 : u.p4))
      return kSpadRange;
  }
  *busy = u32(vector_datapath<Cfg>(spad, u));
  return kOk;
}
