// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(onnx-fold-shapes))' %s | FileCheck %s

// Tests that Shape -> Gather -> Unsqueeze -> Concat of a static tensor folds to one constant
// and the chain disappears.
// CHECK-LABEL: func.func @shape_chain
// CHECK-NOT: onnx.Shape
// CHECK-NOT: onnx.Gather
// CHECK: %[[C:.+]] = onnx.Constant {value = dense<[37, 8, -1]> : tensor<3xi64>}
// CHECK: %[[R:.+]] = onnx.Reshape %{{.+}}, %[[C]]
// CHECK: return %[[R]]
func.func @shape_chain(%x: tensor<1x37x64xf32>) -> tensor<37x8x8xf32> {
  %s = onnx.Shape %x : (tensor<1x37x64xf32>) -> tensor<3xi64>
  %i = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %l = onnx.Gather %s, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %a = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %u = onnx.Unsqueeze %l, %a : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %rest = onnx.Constant {value = dense<[8, -1]> : tensor<2xi64>} : () -> tensor<2xi64>
  %shape = onnx.Concat %u, %rest {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  %r = onnx.Reshape %x, %shape : (tensor<1x37x64xf32>, tensor<3xi64>) -> tensor<37x8x8xf32>
  return %r : tensor<37x8x8xf32>
}

// -----

// Tests that the padding arithmetic of the chunked SSD folds: (t - l mod t) mod t with Python's
// sign rule for Mod, then ConstantOfShape / Equal / Where / Expand as exporters write them.
// CHECK-LABEL: func.func @pad_math
// CHECK-DAG: onnx.Constant {value = dense<11> : tensor<i64>}
// CHECK-DAG: onnx.Constant {value = dense<1> : tensor<2xi64>}
// CHECK-NOT: onnx.Mod
// CHECK-NOT: onnx.Where
// CHECK-NOT: onnx.Expand
func.func @pad_math() -> (tensor<i64>, tensor<2xi64>) {
  %l = onnx.Constant {value = dense<37> : tensor<i64>} : () -> tensor<i64>
  %t = onnx.Constant {value = dense<16> : tensor<i64>} : () -> tensor<i64>
  %m = onnx.Mod %l, %t {fmod = 0 : i64} : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %d = onnx.Sub %t, %m : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %p = onnx.Mod %d, %t {fmod = 0 : i64} : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %two = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %ones = onnx.ConstantOfShape %two {value = dense<1> : tensor<1xi64>} : (tensor<1xi64>) -> tensor<2xi64>
  %neg = onnx.Constant {value = dense<[-1, -1]> : tensor<2xi64>} : () -> tensor<2xi64>
  %eq = onnx.Equal %neg, %ones : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi1>
  %sh = onnx.Where %eq, %ones, %neg : (tensor<2xi1>, tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %one = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %e = onnx.Expand %one, %sh : (tensor<i64>, tensor<2xi64>) -> tensor<2xi64>
  %w = onnx.Where %eq, %e, %ones : (tensor<2xi1>, tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %p, %w : tensor<i64>, tensor<2xi64>
}

// -----

// Tests that Mod follows the sign of the divisor (fmod = 0) or of the dividend (fmod = 1).
// CHECK-LABEL: func.func @mod_signs
// CHECK-DAG: onnx.Constant {value = dense<[2, -2]> : tensor<2xi64>}
// CHECK-DAG: onnx.Constant {value = dense<[-1, 1]> : tensor<2xi64>}
func.func @mod_signs() -> (tensor<2xi64>, tensor<2xi64>) {
  %a = onnx.Constant {value = dense<[-7, 7]> : tensor<2xi64>} : () -> tensor<2xi64>
  %b = onnx.Constant {value = dense<[3, -3]> : tensor<2xi64>} : () -> tensor<2xi64>
  %py = onnx.Mod %a, %b {fmod = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %c = onnx.Mod %a, %b {fmod = 1 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %py, %c : tensor<2xi64>, tensor<2xi64>
}

// -----

// Tests that float arithmetic is never folded (rounding stays with the evaluator), while
// the shape of a dynamic tensor stays a Shape op.
// CHECK-LABEL: func.func @no_float_fold
// CHECK: onnx.Add
// CHECK: onnx.Shape
func.func @no_float_fold(%x: tensor<?x4xf32>) -> (tensor<2xf32>, tensor<2xi64>) {
  %a = onnx.Constant {value = dense<[0.1, 0.2]> : tensor<2xf32>} : () -> tensor<2xf32>
  %s = onnx.Add %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %sh = onnx.Shape %x : (tensor<?x4xf32>) -> tensor<2xi64>
  return %s, %sh : tensor<2xf32>, tensor<2xi64>
}

// -----

// Tests that a Transpose of a constant folds (torch's F.pad computes its pads by reshaping,
// flipping and transposing a constant (rank, 2) table), with perm given and reversed by default.
// CHECK-LABEL: func.func @transpose_pads
// CHECK-DAG: onnx.Constant {value = dense<{{\[\[}}0, 0, 1], [0, 3, 0]]> : tensor<2x3xi64>}
// CHECK-DAG: onnx.Constant {value = dense<{{\[\[}}1, 4], [2, 5], [3, 6]]> : tensor<3x2xi64>}
// CHECK-NOT: onnx.Transpose
func.func @transpose_pads() -> (tensor<2x3xi64>, tensor<3x2xi64>) {
  %p = onnx.Constant {value = dense<[[0, 0], [0, 3], [1, 0]]> : tensor<3x2xi64>} : () -> tensor<3x2xi64>
  %t = onnx.Transpose %p {perm = [1, 0]} : (tensor<3x2xi64>) -> tensor<2x3xi64>
  %q = onnx.Constant {value = dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>} : () -> tensor<2x3xi64>
  %u = onnx.Transpose %q : (tensor<2x3xi64>) -> tensor<3x2xi64>
  return %t, %u : tensor<2x3xi64>, tensor<3x2xi64>
}

// -----

// Tests that a Transpose of a value that is not a constant stays.
// CHECK-LABEL: func.func @transpose_kept
// CHECK: %[[T:.+]] = onnx.Transpose %arg0 {perm = [1, 0]}
// CHECK: return %[[T]]
func.func @transpose_kept(%x: tensor<3x2xi64>) -> tensor<2x3xi64> {
  %t = onnx.Transpose %x {perm = [1, 0]} : (tensor<3x2xi64>) -> tensor<2x3xi64>
  return %t : tensor<2x3xi64>
}
