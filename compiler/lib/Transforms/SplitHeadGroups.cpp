// ovl-split-head-groups: each layer's scan, conv and in_proj split by head group so that the SSM
// unit can scan group g while the matrix unit computes group g + 1 (OvlPasses.td; docs/passes.md).
//
// The split works on column ranges. `sliceOf(v, off, size)` is a value equal to columns
// off..off+size of v, built by pushing the range back through v's element-wise producers down to
// a root: a conv4 (split into one conv4 per requested range, each with its slice of the state)
// or, below a conv, a matmul (one matmul per range, its rows of the weights and scales). Values
// that do not come from the conv (dt, the decay) are cut with a slice view instead.
#include "mamba2/Transforms/OvlPasses.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dominance.h"

#include "mamba2/Quant/Constants.h"
#include "mamba2/target/Board.h"

namespace mamba2 {
#define GEN_PASS_DEF_OVLSPLITHEADGROUPS
#define GEN_PASS_DEF_OVLDECODEFUNCTION
#include "mamba2/Transforms/OvlPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace ovl = mamba2::ovl;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// The cost model's largest number of groups a layer: more never measured faster (130M on the
/// U280: 6 groups 137,016 decode cycles, 3 groups 126,059; docs/codegen.md "Head groups").
constexpr int64_t kMaxAutoGroups = 4;

/// Why a split cannot go on (the pass reports it on the op).
struct Refusal {
  Operation *op;
  std::string why;
};

/// The load-unit transfers a group adds (its x rows' scales, the requantisation's multipliers
/// and shifts, the conv's taps and bias, the conv and SSM state slices, the D skip's and the
/// exponents' per-channel constants): each one a transfer of its own, below a stripe.
constexpr double kGroupTransfers = 10;

/// A group's SSM state slice may take at most this share of the scratchpad (the layer's other
/// buffers live beside it): where one group's does not fit, the cost model splits.
constexpr double kStateSpadShare = 0.25;

class Splitter {
public:
  Splitter(func::FuncOp fn, bool release) : fn_(fn), b_(fn.getContext()), release_(release) {}

  /// Splits `ssm` into groups of `hg` heads; on refusal nothing of this op's split is kept
  /// consistent, so the caller fails the pass.
  void split(ovl::SsmOp ssm, int64_t hg);
  /// After every split: merges the matmul pieces that precede the groups, rebuilds the
  /// remaining uses of split roots, the signature, and erases what died.
  void finish();

  std::optional<Refusal> refusal;

private:
  enum class Mode { Reach, Always };
  struct Piece {
    int64_t off, size;
    Operation *op;
    int group; // -1: not requested by a group
    BlockArgument state = {};
    Value newState = {};
  };
  struct Root {
    std::vector<Piece> pieces;
    BlockArgument stateArg = {};
    Value newState = {};
  };

  bool refuse(Operation *op, const std::string &why) {
    if (!refusal)
      refusal = Refusal{op, why};
    return false;
  }
  RankedTensorType act(Value like, int64_t cols) {
    auto t = cast<RankedTensorType>(like.getType());
    return RankedTensorType::get({t.getDimSize(0), cols}, t.getElementType());
  }
  static int64_t cols(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); }

