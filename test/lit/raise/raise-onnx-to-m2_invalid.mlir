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

// -----

// Tests that a step conv whose window puts the new input before the old state (the wrong time
// order) is not taken for the causal conv.
// expected-error @+1 {{14 onnx op(s) not raised to m2: Add x1, Concat x1, Constant x6, Mul x1, NoValue x1, ReduceSum x1, Reshape x1, Slice x1, Unsqueeze x1}}
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
// is not taken for the causal conv.
// expected-error @+1 {{25 onnx op(s) not raised to m2: Add x1, Concat x1, Constant x11, Mul x1, NoValue x1, Pad x1, ReduceSum x1, Slice x4, Unsqueeze x4}}
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

// Tests that Slices that leave a gap in the last axis ([0, 8) and [9, 12)) are not a split.
// expected-error @+1 {{8 onnx op(s) not raised to m2: Constant x5, NoValue x1, Slice x2}}
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

// Tests that an SSD step whose state is only decayed (S' = (S exp(dt A))^2, no dt x B^T input) is not taken for an SSD: it stays in onnx ops with a note saying why.
// expected-error @+2 {{onnx op(s) not raised to m2}}
// expected-note @+1 {{SSD candidate not raised: the SSD reads a state but has no update state * decay + input}}
func.func @ssd_step_no_input(%proj: tensor<1x1x12xf32>, %s: tensor<1x2x2x2xf32>) -> (tensor<1x1x4xf32>, tensor<1x2x2x2xf32>) {
  %z, %xbc, %dt = m2.split %proj {sizes = array<i64: 2, 8, 2>} : (tensor<1x1x12xf32>) -> (tensor<1x1x2xf32>, tensor<1x1x8xf32>, tensor<1x1x2xf32>)
  %x, %B, %C = m2.split %xbc {sizes = array<i64: 4, 2, 2>} : (tensor<1x1x8xf32>) -> (tensor<1x1x4xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>)
  // dt' = log(1 + exp(dt + dt_bias)), A = -exp(A_log)
  %bias = onnx.Constant {value = dense<[0.5, -0.5]> : tensor<2xf32>} : () -> tensor<2xf32>
  %dtb = onnx.Add %dt, %bias : (tensor<1x1x2xf32>, tensor<2xf32>) -> tensor<1x1x2xf32>
  %e = onnx.Exp %dtb : (tensor<1x1x2xf32>) -> tensor<1x1x2xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %ope = onnx.Add %e, %one : (tensor<1x1x2xf32>, tensor<f32>) -> tensor<1x1x2xf32>
  %sp = onnx.Log %ope : (tensor<1x1x2xf32>) -> tensor<1x1x2xf32>
  %alog = onnx.Constant {value = dense<0.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %ea = onnx.Exp %alog : (tensor<2xf32>) -> tensor<2xf32>
  %na = onnx.Neg %ea : (tensor<2xf32>) -> tensor<2xf32>
  // decay exp(dt' A) as (1, 2, 1, 1)
  %da = onnx.Mul %sp, %na : (tensor<1x1x2xf32>, tensor<2xf32>) -> tensor<1x1x2xf32>
  %dec = onnx.Exp %da : (tensor<1x1x2xf32>) -> tensor<1x1x2xf32>
  %sh4 = onnx.Constant {value = dense<[1, 2, 1, 1]> : tensor<4xi64>} : () -> tensor<4xi64>
  %dec4 = onnx.Reshape %dec, %sh4 : (tensor<1x1x2xf32>, tensor<4xi64>) -> tensor<1x2x1x1xf32>
  %sd = onnx.Mul %s, %dec4 : (tensor<1x2x2x2xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x2x2xf32>
  %shx = onnx.Constant {value = dense<[1, 2, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %xh = onnx.Reshape %x, %shx : (tensor<1x1x4xf32>, tensor<3xi64>) -> tensor<1x2x2xf32>
  %shg = onnx.Constant {value = dense<[1, 1, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %heads = onnx.Constant {value = dense<[1, 2, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %s1 = onnx.Mul %sd, %sd : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  // y = S' C + D x
  %cg = onnx.Reshape %C, %shg : (tensor<1x1x2xf32>, tensor<3xi64>) -> tensor<1x1x2xf32>
  %ch = onnx.Expand %cg, %heads : (tensor<1x1x2xf32>, tensor<3xi64>) -> tensor<1x2x2xf32>
  %y = onnx.Einsum %s1, %ch {equation = "bhpn,bhn->bhp"} : (tensor<1x2x2x2xf32>, tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
  %d = onnx.Constant {value = dense<[[1.0], [2.0]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %dx = onnx.Mul %xh, %d : (tensor<1x2x2xf32>, tensor<2x1xf32>) -> tensor<1x2x2xf32>
  %yd = onnx.Add %y, %dx : (tensor<1x2x2xf32>, tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
  %sho = onnx.Constant {value = dense<[1, 1, 4]> : tensor<3xi64>} : () -> tensor<3xi64>
  %out = onnx.Reshape %yd, %sho : (tensor<1x2x2xf32>, tensor<3xi64>) -> tensor<1x1x4xf32>
  return %out, %s1 : tensor<1x1x4xf32>, tensor<1x2x2x2xf32>
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

// -----

// Tests that a flattened linear whose result is reshaped back with batch and length swapped
// ((l, b, n): not the rows of x in order) is not taken for a linear on x: the MatMul is a linear
// on the flattened (b*l, 4) rows, and the Reshapes around it stay and are reported.
// expected-error @+1 {{13 onnx op(s) not raised to m2: Concat x1, Constant x5, Gather x2, Reshape x2, Shape x1, Unsqueeze x2}}
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

// Tests that a conv whose Slice ends at the length of another tensor is not taken for the
// causal conv, and that the note says where and why.
// expected-error @+2 {{onnx op(s) not raised to m2: }}
// expected-note @+1 {{not raised: before the first layer conv at node 'onnx.Slice' (Slice): the Slice ends are not a function of the input length}}
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
