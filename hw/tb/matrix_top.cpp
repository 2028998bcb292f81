// Synthesis top of the matrix unit alone: one matrix micro-op (mm8, mm4, gmm8, gmm4) on the
// scratchpad. *busy: the iterations of its II = 1 step loop (hw::matmulSteps charges them);
// *stall: the bank phases its K steps waited for (hw::matmulConflictCycles).
#include "UnitTop.h"

using namespace mamba2::hw;
using namespace mamba2::hw::unit_top;

extern "C" unsigned matrix_top(byte_t spad[Cfg::SPAD_BYTES], const byte_t word[24], i32 base,
                               i32 base2, u32 *busy, u32 *stall) {
#pragma HLS INTERFACE m_axi port = word offset = slave bundle = gmem_uop
#pragma HLS INTERFACE s_axilite port = base
#pragma HLS INTERFACE s_axilite port = base2
#pragma HLS INTERFACE s_axilite port = busy
#pragma HLS INTERFACE s_axilite port = stall
#pragma HLS INTERFACE s_axilite port = return
  UopOperands u;
  const unsigned e = decode(word, base, base2, mamba2::isa::Slot::Matrix, u);
  *busy = 0;
  *stall = 0;
  if (e != kOk)
    return e;
  if (u.isMatrix()) {
    const MatmulCycles c = matrix_unit<Cfg>(spad, matmul_args(u));
    *busy = u32(c.busy);
    *stall = u32(c.conflicts);
  }
  return kOk;
}
