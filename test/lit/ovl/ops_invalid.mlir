// RUN: mamba2-opt %s -split-input-file -verify-diagnostics
// What the ovl verifiers refuse.

func.func @group_does_not_divide(%a: tensor<?x6xi8>, %w: tensor<4x6xi8>, %s: tensor<4x1xi32>) -> tensor<?x4xi32> {
  // expected-error @+1 {{group 4 does not divide K = 6}}
  %p = ovl.matmul %a, %w, %s {bits = 8, group = 4, shift = 0} : (tensor<?x6xi8>, tensor<4x6xi8>, tensor<4x1xi32>) -> tensor<?x4xi32>
  return %p : tensor<?x4xi32>
}

// -----

func.func @odd_k_int4(%a: tensor<?x5xi8>, %w: tensor<4x5xi8>, %s: tensor<4x1xi32>) -> tensor<?x4xi32> {
  // expected-error @+1 {{4-bit weights need an even K, got 5}}
  %p = ovl.matmul %a, %w, %s {bits = 4, group = 5, shift = 0} : (tensor<?x5xi8>, tensor<4x5xi8>, tensor<4x1xi32>) -> tensor<?x4xi32>
  return %p : tensor<?x4xi32>
}

// -----

func.func @bad_broadcast(%x: tensor<?x6xi32>, %y: tensor<?x4xi32>) -> tensor<?x6xi32> {
  // expected-error @+1 {{y's channel count 4 does not divide x's 6}}
  %m = ovl.mul %x, %y {shift = 0} : (tensor<?x6xi32>, tensor<?x4xi32>) -> tensor<?x6xi32>
  return %m : tensor<?x6xi32>
}

// -----

func.func @shift_range(%x: tensor<?x6xi32>) -> tensor<?x6xi8> {
  // expected-error @+1 {{shift = 64 is outside 0..63}}
  %m = ovl.shr %x {shift = 64} : (tensor<?x6xi32>) -> tensor<?x6xi8>
  return %m : tensor<?x6xi8>
}

// -----

func.func @fwht_size(%x: tensor<?x20xi32>) -> tensor<?x20xi32> {
  // expected-error @+1 {{width 20 is not h * 2^k with h in {1, 12, 40}}}
  %m = ovl.fwht %x : (tensor<?x20xi32>) -> tensor<?x20xi32>
  return %m : tensor<?x20xi32>
}

// -----

func.func @slice_outside(%x: tensor<?x6xi8>) -> tensor<?x4xi8> {
  // expected-error @+1 {{channels 4..8 are not inside 0..6}}
  %m = ovl.slice %x {offset = 4, size = 4} : (tensor<?x6xi8>) -> tensor<?x4xi8>
  return %m : tensor<?x4xi8>
}

// -----

func.func @ssm_heads(%dtx: tensor<?x6xi32>, %d: tensor<?x3xi32>, %b: tensor<?x4xi8>, %s: tensor<3x2x4xi32>) -> tensor<?x6xi32> {
  // expected-error @+1 {{ngroups = 2 does not divide the head count 3}}
  %y, %s1 = ovl.ssm %dtx, %d, %b, %b, %s {ngroups = 2, decay_shift = 15, in_shift = 0, out_shift = 0}
      : (tensor<?x6xi32>, tensor<?x3xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<3x2x4xi32>) -> (tensor<?x6xi32>, tensor<3x2x4xi32>)
  return %y : tensor<?x6xi32>
}

// -----

func.func @conv_taps(%x: tensor<?x8xi8>, %w: tensor<8x3xi8>, %b: tensor<8xi32>, %s: tensor<8x3xi8>) -> tensor<?x8xi32> {
  // expected-error @+1 {{weight's tap count is 3, expected 4}}
  %y, %s1 = ovl.conv4 %x, %w, %b, %s : (tensor<?x8xi8>, tensor<8x3xi8>, tensor<8xi32>, tensor<8x3xi8>) -> (tensor<?x8xi32>, tensor<8x3xi8>)
  return %y : tensor<?x8xi32>
}

// -----

