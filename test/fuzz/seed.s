# Seed input for the loader fuzzer: a small program touching every unit.
.target kv260
.region const 256
.region io 256
.data const 0 i32 0 4 2 8 100 3 200 -2
.tensor y io 128 16 i32
.entry main
.uop 0 sext8 dst=4096 src0=0 len=16 p0=2
.uop 1 fwht dst=4096 len=16
.uop 2 pwl dst=8192 src0=4096 src1=2048 len=16
{ ctrl.seti rd=1 imm=16 ; load.dma spad=2048 region=const rows=1 rowb=32 }
{ load.dma region=io rows=1 rowb=64 signal=0 }
{ matrix.mm8 wgt=32 acc=1024 m=1 k=16 n=1 wait=0 signal=1 }
{ ctrl.loop count=2 body=1 ; vector.run ulen=2 iters=1 wait=1 signal=2 }
{ ssm.run ustart=2 ulen=1 iters=1 }
{ ssm.run ustart=2 ulen=1 iters=1 wait=2 signal=3 }
{ ctrl.halt ; store.dma spad=8192 region=io dram=128 rows=1 rowb=16 wait=3 }
