// Folders of the `onnx` ops. They evaluate the shape arithmetic that exporters emit for dynamic
// axes (Shape, Gather, Unsqueeze, Concat, ConstantOfShape, Mod, Equal, Where, Expand, Transpose,
// ...) once the tensor lengths are concrete. Only exact computations fold: integer and bool
// arithmetic, and data movement of any element type. Float arithmetic is left to the evaluator
// so that folding never changes a rounding. Results fold only into static result types they
// match.
#include "mamba2/Dialect/Onnx/OnnxDialect.h"
#include "mamba2/Dialect/Onnx/ShapeMath.h"

#include <algorithm>
#include <optional>

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mamba2::onnxir;

namespace {

/// Constants above this many elements are not folded (weights stay weights).
constexpr int64_t kMaxFoldElements = 1 << 14;

/// A small constant tensor, row-major, elements as attributes.
struct Lit {
  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<Attribute> elems;
  Type elementType;
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

std::optional<Lit> asLit(Attribute a) {
  auto d = dyn_cast_or_null<DenseElementsAttr>(a);
  if (!d || !d.getType().hasStaticShape() || d.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  Lit l;
  l.shape.assign(d.getType().getShape().begin(), d.getType().getShape().end());
  l.elementType = d.getElementType();
  l.elems.reserve(d.getNumElements());
  for (Attribute e : d.getValues<Attribute>())
    l.elems.push_back(e);
  return l;
}

/// Integer values of a constant integer tensor (any width, sign-extended).
std::optional<llvm::SmallVector<int64_t>> asInts(Attribute a) {
  auto d = dyn_cast_or_null<DenseIntElementsAttr>(a);
  if (!d || d.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  llvm::SmallVector<int64_t> v;
  for (const APInt &x : d.getValues<APInt>())
    v.push_back(d.getElementType().isInteger(1) ? x.getZExtValue() : x.getSExtValue());
  return v;
}

/// The op's result type when static, else null: we fold only into a known type.
RankedTensorType staticResult(Value result) {
  auto t = dyn_cast<RankedTensorType>(result.getType());
  return t && t.hasStaticShape() ? t : RankedTensorType();
}

OpFoldResult makeResult(Value result, llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<Attribute> elems) {
  RankedTensorType t = staticResult(result);
  if (!t || t.getShape() != shape || static_cast<int64_t>(elems.size()) != t.getNumElements())
    return {};
  for (Attribute e : elems) {
    auto typed = dyn_cast<TypedAttr>(e);
    if (!typed || typed.getType() != t.getElementType())
      return {};
  }
  return DenseElementsAttr::get(t, elems);
}

using mamba2::onnxir::shape::strides;

/// numpy broadcast of two shapes; nullopt when incompatible.
std::optional<llvm::SmallVector<int64_t>> broadcastShapes(llvm::ArrayRef<int64_t> a,
                                                          llvm::ArrayRef<int64_t> b) {
  return mamba2::onnxir::shape::broadcast(a, b);
}

/// Flat index into `shape` (right-aligned, broadcast) of the flat index `i` of `out`.
int64_t broadcastIndex(int64_t i, llvm::ArrayRef<int64_t> out, llvm::ArrayRef<int64_t> shape) {
  int64_t idx = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(out.size()) - 1, s = static_cast<int64_t>(shape.size()) - 1;
       d >= 0; --d, --s) {
    int64_t coord = i % out[d];
    i /= out[d];
    if (s >= 0) {
      if (shape[s] != 1)
        idx += coord * stride;
      stride *= shape[s];
    }
  }
  return idx;
}

/// Elementwise integer fold with broadcasting. `fn` returns nullopt to refuse (division by 0).
template <typename Fn>
OpFoldResult foldIntBinary(Value result, Attribute a, Attribute b, Fn fn, bool boolResult = false) {
  auto la = asLit(a), lb = asLit(b);
  if (!la || !lb || !isa<IntegerType>(la->elementType) || la->elementType != lb->elementType)
    return {};
  auto shape = broadcastShapes(la->shape, lb->shape);
  if (!shape)
    return {};
  auto av = asInts(a), bv = asInts(b);
  if (!av || !bv)
    return {};
  int64_t n = 1;
  for (int64_t d : *shape)
    n *= d;
  if (n > kMaxFoldElements)
    return {};
  Builder builder(result.getContext());
  llvm::SmallVector<Attribute> out;
  out.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    std::optional<int64_t> r = fn((*av)[broadcastIndex(i, *shape, la->shape)],
                                  (*bv)[broadcastIndex(i, *shape, lb->shape)]);
    if (!r)
      return {};
    Type et = boolResult ? builder.getI1Type() : la->elementType;
    out.push_back(IntegerAttr::get(et, *r));
  }
  return makeResult(result, *shape, out);
}

/// The axis in [0, rank), or -1 when out of range (the callers refuse it).
int64_t normAxis(int64_t axis, int64_t rank) {
  return mamba2::onnxir::shape::normalizeAxis(axis, rank).value_or(-1);
}

} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor adaptor) {
  RankedTensorType t = staticResult(getOutput());
  if (!t || t.getNumElements() > kMaxFoldElements)
    return {};
  Attribute fill;
  if (auto v = getValueAttr()) {
    auto d = dyn_cast<DenseElementsAttr>(v);
    if (!d || d.getNumElements() != 1 || d.getElementType() != t.getElementType())
      return {};
    fill = *d.getValues<Attribute>().begin();
  } else {
    if (!t.getElementType().isF32())
      return {};
    fill = FloatAttr::get(t.getElementType(), 0.0);
  }
  auto shape = asInts(adaptor.getInput());
  if (!shape || llvm::ArrayRef<int64_t>(*shape) != t.getShape())
    return {};
  return DenseElementsAttr::get(t, fill);
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  auto l = asLit(adaptor.getInput());
  if (!l || !isa<IntegerType>(l->elementType))
    return {};
  for (Attribute &e : l->elems)
    e = IntegerAttr::get(l->elementType, -cast<IntegerAttr>(e).getValue());
  return makeResult(getOutput(), l->shape, l->elems);
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  auto l = asLit(adaptor.getInput());
  if (!l || !l->elementType.isInteger(1))
    return {};
  for (Attribute &e : l->elems)
    e = IntegerAttr::get(l->elementType, cast<IntegerAttr>(e).getValue().isZero() ? 1 : 0);
  return makeResult(getOutput(), l->shape, l->elems);
}

