// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-linear{group=3 weight-bits=4}))' --split-input-file --verify-diagnostics %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-linear{act-mode=tensor}))' %S/Inputs/tiny.m2 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-quantize-linear{weight-bits=5}))' %S/Inputs/tiny.m2 2>&1 | FileCheck %s --check-prefix=BITS

// Tests that a group that does not divide K is refused.
func.func @group(%x: tensor<1x?x4xf32>) -> tensor<1x?x2xf32> {
  %w = m2.constant dense<1.0> : tensor<4x2xf32>
  // expected-error @+1 {{m2-quantize-linear: group 3 does not divide the 4 input features}}
  %y = m2.linear %x, %w : (tensor<1x?x4xf32>, tensor<4x2xf32>) -> tensor<1x?x2xf32>
  return %y : tensor<1x?x2xf32>
}

// STATIC: error: m2-quantize-linear: act-mode=tensor needs calib.absmax on the op (run m2-calibrate first)
// BITS: error: m2-quantize-linear: weight-bits must be 8 or 4, got 5
