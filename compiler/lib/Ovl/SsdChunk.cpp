// The chunked SSD form as a recipe of micro-ops (see SsdChunk.h).
#include "mamba2/Ovl/SsdChunk.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "mamba2/isa/Reference.h"

namespace mamba2::ssd {

namespace ref = isa::ref;

namespace {

int ceilLog2(double v) { return v <= 1 ? 0 : static_cast<int>(std::ceil(std::log2(v))); }

/// The shift s >= 0 that brings a bound `maxAbs` to at most 2^top.
int fitShift(double maxAbs, int top) { return std::max(0, ceilLog2(maxAbs) - top); }

// The matmul's m field is 6 bits (0..63): more rows run as iterations of a divisor of them.
int64_t rowsPerOp(int64_t m) {
  for (int64_t r = std::min<int64_t>(m, 63); r > 1; --r)
    if (m % r == 0)
      return r;
  return 1;
}

} // namespace

int splitShift(double maxAbs) {
  for (int s = 0; s < 63; ++s)
    if (std::floor(std::ldexp(maxAbs, -s) + 0.5) <= 32639.0)
      return s;
  return 63;
}

ChunkShifts chooseShifts(const ShiftBounds &b) {
  ChunkShifts sh;
  sh.decay = b.decayFrac;
  sh.multExp = b.multExp;
  const double dMax = std::max(1.0, b.dMax);
  // M = G * D * d_s: |G| <= N * 2^14 (int8 x int8 over N), |D| <= 2^df, |d| <= dMax; each
  // product brought below 2^30 before the next, then to 16 bits.
  double g = double(b.dState) * 16384.0;
  if (b.cbMax > 0)
    g = std::min(g, b.cbMax);
  const double gd = std::ldexp(g, b.decayFrac);
  sh.gd = fitShift(gd, 30);
  const double m1 = std::ldexp(gd, -sh.gd);
  sh.md = fitShift(m1 * dMax, 30);
  const double m2 = std::ldexp(m1 * dMax, -sh.md);
  sh.mSplit = splitShift(m2);
  // M in y's unit per unit of x8: G D d 2^e / 2^(df + K + O) = v 2^(gd + md + msplit + e - df - K
  // - O), so the matmul's shift is df + K + O - gd - md - msplit - e.
  sh.yShift = b.decayFrac + b.inShift + b.outShift - sh.gd - sh.md - sh.mSplit;
  // The entering state: |S| < 2^(bits - 1), 16 bits of it (state_split); y = C . S cum / 2^(df +
  // O).
  sh.stateSplit = b.stateMax > 0 ? splitShift(b.stateMax) : std::max(0, b.stateBits - 16);
  sh.cShift = b.decayFrac + b.outShift - sh.stateSplit;
  // The state update: w = D[Q-1][s] d_s (|w| <= 2^df dMax), B w (|B| <= 128), 16 bits of it;
  // x B D d 2^e / 2^(df + K) = x v 2^(w + bw + bwsplit + e - df - K).
  const double w = std::ldexp(dMax, b.decayFrac);
  sh.wShift = fitShift(w, 30);
  const double bw = 128.0 * std::ldexp(w, -sh.wShift);
  sh.bwShift = fitShift(bw, 30);
  sh.bwSplit = splitShift(std::ldexp(bw, -sh.bwShift));
  sh.sShift = b.decayFrac + b.inShift - sh.wShift - sh.bwShift - sh.bwSplit;
  return sh;
}

std::string checkShifts(const ChunkShape &s, const ChunkShifts &sh) {
  std::ostringstream os;
  if (s.chunk < 1 || s.chunk > 64)
    return "chunk must be in 1..64";
  if (s.heads < 1 || s.headDim < 1 || s.dState < 1 || s.groups < 1 || s.heads % s.groups)
    return "the sizes are not H, P, N >= 1 with G dividing H";
  if (int64_t(sh.multExp.size()) != s.heads)
    return "mult_exp must have one exponent per head";
  auto in = [&](int v, int lo, int hi, const char *name) {
    if (v < lo || v > hi)
      os << name << " = " << v << " is outside " << lo << ".." << hi << "; ";
  };
  in(sh.decay, 0, 30, "decay_shift");
  in(sh.gd, 0, 63, "gd_shift");
  in(sh.md, 0, 63, "md_shift");
  in(sh.mSplit, 0, 63, "m_split");
  in(sh.stateSplit, 0, 63, "state_split");
  in(sh.wShift, 0, 63, "w_shift");
  in(sh.bwShift, 0, 63, "bw_shift");
  in(sh.bwSplit, 0, 63, "bw_split");
  // gmm8's shift field: -31..63 for the lo product and the hi product (8 less).
  in(sh.cShift - 8, -31, 55, "c_shift - 8");
  in(sh.cShift, -23, 63, "c_shift");
  for (int64_t h = 0; h < s.heads; ++h) {
    const int e = sh.multExp[h];
    if (e < 0 || e > 30) {
      os << "mult_exp[" << h << "] = " << e << " is outside 0..30; ";
      continue;
    }
    if (sh.yShift - e - 8 < -31 || sh.yShift - e > 63)
      os << "y_shift - mult_exp[" << h << "] = " << sh.yShift - e << " is outside -23..63; ";
    if (sh.sShift - e - 8 < -31 || sh.sShift - e > 63)
      os << "s_shift - mult_exp[" << h << "] = " << sh.sShift - e << " is outside -23..63; ";
  }
  std::string r = os.str();
  if (r.size() >= 2)
    r.resize(r.size() - 2);
  return r;
}

const char *kindName(Kind k) {
  switch (k) {
  case Kind::Trn:
    return "trn";
  case Kind::SegDecay:
    return "segdecay";
  case Kind::Split16:
    return "split16";
  case Kind::Gmm8:
    return "gmm8";
  case Kind::Mulsh32:
    return "mulsh32";
  case Kind::Sext8:
    return "sext8";
  }
  return "?";
}

namespace {

class Builder {
public:
  Builder(const ChunkShape &s, const ChunkShifts &sh) : s_(s), sh_(sh) {}
  Recipe build();

private:
  int buffer(const std::string &name, bool i8, int64_t elems, Buffer::Role role) {
    r_.buffers.push_back({name, i8, elems, role, {}});
    return int(r_.buffers.size()) - 1;
  }
  /// A step of `kind` on its operands, appended; the caller sets the kind's fields.
  Step &add(Kind kind, Ref dst, Ref src0, Ref src1 = {}, Ref src2 = {}) {
    Step &st = r_.steps.emplace_back();
    st.kind = kind;
    st.dst = dst;
    st.src0 = src0;
    st.src1 = src1;
    st.src2 = src2;
    return st;
  }
  void trn(Ref dst, Ref src, int64_t rows, int64_t cols, int64_t bytes, int64_t srcPitch,
           int64_t dstPitch) {
    Step &st = add(Kind::Trn, dst, src);
    st.rows = rows;
    st.cols = cols;
    st.bytes = bytes;
    st.srcPitch = srcPitch;
    st.dstPitch = dstPitch;
  }
  void mulsh(Ref dst, Ref a, Ref b, int64_t len, int shift, bool bcast, int64_t iters = 1,
             int64_t sdst = 0, int64_t sa = 0, int64_t sb = 0) {
    Step &st = add(Kind::Mulsh32, dst, a, b);
    st.len = len;
    st.shift = shift;
    st.bcast = bcast;
    st.iters = iters;
    st.sdst = sdst;
    st.ssrc0 = sa;
    st.ssrc1 = sb;
  }
  void split(Ref hi, Ref lo, Ref src, int64_t len, int shift) {
    Step &st = add(Kind::Split16, hi, src, lo);
    st.len = len;
    st.shift = shift;
  }
  /// acc [M][N] (+)= act [M][K] (rows actPitch apart; 0: K) . wgt [N][K]^T (row pitch wpitch)
  /// with one group of K: rows at a pitch other than K one a micro-op, else as many as the m
  /// field takes (rowsPerOp).
  void gmm(Ref acc, Ref act, Ref wgt, Ref scl, int64_t M, int64_t K, int64_t N, int64_t wpitch,
           int shift, bool accum, int64_t actPitch = 0) {
    Step &st = add(Kind::Gmm8, acc, act, wgt, scl);
    const int64_t pitch = actPitch ? actPitch : K;
    const int64_t mr = pitch == K ? rowsPerOp(M) : 1;
    st.m = mr;
    st.k = K;
    st.n = N;
    st.wpitch = wpitch;
    st.shift = shift;
    st.accum = accum;
    st.iters = M / mr;
    st.sdst = mr * N;
    st.ssrc0 = mr * pitch;
  }

