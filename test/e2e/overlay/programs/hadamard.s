# Hadamard rotations of the sizes Mamba2 needs that are not powers of two: 1536 = 12*128
# (130M d_inner) and 5120 = 40*128 (2.7B d_inner), plus a power of two, on the U280 configuration.
.target u280
.region io 32768          # a int32 [1536] at 0, b int32 [5120] at 8192
.tensor a io 0 6144 i32
.tensor b io 8192 20480 i32
.entry main
.uop 0 fwht dst=0 len=1536
.uop 1 fwht dst=8192 len=5120
.uop 2 fwht dst=40000 len=256
{ load.dma region=io rows=1 rowb=6144 }
{ load.dma spad=8192 region=io dram=8192 rows=1 rowb=20480 signal=0 }
{ vector.run ulen=3 iters=1 wait=0 signal=1 }
{ store.dma region=io rows=1 rowb=6144 wait=1 }
{ ctrl.halt ; store.dma spad=8192 region=io dram=8192 rows=1 rowb=20480 }
