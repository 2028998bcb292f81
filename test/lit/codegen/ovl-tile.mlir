// ovl-tile records the weight ring and each matmul's tiles for a board, computed by the
// emitter's own functions (Plan.h computeTiles): rows per tile, K, the bytes of a weight row and
// its bank-friendly pitch, the scale groups, and the DRAM layout (tiles, bytes, ports).
// RUN: mamba2-opt --ovl-tile=target=kv260 %s | FileCheck %s --check-prefix=KV
// RUN: mamba2-opt '--ovl-tile=target=u280 weight-buffer-bytes=8192' %s -o %t.u280.mlir
// RUN: FileCheck %s --check-prefix=SMALL --input-file=%t.u280.mlir
// The emitter uses the recorded tiles: the program equals the one mamba2c makes with the same
// buffer size, and differs from the default buffers' one.
// RUN: mamba2c %t.u280.mlir --target u280 -o %t.recorded.m2b
// RUN: mamba2c %s --target u280 --weight-buffer-kib 8 -o %t.computed.m2b
// RUN: cmp %t.recorded.m2b %t.computed.m2b
// RUN: mamba2c %s --target u280 -o %t.default.m2b
// RUN: not cmp -s %t.recorded.m2b %t.default.m2b
// A second run keeps (and checks) what is recorded.
// RUN: mamba2-opt --ovl-tile=target=u280 %t.u280.mlir | FileCheck %s --check-prefix=SMALL
// A tile edited by hand (32 rows instead of 64) is what the emitter emits: 8 tiles of 32 rows.
// RUN: sed -e 's/dram_bytes = 18432 : i64, groups = 2 : i64, k = 64 : i64, pitch = 64 : i64, ports = 18 : i64, row_bytes = 64 : i64, rows = 64 : i64, tile_bytes = 4608 : i64, tiles = 4 : i64/dram_bytes = 18432 : i64, groups = 2 : i64, k = 64 : i64, pitch = 64 : i64, ports = 9 : i64, row_bytes = 64 : i64, rows = 32 : i64, tile_bytes = 2304 : i64, tiles = 8 : i64/' %t.u280.mlir > %t.edited.mlir
// RUN: mamba2c %t.edited.mlir --target u280 --emit=asm | FileCheck %s --check-prefix=EDITED

// kv260, default buffers: the ring is the largest matrix (256 rows of 64 bytes padded to an
// 80-byte pitch plus two 4-byte scales) and its 256 spare bytes; each matmul one tile. The
// 4-bit weight's row is 32 bytes (two weights a byte).
// KV: func.func @main{{.*}}attributes {ovl.logit_frac = 0 : i64, ovl.tiling = {ring_buffers = 2 : i64, ring_bytes = 22784 : i64, ring_max = 4 : i64, ring_slack = 256 : i64, target = "kv260"}}
// KV: ovl.matmul {{.*}}ovl.tile = {dram_bytes = 3328 : i64, groups = 1 : i64, k = 64 : i64, pitch = 48 : i64, ports = 2 : i64, row_bytes = 32 : i64, rows = 64 : i64, tile_bytes = 3328 : i64, tiles = 1 : i64}
// KV: ovl.matmul {{.*}}ovl.tile = {dram_bytes = 22528 : i64, groups = 2 : i64, k = 64 : i64, pitch = 80 : i64, ports = 2 : i64, row_bytes = 64 : i64, rows = 256 : i64, tile_bytes = 22528 : i64, tiles = 1 : i64}

// u280 with 8 KiB tile buffers: 2 KiB of them spare, so 64 rows of 72 bytes a tile, 4 tiles,
// each load dealt over 18 of the 32 ports' stripes.
// SMALL: ovl.tiling = {ring_buffers = 2 : i64, ring_bytes = 8192 : i64, ring_max = 4 : i64, ring_slack = 2048 : i64, target = "u280"}
// SMALL: ovl.matmul {{.*}}ovl.tile = {dram_bytes = 2304 : i64, groups = 1 : i64, k = 64 : i64, pitch = 32 : i64, ports = 9 : i64, row_bytes = 32 : i64, rows = 64 : i64, tile_bytes = 2304 : i64, tiles = 1 : i64}
// SMALL: ovl.matmul {{.*}}ovl.tile = {dram_bytes = 18432 : i64, groups = 2 : i64, k = 64 : i64, pitch = 64 : i64, ports = 18 : i64, row_bytes = 64 : i64, rows = 64 : i64, tile_bytes = 4608 : i64, tiles = 4 : i64}

// EDITED: gmm4 {{.*}}k=64 n=64 group=64
// EDITED-COUNT-8: gmm8 {{.*}}k=64 n=32 group=32
// EDITED-NOT: gmm8

func.func @main(%ids: tensor<?xi32>) -> tensor<?x256xi32> attributes {ovl.logit_frac = 0 : i64} {
  %t = ovl.constant {name = "embedding"} dense<1> : tensor<256x64xi32>
  %w = ovl.constant dense<1> : tensor<256x64xi8>
  %s = ovl.constant dense<65536> : tensor<256x2xi32>
  %w4 = ovl.constant dense<1> : tensor<64x64xi8>
  %s4 = ovl.constant dense<65536> : tensor<64x1xi32>
  %m = ovl.constant dense<3> : tensor<1xi32>
  %sh = ovl.constant dense<2> : tensor<1xi8>
  %h = ovl.embed %ids, %t : (tensor<?xi32>, tensor<256x64xi32>) -> tensor<?x64xi32>
  %a = ovl.requant %h, %m, %sh : (tensor<?x64xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x64xi8>
  %p = ovl.matmul %a, %w4, %s4 {bits = 4, group = 64, shift = 10} : (tensor<?x64xi8>, tensor<64x64xi8>, tensor<64x1xi32>) -> tensor<?x64xi32>
  %a2 = ovl.requant %p, %m, %sh : (tensor<?x64xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x64xi8>
  %l = ovl.matmul %a2, %w, %s {bits = 8, group = 32, shift = 10} : (tensor<?x64xi8>, tensor<256x64xi8>, tensor<256x2xi32>) -> tensor<?x256xi32>
  return %l : tensor<?x256xi32>
}
