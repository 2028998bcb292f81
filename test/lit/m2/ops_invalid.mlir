// RUN: mamba2-opt --split-input-file --verify-diagnostics %s

// Tests that a linear whose weight does not fit the input features is refused.
func.func @linear_features(%x: tensor<1x4x64xf32>, %w: tensor<32x16xf32>) -> tensor<1x4x16xf32> {
  // expected-error @+1 {{input has 64 features, the weight expects 32}}
  %0 = m2.linear %x, %w : (tensor<1x4x64xf32>, tensor<32x16xf32>) -> tensor<1x4x16xf32>
  return %0 : tensor<1x4x16xf32>
}

// -----

// Tests that split sizes must add up to the input width.
func.func @split_sum(%x: tensor<1x4x10xf32>) -> tensor<1x4x4xf32> {
  // expected-error @+1 {{sizes sum to 8 but the input has 10}}
  %0:2 = m2.split %x {sizes = array<i64: 4, 4>} : (tensor<1x4x10xf32>) -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>)
  return %0#0 : tensor<1x4x4xf32>
}

// -----

// Tests that an SSD whose heads are not a multiple of ngroups is refused.
func.func @ssd_groups(%x: tensor<1x4x24xf32>, %dt: tensor<1x4x3xf32>, %h: tensor<3xf32>, %b: tensor<1x4x8xf32>) -> tensor<1x4x24xf32> {
  // expected-error @+1 {{heads (3) are not a multiple of ngroups (2)}}
  %0 = m2.ssd %x, %dt, %h, %h, %b, %b, %h {ngroups = 2 : i64} : (tensor<1x4x24xf32>, tensor<1x4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<3xf32>) -> tensor<1x4x24xf32>
  return %0 : tensor<1x4x24xf32>
}

// -----

// Tests that an SSD whose dt clamp is empty (dt_min above dt_max) is refused.
func.func @ssd_dt_limit(%x: tensor<1x4x24xf32>, %dt: tensor<1x4x3xf32>, %h: tensor<3xf32>, %b: tensor<1x4x8xf32>) -> tensor<1x4x24xf32> {
  // expected-error @+1 {{dt_min (2.000000e-01) is above dt_max (1.000000e-01)}}
  %0 = m2.ssd %x, %dt, %h, %h, %b, %b, %h {ngroups = 1 : i64, dt_min = 0.2 : f32, dt_max = 0.1 : f32} : (tensor<1x4x24xf32>, tensor<1x4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<3xf32>) -> tensor<1x4x24xf32>
  return %0 : tensor<1x4x24xf32>
}

// -----

// Tests that an SSD needs one dt_bias, A and D value per head.
func.func @ssd_heads(%x: tensor<1x4x24xf32>, %dt: tensor<1x4x3xf32>, %h: tensor<4xf32>, %b: tensor<1x4x8xf32>) -> tensor<1x4x24xf32> {
  // expected-error @+1 {{dt_bias, A and D need one value per head (3)}}
  %0 = m2.ssd %x, %dt, %h, %h, %b, %b, %h {ngroups = 1 : i64} : (tensor<1x4x24xf32>, tensor<1x4x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4xf32>) -> tensor<1x4x24xf32>
  return %0 : tensor<1x4x24xf32>
}

// -----

