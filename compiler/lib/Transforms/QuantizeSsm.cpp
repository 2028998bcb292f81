// m2-quantize-ssm: power-of-two exponents for the SSD scan and the causal conv, per tensor or
// per channel group (QuantPasses.td); the integer evaluator runs them on isa's
// ssmUpdate/ssmOutput/conv4Step, m2-lower-to-ovl on ovl.ssm / ovl.conv4 (formats: SsmFormat.h).
#include "mamba2/Transforms/QuantPasses.h"

#include <algorithm>
#include <cmath>

#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/SsmFormat.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2QUANTIZESSM
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

/// The exponent e of the smallest 2^e with max / 2^e <= qmax.
int64_t potExponent(double max, double qmax) {
  if (!(max > 0))
    return 0;
  return static_cast<int64_t>(std::ceil(std::log2(max / qmax)));
}

/// dt * x is scaled by at most 2^(kDtxHeadroom - dt_frac) to meet the scan's common input shift:
/// |x| <= 127 and dt <= 16 keep 127 * 16 * 2^dt_frac * 2^j below 2^31.
constexpr int64_t kDtxHeadroom = 20;

/// Channels [begin, end) sharing one exponent.
struct Group {
  int64_t begin, end;
};

/// Groups of `size` channels (the last may be shorter) over [begin, begin + count).
void addGroups(std::vector<Group> &out, int64_t begin, int64_t count, int64_t size) {
  for (int64_t c = 0; c < count; c += size)
    out.push_back({begin + c, begin + std::min(count, c + size)});
}

/// Per group: the max of `chan` over the group's channels.
std::vector<double> groupMax(const std::vector<Group> &groups, const std::vector<float> &chan) {
  std::vector<double> m;
  for (const Group &g : groups) {
    double v = 0;
    for (int64_t c = g.begin; c < g.end; ++c)
      v = std::max(v, static_cast<double>(chan[c]));
    m.push_back(v);
  }
  return m;
}

struct QuantizeSsmPass : mamba2::impl::M2QuantizeSsmBase<QuantizeSsmPass> {
  using M2QuantizeSsmBase::M2QuantizeSsmBase;

  /// 0: per tensor, -1: per head, > 0: that many channels.
  int64_t groupSize = -1;

  /// The per-channel maxima recorded by m2-calibrate, or nullopt (with an error) when absent.
  std::optional<std::vector<float>> channelMax(Operation *op, StringRef name, int64_t channels) {
    auto a = op->getAttrOfType<DenseElementsAttr>(name);
    if (!a || a.getNumElements() != channels || !a.getElementType().isF32()) {
      op->emitError("m2-quantize-ssm: no ")
          << name << " of " << channels << " channels (run m2-calibrate first)";
      return std::nullopt;
    }
    auto v = a.getValues<float>();
    return std::vector<float>(v.begin(), v.end());
  }

  /// The conv's channel groups per head: the x / B / C parts of the m2.ssd it feeds (conv ->
  /// silu or pwl -> split -> ssd), x in groups of the head size, B and C of N; one group for
  /// the whole conv when it feeds no such ssd.
  std::vector<Group> convHeadGroups(m2::Conv1dOp cv, int64_t C) {
    std::vector<Group> groups;
    Value out = cv.getOutput();
    if (out.hasOneUse()) {
      Operation *act = *out.getUsers().begin();
      if (isa<m2::SiluOp, m2::PwlOp>(act) && act->getResult(0).hasOneUse())
        if (auto split = dyn_cast<m2::SplitOp>(*act->getResult(0).getUsers().begin())) {
          m2::SSDOp ssd;
          for (Operation *u : split->getUsers())
            if (auto s = dyn_cast<m2::SSDOp>(u))
              ssd = s;
          auto sizes = split.getSizes();
          if (ssd && sizes.size() == 3 && ssd.getX() == split.getOutputs()[0] &&
              ssd.getB() == split.getOutputs()[1] && ssd.getC() == split.getOutputs()[2]) {
            const int64_t H = quant::shapeOf(ssd.getDt()).back(), G = ssd.getNgroups();
            const int64_t P = sizes[0] / H, N = sizes[1] / G;
            addGroups(groups, 0, sizes[0], P);
            addGroups(groups, sizes[0], sizes[1], N);
            addGroups(groups, sizes[0] + sizes[1], sizes[2], N);
            return groups;
          }
        }
    }
    groups.push_back({0, C});
    return groups;
  }

