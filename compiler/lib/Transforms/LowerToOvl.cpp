// m2-lower-to-ovl: a quantised, calibrated m2 model as fully-integer ovl kernels (OvlPasses.td;
// the format of every value is in docs/passes.md, section m2-lower-to-ovl).
//
// Every m2 value becomes an ovl value plus the real value of one unit of it: `unit` holds one
// number (the whole tensor) or one per channel (a matmul's accumulator, whose unit is
// act_scale * out_scale[n]). A consumer asks for the format it needs (toI32 / toI8) and the
// conversion is a shift when the ratio of units is a power of two, else a multiplier (ovl.mul
// or ovl.requant) computed from the units here, at compile time.
#include "mamba2/Transforms/OvlPasses.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>

#include "llvm/ADT/StringSet.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/Hadamard.h"
#include "mamba2/Quant/SsmFormat.h"
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/isa/Reference.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2LOWERTOOVL
#include "mamba2/Transforms/OvlPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace ovl = mamba2::ovl;
namespace quant = mamba2::quant;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;
/// Fixed-point activations are kept below 2^30 in magnitude (one bit of headroom under int32).
constexpr int kTopBit = 30;
/// Fraction bits of dt before the softplus, of z before its SiLU, and of dt * A before exp.
constexpr int kDtInFrac = 16, kSiluFrac = 16, kDtAFrac = 16;
/// Output fraction bits of the norms' rsqrt table (mamba2::isa::buildRsqrtTable allows at most 30).
constexpr int kRsqrtFrac = 30;

/// A lowered value: an ovl tensor [rows][channels] and the real value of one unit of it.
struct Val {
  Value v;
  bool i8 = false;
  std::vector<double> unit; // one entry (uniform) or one per channel
  int64_t channels = 0;
  double unitAt(int64_t c) const { return unit.size() == 1 ? unit[0] : unit[c]; }
  bool uniform() const { return unit.size() == 1; }
};

/// Whether r = 2^p exactly.
bool pow2(double r, int &p) {
  if (!(r > 0))
    return false;
  int e = 0;
  double m = std::frexp(r, &e); // r = m * 2^e, m in [0.5, 1)
  if (m != 0.5)
    return false;
  p = e - 1;
  return true;
}

/// The shift s in 0..62 that puts maxMult * 2^s just below 2^30; -1 when maxMult >= 2^30.
int multShift(double maxMult) {
  if (!(maxMult > 0))
    return 0;
  int s = static_cast<int>(std::floor(kTopBit - std::log2(maxMult)));
  if (std::ldexp(maxMult, s) >= std::ldexp(1.0, kTopBit))
    --s;
  return s < 0 ? -1 : std::min(s, 62);
}

int32_t round32(double v) {
  return mamba2::isa::ref::sat32(std::llround(std::clamp(v, -0x1p40, 0x1p40)));
}

int ceilLog2(double v) { return static_cast<int>(std::ceil(std::log2(v))); }

/// A pwl table (mamba2::isa::ref::pwl layout) that clamps integers to [lo, hi] (hi = nullopt: no
/// upper bound). Exact when hi - lo <= 254 (unit segments); wider ranges use segments of 2^S and
/// the upper bound moves to the nearest multiple of 2^S above lo (error < 2^(S-1)).
std::vector<int32_t> clampTable(int32_t lo, std::optional<int32_t> hi) {
  if (!hi)
    return {lo - 1, 0, 2, 0, lo, 0, lo, 1};
  int64_t span = int64_t(*hi) - lo;
  int S = 0;
  while ((span >> S) > 254)
    ++S;
  int64_t m = (span + (int64_t(1) << S) / 2) >> S, step = int64_t(1) << S;
  std::vector<int32_t> w = {static_cast<int32_t>(lo - step), S, static_cast<int32_t>(m + 2), 0};
  w.push_back(lo);
  w.push_back(0);
  for (int64_t j = 0; j < m; ++j) {
    w.push_back(static_cast<int32_t>(lo + j * step));
    w.push_back(S == 0 ? 0 : 1);
  }
  w.push_back(static_cast<int32_t>(lo + m * step));
  w.push_back(0);
  return w;
}

/// mamba2::isa::buildPwl(name) over [lo, hi] with one flat segment of zero prepended, so that
/// inputs below lo give 0 instead of the first chord's extrapolation (which would turn negative).
std::vector<int32_t> pwlFromZero(const std::string &name, double lo, double hi, int64_t segments,
                                 int inFrac, int outFrac) {
  mamba2::isa::PwlSpec spec;
  spec.lo = lo;
  spec.hi = hi;
  spec.segments = static_cast<unsigned>(segments);
  spec.inFrac = inFrac;
  spec.outFrac = outFrac;
  std::vector<int32_t> t = mamba2::isa::buildPwl(name, spec);
  // buildPwl keeps x0 and the segment width inside int32; one more segment before x0 must fit.
  const int64_t x0 = int64_t(t[0]) - (int64_t(1) << t[1]);
  if (x0 < INT32_MIN)
    throw std::invalid_argument("the " + name + " table's range starts too low for int32");
  std::vector<int32_t> w = {static_cast<int32_t>(x0), t[1], t[2] + 1, t[3], 0, 0};
  w.insert(w.end(), t.begin() + mamba2::isa::ref::kPwlHeaderWords, t.end());
  return w;
}

class Lowering {
public:
  Lowering(ModuleOp module, func::FuncOp src, const mamba2::M2LowerToOvlOptions &o)
      : module_(module), src_(src), opts_(o), b_(module.getContext()) {}

