// The integer evaluator's kernels (see QuantEvaluator.h).
#include "mamba2/Quant/QuantEvaluator.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Eval/Gemm.h"
#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/Hadamard.h"
#include "mamba2/Quant/SsmFormat.h"
#include "mamba2/isa/Reference.h"

using namespace mlir;

namespace mamba2::quant {
namespace ref = isa::ref;

namespace {

llvm::Error fail(const llvm::Twine &msg) { return llvm::createStringError(msg); }

std::string where(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << op->getLoc();
  return s;
}

eval::Act like(const eval::Act &x, int64_t c) {
  eval::Act a;
  a.b = x.b;
  a.l = x.l;
  a.c = c;
  a.v.assign(static_cast<size_t>(x.b * x.l * c), 0.0f);
  return a;
}

double softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

/// x / 2^e rounded half away from zero, saturated to int8.
int8_t pot8(float x, int e) {
  double r = std::round(std::ldexp(static_cast<double>(x), -e));
  return static_cast<int8_t>(std::clamp(r, -128.0, 127.0));
}

/// Round half away from zero, saturating to [-q, q].
int8_t quantize(float x, float inv, int q) {
  float r = std::round(x * inv);
  return static_cast<int8_t>(std::clamp(r, static_cast<float>(-q), static_cast<float>(q)));
}

/// fn over [0, n): in ranges on the pool's threads, or at once on the calling thread.
void forRanges(eval::ThreadPool *pool, int64_t n, const std::function<void(int64_t, int64_t)> &fn) {
  if (pool)
    pool->parallelFor(n, fn);
  else
    fn(0, n);
}

} // namespace

void groupedMatmul(const int8_t *act, const int8_t *w, const int32_t *scl, int32_t *acc, int64_t M,
                   int64_t K, int64_t N, int64_t group, int shift) {
  const int64_t G = K / group;
  std::fill(acc, acc + M * N, 0);
  std::vector<int32_t> part(static_cast<size_t>(M * N));
  for (int64_t g = 0; g < G; ++g) {
    eval::gemmS8(M, N, group, act + g * group, K, w + g * group, K, part.data(), N);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int32_t &s = acc[m * N + n];
        s = ref::sat32(int64_t(s) + ref::scaleGroup(part[m * N + n], scl[n * G + g], shift));
      }
  }
}

void ActStats::add(const eval::Act &a, bool withHessian, eval::ThreadPool *pool) {
  const int64_t C = a.c, rows = a.b * a.l;
  if (channelAbsMax.empty()) {
    channelAbsMax.assign(static_cast<size_t>(C), 0.0);
    channelSumSq.assign(static_cast<size_t>(C), 0.0);
  }
  // Per channel, over the rows in order.
  forRanges(pool, C, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < rows; ++r) {
      const float *x = a.v.data() + r * C;
      for (int64_t c = c0; c < c1; ++c) {
        double v = x[c];
        channelAbsMax[c] = std::max(channelAbsMax[c], std::fabs(v));
        channelSumSq[c] += v * v;
      }
    }
  });
  // Per token.
  const size_t first = tokenAbsMax.size();
  tokenAbsMax.resize(first + static_cast<size_t>(rows));
  forRanges(pool, rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      tokenAbsMax[first + r] = eval::absMax(a.v.data() + r * C, C);
  });
  // Over all values, in one order.
  for (float f : a.v) {
    double v2 = static_cast<double>(f) * f;
    sum2 += v2;
    sum4 += v2 * v2;
  }
  if (withHessian) {
    hessian.resize(static_cast<size_t>(C * C), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const float *x = a.v.data() + r * C;
      for (int64_t i = 0; i < C; ++i)
        for (int64_t j = 0; j < C; ++j)
          hessian[i * C + j] += static_cast<double>(x[i]) * x[j];
    }
  }
  tokens += rows;
}

bool QuantKernels::handles(Operation *op) const {
  if (auto c = dyn_cast<m2::ConstantOp>(op))
    return !cast<ShapedType>(c.getValue().getType()).getElementType().isF32();
  if (llvm::isa<m2::SSDOp, m2::Conv1dOp>(op))
    return op->hasAttr("quant.state_bits");
  return llvm::isa<m2::QLinearOp, m2::HadamardOp, m2::PwlOp>(op);
}

