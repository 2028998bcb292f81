// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(onnx-fold-shapes{strict=true}))' %s

// Tests that in strict mode a Shape of a tensor with dynamic dimensions is an error.
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{shape of a tensor with dynamic dimensions cannot be folded: 'tensor<?x4xf32>'}}
  %sh = onnx.Shape %x : (tensor<?x4xf32>) -> tensor<2xi64>
  return %sh : tensor<2xi64>
}