// Tests that a conv1d weight must have one row per channel.
func.func @conv_channels(%x: tensor<1x4x8xf32>, %w: tensor<6x4xf32>, %b: tensor<8xf32>) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{weight and bias must have one row per channel (8)}}
  %0 = m2.conv1d %x, %w, %b : (tensor<1x4x8xf32>, tensor<6x4xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

// Tests that a gated norm's channels must split into whole groups.
func.func @gated_groups(%y: tensor<1x4x10xf32>, %w: tensor<10xf32>) -> tensor<1x4x10xf32> {
  // expected-error @+1 {{channels (10) are not a multiple of ngroups (4)}}
  %0 = m2.gated_rms_norm %y, %y, %w {eps = 1.0e-5 : f32, ngroups = 4 : i64} : (tensor<1x4x10xf32>, tensor<1x4x10xf32>, tensor<10xf32>) -> tensor<1x4x10xf32>
  return %0 : tensor<1x4x10xf32>
}

// -----

// Tests that the lm_head's logits width must be the vocabulary size.
func.func @lm_head_vocab(%x: tensor<1x4x64xf32>, %t: tensor<256x64xf32>) -> tensor<1x4x255xf32> {
  // expected-error @+1 {{logits width 255 differs from the vocabulary 256}}
  %0 = m2.lm_head %x, %t : (tensor<1x4x64xf32>, tensor<256x64xf32>) -> tensor<1x4x255xf32>
  return %0 : tensor<1x4x255xf32>
}

// -----

// Tests that the embedding ids must be int64.
func.func @embedding_ids(%ids: tensor<1x4xi32>, %t: tensor<256x64xf32>) -> tensor<1x4x64xf32> {
  // expected-error @+1 {{operand #0 must be tensor of 64-bit signless integer values}}
  %0 = m2.embedding %ids, %t : (tensor<1x4xi32>, tensor<256x64xf32>) -> tensor<1x4x64xf32>
  return %0 : tensor<1x4x64xf32>
}

// -----

// Tests that a conv1d state must have one row per channel and one column per tap.
func.func @conv_state_shape(%x: tensor<1x1x6xf32>, %w: tensor<6x4xf32>, %b: tensor<6xf32>, %s: tensor<1x6x3xf32>) -> tensor<1x1x6xf32> {
  // expected-error @+1 {{state 'tensor<1x6x3xf32>' is not (batch, channels, kernel) for input 'tensor<1x1x6xf32>' and weight 'tensor<6x4xf32>'}}
  %y, %s1 = m2.conv1d %x, %w, %b state %s : (tensor<1x1x6xf32>, tensor<6x4xf32>, tensor<6xf32>, tensor<1x6x3xf32>) -> (tensor<1x1x6xf32>, tensor<1x6x3xf32>)
  return %y : tensor<1x1x6xf32>
}

// -----

// Tests that a state operand needs the new-state result (generic form: the custom one cannot
// write it).
func.func @conv_state_no_result(%x: tensor<1x1x6xf32>, %w: tensor<6x4xf32>, %b: tensor<6xf32>, %s: tensor<1x6x4xf32>) -> tensor<1x1x6xf32> {
  // expected-error @+1 {{has a state operand but no new-state result}}
  %y = "m2.conv1d"(%x, %w, %b, %s) : (tensor<1x1x6xf32>, tensor<6x4xf32>, tensor<6xf32>, tensor<1x6x4xf32>) -> tensor<1x1x6xf32>
  return %y : tensor<1x1x6xf32>
}

// -----

// Tests that the new state has the state's type.
func.func @conv_new_state_type(%x: tensor<1x1x6xf32>, %w: tensor<6x4xf32>, %b: tensor<6xf32>, %s: tensor<1x6x4xf32>) -> tensor<1x1x6xf32> {
  // expected-error @+1 {{new state 'tensor<2x6x4xf32>' must have the state's type 'tensor<1x6x4xf32>'}}
  %y, %s1 = m2.conv1d %x, %w, %b state %s : (tensor<1x1x6xf32>, tensor<6x4xf32>, tensor<6xf32>, tensor<1x6x4xf32>) -> (tensor<1x1x6xf32>, tensor<2x6x4xf32>)
  return %y : tensor<1x1x6xf32>
}

// -----

// Tests that an SSD state must be (batch, heads, headdim, d_state): here headdim is 24 / 3 = 8,
// not 4.
func.func @ssd_state_shape(%x: tensor<1x1x24xf32>, %dt: tensor<1x1x3xf32>, %h: tensor<3xf32>, %b: tensor<1x1x8xf32>, %s: tensor<1x3x4x8xf32>) -> tensor<1x1x24xf32> {
  // expected-error @+1 {{state 'tensor<1x3x4x8xf32>' is not (batch, heads, headdim, d_state) = (1, 3, 8, 8)}}
  %y, %s1 = m2.ssd %x, %dt, %h, %h, %b, %b, %h state %s {ngroups = 1 : i64} : (tensor<1x1x24xf32>, tensor<1x1x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<3xf32>, tensor<1x3x4x8xf32>) -> (tensor<1x1x24xf32>, tensor<1x3x4x8xf32>)
  return %y : tensor<1x1x24xf32>
}
