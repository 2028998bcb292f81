//===- OnnxOps.td - the imported ONNX graph as typed MLIR ops --------------===//
//
// One op per ONNX operator type that Mamba2 exporters emit (opsets 13 to 17). Op names are the
// ONNX operator names (`onnx.MatMul`), operands and attributes keep ONNX's names and meaning,
// so that `mamba2c --emit=onnx` reads like the ONNX graph. An absent optional ONNX input is an
// operand of type `none`, made by `onnx.NoValue`.
//
//===----------------------------------------------------------------------===//

#ifndef MAMBA2_DIALECT_ONNX_OPS
#define MAMBA2_DIALECT_ONNX_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Onnx_Dialect : Dialect {
  let name = "onnx";
  let summary = "ONNX operators as imported from an ONNX graph";
  let description = [{
    The `onnx` dialect holds an ONNX graph after import: one op per ONNX node, operands in
    ONNX input order, ONNX attributes as MLIR attributes of the same name, tensor types from
    ONNX shape inference (symbolic dimensions become `?`). Weights are `onnx.Constant` ops
    whose values may be `dense_resource` blobs that point into the model's bytes without a
    copy. The raising pass rewrites the Mamba2 blocks of such a graph into the `m2` dialect.
  }];
  let cppNamespace = "::mamba2::onnxir";
  let hasConstantMaterializer = 1;
}

// ONNX INT attributes are signed (axes may be negative): read them as int64_t.
def OnnxInt : TypedSignlessIntegerAttrBase<I64, "int64_t", "64-bit integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

def TensorOrNone : AnyTypeOf<[AnyTensor, NoneType], "tensor or none (absent optional input)">;

class Onnx_Op<string mnemonic, list<Trait> traits = []>
    : Op<Onnx_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Constants and absent inputs
//===----------------------------------------------------------------------===//

def Onnx_NoValueOp : Onnx_Op<"NoValue"> {
  let summary = "the absent value of an optional ONNX input";
  let description = [{
    Stands for an optional input that an ONNX node leaves empty (input name ""), so that
    every op keeps ONNX's fixed input positions.

    ```mlir
    %none = onnx.NoValue : () -> none
    %y = onnx.Slice %x, %starts, %ends, %none, %none
        : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, none, none) -> tensor<4xf32>
    ```
  }];
  let results = (outs NoneType:$none);
}

def Onnx_ConstantOp : Onnx_Op<"Constant", [ConstantLike]> {
  let summary = "a constant tensor (ONNX Constant, or an initializer)";
  let description = [{
    ONNX `Constant` nodes and graph initializers. Large float weights are `dense_resource`
    elements that point at the model's bytes; small ones are `dense` so that folding sees them.

    ```mlir
    %c = onnx.Constant {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Onnx_ConstantOfShapeOp : Onnx_Op<"ConstantOfShape"> {
  let summary = "a tensor of the given shape filled with one value";
  let description = [{
    `value` is a one-element tensor (default: float 0).

    ```mlir
    %z = onnx.ConstantOfShape %shape {value = dense<0> : tensor<1xi64>}
        : (tensor<2xi64>) -> tensor<?x?xi64>
    ```
  }];
  let arguments = (ins AnyTensor:$input, OptionalAttr<ElementsAttr>:$value);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Onnx_UnaryOp<string mnemonic, string what> : Onnx_Op<mnemonic> {
  let summary = "elementwise " # what;
  let description = [{
    Applies the operation to every element; the result has the input's shape.

    ```mlir
    %y = onnx.}] # mnemonic # [{ %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
  let results = (outs AnyTensor:$output);
}

def Onnx_ExpOp : Onnx_UnaryOp<"Exp", "exp(x)">;
def Onnx_LogOp : Onnx_UnaryOp<"Log", "natural logarithm">;
def Onnx_SqrtOp : Onnx_UnaryOp<"Sqrt", "square root">;
def Onnx_ReciprocalOp : Onnx_UnaryOp<"Reciprocal", "1 / x">;
def Onnx_NegOp : Onnx_UnaryOp<"Neg", "negation"> { let hasFolder = 1; }
def Onnx_SigmoidOp : Onnx_UnaryOp<"Sigmoid", "logistic sigmoid 1 / (1 + exp(-x))">;
def Onnx_SoftplusOp : Onnx_UnaryOp<"Softplus", "softplus log(1 + exp(x))">;
def Onnx_TanhOp : Onnx_UnaryOp<"Tanh", "hyperbolic tangent">;
def Onnx_ReluOp : Onnx_UnaryOp<"Relu", "max(x, 0)">;
def Onnx_NotOp : Onnx_UnaryOp<"Not", "logical not of a bool tensor"> { let hasFolder = 1; }
def Onnx_IdentityOp : Onnx_UnaryOp<"Identity", "identity (the input itself)"> {
  let hasFolder = 1;
}