OpFoldResult IdentityOp::fold(FoldAdaptor) {
  if (getInput().getType() == getOutput().getType())
    return getInput();
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor a) {
  return foldIntBinary(getC(), a.getA(), a.getB(),
                       [](int64_t x, int64_t y) -> std::optional<int64_t> { return x + y; });
}
OpFoldResult SubOp::fold(FoldAdaptor a) {
  return foldIntBinary(getC(), a.getA(), a.getB(),
                       [](int64_t x, int64_t y) -> std::optional<int64_t> { return x - y; });
}
OpFoldResult MulOp::fold(FoldAdaptor a) {
  return foldIntBinary(getC(), a.getA(), a.getB(),
                       [](int64_t x, int64_t y) -> std::optional<int64_t> { return x * y; });
}
OpFoldResult DivOp::fold(FoldAdaptor a) {
  // ONNX integer Div truncates toward zero, as C++ does.
  return foldIntBinary(getC(), a.getA(), a.getB(),
                       [](int64_t x, int64_t y) -> std::optional<int64_t> {
                         if (y == 0)
                           return std::nullopt;
                         return x / y;
                       });
}
OpFoldResult EqualOp::fold(FoldAdaptor a) {
  return foldIntBinary(
      getC(), a.getA(), a.getB(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x == y; }, true);
}
OpFoldResult LessOp::fold(FoldAdaptor a) {
  return foldIntBinary(
      getC(), a.getA(), a.getB(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x < y; }, true);
}
OpFoldResult GreaterOp::fold(FoldAdaptor a) {
  return foldIntBinary(
      getC(), a.getA(), a.getB(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x > y; }, true);
}
OpFoldResult MaxOp::fold(FoldAdaptor a) {
  if (a.getData_0().size() != 2)
    return {};
  return foldIntBinary(
      getOutput(), a.getData_0()[0], a.getData_0()[1],
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return std::max(x, y); });
}
OpFoldResult MinOp::fold(FoldAdaptor a) {
  if (a.getData_0().size() != 2)
    return {};
  return foldIntBinary(
      getOutput(), a.getData_0()[0], a.getData_0()[1],
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return std::min(x, y); });
}
OpFoldResult ModOp::fold(FoldAdaptor a) {
  bool fmod = getFmod() != 0;
  return foldIntBinary(getC(), a.getA(), a.getB(),
                       [fmod](int64_t x, int64_t y) -> std::optional<int64_t> {
                         if (y == 0)
                           return std::nullopt;
                         int64_t r = x % y; // sign of the dividend (C fmod)
                         if (!fmod && r != 0 && ((r < 0) != (y < 0)))
                           r += y; // sign of the divisor (Python %)
                         return r;
                       });
}

