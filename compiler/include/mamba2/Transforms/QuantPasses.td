//===- QuantPasses.td - the quantisation passes of the Mamba2 compiler ----===//
//
// fold norms -> rotate -> calibrate -> quantize (docs/passes.md has an example of each).
//
//===----------------------------------------------------------------------===//

#ifndef MAMBA2_TRANSFORMS_QUANTPASSES
#define MAMBA2_TRANSFORMS_QUANTPASSES

include "mlir/Pass/PassBase.td"

def M2FoldNorms : Pass<"m2-fold-norms", "::mlir::func::FuncOp"> {
  let summary = "folds RMS norm weights into the linear layers that read the norm";
  let description = [{
    `rms_norm(x, w) @ W` = `rms_norm(x, 1) @ (diag(w) W)`: the weight of an `m2.rms_norm`
    whose every user is an `m2.linear` or `m2.lm_head` with a constant weight moves into
    those weights (rows of W (in, out); columns of the (vocab, d) lm_head table, which unties
    it from the embedding) and the norm keeps a weight of ones. With `gated` (default), the
    same for `m2.gated_rms_norm` into out_proj. Exact up to fp32 rounding of the products.
    A norm with a weight that is not a constant is an error.
  }];
  let options = [
    Option<"gated", "gated", "bool", /*default=*/"true",
           "also fold gated RMS norm weights into out_proj">,
    Option<"releaseWeights", "release-weights", "bool", /*default=*/"false",
           "give back the memory of the weights this pass replaces (only when nothing else, e.g. a clone of the module, shares the context's weights)">
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

def M2Rotate : Pass<"m2-rotate", "::mlir::func::FuncOp"> {
  let summary = "rotates the residual stream by a Hadamard matrix, fused into the weights";
  let description = [{
    With Q = H D / sqrt(d) (H as `isa`'s fwht, D the signs of `seed`, none for 0) the
    residual stream h becomes h Q: the embedding table and the lm_head table T become T Q,
    every in_proj W (d, out) becomes Q^T W, every out_proj W (d_inner, d) becomes W Q. RMS
    norms with unit weights commute with Q, so the function is unchanged (fold norms first;
    a norm weight that is not all ones is an error). With `online` (default), an `m2.hadamard`
    of d_inner (seed + 1 when seed is not 0) is inserted before each out_proj and its inverse
    folded into out_proj. d_model and d_inner must be h * 2^k with h in {1, 12, 40}.
  }];
  let options = [
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "random signs of the rotation (0: plain Hadamard)">,
    Option<"online", "online", "bool", /*default=*/"true",
           "insert an online Hadamard of d_inner before out_proj">,
    Option<"releaseWeights", "release-weights", "bool", /*default=*/"false",
           "give back the memory of the weights this pass replaces (only when nothing else, e.g. a clone of the module, shares the context's weights)">
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

def M2Calibrate : Pass<"m2-calibrate", "::mlir::ModuleOp"> {
  let summary = "runs the evaluator over calibration text and records activation statistics";
  let description = [{
    Evaluates @main (fp32, or with its quantised ops in the integer evaluator) over the
    bytes of `text` from byte `offset` on (at most `bytes` bytes, in windows of `window` ids,
    each from an empty state; a byte model's ids are the bytes, a token model's those of
    `tokenizer`), with a progress bar on stderr, and records on every `m2.linear`, `m2.lm_head` and
    `m2.qlinear` the statistics of its input: `calib.absmax`, `calib.rms`, `calib.kurtosis`
    (E[x^4] / E[x^2]^2 over all values), `calib.token_absmax_p50` / `_p99` (per-token maxima)
    and, per channel, `calib.channel_absmax` and `calib.channel_rms` (tensors); on every
    `m2.ssd` the ranges of x, B, C and of its state (`calib.x_absmax`, `calib.b_absmax`,
    `calib.c_absmax`, `calib.state_absmax`, the state from a float recurrence run beside the
    evaluator's) and on every `m2.conv1d` and `m2.rms_norm` that of its input (`calib.in_absmax`;
    for the norms, the residual stream), on every `m2.gated_rms_norm` those of y, z and
    y * silu(z) (`calib.y_absmax`, `calib.z_absmax`, `calib.g_absmax`); with `hessian`,
    `calib.hessian` = X^T X / tokens (k x k) for `m2-quantize-linear{method=gptq}`.
  }];
  let options = [
    Option<"text", "text", "std::string", /*default=*/"\"\"", "calibration text file">,
    Option<"bytes", "bytes", "int64_t", /*default=*/"16384", "bytes of text to use">,
    Option<"maxMacs", "max-macs", "double", /*default=*/"0",
           "at most this many multiply-adds in the model's m2.linear products: fewer bytes (a remark says so) where `bytes` ids would take more (0: no limit)">,
    Option<"offset", "offset", "int64_t", /*default=*/"0", "bytes of text to skip first">,
    Option<"window", "window", "int64_t", /*default=*/"2048", "ids per evaluation window">,
    Option<"tokenizer", "tokenizer", "std::string", /*default=*/"\"\"",
           "a token model's Hugging Face tokenizer.json: the text (bytes and offset still count bytes) is tokenized with it; empty: every byte is an id">,
    Option<"progress", "progress", "bool", /*default=*/"true", "draw a progress bar on stderr">,
    Option<"hessian", "hessian", "bool", /*default=*/"false",
           "also record X^T X / tokens (calib.hessian, k x k) for GPTQ">
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

def M2QuantizeLinear : Pass<"m2-quantize-linear", "::mlir::func::FuncOp"> {
  let summary = "turns m2.linear and m2.lm_head into integer m2.qlinear (W8A8, W4A8, W4A4)";
  let description = [{
    Weights are quantised symmetrically per output row and K-group (`group`, 0: one group of
    all K, i.e. per channel) to `weight-bits` (8: [-127, 127], 4: [-7, 7]) by round to nearest
    (`method=rtn`) or with GPTQ's error compensation (`method=gptq`, from the `calib.hessian`
    that `m2-calibrate{hessian=true}` left; the lm_head is always rounded to nearest). Group scales s[n][g] become
    fixed-point scales[n][g] = round(s[n][g] / max_g s[n][g] * 2^24) with the shift that keeps
    every accumulator within int32 for the worst case, as `isa`'s grouped matmul applies them.
    Activations are `act-bits` per token (`act-mode=token`) or per tensor from the calibrated
    maximum (`act-mode=tensor`, needs `m2-calibrate` first). The lm_head is quantised with
    `lm-head-bits` (0: kept fp32) per channel, activations 8-bit with the `act-mode` of the
    other layers.
  }];
  let options = [
    Option<"weightBits", "weight-bits", "int64_t", /*default=*/"8", "8 or 4">,
    Option<"actBits", "act-bits", "int64_t", /*default=*/"8", "8 or 4">,
    Option<"group", "group", "int64_t", /*default=*/"0", "K-group of the weight scales (0: K)">,
    Option<"actMode", "act-mode", "std::string", /*default=*/"\"token\"", "token or tensor">,
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"", "rtn or gptq">,
    Option<"lmHeadBits", "lm-head-bits", "int64_t", /*default=*/"8", "8, 4 or 0 (fp32)">,
    Option<"releaseWeights", "release-weights", "bool", /*default=*/"false",
           "give back the memory of the weights this pass replaces (only when nothing else, e.g. a clone of the module, shares the context's weights)">
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

def M2QuantizeSsm : Pass<"m2-quantize-ssm", "::mlir::func::FuncOp"> {
  let summary = "quantises the SSD scan and the causal conv with power-of-two scales";
  let description = [{
    From the ranges `m2-calibrate` recorded, sets power-of-two exponents (a scale 2^e, so
    every rescaling is a shift) on each `m2.ssd` and `m2.conv1d`, which the integer evaluator
    then runs with `isa`'s ssmUpdate / ssmOutput / conv4Step: x, B, C and the conv input and
    weights int8 (e = ceil(log2(max / 127)), per tensor), dt after the softplus with `dt-frac`
    fraction bits, exp(dt A) with `decay-frac`, the state S `state-bits` wide
    (e = ceil(log2(max |S| / (2^(bits-1) - 1)))), held at that width between steps, the conv
    state int8. dt, A, D and the softplus and exp stay exact reals until they are rounded to
    those fixed-point forms. A missing calibration is an error.

    `group` sets the channels that share one exponent: `tensor` (one per tensor), `head`
    (default: x, the state and y per head, B and C per B/C group, the conv per channel group
    of the x / B / C it feeds) or a channel count K (x, the state, y and the conv in groups of
    K channels; B and C per B/C group, since ssmout sums over N with one shift). Per-group
    exponents are dense i32 tensors with one entry per channel.
  }];
  let options = [
    Option<"stateBits", "state-bits", "int64_t", /*default=*/"16", "bits of the SSM state (8..32)">,
    Option<"group", "group", "std::string", /*default=*/"\"head\"",
           "channels sharing one exponent: tensor, head or a channel count">,
    Option<"dtFrac", "dt-frac", "int64_t", /*default=*/"10", "fraction bits of dt">,
    Option<"decayFrac", "decay-frac", "int64_t", /*default=*/"15", "fraction bits of exp(dt A)">
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

def M2Pwl : Pass<"m2-pwl", "::mlir::func::FuncOp"> {
  let summary = "replaces m2.silu and m2.softplus by piecewise-linear tables (m2.pwl)";
  let description = [{
    Each `m2.silu` / `m2.softplus` becomes an `m2.pwl` with a chord table of `segments`
    segments over [lo, hi] built by `isa`'s buildPwl (inputs and outputs with 16 fraction
    bits; the end segments extrapolate).
  }];
  let options = [
    Option<"segments", "segments", "int64_t", /*default=*/"32", "segments per table (1..256)">,
    Option<"lo", "lo", "double", /*default=*/"-8.0", "start of the covered range">,
    Option<"hi", "hi", "double", /*default=*/"8.0", "end of the covered range">
  ];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

#endif // MAMBA2_TRANSFORMS_QUANTPASSES