class Onnx_BinaryOp<string mnemonic, string what> : Onnx_Op<mnemonic> {
  let summary = "elementwise " # what # " with numpy broadcasting";
  let description = [{
    Both inputs broadcast against each other as in numpy.

    ```mlir
    %y = onnx.}] # mnemonic # [{ %a, %b : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$C);
  let hasFolder = 1;
}

def Onnx_AddOp : Onnx_BinaryOp<"Add", "sum">;
def Onnx_SubOp : Onnx_BinaryOp<"Sub", "difference">;
def Onnx_MulOp : Onnx_BinaryOp<"Mul", "product">;
def Onnx_DivOp : Onnx_BinaryOp<"Div", "quotient (integer division truncates)">;
def Onnx_PowOp : Onnx_BinaryOp<"Pow", "power"> { let hasFolder = 0; }
def Onnx_EqualOp : Onnx_BinaryOp<"Equal", "equality test (bool result)">;
def Onnx_LessOp : Onnx_BinaryOp<"Less", "less-than test (bool result)">;
def Onnx_GreaterOp : Onnx_BinaryOp<"Greater", "greater-than test (bool result)">;
class Onnx_VariadicOp<string mnemonic, string what> : Onnx_Op<mnemonic> {
  let summary = "elementwise " # what # " of one or more tensors, with numpy broadcasting";
  let description = [{
    All inputs broadcast against each other as in numpy; a NaN input gives NaN.

    ```mlir
    %y = onnx.}] # mnemonic # [{ %a, %b, %c
        : (tensor<2x8xf32>, tensor<8xf32>, tensor<f32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyTensor>:$data_0);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Onnx_MaxOp : Onnx_VariadicOp<"Max", "maximum">;
def Onnx_MinOp : Onnx_VariadicOp<"Min", "minimum">;

def Onnx_ModOp : Onnx_Op<"Mod"> {
  let summary = "elementwise remainder with numpy broadcasting";
  let description = [{
    With `fmod = 0` (integers only) the result takes the sign of the divisor, as Python's `%`;
    with `fmod = 1` it takes the sign of the dividend, as C's `fmod`.

    ```mlir
    %r = onnx.Mod %a, %b {fmod = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
    ```
  }];
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, DefaultValuedAttr<OnnxInt, "0">:$fmod);
  let results = (outs AnyTensor:$C);
  let hasFolder = 1;
}

