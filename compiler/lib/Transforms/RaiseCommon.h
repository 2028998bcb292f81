// The raising of `onnx` graphs to `m2` (raise-onnx-to-m2), shared by its parts: the small
// matchers every block uses and the Raiser, whose block matchers live one block per file
// (RaiseEmbedding.cpp, RaiseNorm.cpp, RaiseLinear.cpp, RaiseSplit.cpp, RaiseConv.cpp,
// RaiseSSD.cpp, RaiseResidual.cpp; the walk, dead-op removal, state unstacking and the report in
// RaiseOnnxToM2.cpp). Internal to compiler/lib/Transforms.
//
// The walk goes forward through the function; each matcher starts at the last op of a block (its
// "anchor"), checks the whole block's structure backwards, builds the m2 op before the anchor
// and redirects the anchor's uses. Types of m2 results are computed from m2 operands, never taken
// from ONNX shape inference (which loses ranks after dynamic Slices).
#pragma once

#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "mamba2/Support/Pages.h"
#include "mamba2/Transforms/Passes.h"

namespace mamba2::raise {

using namespace mlir;
namespace ox = mamba2::onnxir;
namespace m2 = mamba2::m2;

//===----------------------------------------------------------------------===//
// Small matchers
//===----------------------------------------------------------------------===//

/// The ONNX node name an op was imported from (its NameLoc), or its op name.
inline std::string nameOf(Operation *op) {
  if (auto n = dyn_cast<NameLoc>(op->getLoc()))
    return n.getName().str();
  return op->getName().getStringRef().str();
}

inline bool isM2Def(Value v) {
  Operation *d = v.getDefiningOp();
  return d && isa<mamba2::m2::M2Dialect>(d->getDialect());
}

/// True when `out` is `in`, an m2 activation (b, 1, c) of one token per sequence, seen as the
/// (b, c) or (b, 1, c) tensor of a step graph: the same elements in the same order.
inline bool isUnitView(Value in, Value out) {
  auto i = dyn_cast<RankedTensorType>(in.getType());
  auto o = dyn_cast<RankedTensorType>(out.getType());
  if (!i || !o || i.getRank() != 3 || i.getDimSize(1) != 1 || i.isDynamicDim(2) ||
      !(o.getRank() == 2 || (o.getRank() == 3 && o.getDimSize(1) == 1)) ||
      o.getShape().back() != i.getDimSize(2))
    return false;
  return o.isDynamicDim(0) || i.isDynamicDim(0) || o.getDimSize(0) == i.getDimSize(0);
}

/// `v` without Identity ops and without the unit-axis views (Reshape, Squeeze, Unsqueeze)
/// that a step graph puts between per-token (b, c) tensors and m2's (b, 1, c).
inline Value skipIdentity(Value v) {
  while (true) {
    if (auto id = v.getDefiningOp<ox::IdentityOp>()) {
      v = id.getInput();
      continue;
    }
    Operation *d = v.getDefiningOp();
    if (d && isa<ox::ReshapeOp, ox::SqueezeOp, ox::UnsqueezeOp>(d)) {
      Value in = skipIdentity(d->getOperand(0));
      if (isM2Def(in) && isUnitView(in, v)) {
        v = in;
        continue;
      }
    }
    return v;
  }
}

template <typename OpT> OpT def(Value v) { return skipIdentity(v).getDefiningOp<OpT>(); }

/// The elements of a constant (onnx.Constant or m2.constant), else null.
inline ElementsAttr constant(Value v) {
  v = skipIdentity(v);
  if (auto c = v.getDefiningOp<ox::ConstantOp>())
    return c.getValue();
  if (auto c = v.getDefiningOp<m2::ConstantOp>())
    return c.getValue();
  return {};
}

/// Float values of an f32 constant (dense or dense_resource).
inline std::optional<std::vector<float>> floats(ElementsAttr a) {
  if (!a || !a.getElementType().isF32())
    return std::nullopt;
  if (auto d = dyn_cast<DenseElementsAttr>(a)) {
    auto r = d.getValues<float>();
    return std::vector<float>(r.begin(), r.end());
  }
  if (auto r = dyn_cast<DenseF32ResourceElementsAttr>(a))
    if (auto data = r.tryGetAsArrayRef())
      return std::vector<float>(data->begin(), data->end());
  return std::nullopt;
}

/// The float values of an f32 constant where they lie (a non-splat dense or a dense_resource
/// blob), or copied into `copy` (a splat).
inline std::optional<ArrayRef<float>> floatView(ElementsAttr a, std::vector<float> &copy) {
  if (!a || !a.getElementType().isF32())
    return std::nullopt;
  if (auto r = dyn_cast<DenseF32ResourceElementsAttr>(a))
    return r.tryGetAsArrayRef();
  auto d = dyn_cast<DenseElementsAttr>(a);
  if (!d)
    return std::nullopt;
  if (d.isSplat()) {
    copy.assign(static_cast<size_t>(d.getNumElements()), d.getSplatValue<float>());
    return ArrayRef<float>(copy);
  }
  ArrayRef<char> raw = d.getRawData();
  return ArrayRef<float>(reinterpret_cast<const float *>(raw.data()), raw.size() / sizeof(float));
}

inline std::optional<float> scalarFloat(Value v) {
  auto f = floats(constant(v));
  if (!f || f->size() != 1)
    return std::nullopt;
  return (*f)[0];
}

inline std::optional<std::vector<int64_t>> ints(Value v) {
  auto d = dyn_cast_or_null<DenseIntElementsAttr>(constant(v));
  if (!d)
    return std::nullopt;
  std::vector<int64_t> out;
  for (const APInt &x : d.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

inline int64_t rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? t.getRank() : -1;
}

/// The type of `v` as MLIR prints it, for messages.
inline std::string typeText(Value v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << v.getType();
  return s;
}

inline RankedTensorType ranked(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

inline bool isF32Ranked(Value v) {
  auto t = ranked(v);
  return t && t.getElementType().isF32();
}

/// The two operands of a commutative binary op, in both orders.
template <typename OpT> bool commuted(OpT op, llvm::function_ref<bool(Value, Value)> fn) {
  return fn(op.getA(), op.getB()) || fn(op.getB(), op.getA());
}

/// Element `i` of a 1-D int64 shape tensor: a constant, or a Concat whose pieces have static
/// lengths and the piece holding `i` is constant.
inline std::optional<int64_t> shapeElement(Value shape, int64_t i) {
  if (auto v = ints(shape)) {
    if (i < 0)
      i += static_cast<int64_t>(v->size());
    if (i < 0 || i >= static_cast<int64_t>(v->size()))
      return std::nullopt;
    return (*v)[i];
  }
  auto cat = def<ox::ConcatOp>(shape);
  if (!cat)
    return std::nullopt;
  llvm::SmallVector<int64_t> lens;
  int64_t total = 0;
  for (Value p : cat.getInputs()) {
    auto t = ranked(p);
    if (!t || t.getRank() != 1 || t.isDynamicDim(0))
      return std::nullopt;
    lens.push_back(t.getDimSize(0));
    total += t.getDimSize(0);
  }
  if (i < 0)
    i += total;
  for (auto [p, len] : llvm::zip(cat.getInputs(), lens)) {
    if (i < len)
      return shapeElement(p, i);
    i -= len;
  }
  return std::nullopt;
}

/// A one-element integer tensor that denotes dimension `index` of the tensor `of`, written as
/// any of the shape expressions exporters use: `Shape(of){start = i, end = i + 1}`,
/// `Gather(Shape(of), i)`, `Slice(Shape(of), i, i + 1)`, through `Unsqueeze`, `Squeeze`,
/// `Reshape`, `Cast` and `Identity` of one element.
struct DimRef {
  Value of;
  int64_t index;
};
inline std::optional<DimRef> dimensionOf(Value v) {
  auto oneElement = [](Value x) {
    auto t = dyn_cast<RankedTensorType>(x.getType());
    return t && t.hasStaticShape() && t.getNumElements() == 1;
  };
  // dim `start + i` of the Shape `sh`, with the start normalised.
  auto shapeDim = [](ox::ShapeOp sh, int64_t i) -> std::optional<DimRef> {
    int64_t r = rankOf(sh.getData());
    int64_t start = sh.getStart() ? static_cast<int64_t>(*sh.getStart()) : 0;
    if (start < 0) {
      if (r < 0)
        return std::nullopt;
      start += r;
    }
    int64_t d = start + i;
    if (d < 0 || (r >= 0 && d >= r))
      return std::nullopt;
    return DimRef{skipIdentity(sh.getData()), d};
  };
  for (int step = 0; step < 8; ++step) {
    Operation *d = v.getDefiningOp();
    if (!d || !oneElement(v))
      return std::nullopt;
    if (isa<ox::UnsqueezeOp, ox::SqueezeOp, ox::ReshapeOp, ox::CastOp, ox::IdentityOp>(d)) {
      v = d->getOperand(0);
      continue;
    }
    if (auto sh = dyn_cast<ox::ShapeOp>(d))
      return shapeDim(sh, 0);
    if (auto g = dyn_cast<ox::GatherOp>(d)) {
      auto sh = g.getData().getDefiningOp<ox::ShapeOp>();
      auto idx = ints(g.getIndices());
      int64_t n = rankOf(g.getData()) == 1 ? ranked(g.getData()).getDimSize(0) : -1;
      if (!sh || !idx || idx->size() != 1 || g.getAxis() != 0)
        return std::nullopt;
      int64_t i = (*idx)[0];
      if (i < 0 && n > 0)
        i += n;
      return i < 0 ? std::nullopt : shapeDim(sh, i);
    }
    if (auto sl = dyn_cast<ox::SliceOp>(d)) {
      auto sh = sl.getData().getDefiningOp<ox::ShapeOp>();
      auto starts = ints(sl.getStarts());
      int64_t n = rankOf(sl.getData()) == 1 ? ranked(sl.getData()).getDimSize(0) : -1;
      if (!sh || !starts || starts->size() != 1 || n <= 0)
        return std::nullopt;
      int64_t i = (*starts)[0] < 0 ? (*starts)[0] + n : (*starts)[0];
      return i < 0 ? std::nullopt : shapeDim(sh, i);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

/// `a` with a new shape of the same element count, without copying resource blobs.
inline ElementsAttr reshaped(ElementsAttr a, llvm::ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, a.getElementType());
  if (auto d = dyn_cast<DenseElementsAttr>(a))
    return d.reshape(type);
  if (auto r = dyn_cast<DenseResourceElementsAttr>(a))
    return DenseResourceElementsAttr::get(type, r.getRawHandle());
  return {};
}

/// (rows, cols) -> (cols, rows) of a 2-D f32 constant, as a new dense constant.
inline ElementsAttr transposed(ElementsAttr w) {
  auto v = floats(w);
  if (!v || w.getShapedType().getRank() != 2)
    return {};
  auto shape = w.getShapedType().getShape();
  int64_t r = shape[0], c = shape[1];
  std::vector<float> t(v->size());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      t[j * r + i] = (*v)[i * c + j];
  return DenseElementsAttr::get(RankedTensorType::get({c, r}, w.getElementType()),
                                llvm::ArrayRef<float>(t));
}

//===----------------------------------------------------------------------===//
// Matchers of normal forms shared by onnx-normal-forms (NormalForms.cpp, which defines them) and
// the raising (which uses them to say why a block is not in its normal form)
//===----------------------------------------------------------------------===//

/// The normal form of a dimension: `Gather(Shape(of), i)` with a constant index i >= 0 (a scalar
/// or one element), and no start/end on the Shape.
std::optional<DimRef> canonicalDim(Value v);

/// True when dimension `da` of `a` and dimension `db` of `b` have the same size: both static and
/// equal, or one is computed from the other through ops that keep that dimension (elementwise
/// ops, MatMul rows, Transpose, Split/Slice/Concat/Pad/reductions on other axes, Gather of
/// indices), assuming dynamic dimensions do not broadcast.
bool sameDim(Value a, int64_t da, Value b, int64_t db);

/// `Slice(Conv(X, pads [K-1, K-1]), 0 : length of X on the last axis)`: the Conv, else null with
/// `why` saying which part differs.
ox::ConvOp causalSliceOfConv(ox::SliceOp slice, std::string &why);

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct Raiser {
  func::FuncOp func;
  OpBuilder builder;
  OpBuilder constBuilder;
  llvm::DenseMap<Attribute, Value> weights;
  std::map<std::string, int> raised;

  explicit Raiser(func::FuncOp f) : func(f), builder(f.getContext()), constBuilder(f.getContext()) {
    constBuilder.setInsertionPointToStart(&f.getBody().front());
  }

  /// An m2.constant for `a` at the top of the function (one per distinct value).
  Value weight(ElementsAttr a, Location loc) {
    auto it = weights.find(a);
    if (it != weights.end())
      return it->second;
    Value c = constBuilder.create<m2::ConstantOp>(loc, a.getType(), a);
    weights[a] = c;
    return c;
  }

  /// `a` with a new shape of the same element count, without copying resource blobs.
  ElementsAttr reshape(ElementsAttr a, llvm::ArrayRef<int64_t> shape) { return reshaped(a, shape); }

  Type withLast(Value v, int64_t last) {
    auto t = ranked(v);
    llvm::SmallVector<int64_t> s(t.getShape().begin(), t.getShape().end());
    s.back() = last;
    return RankedTensorType::get(s, t.getElementType());
  }

  /// Why blocks that were recognised (their anchor op is there) did not raise, with the op the
  /// reason is about: reported at the end for the ops left, in graph order ("layer 2 conv at
  /// node 'n' (Slice): ..."). One mechanism for every block (see because()).
  llvm::DenseMap<Operation *, std::string> reasons;
  /// Norms that were recognised but did not raise: each starts a layer like an m2.rms_norm.
  llvm::SmallPtrSet<Operation *, 8> failedNorms;

  /// The initializers' names by value, recorded before onnx-normal-forms (whose folding drops
  /// the locations of the constants it hoists); empty where constants of different names hold
  /// the same value (say each layer's eps), which one is meant is unknown then.
  llvm::DenseMap<Attribute, std::string> constantNames;

  void recordConstantNames() {
    func.walk([&](ox::ConstantOp c) {
      auto n = dyn_cast<NameLoc>(c.getLoc());
      if (!n)
        return;
      auto [it, fresh] = constantNames.try_emplace(c.getValue(), n.getName().str());
      if (!fresh && it->second != n.getName().str())
        it->second.clear();
    });
  }

  /// The ONNX name of `op`: its node name, or the initializer's name of a constant.
  std::string onnxName(Operation *op) {
    if (auto c = dyn_cast<ox::ConstantOp>(op); c && !isa<NameLoc>(op->getLoc()))
      if (auto it = constantNames.find(c.getValue());
          it != constantNames.end() && !it->second.empty())
        return it->second;
    return nameOf(op);
  }

  /// `'name' (OpType)` of an op, for messages.
  std::string node(Operation *op) {
    return "'" + onnxName(op) + "' (" + op->getName().stripDialect().str() + ")";
  }
  template <typename OpT, typename = std::enable_if_t<std::is_base_of_v<OpState, OpT>>>
  std::string node(OpT op) {
    return node(op.getOperation());
  }
  std::string node(Value v) {
    if (Operation *d = v.getDefiningOp())
      return node(d);
    auto arg = cast<BlockArgument>(v);
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "onnx.name");
    return name ? "'" + name.str() + "' (a graph input)"
                : "argument " + std::to_string(arg.getArgNumber()) + " (a graph input)";
  }

  /// The layer `at` is in, from a `layers.N` in its node name or its constant operands' names
  /// (the exporters' weight names), else by its place along the residual chain: each layer
  /// starts with its norm (raised or recognised); after the last norm no SSD follows, it is the
  /// head. Returns "layer N ", "head " or "" (before the first norm).
  std::string where(Operation *at);

  /// Records why the block `block` recognised at `at` (the op the reason is about, which stays in
  /// the graph if the block does not raise) did not raise; returns false.
  bool because(Operation *at, const std::string &block, const std::string &why) {
    if (!reasons.count(at))
      reasons[at] = where(at) + block + " at node " + node(at) + ": " + why;
    return false;
  }

  /// Forgets the reason of an op about to be erased.
  void forget(Operation *op) {
    reasons.erase(op);
    failedNorms.erase(op);
  }

  void replace(Operation *anchor, Value with, const char *what) {
    anchor->getResult(0).replaceAllUsesWith(with);
    ++raised[what];
  }

  /// The normal form of an RMS norm without its weight (see onnx-normal-forms):
  ///   Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Mul(x, x), last axis, keepdims 1), eps)))).
  /// With `why`, says which part differs when `v` is recognised as a norm (looksLikeNormCore)
  /// but is not this form.
  struct NormCore {
    Value x;
    float eps;
  };
  std::optional<NormCore> matchNormCore(Value v, std::string *why = nullptr);

  /// True when `v` looks like a normalised value: Mul(x, r) or Div(x, r) with r a Reciprocal,
  /// Sqrt or Pow of an Add, ReduceMean or Sqrt (the norm's 1 / sqrt(mean + eps) in the spellings
  /// onnx-normal-forms may leave).
  static bool looksLikeNormCore(Value v) {
    Operation *d = skipIdentity(v).getDefiningOp();
    if (!d || !isa<ox::MulOp, ox::DivOp>(d))
      return false;
    return llvm::any_of(d->getOperands(), [](Value o) {
      Operation *od = skipIdentity(o).getDefiningOp();
      return od && isa<ox::ReciprocalOp, ox::SqrtOp, ox::PowOp>(od) &&
             llvm::any_of(od->getOperands(), [](Value i) {
               Operation *id = skipIdentity(i).getDefiningOp();
               return id && isa<ox::AddOp, ox::ReduceMeanOp, ox::SqrtOp>(id);
             });
    });
  }

  /// softplus(x): Softplus(x) or Log(1 + Exp(x)) (either order of the Add). Returns x.
  /// softplus(x) in its normal form (onnx-normal-forms rewrites Log(1 + Exp(x))): a Softplus.
  /// Returns x.
  Value matchSoftplus(Value v) {
    v = skipIdentity(v);
    if (auto sp = v.getDefiningOp<ox::SoftplusOp>())
      return sp.getInput();
    return {};
  }

  bool isM2(Value v) {
    Operation *d = skipIdentity(v).getDefiningOp();
    return d && isa<m2::M2Dialect>(d->getDialect());
  }

  /// silu(z): an m2.silu, or z * Sigmoid(z). Returns z.
  Value matchSilu(Value v) {
    v = skipIdentity(v);
    if (auto s = v.getDefiningOp<m2::SiluOp>())
      return s.getInput();
    if (auto mul = def<ox::MulOp>(v)) {
      Value z;
      commuted(mul, [&](Value a, Value b) {
        auto sig = def<ox::SigmoidOp>(b);
        if (sig && skipIdentity(sig.getInput()) == skipIdentity(a))
          z = skipIdentity(a);
        return bool(z);
      });
      return z;
    }
    return {};
  }

  //===--------------------------------------------------------------------===//
  // Block matchers. Each returns true when it rewrote `op`.
  //===--------------------------------------------------------------------===//

  /// Gather(table, ids (b, l)), or Gather(table, Reshape(ids (b, 1), [-1])) in a step graph.
  bool embedding(ox::GatherOp op);

  bool silu(ox::MulOp op);

  /// The gate y * silu(z) of an m2 value y: {y, z}, or nulls.
  std::pair<Value, Value> gateOf(Value v) {
    auto gate = def<ox::MulOp>(v);
    if (!gate)
      return {};
    Value y, z;
    commuted(gate, [&](Value a, Value b) {
      Value zz = matchSilu(b);
      if (zz && isM2(a) && isF32Ranked(a) && a.getType() == zz.getType()) {
        y = skipIdentity(a);
        z = zz;
      }
      return bool(y);
    });
    return {y, z};
  }

  /// rms_norm: Mul(core(x), w); gated: Mul(core(y * silu(z)), w) or, in groups,
  /// Mul(Reshape(core(Reshape(y * silu(z)))), w).
  bool norm(ox::MulOp op);

  /// True when `x` is Mul(y, silu(z)) in any operand order (the gate of a gated norm).
  bool isGateShaped(Value x) {
    auto m = def<ox::MulOp>(x);
    return m && (matchSilu(m.getA()) || matchSilu(m.getB()));
  }

  /// Why the gate-shaped `x` is not gateOf()'s y * silu(z) of an m2 y.
  std::string gateWhy(Value x);

  /// The name of the linear `op` on `x` with the weight `w` (a constant, or the op's weight
  /// operand), for messages: in_proj, out_proj or lm_head from the weight's name or from what
  /// x is (the norm of a layer, the gated norm, the final norm), else "linear".
  std::string linearName(Operation *op, Value x, Value w);

  /// A Gemm or Einsum that onnx-normal-forms did not rewrite into a linear: says why, when its
  /// weight is a constant matrix (or x an activation).
  bool linearLeft(Operation *op);

  /// MatMul(x, W) with a constant W (in, out), the normal form of a linear: m2.linear, or
  /// m2.lm_head when W is the transposed embedding table.
  bool linear(ox::MatMulOp op);

  /// Builds m2.linear(x, w) with w (in, out) for `op`; with `tiedHead`, m2.lm_head instead
  /// when w is the transpose of the embedding table.
  bool makeLinear(Operation *op, Value x, ElementsAttr w, bool tiedHead = false) {
    Operation *anchor = op;
    auto ws = w.getShapedType().getShape();
    if (!isF32Ranked(x) || ranked(x).getShape().back() != ws[0])
      return false;
    builder.setInsertionPoint(anchor);
    if (ElementsAttr table = tiedHead ? tiedTable(w) : ElementsAttr()) {
      Value r = builder.create<m2::LMHeadOp>(op->getLoc(), withLast(x, ws[1]), x,
                                             weight(table, op->getLoc()));
      replace(anchor, r, "lm_head");
      return true;
    }
    Value r =
        builder.create<m2::LinearOp>(op->getLoc(), withLast(x, ws[1]), x, weight(w, op->getLoc()));
    replace(anchor, r, "linear");
    return true;
  }

  /// The embedding table whose transpose `w` (d, V) is, if any.
  ElementsAttr tiedTable(ElementsAttr w) {
    ElementsAttr table;
    func.walk([&](m2::EmbeddingOp e) { table = constant(e.getTable()); });
    if (!table)
      return {};
    auto ts = table.getShapedType().getShape(), ws = w.getShapedType().getShape();
    if (ts[0] != ws[1] || ts[1] != ws[0])
      return {};
    // Compared where they lie (each is 0.5 GB at 2.7B); both mapped tables' pages are given
    // back after the comparison: the head's is dead when tied, and the table is next read by
    // m2-fold-norms and m2-rotate, which read it again from the file.
    std::vector<float> tc, wc;
    auto tv = floatView(table, tc), wv = floatView(w, wc);
    if (!tv || !wv)
      return {};
    const int64_t V = ts[0], D = ts[1];
    bool tied = true;
    for (int64_t v = 0; v < V && tied; ++v)
      for (int64_t k = 0; k < D && tied; ++k)
        tied = (*tv)[v * D + k] == (*wv)[k * V + v];
    support::dropUnownedPages(table);
    support::dropUnownedPages(w);
    return tied ? table : ElementsAttr();
  }

  /// m2.split of `x` into `sizes` on the last axis, before `at`.
  m2::SplitOp makeSplit(Operation *at, Value x, llvm::ArrayRef<int64_t> sizes) {
    builder.setInsertionPoint(at);
    llvm::SmallVector<Type> types;
    for (int64_t s : sizes)
      types.push_back(withLast(x, s));
    ++raised["split"];
    return builder.create<m2::SplitOp>(at->getLoc(), types, x, builder.getDenseI64ArrayAttr(sizes));
  }

  /// Split on the last axis with constant sizes, or in equal parts without them.
  bool split(ox::SplitOp op);

  /// [start, end) of a Slice of `x`'s last axis (rank r) with step 1 and constant bounds;
  /// ends past the axis are clamped to its width.
  std::optional<std::pair<int64_t, int64_t>> lastAxisRange(ox::SliceOp s, int64_t width) {
    // The ONNX rank (a step graph's (b, c) is m2's (b, 1, c)), or the m2 rank when lost.
    int64_t r = rankOf(s.getResult()) > 0 ? rankOf(s.getResult()) : rankOf(s.getData());
    auto starts = ints(s.getStarts()), ends = ints(s.getEnds());
    if (!starts || !ends || starts->size() != 1 || ends->size() != 1 ||
        !isAxis(ints(s.getAxes()), r - 1, r))
      return std::nullopt;
    if (!isa<NoneType>(s.getSteps().getType())) {
      auto steps = ints(s.getSteps());
      if (!steps || steps->size() != 1 || (*steps)[0] != 1)
        return std::nullopt;
    }
    int64_t b = (*starts)[0], e = (*ends)[0];
    if (b < 0)
      b += width;
    if (e < 0)
      e += width;
    e = std::min(e, width);
    if (b < 0 || b >= e)
      return std::nullopt;
    return std::pair{b, e};
  }

  /// Slices of the last axis of one m2 value that tile it exactly ([0, a), [a, b), ...,
  /// [z, width), each once) are one m2.split, built before the first of them.
  bool sliceSplit(ox::SliceOp op);

  /// Transpose(Conv(Transpose(x), W (C, 1, K), b, group C, pads [K-1, 0]), back), the normal
  /// form of the causal depthwise conv (see onnx-normal-forms).
  bool conv(ox::TransposeOp op);

  /// A Conv left that no Transpose back to (batch, length, channels) reads: says why.
  bool convLeft(ox::ConvOp op);

  /// A Pad of an activation before shifted Slices of the length axis (a conv's window) that
  /// onnx-normal-forms did not take for the causal conv: says why.
  bool convWindowLeft(ox::PadOp op);

  /// True when `axes` (a constant) names exactly the axis `axis` of a rank-`rank` tensor.
  static bool isAxis(std::optional<std::vector<int64_t>> axes, int64_t axis, int64_t rank) {
    if (!axes || axes->size() != 1)
      return false;
    int64_t a = (*axes)[0];
    return a == axis || (rank > 0 && a + rank == axis) || (rank > 0 && axis + rank == a);
  }

  /// The step graph's causal depthwise conv:
  ///   Add(ReduceSum(Mul(window, W), last axis, keepdims 0), bias)
  /// with W (C, K) or (C, 1, K), bias (C) and the window (b, C, K)
  ///   Concat(Slice(state (b, C, K), 1: on the last axis), Unsqueeze(x, -1)),
  /// which is m2.conv1d with state (its new state is the Concat).
  bool convWindow(ox::AddOp op);

  /// A layer's state input: a function argument, or Gather(argument, constant scalar index)
  /// out of the states of all layers stacked on axis 0.
  static bool isStateInput(Value v) {
    if (isa<BlockArgument>(v))
      return true;
    auto g = v.getDefiningOp<ox::GatherOp>();
    if (!g || g.getAxis() != 0 || !isa<BlockArgument>(g.getData()) || rankOf(g.getIndices()) != 0)
      return false;
    auto idx = ints(g.getIndices());
    return idx && idx->size() == 1;
  }

  /// `v` without a Pad that only appends zeros to the length axis (axis 1): the chunked form
  /// pads the sequence to a multiple of the chunk and reshapes y back to the input's length.
  Value unpaddedLength(Value v) {
    auto pad = def<ox::PadOp>(v);
    int64_t r = pad ? rankOf(pad.getData()) : -1;
    if (!pad || r < 2 || pad.getMode() != "constant")
      return v;
    if (!isa<NoneType>(pad.getConstantValue().getType())) {
      auto cv = scalarFloat(pad.getConstantValue());
      if (!cv || *cv != 0.0f)
        return v;
    }
    for (int64_t i = 0; i < 2 * r; ++i) {
      if (i == r + 1)
        continue; // the end of the length axis
      auto e = shapeElement(pad.getPads(), i);
      if (!e || *e != 0)
        return v;
    }
    return pad.getData();
  }

  /// Reshape(Add(ssd_body, Mul(Reshape(x), D)), (b, l, h*p)) with the body built from
  /// softplus(dt + dt_bias) (optionally clamped by a Clip with constant bounds, transformers'
  /// time_step_limit), A (-exp(A_log), or a constant of negative values multiplied with dt),
  /// and B, C from the same split as x. The D product may read x padded on the length axis.
  bool ssd(ox::ReshapeOp op, std::string &why);

  bool residual(ox::AddOp op);

  bool softplus(Operation *op);

  void eraseDead();

  /// A step graph takes the states of all layers stacked on axis 0 (conv_states (layers, b,
  /// C, K), ssm_states (layers, b, h, p, n)) and returns them stacked the same way. Once each
  /// layer's slice `Gather(states, i)` feeds only m2 ops, and each returned stack is
  /// `Concat(Unsqueeze(new_i, 0)...)` of m2 new states, the function takes and returns one
  /// state per layer (named `states[i]`). Results that are m2 values take the m2 type (the
  /// step graph's (b, vocab) logits become (b, 1, vocab)).
  void unstackStates();

  LogicalResult run(bool strict);
};

} // namespace mamba2::raise