  Value view(Value v, int64_t off, int64_t size) {
    if (off == 0 && size == cols(v))
      return v;
    return b_.create<ovl::SliceOp>(v.getLoc(), act(v, size), v, b_.getI64IntegerAttr(off),
                                   b_.getI64IntegerAttr(size));
  }
  /// Whether v is computed (element-wise) from a conv4's output.
  bool reaches(Value v);
  /// Whether the pushed form of v can be built before `at`: every value it would cut with a
  /// view (what does not come from the conv) is a constant or defined before `at`.
  bool leavesBefore(Value v, Operation *at) {
    Operation *d = v.getDefiningOp();
    if (!d || isa<ovl::ConstantOp>(d))
      return true;
    if (!reaches(v))
      return d->isBeforeInBlock(at);
    if (isa<ovl::Conv4Op>(d))
      return true;
    return llvm::all_of(d->getOperands(), [&](Value o) { return leavesBefore(o, at); });
  }
  Value sliceOf(Value v, int64_t off, int64_t size, Mode mode);
  /// A new constant of `shape` holding elements first..first+count of `c` (row-major).
  Value subConst(ovl::ConstantOp c, ArrayRef<int64_t> shape, int64_t first, int64_t count);
  Value sliceConst(ovl::ConstantOp c, int64_t off, int64_t size);
  Value rowsConst(ovl::ConstantOp c, int64_t off, int64_t size);
  /// The piece of `root` (a split matmul or conv `op`) that holds columns off..off+size, as a
  /// view; a refusal (null) when a piece overlaps them only in part; nullopt when none does.
  std::optional<Value> existingPiece(Root &root, Operation *op, StringRef what, int64_t off,
                                     int64_t size);
  Value matmulPiece(ovl::MatmulOp mm, int64_t off, int64_t size);
  Value convPiece(ovl::Conv4Op conv, int64_t off, int64_t size);
  /// Erases the ovl ops nothing reads (the old scans, convs, matmuls and their chains); with
  /// `release_`, the data of the constants it erases too (the split matmuls' whole weights).
  void eraseDead(bool keepMatmuls) {
    Block &body = fn_.getBody().front();
    read_ = {};
    for (bool changed = true; changed;) {
      changed = false;
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
        if (op.getDialect() && op.getDialect()->getNamespace() == "ovl" && op.use_empty() &&
            !(keepMatmuls && mats_.count(&op))) {
          if (auto c = dyn_cast<ovl::ConstantOp>(op); c && release_)
            mamba2::quant::releaseData(fn_, c.getValue(), c);
          op.erase();
          changed = true;
        }
    }
  }
  /// The state argument of a new piece, recorded for the final signature.
  BlockArgument newStateArg(Type t, Location loc) {
    return fn_.getBody().front().addArgument(t, loc);
  }

  func::FuncOp fn_;
  OpBuilder b_;
  bool release_;
  int group_ = -1;
  std::map<std::tuple<void *, int64_t, int64_t, int>, Value> cache_;
  struct Read {
    Operation *op = nullptr;
    std::vector<int8_t> i8;
    std::vector<int32_t> i32;
  } read_;
  llvm::DenseMap<Operation *, bool> reach_;
  llvm::MapVector<Operation *, Root> mats_, convs_, ssms_;
};

bool Splitter::reaches(Value v) {
  Operation *d = v.getDefiningOp();
  if (!d)
    return false;
  if (isa<ovl::Conv4Op>(d))
    return v == d->getResult(0);
  auto it = reach_.find(d);
  if (it != reach_.end())
    return it->second;
  bool r = false;
  if (isa<ovl::SliceOp, ovl::ShiftOp, ovl::SextOp, ovl::ShrOp, ovl::PwlOp, ovl::RsqrtOp,
          ovl::RequantOp, ovl::MulOp, ovl::AddOp>(d))
    for (Value o : d->getOperands())
      r = r || reaches(o);
  reach_[d] = r;
  return r;
}

Value Splitter::subConst(ovl::ConstantOp c, ArrayRef<int64_t> shape, int64_t first, int64_t count) {
  // One read of the constant serves its pieces (a matmul's weight is cut once per group).
  auto nt = RankedTensorType::get(shape, c.getType().getElementType());
  if (c.getOperation() != read_.op) {
    read_ = {c.getOperation(), {}, {}};
    const bool i8 = c.getType().getElementType().isInteger(8);
    auto v8 = i8 ? mamba2::quant::readI8(c.getValue()) : std::nullopt;
    auto v32 = i8 ? std::nullopt : mamba2::quant::readI32(c.getValue());
    if (!v8 && !v32) {
      read_.op = nullptr;
      return Value();
    }
    read_.i8 = v8 ? std::move(*v8) : std::vector<int8_t>();
    read_.i32 = v32 ? std::move(*v32) : std::vector<int32_t>();
  }
  // A dense_resource blob for a large piece (quant::makeElements), so that the
  // release-weights mechanism can free it like the weights it replaces.
  ElementsAttr attr =
      read_.i32.empty()
          ? mamba2::quant::makeElements(nt, ArrayRef<int8_t>(read_.i8).slice(first, count))
          : mamba2::quant::makeElements(nt, ArrayRef<int32_t>(read_.i32).slice(first, count));
  return b_.create<ovl::ConstantOp>(c.getLoc(), nt, attr, StringAttr()).getOutput();
}

Value Splitter::sliceConst(ovl::ConstantOp c, int64_t off, int64_t size) {
  // A [1][C] or [C] vector: columns off..off+size.
  SmallVector<int64_t> shape(c.getType().getShape());
  shape.back() = size;
  return subConst(c, shape, off, size);
}

