//===- M2Ops.td - the Mamba2 model-level dialect ---------------------------===//
//
// The blocks of a Mamba2 language model as single ops, in fp32. Activations are
// (batch, length, channels) tensors, channels last; lengths may be dynamic (`?`).
//
//===----------------------------------------------------------------------===//

#ifndef MAMBA2_DIALECT_M2_OPS
#define MAMBA2_DIALECT_M2_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def M2_Dialect : Dialect {
  let name = "m2";
  let summary = "Mamba2 model-level operations (fp32)";
  let description = [{
    One op per block of a Mamba2 language model: embedding, RMS norm, linear, causal
    depthwise conv1d, SiLU, softplus, the SSD state-space scan, gated RMS norm, residual add
    and the tied lm_head. The raising pass produces it from the `onnx` dialect; the fp32
    evaluator runs it; quantisation and lowering to the overlay start from it.
  }];
  let cppNamespace = "::mamba2::m2";
}

def M2_F32Tensor : TensorOf<[F32]>;
def M2_I64Tensor : TensorOf<[I64]>;

class M2_Op<string mnemonic, list<Trait> traits = []>
    : Op<M2_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def M2_ConstantOp : M2_Op<"constant", [ConstantLike, AllTypesMatch<["value", "output"]>]> {
  let summary = "a weight or other constant tensor";
  let description = [{
    ```mlir
    %w = m2.constant dense<1.0> : tensor<64xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def M2_EmbeddingOp : M2_Op<"embedding"> {
  let summary = "looks up token ids in an embedding table";
  let description = [{
    `ids` (b, l) int64, `table` (vocab, d) -> (b, l, d).

    ```mlir
    %h = m2.embedding %ids, %table : (tensor<1x?xi64>, tensor<256x64xf32>) -> tensor<1x?x64xf32>
    ```
  }];
  let arguments = (ins M2_I64Tensor:$ids, M2_F32Tensor:$table);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$ids `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def M2_RMSNormOp : M2_Op<"rms_norm"> {
  let summary = "x / sqrt(mean(x^2 over the last axis) + eps) * weight";
  let description = [{
    ```mlir
    %n = m2.rms_norm %x, %w {eps = 1.0e-5 : f32} : (tensor<1x?x64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, M2_F32Tensor:$weight, F32Attr:$eps);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def M2_LinearOp : M2_Op<"linear"> {
  let summary = "x @ weight over the last axis; weight is (in, out) as in ONNX MatMul";
  let description = [{
    The weight keeps the (in_features, out_features) layout of the ONNX MatMul it came from,
    so that raising does not copy it.

    ```mlir
    %y = m2.linear %x, %w : (tensor<1x?x64xf32>, tensor<64x328xf32>) -> tensor<1x?x328xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, M2_F32Tensor:$weight);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def M2_SplitOp : M2_Op<"split"> {
  let summary = "splits the last axis into consecutive parts of the given sizes";
  let description = [{
    ```mlir
    %z, %xbc, %dt = m2.split %p {sizes = array<i64: 128, 192, 8>}
        : (tensor<1x?x328xf32>) -> (tensor<1x?x128xf32>, tensor<1x?x192xf32>, tensor<1x?x8xf32>)
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<M2_F32Tensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def M2_Conv1dOp : M2_Op<"conv1d"> {
  let summary = "causal depthwise 1-D convolution along the length, with bias";
  let description = [{
    `input` (b, l, c), `weight` (c, k), `bias` (c):
    `out[b, t, c] = bias[c] + sum_j weight[c, j] * h[b, t + j, c]` where `h` is the input
    preceded by k - 1 earlier inputs.

    Without `state` the earlier inputs are zeros at the start of a sequence; an evaluator that
    runs the op again (decode) carries them itself. With `state` (b, c, k), the conv state of
    upstream Mamba2 (the last k inputs, oldest first; its first column is no longer read), the
    earlier inputs are `state[:, :, 1:]` and the op has a second result, the new state: the
    last k columns of `state ++ input`. A decode step (l = 1) of the exported step graph is
    this op with a state.

    ```mlir
    %y = m2.conv1d %x, %w, %b : (tensor<1x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> tensor<1x?x192xf32>
    %y1, %s1 = m2.conv1d %x1, %w, %b state %s0
        : (tensor<?x1x192xf32>, tensor<192x4xf32>, tensor<192xf32>, tensor<?x192x4xf32>)
          -> (tensor<?x1x192xf32>, tensor<?x192x4xf32>)
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, M2_F32Tensor:$weight, M2_F32Tensor:$bias,
                   Optional<M2_F32Tensor>:$state);
  let results = (outs M2_F32Tensor:$output, Optional<M2_F32Tensor>:$new_state);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias (`state` $state^)? attr-dict `:` functional-type(operands, results)
  }];
  let builders = [
    // Without state (the whole-sequence form).
    OpBuilder<(ins "::mlir::Type":$output, "::mlir::Value":$input, "::mlir::Value":$weight,
                   "::mlir::Value":$bias), [{
      build($_builder, $_state, output, ::mlir::Type(), input, weight, bias, ::mlir::Value());
    }]>
  ];
  let hasVerifier = 1;
}

class M2_UnaryOp<string mnemonic, string what> : M2_Op<mnemonic, [SameOperandsAndResultType]> {
  let summary = what;
  let description = [{
    ```mlir
    %y = m2.}] # mnemonic # [{ %x : tensor<1x?x192xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def M2_SiluOp : M2_UnaryOp<"silu", "x * sigmoid(x)">;
def M2_SoftplusOp : M2_UnaryOp<"softplus", "log(1 + exp(x))">;

def M2_SSDOp : M2_Op<"ssd"> {
  let summary = "the Mamba2 selective state-space scan (SSD) with the D skip";
  let description = [{
    Operands (b = batch, l = length, h = heads, p = headdim, g = ngroups, n = d_state):
    `x` (b, l, h*p), `dt` (b, l, h) before the softplus, `dt_bias` (h), `A` (h, negative),
    `B` and `C` (b, l, g*n), `D` (h). Heads h use group h / (h / g). With
    `dt' = softplus(dt + dt_bias)`, per head the state S (p, n) evolves as
    `S_t = exp(dt'_t A) S_{t-1} + dt'_t x_t B_t^T` and `y_t = S_t C_t + D x_t`.
    With `dt_min` / `dt_max`, dt' is clamped to [dt_min, dt_max] after the softplus
    (transformers' `time_step_limit`). The result is y (b, l, h*p). `chunk_size` records the chunk length of the exported
    chunked form; the function does not depend on it.

    Without `state`, S starts at zero (an evaluator that runs the op again carries it
    itself). With `state` (b, h, p, n), S starts there and the op has a second result, the
    state after the last step. A decode step (l = 1) of the exported step graph is this op
    with a state.

    ```mlir
    %y = m2.ssd %x, %dt, %dt_bias, %A, %B, %C, %D {ngroups = 2 : i64, chunk_size = 16 : i64}
        : (tensor<1x?x128xf32>, tensor<1x?x8xf32>, tensor<8xf32>, tensor<8xf32>,
           tensor<1x?x32xf32>, tensor<1x?x32xf32>, tensor<8xf32>) -> tensor<1x?x128xf32>
    %y1, %s1 = m2.ssd %x, %dt, %dt_bias, %A, %B, %C, %D state %s0 {ngroups = 2 : i64}
        : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<8xf32>, tensor<8xf32>,
           tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>)
          -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    ```
  }];
  let arguments = (ins M2_F32Tensor:$x, M2_F32Tensor:$dt, M2_F32Tensor:$dt_bias, M2_F32Tensor:$A,
                   M2_F32Tensor:$B, M2_F32Tensor:$C, M2_F32Tensor:$D,
                   Optional<M2_F32Tensor>:$state,
                   ConfinedAttr<I64Attr, [IntPositive]>:$ngroups,
                   DefaultValuedAttr<I64Attr, "0">:$chunk_size,
                   OptionalAttr<F32Attr>:$dt_min, OptionalAttr<F32Attr>:$dt_max);
  let results = (outs M2_F32Tensor:$y, Optional<M2_F32Tensor>:$new_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $dt_bias `,` $A `,` $B `,` $C `,` $D (`state` $state^)? attr-dict `:` functional-type(operands, results)
  }];
  let builders = [
    // Without state (the whole-sequence form).
    OpBuilder<(ins "::mlir::Type":$y, "::mlir::Value":$x, "::mlir::Value":$dt,
                   "::mlir::Value":$dt_bias, "::mlir::Value":$A, "::mlir::Value":$B,
                   "::mlir::Value":$C, "::mlir::Value":$D, "::mlir::IntegerAttr":$ngroups,
                   "::mlir::IntegerAttr":$chunk_size), [{
      build($_builder, $_state, y, ::mlir::Type(), x, dt, dt_bias, A, B, C, D, ::mlir::Value(),
            ngroups, chunk_size, /*dt_min=*/nullptr, /*dt_max=*/nullptr);
    }]>
  ];
  let hasVerifier = 1;
}

def M2_GatedRMSNormOp : M2_Op<"gated_rms_norm"> {
  let summary = "rmsnorm(y * silu(z)) * weight, normalised per group of channels";
  let description = [{
    `y`, `z` (b, l, d), `weight` (d); the d channels form `ngroups` groups of d / ngroups,
    each normalised on its own.

    ```mlir
    %o = m2.gated_rms_norm %y, %z, %w {eps = 1.0e-5 : f32, ngroups = 2 : i64}
        : (tensor<1x?x128xf32>, tensor<1x?x128xf32>, tensor<128xf32>) -> tensor<1x?x128xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$y, M2_F32Tensor:$z, M2_F32Tensor:$weight, F32Attr:$eps,
                   ConfinedAttr<I64Attr, [IntPositive]>:$ngroups);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$y `,` $z `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def M2_ResidualAddOp : M2_Op<"residual_add", [SameOperandsAndResultType]> {
  let summary = "the residual connection: residual + block output";
  let description = [{
    ```mlir
    %h1 = m2.residual_add %h0, %o : tensor<1x?x64xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$residual, M2_F32Tensor:$update);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$residual `,` $update attr-dict `:` type($output)";
}

def M2_LMHeadOp : M2_Op<"lm_head"> {
  let summary = "logits = x @ table^T with the (tied) embedding table (vocab, d)";
  let description = [{
    ```mlir
    %logits = m2.lm_head %x, %table : (tensor<1x?x64xf32>, tensor<256x64xf32>) -> tensor<1x?x256xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, M2_F32Tensor:$table);
  let results = (outs M2_F32Tensor:$logits);
  let assemblyFormat = "$input `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Quantisation (compiler/lib/Transforms/Quant*.cpp produce these; see docs/passes.md)
//===----------------------------------------------------------------------===//

def M2_I8Tensor : TensorOf<[I8]>;
def M2_I32Tensor : TensorOf<[I32]>;

def M2_HadamardOp : M2_Op<"hadamard", [SameOperandsAndResultType]> {
  let summary = "orthonormal Hadamard transform of the last axis, as isa's fwht computes it";
  let description = [{
    `y = H (s * x) / sqrt(n)` along the last axis (n channels), where `H = H_h (x) H_{2^k}`
    is the matrix of `isa`'s `fwht` (n = h * 2^k, h in {1, 12, 40}; element index a * 2^k + b)
    and `s` is all ones when `seed` is 0, else the random signs of `seed` (bit 0 of successive
    std::mt19937 outputs: 1 -> -1). The rotate pass inserts it before out_proj (online
    Hadamard of d_inner) and folds its inverse into the weight.

    ```mlir
    %r = m2.hadamard %g {seed = 7 : i64} : tensor<1x?x1536xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def M2_QLinearOp : M2_Op<"qlinear"> {
  let summary = "a linear layer with integer weights and activations (isa gmm8 / gmm4)";
  let description = [{
    `weight` (out, in) holds the integer weights (in [-127, 127] for `weight_bits` 8, in
    [-8, 7] for 4), `scales` (out, in / group) the fixed-point scale of each K-group, `out_scale`
    (out) the real value of one unit of the accumulator. The activation row x_m is quantised
    to `act_bits` (8: [-127, 127], 4: [-7, 7]) with the scale a_m = max|x_m| / qmax
    (`act_mode` "token", dynamic) or `act_scale` (`act_mode` "tensor", static), rounding half
    away from zero. Then, exactly as `isa`'s grouped matmul (ref::matmulGrouped):
    `acc[m][n] = sum_g sat32(scaleGroup(sum_{k in g} q[m][k] w[n][k], scales[n][g], shift))`
    and `y[m][n] = acc[m][n] * a_m * out_scale[n]`.

    ```mlir
    %y = m2.qlinear %x, %w, %s, %o {weight_bits = 4 : i64, group = 128 : i64, shift = 10 : i64,
                                    act_bits = 8 : i64, act_mode = "token"}
        : (tensor<1x?x256xf32>, tensor<1160x256xi8>, tensor<1160x2xi32>, tensor<1160xf32>)
          -> tensor<1x?x1160xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, M2_I8Tensor:$weight, M2_I32Tensor:$scales,
                   M2_F32Tensor:$out_scale, I64Attr:$weight_bits, I64Attr:$group, I64Attr:$shift,
                   I64Attr:$act_bits, StrAttr:$act_mode, OptionalAttr<F32Attr>:$act_scale);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales `,` $out_scale attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def M2_PwlOp : M2_Op<"pwl"> {
  let summary = "a function evaluated piecewise-linearly from a table (isa pwl)";
  let description = [{
    `y = pwl(table, sat32(round(x * 2^in_frac))) / 2^out_frac` elementwise, with `isa`'s
    ref::pwl and the table layout of isa/PwlBuild.h (header x0, segShift, n, slopeShift, then
    n (intercept, slope) pairs). `function` names what the table approximates.

    ```mlir
    %y = m2.pwl %x, %t {function = "silu", in_frac = 16 : i64, out_frac = 16 : i64}
        : (tensor<1x?x640xf32>, tensor<68xi32>) -> tensor<1x?x640xf32>
    ```
  }];
  let arguments = (ins M2_F32Tensor:$input, M2_I32Tensor:$table, StrAttr:$function,
                   I64Attr:$in_frac, I64Attr:$out_frac);
  let results = (outs M2_F32Tensor:$output);
  let assemblyFormat = "$input `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // MAMBA2_DIALECT_M2_OPS
