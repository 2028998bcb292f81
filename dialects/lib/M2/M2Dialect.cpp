// The `m2` dialect: registration and verifiers (shapes and attributes).
#include "mamba2/Dialect/M2/M2Dialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "mamba2/isa/Reference.h"

using namespace mlir;
using namespace mamba2::m2;

#include "mamba2/Dialect/M2/M2Dialect.cpp.inc"

void M2Dialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mamba2/Dialect/M2/M2Ops.cpp.inc"
      >();
}

namespace {

/// Static size of dimension `d` (negative counts from the end), or kDynamic when unknown.
int64_t dim(Value v, int64_t d) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return ShapedType::kDynamic;
  if (d < 0)
    d += t.getRank();
  if (d < 0 || d >= t.getRank())
    return ShapedType::kDynamic;
  return t.getDimSize(d);
}

int64_t rank(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? t.getRank() : -1;
}

/// True when both sizes are known and differ.
bool conflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// Checks that `v` is ranked with rank `r`.
LogicalResult expectRank(Operation *op, Value v, int64_t r, StringRef what) {
  if (rank(v) != r)
    return op->emitOpError() << what << " must have rank " << r << ", got " << v.getType();
  return success();
}

/// Checks that `a` and `b` agree on their leading (batch, length) dimensions.
LogicalResult sameLeading(Operation *op, Value a, Value b, StringRef what) {
  for (int64_t d = 0; d < 2; ++d)
    if (conflict(dim(a, d), dim(b, d)))
      return op->emitOpError() << what << ": batch and length dimensions disagree (" << a.getType()
                               << " vs " << b.getType() << ")";
  return success();
}

/// A state operand comes with a new-state result of the same type, and neither without the
/// other; a state has rank `r`.
LogicalResult verifyState(Operation *op, Value state, Value newState, int64_t r) {
  if (bool(state) != bool(newState))
    return op->emitOpError(state ? "has a state operand but no new-state result"
                                 : "has a new-state result but no state operand");
  if (!state)
    return success();
  if (state.getType() != newState.getType())
    return op->emitOpError("new state ")
           << newState.getType() << " must have the state's type " << state.getType();
  return expectRank(op, state, r, "state");
}

} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult EmbeddingOp::verify() {
  if (failed(expectRank(*this, getTable(), 2, "table")) ||
      failed(expectRank(*this, getIds(), 2, "ids")) ||
      failed(expectRank(*this, getOutput(), 3, "result")))
    return failure();
  if (conflict(dim(getOutput(), -1), dim(getTable(), 1)))
    return emitOpError("result width ")
           << dim(getOutput(), -1) << " differs from the table's " << dim(getTable(), 1);
  return sameLeading(*this, getIds(), getOutput(), "result");
}

LogicalResult RMSNormOp::verify() {
  if (failed(expectRank(*this, getWeight(), 1, "weight")))
    return failure();
  if (conflict(dim(getInput(), -1), dim(getWeight(), 0)))
    return emitOpError("weight of ")
           << dim(getWeight(), 0) << " for " << dim(getInput(), -1) << " channels";
  if (getInput().getType() != getOutput().getType())
    return emitOpError("result type must equal the input type");
  if (getEps().convertToFloat() <= 0)
    return emitOpError("eps must be positive");
  return success();
}

LogicalResult LinearOp::verify() {
  if (failed(expectRank(*this, getWeight(), 2, "weight")))
    return failure();
  if (rank(getInput()) < 1 || rank(getOutput()) != rank(getInput()))
    return emitOpError("input and result must have the same rank");
  if (conflict(dim(getInput(), -1), dim(getWeight(), 0)))
    return emitOpError("input has ")
           << dim(getInput(), -1) << " features, the weight expects " << dim(getWeight(), 0);
  if (conflict(dim(getOutput(), -1), dim(getWeight(), 1)))
    return emitOpError("result has ")
           << dim(getOutput(), -1) << " features, the weight gives " << dim(getWeight(), 1);
  return success();
}

LogicalResult SplitOp::verify() {
  auto sizes = getSizes();
  if (sizes.size() != getOutputs().size())
    return emitOpError("has ") << sizes.size() << " sizes for " << getOutputs().size()
                               << " results";
  int64_t total = 0;
  for (auto [s, r] : llvm::zip(sizes, getOutputs())) {
    if (s <= 0)
      return emitOpError("sizes must be positive");
    if (conflict(dim(r, -1), s))
      return emitOpError("result of width ") << dim(r, -1) << " for size " << s;
    total += s;
  }
  if (conflict(dim(getInput(), -1), total))
    return emitOpError("sizes sum to ") << total << " but the input has " << dim(getInput(), -1);
  return success();
}

