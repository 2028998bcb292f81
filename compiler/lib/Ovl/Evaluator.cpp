// The integer evaluator of the `ovl` dialect (see Evaluator.h).
#include "mamba2/Ovl/Evaluator.h"

#include <algorithm>

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/SsdChunk.h"
#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/QuantEvaluator.h"
#include "mamba2/isa/Reference.h"

using namespace mlir;

namespace mamba2::ovl {

namespace ref = isa::ref;

int64_t IntTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

IntTensor IntTensor::zeros(RankedTensorType type) {
  IntTensor t;
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  t.i8 = type.getElementType().isInteger(8);
  t.v.assign(static_cast<size_t>(t.numel()), 0);
  return t;
}

namespace {

llvm::Error fail(Operation *op, const llvm::Twine &msg) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  op->getLoc().print(os);
  return llvm::createStringError(op->getName().getStringRef() + " at " + loc + ": " + msg);
}

IntTensor make(std::vector<int64_t> shape, bool i8) {
  IntTensor t;
  t.shape = std::move(shape);
  t.i8 = i8;
  t.v.assign(static_cast<size_t>(t.numel()), 0);
  return t;
}

std::vector<int8_t> bytes(const IntTensor &t) {
  std::vector<int8_t> b(t.v.size());
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<int8_t>(t.v[i]);
  return b;
}

/// Checks an argument against its static type (dynamic dimensions take any size).
llvm::Error fits(Operation *where, const IntTensor &t, Type type, const llvm::Twine &what) {
  auto r = dyn_cast<RankedTensorType>(type);
  if (!r)
    return fail(where, what + " is not a ranked tensor");
  bool ok = static_cast<int64_t>(t.shape.size()) == r.getRank() &&
            t.i8 == r.getElementType().isInteger(8) &&
            static_cast<int64_t>(t.v.size()) == t.numel();
  for (int64_t i = 0; ok && i < r.getRank(); ++i)
    ok = r.isDynamicDim(i) || r.getDimSize(i) == t.shape[i];
  if (!ok)
    return fail(where, what + " does not match its type");
  return llvm::Error::success();
}

/// The broadcast rule of mul / add: y[Ty == 1 ? 0 : t][c / (C / Cy)].
template <typename F>
llvm::Expected<IntTensor> broadcast(Operation *op, const IntTensor &x, const IntTensor &y, F f) {
  const int64_t T = x.shape[0], C = x.shape[1], Ty = y.shape[0], Cy = y.shape[1];
  if ((Ty != 1 && Ty != T) || Cy <= 0 || C % Cy != 0)
    return fail(op, "operand shapes do not broadcast");
  const int64_t per = C / Cy;
  IntTensor out = make({T, C}, false);
  for (int64_t t = 0; t < T; ++t) {
    const int32_t *yr = y.v.data() + (Ty == 1 ? 0 : t) * Cy;
    for (int64_t c = 0; c < C; ++c)
      out.v[t * C + c] = f(x.v[t * C + c], yr[c / per]);
  }
  return out;
}

/// The op's shifts as the recipe reads them.
ssd::ChunkShifts chunkShifts(SsdChunkOp s) {
  ssd::ChunkShifts sh;
  sh.decay = static_cast<int>(s.getDecayShift());
  sh.gd = static_cast<int>(s.getGdShift());
  sh.md = static_cast<int>(s.getMdShift());
  sh.mSplit = static_cast<int>(s.getMSplit());
  sh.yShift = static_cast<int>(s.getYShift());
  sh.stateSplit = static_cast<int>(s.getStateSplit());
  sh.cShift = static_cast<int>(s.getCShift());
  sh.wShift = static_cast<int>(s.getWShift());
  sh.bwShift = static_cast<int>(s.getBwShift());
  sh.bwSplit = static_cast<int>(s.getBwSplit());
  sh.sShift = static_cast<int>(s.getSShift());
  for (int64_t e : s.getMultExp())
    sh.multExp.push_back(static_cast<int>(e));
  return sh;
}

class Interpreter {
public:
  explicit Interpreter(const Observer *observer) : observer_(observer) {}
  llvm::Expected<std::vector<IntTensor>> run(func::FuncOp fn, const std::vector<IntTensor> &args);

private:
  llvm::Expected<std::vector<IntTensor>> eval(Operation *op);
  const IntTensor &get(Value v) { return values_.find(v)->second; }
  llvm::DenseMap<Value, IntTensor> values_;
  const Observer *observer_;
};

llvm::Expected<std::vector<IntTensor>> Interpreter::run(func::FuncOp fn,
                                                        const std::vector<IntTensor> &args) {
  Block &body = fn.getBody().front();
  if (args.size() != body.getNumArguments())
    return fail(fn, "takes " + llvm::Twine(body.getNumArguments()) + " arguments, got " +
                        llvm::Twine(args.size()));
  for (auto [i, a] : llvm::enumerate(body.getArguments())) {
    if (auto e = fits(fn, args[i], a.getType(), "argument " + llvm::Twine(i)))
      return e;
    values_[a] = args[i];
  }
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<IntTensor> out;
      for (Value v : ret.getOperands())
        out.push_back(get(v));
      values_.clear();
      return out;
    }
    auto results = eval(&op);
    if (!results)
      return results.takeError();
    if (observer_ && *observer_)
      (*observer_)(&op, *results);
    for (auto [i, r] : llvm::enumerate(op.getResults())) {
      if (auto e = fits(&op, (*results)[i], r.getType(), "result " + llvm::Twine(i)))
        return e;
      values_[r] = std::move((*results)[i]);
    }
  }
  return fail(fn, "has no return");
}

