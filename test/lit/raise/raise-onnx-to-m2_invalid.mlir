// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that in strict mode ops that match no Mamba2 block are an error listing them.
// expected-error @+1 {{2 onnx op(s) not raised to m2: Constant x1, Tanh x1}}
func.func @unknown(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %c = onnx.Constant {value = dense<1.0> : tensor<1x4x8xf32>} : () -> tensor<1x4x8xf32>
  %t = onnx.Tanh %c : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %t : tensor<1x4x8xf32>
}

// -----

// Tests that a MatMul whose weight is not a constant is not taken for a linear.
// expected-error @+1 {{1 onnx op(s) not raised to m2: MatMul x1}}
func.func @dynamic_weight(%x: tensor<1x4x8xf32>, %w: tensor<8x8xf32>) -> tensor<1x4x8xf32> {
  %y = onnx.MatMul %x, %w : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}
