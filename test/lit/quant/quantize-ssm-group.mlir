// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm))' %s | FileCheck %s --check-prefix=HEAD
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{group=tensor}))' %s | FileCheck %s --check-prefix=TENSOR
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{group=4}))' %s | FileCheck %s --check-prefix=FOUR
// Tests m2-quantize-ssm's exponent groups on a conv -> SiLU -> split -> ssd with 2 heads of 2
// channels, one B/C group of N = 2, and calibrated ranges by hand (e = ceil(log2(max / 127))).
// Per head (the default): the conv's x part in groups of the head size (maxima 2, 0.5 -> -5, -7),
// its B and C parts per group of N (8 -> -3, 1 -> -6); x per head (1, 4 -> -6, -4), B and C per
// group (2 -> -5, 0.5 -> -7), the 16-bit state per head (100 -> -8; 20 -> -10, at least
// x_exp - dt_frac + b_exp = -19): every exponent one per channel.
// HEAD: m2.conv1d {{.*}}quant.in_exp = dense<[-5, -5, -7, -7, -3, -3, -6, -6]> : tensor<8xi32>, quant.state_bits = 8 : i64, quant.w_exp = dense<-8> : tensor<8xi32>}
// HEAD: m2.ssd {{.*}}quant.b_exp = dense<-5> : tensor<2xi32>, quant.c_exp = dense<-7> : tensor<2xi32>, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = dense<[-8, -8, -10, -10]> : tensor<4xi32>, quant.x_exp = dense<[-6, -6, -4, -4]> : tensor<4xi32>}
// Per tensor (today's form): one integer each, from the tensors' maxima.
// TENSOR: m2.conv1d {{.*}}quant.in_exp = -3 : i64, quant.state_bits = 8 : i64, quant.w_exp = -8 : i64}
// TENSOR: m2.ssd {{.*}}quant.b_exp = -5 : i64, quant.c_exp = -7 : i64, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = -8 : i64, quant.x_exp = -4 : i64}
// Groups of 4 channels: the conv in two groups (2 -> -5, 8 -> -3), x and the state as one group
// of 4 (B and C stay per B/C group).
// FOUR: m2.conv1d {{.*}}quant.in_exp = dense<[-5, -5, -5, -5, -3, -3, -3, -3]> : tensor<8xi32>
// FOUR: m2.ssd {{.*}}quant.b_exp = dense<-5> : tensor<2xi32>, {{.*}}quant.state_exp = dense<-8> : tensor<4xi32>, quant.x_exp = dense<-4> : tensor<4xi32>}

func.func @main(%xbc: tensor<1x?x8xf32>, %dt: tensor<1x?x2xf32>) -> tensor<1x?x4xf32> {
  %cw = m2.constant dense<0.25> : tensor<8x4xf32>
  %cb = m2.constant dense<0.5> : tensor<8xf32>
  %c = m2.conv1d %xbc, %cw, %cb {calib.in_absmax = 8.0 : f32, calib.in_channel_absmax = dense<[1.0, 2.0, 0.5, 0.25, 8.0, 4.0, 1.0, 1.0]> : tensor<8xf32>} : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  %sc = m2.silu %c : tensor<1x?x8xf32>
  %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
  %dtb = m2.constant dense<[-4.0, -3.0]> : tensor<2xf32>
  %A = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  %D = m2.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %y = m2.ssd %x, %dt, %dtb, %A, %B, %C, %D {ngroups = 1 : i64, calib.x_absmax = 4.0 : f32, calib.b_absmax = 2.0 : f32, calib.c_absmax = 0.5 : f32, calib.state_absmax = 100.0 : f32, calib.x_channel_absmax = dense<[1.0, 0.5, 4.0, 2.0]> : tensor<4xf32>, calib.b_channel_absmax = dense<[2.0, 1.0]> : tensor<2xf32>, calib.c_channel_absmax = dense<[0.5, 0.25]> : tensor<2xf32>, calib.state_channel_absmax = dense<[100.0, 50.0, 10.0, 20.0]> : tensor<4xf32>} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}