def Onnx_WhereOp : Onnx_Op<"Where"> {
  let summary = "elementwise select: condition ? X : Y, with broadcasting";
  let description = [{
    ```mlir
    %y = onnx.Where %c, %a, %b : (tensor<4x4xi1>, tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$condition, AnyTensor:$X, AnyTensor:$Y);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
}

def Onnx_ClipOp : Onnx_Op<"Clip"> {
  let summary = "elementwise clamp to [min, max] (Clip-13: the bounds are optional inputs)";
  let description = [{
    `min` and `max` are scalars, or absent (`none`: no bound on that side). A NaN stays NaN;
    with min > max every element becomes max.

    ```mlir
    %y = onnx.Clip %x, %lo, %hi : (tensor<2x8xf32>, tensor<f32>, tensor<f32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, TensorOrNone:$min, TensorOrNone:$max);
  let results = (outs AnyTensor:$output);
}

def Onnx_CastOp : Onnx_Op<"Cast"> {
  let summary = "converts the element type";
  let description = [{
    `to` is the target element type (ONNX's TensorProto data type, as an MLIR type).

    ```mlir
    %y = onnx.Cast %x {to = f32} : (tensor<4xi64>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, TypeAttr:$to);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

def Onnx_ShapeOp : Onnx_Op<"Shape"> {
  let summary = "the shape of a tensor as a 1-D int64 tensor";
  let description = [{
    Optional `start`/`end` (opset 15) select a range of dimensions.

    ```mlir
    %s = onnx.Shape %x : (tensor<1x37x64xf32>) -> tensor<3xi64>
    ```
  }];
  let arguments = (ins AnyTensor:$data, OptionalAttr<I64Attr>:$start, OptionalAttr<I64Attr>:$end);
  let results = (outs AnyTensor:$shape);
  let hasFolder = 1;
}

def Onnx_GatherOp : Onnx_Op<"Gather"> {
  let summary = "gathers slices of `data` along `axis` at `indices`";
  let description = [{
    Negative indices count from the end. Also the embedding lookup of a language model.

    ```mlir
    %e = onnx.Gather %table, %ids {axis = 0 : i64}
        : (tensor<256x64xf32>, tensor<1x?xi64>) -> tensor<1x?x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, AnyTensor:$indices,
                   DefaultValuedAttr<OnnxInt, "0">:$axis);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
}

def Onnx_UnsqueezeOp : Onnx_Op<"Unsqueeze"> {
  let summary = "inserts dimensions of size 1 at `axes` (an input since opset 13)";
  let description = [{
    ```mlir
    %y = onnx.Unsqueeze %x, %axes : (tensor<f32>, tensor<1xi64>) -> tensor<1xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, AnyTensor:$axes);
  let results = (outs AnyTensor:$expanded);
  let hasFolder = 1;
}

def Onnx_SqueezeOp : Onnx_Op<"Squeeze"> {
  let summary = "removes dimensions of size 1 (all of them when `axes` is absent)";
  let description = [{
    ```mlir
    %y = onnx.Squeeze %x, %axes : (tensor<2x1x8xf32>, tensor<1xi64>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, TensorOrNone:$axes);
  let results = (outs AnyTensor:$squeezed);
  let hasFolder = 1;
}

def Onnx_ConcatOp : Onnx_Op<"Concat"> {
  let summary = "concatenates tensors along `axis`";
  let description = [{
    ```mlir
    %y = onnx.Concat %a, %b {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
    ```
  }];
  let arguments = (ins Variadic<AnyTensor>:$inputs, OnnxInt:$axis);
  let results = (outs AnyTensor:$concat_result);
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Onnx_ReshapeOp : Onnx_Op<"Reshape"> {
  let summary = "reshapes `data` to `shape` (0 copies a dimension unless `allowzero`, -1 infers)";
  let description = [{
    ```mlir
    %y = onnx.Reshape %x, %shape {allowzero = 0 : i64}
        : (tensor<2x8xf32>, tensor<3xi64>) -> tensor<2x2x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, AnyTensor:$shape,
                   DefaultValuedAttr<OnnxInt, "0">:$allowzero);
  let results = (outs AnyTensor:$reshaped);
  let hasFolder = 1;
}

def Onnx_ExpandOp : Onnx_Op<"Expand"> {
  let summary = "broadcasts `input` to `shape` (numpy rules, both ways)";
  let description = [{
    ```mlir
    %y = onnx.Expand %x, %shape : (tensor<1x4xf32>, tensor<2xi64>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, AnyTensor:$shape);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
}

def Onnx_SliceOp : Onnx_Op<"Slice"> {
  let summary = "takes `starts:ends:steps` along `axes` (clamped as numpy does)";
  let description = [{
    ```mlir
    %y = onnx.Slice %x, %starts, %ends, %axes, %none
        : (tensor<8x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, AnyTensor:$starts, AnyTensor:$ends,
                   TensorOrNone:$axes, TensorOrNone:$steps);
  let results = (outs AnyTensor:$output);
  let hasFolder = 1;
}

def Onnx_SplitOp : Onnx_Op<"Split"> {
  let summary = "splits `input` along `axis` into parts of the sizes in `split`";
  let description = [{
    Without `split` the parts are equal.

    ```mlir
    %a, %b = onnx.Split %x, %sizes {axis = 1 : i64}
        : (tensor<2x8xf32>, tensor<2xi64>) -> (tensor<2x6xf32>, tensor<2x2xf32>)
    ```
  }];
  let arguments = (ins AnyTensor:$input, TensorOrNone:$split,
                   DefaultValuedAttr<OnnxInt, "0">:$axis);
  let results = (outs Variadic<AnyTensor>:$outputs);
  let hasVerifier = 1;
}

def Onnx_TransposeOp : Onnx_Op<"Transpose"> {
  let summary = "permutes dimensions (`perm`; reversed when absent)";
  let description = [{
    ```mlir
    %y = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x8x4xf32>) -> tensor<1x4x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, OptionalAttr<I64ArrayAttr>:$perm);
  let results = (outs AnyTensor:$transposed);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Onnx_PadOp : Onnx_Op<"Pad"> {
  let summary = "pads a tensor (`pads` = all begins, then all ends)";
  let description = [{
    `constant` fills with `constant_value` (default 0), `edge` repeats the border element,
    `reflect` mirrors without repeating it. Negative pads crop.

    ```mlir
    %y = onnx.Pad %x, %pads, %zero {mode = "constant"}
        : (tensor<4xf32>, tensor<2xi64>, tensor<f32>) -> tensor<7xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, AnyTensor:$pads, TensorOrNone:$constant_value,
                   DefaultValuedAttr<StrAttr, "\"constant\"">:$mode);
  let results = (outs AnyTensor:$output);
  let hasVerifier = 1;
}

def Onnx_TriluOp : Onnx_Op<"Trilu"> {
  let summary = "keeps the upper (`upper = 1`) or lower triangle of the last two dimensions";
  let description = [{
    `k` shifts the diagonal: elements with `j - i >= k` (upper) or `j - i <= k` (lower) stay.

    ```mlir
    %y = onnx.Trilu %x, %k {upper = 0 : i64} : (tensor<4x4xf32>, tensor<i64>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, TensorOrNone:$k,
                   DefaultValuedAttr<OnnxInt, "1">:$upper);
  let results = (outs AnyTensor:$output);
}

def Onnx_CumSumOp : Onnx_Op<"CumSum"> {
  let summary = "cumulative sum along the axis given as a scalar input";
  let description = [{
    ```mlir
    %y = onnx.CumSum %x, %axis : (tensor<4x4xf32>, tensor<i64>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$x, AnyTensor:$axis,
                   DefaultValuedAttr<OnnxInt, "0">:$exclusive,
                   DefaultValuedAttr<OnnxInt, "0">:$reverse);
  let results = (outs AnyTensor:$y);
}

//===----------------------------------------------------------------------===//
// Reductions, contractions, convolution
//===----------------------------------------------------------------------===//

def Onnx_ReduceMeanOp : Onnx_Op<"ReduceMean"> {
  let summary = "mean over `axes` (an attribute up to opset 17)";
  let description = [{
    ```mlir
    %m = onnx.ReduceMean %x {axes = [-1], keepdims = 1 : i64}
        : (tensor<1x8x64xf32>) -> tensor<1x8x1xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, OptionalAttr<I64ArrayAttr>:$axes,
                   DefaultValuedAttr<OnnxInt, "1">:$keepdims);
  let results = (outs AnyTensor:$reduced);
}

def Onnx_ReduceSumOp : Onnx_Op<"ReduceSum"> {
  let summary = "sum over `axes` (an input since opset 13)";
  let description = [{
    ```mlir
    %s = onnx.ReduceSum %x, %axes {keepdims = 0 : i64}
        : (tensor<1x8x4xf32>, tensor<1xi64>) -> tensor<1x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$data, TensorOrNone:$axes,
                   DefaultValuedAttr<OnnxInt, "1">:$keepdims,
                   DefaultValuedAttr<OnnxInt, "0">:$noop_with_empty_axes);
  let results = (outs AnyTensor:$reduced);
}

def Onnx_MatMulOp : Onnx_Op<"MatMul"> {
  let summary = "matrix product with numpy batch broadcasting";
  let description = [{
    ```mlir
    %y = onnx.MatMul %x, %w : (tensor<1x?x64xf32>, tensor<64x256xf32>) -> tensor<1x?x256xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$Y);
}

def Onnx_GemmOp : Onnx_Op<"Gemm"> {
  let summary = "alpha * op(A) * op(B) + beta * C on 2-D tensors";
  let description = [{
    ```mlir
    %y = onnx.Gemm %a, %w, %bias {transB = 1 : i64}
        : (tensor<8x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, TensorOrNone:$C,
                   DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0">:$beta,
                   DefaultValuedAttr<OnnxInt, "0">:$transA,
                   DefaultValuedAttr<OnnxInt, "0">:$transB);
  let results = (outs AnyTensor:$Y);
}

def Onnx_EinsumOp : Onnx_Op<"Einsum"> {
  let summary = "Einstein summation over the operands (explicit `->` form)";
  let description = [{
    ```mlir
    %y = onnx.Einsum %a, %b {equation = "bhcls,bcshp->bclhp"}
        : (tensor<1x2x3x16x16xf32>, tensor<1x3x16x2x8xf32>) -> tensor<1x3x16x2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyTensor>:$Inputs, StrAttr:$equation);
  let results = (outs AnyTensor:$Output);
  let hasVerifier = 1;
}

def Onnx_ConvOp : Onnx_Op<"Conv"> {
  let summary = "N-D convolution (grouped, strided, dilated, padded)";
  let description = [{
    A causal depthwise conv1d is `group` = channels with `pads = [k-1, k-1]` followed by a
    slice that keeps the first L outputs. `auto_pad` SAME_UPPER / SAME_LOWER / VALID replace
    `pads` as ONNX defines.

    ```mlir
    %y = onnx.Conv %x, %w, %b {group = 96 : i64, kernel_shape = [4], pads = [3, 3]}
        : (tensor<1x96x?xf32>, tensor<96x1x4xf32>, tensor<96xf32>) -> tensor<1x96x?xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$X, AnyTensor:$W, TensorOrNone:$B,
                   DefaultValuedAttr<StrAttr, "\"NOTSET\"">:$auto_pad,
                   OptionalAttr<I64ArrayAttr>:$dilations,
                   DefaultValuedAttr<OnnxInt, "1">:$group,
                   OptionalAttr<I64ArrayAttr>:$kernel_shape,
                   OptionalAttr<I64ArrayAttr>:$pads,
                   OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs AnyTensor:$Y);
  let hasVerifier = 1;
}

#endif // MAMBA2_DIALECT_ONNX_OPS
