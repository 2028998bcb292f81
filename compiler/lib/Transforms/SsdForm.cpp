// ovl-ssd-form (OvlPasses.td): the prefill's ovl.ssm in the chunked (matrix) form, ovl.ssd_chunk,
// with @main cloned into @decode first so that the decode stays recurrent.
#include <cmath>
#include <string>

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mamba2/CodeGen/SsdForm.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/SsdChunk.h"
#include "mamba2/Quant/Constants.h"
#include "mamba2/Transforms/OvlPasses.h"
#include "mamba2/isa/Reference.h"
#include "mamba2/target/Board.h"

namespace mamba2 {
#define GEN_PASS_DEF_OVLSSDFORM
#include "mamba2/Transforms/OvlPasses.h.inc"
} // namespace mamba2

using namespace mlir;
using namespace mamba2;

namespace {

using DtxForm = mamba2::SsmDtxForm;

class Analysis {
public:
  Analysis(int64_t H, int64_t P) : H_(H), P_(P), exp_(size_t(H * P), 0) {}
  /// dtx's factors as x8, d and powers of two; `why` says what does not fit.
  bool run(Value dtx, DtxForm &out, std::string &why);

private:
  bool factor(Value v, int64_t width, std::string &why);
  int64_t H_, P_;
  std::vector<int64_t> exp_; // exponent per channel
  Value x8_, d_;
};

bool Analysis::factor(Value v, int64_t width, std::string &why) {
  Operation *def = v.getDefiningOp();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != 2) {
    why = "a factor of dtx is not a rank-2 tensor";
    return false;
  }
  if (auto mul = dyn_cast_or_null<ovl::MulOp>(def)) {
    if (mul.getShift() != 0) {
      why = "dtx is a product with a rounding mul (shift " + std::to_string(mul.getShift()) +
            "), not x8 * d * a power of two per head";
      return false;
    }
    const int64_t wy = cast<RankedTensorType>(mul.getY().getType()).getDimSize(1);
    return factor(mul.getX(), width, why) && factor(mul.getY(), wy, why);
  }
  if (auto sext = dyn_cast_or_null<ovl::SextOp>(def)) {
    if (x8_ || width != H_ * P_) {
      why = "dtx has more than one int8 factor, or one that is not [rows][H*P]";
      return false;
    }
    x8_ = sext.getX();
    for (int64_t &e : exp_)
      e += int64_t(sext.getShift());
    return true;
  }
  if (auto c = dyn_cast_or_null<ovl::ConstantOp>(def)) {
    auto vals = quant::readI32(c.getValue());
    if (!vals || type.getDimSize(0) != 1 || width <= 0 || (H_ * P_) % width) {
      why = "a constant factor of dtx is not one row of i32 that broadcasts over the channels";
      return false;
    }
    const int64_t per = H_ * P_ / width;
    for (int64_t ch = 0; ch < H_ * P_; ++ch) {
      const int32_t m = (*vals)[size_t(ch / per)];
      if (m <= 0 || (m & (m - 1))) {
        why = "a constant factor of dtx (" + std::to_string(m) + ") is not a power of two";
        return false;
      }
      exp_[size_t(ch)] += int64_t(std::log2(double(m)) + 0.5);
    }
    return true;
  }
  if (type.getElementType().isInteger(32) && width == H_) {
    if (d_) {
      why = "dtx has more than one per-head factor";
      return false;
    }
    d_ = v;
    return true;
  }
  why = "a factor of dtx (" +
        (def ? def->getName().getStringRef().str() : std::string("a function argument")) +
        ", width " + std::to_string(width) + ") is none of x8, d per head, a power of two";
  return false;
}

bool Analysis::run(Value dtx, DtxForm &out, std::string &why) {
  if (!factor(dtx, H_ * P_, why))
    return false;
  if (!x8_ || !d_) {
    why = std::string("dtx has no ") + (!x8_ ? "int8 x (ovl.sext) factor" : "per-head d factor");
    return false;
  }
  out.x8 = x8_;
  out.d = d_;
  for (int64_t h = 0; h < H_; ++h) {
    for (int64_t p = 1; p < P_; ++p)
      if (exp_[size_t(h * P_ + p)] != exp_[size_t(h * P_)]) {
        why = "the multiplier of dtx differs between the channels of head " + std::to_string(h) +
              " (per-channel multipliers inside a head)";
        return false;
      }
    out.multExp.push_back(int(exp_[size_t(h * P_)]));
  }
  return true;
}

} // namespace

