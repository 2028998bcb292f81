//===- OvlPasses.td - lowering quantised m2 to the overlay dialect --------===//
//
// m2-lower-to-ovl: the quantised, calibrated m2 model as fully-integer ovl kernels (the formats
// of every value are in docs/passes.md, section m2-lower-to-ovl).
//
//===----------------------------------------------------------------------===//

#ifndef MAMBA2_TRANSFORMS_OVLPASSES
#define MAMBA2_TRANSFORMS_OVLPASSES

include "mlir/Pass/PassBase.td"

def M2LowerToOvl : Pass<"m2-lower-to-ovl", "::mlir::ModuleOp"> {
  let summary = "lowers a quantised, calibrated m2 model to fully-integer ovl kernels";
  let description = [{
    Input: a whole-sequence byte or token model @main after m2-fold-norms (unit norm weights),
    optionally m2-rotate, m2-calibrate, m2-quantize-ssm, m2-quantize-linear with static
    (`act_mode = "tensor"`) activation scales and a quantised lm_head, and m2-pwl. Output: one
    func @main(%ids: tensor<?xi32>, conv state i8 [C][3] and SSM state i32 [H][P][N] of each
    layer in layer order) -> (logits i32 [?][V], the new states in the same order), with the
    attribute `ovl.logit_frac` (real logit = value * 2^-logit_frac), made only of ovl ops.
    Every fixed-point format comes from the module's quant.* attributes and the calib.*
    statistics (the residual stream's range from `calib.in_absmax` of the RMS norms, the gated
    norm's from `calib.g_absmax`). Refused, naming the op: dynamic per-token activation scales,
    missing calibration or quant.* exponents, explicit-state (step) functions, norm weights
    other than ones, fp32 linear layers or lm_head, exact SiLU / softplus outside the SSD.
  }];
  let options = [
    Option<"softplusSegments", "softplus-segments", "int64_t", /*default=*/"255",
           "segments of the softplus table of dt (1..255)">,
    Option<"expSegments", "exp-segments", "int64_t", /*default=*/"255",
           "segments of the exp table of the decay exp(dt * A) (1..255)">,
    Option<"siluSegments", "silu-segments", "int64_t", /*default=*/"0",
           "segments of the gated norm's SiLU table (0: the m2.pwl SiLU table of the module)">,
    Option<"rsqrtSegments", "rsqrt-segments", "int64_t", /*default=*/"64",
           "segments of the norms' rsqrt table (1..256)">,
    Option<"releaseWeights", "release-weights", "bool", /*default=*/"false",
           "give back the memory of the weights this pass lowers (only when nothing else, e.g. a clone of the module, shares the context's weights)">
  ];
  let dependentDialects = ["::mamba2::ovl::OvlDialect", "::mlir::func::FuncDialect"];
}

#endif // MAMBA2_TRANSFORMS_OVLPASSES