void QuantKernels::observe(Operation *op, ArrayRef<const eval::Act *> operands) {
  if (collect_ && llvm::isa<m2::LinearOp, m2::LMHeadOp>(op) && operands[0])
    stats_[op].add(*operands[0], hessian_, pool_);
  if (!collect_)
    return;
  auto run = [&](int64_t n, const std::function<void(int64_t, int64_t)> &fn) {
    forRanges(pool_, n, fn);
  };
  // max |a| over all values (a maximum: the same for any split).
  auto absmax = [&](const eval::Act *a) {
    const int64_t n = static_cast<int64_t>(a->v.size()), parts = 64;
    std::vector<float> m(static_cast<size_t>(parts), 0.0f);
    run(parts, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t b = n * p / parts, e = n * (p + 1) / parts;
        m[p] = eval::absMax(a->v.data() + b, e - b);
      }
    });
    return static_cast<double>(eval::absMax(m.data(), parts));
  };
  // max |a| per channel, into m (resized to a's channels); returns the max over m.
  auto chanMax = [&](const eval::Act &a, std::vector<double> &m) {
    m.resize(static_cast<size_t>(a.c), 0.0);
    std::vector<float> f(m.begin(), m.end()); // the maxima of floats are floats
    run(a.c, [&](int64_t c0, int64_t c1) {
      for (int64_t r = 0; r < a.b * a.l; ++r)
        eval::absMaxInto(f.data() + c0, a.v.data() + r * a.c + c0, c1 - c0);
    });
    std::copy(f.begin(), f.end(), m.begin());
    return static_cast<double>(eval::absMax(f.data(), a.c));
  };
  if (llvm::isa<m2::Conv1dOp, m2::RMSNormOp>(op) && operands[0]) {
    SsmStats &st = ssmStats_[op];
    // The conv's maximum is its channels' (read once).
    st.inMax = std::max(st.inMax, llvm::isa<m2::Conv1dOp>(op) ? chanMax(*operands[0], st.inChan)
                                                              : absmax(operands[0]));
  } else if (llvm::isa<m2::GatedRMSNormOp>(op) && operands[0] && operands[1]) {
    SsmStats &st = ssmStats_[op];
    const eval::Act &y = *operands[0], &z = *operands[1];
    st.yMax = std::max(st.yMax, absmax(&y));
    st.zMax = std::max(st.zMax, absmax(&z));
    const int64_t n = static_cast<int64_t>(std::min(y.v.size(), z.v.size())), parts = 64;
    std::vector<double> gm(static_cast<size_t>(parts), 0.0);
    run(parts, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t i = n * p / parts; i < n * (p + 1) / parts; ++i) {
          double zi = z.v[i], g = y.v[i] * zi / (1.0 + std::exp(-zi));
          gm[p] = std::max(gm[p], std::fabs(g));
        }
    });
    for (double m : gm)
      st.gMax = std::max(st.gMax, m);
  } else if (auto ssd = dyn_cast<m2::SSDOp>(op); ssd && !ssd.getState()) {
    // operands: x, dt, dt_bias, A, B, C, D
    SsmStats &st = ssmStats_[op];
    const eval::Act &x = *operands[0], &Bm = *operands[4], &Cm = *operands[5];
    st.xMax = std::max(st.xMax, chanMax(x, st.xChan));
    st.bMax = std::max(st.bMax, chanMax(Bm, st.bChan));
    st.cMax = std::max(st.cMax, chanMax(Cm, st.cChan));
    // The state's maxima come from the evaluator's scan (observeSsdStates).
  }
}

bool QuantKernels::observesSsdStates(Operation *op) const {
  return collect_ && llvm::isa<m2::SSDOp>(op);
}

void QuantKernels::observeSsdStates(Operation *op, ArrayRef<float> rowAbsMax) {
  SsmStats &st = ssmStats_[op];
  st.stateChan.resize(rowAbsMax.size(), 0.0);
  for (size_t i = 0; i < rowAbsMax.size(); ++i) {
    st.stateChan[i] = std::max(st.stateChan[i], static_cast<double>(rowAbsMax[i]));
    st.stateMax = std::max(st.stateMax, st.stateChan[i]);
  }
}