  LogicalResult run();

private:
  // ---- types and constants ----
  RankedTensorType act(int64_t c, bool i8) {
    return RankedTensorType::get({kDyn, c}, i8 ? b_.getI8Type() : b_.getI32Type());
  }
  Value constI32(ArrayRef<int64_t> shape, ArrayRef<int32_t> data, StringRef name = {}) {
    auto t = RankedTensorType::get(shape, b_.getI32Type());
    auto c = b_.create<ovl::ConstantOp>(loc_, t, quant::makeElements(t, data),
                                        name.empty() ? StringAttr() : b_.getStringAttr(name));
    return c.getOutput();
  }
  Value constI8(ArrayRef<int64_t> shape, ArrayRef<int8_t> data) {
    auto t = RankedTensorType::get(shape, b_.getI8Type());
    return b_.create<ovl::ConstantOp>(loc_, t, quant::makeElements(t, data), StringAttr())
        .getOutput();
  }
  Value table(ArrayRef<int32_t> words) {
    return constI32({static_cast<int64_t>(words.size())}, words);
  }

  // ---- single ops ----
  /// A shift by s (none when s is 0, unless `keep`).
  Value shift(Value x, int s, bool keep = false) {
    if (s == 0 && !keep)
      return x;
    return b_.create<ovl::ShiftOp>(loc_, x.getType(), x, b_.getI64IntegerAttr(s));
  }
  Value sext(Value x, int s) {
    auto t = cast<RankedTensorType>(x.getType());
    return b_.create<ovl::SextOp>(loc_, act(t.getDimSize(1), false), x, b_.getI64IntegerAttr(s));
  }
  Value shr(Value x, int s) {
    auto t = cast<RankedTensorType>(x.getType());
    return b_.create<ovl::ShrOp>(loc_, act(t.getDimSize(1), true), x, b_.getI64IntegerAttr(s));
  }
  Value mul(Value x, Value y, int s) {
    return b_.create<ovl::MulOp>(loc_, x.getType(), x, y, b_.getI64IntegerAttr(s));
  }
  Value add(Value x, Value y) { return b_.create<ovl::AddOp>(loc_, x.getType(), x, y); }
  Value pwl(Value x, ArrayRef<int32_t> words, StringRef fn) {
    return b_.create<ovl::PwlOp>(loc_, x.getType(), x, table(words), b_.getStringAttr(fn));
  }
  Value slice(Value x, int64_t off, int64_t size) {
    auto t = cast<RankedTensorType>(x.getType());
    return b_.create<ovl::SliceOp>(loc_, act(size, t.getElementType().isInteger(8)), x,
                                   b_.getI64IntegerAttr(off), b_.getI64IntegerAttr(size));
  }

  // ---- conversions between formats ----
  /// `x` as int32 with unit `target` (real = value * target). With `keep`, a conversion whose
  /// units happen to agree is still one op (a shift by 0), so that every layer has the op.
  FailureOr<Value> toI32(const Val &x, double target, Operation *at, bool keep = false);
  /// `x` as int8 with unit `target`, saturated to [-qmax, qmax] (qmax 127: int8's own range).
  FailureOr<Value> toI8(const Val &x, double target, int qmax, Operation *at) {
    return toI8(x, std::vector<double>{target}, qmax, at);
  }
  /// The same with one target unit per channel (or one for all). With `perChannel`, a
  /// `requant` per channel even where the channels' targets happen to agree.
  FailureOr<Value> toI8(const Val &x, const std::vector<double> &target, int qmax, Operation *at,
                        bool perChannel = false);
  /// Whether exponent attribute `name` (m2-quantize-ssm's quant.*) differs between the
  /// channels of some op of the model: then its format is per channel in every layer, even in
  /// a layer whose channels agree (one op form for all layers; docs/passes.md).
  bool varies(StringRef name) const { return varying_.contains(name); }
  /// 2^e of each exponent.
  static std::vector<double> units(const std::vector<int> &exps) {
    std::vector<double> u;
    for (int e : exps)
      u.push_back(std::ldexp(1.0, e));
    return u;
  }

  // ---- the ops of a model ----
  LogicalResult lower(Operation *op);
  LogicalResult lowerQLinear(m2::QLinearOp op);
  LogicalResult lowerConv(m2::Conv1dOp op);
  LogicalResult lowerSsd(m2::SSDOp op);
  LogicalResult lowerGatedNorm(m2::GatedRMSNormOp op);
  LogicalResult lowerNorm(m2::RMSNormOp op);
  /// RMS normalisation of each of `groups` channel groups of h (unit hUnit, |real| <= bound):
  /// sumsq -> mean -> + eps -> rsqrt -> h * r, the result below 2^-outFrac * 2^30.
  FailureOr<Val> normalize(Value h, double hUnit, int64_t C, int64_t groups, double eps,
                           double bound, int outFrac, Operation *at);
  LogicalResult checkUnitWeight(Operation *op, Value w);
  std::optional<double> calib(Operation *op, StringRef name);

  FailureOr<Val> get(Operation *user, Value v) {
    auto it = vals_.find(v);
    if (it == vals_.end()) {
      user->emitError("m2-lower-to-ovl: an operand of ")
          << user->getName() << " was not lowered (it is not an activation of the model)";
      return failure();
    }
    return it->second;
  }

  ModuleOp module_;
  func::FuncOp src_;
  const mamba2::M2LowerToOvlOptions &opts_;
  OpBuilder b_;
  Location loc_ = UnknownLoc::get(b_.getContext());
  func::FuncOp dst_;
  DenseMap<Value, Val> vals_;
  llvm::StringSet<> varying_;
  int residualFrac_ = 0;
  std::vector<int32_t> siluTable_;
  std::vector<Value> stateArgs_, newStates_;
  Value ids_;
};