  const ChunkShape &s_;
  const ChunkShifts &sh_;
  Recipe r_;
};

Recipe Builder::build() {
  const int64_t H = s_.heads, P = s_.headDim, G = s_.groups, N = s_.dState, T = s_.rows,
                Q = s_.chunk, HP = H * P, GN = G * N, hpg = H / G;
  r_.x = buffer("x", true, T * HP, Buffer::In);
  r_.d = buffer("d", false, T * H, Buffer::In);
  r_.decay = buffer("decay", false, T * H, Buffer::In);
  r_.B = buffer("B", true, T * GN, Buffer::In);
  r_.C = buffer("C", true, T * GN, Buffer::In);
  r_.state = buffer("state", false, HP * N, Buffer::InOut);
  r_.y = buffer("y", false, T * HP, Buffer::Out);
  const int aT = buffer("aT", false, H * Q, Buffer::Temp),
            dT = buffer("dT", false, H * Q, Buffer::Temp),
            xT = buffer("xT", true, HP * Q, Buffer::Temp),
            gm = buffer("G", false, Q * Q, Buffer::Temp),
            bT = buffer("BT", true, N * Q, Buffer::Temp),
            bTx = buffer("BTx", false, N * Q, Buffer::Temp),
            L = buffer("L", false, Q * (Q + 1), Buffer::Temp),
            m1 = buffer("M", false, Q * Q, Buffer::Temp),
            mhi = buffer("Mhi", true, Q * Q, Buffer::Temp),
            mlo = buffer("Mlo", true, Q * Q, Buffer::Temp),
            yt = buffer("Yt", false, HP * Q, Buffer::Temp),
            shi = buffer("Shi", true, P * N, Buffer::Temp),
            slo = buffer("Slo", true, P * N, Buffer::Temp),
            cum = buffer("cum", false, Q, Buffer::Temp), wv = buffer("w", false, Q, Buffer::Temp),
            bw = buffer("BW", false, N * Q, Buffer::Temp),
            bwhi = buffer("BWhi", true, N * Q, Buffer::Temp),
            bwlo = buffer("BWlo", true, N * Q, Buffer::Temp);
  const int ones = buffer("ones", false, std::max(Q, N), Buffer::Const);
  r_.buffers[ones].init.assign(size_t(std::max(Q, N)), 1);
  for (int64_t c0 = 0; c0 < T; c0 += Q) {
    const int64_t q = std::min(Q, T - c0); // this chunk's rows
    // Per chunk: the decays, dt and x transposed, head by head.
    trn({aT, 0}, {r_.decay, c0 * H}, q, H, 4, H, q);
    trn({dT, 0}, {r_.d, c0 * H}, q, H, 4, H, q);
    trn({xT, 0}, {r_.x, c0 * HP}, q, HP, 1, HP, q);
    for (int64_t g = 0; g < G; ++g) {
      const Ref cg{r_.C, c0 * GN + g * N}, bg{r_.B, c0 * GN + g * N};
      // G[t][s] = C_t . B_s (C's rows GN apart: with one group, q rows a micro-op).
      gmm({gm, 0}, cg, bg, {ones, 0}, q, N, q, GN, 0, false, GN);
      // B^T [N][q] as int32, for the state update's B_s[n] * w_s.
      trn({bT, 0}, bg, q, N, 1, GN, q);
      add(Kind::Sext8, {bTx, 0}, {bT, 0}).len = N * q;
      for (int64_t h = g * hpg; h < (g + 1) * hpg; ++h) {
        const int e = sh_.multExp[h];
        const Ref xh{xT, h * P * q}, yh{yt, h * P * q}, sth{r_.state, h * P * N};
        Step &sd = add(Kind::SegDecay, {L, 0}, {aT, h * q});
        sd.len = q;
        sd.shift = sh_.decay;
        // M[t][s] = rnd(rnd(G * D, gd) * d_s, md), rows t one micro-op each.
        mulsh({m1, 0}, {gm, 0}, {L, 1}, q, sh_.gd, false, q, q, q, q + 1);
        mulsh({m1, 0}, {m1, 0}, {dT, h * q}, q, sh_.md, false, q, q, q, 0);
        split({mhi, 0}, {mlo, 0}, {m1, 0}, q * q, sh_.mSplit);
        // Yt_h [P][q] = x_h^T . M^T: hi (x 256 through the shift) then lo.
        gmm(yh, xh, {mhi, 0}, {ones, 0}, P, q, q, q, sh_.yShift - e - 8, false);
        gmm(yh, xh, {mlo, 0}, {ones, 0}, P, q, q, q, sh_.yShift - e, true);
        // Yt_h += S0_h . C_t^T * cum[t].
        split({shi, 0}, {slo, 0}, sth, P * N, sh_.stateSplit);
        trn({cum, 0}, {L, 0}, q, 1, 4, q + 1, q);
        gmm(yh, {shi, 0}, cg, {cum, 0}, P, N, q, GN, sh_.cShift - 8, true);
        gmm(yh, {slo, 0}, cg, {cum, 0}, P, N, q, GN, sh_.cShift, true);
        // S_h = rnd(S0_h * cum[q-1], df) + x_h^T . (B * rnd(D[q-1][s] d_s, w))^T.
        mulsh({wv, 0}, {L, (q - 1) * (q + 1) + 1}, {dT, h * q}, q, sh_.wShift, false);
        mulsh({bw, 0}, {bTx, 0}, {wv, 0}, q, sh_.bwShift, false, N, q, q, 0);
        split({bwhi, 0}, {bwlo, 0}, {bw, 0}, N * q, sh_.bwSplit);
        mulsh(sth, sth, {L, (q - 1) * (q + 1)}, P * N, sh_.decay, true);
        gmm(sth, xh, {bwhi, 0}, {ones, 0}, P, q, N, q, sh_.sShift - e - 8, true);
        gmm(sth, xh, {bwlo, 0}, {ones, 0}, P, q, N, q, sh_.sShift - e, true);
      }
    }
    // y rows c0.. = Yt^T.
    trn({r_.y, c0 * HP}, {yt, 0}, HP, q, 4, q, HP);
  }
  return std::move(r_);
}

// Elements an operand spans from its offset (0: the operand is not used).
struct Spans {
  int64_t dst = 0, src0 = 0, src1 = 0, src2 = 0;
};
Spans spans(const Step &st) {
  Spans s;
  switch (st.kind) {
  case Kind::Trn:
    s.src0 = (st.rows - 1) * st.srcPitch + st.cols;
    s.dst = (st.cols - 1) * st.dstPitch + st.rows;
    break;
  case Kind::SegDecay:
    s.src0 = st.len;
    s.dst = st.len * (st.len + 1);
    break;
  case Kind::Split16:
    s.src0 = s.dst = s.src1 = st.len;
    break;
  case Kind::Gmm8:
    s.dst = st.m * st.n;
    s.src0 = st.m * st.k;
    s.src1 = (st.n - 1) * st.wpitch + st.k;
    s.src2 = st.n;
    break;
  case Kind::Mulsh32:
    s.dst = s.src0 = st.len;
    s.src1 = st.bcast ? 1 : st.len;
    break;
  case Kind::Sext8:
    s.dst = s.src0 = st.len;
    break;
  }
  return s;
}

} // namespace

Recipe buildRecipe(const ChunkShape &s, const ChunkShifts &sh) { return Builder(s, sh).build(); }

std::string Recipe::describe() const {
  std::ostringstream os;
  auto name = [&](const Ref &r) {
    return r.buf < 0 ? std::string("-") : buffers[r.buf].name + "[" + std::to_string(r.off) + "]";
  };
  for (const Step &st : steps) {
    os << kindName(st.kind) << " " << name(st.dst) << " <- " << name(st.src0);
    if (st.src1.buf >= 0)
      os << ", " << name(st.src1);
    if (st.src2.buf >= 0)
      os << ", " << name(st.src2);
    switch (st.kind) {
    case Kind::Trn:
      os << " rows=" << st.rows << " cols=" << st.cols << " bytes=" << st.bytes
         << " pitch=" << st.srcPitch << "/" << st.dstPitch;
      break;
    case Kind::Gmm8:
      os << " m=" << st.m << " k=" << st.k << " n=" << st.n << " wpitch=" << st.wpitch
         << " shift=" << st.shift << (st.accum ? " accum" : "");
      break;
    default:
      os << " len=" << st.len << " shift=" << st.shift << (st.bcast ? " bcast" : "");
    }
    if (st.iters > 1)
      os << " iters=" << st.iters << " strides=" << st.sdst << "/" << st.ssrc0 << "/" << st.ssrc1
         << "/" << st.ssrc2;
    os << "\n";
  }
  return os.str();
}

std::string execute(const Recipe &r, std::vector<std::vector<int32_t>> &io) {
  const size_t nb = r.buffers.size();
  if (io.size() < nb)
    io.resize(nb);
  std::vector<std::vector<int32_t>> w(nb);
  std::vector<std::vector<int8_t>> b(nb);
  for (size_t i = 0; i < nb; ++i) {
    const Buffer &buf = r.buffers[i];
    const size_t n = size_t(buf.elems);
    const bool given = buf.role == Buffer::In || buf.role == Buffer::InOut;
    if (given && io[i].size() != n)
      return "buffer " + buf.name + " has " + std::to_string(io[i].size()) + " elements, not " +
             std::to_string(n);
    const std::vector<int32_t> *src = given                       ? &io[i]
                                      : buf.role == Buffer::Const ? &buf.init
                                                                  : nullptr;
    if (buf.i8) {
      b[i].assign(n, 0);
      if (src)
        for (size_t k = 0; k < n && k < src->size(); ++k)
          b[i][k] = static_cast<int8_t>((*src)[k]);
    } else {
      w[i].assign(n, 0);
      if (src)
        std::copy_n(src->begin(), std::min(n, src->size()), w[i].begin());
    }
  }
  auto at = [&](const Ref &ref, int64_t extra) -> void * {
    const int64_t off = ref.off + extra;
    return r.buffers[ref.buf].i8 ? static_cast<void *>(b[ref.buf].data() + off)
                                 : static_cast<void *>(w[ref.buf].data() + off);
  };
  for (size_t si = 0; si < r.steps.size(); ++si) {
    const Step &st = r.steps[si];
    const Spans sp = spans(st);
    const std::pair<const Ref *, std::pair<int64_t, int64_t>> ops[] = {
        {&st.dst, {sp.dst, st.sdst}},
        {&st.src0, {sp.src0, st.ssrc0}},
        {&st.src1, {sp.src1, st.ssrc1}},
        {&st.src2, {sp.src2, st.ssrc2}}};
    for (const auto &[ref, ext] : ops) {
      if (ext.first <= 0 || ref->buf < 0)
        continue;
      const int64_t last = ref->off + (st.iters - 1) * ext.second + ext.first;
      if (ref->off < 0 || last > r.buffers[ref->buf].elems)
        return "step " + std::to_string(si) + " (" + kindName(st.kind) + ") reaches outside " +
               r.buffers[ref->buf].name;
    }
    for (int64_t i = 0; i < st.iters; ++i) {
      switch (st.kind) {
      case Kind::Trn:
        ref::transpose(at(st.src0, i * st.ssrc0), at(st.dst, i * st.sdst), unsigned(st.rows),
                       unsigned(st.cols), unsigned(st.bytes), unsigned(st.srcPitch),
                       unsigned(st.dstPitch));
        break;
      case Kind::SegDecay:
        ref::segDecay(static_cast<const int32_t *>(at(st.src0, i * st.ssrc0)),
                      static_cast<int32_t *>(at(st.dst, i * st.sdst)), unsigned(st.len), st.shift);
        break;
      case Kind::Split16:
        ref::split16(static_cast<const int32_t *>(at(st.src0, i * st.ssrc0)),
                     static_cast<int8_t *>(at(st.dst, i * st.sdst)),
                     static_cast<int8_t *>(at(st.src1, i * st.ssrc1)), unsigned(st.len), st.shift);
        break;
      case Kind::Gmm8: {
        // wgt rows `wpitch` bytes apart: gathered into [n][k] for matmulGrouped.
        const int8_t *wg = static_cast<const int8_t *>(at(st.src1, i * st.ssrc1));
        std::vector<int8_t> packed(size_t(st.n * st.k));
        for (int64_t n = 0; n < st.n; ++n)
          std::copy_n(wg + n * st.wpitch, st.k, packed.begin() + n * st.k);
        ref::matmulGrouped(static_cast<const int8_t *>(at(st.src0, i * st.ssrc0)),
                           reinterpret_cast<const uint8_t *>(packed.data()), false,
                           static_cast<const int32_t *>(at(st.src2, i * st.ssrc2)),
                           static_cast<int32_t *>(at(st.dst, i * st.sdst)), unsigned(st.m),
                           unsigned(st.k), unsigned(st.n), unsigned(st.k), st.shift, st.accum);
        break;
      }
      case Kind::Mulsh32: {
        const int32_t *a = static_cast<const int32_t *>(at(st.src0, i * st.ssrc0));
        const int32_t *bb = static_cast<const int32_t *>(at(st.src1, i * st.ssrc1));
        int32_t *d = static_cast<int32_t *>(at(st.dst, i * st.sdst));
        for (int64_t k = 0; k < st.len; ++k)
          d[k] = ref::sat32(ref::rnd(int64_t(a[k]) * bb[st.bcast ? 0 : k], st.shift));
        break;
      }
      case Kind::Sext8: {
        const int8_t *a = static_cast<const int8_t *>(at(st.src0, i * st.ssrc0));
        int32_t *d = static_cast<int32_t *>(at(st.dst, i * st.sdst));
        for (int64_t k = 0; k < st.len; ++k)
          d[k] = a[k];
        break;
      }
      }
    }
  }
  for (size_t i = 0; i < nb; ++i) {
    const Buffer &buf = r.buffers[i];
    if (buf.role != Buffer::InOut && buf.role != Buffer::Out)
      continue;
    io[i].resize(size_t(buf.elems));
    for (size_t k = 0; k < io[i].size(); ++k)
      io[i][k] = buf.i8 ? int32_t(b[i][k]) : w[i][k];
  }
  return "";
}

} // namespace mamba2::ssd