Value Splitter::rowsConst(ovl::ConstantOp c, int64_t off, int64_t size) {
  // Rows off..off+size of a [R][...] constant (weights, scales, conv taps, bias).
  SmallVector<int64_t> shape(c.getType().getShape());
  const int64_t per = c.getType().getNumElements() / shape[0];
  shape[0] = size;
  return subConst(c, shape, off * per, size * per);
}

std::optional<Value> Splitter::existingPiece(Root &root, Operation *op, StringRef what, int64_t off,
                                             int64_t size) {
  for (Piece &p : root.pieces) {
    if (off >= p.off && off + size <= p.off + p.size)
      return view(p.op->getResult(0), off - p.off, size);
    if (off < p.off + p.size && p.off < off + size) {
      refuse(op, what.str() + " " + std::to_string(off) + ".." + std::to_string(off + size) +
                     " overlap the split piece " + std::to_string(p.off) + ".." +
                     std::to_string(p.off + p.size));
      return Value();
    }
  }
  return std::nullopt;
}

Value Splitter::matmulPiece(ovl::MatmulOp mm, int64_t off, int64_t size) {
  const int64_t N = cols(mm.getResult());
  if (off == 0 && size == N)
    return mm.getResult();
  Root &root = mats_[mm];
  if (auto hit = existingPiece(root, mm, "columns", off, size))
    return *hit;
  auto wc = mm.getWeight().getDefiningOp<ovl::ConstantOp>();
  auto sc = mm.getScales().getDefiningOp<ovl::ConstantOp>();
  if (!wc || !sc) {
    refuse(mm, "its weights and scales are not constants");
    return Value();
  }
  Value w = rowsConst(wc, off, size), s = rowsConst(sc, off, size);
  if (!w || !s) {
    refuse(mm, "its weights or scales cannot be read");
    return Value();
  }
  auto n = b_.create<ovl::MatmulOp>(mm.getLoc(), act(mm.getResult(), size), mm.getAct(), w, s,
                                    mm.getBitsAttr(), mm.getGroupAttr(), mm.getShiftAttr());
  root.pieces.push_back({off, size, n, group_});
  return n.getResult();
}

Value Splitter::convPiece(ovl::Conv4Op conv, int64_t off, int64_t size) {
  Root &root = convs_[conv];
  if (auto hit = existingPiece(root, conv, "channels", off, size))
    return *hit;
  auto st = dyn_cast<BlockArgument>(conv.getState());
  if (!st || st.getOwner()->getParentOp() != fn_.getOperation() || !st.hasOneUse()) {
    refuse(conv, "its state is not a function argument used by this op only");
    return Value();
  }
  root.stateArg = st;
  root.newState = conv.getNewState();
  auto wc = conv.getWeight().getDefiningOp<ovl::ConstantOp>();
  auto bc = conv.getBias().getDefiningOp<ovl::ConstantOp>();
  if (!wc || !bc) {
    refuse(conv, "its weight and bias are not constants");
    return Value();
  }
  Value x = sliceOf(conv.getX(), off, size, Mode::Always);
  Value w = rowsConst(wc, off, size), bias = rowsConst(bc, off, size);
  if (!x || !w || !bias)
    return Value();
  auto stT = RankedTensorType::get({size, 3}, b_.getI8Type());
  BlockArgument s = newStateArg(stT, st.getLoc());
  auto n = b_.create<ovl::Conv4Op>(conv.getLoc(), act(conv.getY(), size), stT, x, w, bias, s);
  root.pieces.push_back({off, size, n, group_, s, n.getNewState()});
  return n.getY();
}

