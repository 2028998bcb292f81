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
