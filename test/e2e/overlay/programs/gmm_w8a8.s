# Group-quantised W8A8 on the VCK190 configuration, rows through the run's iterations:
#   acc int32 [2][32] = gmm8(x int8 [2][128], W int8 [32][128], scales int32 [32][4]), K groups of
#   32, shift 14; y int8 [2][32] = shr8(acc, 11). The matrix run does one row per iteration
#   (act and acc advance by the src0 / dst strides); W and its scales are addressed through breg
#   (r2). The store unit writes y row by row (a 2-D store2d over 2 iterations, the DRAM offset
#   advancing by the src1 stride) and acc in one transfer. The harness fills x and W.
.target vck190
.region const 4608        # W int8 [32][128] at 0, scales int32 [32][4] at 4096
.region io 1024           # x [2][128] at 0, y int8 [2][32] at 256, acc int32 [2][32] at 512
.data const 4096 i32 16000 20099 24198 28297 32396 36495 16594 20693 24792 28891 32990 37089 17188 21287 25386 29485
.data const 4160 i32 33584 37683 17782 21881 25980 30079 34178 38277 18376 22475 26574 30673 34772 38871 18970 23069
.data const 4224 i32 27168 31267 35366 39465 19564 23663 27762 31861 35960 16059 20158 24257 28356 32455 36554 16653
.data const 4288 i32 20752 24851 28950 33049 37148 17247 21346 25445 29544 33643 37742 17841 21940 26039 30138 34237
.data const 4352 i32 38336 18435 22534 26633 30732 34831 38930 19029 23128 27227 31326 35425 39524 19623 23722 27821
.data const 4416 i32 31920 36019 16118 20217 24316 28415 32514 36613 16712 20811 24910 29009 33108 37207 17306 21405
.data const 4480 i32 25504 29603 33702 37801 17900 21999 26098 30197 34296 38395 18494 22593 26692 30791 34890 38989
.data const 4544 i32 19088 23187 27286 31385 35484 39583 19682 23781 27880 31979 36078 16177 20276 24375 28474 32573
.tensor x io 0 256 i8
.tensor w const 0 4096 i8
.tensor y io 256 64 i8
.tensor acc io 512 256 i32
.entry main
.uop 0 load2d spad=1024 region=const rows=32 rowb=128 stride=128
.uop 1 load2d spad=8192 region=const dram=4096 rows=1 rowb=512
.uop 2 gmm8 acc=10000 wgt=0 scl=7168 m=1 k=128 n=32 group=32 shift=14
.uop 3 shr8 dst=12000 src0=10000 len=32 p0=11
.uop 4 store2d spad=12000 region=io dram=256 rows=1 rowb=32
.uop 5 store2d spad=10000 region=io dram=512 rows=2 rowb=128 stride=128
{ ctrl.seti rd=2 imm=1024 ; load.dma region=io rows=2 rowb=128 }
{ load.run ulen=2 iters=1 signal=0 }
{ matrix.run ustart=2 ulen=1 iters=2 sdst=128 ssrc0=128 breg=2 wait=0 signal=1 }
{ vector.run ustart=3 ulen=1 iters=2 sdst=32 ssrc0=128 wait=1 signal=2 }
{ store.run ustart=4 ulen=1 iters=2 sdst=32 ssrc1=32 wait=2 }
{ ctrl.halt ; store.run ustart=5 ulen=1 iters=1 }