llvm::Expected<std::vector<IntTensor>> Interpreter::eval(Operation *op) {
  using Result = llvm::Expected<std::vector<IntTensor>>;
  auto one = [](IntTensor t) -> Result {
    std::vector<IntTensor> r;
    r.push_back(std::move(t));
    return r;
  };
  return llvm::TypeSwitch<Operation *, Result>(op)
      .Case<ConstantOp>([&](ConstantOp c) -> Result {
        auto type = cast<RankedTensorType>(c.getValue().getType());
        IntTensor t = IntTensor::zeros(type);
        if (t.i8) {
          auto d = quant::readI8(c.getValue());
          if (!d)
            return fail(op, "cannot read the i8 value");
          std::copy(d->begin(), d->end(), t.v.begin());
        } else {
          auto d = quant::readI32(c.getValue());
          if (!d)
            return fail(op, "cannot read the i32 value");
          t.v = std::move(*d);
        }
        return one(std::move(t));
      })
      .Case<EmbedOp>([&](EmbedOp e) -> Result {
        const IntTensor &ids = get(e.getIds()), &table = get(e.getTable());
        const int64_t n = ids.shape[0], V = table.shape[0], d = table.shape[1];
        IntTensor out = make({n, d}, false);
        for (int64_t i = 0; i < n; ++i) {
          int64_t id = ids.v[i];
          if (id < 0 || id >= V)
            return fail(op, "token id " + llvm::Twine(id) + " at position " + llvm::Twine(i) +
                                " is outside the vocabulary 0.." + llvm::Twine(V - 1));
          std::copy_n(table.v.begin() + id * d, d, out.v.begin() + i * d);
        }
        return one(std::move(out));
      })
      .Case<MatmulOp>([&](MatmulOp m) -> Result {
        const IntTensor &a = get(m.getAct()), &w = get(m.getWeight()), &s = get(m.getScales());
        const int64_t M = a.shape[0], K = a.shape[1], N = w.shape[0];
        if (m.getBits() == 4)
          for (int32_t v : w.v)
            if (v < -8 || v > 7)
              return fail(op, "a 4-bit weight holds " + llvm::Twine(v));
        IntTensor out = make({M, N}, false);
        if (M > 0) {
          std::vector<int8_t> a8 = bytes(a), w8 = bytes(w);
          quant::groupedMatmul(a8.data(), w8.data(), s.v.data(), out.v.data(), M, K, N,
                               m.getGroup(), static_cast<int>(m.getShift()));
        }
        return one(std::move(out));
      })
      .Case<MulOp>([&](MulOp m) -> Result {
        const int sh = static_cast<int>(m.getShift());
        auto r = broadcast(op, get(m.getX()), get(m.getY()), [sh](int32_t x, int32_t y) {
          return ref::sat32(ref::rnd(int64_t(x) * y, sh));
        });
        if (!r)
          return r.takeError();
        return one(std::move(*r));
      })
      .Case<AddOp>([&](AddOp m) -> Result {
        auto r = broadcast(op, get(m.getX()), get(m.getY()),
                           [](int32_t x, int32_t y) { return ref::sat32(int64_t(x) + y); });
        if (!r)
          return r.takeError();
        return one(std::move(*r));
      })
      .Case<ShiftOp>([&](ShiftOp s) -> Result {
        IntTensor out = get(s.getX());
        for (int32_t &v : out.v)
          v = ref::shift32(v, static_cast<int>(s.getShift()));
        return one(std::move(out));
      })
      .Case<SextOp>([&](SextOp s) -> Result {
        IntTensor out = get(s.getX());
        out.i8 = false;
        for (int32_t &v : out.v)
          v = v * (int32_t(1) << s.getShift());
        return one(std::move(out));
      })
      .Case<RequantOp>([&](RequantOp r) -> Result {
        const IntTensor &x = get(r.getX()), &mult = get(r.getMult()), &sh = get(r.getShifts());
        const int64_t C = x.shape[1];
        const bool bc = mult.shape[0] == 1;
        IntTensor out = x;
        out.i8 = true;
        for (size_t i = 0; i < out.v.size(); ++i) {
          const size_t c = bc ? 0 : i % C;
          out.v[i] = ref::requant8(x.v[i], mult.v[c], static_cast<uint8_t>(sh.v[c]));
        }
        return one(std::move(out));
      })
      .Case<ShrOp>([&](ShrOp s) -> Result {
        IntTensor out = get(s.getX());
        out.i8 = true;
        for (int32_t &v : out.v)
          v = ref::sat8(ref::rnd(v, static_cast<int>(s.getShift())));
        return one(std::move(out));
      })
      .Case<SumsqOp>([&](SumsqOp s) -> Result {
        const IntTensor &x = get(s.getX());
        const int64_t T = x.shape[0], C = x.shape[1], G = s.getGroups(), L = C / G;
        IntTensor out = make({T, G}, false);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t g = 0; g < G; ++g)
            out.v[t * G + g] = ref::sumsq(x.v.data() + t * C + g * L, static_cast<unsigned>(L),
                                          static_cast<int>(s.getShift()));
        return one(std::move(out));
      })
      .Case<FwhtOp>([&](FwhtOp f) -> Result {
        IntTensor out = get(f.getX());
        const int64_t T = out.shape[0], C = out.shape[1];
        for (int64_t t = 0; t < T; ++t)
          ref::fwht(out.v.data() + t * C, static_cast<unsigned>(C));
        return one(std::move(out));
      })
      .Case<PwlOp, RsqrtOp>([&](Operation *o) -> Result {
        const IntTensor &table = get(o->getOperand(1));
        ref::PwlHeader h = ref::pwlHeader(table.v.data());
        if (table.v.size() < ref::kPwlHeaderWords + 2 * size_t(h.n))
          return fail(op, "the table is shorter than its header says");
        IntTensor out = get(o->getOperand(0));
        const bool rs = mlir::isa<RsqrtOp>(o);
        for (int32_t &v : out.v)
          v = rs ? ref::rsqrt(table.v.data(), v) : ref::pwl(table.v.data(), v);
        return one(std::move(out));
      })
      .Case<Conv4Op>([&](Conv4Op c) -> Result {
        const IntTensor &x = get(c.getX()), &w = get(c.getWeight()), &b = get(c.getBias());
        const int64_t T = x.shape[0], C = x.shape[1];
        std::vector<int8_t> w8 = bytes(w), st = bytes(get(c.getState())), xr(C);
        IntTensor y = make({T, C}, false);
        for (int64_t t = 0; t < T; ++t) {
          for (int64_t i = 0; i < C; ++i)
            xr[i] = static_cast<int8_t>(x.v[t * C + i]);
          ref::conv4Step(xr.data(), w8.data(), b.v.data(), st.data(), y.v.data() + t * C,
                         static_cast<unsigned>(C));
        }
        IntTensor s = make({C, 3}, true);
        std::copy(st.begin(), st.end(), s.v.begin());
        std::vector<IntTensor> r;
        r.push_back(std::move(y));
        r.push_back(std::move(s));
        return r;
      })
      .Case<SsmOp>([&](SsmOp s) -> Result {
        const IntTensor &dtx = get(s.getDtx()), &decay = get(s.getDecay()), &B = get(s.getB()),
                        &Cm = get(s.getC());
        IntTensor S = get(s.getState());
        const int64_t T = dtx.shape[0], H = S.shape[0], P = S.shape[1], N = S.shape[2];
        const int64_t G = s.getNgroups(), hpg = H / G;
        std::vector<int8_t> B8 = bytes(B), C8 = bytes(Cm);
        IntTensor y = make({T, H * P}, false);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t h = 0; h < H; ++h) {
            int32_t *Sh = S.v.data() + h * P * N;
            const int64_t g = h / hpg;
            ref::ssmUpdate(Sh, dtx.v.data() + t * H * P + h * P, B8.data() + t * G * N + g * N,
                           decay.v[t * H + h], static_cast<unsigned>(P), static_cast<unsigned>(N),
                           static_cast<int>(s.getDecayShift()), static_cast<int>(s.getInShift()));
            ref::ssmOutput(Sh, C8.data() + t * G * N + g * N, y.v.data() + t * H * P + h * P,
                           static_cast<unsigned>(P), static_cast<unsigned>(N),
                           static_cast<int>(s.getOutShift()));
          }
        std::vector<IntTensor> r;
        r.push_back(std::move(y));
        r.push_back(std::move(S));
        return r;
      })
      .Case<SsdChunkOp>([&](SsdChunkOp s) -> Result {
        const IntTensor &x = get(s.getX());
        IntTensor S = get(s.getState());
        ssd::ChunkShape shape;
        shape.heads = S.shape[0];
        shape.headDim = S.shape[1];
        shape.dState = S.shape[2];
        shape.groups = s.getNgroups();
        shape.rows = x.shape[0];
        shape.chunk = s.getChunk();
        const ssd::ChunkShifts sh = chunkShifts(s);
        if (std::string e = ssd::checkShifts(shape, sh); !e.empty())
          return fail(op, e);
        IntTensor y = make({shape.rows, shape.heads * shape.headDim}, false);
        if (shape.rows > 0) {
          const ssd::Recipe recipe = ssd::buildRecipe(shape, sh);
          std::vector<std::vector<int32_t>> io(recipe.buffers.size());
          io[recipe.x] = x.v;
          io[recipe.d] = get(s.getD()).v;
          io[recipe.decay] = get(s.getDecay()).v;
          io[recipe.B] = get(s.getB()).v;
          io[recipe.C] = get(s.getC()).v;
          io[recipe.state] = std::move(S.v);
          if (std::string e = ssd::execute(recipe, io); !e.empty())
            return fail(op, e);
          S.v = std::move(io[recipe.state]);
          y.v = std::move(io[recipe.y]);
        }
        std::vector<IntTensor> r;
        r.push_back(std::move(y));
        r.push_back(std::move(S));
        return r;
      })
      .Case<SliceOp>([&](SliceOp s) -> Result {
        const IntTensor &x = get(s.getX());
        const int64_t T = x.shape[0], C = x.shape[1], off = s.getOffset(), n = s.getSize();
        IntTensor out = make({T, n}, x.i8);
        for (int64_t t = 0; t < T; ++t)
          std::copy_n(x.v.begin() + t * C + off, n, out.v.begin() + t * n);
        return one(std::move(out));
      })
      .Case<ConcatOp>([&](ConcatOp c) -> Result {
        int64_t T = 0, C = 0;
        bool i8 = false;
        for (Value v : c.getXs()) {
          const IntTensor &x = get(v);
          T = x.shape[0];
          C += x.shape[1];
          i8 = x.i8;
        }
        IntTensor out = make({T, C}, i8);
        int64_t off = 0;
        for (Value v : c.getXs()) {
          const IntTensor &x = get(v);
          const int64_t n = x.shape[1];
          if (x.shape[0] != T)
            return fail(op, "operands have different row counts");
          for (int64_t t = 0; t < T; ++t)
            std::copy_n(x.v.begin() + t * n, n, out.v.begin() + t * C + off);
          off += n;
        }
        return one(std::move(out));
      })
      .Default([&](Operation *o) -> Result {
        return fail(o, "is not an ovl op the integer evaluator runs");
      });
}

} // namespace

