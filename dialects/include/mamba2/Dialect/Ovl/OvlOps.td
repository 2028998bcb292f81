//===- OvlOps.td - the overlay-level dialect ---------------------------------===//
//
// A quantised Mamba2 model as integer kernels of the overlay: every op is one of the ISA's
// micro-op kinds applied to whole tensors, with the bit-exact semantics of `isa::ref`. The
// integer evaluator of this dialect is what the overlay must compute, bit for bit; the emitter
// turns it into bundles, microcode and DRAM images.
//
// Activations are rank-2 tensors [rows][channels]: one row per token, rows in token order (the
// row count may be dynamic). Ops that carry state across tokens (conv4, ssm) process the rows in
// order and return the state after the last row.
//
// Broadcast rule of `mul` and `add` (operand y of shape [Ty][Cy] against x of shape [T][C]):
// Ty is 1 or T, Cy divides C, and element (t, c) of x meets y[Ty == 1 ? 0 : t][c / (C / Cy)].
// So y may be elementwise ([T][C]), one scalar per row ([T][1]), one per head ([T][H]),
// a per-channel vector ([1][C]) or one constant per head ([1][H]).
//
//===----------------------------------------------------------------------===//

#ifndef MAMBA2_DIALECT_OVL_OPS
#define MAMBA2_DIALECT_OVL_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Ovl_Dialect : Dialect {
  let name = "ovl";
  let summary = "Mamba2 overlay-level integer kernels";
  let description = [{
    The quantised model as the overlay computes it: int8 / int32 tensors and one op per
    micro-op kind of the ISA (matmul with group scales, requantisation, shifts, element-wise
    multiply and add, sum of squares, Hadamard, piecewise-linear functions, rsqrt, the causal
    conv step and the SSM scan). `m2-lower-to-ovl` produces it from quantised `m2`; the
    integer evaluator runs it with `isa::ref`; the emitter turns it into a `.m2b` program.
  }];
  let cppNamespace = "::mamba2::ovl";
}

def Ovl_I8Tensor : TensorOf<[I8]>;
def Ovl_I32Tensor : TensorOf<[I32]>;
def Ovl_IntTensor : TensorOf<[I8, I32]>;

