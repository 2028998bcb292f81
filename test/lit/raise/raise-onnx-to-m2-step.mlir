// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s | FileCheck %s

// Raising of the step graph (one decode step with explicit states). Its per-token tensors are
// (b, c); m2 keeps (b, 1, c), and Reshape/Squeeze/Unsqueeze that only add or drop that unit axis
// are looked through.

// Tests the step conv: Concat(Slice(state, 1:), Unsqueeze(x, -1)) * W summed over the taps plus
// the bias is m2.conv1d with the state operand; the Concat (the new state) becomes its second
// result, and the (1, 6) result becomes the m2 (1, 1, 6) in the signature.
// CHECK-LABEL: func.func @conv_step
// CHECK-SAME: (%[[IN:.+]]: tensor<1x1x6xf32>, %[[S:.+]]: tensor<1x6x4xf32>) -> (tensor<1x1x6xf32>, tensor<1x6x4xf32>)
// CHECK-DAG: %[[W:.+]] = m2.constant dense<2.500000e-01> : tensor<6x4xf32>
// CHECK-DAG: %[[B:.+]] = m2.constant dense<1.000000e+00> : tensor<6xf32>
// CHECK: %[[X:.+]] = m2.silu %[[IN]]
// CHECK: %[[Y:.+]], %[[NS:.+]] = m2.conv1d %[[X]], %[[W]], %[[B]] state %[[S]] : (tensor<1x1x6xf32>, tensor<6x4xf32>, tensor<6xf32>, tensor<1x6x4xf32>) -> (tensor<1x1x6xf32>, tensor<1x6x4xf32>)
// CHECK: return %[[Y]], %[[NS]] : tensor<1x1x6xf32>, tensor<1x6x4xf32>
func.func @conv_step(%in: tensor<1x1x6xf32>, %s: tensor<1x6x4xf32>) -> (tensor<1x6xf32>, tensor<1x6x4xf32>) {
  %x3 = m2.silu %in : tensor<1x1x6xf32>
  %flat = onnx.Constant {value = dense<[1, 6]> : tensor<2xi64>} : () -> tensor<2xi64>
  %x = onnx.Reshape %x3, %flat : (tensor<1x1x6xf32>, tensor<2xi64>) -> tensor<1x6xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %one = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %big = onnx.Constant {value = dense<9223372036854775807> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %old = onnx.Slice %s, %one, %big, %ax, %none : (tensor<1x6x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x3xf32>
  %u = onnx.Unsqueeze %x, %ax : (tensor<1x6xf32>, tensor<1xi64>) -> tensor<1x6x1xf32>
  %win = onnx.Concat %old, %u {axis = -1 : i64} : (tensor<1x6x3xf32>, tensor<1x6x1xf32>) -> tensor<1x6x4xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x4xf32>} : () -> tensor<6x4xf32>
  %m = onnx.Mul %win, %w : (tensor<1x6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x4xf32>
  %r = onnx.ReduceSum %m, %ax {keepdims = 0 : i64} : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x6xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Add %r, %b : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>
  return %y, %win : tensor<1x6xf32>, tensor<1x6x4xf32>
}

// -----

// Tests the recurrent SSD step (2 heads of 2, one group, d_state 2) with softplus written as
// Log(1 + Exp(.)): S' = S * exp(dt A) + (dt x) B^T, y = S' C + D x. It is m2.ssd with the state
// operand and S' as its new state; A = -exp(A_log) = -exp(0) = -1.
// CHECK-LABEL: func.func @ssd_step
// CHECK-SAME: %[[S:[^:]+]]: tensor<1x2x2x2xf32>) -> (tensor<1x1x4xf32>, tensor<1x2x2x2xf32>)
// CHECK-DAG: %[[A:.+]] = m2.constant dense<-1.000000e+00> : tensor<2xf32>
// CHECK: %[[P:.+]]:3 = m2.split
// CHECK: %[[X:.+]]:3 = m2.split %[[P]]#1
// CHECK: %[[Y:.+]], %[[NS:.+]] = m2.ssd %[[X]]#0, %[[P]]#2, %{{.+}}, %[[A]], %[[X]]#1, %[[X]]#2, %{{.+}} state %[[S]] {ngroups = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<2xf32>, tensor<1x2x2x2xf32>) -> (tensor<1x1x4xf32>, tensor<1x2x2x2xf32>)
// CHECK: return %[[Y]], %[[NS]]
func.func @ssd_step(%proj: tensor<1x1x12xf32>, %s: tensor<1x2x2x2xf32>) -> (tensor<1x1x4xf32>, tensor<1x2x2x2xf32>) {
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
  // (dt' x) B^T
  %shx = onnx.Constant {value = dense<[1, 2, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %xh = onnx.Reshape %x, %shx : (tensor<1x1x4xf32>, tensor<3xi64>) -> tensor<1x2x2xf32>
  %shd = onnx.Constant {value = dense<[1, 2, 1]> : tensor<3xi64>} : () -> tensor<3xi64>
  %dt3 = onnx.Reshape %sp, %shd : (tensor<1x1x2xf32>, tensor<3xi64>) -> tensor<1x2x1xf32>
  %dtx = onnx.Mul %dt3, %xh : (tensor<1x2x1xf32>, tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
  %m1 = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %dtx4 = onnx.Unsqueeze %dtx, %m1 : (tensor<1x2x2xf32>, tensor<1xi64>) -> tensor<1x2x2x1xf32>
  %shg = onnx.Constant {value = dense<[1, 1, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %bg = onnx.Reshape %B, %shg : (tensor<1x1x2xf32>, tensor<3xi64>) -> tensor<1x1x2xf32>
  %heads = onnx.Constant {value = dense<[1, 2, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %bh = onnx.Expand %bg, %heads : (tensor<1x1x2xf32>, tensor<3xi64>) -> tensor<1x2x2xf32>
  %two = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %bh4 = onnx.Unsqueeze %bh, %two : (tensor<1x2x2xf32>, tensor<1xi64>) -> tensor<1x2x1x2xf32>
  %upd = onnx.Mul %dtx4, %bh4 : (tensor<1x2x2x1xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x2x2xf32>
  %s1 = onnx.Add %sd, %upd : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
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

// Tests that states stacked over layers (layers, b, c, k), read per layer with Gather and
// returned as Concat(Unsqueeze(new_i, 0)), become one argument and one result per layer, named
// after the ONNX input and output.
// CHECK-LABEL: func.func @stacked_states
// CHECK-SAME: (%[[IN:[^:]+]]: tensor<1x1x6xf32>, %[[S0:[^:]+]]: tensor<1x6x4xf32> {onnx.name = "conv_states[0]"}, %[[S1:[^:]+]]: tensor<1x6x4xf32> {onnx.name = "conv_states[1]"})
// CHECK-SAME: -> (tensor<1x1x6xf32>, tensor<1x6x4xf32> {onnx.name = "conv_states_out[0]"}, tensor<1x6x4xf32> {onnx.name = "conv_states_out[1]"})
// CHECK: %[[X:.+]] = m2.silu %[[IN]]
// CHECK: %[[Y0:.+]], %[[N0:.+]] = m2.conv1d %[[X]], %{{.+}}, %{{.+}} state %[[S0]]
// CHECK: %[[Y1:.+]], %[[N1:.+]] = m2.conv1d %[[Y0]], %{{.+}}, %{{.+}} state %[[S1]]
// CHECK: return %[[Y1]], %[[N0]], %[[N1]]
func.func @stacked_states(%in: tensor<1x1x6xf32>, %states: tensor<2x1x6x4xf32> {onnx.name = "conv_states"}) -> (tensor<1x1x6xf32>, tensor<2x1x6x4xf32> {onnx.name = "conv_states_out"}) {
  %x3 = m2.silu %in : tensor<1x1x6xf32>
  %flat = onnx.Constant {value = dense<[1, 6]> : tensor<2xi64>} : () -> tensor<2xi64>
  %x0 = onnx.Reshape %x3, %flat : (tensor<1x1x6xf32>, tensor<2xi64>) -> tensor<1x6xf32>
  %i0 = onnx.Constant {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %s0 = onnx.Gather %states, %i0 {axis = 0 : i64} : (tensor<2x1x6x4xf32>, tensor<i64>) -> tensor<1x6x4xf32>
  %s1 = onnx.Gather %states, %i1 {axis = 0 : i64} : (tensor<2x1x6x4xf32>, tensor<i64>) -> tensor<1x6x4xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %one = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %four = onnx.Constant {value = dense<4> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %w = onnx.Constant {value = dense<0.25> : tensor<6x4xf32>} : () -> tensor<6x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %zero = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>

  %old0 = onnx.Slice %s0, %one, %four, %ax, %none : (tensor<1x6x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x3xf32>
  %u0 = onnx.Unsqueeze %x0, %ax : (tensor<1x6xf32>, tensor<1xi64>) -> tensor<1x6x1xf32>
  %win0 = onnx.Concat %old0, %u0 {axis = 2 : i64} : (tensor<1x6x3xf32>, tensor<1x6x1xf32>) -> tensor<1x6x4xf32>
  %m0 = onnx.Mul %win0, %w : (tensor<1x6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x4xf32>
  %r0 = onnx.ReduceSum %m0, %ax {keepdims = 0 : i64} : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x6xf32>
  %y0 = onnx.Add %r0, %b : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>

  %old1 = onnx.Slice %s1, %one, %four, %ax, %none : (tensor<1x6x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x3xf32>
  %u1 = onnx.Unsqueeze %y0, %ax : (tensor<1x6xf32>, tensor<1xi64>) -> tensor<1x6x1xf32>
  %win1 = onnx.Concat %old1, %u1 {axis = 2 : i64} : (tensor<1x6x3xf32>, tensor<1x6x1xf32>) -> tensor<1x6x4xf32>
  %m1 = onnx.Mul %win1, %w : (tensor<1x6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x4xf32>
  %r1 = onnx.ReduceSum %m1, %ax {keepdims = 0 : i64} : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x6xf32>
  %y1 = onnx.Add %r1, %b : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>

  %n0 = onnx.Unsqueeze %win0, %zero : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x1x6x4xf32>
  %n1 = onnx.Unsqueeze %win1, %zero : (tensor<1x6x4xf32>, tensor<1xi64>) -> tensor<1x1x6x4xf32>
  %all = onnx.Concat %n0, %n1 {axis = 0 : i64} : (tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>) -> tensor<2x1x6x4xf32>
  %y3 = onnx.Unsqueeze %y1, %one : (tensor<1x6xf32>, tensor<1xi64>) -> tensor<1x1x6xf32>
  return %y3, %all : tensor<1x1x6xf32>, tensor<2x1x6x4xf32>
}

// -----

// Tests a step graph's linear written as Gemm(x (b, d), W (out, in), transB = 1): x is the view
// of an m2 (b, 1, d) value, so it is m2.linear with W transposed to (in, out), and the
// Unsqueeze back to (b, 1, out) is looked through.
// CHECK-LABEL: func.func @gemm_step
// CHECK: %[[W:.+]] = m2.constant dense<{{\[\[}}1.000000e+00, 5.000000e+00, 9.000000e+00], [2.000000e+00, 6.000000e+00, 1.000000e+01], [3.000000e+00, 7.000000e+00, 1.100000e+01], [4.000000e+00, 8.000000e+00, 1.200000e+01]]> : tensor<4x3xf32>
// CHECK: %[[X:.+]] = m2.silu
// CHECK: %[[L:.+]] = m2.linear %[[X]], %[[W]] : (tensor<2x1x4xf32>, tensor<4x3xf32>) -> tensor<2x1x3xf32>
// CHECK: return %[[L]] : tensor<2x1x3xf32>
func.func @gemm_step(%in: tensor<2x1x4xf32>) -> tensor<2x1x3xf32> {
  %x3 = m2.silu %in : tensor<2x1x4xf32>
  %flat = onnx.Constant {value = dense<[2, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %x = onnx.Reshape %x3, %flat : (tensor<2x1x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %w = onnx.Constant {value = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
  %none = onnx.NoValue : () -> none
  %g = onnx.Gemm %x, %w, %none {transB = 1 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>, none) -> tensor<2x3xf32>
  %one = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %u = onnx.Unsqueeze %g, %one : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x1x3xf32>
  return %u : tensor<2x1x3xf32>
}