  /// Writes `perGroup` into the channels of `groups` as `name` (an integer per tensor).
  void setExponents(Operation *op, StringRef name, const std::vector<Group> &groups,
                    const std::vector<int64_t> &perGroup, int64_t channels) {
    Builder b(op->getContext());
    if (groupSize == 0) {
      op->setAttr(name, b.getI64IntegerAttr(perGroup[0]));
      return;
    }
    std::vector<int> perChannel(static_cast<size_t>(channels));
    for (size_t g = 0; g < groups.size(); ++g)
      for (int64_t c = groups[g].begin; c < groups[g].end; ++c)
        perChannel[c] = static_cast<int>(perGroup[g]);
    op->setAttr(name, quant::exponentsAttr(b, perChannel));
  }

  LogicalResult quantizeConv(m2::Conv1dOp cv) {
    Operation *op = cv;
    auto in = op->getAttrOfType<FloatAttr>("calib.in_absmax");
    auto w = quant::readF32(cv.getWeight());
    if (!in) {
      op->emitError("m2-quantize-ssm: no calib.in_absmax (run m2-calibrate first)");
      return failure();
    }
    if (!w || quant::shapeOf(cv.getWeight())[1] != 4 || cv.getState()) {
      op->emitError("m2-quantize-ssm: the integer conv takes a constant (C, 4) weight and "
                    "no state operand");
      return failure();
    }
    const int64_t C = quant::shapeOf(cv.getWeight())[0];
    std::vector<Group> groups;
    std::vector<double> inMax;
    if (groupSize == 0) {
      groups.push_back({0, C});
      inMax.push_back(in.getValueAsDouble());
    } else {
      if (groupSize > 0)
        addGroups(groups, 0, C, groupSize);
      else
        groups = convHeadGroups(cv, C);
      auto chan = channelMax(op, "calib.in_channel_absmax", C);
      if (!chan)
        return failure();
      inMax = groupMax(groups, *chan);
    }
    std::vector<int64_t> ein, ew;
    for (size_t g = 0; g < groups.size(); ++g) {
      double wmax = 0;
      for (int64_t i = groups[g].begin * 4; i < groups[g].end * 4; ++i)
        wmax = std::max(wmax, static_cast<double>(std::fabs((*w)[i])));
      ein.push_back(potExponent(inMax[g], 127));
      ew.push_back(potExponent(wmax, 127));
    }
    setExponents(op, "quant.in_exp", groups, ein, C);
    setExponents(op, "quant.w_exp", groups, ew, C);
    op->setAttr("quant.state_bits", Builder(op->getContext()).getI64IntegerAttr(8));
    return success();
  }

