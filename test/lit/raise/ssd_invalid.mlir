// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that an SSD step whose state is only decayed (S' = (S exp(dt A))^2, no dt x B^T input) is not taken for an SSD: it stays in onnx ops with a note saying why.
// expected-error @+2 {{not raised: SSD at node 'onnx.Reshape' (Reshape): the SSD reads a state but has no update state * decay + input}}
// expected-note @+1 {{23 onnx op(s) not raised to m2}}
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
