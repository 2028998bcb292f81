// The emitter's fusion and tiling decisions (Plan.h): matched, recorded, read back and checked.
#include "mamba2/CodeGen/Plan.h"

#include "mamba2/isa/Encoding.h"
#include "mamba2/target/MatrixBanks.h"
#include "mamba2/target/Stripes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <limits>
#include <map>

namespace mamba2::codegen {

using namespace mlir;
namespace f = isa::field;

namespace {
constexpr uint64_t kAlign = 64;
uint64_t alignUp(uint64_t v, uint64_t a = kAlign) { return (v + a - 1) / a * a; }
constexpr uint64_t kMaxLen = (uint64_t(1) << f::uop::len.width) - 1;
constexpr uint64_t kMaxPitch = (uint64_t(1) << f::umm::wpitch.width) - 1;

std::string where(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << op->getName() << "' at ";
  op->getLoc().print(os);
  return os.str();
}
} // namespace

std::string formatPlanError(const PlanError &e) {
  return e.op ? where(e.op) + ": " + e.why : e.why;
}

// ---- fusion ----

llvm::StringRef fuseKindName(FuseKind k) {
  switch (k) {
  case FuseKind::SsmStep:
    return "ssmstep";
  case FuseKind::Logits:
    return "logits";
  case FuseKind::MulSumsq:
    return "mulsumsq";
  case FuseKind::Conv4Pwl:
    return "conv4pwl";
  case FuseKind::PwlMulPwl:
    return "pwlmulpwl";
  case FuseKind::AddSumsq:
    return "addsumsq";
  }
  return "";
}

std::optional<FuseKind> fuseKindByName(llvm::StringRef name) {
  for (FuseKind k : {FuseKind::SsmStep, FuseKind::Logits, FuseKind::MulSumsq, FuseKind::Conv4Pwl,
                     FuseKind::PwlMulPwl, FuseKind::AddSumsq})
    if (fuseKindName(k) == name)
      return k;
  return std::nullopt;
}

namespace {

/// ssmstep: y goes over dtx (a compute result the scan is the only reader of, of y's type),
/// and C sits at one fixed offset 0..32767 after B in every row: C a slice of B's value at or
/// after B's columns, or C's buffer placed right after B's (each a compute result of its own).
std::optional<FuseGroup> matchSsmStep(ovl::SsmOp o, std::string &why) {
  FuseGroup g;
  g.kind = FuseKind::SsmStep;
  g.anchor = o;
  Value dtx = o.getDtx();
  Operation *d = dtx.getDefiningOp();
  if (!d) {
    why = "its dtx is a function argument; y is written over a result of a compute op";
    return std::nullopt;
  }
  if (llvm::isa<ovl::ConstantOp, ovl::SliceOp>(d)) {
    why = std::string("its dtx is ") + (llvm::isa<ovl::ConstantOp>(d) ? "a constant" : "a slice") +
          "; y is written over a buffer of its own";
    return std::nullopt;
  }
  if (!dtx.hasOneUse()) {
    why = "its dtx has " + std::to_string(std::distance(dtx.use_begin(), dtx.use_end())) +
          " uses; y is written over dtx only when the scan is its only reader";
    return std::nullopt;
  }
  if (dtx.getType() != o.getY().getType()) {
    why = "its dtx and y differ in type; y is written over dtx";
    return std::nullopt;
  }
  g.members.push_back(d);
  Value B = o.getB(), C = o.getC();
  if (B.getType() != C.getType()) {
    why = "B and C differ in type; ssmstep reads them with one row stride";
    return std::nullopt;
  }
  auto sb = B.getDefiningOp<ovl::SliceOp>(), sc = C.getDefiningOp<ovl::SliceOp>();
  if (sb && sc && sb.getX() == sc.getX()) {
    const int64_t off = int64_t(sc.getOffset()) - int64_t(sb.getOffset());
    if (off < 0 || off > int64_t(std::numeric_limits<int16_t>::max())) {
      why = "C is " + std::to_string(off) +
            " bytes from B in their value; ssmstep reads C 0..32767 bytes after B";
      return std::nullopt;
    }
    g.members.push_back(sb);
    g.members.push_back(sc);
    return g;
  }
  for (auto [v, name] : {std::pair<Value, const char *>{B, "B"}, {C, "C"}}) {
    Operation *p = v.getDefiningOp();
    if (!p || llvm::isa<ovl::ConstantOp, ovl::SliceOp>(p)) {
      why = std::string(name) + " is " +
            (!p                              ? "a function argument"
             : llvm::isa<ovl::ConstantOp>(p) ? "a constant"
                                             : "a slice of a value C is not a slice of") +
            "; ssmstep needs C at a fixed offset after B (slices of one value, or buffers of "
            "their own placed one after the other)";
      return std::nullopt;
    }
    if (!llvm::is_contained(g.members, p))
      g.members.push_back(p);
  }
  return g;
}

/// The lm_head whose output only becomes the logits (result 0 of the return), through mul /
/// add by a one-row constant ([1][N] per channel or [1][1]), shifts, and last a slice at offset
/// 0 (a padded vocabulary).
std::optional<FuseGroup> matchLogits(ovl::MatmulOp o, std::string &why) {
  FuseGroup g;
  g.kind = FuseKind::Logits;
  g.anchor = o;
  const int64_t N = cast<RankedTensorType>(o.getType()).getDimSize(1);
  Value v = o.getResult();
  bool sliced = false;
  while (true) {
    if (!v.hasOneUse()) {
      why = where(v.getDefiningOp()) + " has " +
            std::to_string(std::distance(v.use_begin(), v.use_end())) +
            " uses; the streamed logits are read by the next op of the chain only";
      return std::nullopt;
    }
    OpOperand &use = *v.getUses().begin();
    Operation *user = use.getOwner();
    if (llvm::isa<func::ReturnOp>(user)) {
      if (use.getOperandNumber() == 0)
        return g;
      why = "its chain ends in result " + std::to_string(use.getOperandNumber()) +
            " of the function, not the logits (result 0)";
      return std::nullopt;
    }
    if (sliced) {
      why = where(user) + " follows the slice; the slice is the chain's last op";
      return std::nullopt;
    }
    if (auto sl = llvm::dyn_cast<ovl::SliceOp>(user)) {
      if (sl.getOffset() != 0) {
        why = where(user) + " slices at offset " + std::to_string(sl.getOffset()) +
              ", not 0 (only a padded vocabulary's end is cut)";
        return std::nullopt;
      }
      sliced = true;
    } else if (llvm::isa<ovl::MulOp, ovl::AddOp>(user)) {
      Value x = user->getOperand(0), y = user->getOperand(1);
      auto yt = cast<RankedTensorType>(y.getType());
      if (x != v || !y.getDefiningOp<ovl::ConstantOp>() || yt.getDimSize(0) != 1 ||
          (yt.getDimSize(1) != N && yt.getDimSize(1) != 1)) {
        why = where(user) +
              " is not the tile's value times / plus a one-row constant ([1][N] or [1][1])";
        return std::nullopt;
      }
    } else if (!llvm::isa<ovl::ShiftOp>(user)) {
      why = where(user) + " is not a mul / add by a constant, a shift or a slice";
      return std::nullopt;
    }
    g.members.push_back(user);
    v = user->getResult(0);
  }
}

/// The op before `op` in its block, constants skipped.
Operation *prevComputeOp(Operation *op) {
  Operation *p = op->getPrevNode();
  while (p && llvm::isa<ovl::ConstantOp>(p))
    p = p->getPrevNode();
  return p;
}

/// mulsumsq / addsumsq: the sumsq's operand is the result of an `OpT` (ovl.mul, ovl.add) of
/// two [rows][C] values (the second per element, or one row per channel: not a per-row /
/// per-head broadcast, which the run cannot step), and that op comes right before the sumsq
/// (only constants between), so nothing reads its result, or writes over its operands, before
/// the fused run at the sumsq writes it. For addsumsq the residual add and the next norm's sum
/// of squares; the sum has other readers (the norm's scaling, the next residual add).
template <typename OpT>
std::optional<FuseGroup> matchElementwiseSumsq(ovl::SumsqOp o, FuseKind kind, std::string &why) {
  const bool add = kind == FuseKind::AddSumsq;
  auto e = o.getX().getDefiningOp<OpT>();
  if (!e) {
    why = std::string("its operand is not the result of an ") + (add ? "ovl.add" : "ovl.mul");
    return std::nullopt;
  }
  auto xt = cast<RankedTensorType>(e.getX().getType());
  auto yt = cast<RankedTensorType>(e.getY().getType());
  if (yt.getDimSize(1) != xt.getDimSize(1) ||
      (yt.getDimSize(0) != 1 && yt.getDimSize(0) != xt.getDimSize(0))) {
    why = where(e) + " broadcasts its second operand per row or per head; " +
          (add ? "addsumsq adds element by element ([rows][C] and [rows][C] or [1][C])"
               : "mulsumsq multiplies element by element ([rows][C] by [rows][C] or [1][C])");
    return std::nullopt;
  }
  if (prevComputeOp(o) != e.getOperation()) {
    why = where(e) + " is not the op right before it; " +
          (add ? "addsumsq runs the add at the sumsq" : "mulsumsq runs the product at the sumsq");
    return std::nullopt;
  }
  FuseGroup g;
  g.kind = kind;
  g.anchor = o;
  g.members.push_back(e);
  return g;
}

/// conv4pwl: the pwl's operand is the y of an ovl.conv4 (its only reader), or the product of
/// that y (the mul its only reader) and a [1][C] constant (the pwl the product's only reader);
/// the conv4, the mul and the pwl one after the other (constants between): the conv's state is
/// updated, and stored back, at the pwl.
std::optional<FuseGroup> matchConv4Pwl(ovl::PwlOp o, std::string &why) {
  FuseGroup g;
  g.kind = FuseKind::Conv4Pwl;
  g.anchor = o;
  Value v = o.getX();
  auto m = v.getDefiningOp<ovl::MulOp>();
  if (m) {
    auto yt = cast<RankedTensorType>(m.getY().getType());
    if (!v.hasOneUse() || !m.getY().getDefiningOp<ovl::ConstantOp>() || yt.getDimSize(0) != 1 ||
        yt.getDimSize(1) != cast<RankedTensorType>(m.getX().getType()).getDimSize(1)) {
      why = where(m) +
            " is not the conv output times a [1][C] constant read by the pwl only; conv4pwl "
            "multiplies each channel by its own constant";
      return std::nullopt;
    }
    if (prevComputeOp(o) != m.getOperation()) {
      why = where(m) + " is not the op right before it; conv4pwl runs the chain at the pwl";
      return std::nullopt;
    }
    v = m.getX();
  }
  auto c = v.getDefiningOp<ovl::Conv4Op>();
  if (!c) {
    why = "its operand is not an ovl.conv4's output (or its product by a [1][C] constant)";
    return std::nullopt;
  }
  if (!c.getY().hasOneUse()) {
    why = where(c) + "'s output has other readers; conv4pwl never writes it";
    return std::nullopt;
  }
  if (prevComputeOp(m ? m.getOperation() : o.getOperation()) != c.getOperation()) {
    why = where(c) + " is not right before " + (m ? "the mul" : "it") +
          "; conv4pwl runs the conv (and stores its state) at the pwl";
    return std::nullopt;
  }
  g.members.push_back(c);
  if (m)
    g.members.push_back(m);
  return g;
}

/// pwlmulpwl: the pwl's operand is the product (read by the pwl only) of an ovl.pwl's result
/// and a [1][C] or [1][1] constant, both tables constants, the first pwl, the mul and the pwl
/// one after the other (constants between): nothing reads the first pwl's result before the
/// fused run at the second writes it. The first pwl must not itself end such a chain or run in
/// a conv4pwl group (an op runs in one group).
std::optional<FuseGroup> matchPwlMulPwl(ovl::PwlOp o, std::string &why) {
  auto m = o.getX().getDefiningOp<ovl::MulOp>();
  auto p = m ? m.getX().getDefiningOp<ovl::PwlOp>() : ovl::PwlOp();
  if (!p) {
    why = "its operand is not the product of an ovl.pwl's result";
    return std::nullopt;
  }
  auto xt = cast<RankedTensorType>(m.getX().getType());
  auto yt = cast<RankedTensorType>(m.getY().getType());
  if (!m.getResult().hasOneUse() || !m.getY().getDefiningOp<ovl::ConstantOp>() ||
      yt.getDimSize(0) != 1 || (yt.getDimSize(1) != 1 && yt.getDimSize(1) != xt.getDimSize(1))) {
    why = where(m) +
          " is not the first pwl's result times a [1][C] or [1][1] constant read by the pwl "
          "only; pwlmulpwl multiplies each channel by its own constant (or one for all)";
    return std::nullopt;
  }
  if (!o.getTable().getDefiningOp<ovl::ConstantOp>() ||
      !p.getTable().getDefiningOp<ovl::ConstantOp>()) {
    why = "a table is not a constant; pwlmulpwl loads both tables and the multipliers as one "
          "buffer";
    return std::nullopt;
  }
  if (prevComputeOp(o) != m.getOperation() || prevComputeOp(m) != p.getOperation()) {
    why = where(p) + ", " + where(m) +
          " and the pwl are not one after the other; pwlmulpwl runs the three at the pwl";
    return std::nullopt;
  }
  std::string inner;
  if (matchPwlMulPwl(p, inner) || matchConv4Pwl(p, inner)) {
    why = where(p) + " already ends a fused chain; an op runs in one group";
    return std::nullopt;
  }
  FuseGroup g;
  g.kind = FuseKind::PwlMulPwl;
  g.anchor = o;
  g.members.push_back(p);
  g.members.push_back(m);
  return g;
}

} // namespace

std::optional<FuseGroup> matchFuseGroup(Operation *anchor, FuseKind kind, std::string &why) {
  if (kind == FuseKind::AddSumsq) {
    if (auto o = llvm::dyn_cast<ovl::SumsqOp>(anchor))
      return matchElementwiseSumsq<ovl::AddOp>(o, FuseKind::AddSumsq, why);
    why = "an addsumsq group is anchored at an ovl.sumsq";
    return std::nullopt;
  }
  if (kind == FuseKind::PwlMulPwl) {
    if (auto o = llvm::dyn_cast<ovl::PwlOp>(anchor))
      return matchPwlMulPwl(o, why);
    why = "a pwlmulpwl group is anchored at an ovl.pwl";
    return std::nullopt;
  }
  if (kind == FuseKind::Conv4Pwl) {
    if (auto o = llvm::dyn_cast<ovl::PwlOp>(anchor))
      return matchConv4Pwl(o, why);
    why = "a conv4pwl group is anchored at an ovl.pwl";
    return std::nullopt;
  }
  if (kind == FuseKind::MulSumsq) {
    if (auto o = llvm::dyn_cast<ovl::SumsqOp>(anchor))
      return matchElementwiseSumsq<ovl::MulOp>(o, FuseKind::MulSumsq, why);
    why = "a mulsumsq group is anchored at an ovl.sumsq";
    return std::nullopt;
  }
  if (kind == FuseKind::SsmStep) {
    if (auto o = llvm::dyn_cast<ovl::SsmOp>(anchor))
      return matchSsmStep(o, why);
    why = "an ssmstep group is anchored at an ovl.ssm";
    return std::nullopt;
  }
  if (auto o = llvm::dyn_cast<ovl::MatmulOp>(anchor))
    return matchLogits(o, why);
  why = "a logits group is anchored at an ovl.matmul";
  return std::nullopt;
}

namespace {
/// The emitter places C's buffer right after B's for an ssmstep group whose B and C are buffers
/// of their own, once per buffer: scans in op order, a pair already placed serves again, but a
/// buffer already placed with another partner (or in the other role) cannot move.
struct Placements {
  llvm::DenseMap<Operation *, std::pair<Operation *, bool>> at; // op -> (partner, is B)
  /// Why `g`'s B and C cannot be placed (empty: they can, and now are).
  std::string place(const FuseGroup &g) {
    auto o = llvm::dyn_cast<ovl::SsmOp>(g.anchor);
    if (!o)
      return "";
    Operation *b = o.getB().getDefiningOp(), *c = o.getC().getDefiningOp();
    if (!b || !c || b == c || llvm::isa<ovl::SliceOp>(b))
      return ""; // one value, or slices of one value: no placement
    auto ib = at.find(b), ic = at.find(c);
    if (ib != at.end() && ib->second == std::make_pair(c, true))
      return ""; // the same pair, placed by an earlier scan
    if (ib != at.end() || ic != at.end())
      return "its " + std::string(ib != at.end() ? "B" : "C") + " (" +
             where(ib != at.end() ? b : c) + ") is already placed with another scan's " +
             ((ib != at.end() ? ib : ic)->second.second ? "C" : "B") +
             "; C's buffer goes right after B's once";
    at[b] = {c, true};
    at[c] = {b, false};
    return "";
  }
};
} // namespace

std::vector<FuseGroup> findFuseGroups(func::FuncOp fn) {
  std::vector<FuseGroup> groups;
  std::string why;
  Placements placed;
  for (Operation &op : fn.getBody().front()) {
    std::optional<FuseGroup> g;
    if (llvm::isa<ovl::SsmOp>(op))
      g = matchFuseGroup(&op, FuseKind::SsmStep, why);
    else if (llvm::isa<ovl::MatmulOp>(op))
      g = matchFuseGroup(&op, FuseKind::Logits, why);
    else if (llvm::isa<ovl::SumsqOp>(op)) {
      g = matchFuseGroup(&op, FuseKind::MulSumsq, why);
      if (!g)
        g = matchFuseGroup(&op, FuseKind::AddSumsq, why);
    } else if (llvm::isa<ovl::PwlOp>(op)) {
      g = matchFuseGroup(&op, FuseKind::Conv4Pwl, why);
      if (!g)
        g = matchFuseGroup(&op, FuseKind::PwlMulPwl, why);
    }
    if (g && placed.place(*g).empty())
      groups.push_back(std::move(*g));
  }
  return groups;
}

void recordFuseGroups(func::FuncOp fn, const std::vector<FuseGroup> &groups) {
  Builder b(fn.getContext());
  for (Operation &op : fn.getBody().front()) {
    op.removeAttr(kFuseAttr);
    op.removeAttr(kFuseOfAttr);
  }
  std::map<Operation *, std::vector<int64_t>> of;
  for (size_t i = 0; i < groups.size(); ++i) {
    const FuseGroup &g = groups[i];
    g.anchor->setAttr(
        kFuseAttr,
        b.getDictionaryAttr({b.getNamedAttr("group", b.getI64IntegerAttr(int64_t(i))),
                             b.getNamedAttr("kind", b.getStringAttr(fuseKindName(g.kind)))}));
    for (Operation *m : g.members)
      of[m].push_back(int64_t(i));
  }
  for (auto &[op, ids] : of)
    op->setAttr(kFuseOfAttr, b.getDenseI64ArrayAttr(ids));
  fn->setAttr(kFuseGroupsAttr, b.getI64IntegerAttr(int64_t(groups.size())));
}

namespace {
void addToPlan(const FuseGroup &g, FusePlan &plan) {
  if (g.kind == FuseKind::SsmStep) {
    plan.ssmStep[g.anchor] = true;
    return;
  }
  if (g.kind == FuseKind::MulSumsq || g.kind == FuseKind::AddSumsq) {
    plan.mulOf[g.anchor] = g.members.front();
    plan.sumsqOf[g.members.front()] = g.anchor;
    return;
  }
  if (g.kind == FuseKind::Conv4Pwl) {
    plan.convOf[g.anchor] = {g.members.front(), g.members.size() > 1 ? g.members[1] : nullptr};
    for (Operation *m : g.members)
      plan.convPwlOf[m] = g.anchor;
    return;
  }
  if (g.kind == FuseKind::PwlMulPwl) {
    plan.pwlPairOf[g.anchor] = {g.members[0], g.members[1]};
    for (Operation *m : g.members)
      plan.pwlMulPwlOf[m] = g.anchor;
    return;
  }
  plan.logits[g.anchor] = g.members;
  for (Operation *m : g.members)
    plan.chainOf[m] = g.anchor;
}
} // namespace

void FusePlan::merge(const FusePlan &o) {
  ssmStep.insert(o.ssmStep.begin(), o.ssmStep.end());
  logits.insert(o.logits.begin(), o.logits.end());
  chainOf.insert(o.chainOf.begin(), o.chainOf.end());
  mulOf.insert(o.mulOf.begin(), o.mulOf.end());
  sumsqOf.insert(o.sumsqOf.begin(), o.sumsqOf.end());
  convOf.insert(o.convOf.begin(), o.convOf.end());
  convPwlOf.insert(o.convPwlOf.begin(), o.convPwlOf.end());
  pwlPairOf.insert(o.pwlPairOf.begin(), o.pwlPairOf.end());
  pwlMulPwlOf.insert(o.pwlMulPwlOf.begin(), o.pwlMulPwlOf.end());
}

std::optional<PlanError> fusePlan(func::FuncOp fn, FusePlan &plan) {
  plan = FusePlan();
  auto count = fn->getAttrOfType<IntegerAttr>(kFuseGroupsAttr);
  if (!count) {
    for (Operation &op : fn.getBody().front())
      if (op.hasAttr(kFuseAttr) || op.hasAttr(kFuseOfAttr))
        return PlanError{&op, "carries an ovl.fuse annotation but the function has no " +
                                  kFuseGroupsAttr.str() + " (the count of its groups)"};
    for (const FuseGroup &g : findFuseGroups(fn))
      addToPlan(g, plan);
    return std::nullopt;
  }
  plan.recorded = true;
  std::map<int64_t, FuseGroup> groups;
  for (Operation &op : fn.getBody().front()) {
    Attribute a = op.getAttr(kFuseAttr);
    if (!a)
      continue;
    auto d = llvm::dyn_cast<DictionaryAttr>(a);
    auto id = d ? d.getAs<IntegerAttr>("group") : IntegerAttr();
    auto kindName = d ? d.getAs<StringAttr>("kind") : StringAttr();
    if (!id || !kindName || d.size() != 2)
      return PlanError{&op,
                       "its ovl.fuse is not {group = N : i64, kind = \"ssmstep\" | "
                       "\"logits\" | \"mulsumsq\" | \"conv4pwl\" | \"pwlmulpwl\" | \"addsumsq\"}"};
    auto kind = fuseKindByName(kindName.getValue());
    if (!kind)
      return PlanError{&op, "unknown fusion kind '" + kindName.getValue().str() +
                                "' (ssmstep, logits, mulsumsq, conv4pwl, pwlmulpwl, addsumsq)"};
    std::string why;
    auto g = matchFuseGroup(&op, *kind, why);
    if (!g)
      return PlanError{&op, "its recorded " + kindName.getValue().str() + " group " +
                                std::to_string(id.getInt()) + " cannot run fused: " + why};
    if (!groups.emplace(id.getInt(), std::move(*g)).second)
      return PlanError{&op,
                       "fusion group " + std::to_string(id.getInt()) + " is anchored at two ops"};
  }
  if (int64_t(groups.size()) != count.getInt())
    return PlanError{fn, kFuseGroupsAttr.str() + " says " + std::to_string(count.getInt()) +
                             " groups, the ops anchor " + std::to_string(groups.size())};
  // Each member carries its groups' ids, and only theirs.
  std::map<Operation *, std::vector<int64_t>> of;
  for (auto &[id, g] : groups)
    for (Operation *m : g.members)
      of[m].push_back(id);
  for (Operation &op : fn.getBody().front()) {
    std::vector<int64_t> want;
    if (auto it = of.find(&op); it != of.end())
      want = it->second;
    std::vector<int64_t> have;
    if (Attribute a = op.getAttr(kFuseOfAttr)) {
      auto arr = llvm::dyn_cast<DenseI64ArrayAttr>(a);
      if (!arr)
        return PlanError{&op, "its ovl.fuse_of is not an array<i64> of group ids"};
      have.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
    }
    std::sort(have.begin(), have.end());
    if (have == want)
      continue;
    for (int64_t id : have)
      if (!llvm::is_contained(want, id)) {
        auto g = groups.find(id);
        return PlanError{&op, g == groups.end()
                                  ? "is marked a member of fusion group " + std::to_string(id) +
                                        ", which no op anchors"
                                  : "is marked a member of fusion group " + std::to_string(id) +
                                        " (" + fuseKindName(g->second.kind).str() + " of " +
                                        where(g->second.anchor) + "), which does not include it"};
      }
    for (int64_t id : want)
      if (!llvm::is_contained(have, id))
        return PlanError{&op, "is a member of fusion group " + std::to_string(id) + " (" +
                                  fuseKindName(groups[id].kind).str() + " of " +
                                  where(groups[id].anchor) + ") but its ovl.fuse_of omits it"};
  }
  // The scans' B / C placements, in op order as the emitter makes them.
  std::vector<std::pair<int64_t, FuseGroup *>> inOrder;
  for (auto &[id, g] : groups)
    inOrder.push_back({id, &g});
  llvm::DenseMap<Operation *, long> index;
  long at = 0;
  for (Operation &op : fn.getBody().front())
    index[&op] = at++;
  std::sort(inOrder.begin(), inOrder.end(), [&](const auto &a, const auto &b) {
    return index[a.second->anchor] < index[b.second->anchor];
  });
  Placements placed;
  for (auto &[id, g] : inOrder)
    if (std::string why = placed.place(*g); !why.empty())
      return PlanError{g->anchor, "its recorded " + fuseKindName(g->kind).str() + " group " +
                                      std::to_string(id) + " cannot run fused: " + why};
  for (auto &[id, g] : groups)
    addToPlan(g, plan);
  return std::nullopt;
}

// ---- tiling ----

namespace {

uint64_t pitchOf(uint64_t kb, const target::Board &board, const EmitOptions &opt) {
  if (!opt.padWeightRows)
    return kb;
  const uint64_t p = target::weightRowPitch(kb, board.spadBanks(), target::Board::spadWordBytes(),
                                            board.matN, board.matK);
  return p <= kMaxPitch ? p : kb;
}

/// Bytes of one tile of `nt` rows in DRAM (aligned), of all the matmul's tiles, and the ports
/// a whole tile's load spreads over (the container deals DRAM to the ports in stripes).
struct TileBytes {
  uint64_t tile = 0, dram = 0, ports = 0;
};
TileBytes tileBytes(const MatTile &m, const target::Board &board) {
  TileBytes t;
  t.tile = alignUp(m.nt * m.rowBytes());
  for (uint64_t n0 = 0; n0 < m.n; n0 += m.nt)
    t.dram += alignUp(std::min(m.nt, m.n - n0) * m.rowBytes());
  const uint64_t stripes = (std::min(t.tile, alignUp(m.n * m.rowBytes())) + board.stripeBytes - 1) /
                           std::max(1u, board.stripeBytes);
  t.ports = std::min<uint64_t>(board.axiPorts, std::max<uint64_t>(stripes, 1));
  return t;
}

DictionaryAttr tileAttr(Builder &b, const MatTile &m, const target::Board &board) {
  const TileBytes t = tileBytes(m, board);
  auto i = [&](const char *name, uint64_t v) {
    return b.getNamedAttr(name, b.getI64IntegerAttr(int64_t(v)));
  };
  return b.getDictionaryAttr({i("rows", m.nt), i("k", m.k), i("row_bytes", m.kb),
                              i("pitch", m.pitch), i("groups", m.g), i("tiles", m.tiles()),
                              i("tile_bytes", t.tile), i("dram_bytes", t.dram),
                              i("ports", t.ports)});
}

DictionaryAttr ringAttr(Builder &b, const RingPlan &r, const target::Board &board) {
  auto i = [&](const char *name, uint64_t v) {
    return b.getNamedAttr(name, b.getI64IntegerAttr(int64_t(v)));
  };
  return b.getDictionaryAttr({b.getNamedAttr("target", b.getStringAttr(board.name)),
                              i("ring_bytes", r.bytes), i("ring_slack", r.slack),
                              i("ring_buffers", r.count), i("ring_max", r.max)});
}

/// The matmul's shape: N, K, bytes per row, groups.
std::optional<PlanError> matShape(ovl::MatmulOp o, MatTile &m) {
  auto wt = cast<RankedTensorType>(o.getWeight().getType());
  m.n = uint64_t(wt.getDimSize(0));
  m.k = uint64_t(wt.getDimSize(1));
  if (m.k > kMaxLen)
    return PlanError{o, "K = " + std::to_string(m.k) + " exceeds the matrix unit's k field"};
  m.kb = o.getBits() == 4 ? m.k / 2 : m.k;
  m.group = uint64_t(o.getGroup());
  m.g = m.group ? m.k / m.group : 0;
  return std::nullopt;
}

} // namespace

std::optional<PlanError> computeTiles(func::FuncOp fn, const target::Board &board,
                                      const EmitOptions &opt, TilePlan &plan) {
  plan = TilePlan();
  RingPlan &r = plan.ring;
  const uint64_t spad = board.spadBytes();
  r.count = std::max(1u, opt.weightBuffers);
  r.max = std::max(r.count, opt.maxWeightBuffers);
  const uint64_t cap = opt.weightBufferBytes ? opt.weightBufferBytes : spad / 8;
  // One spare span per buffer (at most a quarter of it): a tile moves inside it to keep its K
  // steps' words apart from the activations' (the emitter's weightTilePlace).
  r.slack = opt.padWeightRows
                ? std::min<uint64_t>(uint64_t(board.spadBanks()) * target::Board::spadWordBytes(),
                                     alignUp(cap) / 4)
                : 0;
  uint64_t need = 0;
  std::optional<PlanError> err;
  fn.walk([&](ovl::MatmulOp o) {
    if (err)
      return;
    MatTile m;
    if ((err = matShape(o, m)))
      return;
    // Scratchpad banks are word-interleaved: weight rows whose pitch is a multiple of the banks'
    // span (or of a large power of two) put the rows of one K step in the same banks. The rows
    // go `pitch` bytes apart (the micro-op's wpitch), zero bytes between them.
    m.pitch = pitchOf(m.kb, board, opt);
    need = std::max(need, alignUp(m.n * m.rowBytes() + r.slack));
    plan.mats.insert({o, m});
  });
  if (err)
    return err;
  // The ring: one buffer holds the largest tile.
  r.bytes = std::min(alignUp(cap), need);
  for (auto &[op, m] : plan.mats) {
    m.nt = (r.bytes - std::min(r.bytes, r.slack)) / m.rowBytes();
    if (m.nt == 0)
      return PlanError{op, llvm::formatv("one weight row of K = {0} ({1} bytes with its scales) "
                                         "does not fit a {2}-byte weight buffer",
                                         m.k, m.rowBytes(), r.bytes)
                               .str()};
    if (m.nt >= m.n)
      m.nt = m.n;
    else if (m.nt >= board.matN)
      m.nt -= m.nt % board.matN; // whole passes of the matrix unit's columns
  }
  return std::nullopt;
}

void recordTiles(func::FuncOp fn, const target::Board &board, const TilePlan &plan) {
  Builder b(fn.getContext());
  fn->setAttr(kTilingAttr, ringAttr(b, plan.ring, board));
  for (auto &[op, m] : plan.mats)
    op->setAttr(kTileAttr, tileAttr(b, m, board));
}

std::optional<PlanError> tilePlan(func::FuncOp fn, const target::Board &board,
                                  const EmitOptions &opt, TilePlan &plan) {
  auto tiling = fn->getAttrOfType<DictionaryAttr>(kTilingAttr);
  if (!tiling) {
    if (fn->hasAttr(kTilingAttr))
      return PlanError{fn, "its ovl.tiling is not a dictionary"};
    std::optional<PlanError> stray;
    fn.walk([&](ovl::MatmulOp o) {
      if (!stray && o->hasAttr(kTileAttr))
        stray = PlanError{o, "carries an ovl.tile but the function has no ovl.tiling (its ring "
                             "and board)"};
    });
    if (stray)
      return stray;
    return computeTiles(fn, board, opt, plan);
  }
  plan = TilePlan();
  plan.recorded = true;
  auto num = [&](DictionaryAttr d, const char *name, uint64_t &out) {
    auto a = d.getAs<IntegerAttr>(name);
    if (!a || a.getInt() < 0)
      return false;
    out = uint64_t(a.getInt());
    return true;
  };
  auto target = tiling.getAs<StringAttr>("target");
  if (!target)
    return PlanError{fn, "its ovl.tiling names no target"};
  if (target.getValue() != board.name)
    return PlanError{fn, "its tiles were recorded for " + target.getValue().str() +
                             " (ovl-tile target=" + target.getValue().str() +
                             "), not for the target " + board.name};
  RingPlan &r = plan.ring;
  uint64_t count = 0, max = 0;
  if (!num(tiling, "ring_bytes", r.bytes) || !num(tiling, "ring_slack", r.slack) ||
      !num(tiling, "ring_buffers", count) || !num(tiling, "ring_max", max))
    return PlanError{fn, "its ovl.tiling lacks ring_bytes, ring_slack, ring_buffers or ring_max"};
  r.count = unsigned(count);
  r.max = unsigned(max);
  Builder b(fn.getContext());
  if (tiling != ringAttr(b, r, board))
    return PlanError{fn, "its ovl.tiling has fields other than target, ring_bytes, ring_slack, "
                         "ring_buffers, ring_max"};
  if (r.count < 1 || r.max < r.count || r.bytes % kAlign || r.bytes < r.slack)
    return PlanError{fn, llvm::formatv("its weight ring ({0} to {1} buffers of {2} bytes, {3} "
                                       "spare) is not 1 <= buffers <= max, bytes a multiple of "
                                       "{4} and at least the spare",
                                       r.count, r.max, r.bytes, r.slack, kAlign)
                             .str()};
  // Emitter options other than the defaults must ask for the recorded ring (never ignored).
  const EmitOptions defaults;
  if (opt.weightBuffers != defaults.weightBuffers ||
      opt.maxWeightBuffers != defaults.maxWeightBuffers ||
      opt.weightBufferBytes != defaults.weightBufferBytes ||
      opt.padWeightRows != defaults.padWeightRows) {
    TilePlan asked;
    if (!computeTiles(fn, board, opt, asked)) {
      const RingPlan &q = asked.ring;
      if (q.bytes != r.bytes || q.slack != r.slack || q.count != r.count || q.max != r.max)
        return PlanError{fn, llvm::formatv("its tiles were recorded with a ring of {0}..{1} "
                                           "buffers of {2} bytes ({3} spare); the emitter's "
                                           "options ask for {4}..{5} buffers of {6} bytes ({7} "
                                           "spare): record the tiles with those options "
                                           "(ovl-tile) or emit a module without them",
                                           r.count, r.max, r.bytes, r.slack, q.count, q.max,
                                           q.bytes, q.slack)
                                 .str()};
    }
  }
  if (r.bytes * r.count > board.spadBytes())
    return PlanError{fn, llvm::formatv("its weight ring of {0} buffers of {1} bytes exceeds the "
                                       "{2}-byte scratchpad of {3}",
                                       r.count, r.bytes, board.spadBytes(), board.name)
                             .str()};
  std::optional<PlanError> err;
  fn.walk([&](ovl::MatmulOp o) {
    if (err)
      return;
    MatTile m;
    if ((err = matShape(o, m)))
      return;
    auto d = o->getAttrOfType<DictionaryAttr>(kTileAttr);
    if (!d) {
      err = PlanError{o, "has no ovl.tile although its function's tiles are recorded (ovl-tile)"};
      return;
    }
    uint64_t k = 0, kb = 0, g = 0;
    if (!num(d, "rows", m.nt) || !num(d, "pitch", m.pitch) || !num(d, "k", k) ||
        !num(d, "row_bytes", kb) || !num(d, "groups", g)) {
      err = PlanError{o, "its ovl.tile lacks rows, pitch, k, row_bytes or groups"};
      return;
    }
    if (k != m.k || kb != m.kb || g != m.g) {
      err = PlanError{o, llvm::formatv("its ovl.tile was recorded for K = {0} ({1} bytes a row, "
                                       "{2} scale groups); the weight has K = {3} ({4}, {5})",
                                       k, kb, g, m.k, m.kb, m.g)
                             .str()};
      return;
    }
    if (m.nt == 0 || m.nt > m.n || m.pitch < m.kb || m.pitch > kMaxPitch) {
      err = PlanError{o, llvm::formatv("its ovl.tile of {0} rows at a pitch of {1} bytes is not "
                                       "1..{2} rows (N) at a pitch of {3}..{4} bytes",
                                       m.nt, m.pitch, m.n, m.kb, kMaxPitch)
                             .str()};
      return;
    }
    const uint64_t bytes = m.nt * m.rowBytes() + r.slack;
    if (bytes > r.bytes) {
      err = PlanError{o, llvm::formatv("its recorded tile of {0} rows x {1} bytes (a {2}-byte "
                                       "pitch and {3} scales) + {4} spare = {5} bytes does not "
                                       "fit the {6}-byte weight buffer of {7}",
                                       m.nt, m.rowBytes(), m.pitch, m.g, r.slack, bytes, r.bytes,
                                       board.name)
                             .str()};
      return;
    }
    if (d != tileAttr(b, m, board)) {
      err = PlanError{o, "its ovl.tile's derived fields (tiles, tile_bytes, dram_bytes, ports) "
                         "disagree with its rows and pitch on " +
                             std::string(board.name)};
      return;
    }
    plan.mats.insert({o, m});
  });
  return err;
}

std::vector<std::string> describeRecorded(func::FuncOp fn) {
  std::vector<std::string> lines;
  if (auto count = fn->getAttrOfType<IntegerAttr>(kFuseGroupsAttr)) {
    std::map<std::string, int64_t> kinds;
    for (Operation &op : fn.getBody().front())
      if (auto d = op.getAttrOfType<DictionaryAttr>(kFuseAttr))
        if (auto k = d.getAs<StringAttr>("kind"))
          ++kinds[k.getValue().str()];
    std::string s = "ovl-fuse: " + std::to_string(count.getInt()) + " groups (";
    bool first = true;
    for (FuseKind k : {FuseKind::SsmStep, FuseKind::Logits, FuseKind::MulSumsq, FuseKind::Conv4Pwl,
                       FuseKind::PwlMulPwl, FuseKind::AddSumsq}) {
      s += (first ? "" : ", ") + std::to_string(kinds[fuseKindName(k).str()]) + " " +
           fuseKindName(k).str();
      first = false;
    }
    lines.push_back(s + ")");
  }
  if (auto t = fn->getAttrOfType<DictionaryAttr>(kTilingAttr)) {
    auto num = [&](DictionaryAttr d, const char *name) {
      auto a = d.getAs<IntegerAttr>(name);
      return a ? a.getInt() : int64_t(0);
    };
    auto target = t.getAs<StringAttr>("target");
    int64_t mats = 0, tiles = 0, bytes = 0;
    fn.walk([&](ovl::MatmulOp o) {
      if (auto d = o->getAttrOfType<DictionaryAttr>(kTileAttr)) {
        ++mats;
        tiles += num(d, "tiles");
        bytes += num(d, "dram_bytes");
      }
    });
    lines.push_back(llvm::formatv("ovl-tile: {0}, a ring of {1}..{2} buffers of {3} bytes, {4} "
                                  "matmuls in {5} tiles ({6} bytes of weights and scales)",
                                  target ? target.getValue() : "?", num(t, "ring_buffers"),
                                  num(t, "ring_max"), num(t, "ring_bytes"), mats, tiles, bytes)
                        .str());
  }
  return lines;
}

} // namespace mamba2::codegen