OpFoldResult WhereOp::fold(FoldAdaptor a) {
  auto c = asLit(a.getCondition()), x = asLit(a.getX()), y = asLit(a.getY());
  if (!c || !x || !y || !c->elementType.isInteger(1))
    return {};
  auto s1 = broadcastShapes(c->shape, x->shape);
  if (!s1)
    return {};
  auto shape = broadcastShapes(*s1, y->shape);
  if (!shape)
    return {};
  int64_t n = 1;
  for (int64_t d : *shape)
    n *= d;
  if (n > kMaxFoldElements)
    return {};
  llvm::SmallVector<Attribute> out;
  for (int64_t i = 0; i < n; ++i) {
    bool cond =
        !cast<IntegerAttr>(c->elems[broadcastIndex(i, *shape, c->shape)]).getValue().isZero();
    out.push_back(cond ? x->elems[broadcastIndex(i, *shape, x->shape)]
                       : y->elems[broadcastIndex(i, *shape, y->shape)]);
  }
  return makeResult(getOutput(), *shape, out);
}

OpFoldResult CastOp::fold(FoldAdaptor a) {
  auto l = asLit(a.getInput());
  if (!l)
    return {};
  Type to = getTo();
  if (l->elementType == to)
    return makeResult(getOutput(), l->shape, l->elems);
  // Integer <-> integer and integer -> float are exact for the small values of shape math.
  for (Attribute &e : l->elems) {
    auto ia = dyn_cast<IntegerAttr>(e);
    if (!ia)
      return {};
    int64_t v =
        l->elementType.isInteger(1) ? ia.getValue().getZExtValue() : ia.getValue().getSExtValue();
    if (auto it = dyn_cast<IntegerType>(to))
      e = IntegerAttr::get(to, it.getWidth() == 1 ? (v != 0) : v);
    else if (isa<FloatType>(to) && std::abs(v) < (int64_t(1) << 24))
      e = FloatAttr::get(to, static_cast<double>(v));
    else
      return {};
  }
  return makeResult(getOutput(), l->shape, l->elems);
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto t = dyn_cast<RankedTensorType>(getData().getType());
  if (!t || !t.hasStaticShape())
    return {};
  int64_t rank = t.getRank();
  auto clampAxis = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
  int64_t start = getStart() ? clampAxis(*getStart()) : 0;
  int64_t end = getEnd() ? clampAxis(*getEnd()) : rank;
  Builder b(getContext());
  llvm::SmallVector<Attribute> out;
  for (int64_t i = start; i < end; ++i)
    out.push_back(b.getI64IntegerAttr(t.getDimSize(i)));
  return makeResult(getShape(), {static_cast<int64_t>(out.size())}, out);
}

OpFoldResult GatherOp::fold(FoldAdaptor a) {
  auto data = asLit(a.getData());
  auto idxLit = asLit(a.getIndices());
  auto idx = asInts(a.getIndices());
  if (!data || !idxLit || !idx)
    return {};
  int64_t rank = static_cast<int64_t>(data->shape.size());
  int64_t axis = normAxis(getAxis(), rank);
  if (axis < 0 || axis >= rank)
    return {};
  llvm::SmallVector<int64_t> outShape(data->shape.begin(), data->shape.begin() + axis);
  outShape.append(idxLit->shape.begin(), idxLit->shape.end());
  outShape.append(data->shape.begin() + axis + 1, data->shape.end());
  int64_t outer = 1, inner = 1, dim = data->shape[axis];
  for (int64_t i = 0; i < axis; ++i)
    outer *= data->shape[i];
  for (int64_t i = axis + 1; i < rank; ++i)
    inner *= data->shape[i];
  llvm::SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : *idx) {
      if (k < 0)
        k += dim;
      if (k < 0 || k >= dim)
        return {};
      for (int64_t i = 0; i < inner; ++i)
        out.push_back(data->elems[(o * dim + k) * inner + i]);
    }
  return makeResult(getOutput(), outShape, out);
}

namespace {
/// Folds ops that only change the shape (Unsqueeze, Squeeze, Reshape, Identity): the elements
/// stay in order, the result type says the shape.
OpFoldResult foldSameElements(Value result, Attribute input) {
  auto l = asLit(input);
  RankedTensorType t = staticResult(result);
  if (!l || !t || t.getNumElements() != l->numElements())
    return {};
  return makeResult(result, t.getShape(), l->elems);
}
} // namespace

OpFoldResult UnsqueezeOp::fold(FoldAdaptor a) {
  return foldSameElements(getExpanded(), a.getData());
}
OpFoldResult SqueezeOp::fold(FoldAdaptor a) { return foldSameElements(getSqueezed(), a.getData()); }
OpFoldResult ReshapeOp::fold(FoldAdaptor a) {
  // The result type (from shape inference) says the shape; the shape operand need not be
  // constant for the elements to be known.
  return foldSameElements(getReshaped(), a.getData());
}