llvm::Expected<const QuantKernels::Prepared *> QuantKernels::prepare(Operation *op) {
  auto &slot = prepared_[op];
  if (slot)
    return slot.get();
  auto p = std::make_unique<Prepared>();
  if (auto q = dyn_cast<m2::QLinearOp>(op)) {
    auto w = readI8(q.getWeight());
    auto s = readI32(q.getScales());
    auto o = readF32(q.getOutScale());
    if (!w || !s || !o)
      return fail("the weight, scales and out_scale of m2.qlinear at " + where(op) +
                  " must be i8, i32 and f32 constants");
    p->weight = std::move(*w);
    p->scales = std::move(*s);
    p->outScale = std::move(*o);
    if (q.getWeightBits() == 4)
      for (int8_t v : p->weight)
        if (v < -8 || v > 7)
          return fail("m2.qlinear with 4-bit weights holds the value " + llvm::Twine(int(v)));
  } else if (auto pw = dyn_cast<m2::PwlOp>(op)) {
    auto t = readI32(pw.getTable());
    if (!t)
      return fail("the table of m2.pwl must be an i32 constant");
    p->table = std::move(*t);
    ref::PwlHeader h = ref::pwlHeader(p->table.data());
    if (p->table.size() < ref::kPwlHeaderWords + 2 * h.n)
      return fail("the table of m2.pwl is shorter than its header says");
  }
  slot = std::move(p);
  return slot.get();
}

llvm::Expected<std::vector<eval::Act>> QuantKernels::run(Operation *op,
                                                         ArrayRef<const eval::Act *> operands,
                                                         std::vector<int32_t> &state) {
  std::vector<eval::Act> results;
  if (llvm::isa<m2::ConstantOp>(op))
    return results; // read by the ops that use them
  if (auto ssd = dyn_cast<m2::SSDOp>(op))
    return runSsd(ssd, operands, state);
  if (auto cv = dyn_cast<m2::Conv1dOp>(op))
    return runConv(cv, operands, state);
  auto prep = prepare(op);
  if (!prep)
    return prep.takeError();
  const Prepared &P = **prep;
  const eval::Act &x = *operands[0];

  if (auto q = dyn_cast<m2::QLinearOp>(op)) {
    if (collect_)
      stats_[op].add(x, hessian_, pool_);
    const int64_t M = x.b * x.l, K = x.c, N = static_cast<int64_t>(P.outScale.size());
    const int64_t group = q.getGroup(), G = K / group;
    const int shift = static_cast<int>(q.getShiftAttr().getInt());
    const int qmax = q.getActBits() == 8 ? 127 : 7;
    if (K * N != static_cast<int64_t>(P.weight.size()) ||
        N * G != static_cast<int64_t>(P.scales.size()))
      return fail("m2.qlinear: the weight or scales do not fit the input width " + llvm::Twine(K));
    // Activation rows to integers.
    std::vector<int8_t> qa(static_cast<size_t>(M * K));
    std::vector<float> rowScale(static_cast<size_t>(M));
    const bool perToken = q.getActMode() == "token";
    for (int64_t m = 0; m < M; ++m) {
      const float *xr = x.v.data() + m * K;
      float a = q.getActScale() ? q.getActScale()->convertToFloat() : 1.0f;
      if (perToken) {
        float mx = 0;
        for (int64_t k = 0; k < K; ++k)
          mx = std::max(mx, std::fabs(xr[k]));
        a = mx > 0 ? mx / static_cast<float>(qmax) : 1.0f;
      }
      rowScale[m] = a;
      const float inv = 1.0f / a;
      for (int64_t k = 0; k < K; ++k)
        qa[m * K + k] = quantize(xr[k], inv, qmax);
    }
    std::vector<int32_t> acc(static_cast<size_t>(M * N));
    groupedMatmul(qa.data(), P.weight.data(), P.scales.data(), acc.data(), M, K, N, group, shift);
    eval::Act out = like(x, N);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        out.v[m * N + n] =
            static_cast<float>(static_cast<double>(acc[m * N + n]) * rowScale[m] * P.outScale[n]);
    results.push_back(std::move(out));
    return results;
  }

  if (auto h = dyn_cast<m2::HadamardOp>(op)) {
    // Per row: to int32 fixed point with headroom for the unnormalised transform's growth (n),
    // isa's fwht, back to real values / sqrt(n).
    const int64_t n = x.c, rows = x.b * x.l;
    int growth = 0;
    while ((int64_t(1) << growth) < n)
      ++growth;
    const int frac = 30 - growth;
    const std::vector<int8_t> signs = hadamardSigns(n, static_cast<uint64_t>(h.getSeed()));
    eval::Act out = like(x, n);
    std::vector<int32_t> v(static_cast<size_t>(n));
    const double norm = 1.0 / std::sqrt(static_cast<double>(n));
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = x.v.data() + r * n;
      float mx = 0;
      for (int64_t i = 0; i < n; ++i)
        mx = std::max(mx, std::fabs(xr[i]));
      if (mx == 0)
        continue;
      const double unit = static_cast<double>(mx) / std::ldexp(1.0, frac);
      for (int64_t i = 0; i < n; ++i)
        v[i] = static_cast<int32_t>(std::llround(xr[i] / unit)) * signs[i];
      ref::fwht(v.data(), static_cast<unsigned>(n));
      for (int64_t i = 0; i < n; ++i)
        out.v[r * n + i] = static_cast<float>(v[i] * unit * norm);
    }
    results.push_back(std::move(out));
    return results;
  }

  if (auto pw = dyn_cast<m2::PwlOp>(op)) {
    const double in = std::ldexp(1.0, static_cast<int>(pw.getInFrac()));
    const double outUnit = std::ldexp(1.0, -static_cast<int>(pw.getOutFrac()));
    eval::Act out = like(x, x.c);
    for (size_t i = 0; i < x.v.size(); ++i) {
      double xr = std::clamp(static_cast<double>(x.v[i]) * in, -0x1p40, 0x1p40);
      int32_t xi = ref::sat32(std::llround(xr));
      out.v[i] = static_cast<float>(ref::pwl(P.table.data(), xi) * outUnit);
    }
    results.push_back(std::move(out));
    return results;
  }
  return fail("the integer evaluator has no kernel for " + op->getName().getStringRef());
}