bool mamba2::readSsmDtx(Operation *op, SsmDtxForm &out, std::string &why) {
  auto s = dyn_cast<ovl::SsmOp>(op);
  if (!s) {
    why = "not an ovl.ssm";
    return false;
  }
  auto st = cast<RankedTensorType>(s.getState().getType());
  Analysis a(st.getDimSize(0), st.getDimSize(1));
  return a.run(s.getDtx(), out, why);
}

namespace {

/// The largest |value| of `v` as far as the tables that make it bound it: a table's outputs over
/// its domain (the segments' ends), and through a table whose end segments are not flat, the
/// bound of its input carried through it. 0 when `v` is no table's output.
double tableBound(Value v) {
  auto pwl = v.getDefiningOp<ovl::PwlOp>();
  if (!pwl)
    return 0;
  auto c = pwl.getTable().getDefiningOp<ovl::ConstantOp>();
  auto t = c ? quant::readI32(c.getValue()) : std::nullopt;
  if (!t || t->size() < isa::ref::kPwlHeaderWords + 2)
    return 0;
  const int32_t *w = t->data();
  const isa::ref::PwlHeader h = isa::ref::pwlHeader(w);
  if (t->size() < isa::ref::kPwlHeaderWords + 2 * size_t(h.n))
    return 0;
  double m = 0;
  for (unsigned i = 0; i <= h.n; ++i) {
    const int64_t x = int64_t(h.x0) + (int64_t(i) << h.segShift);
    m = std::max(m, std::fabs(double(
                        isa::ref::pwl(w, int32_t(std::clamp<int64_t>(x, INT32_MIN, INT32_MAX))))));
  }
  const bool flat = w[isa::ref::kPwlHeaderWords + 1] == 0 &&
                    w[isa::ref::kPwlHeaderWords + 2 * (h.n - 1) + 1] == 0;
  if (!flat)
    if (double in = tableBound(pwl.getX()); in > 0) {
      const int32_t b = int32_t(std::min(in, double(INT32_MAX)));
      m = std::max(
          {m, std::fabs(double(isa::ref::pwl(w, b))), std::fabs(double(isa::ref::pwl(w, -b)))});
    }
  return m;
}

struct SsdFormPass : mamba2::impl::OvlSsdFormBase<SsdFormPass> {
  using OvlSsdFormBase::OvlSsdFormBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (form == "scan")
      return;
    if (form != "chunked" && form != "auto") {
      module.emitError("ovl-ssd-form: form must be scan, chunked or auto, not '")
          << std::string(form) << "'";
      return signalPassFailure();
    }
    int64_t chunkRows = chunk;
    if (form == "auto") {
      std::string error;
      auto c = chooseModuleSsdForm(module, target, rows, error);
      if (!c) {
        module.emitError("ovl-ssd-form: ") << error;
        return signalPassFailure();
      }
      if (c->form == codegen::SsdForm::Scan)
        return;
      chunkRows = int64_t(c->chunk);
    }
    if (chunkRows < 1 || chunkRows > 64) {
      module.emitError("ovl-ssd-form: chunk must be in 1..64 (the matrix unit's rows of a "
                       "segment), not ")
          << chunkRows;
      return signalPassFailure();
    }
    if (stateBits < 8 || stateBits > 32) {
      module.emitError("ovl-ssd-form: state-bits must be in 8..32, not ") << int64_t(stateBits);
      return signalPassFailure();
    }
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main) {
      module.emitError("ovl-ssd-form: the module has no @main");
      return signalPassFailure();
    }
    // Everything checked before anything changes.
    struct Plan {
      ovl::SsmOp ssm;
      DtxForm dtx;
      ssd::ChunkShifts shifts;
    };
    std::vector<Plan> plans;
    bool failed = false;
    main.walk([&](ovl::SsmOp s) {
      if (failed)
        return;
      auto st = cast<RankedTensorType>(s.getState().getType());
      const int64_t H = st.getDimSize(0), P = st.getDimSize(1), N = st.getDimSize(2);
      Plan p;
      p.ssm = s;
      std::string why;
      if (!readSsmDtx(s, p.dtx, why)) {
        s.emitError("ovl-ssd-form: this ovl.ssm cannot take the chunked form: ") << why;
        failed = true;
        return;
      }
      ssd::ShiftBounds b;
      b.dState = N;
      b.decayFrac = int(s.getDecayShift());
      b.inShift = int(s.getInShift());
      b.outShift = int(s.getOutShift());
      b.dMax = tableBound(p.dtx.d);
      // Calibrated bounds, with one bit of headroom, where they are tighter.
      if (auto c = s->getAttrOfType<IntegerAttr>(kSsmDAbsmaxAttr); c && b.dMax > 0)
        b.dMax = std::min(b.dMax, 2.0 * std::max<double>(1.0, double(c.getInt())));
      if (auto c = s->getAttrOfType<IntegerAttr>(kSsmCBAbsmaxAttr))
        b.cbMax = 2.0 * std::max<double>(1.0, double(c.getInt()));
      if (auto c = s->getAttrOfType<IntegerAttr>(kSsmStateAbsmaxAttr))
        b.stateMax = std::min(std::ldexp(1.0, int(stateBits) - 1),
                              2.0 * std::max<double>(1.0, double(c.getInt())));
      b.stateBits = int(stateBits);
      b.multExp = p.dtx.multExp;
      if (b.dMax <= 0) {
        s.emitError("ovl-ssd-form: this ovl.ssm cannot take the chunked form: its d is no "
                    "piecewise-linear table's output, so nothing bounds it");
        failed = true;
        return;
      }
      p.shifts = ssd::chooseShifts(b);
      ssd::ChunkShape shape{H, P, int64_t(s.getNgroups()), N, 0, chunkRows};
      if (std::string e = ssd::checkShifts(shape, p.shifts); !e.empty()) {
        s.emitError("ovl-ssd-form: this ovl.ssm's chunked form does not fit the micro-ops: ") << e;
        failed = true;
        return;
      }
      plans.push_back(std::move(p));
    });
    if (failed)
      return signalPassFailure();
    if (plans.empty())
      return;
    if (!ovl::entryFunction(module, "decode") && !module.lookupSymbol("decode")) {
      std::string error;
      if (!cloneDecodeFunction(module, error)) {
        module.emitError("ovl-ssd-form: ") << error;
        return signalPassFailure();
      }
    }
    for (Plan &p : plans) {
      ovl::SsmOp s = p.ssm;
      OpBuilder b(s);
      const ssd::ChunkShifts &sh = p.shifts;
      auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
      std::vector<int64_t> me(sh.multExp.begin(), sh.multExp.end());
      auto op = b.create<ovl::SsdChunkOp>(
          s.getLoc(), s.getY().getType(), s.getNewState().getType(), p.dtx.x8, p.dtx.d,
          s.getDecay(), s.getB(), s.getC(), s.getState(), i64(s.getNgroups()), i64(chunkRows),
          i64(sh.decay), b.getDenseI64ArrayAttr(me), i64(sh.gd), i64(sh.md), i64(sh.mSplit),
          i64(sh.yShift), i64(sh.stateSplit), i64(sh.cShift), i64(sh.wShift), i64(sh.bwShift),
          i64(sh.bwSplit), i64(sh.sShift));
      s.getY().replaceAllUsesWith(op.getY());
      s.getNewState().replaceAllUsesWith(op.getNewState());
      s.erase();
    }
    // The dtx products nothing reads any more.
    for (bool again = true; again;) {
      again = false;
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(main.getBody().front())))
        if (isOpTriviallyDead(&op)) {
          op.erase();
          again = true;
        }
    }
  }
};

} // namespace

std::optional<codegen::SsdFormChoice> mamba2::chooseModuleSsdForm(ModuleOp module,
                                                                  llvm::StringRef targetName,
                                                                  int64_t rows,
                                                                  std::string &error) {
  const target::Board *board = target::findBoard(targetName.str());
  if (!board) {
    error = "unknown target '" + targetName.str() + "'";
    return std::nullopt;
  }
  if (rows < 1 || rows > 64) {
    error = "rows must be in 1..64, not " + std::to_string(rows);
    return std::nullopt;
  }
  auto fn = module.lookupSymbol<func::FuncOp>("main");
  if (!fn) {
    error = "the module has no @main";
    return std::nullopt;
  }
  codegen::SsdFormChoice c = codegen::chooseSsdForm(fn, *board, unsigned(rows));
  emitRemark(module.getLoc(), "ovl-ssd-form: ") << codegen::describeSsdFormChoice(c);
  return c;
}
