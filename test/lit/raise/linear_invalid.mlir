// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that a MatMul whose weight is not a constant is not taken for a linear.
// expected-error @+2 {{not raised: linear at node 'onnx.MatMul' (MatMul): the weight argument 1 (a graph input) is not a constant}}
// expected-note @+1 {{1 onnx op(s) not raised to m2: MatMul x1}}
func.func @dynamic_weight(%x: tensor<1x4x8xf32>, %w: tensor<8x8xf32>) -> tensor<1x4x8xf32> {
  %y = onnx.MatMul %x, %w : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// Tests that a flattened linear whose result is reshaped back with batch and length swapped
// ((l, b, n): not the rows of x in order) is not taken for a linear on x: the MatMul is a linear
// on the flattened (b*l, 4) rows, and the Reshapes around it stay and are reported (their shape
// expressions in their normal form, Gather(Shape(x), [i])).
// expected-error @+1 {{11 onnx op(s) not raised to m2: Concat x1, Constant x4, Gather x2, Reshape x2, Shape x2}}
func.func @flattened_swapped(%in: tensor<?x?x4xf32>) -> tensor<?x?x3xf32> {
  %x = m2.silu %in : tensor<?x?x4xf32>
  %s = onnx.Shape %x : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %i0 = onnx.Constant {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %a0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %b = onnx.Gather %s, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %l = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %ub = onnx.Unsqueeze %b, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %ul = onnx.Unsqueeze %l, %a0 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %flat = onnx.Constant {value = dense<[-1, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %m1 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %back = onnx.Concat %ul, %ub, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %x2 = onnx.Reshape %x, %flat : (tensor<?x?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<4x3xf32>} : () -> tensor<4x3xf32>
  %g2 = onnx.MatMul %x2, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %g = onnx.Reshape %g2, %back : (tensor<?x3xf32>, tensor<3xi64>) -> tensor<?x?x3xf32>
  return %g : tensor<?x?x3xf32>
}
