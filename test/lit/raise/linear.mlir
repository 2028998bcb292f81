// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

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
