// Synthesis top of the SSM / nonlinear unit alone: one micro-op (pwl, rsqrt, ssmupd, ssmout,
// ssmstep, pwlmulpwl) on the scratchpad; a table beyond its header is checked against the header's
// size, as the overlay top does.
#include "UnitTop.h"

using namespace mamba2::hw;
using namespace mamba2::hw::unit_top;

extern "C" unsigned ssm_top(byte_t spad[Cfg::SPAD_BYTES], const byte_t word[24], i32 base,
                            i32 base2, u32 *busy) {
#pragma HLS INTERFACE m_axi port = word offset = slave bundle = gmem_uop
#pragma HLS INTERFACE s_axilite port = base
#pragma HLS INTERFACE s_axilite port = base2
#pragma HLS INTERFACE s_axilite port = busy
#pragma HLS INTERFACE s_axilite port = return
  UopOperands u;
  *busy = 0;
  const unsigned e = decode(word, base, base2, mamba2::isa::Slot::Ssm, u);
  if (e != kOk)
    return e;
  if ((u.op == mamba2::isa::UopCode::Pwl || u.op == mamba2::isa::UopCode::Rsqrt) && u.len) {
    const PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
    const u64 bytes = 16 + 8 * u64(h.n);
    if (u.src1 < 0 || u64(u.src1) > Cfg::SPAD_BYTES || bytes > Cfg::SPAD_BYTES - u64(u.src1))
      return kSpadRange;
  }
  if (u.op == mamba2::isa::UopCode::Pwlmulpwl && u.len) { // each table ends before what follows
    const u64 p3 = u64(u.p3 < 0 ? 0 : u.p3), p4 = u64(u.p4 < 0 ? 0 : u.p4);
    const PwlTableHeader h1 = read_pwl_header(spad, u64(u.src1));
    const PwlTableHeader h2 = read_pwl_header(spad, u64(u.src1) + p3);
    if (16 + 8 * u64(h1.n) > p3 || p3 + 16 + 8 * u64(h2.n) > p4)
      return kSpadRange;
  }
  *busy = u32(ssm_datapath<Cfg>(spad, u));
  return kOk;
}