std::optional<double> Lowering::calib(Operation *op, StringRef name) {
  if (auto a = op->getAttrOfType<FloatAttr>(name))
    return a.getValueAsDouble();
  return std::nullopt;
}

FailureOr<Value> Lowering::toI32(const Val &x, double target, Operation *at, bool keep) {
  int p = 0;
  if (x.uniform() && pow2(x.unit[0] / target, p)) {
    // real = v * u = w * target  ->  w = v * 2^p
    if (x.i8 && p >= 0 && p <= 23)
      return sext(x.v, p);
    Value v = x.i8 ? sext(x.v, 0) : x.v;
    if (p > 31 || p < -63) {
      at->emitError("m2-lower-to-ovl: a rescale by 2^") << p << " is out of range here";
      return failure();
    }
    return shift(v, -p, keep && !x.i8);
  }
  Value v = x.i8 ? sext(x.v, 0) : x.v;
  const int64_t n = x.uniform() ? 1 : x.channels;
  double mx = 0;
  for (int64_t c = 0; c < n; ++c)
    mx = std::max(mx, std::fabs(x.unitAt(c) / target));
  int s = multShift(mx);
  if (s < 0) {
    at->emitError("m2-lower-to-ovl: a rescale by ") << mx << " does not fit a 32-bit multiplier";
    return failure();
  }
  std::vector<int32_t> m(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c)
    m[c] = round32(std::ldexp(x.unitAt(c) / target, s));
  return mul(v, constI32({1, n}, m), s);
}

FailureOr<Value> Lowering::toI8(const Val &x, const std::vector<double> &target, int qmax,
                                Operation *at, bool perChannel) {
  int p = 0;
  Value q;
  const bool one = target.size() == 1 ||
                   (!perChannel && llvm::all_of(target, [&](double t) { return t == target[0]; }));
  auto targetAt = [&](int64_t c) { return target.size() == 1 ? target[0] : target[c]; };
  if (x.i8 && x.uniform() && one && x.unit[0] == target[0]) {
    q = x.v;
  } else if (!x.i8 && x.uniform() && one && pow2(x.unit[0] / target[0], p) && p <= 0) {
    q = shr(x.v, -p);
  } else {
    Value v = x.i8 ? sext(x.v, 0) : x.v;
    const int64_t n = x.uniform() && one ? 1 : x.channels;
    std::vector<int32_t> mult(static_cast<size_t>(n));
    std::vector<int8_t> sh(static_cast<size_t>(n));
    for (int64_t c = 0; c < n; ++c) {
      double r = x.unitAt(c) / targetAt(c);
      int s = multShift(std::fabs(r));
      if (s < 0 || s > 63) {
        at->emitError("m2-lower-to-ovl: a requantisation by ")
            << r << " does not fit a 32-bit multiplier and a 0..63 shift";
        return failure();
      }
      mult[c] = round32(std::ldexp(r, s));
      sh[c] = static_cast<int8_t>(s);
    }
    q = b_.create<ovl::RequantOp>(loc_, act(x.channels, true), v, constI32({n}, mult),
                                  constI8({n}, sh));
  }
  if (qmax < 127) // the narrower range: clamp the int8 values exactly by a pwl table
    q = shr(pwl(sext(q, 0), clampTable(-qmax, qmax), "clamp"), 0);
  return q;
}

LogicalResult Lowering::checkUnitWeight(Operation *op, Value w) {
  auto v = quant::readF32(w);
  if (!v || llvm::any_of(*v, [](float x) { return x != 1.0f; })) {
    op->emitError("m2-lower-to-ovl: ")
        << op->getName() << " has a weight other than ones (run m2-fold-norms first)";
    return failure();
  }
  return success();
}

FailureOr<Val> Lowering::normalize(Value h, double hUnit, int64_t C, int64_t groups, double eps,
                                   double bound, int outFrac, Operation *at) {
  const int64_t dg = C / groups;
  // Sum of squares of a group below 2^30: its real bound is dg * bound^2.
  const double sumBound = static_cast<double>(dg) * bound * bound / (hUnit * hUnit);
  const int s1 = std::clamp(ceilLog2(sumBound) - kTopBit, 0, 63);
  Value ss = b_.create<ovl::SumsqOp>(loc_, act(groups, false), h, b_.getI64IntegerAttr(groups),
                                     b_.getI64IntegerAttr(s1));
  double msUnit = hUnit * hUnit * std::ldexp(1.0, s1); // of the sum
  int p = 0;
  if (pow2(static_cast<double>(dg), p)) {
    msUnit /= static_cast<double>(dg); // the mean is the sum in a smaller unit
  } else {
    const int k = 29 + static_cast<int>(std::floor(std::log2(static_cast<double>(dg))));
    const int32_t m = round32(std::ldexp(1.0, k) / static_cast<double>(dg));
    ss = mul(ss, constI32({1, 1}, {m}), k);
    msUnit *= std::ldexp(1.0, k) / (static_cast<double>(m) * static_cast<double>(dg));
  }
  // + eps, in every layer alike: an add of 0 where eps rounds to 0 in this layer's unit.
  const int32_t e = round32(eps / msUnit);
  if (opts_.layerForms ? eps > 0 : e > 0)
    ss = add(ss, constI32({1, 1}, {e}));
  std::vector<int32_t> rt =
      mamba2::isa::buildRsqrtTable(kRsqrtFrac, static_cast<unsigned>(opts_.rsqrtSegments));
  Value r = b_.create<ovl::RsqrtOp>(loc_, ss.getType(), ss, table(rt));
  const double rUnit = std::ldexp(1.0, -kRsqrtFrac) / std::sqrt(msUnit);
  // n = h * r in a unit no finer than 2^-outFrac.
  const int s = ceilLog2(std::ldexp(1.0, -outFrac) / (hUnit * rUnit));
  if (s < 0 || s > 63) {
    at->emitError("m2-lower-to-ovl: the normalisation of ")
        << at->getName() << " needs a shift of " << s << " (outside 0..63)";
    return failure();
  }
  Val out;
  out.v = mul(h, r, s);
  out.unit = {hUnit * rUnit * std::ldexp(1.0, s)};
  out.channels = C;
  return out;
}