func.func @float_constant() -> tensor<4xf32> {
  // expected-error @+1 {{value must hold i8 or i32 elements, got 'f32'}}
  %c = ovl.constant dense<1.0> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @concat_width(%x: tensor<?x2xi32>, %y: tensor<?x3xi32>) -> tensor<?x6xi32> {
  // expected-error @+1 {{the result's width is 6, expected 5}}
  %c = ovl.concat %x, %y : (tensor<?x2xi32>, tensor<?x3xi32>) -> tensor<?x6xi32>
  return %c : tensor<?x6xi32>
}

// -----

func.func @concat_types(%x: tensor<?x2xi32>, %y: tensor<?x2xi8>) -> tensor<?x4xi32> {
  // expected-error @+1 {{operand 1's element type differs from the result's}}
  %c = ovl.concat %x, %y : (tensor<?x2xi32>, tensor<?x2xi8>) -> tensor<?x4xi32>
  return %c : tensor<?x4xi32>
}

// -----

func.func @ssd_chunk_rows(%x: tensor<?x4xi8>, %d: tensor<?x2xi32>, %b: tensor<?x4xi8>, %s: tensor<2x2x4xi32>) -> tensor<?x4xi32> {
  // expected-error @+1 {{chunk = 65 is outside 1..64}}
  %y, %s1 = ovl.ssd_chunk %x, %d, %d, %b, %b, %s {ngroups = 1, chunk = 65, decay_shift = 15,
      mult_exp = array<i64: 0, 0>, gd_shift = 0, md_shift = 9, m_split = 15, y_shift = -6,
      state_split = 0, c_shift = 15, w_shift = 0, bw_shift = 2, bw_split = 15, s_shift = 2}
      : (tensor<?x4xi8>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<2x2x4xi32>) -> (tensor<?x4xi32>, tensor<2x2x4xi32>)
  return %y : tensor<?x4xi32>
}

// -----

func.func @ssd_chunk_d(%x: tensor<?x4xi8>, %d: tensor<?x4xi32>, %a: tensor<?x2xi32>, %b: tensor<?x4xi8>, %s: tensor<2x2x4xi32>) -> tensor<?x4xi32> {
  // expected-error @+1 {{d's width is 4, expected 2}}
  %y, %s1 = ovl.ssd_chunk %x, %d, %a, %b, %b, %s {ngroups = 1, chunk = 8, decay_shift = 15,
      mult_exp = array<i64: 0, 0>, gd_shift = 0, md_shift = 9, m_split = 15, y_shift = -6,
      state_split = 0, c_shift = 15, w_shift = 0, bw_shift = 2, bw_split = 15, s_shift = 2}
      : (tensor<?x4xi8>, tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<2x2x4xi32>) -> (tensor<?x4xi32>, tensor<2x2x4xi32>)
  return %y : tensor<?x4xi32>
}

// -----

func.func @ssd_chunk_mult(%x: tensor<?x4xi8>, %d: tensor<?x2xi32>, %b: tensor<?x4xi8>, %s: tensor<2x2x4xi32>) -> tensor<?x4xi32> {
  // expected-error @+1 {{mult_exp has 3 exponents, expected one per head (2)}}
  %y, %s1 = ovl.ssd_chunk %x, %d, %d, %b, %b, %s {ngroups = 1, chunk = 8, decay_shift = 15,
      mult_exp = array<i64: 0, 0, 0>, gd_shift = 0, md_shift = 9, m_split = 15, y_shift = -6,
      state_split = 0, c_shift = 15, w_shift = 0, bw_shift = 2, bw_split = 15, s_shift = 2}
      : (tensor<?x4xi8>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<2x2x4xi32>) -> (tensor<?x4xi32>, tensor<2x2x4xi32>)
  return %y : tensor<?x4xi32>
}

// -----

func.func @ssd_chunk_shift(%x: tensor<?x4xi8>, %d: tensor<?x2xi32>, %b: tensor<?x4xi8>, %s: tensor<2x2x4xi32>) -> tensor<?x4xi32> {
  // expected-error @+1 {{y_shift - mult_exp[1] = -24 is outside -23..63}}
  %y, %s1 = ovl.ssd_chunk %x, %d, %d, %b, %b, %s {ngroups = 1, chunk = 8, decay_shift = 15,
      mult_exp = array<i64: 0, 4>, gd_shift = 0, md_shift = 9, m_split = 15, y_shift = -20,
      state_split = 0, c_shift = 15, w_shift = 0, bw_shift = 2, bw_split = 15, s_shift = 2}
      : (tensor<?x4xi8>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<2x2x4xi32>) -> (tensor<?x4xi32>, tensor<2x2x4xi32>)
  return %y : tensor<?x4xi32>
}