Value Splitter::sliceOf(Value v, int64_t off, int64_t size, Mode mode) {
  if (refusal)
    return Value();
  auto key = std::make_tuple(v.getAsOpaquePointer(), off, size, int(mode));
  auto hit = cache_.find(key);
  if (hit != cache_.end())
    return hit->second;
  Value r;
  Operation *d = v.getDefiningOp();
  if (!d || (mode == Mode::Reach && !reaches(v))) {
    r = view(v, off, size);
  } else if (auto s = dyn_cast<ovl::SliceOp>(d)) {
    r = sliceOf(s.getX(), int64_t(s.getOffset()) + off, size, mode);
  } else if (isa<ovl::ShiftOp, ovl::SextOp, ovl::ShrOp, ovl::PwlOp, ovl::RsqrtOp, ovl::RequantOp,
                 ovl::MulOp, ovl::AddOp>(d)) {
    SmallVector<Value> ops(d->getOperands());
    ops[0] = sliceOf(ops[0], off, size, mode);
    if (!ops[0])
      return Value();
    if (isa<ovl::RequantOp>(d)) {
      for (int i : {1, 2})
        if (cast<RankedTensorType>(ops[i].getType()).getDimSize(0) != 1) {
          auto c = ops[i].getDefiningOp<ovl::ConstantOp>();
          if (!c) {
            refuse(d, "its per-channel multipliers are not constants");
            return Value();
          }
          ops[i] = sliceConst(c, off, size);
        }
    } else if (isa<ovl::MulOp, ovl::AddOp>(d)) {
      const int64_t C = cols(v), Cy = cols(ops[1]);
      if (Cy != 1) {
        const int64_t per = C / Cy;
        if (off % per || size % per) {
          refuse(d, "columns " + std::to_string(off) + ".." + std::to_string(off + size) +
                        " cut a broadcast group of " + std::to_string(per));
          return Value();
        }
        auto yt = cast<RankedTensorType>(ops[1].getType());
        auto c = ops[1].getDefiningOp<ovl::ConstantOp>();
        if (c && yt.getDimSize(0) == 1)
          ops[1] = sliceConst(c, off / per, size / per);
        else
          ops[1] = sliceOf(ops[1], off / per, size / per, mode);
      }
    }
    for (Value o : ops)
      if (!o)
        return Value();
    Operation *n = b_.clone(*d);
    n->setOperands(ops);
    n->getResult(0).setType(act(v, size));
    r = n->getResult(0);
  } else if (auto conv = dyn_cast<ovl::Conv4Op>(d)) {
    r = convPiece(conv, off, size);
  } else if (auto mm = dyn_cast<ovl::MatmulOp>(d); mm && mode == Mode::Always) {
    r = matmulPiece(mm, off, size);
  } else {
    r = view(v, off, size);
  }
  if (r)
    cache_[key] = r;
  return r;
}

