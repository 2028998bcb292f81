// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that a norm whose mean runs over the batch axis (not the channels) is not taken for an
// RMS norm (its ops left in their normal form: Mul(x, x), Reciprocal(Sqrt)), and says why.
// expected-error @+2 {{not raised: layer 0 norm at node 'onnx.Mul' (Mul): the mean 'onnx.ReduceMean' (ReduceMean) reduces axis 0, not the last (channel) axis}}
// expected-note @+1 {{onnx op(s) not raised to m2: Add x1, Constant x2, Mul x3, Reciprocal x1, ReduceMean x1, Sqrt x1}}
func.func @mean_over_batch(%ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %p = onnx.Pow %x, %two : (tensor<1x4x6xf32>, tensor<f32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %p {axes = [0], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x6xf32>, tensor<f32>) -> tensor<1x4x6xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r = onnx.Div %one, %s : (tensor<f32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Mul %n, %w : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  return %y : tensor<1x4x6xf32>
}

// -----

// Tests that a norm whose epsilon is not a constant (here a graph input) says so, with the layer
// read from its node name ('/layers.3/...', as torch.onnx.export names nodes).
// expected-error @+2 {{not raised: layer 3 norm at node '/layers.3/norm/Mul_1' (Mul): the epsilon argument 1 (a graph input) added in 'onnx.Add' (Add) is not a scalar float32 constant}}
// expected-note @+1 {{8 onnx op(s) not raised to m2: Add x1, Constant x1, Mul x3, Reciprocal x1, ReduceMean x1, Sqrt x1}}
func.func @eps_not_constant(%ids: tensor<1x4xi64>, %eps: tensor<f32>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %sq = onnx.Mul %x, %x : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %sq {axes = [-1], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x1xf32>
  %a = onnx.Add %m, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %r = onnx.Reciprocal %s : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x1xf32>) -> tensor<1x4x6xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Mul %n, %w : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32> loc("/layers.3/norm/Mul_1")
  return %y : tensor<1x4x6xf32>
}

// -----

// Tests that a norm whose weight is not a constant says so.
// expected-error @+2 {{not raised: layer 0 norm at node 'onnx.Mul' (Mul): the weight argument 1 (a graph input) is not a 1-D float32 constant (one value per channel)}}
// expected-note @+1 {{8 onnx op(s) not raised to m2: Add x1, Constant x1, Mul x3, Reciprocal x1, ReduceMean x1, Sqrt x1}}
func.func @weight_not_constant(%ids: tensor<1x4xi64>, %w: tensor<6xf32>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %sq = onnx.Mul %x, %x : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %sq {axes = [-1], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %r = onnx.Reciprocal %s : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x1xf32>) -> tensor<1x4x6xf32>
  %y = onnx.Mul %n, %w : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  return %y : tensor<1x4x6xf32>
}

// -----

// Tests that a normalised value that no weight multiplies (an RMS norm without its affine weight)
// is reported as a norm without a weight.
// expected-error @+2 {{not raised: layer 0 norm at node 'onnx.Mul' (Mul): the normalised value is not multiplied by a weight (a 1-D float32 constant)}}
// expected-note @+1 {{7 onnx op(s) not raised to m2: Add x1, Constant x1, Mul x2, Reciprocal x1, ReduceMean x1, Sqrt x1}}
func.func @no_weight(%ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %sq = onnx.Mul %x, %x : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %sq {axes = [-1], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %r = onnx.Reciprocal %s : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x1xf32>) -> tensor<1x4x6xf32>
  return %n : tensor<1x4x6xf32>
}

// -----

// Tests that a norm whose weight has another width than x says both widths.
// expected-error @+2 {{not raised: layer 0 norm at node 'onnx.Mul' (Mul): the weight 'onnx.Constant' (Constant) holds 8 values, but x 'm2.embedding' (embedding) has 6 channels}}
// expected-note @+1 {{9 onnx op(s) not raised to m2: Add x1, Constant x2, Mul x3, Reciprocal x1, ReduceMean x1, Sqrt x1}}
func.func @weight_width(%ids: tensor<1x4xi64>) -> tensor<1x4x8xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %sq = onnx.Mul %x, %x : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %sq {axes = [-1], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %r = onnx.Reciprocal %s : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x1xf32>) -> tensor<1x4x6xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %n, %w : (tensor<1x4x6xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// Tests that a gated norm whose y is not an m2 value (the SSD before it did not raise) says so.
// expected-error @+2 {{not raised: gated norm at node 'onnx.Mul' (Mul): its input y 'onnx.Tanh' (Tanh) (gated by silu(z) in 'onnx.Mul' (Mul)) was not raised (the SSD's output is expected)}}
// expected-note @+1 {{11 onnx op(s) not raised to m2: Add x1, Constant x2, Mul x4, Reciprocal x1, ReduceMean x1, Sqrt x1, Tanh x1}}
func.func @gate_input_not_raised(%ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %e = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %z = m2.silu %e : tensor<1x4x6xf32>
  %y = onnx.Tanh %e : (tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %sg = onnx.Sigmoid %z : (tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %sz = onnx.Mul %z, %sg : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %x = onnx.Mul %y, %sz : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %sq = onnx.Mul %x, %x : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %sq {axes = [-1], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %r = onnx.Reciprocal %s : (tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x1xf32>) -> tensor<1x4x6xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %o = onnx.Mul %n, %w : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  return %o : tensor<1x4x6xf32>
}

// -----

// Tests that a gated norm in groups (Reshape to (b, l, 2, 4), norm, Reshape back) whose y is not
// an m2 value says so.
// expected-error @+2 {{not raised: gated norm at node 'onnx.Mul' (Mul): its input y 'onnx.Tanh' (Tanh) (gated by silu(z) in 'onnx.Mul' (Mul)) was not raised (the SSD's output is expected)}}
// expected-note @+1 {{15 onnx op(s) not raised to m2: Add x1, Constant x4, Mul x4, Reciprocal x1, ReduceMean x1, Reshape x2, Sqrt x1, Tanh x1}}
func.func @grouped_gate_input_not_raised(%ids: tensor<1x4xi64>) -> tensor<1x4x8xf32> {
  %table = m2.constant dense<0.5> : tensor<16x8xf32>
  %e = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x8xf32>) -> tensor<1x4x8xf32>
  %z = m2.silu %e : tensor<1x4x8xf32>
  %y = onnx.Tanh %e : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %sg = onnx.Sigmoid %z : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %sz = onnx.Mul %z, %sg : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %g = onnx.Mul %y, %sz : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %gs = onnx.Constant {value = dense<[1, 4, 2, 4]> : tensor<4xi64>} : () -> tensor<4xi64>
  %x = onnx.Reshape %g, %gs : (tensor<1x4x8xf32>, tensor<4xi64>) -> tensor<1x4x2x4xf32>
  %sq = onnx.Mul %x, %x : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %m = onnx.ReduceMean %sq {axes = [-1], keepdims = 1 : i64} : (tensor<1x4x2x4xf32>) -> tensor<1x4x2x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x2x1xf32>, tensor<f32>) -> tensor<1x4x2x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x2x1xf32>) -> tensor<1x4x2x1xf32>
  %r = onnx.Reciprocal %s : (tensor<1x4x2x1xf32>) -> tensor<1x4x2x1xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x2x4xf32>, tensor<1x4x2x1xf32>) -> tensor<1x4x2x4xf32>
  %bs = onnx.Constant {value = dense<[1, 4, 8]> : tensor<3xi64>} : () -> tensor<3xi64>
  %b = onnx.Reshape %n, %bs : (tensor<1x4x2x4xf32>, tensor<3xi64>) -> tensor<1x4x8xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %o = onnx.Mul %b, %w : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}