llvm::Expected<std::vector<eval::Act>> QuantKernels::runConv(m2::Conv1dOp cv,
                                                             ArrayRef<const eval::Act *> operands,
                                                             std::vector<int32_t> &state) {
  if (cv.getState())
    return fail("the integer conv1d at " + where(cv) + " takes no explicit state operand");
  auto w = readF32(cv.getWeight());
  auto bias = readF32(cv.getBias());
  const eval::Act &x = *operands[0];
  const int64_t C = x.c;
  if (!w || !bias || static_cast<int64_t>(w->size()) != 4 * C)
    return fail("the integer conv1d at " + where(cv) + " needs constant weights (C, 4), bias (C)");
  auto ein = channelExponents(cv, "quant.in_exp", C), ew = channelExponents(cv, "quant.w_exp", C);
  if (!ein || !ew)
    return fail("the integer conv1d at " + where(cv) +
                " needs quant.in_exp and quant.w_exp (one integer or one per channel)");
  std::vector<int8_t> wq(static_cast<size_t>(4 * C)), xq(static_cast<size_t>(C));
  std::vector<int32_t> bq(static_cast<size_t>(C)), y(static_cast<size_t>(C));
  std::vector<double> unit(static_cast<size_t>(C));
  for (size_t i = 0; i < wq.size(); ++i)
    wq[i] = pot8((*w)[i], (*ew)[i / 4]);
  for (int64_t c = 0; c < C; ++c) {
    const int e = (*ein)[c] + (*ew)[c];
    bq[c] =
        ref::sat32(std::llround(std::clamp(std::ldexp(double((*bias)[c]), -e), -0x1p40, 0x1p40)));
    unit[c] = std::ldexp(1.0, e);
  }
  if (state.empty())
    state.assign(static_cast<size_t>(x.b * C * 3), 0); // int8 values, oldest first
  std::vector<int8_t> st(static_cast<size_t>(C * 3));
  eval::Act out = like(x, C);
  for (int64_t b = 0; b < x.b; ++b) {
    for (int64_t i = 0; i < C * 3; ++i)
      st[i] = static_cast<int8_t>(state[b * C * 3 + i]);
    for (int64_t t = 0; t < x.l; ++t) {
      const float *xr = x.row(b, t);
      for (int64_t c = 0; c < C; ++c)
        xq[c] = pot8(xr[c], (*ein)[c]);
      ref::conv4Step(xq.data(), wq.data(), bq.data(), st.data(), y.data(), unsigned(C));
      float *o = out.row(b, t);
      for (int64_t c = 0; c < C; ++c)
        o[c] = static_cast<float>(y[c] * unit[c]);
    }
    for (int64_t i = 0; i < C * 3; ++i)
      state[b * C * 3 + i] = st[i];
  }
  std::vector<eval::Act> results;
  results.push_back(std::move(out));
  return results;
}

