# W8A8 linear layer: y int8 [2][32] = req8(x int8 [2][64] . W int8 [32][64]^T) with
# per-output-channel multiplier and shift. x and W come from the harness (random bytes).
.target kv260
.region const 4096        # W [32][64] at 0, mult int32 [32] at 2048, shift u8 [32] at 2176
.region io 512            # x [2][64] at 0, y [2][32] at 256
.data const 2048 i32 4194304 4204277 4214250 4224223 4234196 4244169 4254142 4264115 4274088 4284061 4294034 4304007 4313980 4323953 4333926 4343899
.data const 2112 i32 4353872 4363845 4373818 4383791 4393764 4403737 4413710 4423683 4433656 4443629 4453602 4463575 4473548 4483521 4493494 4503467
.data const 2176 u8 24 25 26 27 28 29 30 31 24 25 26 27 28 29 30 31 24 25 26 27 28 29 30 31 24 25 26 27 28 29 30 31
.tensor x io 0 128 i8
.tensor w const 0 2048 i8
.tensor y io 256 64 i8
.entry main
.uop 0 req8 dst=20000 src0=16384 src1=12288 src2=12416 len=32
# load order = arrival order: x, scales, then W (token 1 covers all three for the matrix unit)
{ load.dma region=io rows=2 rowb=64 }
{ load.dma spad=12288 region=const dram=2048 rows=1 rowb=160 }
{ load.dma spad=4096 region=const rows=32 rowb=64 stride=64 signal=1 }
{ matrix.mm8 wgt=4096 acc=16384 m=2 k=64 n=32 wait=1 signal=3 }
{ vector.run ulen=1 iters=2 sdst=32 ssrc0=128 wait=3 signal=4 }
{ ctrl.halt ; store.dma spad=20000 region=io dram=256 rows=1 rowb=64 wait=4 }
