// The `ovl` dialect: registration and verifiers (shapes, element types, parameter ranges).
#include "mamba2/Dialect/Ovl/OvlDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "mamba2/isa/Reference.h"

#include <array>

using namespace mlir;
using namespace mamba2::ovl;

#include "mamba2/Dialect/Ovl/OvlDialect.cpp.inc"

void OvlDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mamba2/Dialect/Ovl/OvlOps.cpp.inc"
      >();
}

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// The shape of a ranked tensor value, or empty with `ok` false.
llvm::SmallVector<int64_t> shapeOf(Value v, bool &ok) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  ok = static_cast<bool>(t);
  if (!t)
    return {};
  return llvm::SmallVector<int64_t>(t.getShape());
}

/// `v` must be ranked with rank `r`; returns its shape.
FailureOr<llvm::SmallVector<int64_t>> ranked(Operation *op, Value v, int64_t r,
                                             llvm::StringRef what) {
  bool ok = false;
  auto s = shapeOf(v, ok);
  if (!ok || static_cast<int64_t>(s.size()) != r)
    return op->emitOpError() << what << " must be a rank-" << r << " tensor, got " << v.getType();
  return s;
}

/// Both known and different.
bool differ(int64_t a, int64_t b) { return a != kDyn && b != kDyn && a != b; }

LogicalResult expectDim(Operation *op, int64_t got, int64_t want, llvm::StringRef what) {
  if (differ(got, want))
    return op->emitOpError() << what << " is " << got << ", expected " << want;
  return success();
}

LogicalResult expectRange(Operation *op, int64_t v, int64_t lo, int64_t hi, llvm::StringRef what) {
  if (v < lo || v > hi)
    return op->emitOpError() << what << " = " << v << " is outside " << lo << ".." << hi;
  return success();
}

/// Activation in, activation of the same shape out (element types by ODS).
LogicalResult sameRows(Operation *op, Value in, Value out) {
  auto a = ranked(op, in, 2, "the input");
  auto b = ranked(op, out, 2, "the result");
  if (failed(a) || failed(b))
    return failure();
  if (failed(expectDim(op, (*b)[0], (*a)[0], "the result's row count")) ||
      failed(expectDim(op, (*b)[1], (*a)[1], "the result's channel count")))
    return failure();
  return success();
}

/// The broadcast rule of mul / add (see OvlOps.td).
LogicalResult broadcastOk(Operation *op, Value x, Value y, Value out) {
  if (failed(sameRows(op, x, out)))
    return failure();
  auto xs = ranked(op, x, 2, "x");
  auto ys = ranked(op, y, 2, "y");
  if (failed(xs) || failed(ys))
    return failure();
  int64_t T = (*xs)[0], C = (*xs)[1], Ty = (*ys)[0], Cy = (*ys)[1];
  if (Ty != 1 && differ(Ty, T))
    return op->emitOpError() << "y has " << Ty << " rows; it must have 1 or as many as x (" << T
                             << ")";
  if (Cy == kDyn || Cy <= 0)
    return op->emitOpError() << "y's channel count must be static and positive";
  if (C != kDyn && C % Cy != 0)
    return op->emitOpError() << "y's channel count " << Cy << " does not divide x's " << C;
  return success();
}

/// pwl / rsqrt: an activation in and out, and a table with at least one segment.
LogicalResult tableOpOk(Operation *op, Value x, Value table, Value out) {
  if (failed(sameRows(op, x, out)))
    return failure();
  auto t = ranked(op, table, 1, "table");
  if (failed(t))
    return failure();
  if ((*t)[0] != kDyn && (*t)[0] < static_cast<int64_t>(mamba2::isa::ref::kPwlHeaderWords + 2))
    return op->emitOpError() << "table has " << (*t)[0] << " words, fewer than one segment needs";
  return success();
}

} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult ConstantOp::verify() {
  auto t = dyn_cast<ShapedType>(getValue().getType());
  if (!t || !t.hasStaticShape())
    return emitOpError("value must be a statically shaped tensor");
  Type e = t.getElementType();
  if (!e.isInteger(8) && !e.isInteger(32))
    return emitOpError() << "value must hold i8 or i32 elements, got " << e;
  if (auto n = getName(); n && n->empty())
    return emitOpError("name must not be empty");
  return success();
}

LogicalResult EmbedOp::verify() {
  auto ids = ranked(*this, getIds(), 1, "ids");
  auto table = ranked(*this, getTable(), 2, "table");
  auto out = ranked(*this, getOutput(), 2, "the result");
  if (failed(ids) || failed(table) || failed(out))
    return failure();
  if (failed(expectDim(*this, (*out)[0], (*ids)[0], "the result's row count")) ||
      failed(expectDim(*this, (*out)[1], (*table)[1], "the result's width")))
    return failure();
  return success();
}