class Ovl_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ovl_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Ovl_ConstantOp : Ovl_Op<"constant", [ConstantLike, AllTypesMatch<["value", "output"]>]> {
  let summary = "weights, scales, tables and other constants";
  let description = [{
    An integer constant (i8 or i32). `name`, when present, is the symbol the emitter gives it
    in the program (e.g. "embedding").

    ```mlir
    %t = ovl.constant {name = "embedding"} dense<0> : tensor<256x64xi32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value, OptionalAttr<StrAttr>:$name);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Ovl_EmbedOp : Ovl_Op<"embed"> {
  let summary = "gathers rows of the embedding table (done by the host)";
  let description = [{
    `ids` i32 [rows], `table` i32 [vocab][d] -> i32 [rows][d]. The ISA has no data-dependent
    address, so the runtime gathers these rows from the program's `embedding` tensor and writes
    them to the `x` input; the emitter makes `table` that tensor.
  }];
  let arguments = (ins Ovl_I32Tensor:$ids, Ovl_I32Tensor:$table);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$ids `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_MatmulOp : Ovl_Op<"matmul"> {
  let summary = "group-scaled integer matmul (isa gmm8 / gmm4)";
  let description = [{
    `act` i8 [rows][K], `weight` i8 [N][K] (with `bits` 4 the values are in [-8, 7] and the
    emitter packs two per byte), `scales` i32 [N][K / group] -> i32 [rows][N], exactly
    `isa::ref::matmulGrouped(act, weight, bits == 4, scales, acc, rows, K, N, group, shift,
    false)`.
  }];
  let arguments = (ins Ovl_I8Tensor:$act, Ovl_I8Tensor:$weight, Ovl_I32Tensor:$scales,
                   I64Attr:$bits, I64Attr:$group, I64Attr:$shift);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = [{
    $act `,` $weight `,` $scales attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ovl_MulOp : Ovl_Op<"mul"> {
  let summary = "sat32(rnd(x * y, shift)) with y broadcast (isa mulsh32)";
  let description = [{
    i32 [rows][C] times `y` i32 under the dialect's broadcast rule, rounded by `shift`
    (0..63, half away from zero) and saturated.
  }];
  let arguments = (ins Ovl_I32Tensor:$x, Ovl_I32Tensor:$y, I64Attr:$shift);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x `,` $y attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_AddOp : Ovl_Op<"add"> {
  let summary = "sat32(x + y) with y broadcast (isa add32)";
  let arguments = (ins Ovl_I32Tensor:$x, Ovl_I32Tensor:$y);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x `,` $y attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_ShiftOp : Ovl_Op<"shift"> {
  let summary = "power-of-two rescale (isa shift32)";
  let description = [{
    `shift` >= 0: rnd(x, shift); < 0: saturating left shift by -shift (-31..63).
  }];
  let arguments = (ins Ovl_I32Tensor:$x, I64Attr:$shift);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_SextOp : Ovl_Op<"sext"> {
  let summary = "int8 to int32, shifted left (isa sext8)";
  let arguments = (ins Ovl_I8Tensor:$x, I64Attr:$shift);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_RequantOp : Ovl_Op<"requant"> {
  let summary = "int32 to int8 with a multiplier and shift per channel (isa req8)";
  let description = [{
    `x` i32 [rows][C], `mult` i32 [C] or [1], `shifts` i8 [C] or [1] (0..63; the same length
    as `mult`): sat8(rnd(x * mult[c], shifts[c])), c the channel or 0.
  }];
  let arguments = (ins Ovl_I32Tensor:$x, Ovl_I32Tensor:$mult, Ovl_I8Tensor:$shifts);
  let results = (outs Ovl_I8Tensor:$output);
  let assemblyFormat = "$x `,` $mult `,` $shifts attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_ShrOp : Ovl_Op<"shr"> {
  let summary = "int32 to int8 by a power of two (isa shr8)";
  let arguments = (ins Ovl_I32Tensor:$x, I64Attr:$shift);
  let results = (outs Ovl_I8Tensor:$output);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_SumsqOp : Ovl_Op<"sumsq"> {
  let summary = "sum of squares of each channel group of each row (isa sumsq)";
  let description = [{
    i32 [rows][C] -> i32 [rows][groups]: `isa::ref::sumsq` over each of the `groups` equal
    slices of a row, with `shift`.
  }];
  let arguments = (ins Ovl_I32Tensor:$x, I64Attr:$groups, I64Attr:$shift);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_FwhtOp : Ovl_Op<"fwht"> {
  let summary = "unnormalised Hadamard transform of each row (isa fwht)";
  let arguments = (ins Ovl_I32Tensor:$x);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_PwlOp : Ovl_Op<"pwl"> {
  let summary = "piecewise-linear function from a table (isa pwl)";
  let description = [{
    Element-wise `isa::ref::pwl(table, x)`; `function` names what the table approximates.
  }];
  let arguments = (ins Ovl_I32Tensor:$x, Ovl_I32Tensor:$table, StrAttr:$function);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_RsqrtOp : Ovl_Op<"rsqrt"> {
  let summary = "normalised piecewise-linear rsqrt (isa rsqrt)";
  let arguments = (ins Ovl_I32Tensor:$x, Ovl_I32Tensor:$table);
  let results = (outs Ovl_I32Tensor:$output);
  let assemblyFormat = "$x `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_Conv4Op : Ovl_Op<"conv4"> {
  let summary = "causal depthwise conv1d, kernel 4, one step per row (isa conv4)";
  let description = [{
    `x` i8 [rows][C], `weight` i8 [C][4] (oldest tap first), `bias` i32 [C], `state` i8
    [C][3] -> `y` i32 [rows][C], the state after the last row: `isa::ref::conv4Step` on each
    row in order.
  }];
  let arguments = (ins Ovl_I8Tensor:$x, Ovl_I8Tensor:$weight, Ovl_I32Tensor:$bias,
                   Ovl_I8Tensor:$state);
  let results = (outs Ovl_I32Tensor:$y, Ovl_I8Tensor:$new_state);
  let assemblyFormat = [{
    $x `,` $weight `,` $bias `,` $state attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ovl_SsmOp : Ovl_Op<"ssm"> {
  let summary = "the recurrent SSM scan with power-of-two scaling (isa ssmupd + ssmout)";
  let description = [{
    `dtx` i32 [rows][H*P] (dt * x per head), `decay` i32 [rows][H] (exp(dt * A) in fixed
    point), `B`, `C` i8 [rows][G*N], `state` i32 [H][P][N] -> `y` i32 [rows][H*P], the state
    after the last row. For each row t in order and each head h (group g = h / (H / G)):
    `isa::ref::ssmUpdate(S[h], dtx[t][h*P..], B[t][g*N..], decay[t][h], P, N, decay_shift,
    in_shift)` then `isa::ref::ssmOutput(S[h], C[t][g*N..], y[t][h*P..], P, N, out_shift)`.
  }];
  let arguments = (ins Ovl_I32Tensor:$dtx, Ovl_I32Tensor:$decay, Ovl_I8Tensor:$B,
                   Ovl_I8Tensor:$C, Ovl_I32Tensor:$state, I64Attr:$ngroups,
                   I64Attr:$decay_shift, I64Attr:$in_shift, I64Attr:$out_shift);
  let results = (outs Ovl_I32Tensor:$y, Ovl_I32Tensor:$new_state);
  let assemblyFormat = [{
    $dtx `,` $decay `,` $B `,` $C `,` $state attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ovl_SsdChunkOp : Ovl_Op<"ssd_chunk"> {
  let summary = "the SSM scan in the chunked (matrix) form (isa trn, segdecay, split16, gmm8, mulsh32)";
  let description = [{
    `x` i8 [rows][H*P], `d` i32 [rows][H] (dt' per head), `decay` i32 [rows][H] (exp(dt * A)
    with `decay_shift` fraction bits), `B`, `C` i8 [rows][G*N], `state` i32 [H][P][N] -> `y`
    i32 [rows][H*P], the state after the last row. What `ovl.ssm` computes with dtx = x * d *
    2^mult_exp[h] (head h), in chunks of `chunk` rows from the call's first row (the last one
    shorter), each chunk as matrix products: exactly the steps of `ssd::buildRecipe`
    (compiler/include/mamba2/Ovl/SsdChunk.h) run with isa::ref; docs/codegen.md "The chunked
    SSD form" derives them. `ovl-ssd-form{form=chunked}` makes it from an `ovl.ssm`; the
    shifts are chosen there from bounds. The matmul shifts (`y_shift`, `c_shift`, `s_shift`)
    are those of the lo half's product; the hi half's is 8 less, and the head's `mult_exp` is
    taken from `y_shift` and `s_shift`.
  }];
  let arguments = (ins Ovl_I8Tensor:$x, Ovl_I32Tensor:$d, Ovl_I32Tensor:$decay, Ovl_I8Tensor:$B,
                   Ovl_I8Tensor:$C, Ovl_I32Tensor:$state, I64Attr:$ngroups, I64Attr:$chunk,
                   I64Attr:$decay_shift, DenseI64ArrayAttr:$mult_exp, I64Attr:$gd_shift,
                   I64Attr:$md_shift, I64Attr:$m_split, I64Attr:$y_shift,
                   I64Attr:$state_split, I64Attr:$c_shift, I64Attr:$w_shift,
                   I64Attr:$bw_shift, I64Attr:$bw_split, I64Attr:$s_shift);
  let results = (outs Ovl_I32Tensor:$y, Ovl_I32Tensor:$new_state);
  let assemblyFormat = [{
    $x `,` $d `,` $decay `,` $B `,` $C `,` $state attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ovl_SliceOp : Ovl_Op<"slice"> {
  let summary = "channels offset .. offset + size of every row";
  let arguments = (ins Ovl_IntTensor:$x, I64Attr:$offset, I64Attr:$size);
  let results = (outs Ovl_IntTensor:$output);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ovl_ConcatOp : Ovl_Op<"concat"> {
  let summary = "the channels of its operands side by side (the inverse of slices)";
  let description = [{
    `xs` [rows][C_i] of one element type -> [rows][sum C_i]: row t is x_0[t], x_1[t], ... in
    order. `ovl-split-head-groups` joins the per-group results of a split op with it.
  }];
  let arguments = (ins Variadic<Ovl_IntTensor>:$xs);
  let results = (outs Ovl_IntTensor:$output);
  let assemblyFormat = "$xs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // MAMBA2_DIALECT_OVL_OPS