void Splitter::split(ovl::SsmOp ssm, int64_t hg) {
  auto stT = cast<RankedTensorType>(ssm.getState().getType());
  const int64_t H = stT.getDimSize(0), P = stT.getDimSize(1), N = stT.getDimSize(2);
  const int64_t G = int64_t(ssm.getNgroups()), hpb = H / G; // heads per B/C group
  if (hg <= 0 || H % hg) {
    refuse(ssm, std::to_string(hg) + " heads per group do not divide the " + std::to_string(H) +
                    " heads");
    return;
  }
  if (hg == H)
    return; // one group: nothing to split
  if (hpb % hg && hg % hpb) {
    refuse(ssm, "a group of " + std::to_string(hg) + " heads straddles the B/C groups of " +
                    std::to_string(hpb) + " heads");
    return;
  }
  auto st = dyn_cast<BlockArgument>(ssm.getState());
  if (!st || st.getOwner()->getParentOp() != fn_.getOperation() || !st.hasOneUse()) {
    refuse(ssm, "its state is not a function argument used by this op only");
    return;
  }
  // The scan's element-wise consumers that can follow per group: each the only user of the
  // previous value, with the other operand a constant, computed from the conv, or already
  // available before the scan.
  std::vector<Operation *> chain;
  for (Value cur = ssm.getY(); cur.hasOneUse();) {
    Operation *u = *cur.getUsers().begin();
    if (!isa<ovl::MulOp, ovl::AddOp, ovl::ShiftOp>(u) || u->getOperand(0) != cur)
      break;
    if (u->getNumOperands() == 2) {
      Value y = u->getOperand(1);
      const int64_t C = cols(cur), Cy = cols(y);
      if (Cy < 1 || C % Cy || (Cy != 1 && (hg * P) % (C / Cy)) || !leavesBefore(y, ssm))
        break;
    }
    chain.push_back(u);
    cur = u->getResult(0);
  }
  b_.setInsertionPoint(ssm);
  const int64_t groups = H / hg;
  auto bcRange = [&](int64_t g) {
    const int64_t b0 = (g * hg) / hpb, nb = std::max<int64_t>(1, hg / hpb);
    return std::make_pair(b0 * N, nb * N);
  };
  // B and C first (shared by the groups), then each group: x, dt * x, the scan, the D skip.
  std::vector<Value> Bs, Cs;
  group_ = -1;
  for (int64_t g = 0; g < groups; ++g) {
    auto [o, n] = bcRange(g);
    Bs.push_back(sliceOf(ssm.getB(), o, n, Mode::Reach));
    Cs.push_back(sliceOf(ssm.getC(), o, n, Mode::Reach));
  }
  std::vector<Value> ys, ends;
  // The scan's element-wise consumers for group g (the D skip), after its scan.
  auto follow = [&](int64_t g) {
    Value cur = ys[size_t(g)];
    for (Operation *u : chain) {
      SmallVector<Value> ops = {cur};
      if (u->getNumOperands() == 2) {
        Value y = u->getOperand(1);
        const int64_t C = H * P, Cy = cols(y), per = C / Cy;
        if (Cy == 1)
          ops.push_back(y);
        else if (auto c = y.getDefiningOp<ovl::ConstantOp>();
                 c && cast<RankedTensorType>(y.getType()).getDimSize(0) == 1)
          ops.push_back(sliceConst(c, g * hg * P / per, hg * P / per));
        else
          ops.push_back(sliceOf(y, g * hg * P / per, hg * P / per, Mode::Reach));
        if (!ops.back())
          return false;
      }
      Operation *n = b_.clone(*u);
      n->setOperands(ops);
      n->getResult(0).setType(act(u->getResult(0), hg * P));
      cur = n->getResult(0);
    }
    ends.push_back(cur);
    return true;
  };
  Root &root = ssms_[ssm];
  root.stateArg = st;
  root.newState = ssm.getNewState();
  for (int64_t g = 0; g < groups; ++g) {
    group_ = int(g);
    Value dtx = sliceOf(ssm.getDtx(), g * hg * P, hg * P, Mode::Reach);
    Value decay = sliceOf(ssm.getDecay(), g * hg, hg, Mode::Reach);
    if (refusal || !dtx || !decay || !Bs[g] || !Cs[g])
      return;
    auto sT = RankedTensorType::get({hg, P, N}, stT.getElementType());
    BlockArgument s = newStateArg(sT, st.getLoc());
    auto part =
        b_.create<ovl::SsmOp>(ssm.getLoc(), act(ssm.getY(), hg * P), sT, dtx, decay, Bs[g], Cs[g],
                              s, b_.getI64IntegerAttr(std::max<int64_t>(1, hg / hpb)),
                              ssm.getDecayShiftAttr(), ssm.getInShiftAttr(), ssm.getOutShiftAttr());
    part->setAttr("ovl.head_group", b_.getDenseI64ArrayAttr({g, groups}));
    root.pieces.push_back({g * hg * P, hg * P, part, int(g), s, part.getNewState()});
    ys.push_back(part.getY());
    // The previous group's consumers after this group's inputs: the vector unit, which runs
    // its queue in order, then prepares group g while the SSM unit scans group g - 1.
    if (g > 0 && !follow(g - 1))
      return;
  }
  if (!follow(groups - 1))
    return;
  group_ = -1;
  Value last = chain.empty() ? Value(ssm.getY()) : chain.back()->getResult(0);
  auto cat = b_.create<ovl::ConcatOp>(ssm.getLoc(), last.getType(), ends);
  last.replaceAllUsesWith(cat.getResult());
}

