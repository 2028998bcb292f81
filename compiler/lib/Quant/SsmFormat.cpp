// The power-of-two formats of the SSM and conv (see SsmFormat.h).
#include "mamba2/Quant/SsmFormat.h"

#include <algorithm>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace mamba2::quant {

std::optional<std::vector<int>> channelExponents(Operation *op, llvm::StringRef name,
                                                 int64_t channels) {
  Attribute a = op->getAttr(name);
  if (auto i = dyn_cast_or_null<IntegerAttr>(a))
    return std::vector<int>(static_cast<size_t>(channels), static_cast<int>(i.getInt()));
  auto d = dyn_cast_or_null<DenseIntElementsAttr>(a);
  if (!d || d.getNumElements() != channels || !d.getElementType().isInteger(32))
    return std::nullopt;
  std::vector<int> out;
  out.reserve(static_cast<size_t>(channels));
  for (const APInt &v : d.getValues<APInt>())
    out.push_back(static_cast<int>(v.getSExtValue()));
  return out;
}

Attribute exponentsAttr(Builder &b, llvm::ArrayRef<int> perChannel) {
  std::vector<int32_t> v(perChannel.begin(), perChannel.end());
  auto t = RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getI32Type());
  return DenseIntElementsAttr::get(t, llvm::ArrayRef<int32_t>(v));
}

llvm::Expected<SsmScanFormat> ssmScanFormat(m2::SSDOp op, int64_t H, int64_t P, int64_t G,
                                            int64_t N) {
  auto fail = [&](const llvm::Twine &msg) -> llvm::Error {
    std::string loc;
    llvm::raw_string_ostream os(loc);
    os << op.getLoc();
    return llvm::createStringError("m2.ssd at " + loc + ": " + msg);
  };
  SsmScanFormat f;
  auto x = channelExponents(op, "quant.x_exp", H * P),
       s = channelExponents(op, "quant.state_exp", H * P),
       b = channelExponents(op, "quant.b_exp", G * N),
       c = channelExponents(op, "quant.c_exp", G * N);
  auto scalar = [&](llvm::StringRef n) -> std::optional<int> {
    if (auto a = op->getAttrOfType<IntegerAttr>(n))
      return static_cast<int>(a.getInt());
    return std::nullopt;
  };
  auto bits = scalar("quant.state_bits"), dtf = scalar("quant.dt_frac"),
       df = scalar("quant.decay_frac");
  if (!x || !s || !b || !c || !bits || !dtf || !df)
    return fail("quant.x_exp, quant.b_exp, quant.c_exp, quant.state_exp (one integer or one per "
                "channel), quant.state_bits, quant.dt_frac and quant.decay_frac are needed (run "
                "m2-calibrate and m2-quantize-ssm)");
  if (*bits < 2 || *bits > 32)
    return fail("quant.state_bits must be 2..32, not " + llvm::Twine(*bits));
  if (G <= 0 || H % G != 0)
    return fail("the head count " + llvm::Twine(H) + " is not a multiple of ngroups " +
                llvm::Twine(G));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t n = 1; n < N; ++n)
      if ((*b)[g * N + n] != (*b)[g * N] || (*c)[g * N + n] != (*c)[g * N])
        return fail("B's and C's exponents must be equal within each of the " + llvm::Twine(G) +
                    " groups (ssmout sums over N with one shift)");
  f.x = std::move(*x);
  f.state = std::move(*s);
  f.b = std::move(*b);
  f.c = std::move(*c);
  f.stateBits = *bits;
  f.dtFrac = *dtf;
  f.decayFrac = *df;
  const int64_t hpg = H / G;
  std::vector<int> k(static_cast<size_t>(H * P));
  f.yExp.resize(k.size());
  for (int64_t ch = 0; ch < H * P; ++ch) {
    const int64_t g = ch / P / hpg;
    k[ch] = f.state[ch] - (f.x[ch] - f.dtFrac + f.b[g * N]);
    if (k[ch] < 0 || k[ch] > 62)
      return fail("channel " + llvm::Twine(ch) + "'s input shift " + llvm::Twine(k[ch]) +
                  " (state_exp - (x_exp - dt_frac + b_exp)) is outside 0..62");
    f.yExp[ch] = f.state[ch] + f.c[g * N];
  }
  f.inShift = *std::max_element(k.begin(), k.end());
  f.dtxShift.resize(k.size());
  for (size_t ch = 0; ch < k.size(); ++ch) {
    f.dtxShift[ch] = f.inShift - k[ch];
    if (f.dtxShift[ch] > 24)
      return fail("channel " + llvm::Twine(ch) + "'s dt * x would be scaled by 2^" +
                  llvm::Twine(f.dtxShift[ch]) + " (more than 2^24) to meet the common input shift");
  }
  return f;
}

} // namespace mamba2::quant