LogicalResult Lowering::lowerNorm(m2::RMSNormOp op) {
  if (failed(checkUnitWeight(op, op.getWeight())))
    return failure();
  auto x = get(op, op.getInput());
  if (failed(x))
    return failure();
  auto h = toI32(*x, std::ldexp(1.0, -residualFrac_), op);
  if (failed(h))
    return failure();
  const int64_t C = x->channels;
  // |n| <= sqrt(C) after the norm; 2^30 / 2^ceil(log2 sqrt C) leaves a factor 2 for rsqrt's error.
  const int outFrac = kTopBit - ceilLog2(std::sqrt(static_cast<double>(C))) - 1;
  const double bound = 8.0 * *calib(op, "calib.in_absmax");
  auto n = normalize(*h, std::ldexp(1.0, -residualFrac_), C, 1, op.getEps().convertToDouble(),
                     bound, outFrac, op);
  if (failed(n))
    return failure();
  vals_[op.getOutput()] = *n;
  return success();
}

LogicalResult Lowering::lowerQLinear(m2::QLinearOp op) {
  if (op.getActMode() != "tensor" || !op.getActScale()) {
    op.emitError("m2-lower-to-ovl: m2.qlinear with dynamic per-token activation scales cannot be "
                 "lowered (the ISA has no max|x|); quantise with static scales (mamba2c "
                 "--act-scales tensor, m2-quantize-linear{act-mode=tensor})");
    return failure();
  }
  auto x = get(op, op.getInput());
  if (failed(x))
    return failure();
  const double a = op.getActScale()->convertToDouble();
  const int qmax = op.getActBits() == 8 ? 127 : 7;
  auto q = toI8(*x, a, qmax, op);
  if (failed(q))
    return failure();
  auto w = quant::readI8(op.getWeight());
  auto sc = quant::readI32(op.getScales());
  auto os = quant::readF32(op.getOutScale());
  if (!w || !sc || !os) {
    op.emitError("m2-lower-to-ovl: the weight, scales and out_scale of m2.qlinear must be "
                 "constants");
    return failure();
  }
  auto wShape = quant::shapeOf(op.getWeight()), sShape = quant::shapeOf(op.getScales());
  const int64_t N = wShape[0];
  Value acc = b_.create<ovl::MatmulOp>(
      loc_, act(N, false), *q, constI8(wShape, *w), constI32(sShape, *sc),
      b_.getI64IntegerAttr(op.getWeightBits()), b_.getI64IntegerAttr(op.getGroup()),
      b_.getI64IntegerAttr(op.getShift()));
  w.reset();
  // The m2 weight is not read again (the source function is erased at the end).
  if (opts_.releaseWeights)
    if (auto c = op.getWeight().getDefiningOp<m2::ConstantOp>(); c && c->hasOneUse())
      quant::releaseData(src_, c.getValue(), c);
  Val out;
  out.v = acc;
  out.channels = N;
  out.unit.resize(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    out.unit[n] = a * static_cast<double>((*os)[n]);
  vals_[op.getOutput()] = out;
  return success();
}

LogicalResult Lowering::lowerConv(m2::Conv1dOp op) {
  if (op.getState()) {
    op.emitError("m2-lower-to-ovl: explicit-state (step) functions are not lowered; lower the "
                 "whole-sequence model (its states become @main's arguments)");
    return failure();
  }
  if (!op->hasAttr("quant.in_exp") || !op->hasAttr("quant.w_exp")) {
    op.emitError("m2-lower-to-ovl: m2.conv1d has no quant.in_exp / quant.w_exp (run "
                 "m2-calibrate and m2-quantize-ssm first, mamba2c --ssm-pot)");
    return failure();
  }
  auto x = get(op, op.getInput());
  auto w = quant::readF32(op.getWeight());
  auto bias = quant::readF32(op.getBias());
  if (failed(x))
    return failure();
  const int64_t C = x->channels;
  if (!w || !bias || static_cast<int64_t>(w->size()) != 4 * C) {
    op.emitError("m2-lower-to-ovl: m2.conv1d needs constant weights (C, 4) and bias (C)");
    return failure();
  }
  auto ein = quant::channelExponents(op, "quant.in_exp", C),
       ew = quant::channelExponents(op, "quant.w_exp", C);
  if (!ein || !ew) {
    op.emitError("m2-lower-to-ovl: m2.conv1d's quant.in_exp / quant.w_exp must be one integer "
                 "or one per channel (")
        << C << ")";
    return failure();
  }
  auto xq = toI8(*x, units(*ein), 127, op);
  if (failed(xq))
    return failure();
  std::vector<int8_t> wq(w->size());
  for (size_t i = 0; i < wq.size(); ++i)
    wq[i] = mamba2::isa::ref::sat8(std::llround(std::ldexp(double((*w)[i]), -(*ew)[i / 4])));
  std::vector<int32_t> bq(static_cast<size_t>(C));
  std::vector<double> yUnit(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    bq[c] = round32(std::ldexp(double((*bias)[c]), -((*ein)[c] + (*ew)[c])));
    yUnit[c] = std::ldexp(1.0, (*ein)[c] + (*ew)[c]);
  }
  auto stT = RankedTensorType::get({C, 3}, b_.getI8Type());
  Value state = dst_.getBody().front().addArgument(stT, loc_);
  stateArgs_.push_back(state);
  auto conv = b_.create<ovl::Conv4Op>(loc_, act(C, false), stT, *xq, constI8({C, 4}, wq),
                                      constI32({C}, bq), state);
  newStates_.push_back(conv.getNewState());
  Val out;
  out.v = conv.getY();
  // Per channel wherever the model's convs have per-channel exponents that differ somewhere
  // (not only where this conv's do), so every layer converts it with the same op.
  out.unit = yUnit;
  if (!varies("quant.in_exp") && !varies("quant.w_exp") &&
      llvm::all_of(yUnit, [&](double u) { return u == yUnit[0]; }))
    out.unit = {yUnit[0]};
  out.channels = C;
  vals_[op.getOutput()] = out;
  return success();
}

LogicalResult Lowering::lowerSsd(m2::SSDOp op) {
  if (op.getState()) {
    op.emitError("m2-lower-to-ovl: explicit-state (step) functions are not lowered; lower the "
                 "whole-sequence model (its states become @main's arguments)");
    return failure();
  }
  if (llvm::any_of(std::initializer_list<StringRef>{"quant.x_exp", "quant.b_exp", "quant.c_exp",
                                                    "quant.state_exp", "quant.state_bits",
                                                    "quant.dt_frac", "quant.decay_frac"},
                   [&](StringRef n) { return !op->hasAttr(n); })) {
    op.emitError("m2-lower-to-ovl: m2.ssd has no quant.* exponents (run m2-calibrate and "
                 "m2-quantize-ssm first, mamba2c --ssm-pot)");
    return failure();
  }
  auto dtBias = quant::readF32(op.getDtBias()), A = quant::readF32(op.getA()),
       D = quant::readF32(op.getD());
  if (!dtBias || !A || !D) {
    op.emitError("m2-lower-to-ovl: m2.ssd needs constant dt_bias, A and D");
    return failure();
  }
  auto x = get(op, op.getX()), dt = get(op, op.getDt()), Bv = get(op, op.getB()),
       Cv = get(op, op.getC());
  if (failed(x) || failed(dt) || failed(Bv) || failed(Cv))
    return failure();
  const int64_t H = dt->channels, HP = x->channels, P = HP / H, G = op.getNgroups(),
                N = Bv->channels / G;
  auto format = quant::ssmScanFormat(op, H, P, G, N);
  if (!format) {
    op.emitError("m2-lower-to-ovl: ") << llvm::toString(format.takeError());
    return failure();
  }
  const quant::SsmScanFormat &f = *format;
  const int *dtf = &f.dtFrac, *df = &f.decayFrac, *bits = &f.stateBits;
  // Per channel wherever the model's exponents differ between channels somewhere.
  auto x8 = toI8(*x, units(f.x), 127, op, varies("quant.x_exp"));
  auto B8 = toI8(*Bv, units(f.b), 127, op, varies("quant.b_exp"));
  auto C8 = toI8(*Cv, units(f.c), 127, op, varies("quant.c_exp"));
  auto dt32 = toI32(*dt, std::ldexp(1.0, -kDtInFrac), op);
  if (failed(x8) || failed(B8) || failed(C8) || failed(dt32))
    return failure();
  // dt' = softplus(dt + dt_bias) with dt_frac fraction bits (clamped to [dt_min, dt_max]).
  std::vector<int32_t> bias(static_cast<size_t>(H)), aq(static_cast<size_t>(H));
  for (int64_t h = 0; h < H; ++h) {
    bias[h] = round32(std::ldexp(double((*dtBias)[h]), kDtInFrac));
    aq[h] = round32(std::ldexp(double((*A)[h]), kDtAFrac));
    if ((*A)[h] > 0) {
      op.emitError("m2-lower-to-ovl: m2.ssd has a positive A (head ") << h << ")";
      return failure();
    }
  }
  // The tables: softplus and exp from 0 where their value rounds to 0 (2^-(frac + 1)).
  std::vector<int32_t> spTable, expTable;
  try {
    spTable = pwlFromZero("softplus", -(*dtf + 1) * std::log(2.0), 8.0, opts_.softplusSegments,
                          kDtInFrac, *dtf);
    expTable =
        pwlFromZero("exp", -(*df + 1) * std::log(2.0), 0.0, opts_.expSegments, kDtAFrac, *df);
  } catch (const std::exception &e) {
    op.emitError("m2-lower-to-ovl: m2.ssd: ") << e.what();
    return failure();
  }
  Value d = add(*dt32, constI32({1, H}, bias));
  d = pwl(d, spTable, "softplus");
  const bool hasMin = op.getDtMin() && op.getDtMin()->convertToDouble() > 0;
  const bool hasMax = op.getDtMax() && std::isfinite(op.getDtMax()->convertToDouble());
  if (hasMin || hasMax) {
    int32_t lo = hasMin ? round32(std::ldexp(op.getDtMin()->convertToDouble(), *dtf)) : 0;
    std::optional<int32_t> hi;
    if (hasMax)
      hi = round32(std::ldexp(op.getDtMax()->convertToDouble(), *dtf));
    d = pwl(d, clampTable(lo, hi), "clamp");
  }
  // decay = exp(dt' * A) with decay_frac fraction bits.
  Value dA = mul(d, constI32({1, H}, aq), *dtf);
  Value decay = pwl(dA, expTable, "exp");
  // dtx = x * dt' per head: unit 2^(x_exp - dt_frac); per-group exponents: times 2^dtxShift
  // per channel, so that one input shift serves every channel (SsmFormat.h).
  Value x32 = sext(*x8, 0);
  Value dtx = mul(x32, d, 0);
  const bool perK = varies("quant.x_exp") || varies("quant.state_exp") || varies("quant.b_exp");
  if (perK || llvm::any_of(f.dtxShift, [](int j) { return j != 0; })) {
    std::vector<int32_t> m(f.dtxShift.size());
    for (size_t c = 0; c < m.size(); ++c)
      m[c] = int32_t(1) << f.dtxShift[c];
    dtx = mul(dtx, constI32({1, HP}, m), 0);
  }
  const int inShift = f.inShift;
  // y = S . C: the state holds at most 2^(bits-1) per element, so |S . C| < N * 127 * 2^(bits-1).
  const int outShift = std::clamp(
      ceilLog2(static_cast<double>(N) * 127.0 * std::ldexp(1.0, *bits - 1)) - kTopBit, 0, 63);
  auto stT = RankedTensorType::get({H, P, N}, b_.getI32Type());
  Value state = dst_.getBody().front().addArgument(stT, loc_);
  stateArgs_.push_back(state);
  auto ssm = b_.create<ovl::SsmOp>(loc_, act(HP, false), stT, dtx, decay, *B8, *C8, state,
                                   b_.getI64IntegerAttr(G), b_.getI64IntegerAttr(*df),
                                   b_.getI64IntegerAttr(inShift), b_.getI64IntegerAttr(outShift));
  newStates_.push_back(ssm.getNewState());
  // y's unit per channel: 2^(state_exp + c_exp + out_shift), one for all per tensor.
  std::vector<double> yUnit(static_cast<size_t>(HP));
  for (int64_t c = 0; c < HP; ++c)
    yUnit[c] = std::ldexp(1.0, f.yExp[c] + outShift);
  const bool yOne = !varies("quant.state_exp") && !varies("quant.c_exp") &&
                    llvm::all_of(yUnit, [&](double u) { return u == yUnit[0]; });
  // D skip: x * D per head in y's unit, from x as it came (the SiLU's 2^-16 fixed point) rather
  // than its int8 form, which would add x's 8-bit rounding to y.
  double dMax = 0;
  for (float v : *D)
    dMax = std::max(dMax, std::fabs(double(v)));
  Value y = ssm.getY();
  if (dMax > 0) {
    const bool fine = !x->i8 && x->uniform();
    const Value xs = fine ? x->v : x32;
    // Per channel: D[h] * (unit of xs) / (unit of y); one per head when y's unit is uniform.
    const int64_t n = yOne ? H : HP;
    std::vector<double> dScale(static_cast<size_t>(n));
    double mx = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = yOne ? i * P : i, h = c / P;
      dScale[i] = double((*D)[h]) * (fine ? x->unit[0] : std::ldexp(1.0, f.x[c])) / yUnit[c];
      mx = std::max(mx, std::fabs(dScale[i]));
    }
    const int s = multShift(mx);
    if (s < 0) {
      op.emitError("m2-lower-to-ovl: D does not fit a 32-bit multiplier in y's unit");
      return failure();
    }
    std::vector<int32_t> dq(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      dq[i] = round32(std::ldexp(dScale[i], s));
    y = add(y, mul(xs, constI32({1, n}, dq), s));
  }
  Val out;
  out.v = y;
  out.unit = yOne ? std::vector<double>{yUnit[0]} : yUnit;
  out.channels = HP;
  vals_[op.getY()] = out;
  return success();
}

LogicalResult Lowering::lowerGatedNorm(m2::GatedRMSNormOp op) {
  if (failed(checkUnitWeight(op, op.getWeight())))
    return failure();
  auto gMax = calib(op, "calib.g_absmax");
  if (!gMax) {
    op.emitError("m2-lower-to-ovl: m2.gated_rms_norm has no calib.g_absmax (run m2-calibrate)");
    return failure();
  }
  auto y = get(op, op.getY()), z = get(op, op.getZ());
  if (failed(y) || failed(z))
    return failure();
  const int64_t C = y->channels;
  // y keeps the SSM's unit; with per-group exponents, the coarsest of its channels' units (a
  // right shift of the others, which cannot overflow).
  const double yUnit = *std::max_element(y->unit.begin(), y->unit.end());
  auto z32 = toI32(*z, std::ldexp(1.0, -kSiluFrac), op);
  auto y32 = toI32(*y, yUnit, op);
  if (failed(z32) || failed(y32))
    return failure();
  Value sz = pwl(*z32, siluTable_, "silu");
  // g = y * silu(z) below 2^30 with 8x headroom over the calibrated max.
  const double gTarget = std::ldexp(1.0, kTopBit) / (8.0 * *gMax); // units per real 1
  const double prodUnit = yUnit * std::ldexp(1.0, -kSiluFrac);
  const int s = std::clamp(ceilLog2(1.0 / (gTarget * prodUnit)), 0, 63);
  Value g = mul(*y32, sz, s);
  const double gUnit = prodUnit * std::ldexp(1.0, s);
  // The online Hadamard that may follow sums d values: |fwht(n)| <= ||n||_1 <= sqrt(d) ||n||_2
  // <= d, so the normalised value keeps ceil(log2 d) bits of headroom below 2^30.
  const int outFrac = kTopBit - ceilLog2(static_cast<double>(C)) - 1;
  auto n = normalize(g, gUnit, C, op.getNgroups(), op.getEps().convertToDouble(), 8.0 * *gMax,
                     outFrac, op);
  if (failed(n))
    return failure();
  vals_[op.getOutput()] = *n;
  return success();
}

LogicalResult Lowering::lower(Operation *op) {
  loc_ = op->getLoc();
  if (isa<m2::ConstantOp>(op))
    return success(); // read by the ops that use them
  if (auto e = dyn_cast<m2::EmbeddingOp>(op)) {
    auto t = quant::readF32(e.getTable());
    auto shape = quant::shapeOf(e.getTable());
    if (!t || shape.size() != 2) {
      op->emitError("m2-lower-to-ovl: the embedding table must be a constant (vocab, d)");
      return failure();
    }
    std::vector<int32_t> q(t->size());
    for (size_t i = 0; i < q.size(); ++i)
      q[i] = round32(std::ldexp(double((*t)[i]), residualFrac_));
    Value tab = constI32(shape, q, "embedding");
    Val out;
    out.v = b_.create<ovl::EmbedOp>(loc_, act(shape[1], false), ids_, tab);
    out.unit = {std::ldexp(1.0, -residualFrac_)};
    out.channels = shape[1];
    vals_[e.getOutput()] = out;
    return success();
  }
  if (auto n = dyn_cast<m2::RMSNormOp>(op))
    return lowerNorm(n);
  if (auto q = dyn_cast<m2::QLinearOp>(op))
    return lowerQLinear(q);
  if (auto s = dyn_cast<m2::SplitOp>(op)) {
    auto x = get(op, s.getInput());
    if (failed(x))
      return failure();
    int64_t off = 0;
    for (auto [i, size] : llvm::enumerate(s.getSizes())) {
      Val part;
      part.v = slice(x->v, off, size);
      part.i8 = x->i8;
      part.channels = size;
      if (x->uniform())
        part.unit = x->unit;
      else
        part.unit.assign(x->unit.begin() + off, x->unit.begin() + off + size);
      vals_[s.getOutputs()[i]] = part;
      off += size;
    }
    return success();
  }
  if (auto c = dyn_cast<m2::Conv1dOp>(op))
    return lowerConv(c);
  if (auto p = dyn_cast<m2::PwlOp>(op)) {
    auto x = get(op, p.getInput());
    auto t = quant::readI32(p.getTable());
    if (failed(x) || !t) {
      if (!t)
        op->emitError("m2-lower-to-ovl: the table of m2.pwl must be an i32 constant");
      return failure();
    }
    // One op in every layer, also where the input's unit is already the table's.
    auto xi = toI32(*x, std::ldexp(1.0, -static_cast<int>(p.getInFrac())), op, opts_.layerForms);
    if (failed(xi))
      return failure();
    Val out;
    out.v = pwl(*xi, *t, p.getFunction());
    out.unit = {std::ldexp(1.0, -static_cast<int>(p.getOutFrac()))};
    out.channels = x->channels;
    vals_[p.getOutput()] = out;
    return success();
  }
  if (auto s = dyn_cast<m2::SSDOp>(op))
    return lowerSsd(s);
  if (auto g = dyn_cast<m2::GatedRMSNormOp>(op))
    return lowerGatedNorm(g);
  if (auto h = dyn_cast<m2::HadamardOp>(op)) {
    auto x = get(op, h.getInput());
    if (failed(x))
      return failure();
    auto xi = toI32(*x, x->uniform() ? x->unit[0] : 1.0, op);
    if (failed(xi) || !x->uniform()) {
      if (succeeded(xi))
        op->emitError("m2-lower-to-ovl: the input of m2.hadamard has per-channel units");
      return failure();
    }
    const int64_t n = x->channels;
    Value v = *xi;
    if (h.getSeed() != 0) {
      std::vector<int8_t> sg = quant::hadamardSigns(n, static_cast<uint64_t>(h.getSeed()));
      std::vector<int32_t> s32(sg.begin(), sg.end());
      v = mul(v, constI32({1, n}, s32), 0);
    }
    Val out;
    out.v = b_.create<ovl::FwhtOp>(loc_, v.getType(), v);
    out.unit = {x->unit[0] / std::sqrt(static_cast<double>(n))}; // fwht is unnormalised
    out.channels = n;
    vals_[h.getOutput()] = out;
    return success();
  }
  if (auto r = dyn_cast<m2::ResidualAddOp>(op)) {
    auto a = get(op, r.getResidual()), u = get(op, r.getUpdate());
    if (failed(a) || failed(u))
      return failure();
    const double unit = std::ldexp(1.0, -residualFrac_);
    auto ai = toI32(*a, unit, op), ui = toI32(*u, unit, op);
    if (failed(ai) || failed(ui))
      return failure();
    Val out;
    out.v = add(*ai, *ui);
    out.unit = {unit};
    out.channels = a->channels;
    vals_[r.getOutput()] = out;
    return success();
  }
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    if (ret.getNumOperands() != 1) {
      op->emitError("m2-lower-to-ovl: @main must return the logits only");
      return failure();
    }
    auto l = get(op, ret.getOperand(0));
    if (failed(l))
      return failure();
    double mx = 0;
    for (int64_t c = 0; c < (l->uniform() ? 1 : l->channels); ++c)
      mx = std::max(mx, l->unitAt(c));
    // The accumulator stays below 2^30 (m2-quantize-linear's shift), so one common unit of
    // 2^ceil(log2 max unit) keeps every logit below 2^30 too.
    const int logitFrac = -ceilLog2(mx);
    auto li = toI32(*l, std::ldexp(1.0, -logitFrac), op);
    if (failed(li))
      return failure();
    std::vector<Value> results = {*li};
    results.insert(results.end(), newStates_.begin(), newStates_.end());
    b_.create<func::ReturnOp>(loc_, results);
    dst_->setAttr("ovl.logit_frac", b_.getI64IntegerAttr(logitFrac));
    return success();
  }
  if (isa<m2::LinearOp, m2::LMHeadOp>(op)) {
    op->emitError("m2-lower-to-ovl: ")
        << op->getName()
        << " is not quantised (run m2-quantize-linear; the lm_head needs lm-head-bits 8 or 4)";
    return failure();
  }
  if (isa<m2::SiluOp, m2::SoftplusOp>(op)) {
    op->emitError("m2-lower-to-ovl: ")
        << op->getName() << " is exact; run m2-pwl first (mamba2c --pwl N)";
    return failure();
  }
  op->emitError("m2-lower-to-ovl: ") << op->getName() << " has no lowering to ovl";
  return failure();
}