void Splitter::finish() {
  if (refusal)
    return;
  Block &body = fn_.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  // A split conv: the channels nobody asked for get pieces too (their state must still move);
  // a reader of the whole output is refused.
  for (auto &[op, root] : convs_) {
    auto conv = cast<ovl::Conv4Op>(op);
    const int64_t C = cols(conv.getY());
    std::sort(root.pieces.begin(), root.pieces.end(),
              [](const Piece &a, const Piece &b) { return a.off < b.off; });
    std::vector<std::pair<int64_t, int64_t>> gaps;
    int64_t at = 0;
    for (Piece &p : root.pieces) {
      if (p.off > at)
        gaps.push_back({at, p.off - at});
      at = p.off + p.size;
    }
    if (at < C)
      gaps.push_back({at, C - at});
    b_.setInsertionPoint(conv);
    for (auto [o, n] : gaps)
      if (!convPiece(conv, o, n))
        return;
    std::sort(root.pieces.begin(), root.pieces.end(),
              [](const Piece &a, const Piece &b) { return a.off < b.off; });
  }
  // Return and arguments: each split state in the place of the old one, pieces in column order.
  for (auto *roots : {&convs_, &ssms_})
    for (auto &[op, root] : *roots)
      std::sort(root.pieces.begin(), root.pieces.end(),
                [](const Piece &a, const Piece &b) { return a.off < b.off; });
  llvm::DenseMap<Value, const Root *> byNewState;
  llvm::DenseMap<Value, const Root *> byArg;
  for (auto *roots : {&convs_, &ssms_})
    for (auto &[op, root] : *roots) {
      byNewState[root.newState] = &root;
      byArg[root.stateArg] = &root;
    }
  SmallVector<Value> results;
  for (Value v : ret.getOperands()) {
    auto it = byNewState.find(v);
    if (it == byNewState.end()) {
      results.push_back(v);
      continue;
    }
    for (const Piece &p : it->second->pieces)
      results.push_back(p.newState);
  }
  b_.setInsertionPoint(ret);
  b_.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  // The old scans and convs, and what only they read, die here (the split matmuls stay until
  // their remaining slices are rebuilt).
  eraseDead(true);
  // Uses of a split matmul that are left (dt, z): slices become their own pieces, placed before
  // their first reader.
  for (auto &[op, root] : mats_) {
    auto mm = cast<ovl::MatmulOp>(op);
    SmallVector<ovl::SliceOp> left;
    for (Operation *u : mm.getResult().getUsers())
      if (auto s = dyn_cast<ovl::SliceOp>(u))
        left.push_back(s);
    for (ovl::SliceOp s : left) {
      if (s.getResult().use_empty())
        continue;
      Operation *first = nullptr;
      for (Operation *u : s.getResult().getUsers())
        if (!first || u->isBeforeInBlock(first))
          first = u;
      b_.setInsertionPoint(first);
      Value r = matmulPiece(mm, int64_t(s.getOffset()), int64_t(s.getSize()));
      if (!r)
        return;
      s.getResult().replaceAllUsesWith(r);
    }
    // The pieces before the first group's (dt, B, C) as one matmul where their columns adjoin.
    Operation *firstGroup = nullptr;
    for (Piece &p : root.pieces)
      if (p.group >= 0 && (!firstGroup || p.op->isBeforeInBlock(firstGroup)))
        firstGroup = p.op;
    std::vector<Piece *> early;
    for (Piece &p : root.pieces)
      if (p.group < 0 && firstGroup && p.op->isBeforeInBlock(firstGroup))
        early.push_back(&p);
    std::sort(early.begin(), early.end(), [](Piece *a, Piece *b) { return a->off < b->off; });
    for (size_t i = 0; i < early.size();) {
      size_t j = i + 1;
      while (j < early.size() && early[j]->off == early[j - 1]->off + early[j - 1]->size)
        ++j;
      if (j - i > 1) {
        Operation *at = early[i]->op;
        for (size_t k = i; k < j; ++k)
          if (early[k]->op->isBeforeInBlock(at))
            at = early[k]->op;
        b_.setInsertionPoint(at);
        const int64_t off = early[i]->off, size = early[j - 1]->off + early[j - 1]->size - off;
        auto wc = mm.getWeight().getDefiningOp<ovl::ConstantOp>();
        auto sc = mm.getScales().getDefiningOp<ovl::ConstantOp>();
        auto hull = b_.create<ovl::MatmulOp>(
            mm.getLoc(), act(mm.getResult(), size), mm.getAct(), rowsConst(wc, off, size),
            rowsConst(sc, off, size), mm.getBitsAttr(), mm.getGroupAttr(), mm.getShiftAttr());
        for (size_t k = i; k < j; ++k) {
          b_.setInsertionPointAfter(hull);
          Value v = view(hull.getResult(), early[k]->off - off, early[k]->size);
          early[k]->op->getResult(0).replaceAllUsesWith(v);
        }
      }
      i = j;
    }
  }
  eraseDead(false);
  for (auto *roots : {&convs_, &ssms_})
    for (auto &[op, root] : *roots)
      if (!root.stateArg.use_empty()) {
        refuse(op, "its output is read where the split cannot follow");
        return;
      }
  // The new argument order: the old arguments with each split state replaced by its pieces.
  SmallVector<BlockArgument> order;
  const unsigned oldCount = body.getNumArguments();
  for (BlockArgument a : body.getArguments()) {
    if (byArg.count(a)) {
      for (const Piece &p : byArg[a]->pieces)
        order.push_back(p.state);
      continue;
    }
    bool isPiece = false;
    for (auto *roots : {&convs_, &ssms_})
      for (auto &[op, root] : *roots)
        for (const Piece &p : root.pieces)
          isPiece = isPiece || p.state == a;
    if (!isPiece)
      order.push_back(a);
  }
  for (BlockArgument a : order) {
    BlockArgument n = body.addArgument(a.getType(), a.getLoc());
    a.replaceAllUsesWith(n);
  }
  body.eraseArguments(0, oldCount);
  SmallVector<Type> ins(body.getArgumentTypes());
  SmallVector<Type> outs(body.getTerminator()->getOperandTypes());
  fn_.setFunctionType(FunctionType::get(fn_.getContext(), ins, outs));
}