LogicalResult Conv1dOp::verify() {
  if (failed(expectRank(*this, getInput(), 3, "input")) ||
      failed(expectRank(*this, getWeight(), 2, "weight")) ||
      failed(expectRank(*this, getBias(), 1, "bias")))
    return failure();
  int64_t c = dim(getInput(), 2);
  if (conflict(c, dim(getWeight(), 0)) || conflict(c, dim(getBias(), 0)))
    return emitOpError("weight and bias must have one row per channel (") << c << ")";
  if (getInput().getType() != getOutput().getType())
    return emitOpError("result type must equal the input type");
  if (failed(verifyState(*this, getState(), getNewState(), 3)))
    return failure();
  if (!getState())
    return success();
  // state (b, c, k)
  if (conflict(dim(getState(), 0), dim(getInput(), 0)) || conflict(dim(getState(), 1), c) ||
      conflict(dim(getState(), 2), dim(getWeight(), 1)))
    return emitOpError("state ") << getState().getType()
                                 << " is not (batch, channels, kernel) for input "
                                 << getInput().getType() << " and weight " << getWeight().getType();
  return success();
}

LogicalResult SSDOp::verify() {
  if (failed(expectRank(*this, getX(), 3, "x")) || failed(expectRank(*this, getDt(), 3, "dt")) ||
      failed(expectRank(*this, getB(), 3, "B")) || failed(expectRank(*this, getC(), 3, "C")))
    return failure();
  for (Value v : {getDtBias(), getA(), getD()})
    if (failed(expectRank(*this, v, 1, "dt_bias, A and D")))
      return failure();
  int64_t h = dim(getDt(), 2);
  for (Value v : {getDtBias(), getA(), getD()})
    if (conflict(dim(v, 0), h))
      return emitOpError("dt_bias, A and D need one value per head (") << h << ")";
  int64_t g = getNgroups();
  if (!ShapedType::isDynamic(h) && h % g)
    return emitOpError("heads (") << h << ") are not a multiple of ngroups (" << g << ")";
  int64_t d = dim(getX(), 2);
  if (!ShapedType::isDynamic(h) && !ShapedType::isDynamic(d) && d % h)
    return emitOpError("x width ") << d << " is not a multiple of the heads (" << h << ")";
  int64_t gn = dim(getB(), 2);
  if (conflict(gn, dim(getC(), 2)))
    return emitOpError("B and C must have the same width");
  if (!ShapedType::isDynamic(gn) && gn % g)
    return emitOpError("B width ") << gn << " is not a multiple of ngroups (" << g << ")";
  for (Value v : {getDt(), getB(), getC()})
    if (failed(sameLeading(*this, getX(), v, "operands")))
      return failure();
  if (getX().getType() != getY().getType())
    return emitOpError("result type must equal the type of x");
  if (getDtMin() && getDtMax() && getDtMin()->convertToFloat() > getDtMax()->convertToFloat())
    return emitOpError("dt_min (") << getDtMin()->convertToFloat() << ") is above dt_max ("
                                   << getDtMax()->convertToFloat() << ")";
  if (failed(verifyState(*this, getState(), getNewState(), 4)))
    return failure();
  if (!getState())
    return success();
  // state (b, h, p, n)
  int64_t p = ShapedType::isDynamic(h) || ShapedType::isDynamic(d) ? ShapedType::kDynamic : d / h;
  int64_t n = ShapedType::isDynamic(gn) ? ShapedType::kDynamic : gn / g;
  if (conflict(dim(getState(), 0), dim(getX(), 0)) || conflict(dim(getState(), 1), h) ||
      conflict(dim(getState(), 2), p) || conflict(dim(getState(), 3), n))
    return emitOpError("state ") << getState().getType()
                                 << " is not (batch, heads, headdim, d_state) = (" << dim(getX(), 0)
                                 << ", " << h << ", " << p << ", " << n << ")";
  return success();
}

LogicalResult GatedRMSNormOp::verify() {
  if (failed(expectRank(*this, getWeight(), 1, "weight")))
    return failure();
  if (getY().getType() != getZ().getType() || getY().getType() != getOutput().getType())
    return emitOpError("y, z and the result must have the same type");
  int64_t d = dim(getY(), -1);
  if (conflict(d, dim(getWeight(), 0)))
    return emitOpError("weight of ") << dim(getWeight(), 0) << " for " << d << " channels";
  if (!ShapedType::isDynamic(d) && d % getNgroups())
    return emitOpError("channels (")
           << d << ") are not a multiple of ngroups (" << getNgroups() << ")";
  if (getEps().convertToFloat() <= 0)
    return emitOpError("eps must be positive");
  return success();
}

