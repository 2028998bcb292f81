// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that types are not refined from what the operands do not say: a Pad of run-time pads, a
// Reshape to a run-time shape of unknown length, an Einsum (not inferred), and a result that a
// non-onnx op (the return) reads.
// CHECK-LABEL: func.func @not_refined
// CHECK: onnx.Pad {{.+}} -> tensor<*xf32>
// CHECK: onnx.Reshape {{.+}} -> tensor<*xf32>
// CHECK: onnx.Einsum {{.+}} -> tensor<*xf32>
// CHECK: onnx.Sigmoid {{.+}} -> tensor<*xf32>
func.func @not_refined(%x: tensor<2x5x4xf32>, %pads: tensor<6xi64>, %shape: tensor<?xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none : (tensor<2x5x4xf32>, tensor<6xi64>, none) -> tensor<*xf32>
  %n = onnx.Neg %p : (tensor<*xf32>) -> tensor<*xf32>
  %r = onnx.Reshape %x, %shape : (tensor<2x5x4xf32>, tensor<?xi64>) -> tensor<*xf32>
  %e = onnx.Einsum %x, %x {equation = "blk,blk->bl"} : (tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<*xf32>
  %q = onnx.Neg %r : (tensor<*xf32>) -> tensor<*xf32>
  %f = onnx.Neg %e : (tensor<*xf32>) -> tensor<*xf32>
  %s = onnx.Sigmoid %x : (tensor<2x5x4xf32>) -> tensor<*xf32>
  %t = onnx.Add %n, %q : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  return %t, %f, %s : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
