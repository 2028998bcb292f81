# Weight streaming with hardware loops and address registers on the VC709 configuration:
# 2 layers x 4 double-buffered tile pairs of int8 weights [16][64] into one accumulator.
# Tokens: 0/1 tile in A/B ready, 2/3 A/B free (primed by ctrl), 5 matmuls done (zero-row
# matmul as an in-order fence), 6 result ready. The accumulator is zeroed first by a matmul with
# K = 0 that overwrites (the scratchpad is undefined at start: read only what you wrote).
.target vc709
.region const 16384
.region io 4096
.tensor acc io 3072 64 i32
.entry main
.uop 0 shift32 dst=12288 src0=8192 len=16 p0=-2
{ ctrl.seti rd=1 imm=0 ; load.dma region=io rows=1 rowb=64 ; matrix.mm8 acc=8192 m=1 n=16 }
{ ctrl.sync signal=2 }
{ ctrl.sync signal=3 }
{ ctrl.loop count=2 body=6 }
{ ctrl.loop count=4 body=4 }
{ load.dma spad=1024 region=const dreg=1 rows=16 rowb=64 stride=64 wait=2 signal=0 }
{ load.dma spad=2048 region=const dreg=1 dram=1024 rows=16 rowb=64 stride=64 wait=3 signal=1 }
{ matrix.mm8 acc=8192 wgt=1024 m=1 k=64 n=16 accum=1 wait=0 signal=2 }
{ ctrl.addi rd=1 rs=1 imm=2048 ; matrix.mm8 acc=8192 wgt=2048 m=1 k=64 n=16 accum=1 wait=1 signal=3 }
{ ctrl.seti rd=1 imm=0 }
{ matrix.mm8 signal=5 }
{ vector.run ulen=1 iters=1 wait=5 signal=6 }
{ ctrl.halt ; store.dma spad=12288 region=io dram=3072 rows=1 rowb=64 wait=6 }
