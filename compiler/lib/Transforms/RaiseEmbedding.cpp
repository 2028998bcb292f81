// raise-onnx-to-m2: the embedding: Gather(table, ids) -> m2.embedding.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::embedding(ox::GatherOp op) {
  ElementsAttr table = constant(op.getData());
  Value idsValue = op.getIndices();
  if (auto flat = def<ox::ReshapeOp>(idsValue)) {
    auto shape = ints(flat.getShape());
    auto in = ranked(flat.getData());
    if (shape && shape->size() == 1 && (*shape)[0] == -1 && in && in.getRank() == 2 &&
        in.getDimSize(1) == 1)
      idsValue = flat.getData();
  }
  auto ids = ranked(idsValue);
  if (!table || op.getAxis() != 0 || table.getShapedType().getRank() != 2 ||
      !table.getElementType().isF32() || !ids || ids.getRank() != 2 ||
      !ids.getElementType().isInteger(64)) {
    // Recognised: a float matrix indexed by integers known at run time only (token ids; a Gather
    // of a shape, or of stacked states by a constant index, is not an embedding).
    auto data = ranked(op.getData());
    auto it = dyn_cast<ShapedType>(op.getIndices().getType());
    if (!data || data.getRank() != 2 || !isa<FloatType>(data.getElementType()) || !it ||
        !it.getElementType().isInteger() || constant(op.getIndices()))
      return false;
    if (!table)
      return because(op, "embedding",
                     "the table " + node(skipIdentity(op.getData())) + " is not a constant");
    if (op.getAxis() != 0)
      return because(op, "embedding",
                     "it gathers along axis " + std::to_string(op.getAxis()) +
                         ", not the rows of the table (axis 0)");
    if (!table.getElementType().isF32())
      return because(op, "embedding",
                     "the table " + node(skipIdentity(op.getData())) + " is not float32");
    return because(op, "embedding",
                   "the ids " + node(skipIdentity(op.getIndices())) +
                       " are not a (batch, length) int64 tensor (or (batch, 1) flattened)");
  }
  builder.setInsertionPoint(op);
  auto type = RankedTensorType::get(
      {ids.getDimSize(0), ids.getDimSize(1), table.getShapedType().getDimSize(1)},
      builder.getF32Type());
  Value e =
      builder.create<m2::EmbeddingOp>(op.getLoc(), type, idsValue, weight(table, op.getLoc()));
  replace(op, e, "embedding");
  return true;
}

} // namespace mamba2::raise
