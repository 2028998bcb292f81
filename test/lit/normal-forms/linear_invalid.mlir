// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that a Gemm with a bias that is not zeros, with alpha 2, or with transA stays a Gemm.
// CHECK-LABEL: func.func @gemm_not_linear
// CHECK-COUNT-3: onnx.Gemm
// CHECK-NOT: onnx.MatMul
func.func @gemm_not_linear(%x: tensor<4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %w = onnx.Constant {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %c = onnx.Constant {value = dense<0.5> : tensor<3xf32>} : () -> tensor<3xf32>
  %none = onnx.NoValue : () -> none
  %a = onnx.Gemm %x, %w, %c : (tensor<4x2xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %b = onnx.Gemm %x, %w, %none {alpha = 2.0 : f32} : (tensor<4x2xf32>, tensor<2x3xf32>, none) -> tensor<4x3xf32>
  %w2 = onnx.Constant {value = dense<1.0> : tensor<4x3xf32>} : () -> tensor<4x3xf32>
  %xt = onnx.Constant {value = dense<1.0> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
  %t = onnx.Gemm %xt, %w2, %none {transA = 1 : i64} : (tensor<4x4xf32>, tensor<4x3xf32>, none) -> tensor<4x3xf32>
  return %a, %b, %t : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// Tests that an Einsum that is not a product on the last axis (a batched product of two
// activations, and one that transposes the rows) stays an Einsum.
// CHECK-LABEL: func.func @einsum_not_linear
// CHECK-COUNT-2: onnx.Einsum
func.func @einsum_not_linear(%x: tensor<1x4x2xf32>, %y: tensor<1x2x3xf32>) -> (tensor<1x4x3xf32>, tensor<4x1x3xf32>) {
  %w = onnx.Constant {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %a = onnx.Einsum %x, %y {equation = "blk,bkn->bln"} : (tensor<1x4x2xf32>, tensor<1x2x3xf32>) -> tensor<1x4x3xf32>
  %b = onnx.Einsum %x, %w {equation = "blk,kn->lbn"} : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<4x1x3xf32>
  return %a, %b : tensor<1x4x3xf32>, tensor<4x1x3xf32>
}

// -----

// Tests that flattened rows reshaped back with batch and length swapped, (l, b, n), or with a
// length read from an unrelated tensor, stay flattened.
// CHECK-LABEL: func.func @flattened_swapped
// CHECK-COUNT-2: onnx.MatMul %{{.+}} : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
func.func @flattened_swapped(%x: tensor<?x?x4xf32>, %other: tensor<?x?x4xf32>) -> (tensor<?x?x3xf32>, tensor<?x?x3xf32>) {
  %s = onnx.Shape %x : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %so = onnx.Shape %other : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %i0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %i1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %b = onnx.Gather %s, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %l = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %lo = onnx.Gather %so, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %m1 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %swapped = onnx.Concat %l, %b, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %unrelated = onnx.Concat %b, %lo, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %flat = onnx.Constant {value = dense<[-1, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %w = onnx.Constant {value = dense<0.5> : tensor<4x3xf32>} : () -> tensor<4x3xf32>
  %x2 = onnx.Reshape %x, %flat : (tensor<?x?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  %g2 = onnx.MatMul %x2, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %g = onnx.Reshape %g2, %swapped : (tensor<?x3xf32>, tensor<3xi64>) -> tensor<?x?x3xf32>
  %h2 = onnx.MatMul %x2, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %h = onnx.Reshape %h2, %unrelated : (tensor<?x3xf32>, tensor<3xi64>) -> tensor<?x?x3xf32>
  return %g, %h : tensor<?x?x3xf32>, tensor<?x?x3xf32>
}
