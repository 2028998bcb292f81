// A small valid program that exercises every unit (shared by the runtime tests). The load unit
// is in order, so the table (no token) is in place before x (token 0) is; the vector unit's
// token 4 then covers both for the SSM unit; the last store follows the SSM's in queue order.
#pragma once
#include "mamba2/isa/Asm.h"

namespace mamba2::test {

inline const char *kAllUnits = R"(.target kv260
.region const 4096
.region io 1024
.region state 256
.data const 0 i8 1 -2 3 -4 5 -6 7 -8 9 -10 11 -12 13 -14 15 -16
.data const 64 i32 0 4 4 8 100 3 200 -2 300 1 400 0
.tensor x io 0 64 i8
.tensor y io 512 64 i32
.entry main
.uop 0 sext8 dst=8192 src0=0 len=16 p0=2
.uop 1 fwht dst=8192 len=16
.uop 2 shr8 dst=9000 src0=8192 len=16 p0=1
.uop 3 pwl dst=9100 src0=8192 src1=4096 len=16
{ ctrl.seti rd=3 imm=64 ; load.dma spad=4096 region=const dram=64 rows=1 rowb=48 }
{ load.dma region=io rows=1 rowb=64 signal=0 }
{ load.dma spad=1024 region=const rows=4 rowb=16 stride=16 signal=1 }
{ matrix.mm8 wgt=1024 acc=2048 m=1 k=16 n=4 wait=1 signal=3 }
{ ctrl.loop count=3 body=1 ; vector.run ulen=3 iters=1 wait=0 signal=4 }
{ ctrl.addi rd=3 rs=3 imm=1 }
{ ssm.run ustart=3 ulen=1 iters=1 wait=4 signal=5 }
{ store.dma spad=2048 region=io dram=512 rows=1 rowb=16 wait=3 }
{ store.dma spad=9100 region=state rows=1 rowb=64 wait=5 }
{ ctrl.halt ; store.dma spad=9000 region=io dram=600 rows=1 rowb=16 }
)";

} // namespace mamba2::test
