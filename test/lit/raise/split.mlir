// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

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
