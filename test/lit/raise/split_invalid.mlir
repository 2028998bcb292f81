// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that Slices that leave a gap in the last axis ([0, 8) and [9, 12)) are not a split.
// expected-error @+2 {{not raised: split at node 'onnx.Slice' (Slice): the Slices of 'm2.silu' (silu) on the last axis leave [8, 9) of its 12 channels out}}
// expected-note @+1 {{8 onnx op(s) not raised to m2: Constant x5, NoValue x1, Slice x2}}
func.func @slices_with_gap(%in: tensor<1x4x12xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x3xf32>) {
  %l = m2.silu %in : tensor<1x4x12xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %c0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %c8 = onnx.Constant {value = dense<8> : tensor<1xi64>} : () -> tensor<1xi64>
  %c9 = onnx.Constant {value = dense<9> : tensor<1xi64>} : () -> tensor<1xi64>
  %c12 = onnx.Constant {value = dense<12> : tensor<1xi64>} : () -> tensor<1xi64>
  %a = onnx.Slice %l, %c0, %c8, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x8xf32>
  %b = onnx.Slice %l, %c9, %c12, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x3xf32>
  return %a, %b : tensor<1x4x8xf32>, tensor<1x4x3xf32>
}

// -----

// Tests that a Split of an activation along the length (axis 1) is not an m2.split, and says why.
// expected-error @+2 {{not raised: split at node 'onnx.Split' (Split): it splits axis 1, not the last (channel) axis}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, Split x1}}
func.func @split_length(%in: tensor<1x4x12xf32>) -> (tensor<1x2x12xf32>, tensor<1x2x12xf32>) {
  %l = m2.silu %in : tensor<1x4x12xf32>
  %s = onnx.Constant {value = dense<[2, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %a, %b = onnx.Split %l, %s {axis = 1 : i64} : (tensor<1x4x12xf32>, tensor<2xi64>) -> (tensor<1x2x12xf32>, tensor<1x2x12xf32>)
  return %a, %b : tensor<1x2x12xf32>, tensor<1x2x12xf32>
}

// -----

// Tests that a Split whose sizes do not add up to the width (10 of 12) says so.
// expected-error @+2 {{not raised: split at node 'onnx.Split' (Split): the sizes add up to 10, not the width 12}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, Split x1}}
func.func @split_sizes(%in: tensor<1x4x12xf32>) -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x2xf32>) {
  %l = m2.silu %in : tensor<1x4x12xf32>
  %s = onnx.Constant {value = dense<[4, 4, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %a, %b, %c = onnx.Split %l, %s {axis = -1 : i64} : (tensor<1x4x12xf32>, tensor<3xi64>) -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x2xf32>)
  return %a, %b, %c : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x2xf32>
}

// -----

// Tests that Slices that overlap ([0, 8) and [6, 12)) are not a split, and says where.
// expected-error @+2 {{not raised: split at node 'onnx.Slice' (Slice): the Slices of 'm2.silu' (silu) on the last axis overlap: the one from 6 starts before 8, where the one before it ends}}
// expected-note @+1 {{8 onnx op(s) not raised to m2: Constant x5, NoValue x1, Slice x2}}
func.func @slices_overlap(%in: tensor<1x4x12xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x6xf32>) {
  %l = m2.silu %in : tensor<1x4x12xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %c0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %c8 = onnx.Constant {value = dense<8> : tensor<1xi64>} : () -> tensor<1xi64>
  %c6 = onnx.Constant {value = dense<6> : tensor<1xi64>} : () -> tensor<1xi64>
  %c12 = onnx.Constant {value = dense<12> : tensor<1xi64>} : () -> tensor<1xi64>
  %a = onnx.Slice %l, %c0, %c8, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x8xf32>
  %b = onnx.Slice %l, %c6, %c12, %ax, %none : (tensor<1x4x12xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x4x6xf32>
  return %a, %b : tensor<1x4x8xf32>, tensor<1x4x6xf32>
}
