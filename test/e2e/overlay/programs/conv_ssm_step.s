# conv_ssm.s with the fused SSM step: one ssmstep (update and output in one pass over the state,
# y written over dtx, C 16 bytes after B) instead of ssmupd + ssmout. Same regions and data, so
# with the same seed its outputs equal conv_ssm.s's (OverlayPrograms.SsmStepEqualsUpdateThenOutput).
.target kv260
.region const 2048        # conv w [32][4] at 0, bias int32 [32] at 128, SiLU table at 256, dt at 1536, decay at 1540
.region io 512            # x int8 [4][32] at 0, B int8 [16] at 128, C int8 [16] at 144, y int32 [8] at 256
.region state 1024        # conv state int8 [32][3] at 0, S int32 [8][16] at 128
.data const 256 i32 -32768 10 64 18 -11 -686 -14 -848 -17 -1048 -21 -1292 -26 -1591 -32 -1954
.data const 320 i32 -40 -2395 -49 -2929 -61 -3573 -75 -4344 -92 -5264 -112 -6353 -137 -7632 -167 -9121
.data const 384 i32 -203 -10831 -245 -12766 -295 -14911 -353 -17226 -420 -19629 -497 -21984 -583 -24076 -677 -25593
.data const 448 i32 -777 -26100 -879 -25029 -977 -21681 -1061 -15263 -1121 -4967 -1140 9892 -1102 29701 -986 54364
.data const 512 i32 -773 83167 -448 114773 0 147371 576 178977 1275 207780 2086 232443 2994 252252 3980 267111
.data const 576 i32 5023 277407 6107 283825 7215 287173 8337 288244 9463 287737 10587 286220 11705 284128 12815 281773
.data const 640 i32 13916 279370 15007 277055 16089 274910 17163 272975 18229 271265 19289 269776 20343 268497 21392 267408
.data const 704 i32 22436 266488 23477 265717 24515 265073 25551 264539 26584 264098 27616 263735 28646 263436 29675 263192
.data const 768 i32 30703 262992 31730 262830
.data const 1536 i32 300 29000
.tensor x io 0 128 i8
.tensor y io 256 32 i32
.tensor conv_state state 0 96 i8
.tensor ssm_state state 128 512 i32
.entry main
.uop 0 conv4 dst=4096 src1=1024 src2=2048 len=32
.uop 1 pwl dst=8192 src0=4096 src1=3000 len=128
.uop 2 mulsh32 dst=13000 src0=8192 src1=13100 len=8 p0=8 p1=1
.uop 3 ssmstep dst=12288 src0=13000 src1=13200 src2=13400 len=8 p0=16 p1=15 p2=4 p3=6 p4=16
.uop 4 add32 dst=14000 src0=13000 src1=8192 len=8
{ load.dma region=io rows=1 rowb=128 }
{ load.dma spad=1024 region=const rows=1 rowb=256 }
{ load.dma spad=2048 region=state rows=1 rowb=96 }
{ load.dma spad=3000 region=const dram=256 rows=1 rowb=528 }
{ load.dma spad=13100 region=const dram=1536 rows=1 rowb=4 }
{ load.dma spad=13400 region=const dram=1540 rows=1 rowb=4 }
# B lands at 13200 and C at 13216: two rows of one DMA, contiguous in the scratchpad
{ load.dma spad=13200 region=io dram=128 rows=2 rowb=16 stride=16 }
{ load.dma spad=12288 region=state dram=128 rows=1 rowb=512 signal=0 }
{ vector.run ulen=1 iters=4 sdst=128 ssrc0=32 wait=0 signal=1 }
{ ssm.run ustart=1 ulen=1 iters=1 wait=1 signal=2 }
{ vector.run ustart=2 ulen=1 iters=1 wait=2 signal=3 }
{ ssm.run ustart=3 ulen=1 iters=1 wait=3 signal=4 }
{ vector.run ustart=4 ulen=1 iters=1 wait=4 signal=5 }
{ store.dma spad=14000 region=io dram=256 rows=1 rowb=32 wait=5 }
{ store.dma spad=12288 region=state dram=128 rows=1 rowb=512 }
{ ctrl.halt ; store.dma spad=2048 region=state rows=1 rowb=96 }