LogicalResult MatmulOp::verify() {
  auto a = ranked(*this, getAct(), 2, "act");
  auto w = ranked(*this, getWeight(), 2, "weight");
  auto s = ranked(*this, getScales(), 2, "scales");
  auto o = ranked(*this, getOutput(), 2, "the result");
  if (failed(a) || failed(w) || failed(s) || failed(o))
    return failure();
  int64_t K = (*w)[1], N = (*w)[0], group = getGroup();
  if (K == kDyn || N == kDyn)
    return emitOpError("weight must have a static shape");
  if (getBits() != 8 && getBits() != 4)
    return emitOpError() << "bits = " << getBits() << " (8 or 4)";
  if (getBits() == 4 && K % 2 != 0)
    return emitOpError() << "4-bit weights need an even K, got " << K;
  if (group < 1 || K % group != 0)
    return emitOpError() << "group " << group << " does not divide K = " << K;
  if (failed(expectRange(*this, getShift(), -31, 63, "shift")) ||
      failed(expectDim(*this, (*a)[1], K, "act's width")) ||
      failed(expectDim(*this, (*s)[0], N, "scales' row count")) ||
      failed(expectDim(*this, (*s)[1], K / group, "scales' group count")) ||
      failed(expectDim(*this, (*o)[0], (*a)[0], "the result's row count")) ||
      failed(expectDim(*this, (*o)[1], N, "the result's width")))
    return failure();
  return success();
}

LogicalResult MulOp::verify() {
  if (failed(expectRange(*this, getShift(), 0, 63, "shift")))
    return failure();
  return broadcastOk(*this, getX(), getY(), getOutput());
}

LogicalResult AddOp::verify() { return broadcastOk(*this, getX(), getY(), getOutput()); }

LogicalResult ShiftOp::verify() {
  if (failed(expectRange(*this, getShift(), -31, 63, "shift")))
    return failure();
  return sameRows(*this, getX(), getOutput());
}

LogicalResult SextOp::verify() {
  if (failed(expectRange(*this, getShift(), 0, 23, "shift")))
    return failure();
  return sameRows(*this, getX(), getOutput());
}

LogicalResult RequantOp::verify() {
  if (failed(sameRows(*this, getX(), getOutput())))
    return failure();
  auto m = ranked(*this, getMult(), 1, "mult");
  auto s = ranked(*this, getShifts(), 1, "shifts");
  if (failed(m) || failed(s))
    return failure();
  int64_t C = cast<RankedTensorType>(getX().getType()).getDimSize(1);
  if ((*m)[0] != 1 && differ((*m)[0], C))
    return emitOpError() << "mult has " << (*m)[0] << " entries; 1 or one per channel (" << C
                         << ")";
  if (failed(expectDim(*this, (*s)[0], (*m)[0], "shifts' length")))
    return failure();
  return success();
}

LogicalResult ShrOp::verify() {
  if (failed(expectRange(*this, getShift(), 0, 63, "shift")))
    return failure();
  return sameRows(*this, getX(), getOutput());
}

LogicalResult SumsqOp::verify() {
  auto x = ranked(*this, getX(), 2, "x");
  auto o = ranked(*this, getOutput(), 2, "the result");
  if (failed(x) || failed(o))
    return failure();
  int64_t C = (*x)[1], G = getGroups();
  if (G < 1 || (C != kDyn && C % G != 0))
    return emitOpError() << "groups = " << G << " does not divide the width " << C;
  if (failed(expectRange(*this, getShift(), 0, 63, "shift")) ||
      failed(expectDim(*this, (*o)[0], (*x)[0], "the result's row count")) ||
      failed(expectDim(*this, (*o)[1], G, "the result's width")))
    return failure();
  return success();
}

LogicalResult FwhtOp::verify() {
  if (failed(sameRows(*this, getX(), getOutput())))
    return failure();
  int64_t C = cast<RankedTensorType>(getX().getType()).getDimSize(1);
  if (C == kDyn || C <= 0 || !mamba2::isa::ref::fwhtSizeOk(static_cast<unsigned>(C)))
    return emitOpError() << "width " << C << " is not h * 2^k with h in {1, 12, 40}";
  return success();
}

LogicalResult PwlOp::verify() { return tableOpOk(*this, getX(), getTable(), getOutput()); }

LogicalResult RsqrtOp::verify() { return tableOpOk(*this, getX(), getTable(), getOutput()); }

