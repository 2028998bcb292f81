// Tests that m2-quantize-ssm refuses a state so wide that the scan's int32 output
// y[p] = sum_n S[p][n] C[n] (isa's ssmout) can overflow: |S| <= 2^(bits-1) - 1, |C| <= 128 and
// N terms must stay within 2^31 - 1. With N = 2 that allows 24 bits and refuses 25 (N = 64: 19).
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{state-bits=25}))' %s 2>&1 | FileCheck %s
// CHECK: error: m2-quantize-ssm: a 25-bit state can overflow the scan's int32 output y = sum over N = 2 of S * C (|S| * 128 * N must stay below 2^31); at most 24 bits here
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{state-bits=24}))' %s | FileCheck %s --check-prefix=OK
// OK: m2.ssd {{.*}}quant.state_bits = 24 : i64

func.func @main(%x: tensor<1x?x4xf32>, %dt: tensor<1x?x2xf32>, %B: tensor<1x?x2xf32>, %C: tensor<1x?x2xf32>) -> tensor<1x?x4xf32> {
  %dtb = m2.constant dense<[-4.0, -3.0]> : tensor<2xf32>
  %A = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  %D = m2.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %y = m2.ssd %x, %dt, %dtb, %A, %B, %C, %D {ngroups = 1 : i64, calib.x_absmax = 4.0 : f32, calib.b_absmax = 2.0 : f32, calib.c_absmax = 0.5 : f32, calib.state_absmax = 100.0 : f32, calib.x_channel_absmax = dense<[1.0, 0.5, 4.0, 2.0]> : tensor<4xf32>, calib.b_channel_absmax = dense<[2.0, 1.0]> : tensor<2xf32>, calib.c_channel_absmax = dense<[0.5, 0.25]> : tensor<2xf32>, calib.state_channel_absmax = dense<[100.0, 50.0, 10.0, 20.0]> : tensor<4xf32>} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}
