// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

// Tests that an embedding Gather and an RMS norm written with Pow/ReduceMean/Add/Sqrt/Div/Mul
// become m2.embedding and m2.rms_norm, the weights m2.constant, and the onnx ops disappear.
// CHECK-LABEL: func.func @embedding_norm
// CHECK-DAG: %[[T:.+]] = m2.constant dense<5.000000e-01> : tensor<16x8xf32>
// CHECK-DAG: %[[W:.+]] = m2.constant dense<2.000000e+00> : tensor<8xf32>
// CHECK: %[[E:.+]] = m2.embedding %{{.+}}, %[[T]] : (tensor<1x?xi64>, tensor<16x8xf32>) -> tensor<1x?x8xf32>
// CHECK: %[[N:.+]] = m2.rms_norm %[[E]], %[[W]] {eps = 9.99999974E-6 : f32}
// CHECK: return %[[N]]
// CHECK-NOT: onnx.
func.func @embedding_norm(%ids: tensor<1x?xi64>) -> tensor<1x?x8xf32> {
  %t = onnx.Constant {value = dense<0.5> : tensor<16x8xf32>} : () -> tensor<16x8xf32>
  %e = onnx.Gather %t, %ids {axis = 0 : i64} : (tensor<16x8xf32>, tensor<1x?xi64>) -> tensor<1x?x8xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %p = onnx.Pow %e, %two : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %m = onnx.ReduceMean %p {axes = [-1], keepdims = 1 : i64} : (tensor<1x?x8xf32>) -> tensor<1x?x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x?x1xf32>, tensor<f32>) -> tensor<1x?x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r = onnx.Div %one, %s : (tensor<f32>, tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %n = onnx.Mul %e, %r : (tensor<1x?x8xf32>, tensor<1x?x1xf32>) -> tensor<1x?x8xf32>
  %w = onnx.Constant {value = dense<2.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %n, %w : (tensor<1x?x8xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  return %y : tensor<1x?x8xf32>
}

// -----

// Tests the norm variant x / sqrt(mean(x * x) + eps) * w.
// CHECK-LABEL: func.func @norm_div_variant
// CHECK: m2.rms_norm %{{.+}}, %{{.+}} {eps = 1.000000e-03 : f32}
// CHECK-NOT: onnx.Sqrt
func.func @norm_div_variant(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %p = onnx.Mul %x, %x : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %m = onnx.ReduceMean %p {axes = [2], keepdims = 1 : i64} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-3> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %eps, %m : (tensor<f32>, tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %s = onnx.Sqrt %a : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %n = onnx.Div %x, %s : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %w, %n : (tensor<8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// Tests that MatMul with a constant weight becomes m2.linear, a last-axis Split with constant
// sizes m2.split, x * Sigmoid(x) m2.silu, and the residual Add of a linear m2.residual_add.
// CHECK-LABEL: func.func @linear_split_silu_residual
// CHECK: %[[L:.+]] = m2.linear %[[X:.+]], %{{.+}} : (tensor<1x4x8xf32>, tensor<8x12xf32>) -> tensor<1x4x12xf32>
// CHECK: %[[S:.+]]:2 = m2.split %[[L]] {sizes = array<i64: 8, 4>}
// CHECK: %[[A:.+]] = m2.silu %[[S]]#0 : tensor<1x4x8xf32>
// CHECK: %[[O:.+]] = m2.linear %[[A]], %{{.+}} : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
// CHECK: %[[R:.+]] = m2.residual_add %[[X]], %[[O]] : tensor<1x4x8xf32>
// CHECK-NOT: onnx.
func.func @linear_split_silu_residual(%x: tensor<1x4x8xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x4xf32>) {
  %w = onnx.Constant {value = dense<0.25> : tensor<8x12xf32>} : () -> tensor<8x12xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x8xf32>, tensor<8x12xf32>) -> tensor<1x4x12xf32>
  %sizes = onnx.Constant {value = dense<[8, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %a, %b = onnx.Split %l, %sizes {axis = -1 : i64} : (tensor<1x4x12xf32>, tensor<2xi64>) -> (tensor<1x4x8xf32>, tensor<1x4x4xf32>)
  %sg = onnx.Sigmoid %a : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %si = onnx.Mul %a, %sg : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %w2 = onnx.Constant {value = dense<0.5> : tensor<8x8xf32>} : () -> tensor<8x8xf32>
  %o = onnx.MatMul %si, %w2 : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %r = onnx.Add %x, %o : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %r, %b : tensor<1x4x8xf32>, tensor<1x4x4xf32>
}

// -----

// Tests that Transpose / Conv(group = channels, pads = k-1) / Slice [0, L) / Transpose is the
// causal depthwise conv, its (C, 1, K) weight reshaped to (C, K).
// CHECK-LABEL: func.func @causal_conv
// CHECK-DAG: %[[W:.+]] = m2.constant dense<2.500000e-01> : tensor<6x4xf32>
// CHECK-DAG: %[[B:.+]] = m2.constant dense<1.000000e+00> : tensor<6xf32>
// CHECK: %[[C:.+]] = m2.conv1d %{{.+}}, %[[W]], %[[B]] : (tensor<1x5x6xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<1x5x6xf32>
// CHECK: return %[[C]]
// CHECK-NOT: onnx.
func.func @causal_conv(%x: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x5x6xf32>) -> tensor<1x6x5xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {group = 6 : i64, kernel_shape = [4], pads = [3, 3], strides = [1], dilations = [1]} : (tensor<1x6x5xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x8xf32>
  %s0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %s1 = onnx.Constant {value = dense<5> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %sl = onnx.Slice %c, %s0, %s1, %ax, %none : (tensor<1x6x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x5xf32>
  %y = onnx.Transpose %sl {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}

// -----

// Tests that a conv whose slice keeps the wrong end (not the causal part) is left alone.
// CHECK-LABEL: func.func @acausal_conv
// CHECK-NOT: m2.conv1d
// CHECK: onnx.Conv
func.func @acausal_conv(%x: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x5x6xf32>) -> tensor<1x6x5xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {group = 6 : i64, kernel_shape = [4], pads = [3, 3]} : (tensor<1x6x5xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x8xf32>
  %s0 = onnx.Constant {value = dense<3> : tensor<1xi64>} : () -> tensor<1xi64>
  %s1 = onnx.Constant {value = dense<8> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %sl = onnx.Slice %c, %s0, %s1, %ax, %none : (tensor<1x6x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x5xf32>
  %y = onnx.Transpose %sl {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}

// -----

// Tests that a conv whose auto_pad overrides its pads (here SAME_UPPER: 1 before, 2 after, not
// the causal k-1 on both sides) is left alone.
// CHECK-LABEL: func.func @auto_pad_conv
// CHECK-NOT: m2.conv1d
// CHECK: onnx.Conv
func.func @auto_pad_conv(%x: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x5x6xf32>) -> tensor<1x6x5xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {auto_pad = "SAME_UPPER", group = 6 : i64, kernel_shape = [4], pads = [3, 3]} : (tensor<1x6x5xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x5xf32>
  %s0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %s1 = onnx.Constant {value = dense<5> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %sl = onnx.Slice %c, %s0, %s1, %ax, %none : (tensor<1x6x5xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x5xf32>
  %y = onnx.Transpose %sl {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}

// -----

// Tests that a MatMul with the transposed embedding table is the tied lm_head.
// CHECK-LABEL: func.func @tied_head
// CHECK: %[[T:.+]] = m2.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: %[[E:.+]] = m2.embedding %{{.+}}, %[[T]]
// CHECK: m2.lm_head %[[E]], %[[T]] : (tensor<1x4x2xf32>, tensor<3x2xf32>) -> tensor<1x4x3xf32>
func.func @tied_head(%ids: tensor<1x4xi64>) -> tensor<1x4x3xf32> {
  %t = onnx.Constant {value = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %e = onnx.Gather %t, %ids {axis = 0 : i64} : (tensor<3x2xf32>, tensor<1x4xi64>) -> tensor<1x4x2xf32>
  %tt = onnx.Constant {value = dense<[[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %l = onnx.MatMul %e, %tt : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %l : tensor<1x4x3xf32>
}

// -----

// Tests that Gemm with transB (weight stored (out, in)) is a linear whose weight is
// transposed to (in, out), and that an Einsum "blk,kn->bln" with a constant is a linear too.
// CHECK-LABEL: func.func @gemm_einsum_linears
// CHECK-DAG: %[[WT:.+]] = m2.constant dense<{{\[\[}}1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[WE:.+]] = m2.constant dense<5.000000e-01> : tensor<2x3xf32>
// CHECK: %[[G:.+]] = m2.linear %{{.+}}, %[[WT]] : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
// CHECK: m2.linear %{{.+}}, %[[WE]] : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
// CHECK-NOT: onnx.Gemm
// CHECK-NOT: onnx.Einsum
func.func @gemm_einsum_linears(%x: tensor<4x2xf32>, %y: tensor<1x4x2xf32>) -> (tensor<4x2xf32>, tensor<1x4x3xf32>) {
  %w = onnx.Constant {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %none = onnx.NoValue : () -> none
  %g = onnx.Gemm %x, %w, %none {transB = 1 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>, none) -> tensor<4x2xf32>
  %we = onnx.Constant {value = dense<0.5> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %e = onnx.Einsum %y, %we {equation = "blk,kn->bln"} : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %g, %e : tensor<4x2xf32>, tensor<1x4x3xf32>
}

// -----

// Tests that softplus written as Log(1 + Exp(x)) becomes m2.softplus.
// CHECK-LABEL: func.func @softplus_log_exp
// CHECK: %[[L:.+]] = m2.linear
// CHECK: %[[S:.+]] = m2.softplus %[[L]] : tensor<1x4x2xf32>
// CHECK: return %[[S]]
// CHECK-NOT: onnx.Log
func.func @softplus_log_exp(%x: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x2xf32>, tensor<2x2xf32>) -> tensor<1x4x2xf32>
  %e = onnx.Exp %l : (tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %one, %e : (tensor<f32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s = onnx.Log %a : (tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  return %s : tensor<1x4x2xf32>
}

// -----

// Tests that a Softplus no SSD consumes becomes m2.softplus.
// CHECK-LABEL: func.func @softplus_op
// CHECK: %[[L:.+]] = m2.linear
// CHECK: %[[S:.+]] = m2.softplus %[[L]] : tensor<1x4x2xf32>
// CHECK: return %[[S]]
// CHECK-NOT: onnx.Softplus
func.func @softplus_op(%x: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x2xf32>, tensor<2x2xf32>) -> tensor<1x4x2xf32>
  %s = onnx.Softplus %l : (tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  return %s : tensor<1x4x2xf32>
}

// -----

// Tests the norm variant x * Reciprocal(Sqrt(ReduceMean(x * x) + eps)) * w.
// CHECK-LABEL: func.func @norm_reciprocal_variant
// CHECK: m2.rms_norm %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NOT: onnx.
func.func @norm_reciprocal_variant(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %p = onnx.Mul %x, %x : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %m = onnx.ReduceMean %p {axes = [-1], keepdims = 1 : i64} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %s = onnx.Sqrt %a : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %r = onnx.Reciprocal %s : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %n = onnx.Mul %r, %x : (tensor<2x3x1xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %n, %w : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// Tests that Slices of the last axis that tile an m2 value ([0, 8), [8, 10), [10, end)) are one
// m2.split, whatever order they come in, and that a Split without sizes is a split in equal
// parts.
// CHECK-LABEL: func.func @slice_split_equal_split
// CHECK: %[[L:.+]] = m2.linear
// CHECK: %[[S:.+]]:3 = m2.split %[[L]] {sizes = array<i64: 8, 2, 2>} : (tensor<1x4x12xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>)
// CHECK: %[[E:.+]]:2 = m2.split %[[S]]#0 {sizes = array<i64: 4, 4>}
// CHECK: return %[[E]]#1, %[[S]]#1, %[[S]]#2
// CHECK-NOT: onnx.
func.func @slice_split_equal_split(%x: tensor<1x4x8xf32>) -> (tensor<1x4x4xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) {
  %w = onnx.Constant {value = dense<0.25> : tensor<8x12xf32>} : () -> tensor<8x12xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x8xf32>, tensor<8x12xf32>) -> tensor<1x4x12xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %c8 = onnx.Constant {value = dense<8> : tensor<1xi64>} : () -> tensor<1xi64>
  %c10 = onnx.Constant {value = dense<10> : tensor<1xi64>} : () -> tensor<1xi64>
  %cmax = onnx.Constant {value = dense<9223372036854775807> : tensor<1xi64>} : () -> tensor<1xi64>
  %c0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %b = onnx.Slice %l, %c8, %c10, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x2xf32>
  %c = onnx.Slice %l, %c10, %cmax, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x2xf32>
  %a = onnx.Slice %l, %c0, %c8, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x8xf32>
  %e0, %e1 = onnx.Split %a, %none {axis = 2 : i64} : (tensor<1x4x8xf32>, none) -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>)
  return %e1, %b, %c : tensor<1x4x4xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>
}

// -----

// Tests the causal conv written as Pad + Mul + ReduceSum: the input padded with K-1 = 3 zeros
// before the length, its four shifted copies [j, j + L) stacked on a new last axis, times the
// (C, K) weight, summed over the taps, plus the bias.
// CHECK-LABEL: func.func @causal_conv_pad_mul_reducesum
// CHECK-DAG: %[[W:.+]] = m2.constant dense<2.500000e-01> : tensor<6x4xf32>
// CHECK-DAG: %[[B:.+]] = m2.constant dense<1.000000e+00> : tensor<6xf32>
// CHECK: %[[X:.+]] = m2.silu
// CHECK: %[[C:.+]] = m2.conv1d %[[X]], %[[W]], %[[B]] : (tensor<1x5x6xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<1x5x6xf32>
// CHECK: return %[[C]]
// CHECK-NOT: onnx.
func.func @causal_conv_pad_mul_reducesum(%in: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %x = m2.silu %in : tensor<1x5x6xf32>
  %pads = onnx.Constant {value = dense<[0, 3, 0, 0, 0, 0]> : tensor<6xi64>} : () -> tensor<6xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none {mode = "constant"} : (tensor<1x5x6xf32>, tensor<6xi64>, none) -> tensor<1x8x6xf32>
  %ax1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %axl = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %s1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s2 = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %s3 = onnx.Constant {value = dense<3> : tensor<1xi64>} : () -> tensor<1xi64>
  %e0 = onnx.Constant {value = dense<-3> : tensor<1xi64>} : () -> tensor<1xi64>
  %e1 = onnx.Constant {value = dense<-2> : tensor<1xi64>} : () -> tensor<1xi64>
  %e2 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %e3 = onnx.Constant {value = dense<9223372036854775807> : tensor<1xi64>} : () -> tensor<1xi64>
  %t0 = onnx.Slice %p, %s0, %e0, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %t1 = onnx.Slice %p, %s1, %e1, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %t2 = onnx.Slice %p, %s2, %e2, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %t3 = onnx.Slice %p, %s3, %e3, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %u0 = onnx.Unsqueeze %t0, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %u1 = onnx.Unsqueeze %t1, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %u2 = onnx.Unsqueeze %t2, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %u3 = onnx.Unsqueeze %t3, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %win = onnx.Concat %u0, %u1, %u2, %u3 {axis = -1 : i64} : (tensor<1x5x6x1xf32>, tensor<1x5x6x1xf32>, tensor<1x5x6x1xf32>, tensor<1x5x6x1xf32>) -> tensor<1x5x6x4xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x4xf32>} : () -> tensor<6x4xf32>
  %m = onnx.Mul %win, %w : (tensor<1x5x6x4xf32>, tensor<6x4xf32>) -> tensor<1x5x6x4xf32>
  %r = onnx.ReduceSum %m, %axl {keepdims = 0 : i64} : (tensor<1x5x6x4xf32>, tensor<1xi64>) -> tensor<1x5x6xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Add %b, %r : (tensor<6xf32>, tensor<1x5x6xf32>) -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}

// -----

// Tests a linear on activations flattened to rows: Reshape(x, (-1, d)), Gemm with transB and a
// C of zeros, Reshape back to (b, l, n) with b and l read from the shape of x, is m2.linear on
// x itself; MatMul flattened the same way too.
// CHECK-LABEL: func.func @flattened_linears
// CHECK: %[[X:.+]] = m2.silu
// CHECK: %[[G:.+]] = m2.linear %[[X]], %{{.+}} : (tensor<?x?x4xf32>, tensor<4x3xf32>) -> tensor<?x?x3xf32>
// CHECK: %[[M:.+]] = m2.linear %[[G]], %{{.+}} : (tensor<?x?x3xf32>, tensor<3x2xf32>) -> tensor<?x?x2xf32>
// CHECK: return %[[M]]
// CHECK-NOT: onnx.
func.func @flattened_linears(%in: tensor<?x?x4xf32>) -> tensor<?x?x2xf32> {
  %x = m2.silu %in : tensor<?x?x4xf32>
  %s = onnx.Shape %x : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %i0 = onnx.Constant {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %i2 = onnx.Constant {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %a0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %b = onnx.Gather %s, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %l = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %d = onnx.Gather %s, %i2 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %ub = onnx.Unsqueeze %b, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %ul = onnx.Unsqueeze %l, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %ud = onnx.Unsqueeze %d, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %m1 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %flat = onnx.Concat %m1, %ud {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %back = onnx.Concat %ub, %ul, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %x2 = onnx.Reshape %x, %flat : (tensor<?x?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
  %zeros = onnx.Constant {value = dense<0.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %g2 = onnx.Gemm %x2, %w, %zeros {transB = 1 : i64} : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  %g = onnx.Reshape %g2, %back : (tensor<?x3xf32>, tensor<3xi64>) -> tensor<?x?x3xf32>
  %three = onnx.Constant {value = dense<[-1, 3]> : tensor<2xi64>} : () -> tensor<2xi64>
  %g3 = onnx.Reshape %g, %three : (tensor<?x?x3xf32>, tensor<2xi64>) -> tensor<?x3xf32>
  %w2 = onnx.Constant {value = dense<0.25> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %m2 = onnx.MatMul %g3, %w2 : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
  %s2 = onnx.Shape %g : (tensor<?x?x3xf32>) -> tensor<3xi64>
  %b2 = onnx.Gather %s2, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %l2 = onnx.Gather %s2, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %ub2 = onnx.Unsqueeze %b2, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %ul2 = onnx.Unsqueeze %l2, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %two = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %back2 = onnx.Concat %ub2, %ul2, %two {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %y = onnx.Reshape %m2, %back2 : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x?x2xf32>
  return %y : tensor<?x?x2xf32>
}

// -----

// Tests the causal conv as transformers' Mamba2 exports it: a Conv without bias, its Slice
// ending at the length read as Shape(ids){start = 1, end = 2}, and the SiLU before the transpose
// back (moved after it by onnx-normal-forms): m2.conv1d with a bias of zeros, then m2.silu.
// CHECK-LABEL: func.func @hf_conv
// CHECK-DAG: %[[W:.+]] = m2.constant dense<2.500000e-01> : tensor<6x4xf32>
// CHECK-DAG: %[[Z:.+]] = m2.constant dense<0.000000e+00> : tensor<6xf32>
// CHECK: %[[E:.+]] = m2.embedding
// CHECK: %[[C:.+]] = m2.conv1d %[[E]], %[[W]], %[[Z]] : (tensor<1x?x6xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<1x?x6xf32>
// CHECK: %[[S:.+]] = m2.silu %[[C]]
// CHECK: return %[[S]]
// CHECK-NOT: onnx.
func.func @hf_conv(%ids: tensor<1x?xi64>) -> tensor<1x?x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x?xi64>, tensor<16x6xf32>) -> tensor<1x?x6xf32>
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %none = onnx.NoValue : () -> none
  %c = onnx.Conv %t, %w, %none {group = 6 : i64, kernel_shape = [4], pads = [3, 3], strides = [1], dilations = [1]} : (tensor<1x6x?xf32>, tensor<6x1x4xf32>, none) -> tensor<1x6x?xf32>
  %len = onnx.Shape %ids {start = 1 : i64, end = 2 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %one = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %sl = onnx.Slice %c, %s0, %len, %ax, %one : (tensor<1x6x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x6x?xf32>
  %sig = onnx.Sigmoid %sl : (tensor<1x6x?xf32>) -> tensor<1x6x?xf32>
  %silu = onnx.Mul %sl, %sig : (tensor<1x6x?xf32>, tensor<1x6x?xf32>) -> tensor<1x6x?xf32>
  %y = onnx.Transpose %silu {perm = [0, 2, 1]} : (tensor<1x6x?xf32>) -> tensor<1x?x6xf32>
  return %y : tensor<1x?x6xf32>
}

// -----

// Tests that a tied head spelled as a Gemm on the embedding table (transB = 1, the table shared
// through an Identity, on rows flattened from (b, l, d) and reshaped back) or as a MatMul with a
// Transpose of the table is m2.lm_head on the table, not a linear with a transposed copy.
// CHECK-LABEL: func.func @tied_head_gemm_transpose
// CHECK: %[[T:.+]] = m2.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK-NOT: m2.constant
// CHECK: %[[E:.+]] = m2.embedding %{{.+}}, %[[T]]
// CHECK: %[[H1:.+]] = m2.lm_head %[[E]], %[[T]] : (tensor<1x4x2xf32>, tensor<3x2xf32>) -> tensor<1x4x3xf32>
// CHECK: %[[H2:.+]] = m2.lm_head %[[E]], %[[T]] : (tensor<1x4x2xf32>, tensor<3x2xf32>) -> tensor<1x4x3xf32>
// CHECK: return %[[H1]], %[[H2]]
func.func @tied_head_gemm_transpose(%ids: tensor<1x4xi64>) -> (tensor<1x4x3xf32>, tensor<1x4x3xf32>) {
  %t = onnx.Constant {value = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %e = onnx.Gather %t, %ids {axis = 0 : i64} : (tensor<3x2xf32>, tensor<1x4xi64>) -> tensor<1x4x2xf32>
  %rows = onnx.Constant {value = dense<[-1, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %flat = onnx.Reshape %e, %rows : (tensor<1x4x2xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  %shared = onnx.Identity %t : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %none = onnx.NoValue : () -> none
  %g = onnx.Gemm %flat, %shared, %none {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>, none) -> tensor<4x3xf32>
  %back = onnx.Constant {value = dense<[1, 4, 3]> : tensor<3xi64>} : () -> tensor<3xi64>
  %h1 = onnx.Reshape %g, %back : (tensor<4x3xf32>, tensor<3xi64>) -> tensor<1x4x3xf32>
  %tt = onnx.Transpose %t {perm = [1, 0]} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  %h2 = onnx.MatMul %e, %tt : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %h1, %h2 : tensor<1x4x3xf32>, tensor<1x4x3xf32>
}
