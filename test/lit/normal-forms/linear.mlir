// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that Gemm with transB = 1 and a C of zeros, Gemm with transB = 0 and no C, Einsum with
// the (out, in) and the (in, out) weight, MatMul of a transposed weight and MatMul of an
// Identity of the weight (an initializer shared through Identity) all become MatMul(x, W) with
// W (in, out) a constant.
// CHECK-LABEL: func.func @linears
// CHECK-SAME: (%[[X:.+]]: tensor<4x2xf32>, %[[Y:.+]]: tensor<1x4x2xf32>)
// CHECK-DAG: %[[WT:.+]] = onnx.Constant  {value = dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>}
// CHECK-DAG: %[[W:.+]] = onnx.Constant  {value = dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>}
// CHECK: onnx.MatMul %[[X]], %[[WT]] : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: onnx.MatMul %[[X]], %[[W]] : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: onnx.MatMul %[[Y]], %[[WT]] : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
// CHECK-NEXT: onnx.MatMul %[[Y]], %[[W]] : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
// CHECK-NEXT: onnx.MatMul %[[Y]], %[[WT]] : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
// CHECK-NEXT: onnx.MatMul %[[Y]], %[[W]] : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
// CHECK-NOT: onnx.Gemm
// CHECK-NOT: onnx.Einsum
// CHECK-NOT: onnx.Transpose
func.func @linears(%x: tensor<4x2xf32>, %y: tensor<1x4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>) {
  %wout = onnx.Constant {value = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %win = onnx.Constant {value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %zero = onnx.Constant {value = dense<0.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %none = onnx.NoValue : () -> none
  %g1 = onnx.Gemm %x, %wout, %zero {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %g0 = onnx.Gemm %x, %win, %none : (tensor<4x2xf32>, tensor<2x3xf32>, none) -> tensor<4x3xf32>
  %e1 = onnx.Einsum %y, %wout {equation = "blk,nk->bln"} : (tensor<1x4x2xf32>, tensor<3x2xf32>) -> tensor<1x4x3xf32>
  %e0 = onnx.Einsum %y, %win {equation = "blk,kn->bln"} : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  %wt = onnx.Transpose %wout {perm = [1, 0]} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  %mt = onnx.MatMul %y, %wt : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  %wi = onnx.Identity %win : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %mi = onnx.MatMul %y, %wi : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %g1, %g0, %e1, %e0, %mt, %mi : tensor<4x3xf32>, tensor<4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>
}

// -----

// Tests that a linear on rows flattened from (b, l, d) and reshaped back to (b, l, n), b and l
// read from the shape of the norm's input (of the same batch and length, through the ops between)
// with any shape expression (Shape+Gather, Shape{start, end}, Slice of Shape), is MatMul(x, W)
// on the (b, l, d) tensor.
// CHECK-LABEL: func.func @flattened
// CHECK-SAME: (%[[IN:.+]]: tensor<?x?x4xf32>)
// CHECK: %[[X:.+]] = onnx.Mul %[[IN]], %{{.+}} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
// CHECK-NEXT: %[[Y:.+]] = onnx.MatMul %[[X]], %{{.+}} : (tensor<?x?x4xf32>, tensor<4x2xf32>) -> tensor<?x?x2xf32>
// CHECK-NEXT: return %[[Y]]
func.func @flattened(%in: tensor<?x?x4xf32>) -> tensor<?x?x2xf32> {
  %g = onnx.Constant {value = dense<0.5> : tensor<4xf32>} : () -> tensor<4xf32>
  %x = onnx.Mul %in, %g : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %b = onnx.Shape %in {start = 0 : i64, end = 1 : i64} : (tensor<?x?x4xf32>) -> tensor<1xi64>
  %s = onnx.Shape %in : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %one = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %two = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %l = onnx.Slice %s, %one, %two, %none, %none : (tensor<3xi64>, tensor<1xi64>, tensor<1xi64>, none, none) -> tensor<1xi64>
  %m1 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %back = onnx.Concat %b, %l, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %flat = onnx.Constant {value = dense<[-1, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %x2 = onnx.Reshape %x, %flat : (tensor<?x?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<4x2xf32>} : () -> tensor<4x2xf32>
  %y2 = onnx.MatMul %x2, %w : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
  %y = onnx.Reshape %y2, %back : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x?x2xf32>
  return %y : tensor<?x?x2xf32>
}
