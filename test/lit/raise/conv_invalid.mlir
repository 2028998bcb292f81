// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that a step conv whose window puts the new input before the old state (the wrong time
// order) is not taken for the causal conv, and says why.
// expected-error @+2 {{not raised: conv at node 'onnx.Add' (Add): the window 'onnx.Concat' (Concat) is not Concat(Slice(state, 1:), Unsqueeze(x, -1)) on the last axis (the old state without its oldest column, then the new input)}}
// expected-note @+1 {{14 onnx op(s) not raised to m2: Add x1, Concat x1, Constant x6, Mul x1, NoValue x1, ReduceSum x1, Reshape x1, Slice x1, Unsqueeze x1}}
func.func @conv_step_reversed(%in: tensor<1x1x6xf32>, %s: tensor<1x6x4xf32>) -> tensor<1x6xf32> {
  %x3 = m2.silu %in : tensor<1x1x6xf32>
  %flat = onnx.Constant {value = dense<[1, 6]> : tensor<2xi64>} : () -> tensor<2xi64>
  %x = onnx.Reshape %x3, %flat : (tensor<1x1x6xf32>, tensor<2xi64>) -> tensor<1x6xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %one = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %big = onnx.Constant {value = dense<9223372036854775807> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %old = onnx.Slice %s, %one, %big, %ax, %none : (tensor<1x6x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x3xf32>
  %u = onnx.Unsqueeze %x, %ax : (tensor<1x6xf32>, tensor<1xi64>) -> tensor<1x6x1xf32>
  %win = onnx.Concat %u, %old {axis = -1 : i64} : (tensor<1x6x1xf32>, tensor<1x6x3xf32>) -> tensor<1x6x4xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x4xf32>} : () -> tensor<6x4xf32>
  %m = onnx.Mul %win, %w : (tensor<1x6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x4xf32>
  %r = onnx.ReduceSum %m, %ax {keepdims = 0 : i64} : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x6xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Add %r, %b : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>
  return %y : tensor<1x6xf32>
}

// -----

// Tests that a Pad + Mul + ReduceSum conv padded after the sequence (it would read the future)
// is not taken for the causal conv, and says why.
// expected-error @+2 {{not raised: conv at node 'onnx.Pad' (Pad): the Pad adds 3 zeros after the length: the conv would read later positions (a causal conv pads kernel - 1 zeros before the length only)}}
// expected-note @+1 {{25 onnx op(s) not raised to m2: Add x1, Concat x1, Constant x11, Mul x1, NoValue x1, Pad x1, ReduceSum x1, Slice x4, Unsqueeze x4}}
func.func @conv_pad_acausal(%in: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %x = m2.silu %in : tensor<1x5x6xf32>
  %pads = onnx.Constant {value = dense<[0, 0, 0, 0, 3, 0]> : tensor<6xi64>} : () -> tensor<6xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none {mode = "constant"} : (tensor<1x5x6xf32>, tensor<6xi64>, none) -> tensor<1x8x6xf32>
  %ax1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %axl = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %s1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s2 = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %s3 = onnx.Constant {value = dense<3> : tensor<1xi64>} : () -> tensor<1xi64>
  %e0 = onnx.Constant {value = dense<-3> : tensor<1xi64>} : () -> tensor<1xi64>
  %e1 = onnx.Constant {value = dense<-2> : tensor<1xi64>} : () -> tensor<1xi64>
  %e2 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %e3 = onnx.Constant {value = dense<9223372036854775807> : tensor<1xi64>} : () -> tensor<1xi64>
  %t0 = onnx.Slice %p, %s0, %e0, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %t1 = onnx.Slice %p, %s1, %e1, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %t2 = onnx.Slice %p, %s2, %e2, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %t3 = onnx.Slice %p, %s3, %e3, %ax1, %none : (tensor<1x8x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x5x6xf32>
  %u0 = onnx.Unsqueeze %t0, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %u1 = onnx.Unsqueeze %t1, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %u2 = onnx.Unsqueeze %t2, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %u3 = onnx.Unsqueeze %t3, %axl : (tensor<1x5x6xf32>, tensor<1xi64>) -> tensor<1x5x6x1xf32>
  %win = onnx.Concat %u0, %u1, %u2, %u3 {axis = -1 : i64} : (tensor<1x5x6x1xf32>, tensor<1x5x6x1xf32>, tensor<1x5x6x1xf32>, tensor<1x5x6x1xf32>) -> tensor<1x5x6x4xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x4xf32>} : () -> tensor<6x4xf32>
  %m = onnx.Mul %win, %w : (tensor<1x5x6x4xf32>, tensor<6x4xf32>) -> tensor<1x5x6x4xf32>
  %r = onnx.ReduceSum %m, %axl {keepdims = 0 : i64} : (tensor<1x5x6x4xf32>, tensor<1xi64>) -> tensor<1x5x6xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Add %b, %r : (tensor<6xf32>, tensor<1x5x6xf32>) -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}

// -----

// Tests that a conv whose Slice ends at the length of another tensor is not taken for the
// causal conv, and that the note says where and why.
// expected-error @+2 {{not raised: conv at node 'onnx.Slice' (Slice): the Conv 'onnx.Conv' (Conv) sliced here: the Slice ends are not a function of the input length}}
// expected-note @+1 {{11 onnx op(s) not raised to m2: }}
func.func @conv_end_of_other(%ids: tensor<1x?xi64>, %other: tensor<1x?xi64>) -> tensor<1x?x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x?xi64>, tensor<16x6xf32>) -> tensor<1x?x6xf32>
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %none = onnx.NoValue : () -> none
  %c = onnx.Conv %t, %w, %none {group = 6 : i64, kernel_shape = [4], pads = [3, 3]} : (tensor<1x6x?xf32>, tensor<6x1x4xf32>, none) -> tensor<1x6x?xf32>
  %len = onnx.Shape %other {start = 1 : i64, end = 2 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s0 = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %sl = onnx.Slice %c, %s0, %len, %ax, %none : (tensor<1x6x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x?xf32>
  %y = onnx.Transpose %sl {perm = [0, 2, 1]} : (tensor<1x6x?xf32>) -> tensor<1x?x6xf32>
  return %y : tensor<1x?x6xf32>
}

// -----

// Tests that a causal Conv whose output stays (batch, channels, length) (no Transpose back) says
// so.
// expected-error @+2 {{not raised: conv at node 'onnx.Conv' (Conv): its output is not transposed back to (batch, length, channels) by a Transpose with perm [0, 2, 1]}}
// expected-note @+1 {{4 onnx op(s) not raised to m2: Constant x2, Conv x1, Transpose x1}}
func.func @conv_not_transposed_back(%in: tensor<1x5x6xf32>) -> tensor<1x6x5xf32> {
  %x = m2.silu %in : tensor<1x5x6xf32>
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x5x6xf32>) -> tensor<1x6x5xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {group = 6 : i64, kernel_shape = [4], pads = [3, 0]} : (tensor<1x6x5xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x5xf32>
  return %c : tensor<1x6x5xf32>
}

// -----

// Tests that a conv that mixes channels (group 1, not depthwise) says so.
// expected-error @+2 {{not raised: conv at node 'onnx.Conv' (Conv): it is not depthwise (weight (C, 1, k), group C, bias (C))}}
// expected-note @+1 {{5 onnx op(s) not raised to m2: Constant x2, Conv x1, Transpose x2}}
func.func @conv_not_depthwise(%in: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %x = m2.silu %in : tensor<1x5x6xf32>
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x5x6xf32>) -> tensor<1x6x5xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x6x4xf32>} : () -> tensor<6x6x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {group = 1 : i64, kernel_shape = [4], pads = [3, 0]} : (tensor<1x6x5xf32>, tensor<6x6x4xf32>, tensor<6xf32>) -> tensor<1x6x5xf32>
  %y = onnx.Transpose %c {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}