struct SplitHeadGroupsPass : mamba2::impl::OvlSplitHeadGroupsBase<SplitHeadGroupsPass> {
  using OvlSplitHeadGroupsBase::OvlSplitHeadGroupsBase;
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.getBody().empty())
      return;
    if (!entry.empty() && entry != "decode") {
      fn.emitError("ovl-split-head-groups: entry must be empty (every function) or decode, not '")
          << std::string(entry) << "'";
      return signalPassFailure();
    }
    if (!entry.empty()) { // only the function of that entry (ovl-decode-function's clone)
      auto e = fn->getAttrOfType<StringAttr>(ovl::kEntryAttr);
      if (!e || e.getValue() != entry)
        return;
    }
    if (fn.getBody().getBlocks().size() != 1) {
      fn.emitError("ovl-split-head-groups: the function must have one block");
      return signalPassFailure();
    }
    const mamba2::target::Board *board = nullptr;
    if (headsPerGroup == 0) {
      board = mamba2::target::findBoard(std::string(target));
      if (!board) {
        fn.emitError("ovl-split-head-groups: unknown target '") << std::string(target) << "'";
        return signalPassFailure();
      }
    } else if (headsPerGroup < 0) {
      fn.emitError("ovl-split-head-groups: heads-per-group must be positive (0: chosen by the "
                   "cost model), not ")
          << int64_t(headsPerGroup);
      return signalPassFailure();
    }
    SmallVector<ovl::SsmOp> ssms;
    fn.walk([&](ovl::SsmOp s) { ssms.push_back(s); });
    if (ssms.empty())
      return;
    // A decode function shares @main's constants (ovl-decode-function): none is released.
    Splitter sp(fn, releaseWeights && entry.empty());
    for (ovl::SsmOp s : ssms) {
      int64_t hg = headsPerGroup;
      auto st = cast<RankedTensorType>(s.getState().getType());
      const int64_t H = st.getDimSize(0), P = st.getDimSize(1), N = st.getDimSize(2);
      if (hg == 0) {
        // K and the weight width of in_proj: the first matmul's (the layers are alike).
        mamba2::HeadGroupShape shape{H, P, N, int64_t(s.getNgroups()), 0, 8};
        for (Operation &op : fn.getBody().front())
          if (auto mm = dyn_cast<ovl::MatmulOp>(op)) {
            shape.weightBits = int64_t(mm.getBits());
            shape.dModel = cast<RankedTensorType>(mm.getAct().getType()).getDimSize(1);
            break;
          }
        hg = mamba2::chooseHeadsPerGroup(*board, shape);
      }
      sp.split(s, hg);
      if (sp.refusal)
        break;
    }
    sp.finish();
    if (sp.refusal) {
      sp.refusal->op->emitError("ovl-split-head-groups: ") << sp.refusal->why;
      return signalPassFailure();
    }
  }
};

struct DecodeFunctionPass : mamba2::impl::OvlDecodeFunctionBase<DecodeFunctionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    Operation *at = module;
    if (!mamba2::cloneDecodeFunction(module, error, &at)) {
      at->emitError("ovl-decode-function: ") << error;
      return signalPassFailure();
    }
  }
};

} // namespace

