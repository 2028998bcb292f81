// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that a Gather of a table that is not a constant (here an argument) is not taken for the
// embedding.
// expected-error @+2 {{not raised: embedding at node 'onnx.Gather' (Gather): the table argument 0 (a graph input) is not a constant}}
// expected-note @+1 {{1 onnx op(s) not raised to m2: Gather x1}}
func.func @table_not_constant(%table: tensor<16x6xf32>, %ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %e = onnx.Gather %table, %ids {axis = 0 : i64} : (tensor<16x6xf32>, tensor<1x4xi64>) -> tensor<1x4x6xf32>
  return %e : tensor<1x4x6xf32>
}

// -----

// Tests that a Gather along axis 1 of a constant table (columns, not rows) is not the embedding.
// expected-error @+2 {{not raised: embedding at node 'onnx.Gather' (Gather): it gathers along axis 1, not the rows of the table (axis 0)}}
// expected-note @+1 {{onnx op(s) not raised to m2: Constant x1, Gather x1}}
func.func @gather_axis_1(%ids: tensor<1x4xi64>) -> tensor<16x1x4xf32> {
  %table = onnx.Constant {value = dense<0.5> : tensor<16x6xf32>} : () -> tensor<16x6xf32>
  %e = onnx.Gather %table, %ids {axis = 1 : i64} : (tensor<16x6xf32>, tensor<1x4xi64>) -> tensor<16x1x4xf32>
  return %e : tensor<16x1x4xf32>
}

// -----

// Tests that an embedding whose ids are int32 (not int64) says so, with its node name.
// expected-error @+2 {{not raised: embedding at node '/embedding/Gather' (Gather): the ids argument 0 (a graph input) are not a (batch, length) int64 tensor (or (batch, 1) flattened)}}
// expected-note @+1 {{2 onnx op(s) not raised to m2: Constant x1, Gather x1}}
func.func @ids_int32(%ids: tensor<1x4xi32>) -> tensor<1x4x6xf32> {
  %table = onnx.Constant {value = dense<0.5> : tensor<16x6xf32>} : () -> tensor<16x6xf32>
  %e = onnx.Gather %table, %ids {axis = 0 : i64} : (tensor<16x6xf32>, tensor<1x4xi32>) -> tensor<1x4x6xf32> loc("/embedding/Gather")
  return %e : tensor<1x4x6xf32>
}