llvm::Expected<std::vector<IntTensor>> call(func::FuncOp fn, const std::vector<IntTensor> &args,
                                            const Observer *observer) {
  if (fn.getBody().empty())
    return fail(fn, "has no body");
  Interpreter in(observer);
  return in.run(fn, args);
}

namespace {

/// The same elements cut into the tensors of `types` in order (states of one function as those
/// of another whose states are the first's cut in order), or an error naming the difference.
llvm::Expected<std::vector<IntTensor>> recut(const std::vector<IntTensor> &from,
                                             llvm::ArrayRef<Type> types) {
  std::vector<IntTensor> out;
  size_t t = 0, k = 0; // source tensor, element in it
  for (Type ty : types) {
    IntTensor piece = IntTensor::zeros(cast<RankedTensorType>(ty));
    for (int32_t &v : piece.v) {
      while (t < from.size() && k == from[t].v.size()) {
        ++t;
        k = 0;
      }
      if (t == from.size())
        return llvm::createStringError("the decode function's states are larger than @main's");
      if (from[t].i8 != piece.i8)
        return llvm::createStringError(
            "the decode function's states are not @main's cut in order (element types differ)");
      v = from[t].v[k++];
    }
    out.push_back(std::move(piece));
  }
  while (t < from.size() && k == from[t].v.size()) {
    ++t;
    k = 0;
  }
  if (t != from.size())
    return llvm::createStringError("the decode function's states are smaller than @main's");
  return out;
}

llvm::SmallVector<Type> stateTypes(func::FuncOp fn) {
  auto ins = fn.getFunctionType().getInputs();
  return llvm::SmallVector<Type>(ins.begin() + 1, ins.end());
}

} // namespace

