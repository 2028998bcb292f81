// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm))' --split-input-file --verify-diagnostics %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{state-bits=4}))' %s 2>&1 | FileCheck %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{group=heads}))' %s 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-ssm{group=0}))' %s 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: m2-quantize-ssm: group must be tensor, head or a positive channel count, not '{{heads|0}}'

// Tests that a conv without calibrated ranges is refused.
func.func @uncalibrated(%x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %w = m2.constant dense<0.5> : tensor<4x4xf32>
  %b = m2.constant dense<0.0> : tensor<4xf32>
  // expected-error @+1 {{m2-quantize-ssm: no calib.in_absmax (run m2-calibrate first)}}
  %y = m2.conv1d %x, %w, %b : (tensor<1x?x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}

// -----

// Tests that a conv whose kernel is not 4 wide (isa's conv4Step) is refused.
func.func @kernel(%x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %w = m2.constant dense<0.5> : tensor<4x3xf32>
  %b = m2.constant dense<0.0> : tensor<4xf32>
  // expected-error @+1 {{the integer conv takes a constant (C, 4) weight and no state operand}}
  %y = m2.conv1d %x, %w, %b {calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}

// CHECK: m2-quantize-ssm: state-bits must be 8..32, dt-frac 0..20, decay-frac 1..30

// -----

// Tests that per-group exponents (the default, group=head) need the per-channel ranges.
func.func @no_channel_ranges(%x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %w = m2.constant dense<0.5> : tensor<4x4xf32>
  %b = m2.constant dense<0.0> : tensor<4xf32>
  // expected-error @+1 {{m2-quantize-ssm: no calib.in_channel_absmax of 4 channels (run m2-calibrate first)}}
  %y = m2.conv1d %x, %w, %b {calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}
