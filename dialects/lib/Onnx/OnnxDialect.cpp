// The `onnx` dialect: registration, constant materialisation and verifiers. Folders live in
// OnnxFolds.cpp.
#include "mamba2/Dialect/Onnx/OnnxDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mamba2::onnxir;

#include "mamba2/Dialect/Onnx/OnnxDialect.cpp.inc"

void OnnxDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mamba2/Dialect/Onnx/OnnxOps.cpp.inc"
      >();
}

Operation *OnnxDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                            Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}

namespace {

/// Rank of a value's type, or -1 when unranked or not a tensor.
int64_t rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? t.getRank() : -1;
}

} // namespace

LogicalResult ConstantOp::verify() {
  auto valueType = cast<ShapedType>(getValue().getType());
  auto resultType = cast<ShapedType>(getOutput().getType());
  if (valueType != resultType)
    return emitOpError("value of type ")
           << valueType << " does not match result type " << resultType;
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  int64_t rank = rankOf(getInputs().front());
  if (rank >= 0 && (getAxis() < -rank || getAxis() >= rank))
    return emitOpError("axis ") << getAxis() << " is out of range for rank " << rank;
  for (Value v : getInputs())
    if (rank >= 0 && rankOf(v) >= 0 && rankOf(v) != rank)
      return emitOpError("inputs of different ranks");
  return success();
}

LogicalResult SplitOp::verify() {
  if (getOutputs().empty())
    return emitOpError("needs at least one result");
  int64_t rank = rankOf(getInput());
  if (rank >= 0 && (getAxis() < -rank || getAxis() >= rank))
    return emitOpError("axis ") << getAxis() << " is out of range for rank " << rank;
  if (auto t = dyn_cast<RankedTensorType>(getSplit().getType()))
    if (t.getRank() != 1 ||
        (t.hasStaticShape() && t.getDimSize(0) != static_cast<int64_t>(getOutputs().size())))
      return emitOpError("split sizes must be a 1-D tensor with one size per result");
  return success();
}

LogicalResult TransposeOp::verify() {
  auto perm = getPerm();
  int64_t rank = rankOf(getData());
  if (!perm || rank < 0)
    return success();
  if (static_cast<int64_t>(perm->size()) != rank)
    return emitOpError("perm has ") << perm->size() << " entries for rank " << rank;
  llvm::SmallVector<bool> seen(rank, false);
  for (Attribute a : *perm) {
    int64_t p = cast<IntegerAttr>(a).getInt();
    if (p < 0 || p >= rank || seen[p])
      return emitOpError("perm is not a permutation of 0..") << rank - 1;
    seen[p] = true;
  }
  return success();
}

LogicalResult PadOp::verify() {
  StringRef mode = getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return emitOpError("mode must be constant, reflect or edge, not '") << mode << "'";
  return success();
}

LogicalResult MaxOp::verify() {
  if (getData_0().empty())
    return emitOpError("needs at least one input");
  return success();
}

LogicalResult MinOp::verify() {
  if (getData_0().empty())
    return emitOpError("needs at least one input");
  return success();
}

LogicalResult EinsumOp::verify() {
  StringRef eq = getEquation();
  auto arrow = eq.find("->");
  StringRef lhs = eq.substr(0, arrow);
  llvm::SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != getInputs().size())
    return emitOpError("equation '") << eq << "' names " << terms.size() << " operands, but "
                                     << getInputs().size() << " are given";
  for (auto [i, term] : llvm::enumerate(terms)) {
    StringRef t = term.trim();
    if (t.contains("..."))
      continue;
    for (char c : t)
      if (!llvm::isAlpha(c))
        return emitOpError("equation '") << eq << "': '" << c << "' is not a subscript letter";
    int64_t rank = rankOf(getInputs()[i]);
    if (rank >= 0 && static_cast<int64_t>(t.size()) != rank)
      return emitOpError("equation term '")
             << t << "' has " << t.size() << " subscripts for operand #" << i << " of rank "
             << rank;
  }
  return success();
}

LogicalResult ConvOp::verify() {
  int64_t rx = rankOf(getX()), rw = rankOf(getW());
  if (rx >= 0 && rx < 3)
    return emitOpError("input must have rank 3 or more (N, C, spatial...), got ") << rx;
  if (rx >= 0 && rw >= 0 && rx != rw)
    return emitOpError("weight rank ") << rw << " differs from input rank " << rx;
  // An op built generically with a group of the wrong kind has no group property: report it
  // rather than read it (getGroup() dereferences it unchecked).
  if (!getGroupAttr())
    return emitOpError("group must be a 64-bit integer attribute");
  if (getGroup() < 1)
    return emitOpError("group must be positive");
  StringRef pad = getAutoPad();
  if (pad != "NOTSET" && pad != "SAME_UPPER" && pad != "SAME_LOWER" && pad != "VALID")
    return emitOpError("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, not '")
           << pad << "'";
  return success();
}

#define GET_OP_CLASSES
#include "mamba2/Dialect/Onnx/OnnxOps.cpp.inc"