OpFoldResult ExpandOp::fold(FoldAdaptor a) {
  auto l = asLit(a.getInput());
  RankedTensorType t = staticResult(getOutput());
  if (!l || !t || t.getNumElements() > kMaxFoldElements)
    return {};
  auto shape = broadcastShapes(l->shape, t.getShape());
  if (!shape || llvm::ArrayRef<int64_t>(*shape) != t.getShape())
    return {};
  llvm::SmallVector<Attribute> out;
  for (int64_t i = 0; i < t.getNumElements(); ++i)
    out.push_back(l->elems[broadcastIndex(i, *shape, l->shape)]);
  return makeResult(getOutput(), *shape, out);
}

OpFoldResult ConcatOp::fold(FoldAdaptor a) {
  llvm::SmallVector<Lit> parts;
  for (Attribute in : a.getInputs()) {
    auto l = asLit(in);
    if (!l)
      return {};
    parts.push_back(std::move(*l));
  }
  int64_t rank = static_cast<int64_t>(parts.front().shape.size());
  int64_t axis = normAxis(getAxis(), rank);
  if (axis < 0 || axis >= rank)
    return {};
  llvm::SmallVector<int64_t> outShape = parts.front().shape;
  outShape[axis] = 0;
  for (const Lit &p : parts) {
    if (static_cast<int64_t>(p.shape.size()) != rank)
      return {};
    outShape[axis] += p.shape[axis];
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= outShape[i];
  llvm::SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (const Lit &p : parts) {
      int64_t block = p.numElements() / std::max<int64_t>(outer, 1);
      if (outer == 0)
        break;
      for (int64_t i = 0; i < block; ++i)
        out.push_back(p.elems[o * block + i]);
    }
  return makeResult(getConcatResult(), outShape, out);
}

OpFoldResult TransposeOp::fold(FoldAdaptor a) {
  // A constant (small) tensor with permuted axes, e.g. the pads torch computes for F.pad.
  auto l = asLit(a.getData());
  if (!l)
    return {};
  int64_t rank = static_cast<int64_t>(l->shape.size());
  llvm::SmallVector<int64_t> perm;
  if (auto p = getPerm())
    for (Attribute x : *p)
      perm.push_back(cast<IntegerAttr>(x).getInt());
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  if (static_cast<int64_t>(perm.size()) != rank)
    return {};
  llvm::SmallVector<int64_t> outShape;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank)
      return {};
    outShape.push_back(l->shape[p]);
  }
  llvm::SmallVector<int64_t> inStrides = strides(l->shape), outStrides = strides(outShape);
  llvm::SmallVector<Attribute> out;
  for (int64_t i = 0; i < l->numElements(); ++i) {
    int64_t src = 0, rem = i;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t c = rem / outStrides[d];
      rem %= outStrides[d];
      src += c * inStrides[perm[d]];
    }
    out.push_back(l->elems[src]);
  }
  return makeResult(getTransposed(), outShape, out);
}

OpFoldResult SliceOp::fold(FoldAdaptor a) {
  auto l = asLit(a.getData());
  auto starts = asInts(a.getStarts()), ends = asInts(a.getEnds());
  if (!l || !starts || !ends || starts->size() != ends->size())
    return {};
  int64_t rank = static_cast<int64_t>(l->shape.size());
  llvm::SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (isa<NoneType>(getAxes().getType())) {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  } else if (auto v = asInts(a.getAxes())) {
    axes = *v;
  } else {
    return {};
  }
  if (!isa<NoneType>(getSteps().getType())) {
    auto v = asInts(a.getSteps());
    if (!v)
      return {};
    steps = *v;
  }
  if (axes.size() != starts->size() || steps.size() != starts->size())
    return {};
  llvm::SmallVector<int64_t> lo(rank, 0), step(rank, 1), outShape(l->shape);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t ax = normAxis(axes[i], rank);
    if (ax < 0 || ax >= rank || steps[i] == 0)
      return {};
    int64_t dim = l->shape[ax], s = (*starts)[i], e = (*ends)[i], st = steps[i];
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      outShape[ax] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      outShape[ax] = s > e ? (s - e - st - 1) / -st : 0;
    }
    lo[ax] = s;
    step[ax] = st;
  }
  llvm::SmallVector<int64_t> inStrides = strides(l->shape), outStrides = strides(outShape);
  int64_t n = 1;
  for (int64_t d : outShape)
    n *= d;
  llvm::SmallVector<Attribute> out;
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = 0, rem = i;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t c = rem / outStrides[d];
      rem %= outStrides[d];
      src += (lo[d] + c * step[d]) * inStrides[d];
    }
    out.push_back(l->elems[src]);
  }
  return makeResult(getOutput(), outShape, out);
}
