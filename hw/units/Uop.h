// A micro-op as the vector and SSM sequencers hand it to their datapaths: addresses resolved
// for one iteration (scratchpad bytes), already range-checked.
#pragma once
#include "mamba2/hw/HlsTypes.h"

namespace mamba2::hw {

struct UopOperands {
  unsigned op;              // micro-opcode (isa spec, [[uop]] code)
  u64 dst, src0, src1, src2;
  unsigned len;             // elements
  int p0, p1, p2;
};

} // namespace mamba2::hw
