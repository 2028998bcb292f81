// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that in strict mode ops that match no Mamba2 block are an error listing them.
// expected-error @+1 {{2 onnx op(s) not raised to m2: Constant x1, Tanh x1}}
func.func @unknown(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %c = onnx.Constant {value = dense<1.0> : tensor<1x4x8xf32>} : () -> tensor<1x4x8xf32>
  %t = onnx.Tanh %c : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %t : tensor<1x4x8xf32>
}

// -----

// Tests that stacked states stay one argument when a layer's slice feeds something that is not
// raised (here a Tanh): the Gathers stay and are reported with it, the signature is unchanged.
// expected-error @+1 {{6 onnx op(s) not raised to m2: Concat x1, Constant x2, Gather x1, Tanh x1, Unsqueeze x1}}
func.func @stacked_state_not_raised(%states: tensor<2x1x6x4xf32>) -> tensor<2x1x6x4xf32> {
  %i0 = onnx.Constant {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %s0 = onnx.Gather %states, %i0 {axis = 0 : i64} : (tensor<2x1x6x4xf32>, tensor<i64>) -> tensor<1x6x4xf32>
  %t = onnx.Tanh %s0 : (tensor<1x6x4xf32>) -> tensor<1x6x4xf32>
  %zero = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %u = onnx.Unsqueeze %t, %zero : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x1x6x4xf32>
  %all = onnx.Concat %u, %u {axis = 0 : i64} : (tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>) -> tensor<2x1x6x4xf32>
  return %all : tensor<2x1x6x4xf32>
}
