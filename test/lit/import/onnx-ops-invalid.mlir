// RUN: mamba2-opt --split-input-file --verify-diagnostics %s

// Tests that an Einsum whose equation names another number of operands is refused.
func.func @einsum_arity(%a: tensor<2x3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{equation 'ij,jk->ik' names 2 operands, but 1 are given}}
  %0 = onnx.Einsum %a {equation = "ij,jk->ik"} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// Tests that a Transpose perm that is not a permutation is refused.
func.func @transpose_perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation of 0..1}}
  %0 = onnx.Transpose %a {perm = [0, 0]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that a Constant whose value type differs from its result type is refused.
func.func @constant_type() -> tensor<3xf32> {
  // expected-error @+1 {{value of type 'tensor<2xf32>' does not match result type 'tensor<3xf32>'}}
  %0 = onnx.Constant {value = dense<1.0> : tensor<2xf32>} : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Tests that a Conv on a rank-2 input is refused.
func.func @conv_rank(%x: tensor<2x3xf32>, %w: tensor<2x3xf32>, %n: none) -> tensor<2x3xf32> {
  // expected-error @+1 {{input must have rank 3 or more}}
  %0 = onnx.Conv %x, %w, %n : (tensor<2x3xf32>, tensor<2x3xf32>, none) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Tests that Pad modes other than constant, reflect and edge are refused.
func.func @pad_mode(%x: tensor<3xf32>, %p: tensor<2xi64>, %n: none) -> tensor<5xf32> {
  // expected-error @+1 {{mode must be constant, reflect or edge, not 'wrap'}}
  %0 = onnx.Pad %x, %p, %n {mode = "wrap"} : (tensor<3xf32>, tensor<2xi64>, none) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// Tests that a Split with a sizes tensor of the wrong length is refused.
func.func @split_sizes(%x: tensor<6xf32>, %s: tensor<3xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{split sizes must be a 1-D tensor with one size per result}}
  %0:2 = onnx.Split %x, %s : (tensor<6xf32>, tensor<3xi64>) -> (tensor<3xf32>, tensor<3xf32>)
  return %0#0 : tensor<3xf32>
}

// -----

// Tests that a Conv auto_pad other than NOTSET, SAME_UPPER, SAME_LOWER and VALID is refused.
func.func @conv_auto_pad(%x: tensor<1x1x4xf32>, %w: tensor<1x1x3xf32>, %n: none) -> tensor<1x1x4xf32> {
  // expected-error @+1 {{auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, not 'SAME'}}
  %0 = onnx.Conv %x, %w, %n {auto_pad = "SAME"} : (tensor<1x1x4xf32>, tensor<1x1x3xf32>, none) -> tensor<1x1x4xf32>
  return %0 : tensor<1x1x4xf32>
}

// -----

// Tests that a Max of no tensors is refused (ONNX's Max takes one or more).
func.func @max_empty() -> tensor<f32> {
  // expected-error @+1 {{needs at least one input}}
  %0 = onnx.Max : () -> tensor<f32>
  return %0 : tensor<f32>
}