llvm::Expected<std::unique_ptr<Session>> Session::create(ModuleOp module,
                                                         const std::string &function) {
  auto fn = module.lookupSymbol<func::FuncOp>(function);
  if (!fn || fn.getBody().empty())
    return llvm::createStringError("the module has no function @" + function);
  FunctionType type = fn.getFunctionType();
  const unsigned k = type.getNumInputs() - 1;
  auto ids = type.getNumInputs() >= 1 ? dyn_cast<RankedTensorType>(type.getInput(0)) : nullptr;
  auto logits = type.getNumResults() >= 1 ? dyn_cast<RankedTensorType>(type.getResult(0)) : nullptr;
  if (!ids || ids.getRank() != 1 || !ids.getElementType().isInteger(32) || !logits ||
      logits.getRank() != 2 || logits.isDynamicDim(1) || type.getNumResults() != k + 1)
    return fail(fn, "is not a model function (ids: tensor<?xi32>, states...) -> (logits "
                    "tensor<?xVxi32>, new states...)");
  auto s = std::unique_ptr<Session>(new Session());
  s->fn_ = fn;
  s->vocab_ = logits.getDimSize(1);
  for (unsigned i = 0; i < k; ++i) {
    auto st = dyn_cast<RankedTensorType>(type.getInput(i + 1));
    if (!st || !st.hasStaticShape() || type.getResult(i + 1) != st)
      return fail(fn, "state " + llvm::Twine(i) +
                          " must be statically shaped and returned with "
                          "the same type");
  }
  if (auto a = fn->getAttrOfType<IntegerAttr>("ovl.logit_frac"))
    s->logitFrac_ = static_cast<int>(a.getInt());
  s->reset();
  if (function == "main")
    if (auto dec = dyn_cast_or_null<func::FuncOp>(entryFunction(module, "decode"));
        dec && dec != fn) {
      FunctionType dt = dec.getFunctionType();
      if (dt.getNumInputs() < 1 || dt.getInput(0) != type.getInput(0) ||
          dt.getNumResults() != dt.getNumInputs() || dt.getResult(0) != type.getResult(0))
        return fail(dec, "the decode entry's signature does not match @main's (ids, logits)");
      for (unsigned i = 1; i < dt.getNumInputs(); ++i)
        if (!mlir::isa<RankedTensorType>(dt.getInput(i)) ||
            !cast<RankedTensorType>(dt.getInput(i)).hasStaticShape() ||
            dt.getResult(i) != dt.getInput(i))
          return fail(dec, "state " + llvm::Twine(i - 1) +
                               " must be statically shaped and returned with the same type");
      if (auto cut = recut(s->states_, stateTypes(dec)); !cut)
        return fail(dec, llvm::toString(cut.takeError()));
      s->decodeFn_ = dec;
    }
  return s;
}