func::FuncOp mamba2::cloneDecodeFunction(ModuleOp module, std::string &error, Operation **at) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main) {
    error = "the module has no @main to clone";
    return nullptr;
  }
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn->hasAttr(ovl::kEntryAttr) || fn.getSymName() == "decode") {
      error = "the module has a decode function already (@" + fn.getSymName().str() + ")";
      if (at)
        *at = fn;
      return nullptr;
    }
  // The clone shares @main's constants (their attributes): nothing may release their data.
  func::FuncOp dec = main.clone();
  dec.setSymName("decode");
  dec->setAttr(ovl::kEntryAttr, StringAttr::get(module.getContext(), "decode"));
  module.insert(std::next(Block::iterator(main.getOperation())), dec);
  return dec;
}

bool mamba2::stateFitsUnsplit(const mamba2::target::Board &board, const HeadGroupShape &sh) {
  return double(sh.heads * sh.headDim * sh.dState * 4) <=
         kStateSpadShare * double(board.spadBytes());
}

double mamba2::headGroupCost(const mamba2::target::Board &board, const HeadGroupShape &sh,
                             int64_t hg) {
  // A decode row of one layer. The load unit streams the layer's weights (in_proj's 2HP + 2GN +
  // H rows, out_proj's K rows of HP; each row with its 4-byte scale) and its states, plus each
  // group's own small transfers, each a stripe on one port at most. The chain: what runs
  // around the scans in sequence (the weights other than x's), then the first group's x rows
  // (the larger of their stream and the matrix unit's passes), the scans overlapping the next
  // group's x rows, the last scan, and per group a DRAM latency and the issue of its ops.
  const double bw = board.dramBytesPerCycle();
  const int64_t H = sh.heads, P = sh.headDim, N = sh.dState, G = sh.bcGroups, K = sh.dModel;
  const int64_t groups = H / hg;
  const double rowBytes = double(K) * double(sh.weightBits) / 8.0 + 4.0;
  const double inRows = double(2 * H * P + 2 * G * N + H);
  const double weights =
      (inRows * rowBytes + double(K) * (double(H * P) * sh.weightBits / 8.0 + 4)) / bw;
  const double states = double(H * P * N * 4 + (H * P + 2 * G * N) * 3) / bw;
  const double portBytes =
      std::min(board.axiBits / 8.0, board.portAchievableGBps * 1e3 / board.clockMhz);
  const double groupDma = kGroupTransfers * double(board.stripeBytes) / portBytes;
  const double stream = weights + states + double(groups) * groupDma;

  const double rows = double(hg * P);
  const double load = rows * rowBytes / bw;
  const double passes = std::ceil(rows / board.matN) * std::ceil(double(K) / board.matK);
  const double mm = std::max(load, passes);
  const double scan = double(hg * P) * std::ceil(double(N) / board.ssmLanes);
  const double fixed = board.dramLatencyNs * board.clockMhz / 1e3 + 64.0;
  const double others = weights - double(H * P) * rowBytes / bw;
  const double chain =
      others + mm + double(groups - 1) * std::max(mm, scan) + scan + double(groups) * fixed;
  return std::max(stream, chain);
}

int64_t mamba2::chooseHeadsPerGroup(const mamba2::target::Board &board, const HeadGroupShape &sh) {
  const int64_t H = sh.heads, G = std::max<int64_t>(1, sh.bcGroups), hpb = H / G;
  // Group sizes the split takes (divisors of H that do not straddle B/C groups), at most
  // kMaxAutoGroups a layer; of those, the ones whose state slice fits its share of the
  // scratchpad (when none does, the smallest slices), then the cheapest.
  std::vector<int64_t> sizes;
  for (int64_t c = 1; c <= H; ++c)
    if (H % c == 0 && (hpb % c == 0 || c % hpb == 0) && H / c <= kMaxAutoGroups)
      sizes.push_back(c);
  if (sizes.empty())
    return H;
  const double share = kStateSpadShare * double(board.spadBytes());
  auto stateBytes = [&](int64_t c) { return double(c * sh.headDim * sh.dState * 4); };
  std::vector<int64_t> fits;
  for (int64_t c : sizes)
    if (stateBytes(c) <= share)
      fits.push_back(c);
  if (fits.empty())
    return sizes.front();
  int64_t best = fits.front();
  double bestCost = headGroupCost(board, sh, best);
  for (int64_t c : fits) {
    const double cost = headGroupCost(board, sh, c);
    if (cost < bestCost || (cost == bestCost && c > best)) {
      best = c;
      bestCost = cost;
    }
  }
  return best;
}
