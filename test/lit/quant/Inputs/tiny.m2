// A two-block toy: d_model 4, one in_proj (4 -> 8), SiLU, out_proj (8 -> 4), tied lm_head.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x3xf32> {
  %table = m2.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]> : tensor<3x4xf32>
  %w1 = m2.constant dense<[1.0, 2.0, 0.5, 4.0]> : tensor<4xf32>
  %win = m2.constant dense<[[1.0, 0.0, 0.5, 0.0, 1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 0.0, 0.5, 0.0, 1.0, 2.0, 0.0], [0.25, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 1.0], [0.0, -0.5, 0.0, 1.0, 0.0, 2.0, 1.0, 0.0]]> : tensor<4x8xf32>
  %wout = m2.constant dense<[[1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.5, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [-1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, -1.0]]> : tensor<8x4xf32>
  %w2 = m2.constant dense<[0.5, 1.0, 1.5, 2.0]> : tensor<4xf32>
  %h = m2.embedding %ids, %table : (tensor<1x?xi64>, tensor<3x4xf32>) -> tensor<1x?x4xf32>
  %n = m2.rms_norm %h, %w1 {eps = 1.0e-5 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %p = m2.linear %n, %win : (tensor<1x?x4xf32>, tensor<4x8xf32>) -> tensor<1x?x8xf32>
  %s = m2.silu %p : tensor<1x?x8xf32>
  %o = m2.linear %s, %wout : (tensor<1x?x8xf32>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  %h1 = m2.residual_add %h, %o : tensor<1x?x4xf32>
  %n2 = m2.rms_norm %h1, %w2 {eps = 1.0e-5 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %l = m2.lm_head %n2, %table : (tensor<1x?x4xf32>, tensor<3x4xf32>) -> tensor<1x?x3xf32>
  return %l : tensor<1x?x3xf32>
}
