// Hand-built `ovl` model functions for the emitter's tests: one or more Mamba2-shaped layers
// that use every ovl op and every broadcast form, with seeded random constants (not splats, so
// a wrong index shows), as MLIR text.
#pragma once

#include "mamba2/isa/PwlBuild.h"

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace mamba2::codegen::test {

struct ModelShape {
  int d = 16;     // d_model
  int di = 32;    // d_inner (h * 2^k for fwht)
  int heads = 4;  // H (P = di / heads)
  int ns = 8;     // d_state
  int groups = 1; // ngroups of B / C
  int vocab = 24; // V
  int layers = 1;
  int inBits = 8, outBits = 4, headBits = 8;
  int group = 8;            // K-group of the scales
  bool streamLogits = true; // lm_head's output returned directly
  int vocabPad = 0;         // lm_head rows beyond the vocabulary, sliced off
  bool cBeforeB = false;    // C's columns of the conv output before B's (no fused ssmstep)
  bool layerShifts = false; // shifts that differ from layer to layer (as the quantiser's do)
  /// dt's bias and A as splats, equal to each other in layer 1 only (two ops with the same
  /// constant attribute in one layer and not in the others)
  bool splatHeads = false;
  /// Every constant but the tables a splat of its range's middle: shapes only, for the cost
  /// model's tests of full-size dimensions (text of a few KB; never emitted or evaluated).
  bool splatConstants = false;
  /// dt·x as ovl-ssd-form{form=chunked} rewrites it: x8 sext'd times dt with no rounding (the
  /// scan's in_shift takes the 12 bits the product's shift took otherwise).
  bool chunkable = false;
  uint32_t seed = 1;
};

class ModelWriter {
public:
  explicit ModelWriter(const ModelShape &s) : s_(s), rng_(s.seed) {}

  std::string text() {
    const ModelShape &s = s_;
    const int P = s.di / s.heads, C = s.di + 2 * s.groups * s.ns;
    const int NP = s.di + C + s.heads; // z, xBC, dt
    std::ostringstream sig, ret, rtypes;
    sig << "%ids: tensor<?xi32>";
    rtypes << "tensor<?x" << s.vocab << "xi32>";
    for (int l = 0; l < s.layers; ++l) {
      sig << ", %cs" << l << ": tensor<" << C << "x3xi8>, %ss" << l << ": tensor<" << s.heads << "x"
          << P << "x" << s.ns << "xi32>";
      rtypes << ", tensor<" << C << "x3xi8>, tensor<" << s.heads << "x" << P << "x" << s.ns
             << "xi32>";
    }
    o_ << "func.func @main(" << sig.str() << ") -> (" << rtypes.str()
       << ") attributes {ovl.logit_frac = 8 : i64} {\n";
    std::string table = cnst("embedding", {s.vocab, s.d}, 32, -3000, 3000);
    std::string h = val();
    o_ << "  " << h << " = ovl.embed %ids, " << table << " : (tensor<?xi32>, tensor<" << s.vocab
       << "x" << s.d << "xi32>) -> " << act(s.d) << "\n";
    std::string rs = tbl(isa::buildRsqrtTable(16, 16));
    std::string silu = tbl(isa::buildPwl("silu", {-8, 8, 32, 10, 12}));
    std::string softplus = tbl(isa::buildPwl("softplus", {-8, 8, 16, 12, 12}));
    std::string expT = tbl(isa::buildPwl("exp", {-8, 0, 32, 12, 15}));
    std::vector<std::string> newStates;
    for (int l = 0; l < s.layers; ++l) {
      // RMSNorm: sum of squares per row ([T][1]), rsqrt, per-row and per-channel multiplies.
      std::string ss = un("sumsq", h, s.d, 1, "{groups = 1 : i64, shift = 6 : i64}");
      std::string r = bin("rsqrt", ss, rs, 1, "", tblType(isa::buildRsqrtTable(16, 16).size()));
      std::string n = bcast("mul", h, r, s.d, "[T]", 1, "{shift = 7 : i64}");
      std::string gamma = cnst("", {1, s.d}, 32, 1 << 13, 1 << 15);
      std::string nw = bcast("mul", n, gamma, s.d, "1", s.d, "{shift = 14 : i64}", true);
      std::string a = requant(nw, s.d, false, 16, 17);
      std::string p = matmul(a, s.d, NP, s.inBits, 10);
      std::string z = slice(p, NP, 0, s.di, 32);
      std::string xbc = slice(p, NP, s.di, C, 32);
      std::string dt = slice(p, NP, s.di + C, s.heads, 32);
      std::string x8 = requant(xbc, C, true, 22, 23);
      // conv4 + SiLU
      std::string cw = cnst("", {C, 4}, 8, -60, 60), cb = cnst("", {C}, 32, -500, 500);
      std::string y = val(), cs1 = val();
      o_ << "  " << y << ", " << cs1 << " = ovl.conv4 " << x8 << ", " << cw << ", " << cb << ", %cs"
         << l << " : (" << act(C, 8) << ", tensor<" << C << "x4xi8>, tensor<" << C
         << "xi32>, tensor<" << C << "x3xi8>) -> (" << act(C) << ", tensor<" << C << "x3xi8>)\n";
      std::string g = pwl(y, silu, C, "silu");
      std::string g8 = un("shr", g, C, C, "{shift = 9 : i64}", 8);
      std::string xs = slice(g8, C, 0, s.di, 8);
      const int bAt = s.di + (s.cBeforeB ? s.groups * s.ns : 0),
                cAt = s.di + (s.cBeforeB ? 0 : s.groups * s.ns);
      std::string B = slice(g8, C, bAt, s.groups * s.ns, 8);
      std::string Cc = slice(g8, C, cAt, s.groups * s.ns, 8);
      std::string x32 = un("sext", xs, s.di, s.di, "{shift = 2 : i64}", 32, 8);
      // dt: per-head bias ([1][H]), softplus, decay = exp(dt * A), dt * x per head ([T][H]) (the
      // order m2-lower-to-ovl gives them: softplus, its product by A and exp one after the other).
      std::string dt6 = un("shift", dt, s.heads, s.heads, "{shift = 6 : i64}");
      std::string dtb =
          bcast("add", dt6,
                s.splatHeads ? splat({1, s.heads}, -700) : cnst("", {1, s.heads}, 32, -3000, 3000),
                s.heads, "1", s.heads, "", true);
      std::string dts = pwl(dtb, softplus, s.heads, "softplus");
      std::string dA = bcast("mul", dts,
                             s.splatHeads ? splat({1, s.heads}, l == 1 ? -700 : -2000 - 100 * l)
                                          : cnst("", {1, s.heads}, 32, -9000, -500),
                             s.heads, "1", s.heads, "{shift = 12 : i64}", true);
      std::string decay = pwl(dA, expT, s.heads, "exp");
      std::string dtx = bcast("mul", x32, dts, s.di, "[T]", s.heads,
                              s.chunkable ? "{shift = 0 : i64}" : "{shift = 12 : i64}");
      std::string ys = val(), ss1 = val();
      o_ << "  " << ys << ", " << ss1 << " = ovl.ssm " << dtx << ", " << decay << ", " << B << ", "
         << Cc << ", %ss" << l
         << " {decay_shift = 15 : i64, in_shift = " << 6 + ls(l) + (s.chunkable ? 12 : 0)
         << " : i64, ngroups = " << s.groups << " : i64, out_shift = 8 : i64} : (" << act(s.di)
         << ", " << act(s.heads) << ", " << act(s.groups * s.ns, 8) << ", "
         << act(s.groups * s.ns, 8) << ", tensor<" << s.heads << "x" << P << "x" << s.ns
         << "xi32>) -> (" << act(s.di) << ", tensor<" << s.heads << "x" << P << "x" << s.ns
         << "xi32>)\n";
      // D skip (one constant per head, [1][H]), gating by z (elementwise), gated norm by groups.
      std::string dskip = bcast("mul", x32, cnst("", {1, s.heads}, 32, 1000, 30000), s.di, "1",
                                s.heads, "{shift = 12 : i64}", true);
      std::string yd = bcast("add", ys, dskip, s.di, "[T]", s.di, "");
      std::string z4 = un("shift", z, s.di, s.di, "{shift = 4 : i64}");
      std::string zs = pwl(z4, silu, s.di, "silu");
      std::string yg = bcast("mul", yd, zs, s.di, "[T]", s.di, "{shift = 10 : i64}");
      std::string ss2 = un("sumsq", yg, s.di, 2, "{groups = 2 : i64, shift = 8 : i64}");
      std::string r2 = bin("rsqrt", ss2, rs, 2, "", tblType(isa::buildRsqrtTable(16, 16).size()));
      std::string yn = bcast("mul", yg, r2, s.di, "[T]", 2, "{shift = 8 : i64}");
      std::string hd = un("fwht", yn, s.di, s.di, "");
      std::string hs = un("shift", hd, s.di, s.di, "{shift = -1 : i64}");
      std::string hs2 = un("shift", hs, s.di, s.di, "{shift = 3 : i64}");
      std::string o8 =
          un("shr", hs2, s.di, s.di, "{shift = " + std::to_string(4 + ls(l)) + " : i64}", 8);
      std::string out = matmul(o8, s.di, s.d, s.outBits, 11 + ls(l));
      h = bcast("add", h, out, s.d, "[T]", s.d, "");
      newStates.push_back(cs1);
      newStates.push_back(ss1);
    }
    // The final RMSNorm (norm_f, which every Mamba2 has): the last residual add and its sum of
    // squares are one addsumsq run, as each layer's add and the next layer's norm are.
    std::string ssf = un("sumsq", h, s.d, 1, "{groups = 1 : i64, shift = 6 : i64}");
    std::string rf = bin("rsqrt", ssf, rs, 1, "", tblType(isa::buildRsqrtTable(16, 16).size()));
    std::string nf = bcast("mul", h, rf, s.d, "[T]", 1, "{shift = 7 : i64}");
    std::string a = requant(nf, s.d, false, 17, 18);
    const int nv = s.vocab + s.vocabPad;
    std::string logits = matmul(a, s.d, nv, s.headBits, 9);
    if (s.streamLogits) {
      // The lm_head's epilogue (per-channel scale, a shift, a per-tensor offset): applied to
      // each streamed tile.
      logits = bcast("mul", logits, cnst("", {1, nv}, 32, 1 << 12, 1 << 14), nv, "1", nv,
                     "{shift = 13 : i64}", true);
      logits = un("shift", logits, nv, nv, "{shift = -1 : i64}");
      logits = bcast("add", logits, cnst("", {1, 1}, 32, -999, 999), nv, "1", 1, "", true);
    } else {
      // An activation operand: the logits are computed whole, then stored.
      logits = bcast("add", logits, logits, nv, "[T]", nv, "");
    }
    if (s.vocabPad)
      logits = slice(logits, nv, 0, s.vocab, 32);
    o_ << "  return " << logits;
    for (auto &v : newStates)
      o_ << ", " << v;
    o_ << " : " << rtypes.str() << "\n}\n";
    return o_.str();
  }

private:
  ModelShape s_;
  std::mt19937 rng_;
  std::ostringstream o_;
  int n_ = 0;

  std::string val() { return "%v" + std::to_string(n_++); }
  static std::string act(int c, int bits = 32) {
    return "tensor<?x" + std::to_string(c) + "xi" + std::to_string(bits) + ">";
  }
  int rnd(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string cnst(const std::string &name, std::vector<int> shape, int bits, int lo, int hi) {
    std::string v = val();
    int64_t n = 1;
    for (int d : shape)
      n *= d;
    std::ostringstream t;
    t << "tensor<";
    for (int d : shape)
      t << d << "x";
    t << "i" << bits << ">";
    o_ << "  " << v << " = ovl.constant ";
    if (!name.empty())
      o_ << "{name = \"" << name << "\"} ";
    if (s_.splatConstants) {
      o_ << "dense<" << (lo + hi) / 2 << "> : " << t.str() << "\n";
      return v;
    }
    o_ << "dense<";
    int64_t i = 0;
    std::function<void(size_t)> dim = [&](size_t k) {
      o_ << "[";
      for (int j = 0; j < shape[k]; ++j) {
        if (j)
          o_ << ", ";
        if (k + 1 == shape.size())
          o_ << rnd(lo, hi), ++i;
        else
          dim(k + 1);
      }
      o_ << "]";
    };
    dim(0);
    o_ << "> : " << t.str() << "\n";
    return v;
  }
  /// An i32 constant of `shape` with every element `value` (a splat attribute).
  std::string splat(std::vector<int> shape, int value) {
    std::string v = val();
    o_ << "  " << v << " = ovl.constant dense<" << value << "> : tensor<";
    for (int d : shape)
      o_ << d << "x";
    o_ << "i32>\n";
    return v;
  }
  static std::string tblType(size_t n) { return "tensor<" + std::to_string(n) + "xi32>"; }
  std::string tbl(const std::vector<int32_t> &w) {
    std::string v = val();
    o_ << "  " << v << " = ovl.constant dense<[";
    for (size_t i = 0; i < w.size(); ++i)
      o_ << (i ? ", " : "") << w[i];
    o_ << "]> : " << tblType(w.size()) << "\n";
    tables_[v] = w.size();
    return v;
  }
  std::map<std::string, size_t> tables_;
  std::string un(const std::string &op, const std::string &x, int c, int outC,
                 const std::string &attrs, int outBits = 32, int inBits = 32) {
    std::string v = val();
    o_ << "  " << v << " = ovl." << op << " " << x << " " << attrs << " : (" << act(c, inBits)
       << ") -> " << act(outC, outBits) << "\n";
    return v;
  }
  std::string bin(const std::string &op, const std::string &x, const std::string &t, int c,
                  const std::string &attrs, const std::string &ttype) {
    std::string v = val();
    o_ << "  " << v << " = ovl." << op << " " << x << ", " << t << " " << attrs << " : (" << act(c)
       << ", " << ttype << ") -> " << act(c) << "\n";
    return v;
  }
  std::string pwl(const std::string &x, const std::string &t, int c, const std::string &fn) {
    return bin("pwl", x, t, c, "{function = \"" + fn + "\"}", tblType(tables_[t]));
  }
  /// y of shape [rows][cy], rows "[T]" (dynamic) or "1".
  std::string bcast(const std::string &op, const std::string &x, const std::string &y, int c,
                    const std::string &rows, int cy, const std::string &attrs, bool = false) {
    std::string v = val();
    std::string yt = rows == "1" ? "tensor<1x" + std::to_string(cy) + "xi32>" : act(cy);
    o_ << "  " << v << " = ovl." << op << " " << x << ", " << y << " " << attrs << " : (" << act(c)
       << ", " << yt << ") -> " << act(c) << "\n";
    return v;
  }
  std::string requant(const std::string &x, int c, bool broadcast, int shLo, int shHi) {
    int n = broadcast ? 1 : c;
    std::string m = cnst("", {n}, 32, 1 << 12, 1 << 13), sh = cnst("", {n}, 8, shLo, shHi);
    std::string v = val();
    o_ << "  " << v << " = ovl.requant " << x << ", " << m << ", " << sh << " : (" << act(c)
       << ", tensor<" << n << "xi32>, tensor<" << n << "xi8>) -> " << act(c, 8) << "\n";
    return v;
  }
  /// A layer's shift offset (0 unless layerShifts: 0, 1, 0, 1, ...).
  int ls(int l) const { return s_.layerShifts ? l % 2 : 0; }
  std::string matmul(const std::string &a, int k, int n, int bits, int shift) {
    int lim = bits == 4 ? 7 : 127;
    std::string w = cnst("", {n, k}, 8, -lim - 1, lim);
    std::string s = cnst("", {n, k / s_.group}, 32, 1 << 10, 1 << 13);
    std::string v = val();
    o_ << "  " << v << " = ovl.matmul " << a << ", " << w << ", " << s << " {bits = " << bits
       << " : i64, group = " << s_.group << " : i64, shift = " << shift << " : i64} : ("
       << act(k, 8) << ", tensor<" << n << "x" << k << "xi8>, tensor<" << n << "x" << k / s_.group
       << "xi32>) -> " << act(n) << "\n";
    return v;
  }
  std::string slice(const std::string &x, int c, int off, int size, int bits) {
    std::string v = val();
    o_ << "  " << v << " = ovl.slice " << x << " {offset = " << off << " : i64, size = " << size
       << " : i64} : (" << act(c, bits) << ") -> " << act(size, bits) << "\n";
    return v;
  }
};

inline std::string modelText(const ModelShape &s) { return ModelWriter(s).text(); }

} // namespace mamba2::codegen::test
