// raise-onnx-to-m2: recognises the Mamba2 blocks of an imported ONNX graph and rewrites them
// into `m2` ops. The walk goes forward through the function; each matcher starts at the last
// op of a block (its "anchor"), checks the whole block's structure backwards, builds the m2 op
// before the anchor and redirects the anchor's uses. Types of m2 results are computed from m2
// operands, never taken from ONNX shape inference (which loses ranks after dynamic Slices).
// Dead ops are erased at the end; any `onnx` op still used is reported.
#include "mamba2/Transforms/NormalForms.h"
#include "mamba2/Transforms/Passes.h"

#include <limits>
#include <map>
#include <set>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mamba2 {
#define GEN_PASS_DEF_RAISEONNXTOM2
#include "mamba2/Transforms/Passes.h.inc"
} // namespace mamba2

using namespace mlir;
namespace ox = mamba2::onnxir;
namespace m2 = mamba2::m2;

namespace {

//===----------------------------------------------------------------------===//
// Small matchers
//===----------------------------------------------------------------------===//

/// The ONNX node name an op was imported from (its NameLoc), or its op name.
std::string nameOf(Operation *op) {
  if (auto n = dyn_cast<NameLoc>(op->getLoc()))
    return n.getName().str();
  return op->getName().getStringRef().str();
}

bool isM2Def(Value v) {
  Operation *d = v.getDefiningOp();
  return d && isa<mamba2::m2::M2Dialect>(d->getDialect());
}

/// True when `out` is `in`, an m2 activation (b, 1, c) of one token per sequence, seen as the
/// (b, c) or (b, 1, c) tensor of a step graph: the same elements in the same order.
bool isUnitView(Value in, Value out) {
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
Value skipIdentity(Value v) {
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
ElementsAttr constant(Value v) {
  v = skipIdentity(v);
  if (auto c = v.getDefiningOp<ox::ConstantOp>())
    return c.getValue();
  if (auto c = v.getDefiningOp<m2::ConstantOp>())
    return c.getValue();
  return {};
}

/// Float values of an f32 constant (dense or dense_resource).
std::optional<std::vector<float>> floats(ElementsAttr a) {
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

std::optional<float> scalarFloat(Value v) {
  auto f = floats(constant(v));
  if (!f || f->size() != 1)
    return std::nullopt;
  return (*f)[0];
}

std::optional<std::vector<int64_t>> ints(Value v) {
  auto d = dyn_cast_or_null<DenseIntElementsAttr>(constant(v));
  if (!d)
    return std::nullopt;
  std::vector<int64_t> out;
  for (const APInt &x : d.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

int64_t rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? t.getRank() : -1;
}

RankedTensorType ranked(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

bool isF32Ranked(Value v) {
  auto t = ranked(v);
  return t && t.getElementType().isF32();
}

/// The two operands of a commutative binary op, in both orders.
template <typename OpT> bool commuted(OpT op, llvm::function_ref<bool(Value, Value)> fn) {
  return fn(op.getA(), op.getB()) || fn(op.getB(), op.getA());
}

/// Element `i` of a 1-D int64 shape tensor: a constant, or a Concat whose pieces have static
/// lengths and the piece holding `i` is constant.
std::optional<int64_t> shapeElement(Value shape, int64_t i) {
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
std::optional<DimRef> dimensionOf(Value v) {
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
  ElementsAttr reshape(ElementsAttr a, llvm::ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, a.getElementType());
    if (auto d = dyn_cast<DenseElementsAttr>(a))
      return d.reshape(type);
    if (auto r = dyn_cast<DenseResourceElementsAttr>(a))
      return DenseResourceElementsAttr::get(type, r.getRawHandle());
    return {};
  }

  Type withLast(Value v, int64_t last) {
    auto t = ranked(v);
    llvm::SmallVector<int64_t> s(t.getShape().begin(), t.getShape().end());
    s.back() = last;
    return RankedTensorType::get(s, t.getElementType());
  }

  /// Why a block that was recognised in part did not raise: "layer 2 conv at node 'n'
  /// (Conv): ...", reported with the ops left when the walk is over.
  std::vector<std::pair<std::string, std::string>> reasons; // node name, reason

  /// The layer `at` belongs to: the number of (ungated) m2.rms_norm before it, less one (each
  /// layer starts with its norm; the final norm starts "the head").
  std::string layerOf(Operation *at) {
    int64_t norms = 0;
    for (Operation &op : func.getBody().front()) {
      if (&op == at)
        break;
      norms += isa<m2::RMSNormOp>(op);
    }
    return norms == 0 ? "before the first layer" : "layer " + std::to_string(norms - 1);
  }

  /// Records why the block `block` anchored at (or found at) `at` did not raise; returns false.
  bool because(Operation *at, const char *block, const std::string &why) {
    reasons.emplace_back(nameOf(at), layerOf(at) + " " + block + " at node '" + nameOf(at) + "' (" +
                                         at->getName().stripDialect().str() + "): " + why);
    return false;
  }

  void replace(Operation *anchor, Value with, const char *what) {
    anchor->getResult(0).replaceAllUsesWith(with);
    ++raised[what];
  }

  // x * (1 / sqrt(mean(x^2) + eps)), x / sqrt(...), x * reciprocal(sqrt(...)).
  struct NormCore {
    Value x;
    float eps;
  };
  std::optional<NormCore> matchNormCore(Value v) {
    auto meanOf = [](Value sq, Value x) -> bool {
      if (auto p = def<ox::PowOp>(sq)) {
        auto e = scalarFloat(p.getB());
        return skipIdentity(p.getA()) == x && e && *e == 2.0f;
      }
      if (auto m = def<ox::MulOp>(sq))
        return skipIdentity(m.getA()) == x && skipIdentity(m.getB()) == x;
      return false;
    };
    auto rsqrtArg = [&](Value s, Value x) -> std::optional<float> {
      auto sqrt = def<ox::SqrtOp>(s);
      if (!sqrt)
        return std::nullopt;
      auto add = def<ox::AddOp>(sqrt.getInput());
      if (!add)
        return std::nullopt;
      std::optional<float> eps;
      ox::ReduceMeanOp mean;
      if ((mean = def<ox::ReduceMeanOp>(add.getA())))
        eps = scalarFloat(add.getB());
      else if ((mean = def<ox::ReduceMeanOp>(add.getB())))
        eps = scalarFloat(add.getA());
      if (!mean || !eps || mean.getKeepdims() != 1 || !mean.getAxes() ||
          mean.getAxes()->size() != 1)
        return std::nullopt;
      int64_t axis = cast<IntegerAttr>((*mean.getAxes())[0]).getInt();
      // The ONNX rank (a step graph's (b, c) is m2's (b, 1, c)).
      int64_t r = rankOf(mean.getReduced()) > 0 ? rankOf(mean.getReduced()) : rankOf(x);
      if (!(axis == -1 || (r > 0 && axis == r - 1)))
        return std::nullopt;
      if (!meanOf(mean.getData(), x))
        return std::nullopt;
      return eps;
    };
    v = skipIdentity(v);
    if (auto div = def<ox::DivOp>(v)) { // x / sqrt(...)
      Value x = skipIdentity(div.getA());
      if (auto eps = rsqrtArg(div.getB(), x))
        return NormCore{x, *eps};
    }
    if (auto mul = def<ox::MulOp>(v)) {
      for (auto [xv, rv] : {std::pair{mul.getA(), mul.getB()}, std::pair{mul.getB(), mul.getA()}}) {
        Value x = skipIdentity(xv);
        if (auto div = def<ox::DivOp>(rv)) {
          auto one = scalarFloat(div.getA());
          if (one && *one == 1.0f)
            if (auto eps = rsqrtArg(div.getB(), x))
              return NormCore{x, *eps};
        }
        if (auto rec = def<ox::ReciprocalOp>(rv))
          if (auto eps = rsqrtArg(rec.getInput(), x))
            return NormCore{x, *eps};
      }
    }
    return std::nullopt;
  }

  /// softplus(x): Softplus(x) or Log(1 + Exp(x)) (either order of the Add). Returns x.
  Value matchSoftplus(Value v) {
    v = skipIdentity(v);
    if (auto sp = v.getDefiningOp<ox::SoftplusOp>())
      return sp.getInput();
    auto log = v.getDefiningOp<ox::LogOp>();
    auto add = log ? def<ox::AddOp>(log.getInput()) : ox::AddOp();
    if (!add)
      return {};
    Value x;
    commuted(add, [&](Value a, Value b) {
      auto one = scalarFloat(b);
      auto e = def<ox::ExpOp>(a);
      if (one && *one == 1.0f && e)
        x = e.getInput();
      return bool(x);
    });
    return x;
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
  bool embedding(ox::GatherOp op) {
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
        !ids.getElementType().isInteger(64))
      return false;
    builder.setInsertionPoint(op);
    auto type = RankedTensorType::get(
        {ids.getDimSize(0), ids.getDimSize(1), table.getShapedType().getDimSize(1)},
        builder.getF32Type());
    Value e =
        builder.create<m2::EmbeddingOp>(op.getLoc(), type, idsValue, weight(table, op.getLoc()));
    replace(op, e, "embedding");
    return true;
  }

  bool silu(ox::MulOp op) {
    Value z = matchSilu(op.getC());
    if (!z || !isF32Ranked(z))
      return false;
    builder.setInsertionPoint(op);
    replace(op, builder.create<m2::SiluOp>(op.getLoc(), z.getType(), z), "silu");
    return true;
  }

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
  bool norm(ox::MulOp op) {
    ElementsAttr w;
    Value n;
    commuted(op, [&](Value a, Value b) {
      ElementsAttr c = constant(b);
      if (c && c.getShapedType().getRank() == 1 && c.getElementType().isF32()) {
        w = c;
        n = a;
      }
      return bool(w);
    });
    if (!w)
      return false;
    int64_t d = w.getShapedType().getDimSize(0);
    if (auto core = matchNormCore(n)) {
      if (!isF32Ranked(core->x) || ranked(core->x).getShape().back() != d)
        return false;
      // rmsnorm(y * silu(z)) over the whole width: the gated norm with one group.
      if (auto [y, z] = gateOf(core->x); y) {
        builder.setInsertionPoint(op);
        Value r = builder.create<m2::GatedRMSNormOp>(
            op.getLoc(), y.getType(), y, z, weight(w, op.getLoc()),
            builder.getF32FloatAttr(core->eps), builder.getI64IntegerAttr(1));
        replace(op, r, "gated_rms_norm");
        return true;
      }
      builder.setInsertionPoint(op);
      Value r =
          builder.create<m2::RMSNormOp>(op.getLoc(), core->x.getType(), core->x,
                                        weight(w, op.getLoc()), builder.getF32FloatAttr(core->eps));
      replace(op, r, "rms_norm");
      return true;
    }
    // Gated, grouped form.
    auto back = def<ox::ReshapeOp>(n);
    if (!back)
      return false;
    auto core = matchNormCore(back.getData());
    if (!core)
      return false;
    auto grouped = def<ox::ReshapeOp>(core->x);
    if (!grouped)
      return false;
    auto groupSize = shapeElement(grouped.getShape(), -1);
    if (!groupSize || *groupSize <= 0 || d % *groupSize)
      return false;
    auto [y, z] = gateOf(grouped.getData());
    if (!y || ranked(y).getShape().back() != d)
      return false;
    builder.setInsertionPoint(op);
    Value r = builder.create<m2::GatedRMSNormOp>(
        op.getLoc(), y.getType(), y, z, weight(w, op.getLoc()), builder.getF32FloatAttr(core->eps),
        builder.getI64IntegerAttr(d / *groupSize));
    replace(op, r, "gated_rms_norm");
    return true;
  }

  /// Element `i` of a 1-D shape tensor that is a Concat (or a constant): a constant, or
  /// dimension `index` of a value read as Unsqueeze(Gather(Shape(of), index)).
  struct ShapeDim {
    std::optional<int64_t> value;
    Value of;
    int64_t index = -1;
  };
  std::optional<ShapeDim> shapeDim(Value shape, int64_t i) {
    if (auto c = shapeElement(shape, i))
      return ShapeDim{c, {}, -1};
    auto cat = def<ox::ConcatOp>(shape);
    if (!cat)
      return std::nullopt;
    for (Value p : cat.getInputs()) {
      auto t = ranked(p);
      if (!t || t.getRank() != 1 || t.isDynamicDim(0))
        return std::nullopt;
      if (i >= t.getDimSize(0)) {
        i -= t.getDimSize(0);
        continue;
      }
      auto un = def<ox::UnsqueezeOp>(p);
      auto g = un ? def<ox::GatherOp>(un.getData()) : ox::GatherOp();
      auto sh = g ? def<ox::ShapeOp>(g.getData()) : ox::ShapeOp();
      auto idx = g ? ints(g.getIndices()) : std::nullopt;
      if (!sh || sh.getStart() || !idx || idx->size() != 1 || t.getDimSize(0) != 1)
        return std::nullopt;
      return ShapeDim{std::nullopt, skipIdentity(sh.getData()), (*idx)[0]};
    }
    return std::nullopt;
  }

  /// A linear on activations flattened to rows and the result unflattened:
  ///   Reshape(op(Reshape(v (b, l, d), (-1, d)), W), (b, l, n or -1))
  /// with b and l read from the shape of v (or of a value of the same batch and length) or
  /// equal constants. Returns v and the outer Reshape, or nulls.
  std::pair<Value, Operation *> flattened(Operation *op, Value a) {
    auto in = def<ox::ReshapeOp>(a);
    if (!in || !op->getResult(0).hasOneUse())
      return {};
    Value v = skipIdentity(in.getData());
    auto vt = ranked(v);
    auto out = dyn_cast<ox::ReshapeOp>(*op->getResult(0).getUsers().begin());
    auto inShape = ranked(in.getShape()), outShape = out ? ranked(out.getShape()) : nullptr;
    if (!isM2(v) || !vt || vt.getRank() != 3 || vt.isDynamicDim(2) || !out || !inShape ||
        inShape.getShape() != llvm::ArrayRef<int64_t>{2} || !outShape ||
        outShape.getShape() != llvm::ArrayRef<int64_t>{3})
      return {};
    // dim j of v: the constant size, or read from the shape of v (or its batch/length).
    auto isDim = [&](std::optional<ShapeDim> e, int64_t j) {
      if (!e)
        return false;
      if (e->value)
        return !vt.isDynamicDim(j) && *e->value == vt.getDimSize(j);
      return e->index == j &&
             (j == 2 ? e->of == v || (ranked(e->of) && ranked(e->of).getRank() == 3 &&
                                      ranked(e->of).getDimSize(2) == vt.getDimSize(2))
                     : sameLength(e->of, v) || e->of == v);
    };
    auto rows = shapeElement(in.getShape(), 0);
    if (!rows || *rows != -1 || !isDim(shapeDim(in.getShape(), 1), 2) ||
        !isDim(shapeDim(out.getShape(), 0), 0) || !isDim(shapeDim(out.getShape(), 1), 1))
      return {};
    auto n = shapeElement(out.getShape(), 2);
    auto rt = ranked(op->getResult(0));
    if (!n || !(*n == -1 || (rt && rt.getRank() == 2 && *n == rt.getDimSize(1))))
      return {};
    return {v, out};
  }

  /// MatMul(x, W) with a constant W (in, out): m2.linear, or m2.lm_head when W is the
  /// transposed embedding table. x may be flattened to rows (see `flattened`).
  bool linear(ox::MatMulOp op) {
    ElementsAttr w = constant(op.getB());
    if (auto t = def<ox::TransposeOp>(op.getB()); !w && t) {
      // MatMul(x, Transpose(W (out, in))): the weight is W's transpose (in, out).
      auto perm = t.getPerm();
      ElementsAttr wt = constant(t.getData());
      bool swap = !perm || (perm->size() == 2 && cast<IntegerAttr>((*perm)[0]).getInt() == 1 &&
                            cast<IntegerAttr>((*perm)[1]).getInt() == 0);
      if (swap && wt && wt.getShapedType().getRank() == 2)
        w = transposed(wt);
    }
    if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
      return false;
    return makeLinear(op, skipIdentity(op.getA()), w, /*tiedHead=*/true);
  }

  /// (rows, cols) -> (cols, rows) of a 2-D f32 constant, as a new dense constant.
  ElementsAttr transposed(ElementsAttr w) {
    auto v = floats(w);
    if (!v)
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

  /// Builds m2.linear(x, w) with w (in, out) for `op`; with `tiedHead`, m2.lm_head instead
  /// when w is the transpose of the embedding table.
  bool makeLinear(Operation *op, Value x, ElementsAttr w, bool tiedHead = false) {
    Operation *anchor = op;
    if (auto [v, outer] = flattened(op, x); v) {
      x = v;
      anchor = outer;
    }
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

  /// Gemm(x, W) without C (or with a C of zeros), alpha 1, transA 0: x @ W, or x @ W^T with
  /// transB; x may be flattened to rows (see `flattened`).
  bool gemm(ox::GemmOp op) {
    ElementsAttr w = constant(op.getB());
    bool noBias = isa<NoneType>(op.getC().getType());
    if (!noBias) {
      auto c = floats(constant(op.getC()));
      noBias = c && llvm::all_of(*c, [](float f) { return f == 0.0f; });
    }
    if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32() || !noBias ||
        op.getTransA() != 0 || op.getAlpha().convertToFloat() != 1.0f)
      return false;
    if (op.getTransB() != 0)
      w = transposed(w);
    return w && makeLinear(op, skipIdentity(op.getA()), w, /*tiedHead=*/true);
  }

  /// Einsum "<p>k,kn-><p>n" (W (in, out)) or "<p>k,nk-><p>n" (W (out, in)) with constant W.
  bool einsumLinear(ox::EinsumOp op) {
    if (op.getInputs().size() != 2)
      return false;
    ElementsAttr w = constant(op.getInputs()[1]);
    if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
      return false;
    std::string eq;
    for (char c : op.getEquation().str())
      if (c != ' ')
        eq += c;
    auto arrow = eq.find("->");
    auto comma = eq.find(',');
    if (arrow == std::string::npos || comma == std::string::npos || comma > arrow)
      return false;
    std::string a = eq.substr(0, comma), b = eq.substr(comma + 1, arrow - comma - 1),
                out = eq.substr(arrow + 2);
    if (a.empty() || b.size() != 2 || out.size() != a.size() || a.find("...") != std::string::npos)
      return false;
    char k = a.back(), n = out.back();
    if (a.substr(0, a.size() - 1) != out.substr(0, out.size() - 1) || k == n ||
        out.substr(0, out.size() - 1).find_first_of(std::string{k, n}) != std::string::npos)
      return false;
    if (b == std::string{k, n})
      return makeLinear(op, skipIdentity(op.getInputs()[0]), w, /*tiedHead=*/true);
    if (b == std::string{n, k}) {
      ElementsAttr t = transposed(w);
      return t && makeLinear(op, skipIdentity(op.getInputs()[0]), t, /*tiedHead=*/true);
    }
    return false;
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
    auto tv = floats(table), wv = floats(w);
    if (!tv || !wv)
      return {};
    int64_t V = ts[0], D = ts[1];
    for (int64_t v = 0; v < V; ++v)
      for (int64_t k = 0; k < D; ++k)
        if ((*tv)[v * D + k] != (*wv)[k * V + v])
          return {};
    return table;
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
  bool split(ox::SplitOp op) {
    Value x = skipIdentity(op.getInput());
    if (!isF32Ranked(x))
      return false;
    // The axis counts in the ONNX tensor's rank (a step graph's (b, c) is m2's (b, 1, c)).
    int64_t r = rankOf(op.getResult(0)) > 0 ? rankOf(op.getResult(0)) : rankOf(x);
    int64_t width = ranked(x).getShape().back(), parts = op.getNumResults();
    if (!(op.getAxis() == -1 || op.getAxis() == r - 1) || ShapedType::isDynamic(width))
      return false;
    std::optional<std::vector<int64_t>> sizes;
    if (isa<NoneType>(op.getSplit().getType())) {
      if (width % parts == 0)
        sizes = std::vector<int64_t>(parts, width / parts);
    } else {
      sizes = ints(op.getSplit());
    }
    if (!sizes || static_cast<int64_t>(sizes->size()) != parts)
      return false;
    int64_t total = 0;
    for (int64_t s : *sizes)
      total += s;
    if (total != width)
      return false;
    auto s = makeSplit(op, x, *sizes);
    for (auto [a, b] : llvm::zip(op.getResults(), s.getResults()))
      a.replaceAllUsesWith(b);
    return true;
  }

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
  bool sliceSplit(ox::SliceOp op) {
    Value x = op.getData();
    if (!isM2(x) || !isF32Ranked(x))
      return false;
    int64_t width = ranked(x).getShape().back();
    if (ShapedType::isDynamic(width) || !lastAxisRange(op, width))
      return false;
    std::map<int64_t, std::pair<int64_t, ox::SliceOp>> pieces; // start -> (end, slice)
    for (Operation *u : x.getUsers()) {
      auto s = dyn_cast<ox::SliceOp>(u);
      if (!s)
        continue;
      auto range = lastAxisRange(s, width);
      if (!range || pieces.count(range->first))
        return false;
      pieces[range->first] = {range->second, s};
    }
    int64_t at = 0;
    std::vector<int64_t> sizes;
    for (auto &[start, piece] : pieces) {
      if (start != at)
        return false;
      sizes.push_back(piece.first - start);
      at = piece.first;
    }
    if (at != width || sizes.size() < 2)
      return false;
    auto split = makeSplit(op, x, sizes);
    size_t i = 0;
    for (auto &[start, piece] : pieces)
      piece.second.getResult().replaceAllUsesWith(split.getResult(i++));
    return true;
  }

  /// True when `v`'s dimension 1 is the length of `x`: v is x or one of its producers through
  /// ops that keep (batch, length) (m2 ops, last-axis splits, MatMul).
  bool sameLength(Value v, Value x) {
    v = skipIdentity(v);
    for (int step = 0; step < 8 && x; ++step) {
      x = skipIdentity(x);
      if (x == v)
        return true;
      Operation *d = x.getDefiningOp();
      if (!d || d->getNumOperands() == 0 ||
          !(isa<m2::M2Dialect>(d->getDialect()) || isa<ox::MatMulOp, ox::SplitOp>(d)))
        return false;
      x = d->getOperand(0);
    }
    return false;
  }

  /// Transpose(Slice(Conv(Transpose(x)), 0:L on the length), back): causal depthwise conv.
  bool conv(ox::TransposeOp op) {
    auto permIs021 = [](ox::TransposeOp t) {
      auto p = t.getPerm();
      if (!p || p->size() != 3)
        return false;
      int64_t e[3];
      for (int i = 0; i < 3; ++i)
        e[i] = cast<IntegerAttr>((*p)[i]).getInt();
      return e[0] == 0 && e[1] == 2 && e[2] == 1;
    };
    if (!permIs021(op))
      return false;
    auto slice = def<ox::SliceOp>(op.getData());
    if (!slice)
      return false;
    auto c = def<ox::ConvOp>(slice.getData());
    if (!c)
      return false;
    auto in = def<ox::TransposeOp>(c.getX());
    if (!in || !permIs021(in))
      return because(c, "conv",
                     "its input is not the (batch, length, channels) activation "
                     "transposed to (batch, channels, length)");
    Value x = skipIdentity(in.getData());
    ElementsAttr w = constant(c.getW()), b = constant(c.getB());
    bool noBias = isa<NoneType>(c.getB().getType());
    if (!isF32Ranked(x) || rankOf(x) != 3 || !w || !(b || noBias))
      return because(c, "conv",
                     "the weight or the bias is not a constant, or the input is not "
                     "a rank-3 float32 tensor");
    auto ws = w.getShapedType().getShape();
    int64_t ch = ranked(x).getShape()[2];
    if (ws.size() != 3 || ws[0] != ch || ws[1] != 1 || c.getGroup() != ch ||
        (b && b.getShapedType().getNumElements() != ch))
      return because(c, "conv", "it is not depthwise (weight (C, 1, k), group C, bias (C))");
    if (noBias) // a Conv without bias is one with a bias of zeros
      b = DenseElementsAttr::get(RankedTensorType::get({ch}, builder.getF32Type()), 0.0f);
    int64_t k = ws[2];
    auto attrIs = [](std::optional<ArrayAttr> a, llvm::ArrayRef<int64_t> want) {
      if (!a)
        return true;
      if (a->size() != want.size())
        return false;
      for (auto [x, y] : llvm::zip(*a, want))
        if (cast<IntegerAttr>(x).getInt() != y)
          return false;
      return true;
    };
    if (c.getAutoPad() != "NOTSET" || !c.getPads() || !attrIs(c.getPads(), {k - 1, k - 1}) ||
        !attrIs(c.getStrides(), {1}) || !attrIs(c.getDilations(), {1}))
      return because(c, "conv",
                     "it is not padded by kernel - 1 on both sides with unit strides "
                     "and dilations, so it is not causal once sliced");
    // The slice keeps [0, L) of the length axis.
    auto starts = ints(slice.getStarts());
    if (!starts || starts->size() != 1 || (*starts)[0] != 0)
      return because(slice, "conv", "the Slice after the Conv does not start at 0");
    if (!isa<NoneType>(slice.getAxes().getType())) {
      auto axes = ints(slice.getAxes());
      if (!axes || axes->size() != 1 || !((*axes)[0] == 2 || (*axes)[0] == -1))
        return because(slice, "conv", "the Slice after the Conv is not on the length axis");
    }
    if (!isa<NoneType>(slice.getSteps().getType())) {
      auto steps = ints(slice.getSteps());
      if (!steps || steps->size() != 1 || (*steps)[0] != 1)
        return because(slice, "conv", "the Slice after the Conv has a step other than 1");
    }
    bool endOk = false;
    int64_t len = ranked(x).getShape()[1];
    if (auto ends = ints(slice.getEnds()))
      endOk = ends->size() == 1 && !ShapedType::isDynamic(len) && (*ends)[0] == len;
    else if (auto dim = dimensionOf(slice.getEnds()))
      endOk = dim->index == 1 && sameLength(dim->of, x);
    if (!endOk)
      return because(slice, "conv",
                     "the Slice ends are not a function of the input length (a constant equal "
                     "to it, or a shape expression of dimension 1 of the input)");
    builder.setInsertionPoint(op);
    Value r =
        builder
            .create<m2::Conv1dOp>(op.getLoc(), x.getType(), x,
                                  weight(reshape(w, {ch, k}), c.getLoc()), weight(b, c.getLoc()))
            .getOutput();
    replace(op, r, "conv1d");
    return true;
  }

  /// True when `axes` (a constant) names exactly the axis `axis` of a rank-`rank` tensor.
  static bool isAxis(std::optional<std::vector<int64_t>> axes, int64_t axis, int64_t rank) {
    if (!axes || axes->size() != 1)
      return false;
    int64_t a = (*axes)[0];
    return a == axis || (rank > 0 && a + rank == axis) || (rank > 0 && axis + rank == a);
  }

  /// A causal depthwise conv written without Conv:
  ///   Add(ReduceSum(Mul(window, W), last axis, keepdims 0), bias)
  /// with W (C, K) or (C, 1, K) and bias (C). The window (..., C, K) is either
  ///   * the step graph's Concat(Slice(state (b, C, K), 1: on the last axis), Unsqueeze(x, -1)),
  ///     which is m2.conv1d with state (its new state is the Concat), or
  ///   * the K shifted copies of the input padded with K-1 zeros before the length:
  ///     Concat_j(Unsqueeze(Slice(Pad(x), j : j + L on the length axis), -1)), which is
  ///     m2.conv1d without state.
  bool convWindow(ox::AddOp op) {
    ElementsAttr bias;
    ox::ReduceSumOp rs;
    commuted(op, [&](Value a, Value b) {
      ElementsAttr c = constant(b);
      auto r = def<ox::ReduceSumOp>(a);
      if (c && r) {
        bias = c;
        rs = r;
      }
      return bool(rs);
    });
    if (!rs || rs.getKeepdims() != 0 || !bias.getElementType().isF32())
      return false;
    auto mul = def<ox::MulOp>(rs.getData());
    if (!mul)
      return false;
    ElementsAttr w;
    ox::ConcatOp cat;
    commuted(mul, [&](Value a, Value b) {
      ElementsAttr c = constant(b);
      auto cc = def<ox::ConcatOp>(a);
      if (c && cc && c.getElementType().isF32()) {
        w = c;
        cat = cc;
      }
      return bool(cat);
    });
    if (!cat)
      return false;
    // The window is (b, C, K) in the step form, (b, L, C, K) in the other; when shape
    // inference lost its rank, the form says it.
    auto lastAxes = [&](int64_t winRank) {
      int64_t r = rankOf(cat.getResult());
      return (r < 0 || r == winRank) && isAxis(ints(rs.getAxes()), winRank - 1, winRank) &&
             (cat.getAxis() == -1 || cat.getAxis() == winRank - 1);
    };
    auto ws = w.getShapedType().getShape();
    if (!(ws.size() == 2 || (ws.size() == 3 && ws[1] == 1)))
      return false;
    int64_t ch = ws[0], k = ws.back();
    if (bias.getShapedType().getNumElements() != ch || k < 1)
      return false;
    auto isM2Act = [&](Value x) {
      auto t = ranked(x);
      return isM2(x) && t && t.getRank() == 3 && t.getElementType().isF32() &&
             t.getDimSize(2) == ch;
    };
    Value wv = weight(reshape(w, {ch, k}), op.getLoc());
    Value bv = weight(reshape(bias, {ch}), op.getLoc());

    // Step form: the window is the old state without its oldest column, then x.
    if (cat.getInputs().size() == 2) {
      auto slice = def<ox::SliceOp>(cat.getInputs()[0]);
      auto un = def<ox::UnsqueezeOp>(cat.getInputs()[1]);
      if (!slice || !un || !lastAxes(3) || !isAxis(ints(un.getAxes()), 2, 3))
        return false;
      Value x = skipIdentity(un.getData());
      Value state = slice.getData();
      auto st = ranked(state);
      auto starts = ints(slice.getStarts()), ends = ints(slice.getEnds());
      if (!isM2Act(x) || ranked(x).getDimSize(1) != 1 || !st || st.getRank() != 3 ||
          !st.getElementType().isF32() || st.getDimSize(1) != ch || st.getDimSize(2) != k ||
          !starts || starts->size() != 1 || (*starts)[0] != 1 || !ends || ends->size() != 1 ||
          (*ends)[0] < k || !isAxis(ints(slice.getAxes()), 2, 3))
        return false;
      if (!isa<NoneType>(slice.getSteps().getType())) {
        auto steps = ints(slice.getSteps());
        if (!steps || steps->size() != 1 || (*steps)[0] != 1)
          return false;
      }
      // The new state is defined where the conv output is: its other users must come later.
      for (Operation *u : cat->getUsers())
        if (u != mul.getOperation() && !op->isBeforeInBlock(u))
          return false;
      builder.setInsertionPoint(op);
      auto conv =
          builder.create<m2::Conv1dOp>(op.getLoc(), x.getType(), state.getType(), x, wv, bv, state);
      cat.getResult().replaceAllUsesWith(conv.getNewState());
      replace(op, conv.getOutput(), "conv1d");
      return true;
    }

    // Whole sequence: K shifted slices of Pad(x) stacked on a new last axis.
    if (static_cast<int64_t>(cat.getInputs().size()) != k || !lastAxes(4))
      return false;
    ox::PadOp pad;
    for (int64_t j = 0; j < k; ++j) {
      auto un = def<ox::UnsqueezeOp>(cat.getInputs()[j]);
      auto slice = un ? def<ox::SliceOp>(un.getData()) : ox::SliceOp();
      auto p = slice ? def<ox::PadOp>(slice.getData()) : ox::PadOp();
      if (!p || (pad && p != pad) || !isAxis(ints(un.getAxes()), 3, 4) ||
          !isAxis(ints(slice.getAxes()), 1, 3))
        return false;
      pad = p;
      if (!isa<NoneType>(slice.getSteps().getType())) {
        auto steps = ints(slice.getSteps());
        if (!steps || steps->size() != 1 || (*steps)[0] != 1)
          return false;
      }
      // Slice j keeps [j, j + L) of the L + K - 1 padded steps: end -(K-1-j) (or the end of
      // the axis for the last copy), or j + L when the length is static.
      auto starts = ints(slice.getStarts()), ends = ints(slice.getEnds());
      if (!starts || starts->size() != 1 || (*starts)[0] != j || !ends || ends->size() != 1)
        return false;
      auto padded = ranked(skipIdentity(p.getData()));
      if (!padded || padded.getRank() != 3)
        return false;
      int64_t end = (*ends)[0], len = padded.getDimSize(1);
      bool endOk = (j < k - 1 && end == j - (k - 1)) ||
                   (j == k - 1 && end >= std::numeric_limits<int32_t>::max()) ||
                   (!ShapedType::isDynamic(len) && end == j + len);
      if (!endOk)
        return false;
    }
    Value x = skipIdentity(pad.getData());
    auto pads = ints(pad.getPads());
    if (!isM2Act(x) || pad.getMode() != "constant" || !pads ||
        *pads != std::vector<int64_t>{0, k - 1, 0, 0, 0, 0})
      return false;
    if (!isa<NoneType>(pad.getConstantValue().getType())) {
      auto zero = scalarFloat(pad.getConstantValue());
      if (!zero || *zero != 0.0f)
        return false;
    }
    builder.setInsertionPoint(op);
    Value r = builder.create<m2::Conv1dOp>(op.getLoc(), x.getType(), x, wv, bv).getOutput();
    replace(op, r, "conv1d");
    return true;
  }

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
  bool ssd(ox::ReshapeOp op, std::string &why) {
    auto add = def<ox::AddOp>(op.getData());
    if (!add)
      return false;
    Value body, xflat;
    ElementsAttr dAttr;
    commuted(add, [&](Value a, Value b) {
      auto mul = def<ox::MulOp>(b);
      if (!mul)
        return false;
      return commuted(mul, [&](Value p, Value q) {
        auto xh = def<ox::ReshapeOp>(unpaddedLength(p));
        ElementsAttr dc = constant(q);
        if (!xh || !dc || !isM2(xh.getData()))
          return false;
        body = a;
        xflat = skipIdentity(xh.getData());
        dAttr = dc;
        return true;
      });
    });
    if (!body)
      return false;
    auto split = xflat.getDefiningOp<m2::SplitOp>();
    if (!split || split.getNumResults() != 3 || xflat != split.getResult(0)) {
      why = "the SSD input x is not the first part of a three-way split";
      return false;
    }
    Value Bv = split.getResult(1), Cv = split.getResult(2);
    // Backward slice of the body, stopping at m2 values and the dt / A subgraphs.
    llvm::SmallPtrSet<Operation *, 32> seen;
    llvm::SmallVector<Value> work{body};
    Operation *softplus = nullptr;
    Value softplusIn;
    ox::NegOp negA;
    std::optional<std::vector<float>> constA;
    ox::ClipOp clip;
    float dtMin = -std::numeric_limits<float>::infinity();
    float dtMax = std::numeric_limits<float>::infinity();
    bool softplusUnclamped = false;
    // dt after the softplus (and its clamp, if any).
    auto isDt = [&](Value v) {
      v = skipIdentity(v);
      if (auto c = v.getDefiningOp<ox::ClipOp>())
        return bool(matchSoftplus(c.getInput()));
      return bool(matchSoftplus(v));
    };
    bool usesB = false, usesC = false, hasScan = false;
    Value stateIn;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (v == Bv)
        usesB = true;
      if (v == Cv)
        usesC = true;
      if (isStateInput(v)) {
        if (stateIn && stateIn != v) {
          why = "the SSD body reads two state inputs";
          return false;
        }
        stateIn = v;
        continue;
      }
      Operation *d = v.getDefiningOp();
      if (!seen.insert(d).second)
        continue;
      if (isa<ox::ShapeOp>(d))
        continue; // only the shape is read, e.g. the length of the sequence

      if (isa<m2::M2Dialect>(d->getDialect())) {
        if (v != xflat && v != Bv && v != Cv) {
          why = "the SSD body reads a value other than x, B, C, dt and A";
          return false;
        }
        continue;
      }
      if (auto c = dyn_cast<ox::ClipOp>(d)) {
        if (Value in = matchSoftplus(c.getInput())) {
          auto bound = [&](Value b, float none) -> std::optional<float> {
            return isa<NoneType>(b.getType()) ? std::optional<float>(none) : scalarFloat(b);
          };
          auto lo = bound(c.getMin(), dtMin), hi = bound(c.getMax(), dtMax);
          if (!lo || !hi) {
            why = "the Clip of dt (node " + nameOf(c) + ") has bounds that are not constants";
            return false;
          }
          Operation *sp = skipIdentity(c.getInput()).getDefiningOp();
          if ((softplus && softplus != sp) || (clip && clip != c)) {
            why = "the SSD body has two softplus or two Clip inputs";
            return false;
          }
          softplus = sp;
          softplusIn = in;
          clip = c;
          dtMin = *lo;
          dtMax = *hi;
          continue;
        }
      }
      if (isa<ox::SoftplusOp, ox::LogOp>(d) && d->getNumResults() == 1) {
        if (Value in = matchSoftplus(d->getResult(0))) {
          if (softplus && softplus != d) {
            why = "the SSD body has two softplus inputs";
            return false;
          }
          softplus = d;
          softplusIn = in;
          softplusUnclamped = true;
          continue;
        }
      }
      if (auto mul = dyn_cast<ox::MulOp>(d)) {
        // A as a constant: dt * A with every value of A negative.
        commuted(mul, [&](Value a, Value b) {
          auto c = floats(constant(b));
          if (!c || c->empty() || !isDt(a) || llvm::any_of(*c, [](float x) { return !(x < 0.0f); }))
            return false;
          if (constA && *constA != *c)
            why = "the SSD body multiplies dt with two different constants A";
          constA = *c;
          return true;
        });
        if (!why.empty())
          return false;
      }
      if (auto neg = dyn_cast<ox::NegOp>(d)) {
        auto e = def<ox::ExpOp>(neg.getInput());
        if (e && constant(e.getInput())) {
          if (negA && negA != neg) {
            why = "the SSD body has two A inputs";
            return false;
          }
          negA = neg;
          continue;
        }
      }
      if (isa<ox::CumSumOp, ox::EinsumOp>(d))
        hasScan = true;
      for (Value o : d->getOperands())
        work.push_back(o);
    }
    // With a state input (the step graph), the state update S * decay + ... is the new state.
    Operation *newState = nullptr;
    if (stateIn) {
      for (Operation *u : stateIn.getUsers())
        if (isa<ox::MulOp>(u) && seen.contains(u))
          for (Operation *uu : u->getUsers())
            if (isa<ox::AddOp>(uu) && seen.contains(uu)) {
              if (newState && newState != uu) {
                why = "the SSD state feeds two updates";
                return false;
              }
              newState = uu;
            }
      if (!newState) {
        why = "the SSD reads a state but has no update state * decay + input";
        return false;
      }
      for (Operation *u : newState->getUsers())
        if (!seen.contains(u) && !op->isBeforeInBlock(u)) {
          why = "the new SSD state is used before the SSD output";
          return false;
        }
    }
    if (!softplus || !(negA || constA) || !usesB || !usesC || !(hasScan || newState)) {
      std::string missing;
      auto add = [&](bool have, const char *what) {
        if (!have)
          missing += std::string(missing.empty() ? "" : ", ") + what;
      };
      add(softplus, "softplus(dt + dt_bias)");
      add(negA || constA, "A (-exp(A_log) or a negative constant times dt)");
      add(usesB, "B");
      add(usesC, "C");
      add(hasScan || newState, "a CumSum/Einsum scan or a state update");
      why = "the SSD body lacks " + missing;
      return false;
    }
    if (clip && softplusUnclamped) {
      why = "the SSD body reads dt both clamped (node " + nameOf(clip) + ") and unclamped";
      return false;
    }
    auto dtAdd = def<ox::AddOp>(softplusIn);
    if (!dtAdd) {
      why = "softplus input is not dt + dt_bias";
      return false;
    }
    Value dtRaw;
    ElementsAttr dtBias;
    commuted(dtAdd, [&](Value a, Value b) {
      ElementsAttr c = constant(b);
      if (c && isM2(a)) {
        dtRaw = skipIdentity(a);
        dtBias = c;
      }
      return bool(c);
    });
    if (!dtRaw || !isF32Ranked(dtRaw) || rankOf(dtRaw) != 3) {
      why = "dt is not a (batch, length, heads) m2 value";
      return false;
    }
    int64_t h = ranked(dtRaw).getShape()[2];
    auto aLog = negA ? floats(constant(def<ox::ExpOp>(negA.getInput()).getInput())) : constA;
    if (ShapedType::isDynamic(h) || !aLog || static_cast<int64_t>(aLog->size()) != h ||
        dtBias.getShapedType().getNumElements() != h ||
        dAttr.getShapedType().getNumElements() != h) {
      why = "dt_bias, A_log and D do not hold one value per head";
      return false;
    }
    // ngroups from the Reshape of B to (b, l, g, n).
    std::optional<int64_t> g;
    for (Operation *u : Bv.getUsers())
      if (auto r = dyn_cast<ox::ReshapeOp>(u); r && seen.contains(r))
        g = shapeElement(r.getShape(), -2);
    if (!g || *g <= 0 || h % *g) {
      why = "cannot find ngroups from the reshape of B";
      return false;
    }
    int64_t chunk = 0;
    // The chunk length: dimension 2 of the (b, c, t, h, p) reshapes of the chunked form.
    for (Operation *d : seen) {
      auto r = dyn_cast<ox::ReshapeOp>(d);
      auto shapeType = r ? ranked(r.getShape()) : RankedTensorType();
      if (!shapeType || shapeType.getRank() != 1 || shapeType.getDimSize(0) != 5)
        continue;
      if (auto t = shapeElement(r.getShape(), 2); t && *t > 0)
        chunk = *t;
    }
    std::vector<float> A(aLog->size());
    for (size_t i = 0; i < A.size(); ++i)
      A[i] = negA ? -std::exp((*aLog)[i]) : (*aLog)[i];
    Location loc = op.getLoc();
    auto hType = RankedTensorType::get({h}, builder.getF32Type());
    Type stateType;
    if (stateIn) {
      // (b, h, p, n) of this SSD.
      auto st = ranked(stateIn);
      auto xt = ranked(xflat), bt = ranked(Bv);
      if (!st || st.getRank() != 4 || !st.getElementType().isF32() || !xt || !bt ||
          xt.isDynamicDim(2) || bt.isDynamicDim(2) || st.getDimSize(1) != h ||
          st.getDimSize(2) != xt.getDimSize(2) / h || st.getDimSize(3) != bt.getDimSize(2) / *g) {
        why = "the SSD state is not (batch, heads, headdim, d_state)";
        return false;
      }
      stateType = st;
    }
    builder.setInsertionPoint(op);
    auto r = builder.create<m2::SSDOp>(
        loc, xflat.getType(), stateType, xflat, dtRaw, weight(reshape(dtBias, {h}), loc),
        weight(DenseElementsAttr::get(hType, llvm::ArrayRef<float>(A)), loc), Bv, Cv,
        weight(reshape(dAttr, {h}), loc), stateIn, builder.getI64IntegerAttr(*g),
        builder.getI64IntegerAttr(chunk), clip ? builder.getF32FloatAttr(dtMin) : FloatAttr(),
        clip ? builder.getF32FloatAttr(dtMax) : FloatAttr());
    if (newState)
      newState->getResult(0).replaceAllUsesWith(r.getNewState());
    replace(op, r.getY(), "ssd");
    return true;
  }

  bool residual(ox::AddOp op) {
    Value a = skipIdentity(op.getA()), b = skipIdentity(op.getB());
    if (a.getType() != b.getType() || !isF32Ranked(a))
      return false;
    Value res = a, upd = b;
    if (a.getDefiningOp<m2::LinearOp>())
      std::swap(res, upd);
    if (!upd.getDefiningOp<m2::LinearOp>())
      return false;
    builder.setInsertionPoint(op);
    replace(op, builder.create<m2::ResidualAddOp>(op.getLoc(), res.getType(), res, upd),
            "residual_add");
    return true;
  }

  bool softplus(Operation *op) {
    Value x = matchSoftplus(op->getResult(0));
    if (!x)
      return false;
    x = skipIdentity(x);
    if (!isM2(x) || !isF32Ranked(x))
      return false;
    builder.setInsertionPoint(op);
    replace(op, builder.create<m2::SoftplusOp>(op->getLoc(), x.getType(), x), "softplus");
    return true;
  }

  void eraseDead() {
    bool changed = true;
    while (changed) {
      changed = false;
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(func.getBody().front()))) {
        if (op.hasTrait<OpTrait::IsTerminator>() || !op.use_empty())
          continue;
        if (isa<ox::OnnxDialect, m2::M2Dialect>(op.getDialect())) {
          op.erase();
          changed = true;
        }
      }
    }
  }

  /// A step graph takes the states of all layers stacked on axis 0 (conv_states (layers, b,
  /// C, K), ssm_states (layers, b, h, p, n)) and returns them stacked the same way. Once each
  /// layer's slice `Gather(states, i)` feeds only m2 ops, and each returned stack is
  /// `Concat(Unsqueeze(new_i, 0)...)` of m2 new states, the function takes and returns one
  /// state per layer (named `states[i]`). Results that are m2 values take the m2 type (the
  /// step graph's (b, vocab) logits become (b, 1, vocab)).
  void unstackStates() {
    MLIRContext *ctx = func.getContext();
    auto named = [&](DictionaryAttr attrs, int64_t k) -> DictionaryAttr {
      auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : StringAttr();
      if (!name)
        return DictionaryAttr::get(ctx);
      return DictionaryAttr::get(
          ctx, {NamedAttribute(StringAttr::get(ctx, "onnx.name"),
                               StringAttr::get(ctx, name.str() + "[" + std::to_string(k) + "]"))});
    };
    for (unsigned i = func.getNumArguments(); i-- > 0;) {
      BlockArgument arg = func.getArgument(i);
      auto t = ranked(arg);
      if (!t || t.getRank() < 3 || t.isDynamicDim(0) || arg.use_empty())
        continue;
      int64_t n = t.getDimSize(0);
      auto slice = RankedTensorType::get(t.getShape().drop_front(), t.getElementType());
      std::vector<ox::GatherOp> layers(static_cast<size_t>(n));
      bool ok = true;
      for (Operation *u : arg.getUsers()) {
        auto g = dyn_cast<ox::GatherOp>(u);
        auto idx = g && g.getData() == arg && g.getAxis() == 0 && rankOf(g.getIndices()) == 0
                       ? ints(g.getIndices())
                       : std::nullopt;
        if (!idx || idx->size() != 1 || (*idx)[0] < 0 || (*idx)[0] >= n || layers[(*idx)[0]] ||
            g.getType() != slice || llvm::any_of(g->getUsers(), [](Operation *x) {
              return !isa<m2::M2Dialect>(x->getDialect());
            })) {
          ok = false;
          break;
        }
        layers[(*idx)[0]] = g;
      }
      if (!ok || llvm::any_of(layers, [](ox::GatherOp g) { return !g; }))
        continue;
      DictionaryAttr attrs = func.getArgAttrDict(i);
      for (int64_t k = 0; k < n; ++k) {
        func.insertArgument(i + 1 + k, slice, named(attrs, k), arg.getLoc());
        layers[k].getResult().replaceAllUsesWith(func.getArgument(i + 1 + k));
        layers[k].erase();
      }
      func.eraseArgument(i);
    }

    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    llvm::SmallVector<Value> operands;
    llvm::SmallVector<Type> types;
    llvm::SmallVector<DictionaryAttr> attrs;
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      DictionaryAttr a = func.getResultAttrDict(i);
      llvm::SmallVector<Value> parts;
      auto cat = v.getDefiningOp<ox::ConcatOp>();
      auto t = ranked(v);
      if (cat && cat.getAxis() == 0 && t && !t.isDynamicDim(0) &&
          t.getDimSize(0) == static_cast<int64_t>(cat.getInputs().size())) {
        auto slice = RankedTensorType::get(t.getShape().drop_front(), t.getElementType());
        for (Value in : cat.getInputs()) {
          auto un = in.getDefiningOp<ox::UnsqueezeOp>();
          if (!un || !isAxis(ints(un.getAxes()), 0, t.getRank()) || !isM2Def(un.getData()) ||
              un.getData().getType() != slice) {
            parts.clear();
            break;
          }
          parts.push_back(un.getData());
        }
      }
      if (parts.empty()) {
        Value m = skipIdentity(v); // an m2 value, or the view of one, is returned as it is
        if (isM2Def(m))
          v = m;
        operands.push_back(v);
        types.push_back(isM2Def(v) ? v.getType() : func.getResultTypes()[i]);
        attrs.push_back(a ? a : DictionaryAttr::get(ctx));
        continue;
      }
      for (auto [k, p] : llvm::enumerate(parts)) {
        operands.push_back(p);
        types.push_back(p.getType());
        attrs.push_back(named(a, static_cast<int64_t>(k)));
      }
    }
    ret->setOperands(operands);
    func.setType(FunctionType::get(ctx, func.getArgumentTypes(), types));
    func.setAllResultAttrs(attrs);
  }

  LogicalResult run(bool strict) {
    // One spelling per block first (see onnx-normal-forms).
    RewritePatternSet patterns(func.getContext());
    mamba2::populateOnnxNormalFormPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns))))
      return func.emitError("the normal-form patterns did not converge");
    std::vector<std::string> notes;
    for (Operation &op : llvm::make_early_inc_range(func.getBody().front())) {
      std::string why;
      if (auto g = dyn_cast<ox::GatherOp>(op))
        embedding(g);
      else if (auto m = dyn_cast<ox::MulOp>(op))
        norm(m) || silu(m);
      else if (auto mm = dyn_cast<ox::MatMulOp>(op))
        linear(mm);
      else if (auto gm = dyn_cast<ox::GemmOp>(op))
        gemm(gm);
      else if (auto es = dyn_cast<ox::EinsumOp>(op))
        einsumLinear(es);
      else if (auto s = dyn_cast<ox::SplitOp>(op))
        split(s);
      else if (auto sl = dyn_cast<ox::SliceOp>(op))
        sliceSplit(sl);
      else if (auto t = dyn_cast<ox::TransposeOp>(op))
        conv(t);
      else if (auto r = dyn_cast<ox::ReshapeOp>(op)) {
        if (!ssd(r, why) && !why.empty())
          notes.push_back(why + " (" + layerOf(r) + ", at node '" + nameOf(r) + "')");
      } else if (auto a = dyn_cast<ox::AddOp>(op))
        convWindow(a) || residual(a);
      // A softplus that no SSD consumed becomes m2.softplus after the walk.
    }
    eraseDead();
    for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
      if (isa<ox::SoftplusOp, ox::LogOp>(op))
        softplus(&op);
    eraseDead();
    unstackStates();
    eraseDead();

    std::map<std::string, int> left;
    for (Operation &op : func.getBody().front())
      if (isa<ox::OnnxDialect>(op.getDialect()))
        ++left[op.getName().stripDialect().str()];
    if (left.empty())
      return success();
    std::string list;
    int total = 0;
    for (auto &[name, n] : left) {
      list += (list.empty() ? "" : ", ") + name + " x" + std::to_string(n);
      total += n;
    }
    // Where: the first op left that computes activations (not shapes or constants).
    std::string first;
    for (Operation &op : func.getBody().front()) {
      if (!isa<ox::OnnxDialect>(op.getDialect()) || isa<ox::ConstantOp, ox::NoValueOp>(op) ||
          op.getNumResults() == 0)
        continue;
      auto t = dyn_cast<RankedTensorType>(op.getResult(0).getType());
      if (!t || !isa<FloatType>(t.getElementType()) || t.getRank() < 2)
        continue;
      first = "; the first is node '" + nameOf(&op) + "' (" + op.getName().stripDialect().str() +
              ") in " + layerOf(&op);
      break;
    }
    auto diag = strict ? func.emitError() : func.emitWarning();
    diag << total << " onnx op(s) not raised to m2: " << list << first;
    for (const std::string &n : notes)
      diag.attachNote() << "SSD candidate not raised: " << n;
    std::set<std::string> leftNodes;
    for (Operation &op : func.getBody().front())
      if (isa<ox::OnnxDialect>(op.getDialect()))
        leftNodes.insert(nameOf(&op));
    for (const auto &[node, r] : reasons)
      if (leftNodes.count(node))
        diag.attachNote() << "not raised: " << r;
    return strict ? failure() : success();
  }
};

struct RaiseOnnxToM2Pass : mamba2::impl::RaiseOnnxToM2Base<RaiseOnnxToM2Pass> {
  using RaiseOnnxToM2Base::RaiseOnnxToM2Base;
  void runOnOperation() override {
    Raiser raiser(getOperation());
    if (failed(raiser.run(strict)))
      signalPassFailure();
  }
};

} // namespace