LogicalResult Lowering::run() {
  // The ids: (b, l) int64 with batch 1 -> [rows] i32.
  if (src_.getNumArguments() != 1 || src_.getNumResults() != 1) {
    src_.emitError("m2-lower-to-ovl: @main must take the token ids and return the logits only "
                   "(a whole-sequence model; explicit-state step functions are not lowered)");
    return failure();
  }
  // The residual stream's format: from the largest input any RMS norm saw in calibration.
  double resMax = 0;
  bool missing = false;
  src_.walk([&](m2::RMSNormOp n) {
    if (auto v = calib(n, "calib.in_absmax"))
      resMax = std::max(resMax, *v);
    else if (!missing) {
      missing = true;
      n.emitError("m2-lower-to-ovl: m2.rms_norm has no calib.in_absmax (run m2-calibrate on "
                  "the model first)");
    }
  });
  if (missing)
    return failure();
  if (!(resMax > 0)) {
    src_.emitError("m2-lower-to-ovl: @main has no calibrated m2.rms_norm");
    return failure();
  }
  // |h| <= 8 * resMax below 2^30.
  residualFrac_ = kTopBit - ceilLog2(8.0 * resMax);
  // The exponent attributes whose channels differ in some op: converted per channel in every
  // layer (a layer loop needs the layers' op forms alike; the values are per layer).
  if (opts_.layerForms)
    src_.walk([&](Operation *op) {
      for (NamedAttribute a : op->getAttrs())
        if (auto d = dyn_cast<DenseIntElementsAttr>(a.getValue());
            d && a.getName().strref().starts_with("quant.") && d.getNumElements() > 1) {
          auto v = d.getValues<APInt>();
          if (llvm::any_of(v, [&](const APInt &e) { return e != *v.begin(); }))
            varying_.insert(a.getName().strref());
        }
    });
  for (int64_t s : {int64_t(opts_.softplusSegments), int64_t(opts_.expSegments)})
    if (s < 1 || s > 255) {
      src_.emitError("m2-lower-to-ovl: softplus-segments and exp-segments take 1..255, not ") << s;
      return failure();
    }
  if (opts_.siluSegments < 0 || opts_.siluSegments > 256) {
    src_.emitError("m2-lower-to-ovl: silu-segments takes 0..256, not ") << opts_.siluSegments;
    return failure();
  }
  if (opts_.rsqrtSegments < 1 || opts_.rsqrtSegments > 256) {
    src_.emitError("m2-lower-to-ovl: rsqrt-segments takes 1..256, not ") << opts_.rsqrtSegments;
    return failure();
  }

  // The gated norm's SiLU: the module's standalone SiLU table (m2-pwl), or a new one.
  if (opts_.siluSegments > 0) {
    mamba2::isa::PwlSpec spec;
    spec.segments = static_cast<unsigned>(opts_.siluSegments);
    spec.inFrac = spec.outFrac = kSiluFrac;
    siluTable_ = mamba2::isa::buildPwl("silu", spec);
  } else {
    src_.walk([&](m2::PwlOp p) {
      if (siluTable_.empty() && p.getFunction() == "silu" && p.getInFrac() == kSiluFrac &&
          p.getOutFrac() == kSiluFrac)
        if (auto t = quant::readI32(p.getTable()))
          siluTable_ = *t;
    });
    bool gated = false;
    src_.walk([&](m2::GatedRMSNormOp) { gated = true; });
    if (gated && siluTable_.empty()) {
      src_.emitError("m2-lower-to-ovl: no m2.pwl SiLU table (16 fraction bits) to reuse for the "
                     "gated norm; run m2-pwl first or give silu-segments");
      return failure();
    }
  }
  b_.setInsertionPoint(src_);
  auto idsT = RankedTensorType::get({kDyn}, b_.getI32Type());
  dst_ = b_.create<func::FuncOp>(src_.getLoc(), "main.ovl", b_.getFunctionType({idsT}, {}));
  Block *entry = dst_.addEntryBlock();
  ids_ = entry->getArgument(0);
  b_.setInsertionPointToStart(entry);
  for (Operation &op : src_.getBody().front())
    if (failed(lower(&op))) {
      dst_.erase();
      return failure();
    }
  // The signature now that the states are known.
  std::vector<Type> ins, outs;
  for (Type t : entry->getArgumentTypes())
    ins.push_back(t);
  auto ret = cast<func::ReturnOp>(entry->getTerminator());
  for (Type t : ret.getOperandTypes())
    outs.push_back(t);
  dst_.setFunctionType(b_.getFunctionType(ins, outs));
  dst_->setAttr("ovl.residual_frac", b_.getI64IntegerAttr(residualFrac_));
  src_.erase();
  dst_.setName("main");
  return success();
}

struct LowerToOvlPass : mamba2::impl::M2LowerToOvlBase<LowerToOvlPass> {
  using M2LowerToOvlBase::M2LowerToOvlBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main) {
      module.emitError("m2-lower-to-ovl: the module has no @main");
      return signalPassFailure();
    }
    mamba2::M2LowerToOvlOptions o;
    o.softplusSegments = softplusSegments;
    o.expSegments = expSegments;
    o.siluSegments = siluSegments;
    o.rsqrtSegments = rsqrtSegments;
    o.releaseWeights = releaseWeights;
    o.layerForms = layerForms;
    Lowering l(module, main, o);
    if (failed(l.run()))
      return signalPassFailure();
  }
};

} // namespace
