// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

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