llvm::Expected<std::vector<eval::Act>> QuantKernels::runSsd(m2::SSDOp ssd,
                                                            ArrayRef<const eval::Act *> operands,
                                                            std::vector<int32_t> &state) {
  if (ssd.getState())
    return fail("the integer ssd at " + where(ssd) + " takes no explicit state operand");
  auto dtBias = readF32(ssd.getDtBias()), A = readF32(ssd.getA()), D = readF32(ssd.getD());
  if (!dtBias || !A || !D)
    return fail("the integer ssd at " + where(ssd) + " needs constant dt_bias, A and D");
  const eval::Act &x = *operands[0], &dt = *operands[1], &Bm = *operands[4], &Cm = *operands[5];
  const int64_t H = dt.c, P = x.c / H, G = ssd.getNgroups(), N = Bm.c / G, hpg = H / G;
  auto format = ssmScanFormat(ssd, H, P, G, N);
  if (!format)
    return format.takeError();
  const SsmScanFormat &f = *format;
  const int64_t smax = f.stateBits == 32 ? INT32_MAX : (int64_t(1) << (f.stateBits - 1)) - 1;
  if (state.empty())
    state.assign(static_cast<size_t>(x.b * H * P * N), 0);
  eval::Act out = like(x, x.c);
  std::vector<int32_t> dtx(static_cast<size_t>(P)), y(static_cast<size_t>(P));
  std::vector<int8_t> bq(static_cast<size_t>(N)), cq(static_cast<size_t>(N));
  for (int64_t b = 0; b < x.b; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int32_t *S = state.data() + (b * H + h) * P * N;
      const int64_t g = h / hpg;
      for (int64_t t = 0; t < x.l; ++t) {
        const double d = softplus(double(dt.row(b, t)[h]) + (*dtBias)[h]);
        const int32_t di = ref::sat32(std::llround(std::ldexp(d, f.dtFrac)));
        const int32_t decay =
            ref::sat32(std::llround(std::ldexp(std::exp(d * (*A)[h]), f.decayFrac)));
        const float *xt = x.row(b, t) + h * P, *bt = Bm.row(b, t) + g * N,
                    *ct = Cm.row(b, t) + g * N;
        // dt * x, then scaled to the common input shift (ovl: two mulsh32 with shift 0).
        for (int64_t p = 0; p < P; ++p)
          dtx[p] = ref::sat32(int64_t(ref::sat32(int64_t(di) * pot8(xt[p], f.x[h * P + p]))) *
                              (int64_t(1) << f.dtxShift[h * P + p]));
        for (int64_t n = 0; n < N; ++n) {
          bq[n] = pot8(bt[n], f.b[g * N + n]);
          cq[n] = pot8(ct[n], f.c[g * N + n]);
        }
        ref::ssmUpdate(S, dtx.data(), bq.data(), decay, unsigned(P), unsigned(N), f.decayFrac,
                       f.inShift);
        for (int64_t i = 0; i < P * N; ++i) // the state as stored: state_bits wide
          S[i] = static_cast<int32_t>(std::clamp<int64_t>(S[i], -smax, smax));
        ref::ssmOutput(S, cq.data(), y.data(), unsigned(P), unsigned(N), 0);
        float *o = out.row(b, t) + h * P;
        for (int64_t p = 0; p < P; ++p)
          o[p] = static_cast<float>(y[p] * std::ldexp(1.0, f.yExp[h * P + p]) +
                                    double((*D)[h]) * xt[p]);
      }
    }
  std::vector<eval::Act> results;
  results.push_back(std::move(out));
  return results;
}

} // namespace mamba2::quant
