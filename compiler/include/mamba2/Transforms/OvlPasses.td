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
           "give back the memory of the weights this pass lowers (only when nothing else, e.g. a clone of the module, shares the context's weights)">,
    Option<"layerForms", "layer-forms", "bool", /*default=*/"true",
           "one op form for every layer, whatever the calibrated values (a requant per channel where some layer's exponents differ between channels, an add of eps even where it rounds to 0, a shift by 0 into a table), so that the layers repeat for a layer loop; false: each conversion's form from its own values (layers may differ)">
  ];
  let dependentDialects = ["::mamba2::ovl::OvlDialect", "::mlir::func::FuncDialect"];
}

def M2ReorderInProj : Pass<"m2-reorder-in-proj", "::mlir::func::FuncOp"> {
  let summary = "orders in_proj's output channels dt, B, C, x (head by head), z";
  let description = [{
    Mamba2's in_proj computes [z, xBC, dt] and the conv [x, B, C]. For every layer whose
    structure it can follow exactly (an m2.qlinear read only by one m2.split into z / xBC / dt;
    xBC read only by a stateless m2.conv1d, whose output is read only by one element-wise
    m2.pwl / m2.silu, read only by one m2.split into x / B / C that feed one m2.ssd), the
    weight rows, their scales and out_scale move to the order [dt, B, C, x, z], the conv's
    weight rows and bias to [B, C, x], and the two splits' sizes follow; every consumer reads
    the same values, so the function is unchanged. The SSM's inputs then come first and x
    follows head group by head group (what ovl-split-head-groups splits). A layer that does not
    match is an error naming the op and why.
  }];
  let dependentDialects = ["::mamba2::m2::M2Dialect"];
}

def OvlSplitHeadGroups : Pass<"ovl-split-head-groups", "::mlir::func::FuncOp"> {
  let summary = "splits each layer's in_proj, conv4 and ssm into head groups";
  let description = [{
    For every ovl.ssm of H heads and a group of `heads-per-group` heads (0: chosen by a cost
    model of the board `target`), the scan becomes one ovl.ssm per head group, each with its
    own slice [heads][P][N] of the state (a new function argument and result in the place of
    the old one). Its inputs are split back to their roots: the conv4 that produces x, B and C
    becomes one conv4 per column range (B, C first, then x of each group; each with its slice
    of the conv state), and the matmul that feeds the conv one matmul per range (dt/B/C
    together, x of each group, z); the element-wise ops between them are repeated per range.
    Ops are ordered so that group g's matmul, conv and scan come together and the next group's
    matmul can run while group g scans; the scan's element-wise consumers (the D skip) follow
    per group and an ovl.concat joins the groups. The function computes the same logits bit
    for bit. Refused with a message: a group size that does not divide the heads, head groups
    that straddle B/C groups, column ranges of a matmul or conv that overlap.
  }];
  let options = [
    Option<"headsPerGroup", "heads-per-group", "int64_t", /*default=*/"0",
           "heads per group (0: the cost model's choice for `target`)">,
    Option<"target", "target", "std::string", /*default=*/"\"kv260\"",
           "board whose units and memory the cost model reads">,
    Option<"releaseWeights", "release-weights", "bool", /*default=*/"false",
           "give back the memory of the split matmuls' whole weights (only when nothing else, e.g. a clone of the module, shares the context's weights)">,
    Option<"entry", "entry", "std::string", /*default=*/"\"\"",
           "split only the function of this entry (decode: the one ovl-decode-function made, marked ovl.entry = decode); empty: every function">
  ];
  let dependentDialects = ["::mamba2::ovl::OvlDialect", "::mlir::func::FuncDialect"];
}

def OvlDecodeFunction : Pass<"ovl-decode-function", "::mlir::ModuleOp"> {
  let summary = "clones @main into @decode, the function the emitter's decode entry lowers";
  let description = [{
    Head groups per phase: the clone carries `ovl.entry = "decode"`, and
    ovl-split-head-groups{entry=decode} then splits it alone, so the program's decode entry
    runs the split layers (the matrix unit multiplies group g + 1 while the SSM unit scans
    group g) and its prefill entry the unsplit @main (row blocks overlap the units there). The
    split function's states are @main's cut in column order, so where each piece is a whole
    number of the emitter's 64-byte alignment both entries address the same state bytes (the
    emitter checks this; docs/codegen.md "Head groups per phase"). The ovl evaluator's session
    runs it for decode calls, as the program does (ovl::Session::run with Phase::Decode).
    Refused with a message: a module without @main, or one that has a decode function already.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def OvlSsdForm : Pass<"ovl-ssd-form", "::mlir::ModuleOp"> {
  let summary = "the SSM's form in the prefill: the recurrent scan or the chunked (matrix) form";
  let description = [{
    `form=scan` leaves the module. `form=auto` asks the SSD form's cost model
    (codegen::chooseSsdForm, reading the board `target`) which form a prefill call of `rows`
    rows of @main takes, says so in a remark, and then acts as `scan` or as `chunked` with the
    model's chunk (the decode's one row always takes the scan: it stays in @decode or @main as
    the scan). `form=chunked` rewrites each ovl.ssm of @main whose dtx is,
    by meaning, x8 (an ovl.sext of i8 [rows][H*P]) times d (i32 [rows][H], a piecewise-linear
    table's output: softplus, then a clamp) times a power of two per head (constants of any
    broadcast shape whose values within a head agree; the sext's shift counts), multiplied in
    any order by ovl.mul with shift 0, into ovl.ssd_chunk of `chunk` rows, with every shift
    chosen from bounds (docs/codegen.md "The chunked SSD form"): proven ones, or twice the
    calibrated `calib.d_absmax`, `calib.cb_absmax`, `calib.state_absmax` of the scan where
    those are tighter (mamba2c --ssd-form chunked records them). The decode stays recurrent:
    @main is first cloned into @decode as ovl-decode-function does, unless the module has a
    decode function already (which is left as it is). Refused with a message naming the op: a
    dtx that is not such a product (a per-channel multiplier inside a head, a mul that
    rounds, a dtx from elsewhere), a d that is not a table's output (no bound), a chunk
    outside 1..64, shifts outside the micro-ops' fields.
  }];
  let options = [
    Option<"form", "form", "std::string", /*default=*/"\"scan\"",
           "scan (the recurrent scan everywhere), chunked (the prefill's scans in the chunked form) or auto (the cost model's choice for `target` and `rows`)">,
    Option<"target", "target", "std::string", /*default=*/"\"u280\"",
           "form=auto: the board whose description the cost model reads">,
    Option<"rows", "rows", "int64_t", /*default=*/"32",
           "form=auto: the rows of a prefill call (--t-block)">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"32",
           "rows of a chunk (1..64)">,
    Option<"stateBits", "state-bits", "int64_t", /*default=*/"16",
           "the state's calibrated bits (m2-quantize-ssm's state_bits): |S| < 2^(bits-1), which the entering state's 16-bit split keeps">
  ];
  let dependentDialects = ["::mamba2::ovl::OvlDialect", "::mlir::func::FuncDialect"];
}

#endif // MAMBA2_TRANSFORMS_OVLPASSES
