// Constants of m2 modules (see Constants.h).
#include "mamba2/Quant/Constants.h"

#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "mamba2/Dialect/M2/M2Dialect.h"

using namespace mlir;

namespace mamba2::quant {

template <typename T>
static std::optional<std::vector<T>> readAttr(ElementsAttr value, bool (*isType)(Type)) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape() || !isType(type.getElementType()))
    return std::nullopt;
  const size_t n = static_cast<size_t>(type.getNumElements());
  if (auto d = dyn_cast<DenseElementsAttr>(value)) {
    if (d.isSplat())
      return std::vector<T>(n, d.getSplatValue<T>());
    auto raw = d.getRawData();
    if (raw.size() != n * sizeof(T))
      return std::nullopt;
    std::vector<T> out(n);
    std::memcpy(out.data(), raw.data(), raw.size());
    return out;
  }
  if (auto r = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != n * sizeof(T))
      return std::nullopt;
    std::vector<T> out(n);
    std::memcpy(out.data(), blob->getData().data(), n * sizeof(T));
    return out;
  }
  return std::nullopt;
}

template <typename T> static std::optional<std::vector<T>> read(Value v, bool (*isType)(Type)) {
  auto c = v ? v.getDefiningOp<m2::ConstantOp>() : nullptr;
  if (!c)
    return std::nullopt;
  return readAttr<T>(c.getValue(), isType);
}

std::optional<std::vector<int8_t>> readI8(ElementsAttr value) {
  return readAttr<int8_t>(value, [](Type t) { return t.isInteger(8); });
}
std::optional<std::vector<int32_t>> readI32(ElementsAttr value) {
  return readAttr<int32_t>(value, [](Type t) { return t.isInteger(32); });
}

std::optional<std::vector<float>> readF32(Value v) {
  return read<float>(v, [](Type t) { return t.isF32(); });
}
std::optional<ArrayRef<float>> viewF32(Value v) {
  auto c = v ? v.getDefiningOp<m2::ConstantOp>() : nullptr;
  if (!c)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(c.getValue().getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  const size_t n = static_cast<size_t>(type.getNumElements());
  ArrayRef<char> raw;
  if (auto d = dyn_cast<DenseElementsAttr>(c.getValue())) {
    if (d.isSplat())
      return std::nullopt;
    raw = d.getRawData();
  } else if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    raw = blob->getData();
  }
  if (raw.size() != n * sizeof(float) ||
      reinterpret_cast<uintptr_t>(raw.data()) % alignof(float) != 0)
    return std::nullopt;
  return ArrayRef<float>(reinterpret_cast<const float *>(raw.data()), n);
}
std::optional<std::vector<int8_t>> readI8(Value v) {
  return read<int8_t>(v, [](Type t) { return t.isInteger(8); });
}
std::optional<std::vector<int32_t>> readI32(Value v) {
  return read<int32_t>(v, [](Type t) { return t.isInteger(32); });
}

template <typename T> static ElementsAttr elements(RankedTensorType type, ArrayRef<T> data) {
  const size_t bytes = data.size() * sizeof(T);
  if (bytes < kResourceBytes)
    return DenseElementsAttr::get(type, data);
  // A blob of its own: its memory can be given back when the constant dies (releaseData).
  ArrayRef<char> raw(reinterpret_cast<const char *>(data.data()), bytes);
  return DenseResourceElementsAttr::get(
      type, "q", HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(T)));
}

ElementsAttr makeElements(RankedTensorType type, ArrayRef<float> data) {
  return elements(type, data);
}
ElementsAttr makeElements(RankedTensorType type, ArrayRef<int8_t> data) {
  return elements(type, data);
}
ElementsAttr makeElements(RankedTensorType type, ArrayRef<int32_t> data) {
  return elements(type, data);
}

template <typename T>
static Value make(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<T> data,
                  Type element) {
  auto type = RankedTensorType::get(shape, element);
  return b.create<m2::ConstantOp>(loc, type, elements(type, data)).getOutput();
}

Value makeF32(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<float> data) {
  return make(b, loc, shape, data, b.getF32Type());
}
Value makeF32(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
              llvm::function_ref<void(MutableArrayRef<float>)> fill) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  const size_t n = static_cast<size_t>(type.getNumElements());
  ElementsAttr value;
  if (n * sizeof(float) < kResourceBytes) {
    std::vector<float> data(n);
    fill(data);
    value = DenseElementsAttr::get(type, ArrayRef<float>(data));
  } else {
    AsmResourceBlob blob =
        HeapAsmResourceBlob::allocate(n * sizeof(float), alignof(float), /*dataIsMutable=*/true);
    MutableArrayRef<char> raw = blob.getMutableData();
    fill(MutableArrayRef<float>(reinterpret_cast<float *>(raw.data()), n));
    value = DenseResourceElementsAttr::get(type, "q", std::move(blob));
  }
  return b.create<m2::ConstantOp>(loc, type, value).getOutput();
}
Value makeI8(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<int8_t> data) {
  return make(b, loc, shape, data, b.getIntegerType(8));
}
Value makeI32(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<int32_t> data) {
  return make(b, loc, shape, data, b.getIntegerType(32));
}

bool isF32Constant(Value v) {
  auto c = v ? v.getDefiningOp<m2::ConstantOp>() : nullptr;
  if (!c)
    return false;
  auto type = dyn_cast<RankedTensorType>(c.getValue().getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return false;
  if (isa<DenseElementsAttr>(c.getValue()))
    return true;
  if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    return blob && blob->getData().size() == size_t(type.getNumElements()) * sizeof(float);
  }
  return false;
}

void releaseData(Operation *root, ElementsAttr value, Operation *ignore) {
  auto r = dyn_cast_or_null<DenseResourceElementsAttr>(value);
  if (!r)
    return;
  DenseResourceElementsHandle handle = r.getRawHandle();
  AsmResourceBlob *blob = handle.getBlob();
  if (!blob || blob->getData().empty())
    return;
  bool used = false;
  root->walk([&](Operation *op) {
    if (op == ignore)
      return WalkResult::advance();
    for (NamedAttribute a : op->getAttrs())
      if (auto o = dyn_cast<DenseResourceElementsAttr>(a.getValue()))
        if (o.getRawHandle() == handle)
          used = true;
    return used ? WalkResult::interrupt() : WalkResult::advance();
  });
  if (used)
    return;
  if (blob->getDeleter()) {
    handle.getResource()->setBlob(AsmResourceBlob());
    return;
  }
  // Not ours (it points into the mapped model file): drop its whole pages from the process.
  ArrayRef<char> data = blob->getData();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data.data()) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data.data()) + data.size()) & ~(page - 1);
  if (end > begin)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
  handle.getResource()->setBlob(AsmResourceBlob());
}

void retire(Value old, bool release) {
  auto c = old ? old.getDefiningOp<m2::ConstantOp>() : nullptr;
  if (!c || !c->use_empty())
    return;
  ElementsAttr value = c.getValue();
  Operation *root = c->getParentWithTrait<OpTrait::IsIsolatedFromAbove>();
  c->erase();
  if (release && root)
    releaseData(root, value);
}

void eraseDeadConstants(Operation *root) {
  llvm::SmallVector<Operation *> dead;
  root->walk([&](m2::ConstantOp c) {
    if (c->use_empty())
      dead.push_back(c);
  });
  for (Operation *op : dead)
    op->erase();
}

std::vector<int64_t> shapeOf(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return std::vector<int64_t>(s.begin(), s.end());
}

} // namespace mamba2::quant