LogicalResult LMHeadOp::verify() {
  if (failed(expectRank(*this, getTable(), 2, "table")))
    return failure();
  if (conflict(dim(getInput(), -1), dim(getTable(), 1)))
    return emitOpError("input width ")
           << dim(getInput(), -1) << " differs from the table's " << dim(getTable(), 1);
  if (conflict(dim(getLogits(), -1), dim(getTable(), 0)))
    return emitOpError("logits width ")
           << dim(getLogits(), -1) << " differs from the vocabulary " << dim(getTable(), 0);
  return success();
}

LogicalResult HadamardOp::verify() {
  int64_t n = dim(getInput(), -1);
  if (rank(getInput()) < 1 || ShapedType::isDynamic(n))
    return emitOpError("needs a static last axis");
  if (n <= 0 || n > (int64_t(1) << 30) || !isa::ref::fwhtSizeOk(static_cast<unsigned>(n)))
    return emitOpError("size ") << n << " is not h * 2^k with h in {1, 12, 40}";
  if (getSeedAttr().getInt() < 0)
    return emitOpError("seed must be non-negative");
  return success();
}

LogicalResult QLinearOp::verify() {
  if (failed(expectRank(*this, getWeight(), 2, "weight")) ||
      failed(expectRank(*this, getScales(), 2, "scales")) ||
      failed(expectRank(*this, getOutScale(), 1, "out_scale")))
    return failure();
  if (rank(getInput()) < 1 || rank(getOutput()) != rank(getInput()))
    return emitOpError("input and result must have the same rank");
  int64_t n = dim(getWeight(), 0), k = dim(getWeight(), 1);
  if (conflict(dim(getInput(), -1), k))
    return emitOpError("input has ")
           << dim(getInput(), -1) << " features, the weight expects " << k;
  if (conflict(dim(getOutput(), -1), n) || conflict(dim(getOutScale(), 0), n) ||
      conflict(dim(getScales(), 0), n))
    return emitOpError("result, scales and out_scale need one row per output (") << n << ")";
  if (getWeightBits() != 8 && getWeightBits() != 4)
    return emitOpError("weight_bits must be 8 or 4, got ") << getWeightBits();
  if (getActBits() != 8 && getActBits() != 4)
    return emitOpError("act_bits must be 8 or 4, got ") << getActBits();
  int64_t g = getGroupAttr().getInt();
  if (g <= 0 || (!ShapedType::isDynamic(k) && k % g))
    return emitOpError("group ") << g << " does not divide the " << k << " input features";
  if (!ShapedType::isDynamic(k) && conflict(dim(getScales(), 1), k / g))
    return emitOpError("scales need ") << k / g << " groups per row, have " << dim(getScales(), 1);
  if (getShiftAttr().getInt() < -31 || getShiftAttr().getInt() > 63)
    return emitOpError("shift ") << getShiftAttr().getInt() << " is outside -31..63";
  if (getActMode() == "tensor") {
    if (!getActScale() || !(getActScale()->convertToFloat() > 0))
      return emitOpError("act_mode \"tensor\" needs a positive act_scale");
  } else if (getActMode() != "token") {
    return emitOpError("act_mode must be \"token\" or \"tensor\", got \"") << getActMode() << "\"";
  }
  return success();
}

LogicalResult PwlOp::verify() {
  if (getInput().getType() != getOutput().getType())
    return emitOpError("result type must equal the input type");
  if (failed(expectRank(*this, getTable(), 1, "table")))
    return failure();
  int64_t words = dim(getTable(), 0);
  if (!ShapedType::isDynamic(words) &&
      (words < isa::ref::kPwlHeaderWords + 2 || (words - isa::ref::kPwlHeaderWords) % 2))
    return emitOpError("table of ") << words << " words is not a header and (b, k) pairs";
  if (getInFracAttr().getInt() < 0 || getInFracAttr().getInt() > 30 ||
      getOutFracAttr().getInt() < 0 || getOutFracAttr().getInt() > 30)
    return emitOpError("in_frac and out_frac must be in 0..30");
  return success();
}

#define GET_OP_CLASSES
#include "mamba2/Dialect/M2/M2Ops.cpp.inc"
