//===- Passes.td - passes of the Mamba2 compiler ---------------------------===//

#ifndef MAMBA2_TRANSFORMS_PASSES
#define MAMBA2_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def OnnxFoldShapes : Pass<"onnx-fold-shapes", "::mlir::func::FuncOp"> {
  let summary = "folds the shape arithmetic of an imported ONNX graph for concrete lengths";
  let description = [{
    Exporters compute shapes at run time for dynamic axes: `Shape`, `Gather`, `Unsqueeze`,
    `Concat`, `ConstantOfShape`, `Mod`, `Equal`, `Where`, `Expand`, `Slice`, `Cast`... Once
    the lengths are concrete (`mamba2c --dim sequence=37`), these chains are constants. The
    pass applies the `onnx` ops' folders (integer arithmetic and data movement only, never
    float arithmetic) until nothing changes and removes what became dead.

    Before:
    ```mlir
    %s = onnx.Shape %x : (tensor<1x37x64xf32>) -> tensor<3xi64>
    %i = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
    %l = onnx.Gather %s, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
    ```
    After:
    ```mlir
    %l = onnx.Constant {value = dense<37> : tensor<i64>} : () -> tensor<i64>
    ```
    With `strict`, a `Shape` op that remains (its input has dynamic dimensions) is an error.
  }];
  let options = [
    Option<"strict", "strict", "bool", /*default=*/"false",
           "fail when a Shape op cannot be folded">
  ];
  let dependentDialects = ["::mamba2::onnxir::OnnxDialect"];
}

def OnnxNormalForms : Pass<"onnx-normal-forms", "::mlir::func::FuncOp"> {
  let summary = "rewrites algebraically equivalent spellings of an `onnx` graph into one form";
  let description = [{
    Exporters write one function in many ways. Before the Mamba2 blocks are recognised, these
    patterns rewrite the spellings that compute the same values into one normal form, so that
    `raise-onnx-to-m2` (which applies them itself first) sees one form per block:

    * softplus with a linear tail: `Where(Greater(x, T), x, Softplus(x))` (PyTorch's
      `softplus(x, threshold=T)`) is `Softplus(x)` for T >= 16, where log(1 + exp(x)) rounds
      to x in float32;
    * SiLU after a transpose: `Transpose(x * Sigmoid(x))` is `t * Sigmoid(t)` with
      `t = Transpose(x)`, so a SiLU between a causal conv and its transpose back moves after it;
    * a product with ones that does not broadcast, `Mul(x, 1)`, is `x` (torch writes
      `torch.reciprocal(v)` as `Reciprocal(v) * 1`);
    * powers of one half, `Pow(v, 0.5)` and `Pow(v, -0.5)`, are `Sqrt(v)` and
      `Reciprocal(Sqrt(v))`;
    * RMS norms are `Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Mul(x, x)), eps))))` (from `Pow(x, 2)`,
      `ReduceSum / N` or `* (1/N)`, `Div(x, Sqrt)`, `Div(1, .)`, eps before or inside the mean);
    * linears are `MatMul(x, W)` of a constant (in, out) W (from `Gemm` with transB 0/1 and a zero
      or no C, `Einsum`, `MatMul(x, Transpose(W))`, rows flattened and reshaped back);
    * causal depthwise convs are `Transpose(Conv(Transpose(x), pads [k-1, 0]))` (from `Conv` +
      `Slice [0, L)`, and from `Pad` + shifted `Slice`s times the taps, stacked or per-tap
      initializers, ends constant or computed from the length; a bias `Add` joins the Conv);
    * a one-element shape expression denoting dimension i of x is `Gather(Shape(x), i)` (its
      size when static).

    Between rounds of the patterns, results whose types know less than their operands say take
    the inferred type (shape inference gives up after a Pad of computed pads).

    Before:
    ```mlir
    %s = onnx.Softplus %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
    %g = onnx.Greater %x, %t20 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xi1>
    %y = onnx.Where %g, %x, %s : (tensor<2x8xi1>, tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
    ```
    After:
    ```mlir
    %y = onnx.Softplus %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
    ```
  }];
  let dependentDialects = ["::mamba2::onnxir::OnnxDialect"];
}

def RaiseOnnxToM2 : Pass<"raise-onnx-to-m2", "::mlir::func::FuncOp"> {
  let summary = "recognises the Mamba2 blocks of an `onnx` graph and rewrites them into `m2`";
  let description = [{
    Applies `onnx-normal-forms` first, then matches the normal forms, in the order the blocks
    appear: the embedding (`Gather` of a 2-D constant), RMS norms (their normal form times a
    weight), linears (`MatMul` with a constant weight), the tied lm_head (`MatMul` with the
    transposed embedding table), the causal depthwise conv (`Transpose`/`Conv` padded before the
    length/`Transpose`, or in a step graph the window
    `Concat(Slice(state, 1:), x)` + `Mul` + `ReduceSum`, which gives `m2.conv1d` with state),
    SiLU (`x * Sigmoid(x)`), the splits of the in_proj and conv outputs (`Split`, or `Slice`s
    that tile the last axis), the SSD (from `softplus(dt + dt_bias)` (`Softplus` or
    `Log(1 + Exp)`), `-exp(A_log)`, x, B, C and `D` to the reshaped `y + D x`, with the
    chunked body, or the recurrent step with a state input, in between), the gated RMS norm and
    residual adds. Weights become `m2.constant`. In a step graph, per-token (b, c) tensors are
    m2's (b, 1, c), and states stacked over layers become one argument and one result per layer.
    Whatever does not match stays in `onnx` ops and is reported as a warning (with
    `strict`, an error) that lists the op types left.

    Before (one RMS norm):
    ```mlir
    %p = onnx.Pow %x, %two : (tensor<1x?x64xf32>, tensor<f32>) -> tensor<1x?x64xf32>
    %m = onnx.ReduceMean %p {axes = [-1]} : (tensor<1x?x64xf32>) -> tensor<1x?x1xf32>
    %a = onnx.Add %m, %eps : (tensor<1x?x1xf32>, tensor<f32>) -> tensor<1x?x1xf32>
    %s = onnx.Sqrt %a : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
    %r = onnx.Div %one, %s : (tensor<f32>, tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
    %n = onnx.Mul %x, %r : (tensor<1x?x64xf32>, tensor<1x?x1xf32>) -> tensor<1x?x64xf32>
    %y = onnx.Mul %n, %w : (tensor<1x?x64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
    ```
    After:
    ```mlir
    %w = m2.constant dense<1.0> : tensor<64xf32>
    %y = m2.rms_norm %x, %w {eps = 9.99999974E-6 : f32} : (tensor<1x?x64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
    ```
  }];
  let options = [
    Option<"strict", "strict", "bool", /*default=*/"false",
           "fail when any `onnx` op is left after raising"> 
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect", "::mamba2::onnxir::OnnxDialect"];
}

#endif // MAMBA2_TRANSFORMS_PASSES
