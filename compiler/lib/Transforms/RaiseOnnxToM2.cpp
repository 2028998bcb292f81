// raise-onnx-to-m2: recognises the Mamba2 blocks of an imported ONNX graph and rewrites them
// into `m2` ops (see RaiseCommon.h for how the matchers work and where each block's lives). This
// file holds the walk over the function, the removal of dead ops, the unstacking of step states
// and the report of what did not raise.
#include "RaiseCommon.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Regex.h"

#include "mamba2/Transforms/NormalForms.h"

namespace mamba2 {
#define GEN_PASS_DEF_RAISEONNXTOM2
#include "mamba2/Transforms/Passes.h.inc"
} // namespace mamba2

namespace mamba2::raise {

std::string Raiser::where(Operation *at) {
  // The exporters' names: node names such as '/layers.3/norm/Mul_1' (TorchScript), weight names
  // such as 'm.backbone.layers.3.norm.weight' (the dynamo exporter's nodes are 'node_Mul_12').
  static const llvm::Regex layerName("layers[._/]([0-9]+)([._/]|$)");
  llvm::SmallVector<llvm::StringRef, 3> m;
  std::vector<std::string> names{nameOf(at)};
  for (Value o : at->getOperands())
    if (Operation *d = skipIdentity(o).getDefiningOp(); d && isa<ox::ConstantOp>(d))
      names.push_back(onnxName(d));
  for (const std::string &n : names)
    if (layerName.match(n, &m))
      return "layer " + m[1].str() + " ";
  // The place along the residual chain: the norms (raised, or recognised and failed) up to `at`.
  int64_t starts = 0;
  Operation *last = nullptr;
  for (Operation &op : func.getBody().front()) {
    if (isa<m2::RMSNormOp>(op) || failedNorms.contains(&op)) {
      ++starts;
      last = &op;
    }
    if (&op == at)
      break;
  }
  if (starts == 0)
    return "";
  // The head: after a last norm that no SSD (or its softplus, raised or not) follows.
  bool ssdAfter = false;
  for (Operation *o = last->getNextNode(); o && !ssdAfter; o = o->getNextNode())
    ssdAfter = isa<ox::SoftplusOp, m2::SSDOp, m2::SoftplusOp>(o);
  if (starts > 1 && !ssdAfter)
    return "head ";
  return "layer " + std::to_string(starts - 1) + " ";
}

void Raiser::eraseDead() {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(func.getBody().front()))) {
      if (op.hasTrait<OpTrait::IsTerminator>() || !op.use_empty())
        continue;
      if (isa<ox::OnnxDialect, m2::M2Dialect>(op.getDialect())) {
        forget(&op);
        op.erase();
        changed = true;
      }
    }
  }
}

void Raiser::unstackStates() {
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
      forget(layers[k]);
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

LogicalResult Raiser::run(bool strict) {
  recordConstantNames();
  // One spelling per block first (see onnx-normal-forms).
  if (failed(mamba2::applyOnnxNormalForms(func)))
    return failure();
  // The patterns may have erased the op the constants were to go before.
  constBuilder.setInsertionPointToStart(&func.getBody().front());
  for (Operation &op : llvm::make_early_inc_range(func.getBody().front())) {
    std::string why;
    if (auto g = dyn_cast<ox::GatherOp>(op))
      embedding(g);
    else if (auto m = dyn_cast<ox::MulOp>(op))
      norm(m) || silu(m);
    else if (auto mm = dyn_cast<ox::MatMulOp>(op))
      linear(mm);
    else if (isa<ox::GemmOp, ox::EinsumOp>(op))
      linearLeft(&op);
    else if (auto s = dyn_cast<ox::SplitOp>(op))
      split(s);
    else if (auto sl = dyn_cast<ox::SliceOp>(op))
      sliceSplit(sl);
    else if (auto t = dyn_cast<ox::TransposeOp>(op))
      conv(t);
    else if (auto c = dyn_cast<ox::ConvOp>(op))
      convLeft(c);
    else if (auto p = dyn_cast<ox::PadOp>(op))
      convWindowLeft(p);
    else if (auto r = dyn_cast<ox::ReshapeOp>(op)) {
      if (!ssd(r, why) && !why.empty())
        because(r, "SSD", why);
    } else if (auto a = dyn_cast<ox::AddOp>(op))
      convWindow(a) || residual(a);
    // A softplus that no SSD consumed becomes m2.softplus after the walk.
  }
  eraseDead();
  for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
    if (isa<ox::SoftplusOp>(op))
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
  // Why: the reasons of the blocks recognised but not raised, in graph order.
  std::vector<std::string> whys;
  for (Operation &op : func.getBody().front())
    if (auto it = reasons.find(&op); it != reasons.end() && isa<ox::OnnxDialect>(op.getDialect()))
      whys.push_back(it->second);
  std::string count = std::to_string(total) + " onnx op(s) not raised to m2: " + list;
  // At the function's location, without the op attached (MLIR would print the whole function
  // after the message).
  auto diag = strict ? mlir::emitError(func.getLoc()) : mlir::emitWarning(func.getLoc());
  if (!whys.empty()) {
    diag << "not raised: " << whys.front();
    diag.attachNote() << count;
    for (size_t i = 1; i < whys.size(); ++i)
      diag.attachNote() << "also not raised: " << whys[i];
    return strict ? failure() : success();
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
    std::string in = where(&op);
    first = "; the first is node " + node(&op) +
            (in.empty()      ? " before the first layer"
             : in == "head " ? " in the head"
                             : " in " + in.substr(0, in.size() - 1));
    break;
  }
  diag << count << first;
  return strict ? failure() : success();
}

} // namespace mamba2::raise

namespace {

struct RaiseOnnxToM2Pass : mamba2::impl::RaiseOnnxToM2Base<RaiseOnnxToM2Pass> {
  using RaiseOnnxToM2Base::RaiseOnnxToM2Base;
  void runOnOperation() override {
    mamba2::raise::Raiser raiser(getOperation());
    if (failed(raiser.run(strict)))
      signalPassFailure();
  }
};

} // namespace
