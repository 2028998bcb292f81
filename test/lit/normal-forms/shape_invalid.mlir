// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that expressions that are not one dimension of a tensor stay: two dimensions
// (Shape{start 0, end 2}), a Gather of a Shape at a run-time index, the Shape of a rank-1 tensor
// (part of the normal form itself), and a Gather of data that is not a Shape.
// CHECK-LABEL: func.func @not_dims
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x4xf32>, %[[I:.+]]: tensor<i64>, %[[V:.+]]: tensor<?xi64>)
// CHECK: %[[A:.+]] = onnx.Shape %[[X]] {end = 2 : i64, start = 0 : i64}
// CHECK: %[[S:.+]] = onnx.Shape %[[X]] : (tensor<?x?x4xf32>) -> tensor<3xi64>
// CHECK: %[[B:.+]] = onnx.Gather %[[S]], %[[I]]
// CHECK: %[[C:.+]] = onnx.Shape %[[V]] : (tensor<?xi64>) -> tensor<1xi64>
// CHECK: %[[D:.+]] = onnx.Gather %[[V]], %{{.+}}
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @not_dims(%x: tensor<?x?x4xf32>, %i: tensor<i64>, %v: tensor<?xi64>) -> (tensor<2xi64>, tensor<i64>, tensor<1xi64>, tensor<i64>) {
  %a = onnx.Shape %x {start = 0 : i64, end = 2 : i64} : (tensor<?x?x4xf32>) -> tensor<2xi64>
  %s = onnx.Shape %x : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %b = onnx.Gather %s, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %c = onnx.Shape %v : (tensor<?xi64>) -> tensor<1xi64>
  %one = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %d = onnx.Gather %v, %one {axis = 0 : i64} : (tensor<?xi64>, tensor<i64>) -> tensor<i64>
  return %a, %b, %c, %d : tensor<2xi64>, tensor<i64>, tensor<1xi64>, tensor<i64>
}
