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

// -----

// Tests that a linear whose weight rows are not x's channels says both (K 6, x 8 channels).
// expected-error @+2 {{not raised: linear at node 'onnx.MatMul' (MatMul): the weight 'onnx.Constant' (Constant) is [6][3], but x 'm2.silu' (silu) has 8 channels (K must equal them)}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, MatMul x1}}
func.func @weight_rows(%in: tensor<1x4x8xf32>) -> tensor<1x4x3xf32> {
  %x = m2.silu %in : tensor<1x4x8xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<6x3xf32>} : () -> tensor<6x3xf32>
  %y = onnx.MatMul %x, %w : (tensor<1x4x8xf32>, tensor<6x3xf32>) -> tensor<1x4x3xf32>
  return %y : tensor<1x4x3xf32>
}

// -----

// Tests that an in_proj whose weight is not a matrix says so, with its name and layer read from
// the weight's name ('layers.2.mixer.in_proj.weight', as exporters name initializers).
// expected-error @+2 {{not raised: layer 2 in_proj at node 'onnx.MatMul' (MatMul): the weight 'layers.2.mixer.in_proj.weight' (Constant) is not a float32 constant of shape [K][N] (it is tensor<2x6x3xf32>)}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, MatMul x1}}
func.func @weight_rank3(%ids: tensor<1x4xi64>) -> tensor<2x4x3xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %w1 = m2.constant dense<1.0> : tensor<6xf32>
  %e = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %x = m2.rms_norm %e, %w1 {eps = 1.0e-5 : f32} : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<2x6x3xf32>} : () -> tensor<2x6x3xf32> loc("layers.2.mixer.in_proj.weight")
  %y = onnx.MatMul %x, %w : (tensor<1x4x6xf32>, tensor<2x6x3xf32>) -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}

// -----

// Tests that a Gemm that scales the product (alpha 2) is not taken for a linear, and says why.
// expected-error @+2 {{not raised: linear at node 'onnx.Gemm' (Gemm): the Gemm scales the product (alpha 2.00, not 1)}}
// expected-note @+1 {{3 onnx op(s) not raised to m2: Constant x1, Gemm x1, NoValue x1}}
func.func @gemm_alpha(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<8x3xf32>} : () -> tensor<8x3xf32>
  %none = onnx.NoValue : () -> none
  %y = onnx.Gemm %x, %w, %none {alpha = 2.0 : f32} : (tensor<4x8xf32>, tensor<8x3xf32>, none) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Tests that a Gemm with a bias is not taken for a linear (a Mamba2 linear has none).
// expected-error @+2 {{not raised: linear at node 'onnx.Gemm' (Gemm): the Gemm adds C 'onnx.Constant' (Constant), which is not absent or a 1-D constant of zeros (a Mamba2 linear has no bias)}}
// expected-note @+1 {{3 onnx op(s) not raised to m2: Constant x2, Gemm x1}}
func.func @gemm_bias(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<8x3xf32>} : () -> tensor<8x3xf32>
  %c = onnx.Constant {value = dense<1.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %y = onnx.Gemm %x, %w, %c : (tensor<4x8xf32>, tensor<8x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Tests that an Einsum of x and a constant matrix that is not a product on the last axis (it sums
// over x's length instead) says why.
// expected-error @+2 {{not raised: linear at node 'onnx.Einsum' (Einsum): the Einsum equation 'blk,ln->bkn' is not a product on the last axis ('...k,kn->...n' or '...k,nk->...n')}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, Einsum x1}}
func.func @einsum_other_axis(%in: tensor<1x4x8xf32>) -> tensor<1x8x3xf32> {
  %x = m2.silu %in : tensor<1x4x8xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<4x3xf32>} : () -> tensor<4x3xf32>
  %y = onnx.Einsum %x, %w {equation = "blk,ln->bkn"} : (tensor<1x4x8xf32>, tensor<4x3xf32>) -> tensor<1x8x3xf32>
  return %y : tensor<1x8x3xf32>
}

// -----

// Tests that a head after the final norm that reads the embedding table untransposed ((V, d)
// where the tied head needs (d, V)) is reported as the head's lm_head, with both shapes.
// expected-error @+2 {{not raised: head lm_head at node 'onnx.MatMul' (MatMul): the weight 'onnx.Constant' (Constant) is [16][6], but x 'm2.rms_norm' (rms_norm) has 6 channels (K must equal them)}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, MatMul x1}}
func.func @head_untransposed(%ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %w1 = m2.constant dense<1.0> : tensor<6xf32>
  %e = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %n0 = m2.rms_norm %e, %w1 {eps = 1.0e-5 : f32} : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  %dt = m2.softplus %n0 : tensor<1x4x6xf32>
  %h = m2.residual_add %e, %dt : tensor<1x4x6xf32>
  %nf = m2.rms_norm %h, %w1 {eps = 1.0e-5 : f32} : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  %t = onnx.Constant {value = dense<0.5> : tensor<16x6xf32>} : () -> tensor<16x6xf32>
  %y = onnx.MatMul %nf, %t : (tensor<1x4x6xf32>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  return %y : tensor<1x4x6xf32>
}