void Session::reset() {
  FunctionType type = fn_.getFunctionType();
  states_.clear();
  for (unsigned i = 1; i < type.getNumInputs(); ++i)
    states_.push_back(IntTensor::zeros(cast<RankedTensorType>(type.getInput(i))));
}

llvm::Expected<IntTensor> Session::run(const std::vector<int32_t> &ids, Phase phase) {
  const bool own = phase == Phase::Decode && decodeFn_;
  func::FuncOp fn = own ? decodeFn_ : fn_;
  std::vector<IntTensor> args;
  IntTensor in;
  in.shape = {static_cast<int64_t>(ids.size())};
  in.v = ids;
  args.push_back(std::move(in));
  if (own) {
    auto cut = recut(states_, stateTypes(decodeFn_));
    if (!cut)
      return cut.takeError();
    args.insert(args.end(), cut->begin(), cut->end());
  } else {
    args.insert(args.end(), states_.begin(), states_.end());
  }
  auto out = call(fn, args, &observer_);
  if (!out) {
    reset();
    return out.takeError();
  }
  if (own) {
    std::vector<IntTensor> st(std::make_move_iterator(out->begin() + 1),
                              std::make_move_iterator(out->end()));
    auto back = recut(st, stateTypes(fn_));
    if (!back) {
      reset();
      return back.takeError();
    }
    states_ = std::move(*back);
  } else {
    for (size_t i = 0; i < states_.size(); ++i)
      states_[i] = std::move((*out)[i + 1]);
  }
  return std::move((*out)[0]);
}

llvm::Expected<IntTensor> Session::feed(const std::vector<int32_t> &ids, int64_t tBlock) {
  if (tBlock < 1)
    return llvm::createStringError("t_block must be at least 1");
  IntTensor all;
  all.shape = {0, vocab_};
  const size_t n = ids.size(), full = n / size_t(tBlock) * size_t(tBlock);
  for (size_t i = 0; i < n;) {
    const size_t len = i < full ? size_t(tBlock) : 1;
    auto r = run(std::vector<int32_t>(ids.begin() + long(i), ids.begin() + long(i + len)),
                 i < full ? Phase::Prefill : Phase::Decode);
    if (!r)
      return r.takeError();
    all.v.insert(all.v.end(), r->v.begin(), r->v.end());
    all.shape[0] += r->shape[0];
    i += len;
  }
  return all;
}

} // namespace mamba2::ovl