LogicalResult Conv4Op::verify() {
  if (failed(sameRows(*this, getX(), getY())))
    return failure();
  int64_t C = cast<RankedTensorType>(getX().getType()).getDimSize(1);
  auto w = ranked(*this, getWeight(), 2, "weight");
  auto b = ranked(*this, getBias(), 1, "bias");
  auto s = ranked(*this, getState(), 2, "state");
  auto ns = ranked(*this, getNewState(), 2, "new_state");
  if (failed(w) || failed(b) || failed(s) || failed(ns))
    return failure();
  if (failed(expectDim(*this, (*w)[0], C, "weight's channel count")) ||
      failed(expectDim(*this, (*w)[1], 4, "weight's tap count")) ||
      failed(expectDim(*this, (*b)[0], C, "bias' length")) ||
      failed(expectDim(*this, (*s)[0], C, "state's channel count")) ||
      failed(expectDim(*this, (*s)[1], 3, "state's depth")) ||
      failed(expectDim(*this, (*ns)[0], C, "new_state's channel count")) ||
      failed(expectDim(*this, (*ns)[1], 3, "new_state's depth")))
    return failure();
  return success();
}

/// The scan's state [H][P][N] (static) with `ngroups` dividing H: the sizes, or failure.
static FailureOr<std::array<int64_t, 4>> scanState(Operation *op, llvm::ArrayRef<int64_t> S,
                                                   int64_t G) {
  const int64_t H = S[0], P = S[1], N = S[2];
  if (H == kDyn || P == kDyn || N == kDyn)
    return op->emitOpError("state must have a static shape [H][P][N]");
  if (G < 1 || H % G != 0)
    return op->emitOpError() << "ngroups = " << G << " does not divide the head count " << H;
  return std::array<int64_t, 4>{H, P, G, N};
}

/// The operands both forms of the scan share, over T rows: decay [T][H], B and C [T][G*N],
/// y [T][H*P], new_state of the state's shape.
static LogicalResult scanOperands(Operation *op, int64_t T, const std::array<int64_t, 4> &hpgn,
                                  llvm::ArrayRef<int64_t> decay, llvm::ArrayRef<int64_t> B,
                                  llvm::ArrayRef<int64_t> C, llvm::ArrayRef<int64_t> y,
                                  llvm::ArrayRef<int64_t> S, llvm::ArrayRef<int64_t> S1) {
  const auto [H, P, G, N] = hpgn;
  if (failed(expectDim(op, decay[0], T, "decay's row count")) ||
      failed(expectDim(op, decay[1], H, "decay's width")) ||
      failed(expectDim(op, B[0], T, "B's row count")) ||
      failed(expectDim(op, B[1], G * N, "B's width")) ||
      failed(expectDim(op, C[0], T, "C's row count")) ||
      failed(expectDim(op, C[1], G * N, "C's width")) ||
      failed(expectDim(op, y[0], T, "y's row count")) ||
      failed(expectDim(op, y[1], H * P, "y's width")))
    return failure();
  for (int i = 0; i < 3; ++i)
    if (failed(expectDim(op, S1[i], S[i], "new_state's shape")))
      return failure();
  return success();
}

LogicalResult SsmOp::verify() {
  auto dtx = ranked(*this, getDtx(), 2, "dtx");
  auto decay = ranked(*this, getDecay(), 2, "decay");
  auto B = ranked(*this, getB(), 2, "B");
  auto C = ranked(*this, getC(), 2, "C");
  auto S = ranked(*this, getState(), 3, "state");
  auto y = ranked(*this, getY(), 2, "y");
  auto S1 = ranked(*this, getNewState(), 3, "new_state");
  if (failed(dtx) || failed(decay) || failed(B) || failed(C) || failed(S) || failed(y) ||
      failed(S1))
    return failure();
  auto hpgn = scanState(*this, *S, getNgroups());
  if (failed(hpgn))
    return failure();
  if (failed(expectRange(*this, getDecayShift(), 0, 63, "decay_shift")) ||
      failed(expectRange(*this, getInShift(), 0, 63, "in_shift")) ||
      failed(expectRange(*this, getOutShift(), 0, 63, "out_shift")))
    return failure();
  const int64_t T = (*dtx)[0], H = (*hpgn)[0], P = (*hpgn)[1];
  if (failed(expectDim(*this, (*dtx)[1], H * P, "dtx's width")) ||
      failed(scanOperands(*this, T, *hpgn, *decay, *B, *C, *y, *S, *S1)))
    return failure();
  return success();
}