  LogicalResult quantizeSsd(m2::SSDOp ssd) {
    Operation *op = ssd;
    auto get = [&](StringRef name) -> std::optional<double> {
      if (auto a = op->getAttrOfType<FloatAttr>(name))
        return a.getValueAsDouble();
      return std::nullopt;
    };
    auto x = get("calib.x_absmax"), bm = get("calib.b_absmax"), c = get("calib.c_absmax"),
         s = get("calib.state_absmax");
    if (!x || !bm || !c || !s) {
      op->emitError("m2-quantize-ssm: no calib.x/b/c/state_absmax (run m2-calibrate first)");
      return failure();
    }
    if (ssd.getState()) {
      op->emitError("m2-quantize-ssm: the integer ssd takes no state operand");
      return failure();
    }
    const int64_t HP = quant::shapeOf(ssd.getX()).back(), H = quant::shapeOf(ssd.getDt()).back(),
                  G = ssd.getNgroups(), GN = quant::shapeOf(ssd.getB()).back(), P = HP / H,
                  N = GN / G, hpg = H / G;
    // The scan's output y[p] = sum_n S[p][n] C[n] is an int32 (isa's ssmout): |S| <= smax,
    // |C| <= 128, N terms.
    const double smax = stateBits == 32 ? 2147483647.0 : std::ldexp(1.0, int(stateBits) - 1) - 1;
    if (smax * 128.0 * static_cast<double>(N) > 2147483647.0) {
      int64_t most = 8;
      while (most < 32 && (std::ldexp(1.0, int(most)) - 1) * 128.0 * N <= 2147483647.0)
        ++most;
      op->emitError("m2-quantize-ssm: a ")
          << static_cast<int64_t>(stateBits)
          << "-bit state can overflow the scan's int32 output y = sum over N = " << N
          << " of S * C (|S| * 128 * N must stay below 2^31); at most " << most << " bits here";
      return failure();
    }
    // Groups of x channels (x, the state, y) and of B / C channels.
    std::vector<Group> xg, bg;
    std::vector<double> xMax, bMax, cMax, sMax;
    if (groupSize == 0) {
      xg.push_back({0, HP});
      bg.push_back({0, GN});
      xMax = {*x};
      bMax = {*bm};
      cMax = {*c};
      sMax = {*s};
    } else {
      addGroups(xg, 0, HP, groupSize > 0 ? groupSize : P);
      addGroups(bg, 0, GN, N);
      auto xc = channelMax(op, "calib.x_channel_absmax", HP);
      auto bc = xc ? channelMax(op, "calib.b_channel_absmax", GN) : std::nullopt;
      auto cc = bc ? channelMax(op, "calib.c_channel_absmax", GN) : std::nullopt;
      auto sc = cc ? channelMax(op, "calib.state_channel_absmax", HP) : std::nullopt;
      if (!sc)
        return failure();
      xMax = groupMax(xg, *xc);
      bMax = groupMax(bg, *bc);
      cMax = groupMax(bg, *cc);
      sMax = groupMax(xg, *sc);
    }
    std::vector<int64_t> ex, eb, ec, es;
    for (size_t g = 0; g < xg.size(); ++g)
      ex.push_back(potExponent(xMax[g], 127));
    for (size_t g = 0; g < bg.size(); ++g) {
      eb.push_back(potExponent(bMax[g], 127));
      ec.push_back(potExponent(cMax[g], 127));
    }
    // The B exponent of x channel ch (its head's B/C group).
    auto bExpOf = [&](int64_t ch) { return eb[groupSize == 0 ? 0 : ch / P / hpg]; };
    // The state: e = ceil(log2(max |S| / smax)), at least x_exp - dt_frac + b_exp (isa's input
    // shift is not negative), and within 2^(kDtxHeadroom - dt_frac) of the largest input shift
    // (the scan has one input shift; SsmFormat.h).
    std::vector<int64_t> floorExp(xg.size()); // max over the group of x_exp - dt_frac + b_exp
    for (size_t g = 0; g < xg.size(); ++g) {
      int64_t f = INT64_MIN;
      for (int64_t ch = xg[g].begin; ch < xg[g].end; ++ch)
        f = std::max(f, ex[g] - dtFrac + bExpOf(ch));
      floorExp[g] = f;
      es.push_back(std::max(potExponent(sMax[g], smax), f));
    }
    int64_t K = 0; // the largest input shift of any channel
    for (size_t g = 0; g < xg.size(); ++g)
      for (int64_t ch = xg[g].begin; ch < xg[g].end; ++ch)
        K = std::max(K, es[g] - (ex[g] - dtFrac + bExpOf(ch)));
    const int64_t jmax = std::max<int64_t>(0, kDtxHeadroom - dtFrac);
    for (size_t g = 0; g < xg.size(); ++g)
      es[g] = std::max(es[g], K - jmax + floorExp[g]);
    setExponents(op, "quant.x_exp", xg, ex, HP);
    setExponents(op, "quant.b_exp", bg, eb, GN);
    setExponents(op, "quant.c_exp", bg, ec, GN);
    setExponents(op, "quant.state_exp", xg, es, HP);
    Builder b(op->getContext());
    op->setAttr("quant.state_bits", b.getI64IntegerAttr(stateBits));
    op->setAttr("quant.dt_frac", b.getI64IntegerAttr(dtFrac));
    op->setAttr("quant.decay_frac", b.getI64IntegerAttr(decayFrac));
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (stateBits < 8 || stateBits > 32 || dtFrac < 0 || dtFrac > 20 || decayFrac < 1 ||
        decayFrac > 30) {
      func.emitError("m2-quantize-ssm: state-bits must be 8..32, dt-frac 0..20, decay-frac 1..30");
      return signalPassFailure();
    }
    if (group == "tensor") {
      groupSize = 0;
    } else if (group == "head") {
      groupSize = -1;
    } else if (StringRef(group).getAsInteger(10, groupSize) || groupSize <= 0) {
      func.emitError("m2-quantize-ssm: group must be tensor, head or a positive channel count, "
                     "not '")
          << group << "'";
      return signalPassFailure();
    }
    WalkResult r = func.walk([&](Operation *op) {
      if (auto cv = dyn_cast<m2::Conv1dOp>(op))
        return succeeded(quantizeConv(cv)) ? WalkResult::advance() : WalkResult::interrupt();
      if (auto ssd = dyn_cast<m2::SSDOp>(op))
        return succeeded(quantizeSsd(ssd)) ? WalkResult::advance() : WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
