// RUN: mamba2-opt --split-input-file %s | mamba2-opt | FileCheck %s

// Tests that every m2 op of one Mamba2 block parses, verifies and prints back the same.
// CHECK-LABEL: func.func @block
// CHECK: m2.embedding %{{.+}}, %{{.+}} : (tensor<1x?xi64>, tensor<256x64xf32>) -> tensor<1x?x64xf32>
// CHECK: m2.rms_norm %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32}
// CHECK: m2.linear
// CHECK: %[[S:.+]]:3 = m2.split %{{.+}} {sizes = array<i64: 128, 192, 8>}
// CHECK: m2.conv1d %[[S]]#1
// CHECK: m2.silu
// CHECK: m2.ssd {{.*}} {chunk_size = 16 : i64, ngroups = 2 : i64}
// CHECK: m2.gated_rms_norm {{.*}} {eps = 9.99999974E-6 : f32, ngroups = 2 : i64}
// CHECK: m2.residual_add
// CHECK: m2.lm_head
func.func @block(%ids: tensor<1x?xi64>) -> tensor<1x?x256xf32> {
  %table = m2.constant dense<0.5> : tensor<256x64xf32>
  %w64 = m2.constant dense<1.0> : tensor<64xf32>
  %win = m2.constant dense<0.1> : tensor<64x328xf32>
  %cw = m2.constant dense<0.2> : tensor<192x4xf32>
  %cb = m2.constant dense<0.0> : tensor<192xf32>
  %h8 = m2.constant dense<1.0> : tensor<8xf32>
  %a8 = m2.constant dense<-1.0> : tensor<8xf32>
  %w128 = m2.constant dense<1.0> : tensor<128xf32>
  %wout = m2.constant dense<0.1> : tensor<128x64xf32>
  %h = m2.embedding %ids, %table : (tensor<1x?xi64>, tensor<256x64xf32>) -> tensor<1x?x64xf32>
  %n = m2.rms_norm %h, %w64 {eps = 1.0e-5 : f32} : (tensor<1x?x64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
  %p = m2.linear %n, %win : (tensor<1x?x64xf32>, tensor<64x328xf32>) -> tensor<1x?x328xf32>
  %z, %xbc, %dt = m2.split %p {sizes = array<i64: 128, 192, 8>} : (tensor<1x?x328xf32>) -> (tensor<1x?x128xf32>, tensor<1x?x192xf32>, tensor<1x?x8xf32>)
  %c = m2.conv1d %xbc, %cw, %cb : (tensor<1x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> tensor<1x?x192xf32>
  %s = m2.silu %c : tensor<1x?x192xf32>
  %x, %b, %cc = m2.split %s {sizes = array<i64: 128, 32, 32>} : (tensor<1x?x192xf32>) -> (tensor<1x?x128xf32>, tensor<1x?x32xf32>, tensor<1x?x32xf32>)
  %y = m2.ssd %x, %dt, %h8, %a8, %b, %cc, %h8 {ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<1x?x128xf32>, tensor<1x?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1x?x32xf32>, tensor<1x?x32xf32>, tensor<8xf32>) -> tensor<1x?x128xf32>
  %g = m2.gated_rms_norm %y, %z, %w128 {eps = 1.0e-5 : f32, ngroups = 2 : i64} : (tensor<1x?x128xf32>, tensor<1x?x128xf32>, tensor<128xf32>) -> tensor<1x?x128xf32>
  %o = m2.linear %g, %wout : (tensor<1x?x128xf32>, tensor<128x64xf32>) -> tensor<1x?x64xf32>
  %r = m2.residual_add %h, %o : tensor<1x?x64xf32>
  %l = m2.lm_head %r, %table : (tensor<1x?x64xf32>, tensor<256x64xf32>) -> tensor<1x?x256xf32>
  return %l : tensor<1x?x256xf32>
}

// -----

// Tests that softplus keeps its operand's type.
// CHECK-LABEL: func.func @softplus
// CHECK: m2.softplus %{{.+}} : tensor<2x3x4xf32>
func.func @softplus(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = m2.softplus %x : tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Tests the decode-step forms of conv1d and ssd: a state operand and a new-state result of the
// same type, (batch, channels, kernel) and (batch, heads, headdim, d_state).
// CHECK-LABEL: func.func @step
// CHECK: %[[C:.+]], %[[CS:.+]] = m2.conv1d %{{.+}}, %{{.+}}, %{{.+}} state %{{.+}} : (tensor<?x1x192xf32>, tensor<192x4xf32>, tensor<192xf32>, tensor<?x192x4xf32>) -> (tensor<?x1x192xf32>, tensor<?x192x4xf32>)
// CHECK: %[[Y:.+]], %[[SS:.+]] = m2.ssd {{.*}} state %{{.+}} {ngroups = 2 : i64} : ({{.*}}, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
// CHECK: return %[[Y]], %[[CS]], %[[SS]]
func.func @step(%xbc: tensor<?x1x192xf32>, %dt: tensor<?x1x8xf32>, %cs: tensor<?x192x4xf32>, %ss: tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
  %cw = m2.constant dense<0.2> : tensor<192x4xf32>
  %cb = m2.constant dense<0.0> : tensor<192xf32>
  %h8 = m2.constant dense<1.0> : tensor<8xf32>
  %c, %cs1 = m2.conv1d %xbc, %cw, %cb state %cs : (tensor<?x1x192xf32>, tensor<192x4xf32>, tensor<192xf32>, tensor<?x192x4xf32>) -> (tensor<?x1x192xf32>, tensor<?x192x4xf32>)
  %x, %b, %cc = m2.split %c {sizes = array<i64: 128, 32, 32>} : (tensor<?x1x192xf32>) -> (tensor<?x1x128xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>)
  %y, %ss1 = m2.ssd %x, %dt, %h8, %h8, %b, %cc, %h8 state %ss {ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
  return %y, %cs1, %ss1 : tensor<?x1x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
}

// -----

// Tests that an SSD carries the clamp of dt after the softplus (transformers' time_step_limit).
// CHECK-LABEL: func.func @ssd_dt_limit
// CHECK: m2.ssd {{.*}} {dt_max = 1.000000e-01 : f32, dt_min = 1.000000e-03 : f32, ngroups = 1 : i64}
func.func @ssd_dt_limit(%x: tensor<1x4x24xf32>, %dt: tensor<1x4x3xf32>, %h: tensor<3xf32>, %b: tensor<1x4x8xf32>) -> tensor<1x4x24xf32> {
  %0 = m2.ssd %x, %dt, %h, %h, %b, %b, %h {ngroups = 1 : i64, dt_min = 0.001 : f32, dt_max = 0.1 : f32} : (tensor<1x4x24xf32>, tensor<1x4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<3xf32>) -> tensor<1x4x24xf32>
  return %0 : tensor<1x4x24xf32>
}