LogicalResult SsdChunkOp::verify() {
  auto x = ranked(*this, getX(), 2, "x");
  auto d = ranked(*this, getD(), 2, "d");
  auto decay = ranked(*this, getDecay(), 2, "decay");
  auto B = ranked(*this, getB(), 2, "B");
  auto C = ranked(*this, getC(), 2, "C");
  auto S = ranked(*this, getState(), 3, "state");
  auto y = ranked(*this, getY(), 2, "y");
  auto S1 = ranked(*this, getNewState(), 3, "new_state");
  if (failed(x) || failed(d) || failed(decay) || failed(B) || failed(C) || failed(S) || failed(y) ||
      failed(S1))
    return failure();
  auto hpgn = scanState(*this, *S, getNgroups());
  if (failed(hpgn))
    return failure();
  const int64_t T = (*x)[0], H = (*hpgn)[0], P = (*hpgn)[1];
  if (failed(expectDim(*this, (*x)[1], H * P, "x's width")) ||
      failed(expectDim(*this, (*d)[0], T, "d's row count")) ||
      failed(expectDim(*this, (*d)[1], H, "d's width")) ||
      failed(scanOperands(*this, T, *hpgn, *decay, *B, *C, *y, *S, *S1)))
    return failure();
  // The micro-ops' fields: the matrix unit's n and k take a chunk of rows, segdecay's decay is
  // at most 2^decay_shift in int32, shifts of rnd 0..63, gmm8's -31..63 for the lo and the hi
  // (8 less) product.
  if (failed(expectRange(*this, getChunk(), 1, 64, "chunk")) ||
      failed(expectRange(*this, getDecayShift(), 0, 30, "decay_shift")) ||
      failed(expectRange(*this, getGdShift(), 0, 63, "gd_shift")) ||
      failed(expectRange(*this, getMdShift(), 0, 63, "md_shift")) ||
      failed(expectRange(*this, getMSplit(), 0, 63, "m_split")) ||
      failed(expectRange(*this, getStateSplit(), 0, 63, "state_split")) ||
      failed(expectRange(*this, getWShift(), 0, 63, "w_shift")) ||
      failed(expectRange(*this, getBwShift(), 0, 63, "bw_shift")) ||
      failed(expectRange(*this, getBwSplit(), 0, 63, "bw_split")) ||
      failed(expectRange(*this, getCShift(), -23, 63, "c_shift")))
    return failure();
  if (static_cast<int64_t>(getMultExp().size()) != H)
    return emitOpError() << "mult_exp has " << getMultExp().size()
                         << " exponents, expected one per head (" << H << ")";
  for (auto [h, e] : llvm::enumerate(getMultExp())) {
    if (e < 0 || e > 30)
      return emitOpError() << "mult_exp[" << h << "] = " << e << " is outside 0..30";
    if (failed(expectRange(*this, getYShift() - e, -23, 63,
                           "y_shift - mult_exp[" + std::to_string(h) + "]")) ||
        failed(expectRange(*this, getSShift() - e, -23, 63,
                           "s_shift - mult_exp[" + std::to_string(h) + "]")))
      return failure();
  }
  return success();
}

LogicalResult SliceOp::verify() {
  auto x = ranked(*this, getX(), 2, "x");
  auto o = ranked(*this, getOutput(), 2, "the result");
  if (failed(x) || failed(o))
    return failure();
  if (cast<RankedTensorType>(getX().getType()).getElementType() !=
      cast<RankedTensorType>(getOutput().getType()).getElementType())
    return emitOpError("the result's element type differs from x's");
  int64_t C = (*x)[1], off = getOffset(), size = getSize();
  if (off < 0 || size < 1 || (C != kDyn && off + size > C))
    return emitOpError() << "channels " << off << ".." << off + size << " are not inside 0.." << C;
  if (failed(expectDim(*this, (*o)[0], (*x)[0], "the result's row count")) ||
      failed(expectDim(*this, (*o)[1], size, "the result's width")))
    return failure();
  return success();
}

LogicalResult ConcatOp::verify() {
  auto o = ranked(*this, getOutput(), 2, "the result");
  if (failed(o))
    return failure();
  if (getXs().empty())
    return emitOpError("needs at least one operand");
  Type et = cast<RankedTensorType>(getOutput().getType()).getElementType();
  int64_t total = 0;
  for (auto [i, v] : llvm::enumerate(getXs())) {
    auto x = ranked(*this, v, 2, "operand " + std::to_string(i));
    if (failed(x))
      return failure();
    if (cast<RankedTensorType>(v.getType()).getElementType() != et)
      return emitOpError() << "operand " << i << "'s element type differs from the result's";
    if (failed(expectDim(*this, (*o)[0], (*x)[0], "the result's row count")))
      return failure();
    total = (*x)[1] == kDyn || total == kDyn ? kDyn : total + (*x)[1];
  }
  if (total != kDyn && failed(expectDim(*this, (*o)[1], total, "the result's width")))
    return failure();
  return success();
}

#define GET_OP_CLASSES
#include "mamba2/Dialect/Ovl/OvlOps.cpp.inc"
