# W4A4 linear layer on the VCK190 configuration: packed int4 weights [64][128/2], activations
# int8 holding int4 values, power-of-two requantisation. The harness fills x and W.
.target vck190
.region const 8192        # W int4 [64][64 bytes] at 0
.region io 1024           # x [128] at 0, y int8 [64] at 512
.tensor x io 0 128 i8
.tensor w const 0 4096 i4x2
.tensor y io 512 64 i8
.entry main
.uop 0 shr8 dst=30000 src0=20000 len=64 p0=7
{ load.dma region=io rows=1 rowb=128 }
{ load.dma spad=1024 region=const rows=64 rowb=64 stride=64 signal=0 }
{ matrix.mm4 wgt=1024 acc=20000 m=1 k=128 n=64 wait=0 signal=1 }
{ vector.run ulen=1 iters=1 wait=1 signal=2 }
{ ctrl.halt ; store.dma spad=30000 region=io dram=512 rows=1 rowb=64 wait=2 }
