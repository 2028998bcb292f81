// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj))' --split-input-file --verify-diagnostics %s
// Tests what m2-reorder-in-proj refuses: a layer whose channels another reader would see in the
// new order (the permutation would change what it computes), each with a message on the op.

// The conv's output is also returned: a second reader of the permuted channels.
func.func @main(%h: tensor<1x?x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>) {
  %w = m2.constant dense<0.5> : tensor<4x14xf32>
  %p = m2.linear %h, %w : (tensor<1x?x4xf32>, tensor<4x14xf32>) -> tensor<1x?x14xf32>
  %z, %xbc, %dt = m2.split %p {sizes = array<i64: 4, 8, 2>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>, tensor<1x?x2xf32>)
  %cw = m2.constant dense<0.25> : tensor<8x4xf32>
  %cb = m2.constant dense<0.5> : tensor<8xf32>
  %c = m2.conv1d %xbc, %cw, %cb : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  // expected-error @+1 {{m2-reorder-in-proj: its input is not a stateless m2.conv1d read by this op only}}
  %sc = m2.silu %c : tensor<1x?x8xf32>
  %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
  %v = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  %y = m2.ssd %x, %dt, %v, %v, %B, %C, %v {ngroups = 1 : i64} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
  return %y, %c : tensor<1x?x4xf32>, tensor<1x?x8xf32>
}

// -----

// B and C swapped at the scan: not the split's order x, B, C.
func.func @main(%h: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %w = m2.constant dense<0.5> : tensor<4x14xf32>
  %p = m2.linear %h, %w : (tensor<1x?x4xf32>, tensor<4x14xf32>) -> tensor<1x?x14xf32>
  %z, %xbc, %dt = m2.split %p {sizes = array<i64: 4, 8, 2>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>, tensor<1x?x2xf32>)
  %cw = m2.constant dense<0.25> : tensor<8x4xf32>
  %cb = m2.constant dense<0.5> : tensor<8xf32>
  %c = m2.conv1d %xbc, %cw, %cb : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  %sc = m2.silu %c : tensor<1x?x8xf32>
  %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
  %v = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  // expected-error @+1 {{m2-reorder-in-proj: x, B and C of m2.ssd are not the three outputs of one m2.split}}
  %y = m2.ssd %x, %dt, %v, %v, %C, %B, %v {ngroups = 1 : i64} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}

// -----

// In_proj's output is read by something else too.
func.func @main(%h: tensor<1x?x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x14xf32>) {
  %w = m2.constant dense<0.5> : tensor<4x14xf32>
  %p = m2.linear %h, %w : (tensor<1x?x4xf32>, tensor<4x14xf32>) -> tensor<1x?x14xf32>
  // expected-error @+1 {{m2-reorder-in-proj: its input is not an m2.qlinear / m2.linear read by this split only}}
  %z, %xbc, %dt = m2.split %p {sizes = array<i64: 4, 8, 2>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>, tensor<1x?x2xf32>)
  %cw = m2.constant dense<0.25> : tensor<8x4xf32>
  %cb = m2.constant dense<0.5> : tensor<8xf32>
  %c = m2.conv1d %xbc, %cw, %cb : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  %sc = m2.silu %c : tensor<1x?x8xf32>
  %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
  %v = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  %y = m2.ssd %x, %dt, %v, %v, %B, %C, %v {ngroups = 1 : i64} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
  return %y, %p : tensor<1x?x4xf32>, tensor<1x?x14xf32>
}

// -----

// dt is not in_proj's last part (nor already its first).
func.func @main(%h: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %w = m2.constant dense<0.5> : tensor<4x14xf32>
  %p = m2.linear %h, %w : (tensor<1x?x4xf32>, tensor<4x14xf32>) -> tensor<1x?x14xf32>
  %z, %dt, %xbc = m2.split %p {sizes = array<i64: 4, 2, 8>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x8xf32>)
  %cw = m2.constant dense<0.25> : tensor<8x4xf32>
  %cb = m2.constant dense<0.5> : tensor<8xf32>
  %c = m2.conv1d %xbc, %cw, %cb : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  %sc = m2.silu %c : tensor<1x?x8xf32>
  %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
  %v = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  // expected-error @+1 {{m2-reorder-in-proj: dt of m2.ssd is not the last output of in_proj's m2.split}}
  %y = m2.ssd %x, %dt, %v, %v, %B, %C, %v {ngroups = 1 : i64} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}
