// RUN: mamba2-opt --split-input-file --verify-diagnostics %s

// Tests that a Hadamard of a size isa's fwht does not take is refused.
func.func @hadamard_size(%x: tensor<1x?x20xf32>) -> tensor<1x?x20xf32> {
  // expected-error @+1 {{size 20 is not h * 2^k with h in {1, 12, 40}}}
  %0 = m2.hadamard %x : tensor<1x?x20xf32>
  return %0 : tensor<1x?x20xf32>
}

// -----

// Tests that qlinear scales must have one value per K-group.
func.func @qlinear_groups(%x: tensor<1x?x8xf32>, %w: tensor<2x8xi8>, %s: tensor<2x3xi32>, %o: tensor<2xf32>) -> tensor<1x?x2xf32> {
  // expected-error @+1 {{scales need 2 groups per row, have 3}}
  %0 = m2.qlinear %x, %w, %s, %o {weight_bits = 4 : i64, group = 4 : i64, shift = 0 : i64, act_bits = 8 : i64, act_mode = "token"} : (tensor<1x?x8xf32>, tensor<2x8xi8>, tensor<2x3xi32>, tensor<2xf32>) -> tensor<1x?x2xf32>
  return %0 : tensor<1x?x2xf32>
}

// -----

// Tests that a static activation mode needs its scale.
func.func @qlinear_static(%x: tensor<1x?x8xf32>, %w: tensor<2x8xi8>, %s: tensor<2x1xi32>, %o: tensor<2xf32>) -> tensor<1x?x2xf32> {
  // expected-error @+1 {{act_mode "tensor" needs a positive act_scale}}
  %0 = m2.qlinear %x, %w, %s, %o {weight_bits = 8 : i64, group = 8 : i64, shift = 0 : i64, act_bits = 8 : i64, act_mode = "tensor"} : (tensor<1x?x8xf32>, tensor<2x8xi8>, tensor<2x1xi32>, tensor<2xf32>) -> tensor<1x?x2xf32>
  return %0 : tensor<1x?x2xf32>
}

// -----

// Tests that weights are 8 or 4 bits.
func.func @qlinear_bits(%x: tensor<1x?x8xf32>, %w: tensor<2x8xi8>, %s: tensor<2x1xi32>, %o: tensor<2xf32>) -> tensor<1x?x2xf32> {
  // expected-error @+1 {{weight_bits must be 8 or 4, got 2}}
  %0 = m2.qlinear %x, %w, %s, %o {weight_bits = 2 : i64, group = 8 : i64, shift = 0 : i64, act_bits = 8 : i64, act_mode = "token"} : (tensor<1x?x8xf32>, tensor<2x8xi8>, tensor<2x1xi32>, tensor<2xf32>) -> tensor<1x?x2xf32>
  return %0 : tensor<1x?x2xf32>
}

// -----

// Tests that a pwl table is a header and whole (intercept, slope) pairs.
func.func @pwl_table(%x: tensor<1x?x8xf32>, %t: tensor<7xi32>) -> tensor<1x?x8xf32> {
  // expected-error @+1 {{table of 7 words is not a header and (b, k) pairs}}
  %0 = m2.pwl %x, %t {function = "silu", in_frac = 16 : i64, out_frac = 16 : i64} : (tensor<1x?x8xf32>, tensor<7xi32>) -> tensor<1x?x8xf32>
  return %0 : tensor<1x?x8xf32>
}
