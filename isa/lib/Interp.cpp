// Serial reference execution. Scratchpad data is little-endian and unaligned, so operands are
// copied into typed host arrays, computed with Reference.h and copied back.
#include "mamba2/isa/Interp.h"

#include "mamba2/isa/Reference.h"

#include <cstring>

namespace mamba2::isa {

Memory Memory::forProgram(const Program &p, uint64_t spadBytes) {
  Memory m;
  m.spad.assign(spadBytes, 0);
  for (unsigned r = 0; r < kNumRegions; ++r) {
    m.dram[r].assign(p.regions[r].size, 0);
    std::copy(p.regions[r].init.begin(),
              p.regions[r].init.begin() +
                  std::min<size_t>(p.regions[r].init.size(), p.regions[r].size),
              m.dram[r].begin());
  }
  return m;
}

Limits Memory::limits() const {
  Limits l;
  l.spadBytes = spad.size();
  for (unsigned r = 0; r < kNumRegions; ++r)
    l.regionBytes[r] = dram[r].size();
  return l;
}

namespace {

template <typename T> std::vector<T> load(const std::vector<uint8_t> &m, int64_t addr, size_t n) {
  std::vector<T> v(n);
  if (n)
    std::memcpy(v.data(), m.data() + addr, n * sizeof(T));
  return v;
}
template <typename T> void store(std::vector<uint8_t> &m, int64_t addr, const std::vector<T> &v) {
  if (!v.empty())
    std::memcpy(m.data() + addr, v.data(), v.size() * sizeof(T));
}

std::string runUop(const UopArgs &u, Memory &mem) {
  std::vector<uint8_t> &s = mem.spad;
  std::string e = checkUopRanges(u, mem.limits());
  if (!e.empty())
    return e;
  if (u.isDma()) {
    for (uint32_t r = 0; r < u.rows; ++r) {
      uint8_t *d = mem.dram[u.region].data() + u.src1 + uint64_t(r) * u.stride;
      uint8_t *sp = s.data() + u.dst + uint64_t(r) * u.rowb;
      if (u.op == UopCode::Load2d)
        std::memmove(sp, d, u.rowb);
      else
        std::memmove(d, sp, u.rowb);
    }
    return "";
  }
  if (u.isMatrix()) {
    if (u.m == 0 || u.n == 0)
      return "";
    auto act = load<int8_t>(s, u.src0, size_t(u.m) * u.k);
    auto acc = load<int32_t>(s, u.dst, size_t(u.m) * u.n);
    // Weight rows `wpitch` bytes apart (0: dense), gathered into [N][K] (int4 [N][K/2]).
    const size_t rowBytes = u.isInt4() ? u.k / 2 : u.k, pitch = u.wpitch ? u.wpitch : rowBytes;
    std::vector<uint8_t> w(size_t(u.n) * rowBytes);
    for (size_t n = 0; n < u.n; ++n) {
      auto row = load<uint8_t>(s, u.src1 + int64_t(n * pitch), rowBytes);
      std::copy(row.begin(), row.end(), w.begin() + std::ptrdiff_t(n * rowBytes));
    }
    if (u.isGrouped()) {
      auto scl = load<int32_t>(s, u.src2, size_t(u.n) * (u.k / u.group));
      ref::matmulGrouped(act.data(), w.data(), u.isInt4(), scl.data(), acc.data(), u.m, u.k, u.n,
                         u.group, u.shift, u.accum);
    } else if (u.isInt4()) {
      ref::matmulI4(act.data(), w.data(), acc.data(), u.m, u.k, u.n, u.accum);
    } else {
      ref::matmulI8(act.data(), reinterpret_cast<const int8_t *>(w.data()), acc.data(), u.m, u.k,
                    u.n, u.accum);
    }
    store(s, u.dst, acc);
    return "";
  }
  const uint32_t n = u.len;
  if (n == 0)
    return "";
  const bool bc = u.p1 & 1;
  switch (u.op) {
  case UopCode::Unop:
    break;
  case UopCode::Add32:
  case UopCode::Mulsh32: {
    auto a = load<int32_t>(s, u.src0, n), b = load<int32_t>(s, u.src1, bc ? 1 : n);
    std::vector<int32_t> y(n);
    for (uint32_t i = 0; i < n; ++i) {
      int64_t bi = b[bc ? 0 : i];
      y[i] = u.op == UopCode::Add32 ? ref::sat32(a[i] + bi) : ref::sat32(ref::rnd(a[i] * bi, u.p0));
    }
    store(s, u.dst, y);
    break;
  }
  case UopCode::Shift32: {
    auto a = load<int32_t>(s, u.src0, n);
    for (auto &v : a)
      v = ref::shift32(v, u.p0);
    store(s, u.dst, a);
    break;
  }
  case UopCode::Sext8: {
    auto a = load<int8_t>(s, u.src0, n);
    std::vector<int32_t> y(n);
    int sh = u.p0 < 0 ? 0 : u.p0 > 23 ? 23 : u.p0;
    for (uint32_t i = 0; i < n; ++i)
      y[i] = int32_t(a[i]) * (int32_t(1) << sh);
    store(s, u.dst, y);
    break;
  }
  case UopCode::Req8: {
    auto a = load<int32_t>(s, u.src0, n);
    auto mult = load<int32_t>(s, u.src1, bc ? 1 : n);
    auto sh = load<uint8_t>(s, u.src2, bc ? 1 : n);
    std::vector<int8_t> y(n);
    for (uint32_t i = 0; i < n; ++i)
      y[i] = ref::requant8(a[i], mult[bc ? 0 : i], sh[bc ? 0 : i]);
    store(s, u.dst, y);
    break;
  }
  case UopCode::Shr8: {
    auto a = load<int32_t>(s, u.src0, n);
    std::vector<int8_t> y(n);
    for (uint32_t i = 0; i < n; ++i)
      y[i] = ref::sat8(ref::rnd(a[i], u.p0));
    store(s, u.dst, y);
    break;
  }
  case UopCode::Sumsq: {
    auto a = load<int32_t>(s, u.src0, n);
    store(s, u.dst, std::vector<int32_t>{ref::sumsq(a.data(), n, u.p0)});
    break;
  }
  case UopCode::Mulsumsq: {
    auto a = load<int32_t>(s, u.src0, n), b = load<int32_t>(s, u.src1, bc ? 1 : n);
    std::vector<int32_t> y(n);
    const int32_t ss = ref::mulSumsq(a.data(), b.data(), bc, y.data(), n, u.p0, u.p2);
    store(s, u.dst, y);
    store(s, u.src2, std::vector<int32_t>{ss});
    break;
  }
  case UopCode::Addsumsq: {
    auto a = load<int32_t>(s, u.src0, n), b = load<int32_t>(s, u.src1, bc ? 1 : n);
    std::vector<int32_t> y(n);
    const int32_t ss = ref::addSumsq(a.data(), b.data(), bc, y.data(), n, u.p2);
    store(s, u.dst, y);
    store(s, u.src2, std::vector<int32_t>{ss});
    break;
  }
  case UopCode::Fwht: {
    if (!ref::fwhtSizeOk(n))
      return "fwht length " + std::to_string(n) + " is not h*2^k with h in {1,12,40}";
    auto a = load<int32_t>(s, u.dst, n);
    ref::fwht(a.data(), n);
    store(s, u.dst, a);
    break;
  }
  case UopCode::Conv4: {
    auto x = load<int8_t>(s, u.src0, n);
    auto w = load<int8_t>(s, u.src1, 4 * size_t(n));
    auto bias = load<int32_t>(s, u.src1 + 4 * int64_t(n), n);
    auto st = load<int8_t>(s, u.src2, 3 * size_t(n));
    std::vector<int32_t> y(n);
    ref::conv4Step(x.data(), w.data(), bias.data(), st.data(), y.data(), n);
    store(s, u.dst, y);
    store(s, u.src2, st);
    break;
  }
  case UopCode::Conv4pwl: {
    auto hdr = load<int32_t>(s, u.src1, ref::kPwlHeaderWords);
    const uint64_t tb = ref::pwlTableBytes(ref::pwlHeader(hdr.data()));
    if (tb > uint64_t(u.p4 < 0 ? 0 : u.p4))
      return "conv4pwl: its table (" + std::to_string(tb) +
             " bytes) runs into the conv parameters p4 = " + std::to_string(u.p4) +
             " bytes after it";
    auto table = load<int32_t>(s, u.src1, tb / 4);
    const int64_t at = u.src1 + u.p4;
    auto x = load<int8_t>(s, u.src0, n);
    auto w = load<int8_t>(s, at, 4 * size_t(n));
    auto bias = load<int32_t>(s, at + 4 * int64_t(n), n);
    auto mult = load<int32_t>(s, at + 8 * int64_t(n), n);
    auto st = load<int8_t>(s, u.src2, 3 * size_t(n));
    std::vector<int32_t> y(n);
    ref::conv4Pwl(x.data(), w.data(), bias.data(), (u.p2 & 1) ? mult.data() : nullptr, u.p0,
                  table.data(), st.data(), y.data(), n);
    store(s, u.dst, y);
    store(s, u.src2, st);
    break;
  }
  case UopCode::Trn: {
    const unsigned C = unsigned(u.p0), bytes = unsigned(u.p1);
    const unsigned sp = u.p2 > 0 ? unsigned(u.p2) : C, dp = u.p3 > 0 ? unsigned(u.p3) : n;
    auto src = load<uint8_t>(s, u.src0, (size_t(n - 1) * sp + C) * bytes);
    auto dst = load<uint8_t>(s, u.dst, (size_t(C - 1) * dp + n) * bytes);
    ref::transpose(src.data(), dst.data(), n, C, bytes, sp, dp);
    store(s, u.dst, dst); // the pitch's gaps keep their bytes
    break;
  }
  case UopCode::Split16: {
    auto x = load<int32_t>(s, u.src0, n);
    std::vector<int8_t> hi(n), lo(n);
    ref::split16(x.data(), hi.data(), lo.data(), n, u.p0);
    store(s, u.dst, hi);
    store(s, u.src2, lo);
    break;
  }
  case UopCode::Segdecay: {
    auto a = load<int32_t>(s, u.src0, n);
    std::vector<int32_t> out(size_t(n) * (n + 1));
    ref::segDecay(a.data(), out.data(), n, u.p0);
    store(s, u.dst, out);
    break;
  }
  case UopCode::Pwlmulpwl: {
    const int64_t at2 = u.src1 + u.p3;
    auto h1 = load<int32_t>(s, u.src1, ref::kPwlHeaderWords);
    auto h2 = load<int32_t>(s, at2, ref::kPwlHeaderWords);
    const uint64_t tb1 = ref::pwlTableBytes(ref::pwlHeader(h1.data()));
    const uint64_t tb2 = ref::pwlTableBytes(ref::pwlHeader(h2.data()));
    if (!(e = checkPwlMulPwlTables(u, tb1, tb2)).empty())
      return e;
    auto t1 = load<int32_t>(s, u.src1, tb1 / 4), t2 = load<int32_t>(s, at2, tb2 / 4);
    const unsigned per = u.p2 > 0 ? unsigned(u.p2) : 0;
    auto m = load<int32_t>(s, u.src1 + u.p4, bc ? 1 : per ? per : n);
    auto x = load<int32_t>(s, u.src0, n);
    std::vector<int32_t> sp(n), y(n);
    ref::pwlMulPwl(t1.data(), t2.data(), x.data(), m.data(), bc, per, u.p0, sp.data(), y.data(), n);
    store(s, u.src2, sp);
    store(s, u.dst, y);
    break;
  }
  case UopCode::Pwl:
  case UopCode::Rsqrt: {
    auto hdr = load<int32_t>(s, u.src1, ref::kPwlHeaderWords);
    ref::PwlHeader h = ref::pwlHeader(hdr.data());
    uint64_t tb = ref::pwlTableBytes(h);
    if (!(e = checkPwlTable(u, tb, s.size())).empty())
      return e;
    auto table = load<int32_t>(s, u.src1, tb / 4);
    auto a = load<int32_t>(s, u.src0, n);
    for (auto &v : a)
      v = u.op == UopCode::Pwl ? ref::pwl(table.data(), v) : ref::rsqrt(table.data(), v);
    store(s, u.dst, a);
    break;
  }
  case UopCode::Ssmupd: {
    uint32_t N = uint32_t(u.p0 < 0 ? 0 : u.p0);
    auto S = load<int32_t>(s, u.dst, size_t(n) * N);
    auto dtx = load<int32_t>(s, u.src0, n);
    auto B = load<int8_t>(s, u.src1, N);
    auto decay = load<int32_t>(s, u.src2, 1);
    ref::ssmUpdate(S.data(), dtx.data(), B.data(), decay[0], n, N, u.p1, u.p2);
    store(s, u.dst, S);
    break;
  }
  case UopCode::Ssmout: {
    uint32_t N = uint32_t(u.p0 < 0 ? 0 : u.p0);
    auto S = load<int32_t>(s, u.src0, size_t(n) * N);
    auto C = load<int8_t>(s, u.src1, N);
    std::vector<int32_t> y(n);
    ref::ssmOutput(S.data(), C.data(), y.data(), n, N, u.p1);
    store(s, u.dst, y);
    break;
  }
  case UopCode::Ssmstep: {
    uint32_t N = uint32_t(u.p0 < 0 ? 0 : u.p0);
    auto S = load<int32_t>(s, u.dst, size_t(n) * N);
    auto dtxY = load<int32_t>(s, u.src0, n);
    auto B = load<int8_t>(s, u.src1, N);
    auto C = load<int8_t>(s, u.src1 + u.p4, N);
    auto decay = load<int32_t>(s, u.src2, 1);
    ref::ssmStep(S.data(), dtxY.data(), B.data(), C.data(), decay[0], n, N, u.p1, u.p2, u.p3);
    store(s, u.dst, S);
    store(s, u.src0, dtxY);
    break;
  }
  default:
    return "undefined micro-op " + std::to_string(unsigned(u.op));
  }
  return "";
}

} // namespace

std::string refExecute(const Issue &is, Memory &mem, const std::vector<UopWord> &ucode) {
  std::string e = checkIssue(is, mem.limits(), ucode);
  if (!e.empty())
    return e;
  if (is.slot == Slot::Ctrl)
    return "";
  // Every unit is a micro-op sequencer: iterations x micro-ops, addresses by role.
  for (uint32_t it = 0; it < is.run.iters; ++it)
    for (uint32_t i = 0; i < is.run.ulen; ++i) {
      std::string err = runUop(resolveUop(is.word(ucode, i), is.run, it), mem);
      if (!err.empty())
        return is.inlineUop ? err : is.where(i) + ", iteration " + std::to_string(it) + ": " + err;
    }
  return "";
}

InterpResult interpret(const Program &p, const std::string &entry, Memory &mem, uint64_t maxBundles,
                       const Executor &exec) {
  InterpResult res;
  const Symbol *e = p.entry(entry);
  if (!e) {
    res.error = "no entry point named '" + entry + "'";
    return res;
  }
  Sequencer seq(p.bundles, e->bundle);
  std::array<uint32_t, kNumSems> sems{};
  std::vector<Issue> issues;
  auto take = [&](bool wen, unsigned s, const char *unit, uint32_t bundle) -> bool {
    if (!wen)
      return true;
    if (sems[s] == 0) {
      res.error = "deadlock: bundle " + std::to_string(bundle) + ", " + unit +
                  " unit waits on semaphore " + std::to_string(s) +
                  " which holds no token in serial order";
      return false;
    }
    --sems[s];
    return true;
  };
  auto give = [&](bool sen, unsigned s, uint32_t bundle, const char *unit) -> bool {
    if (!sen)
      return true;
    if (sems[s] == 0xFFFF) {
      res.error = "bundle " + std::to_string(bundle) + ", " + unit + " unit: semaphore " +
                  std::to_string(s) + " overflows (65535 tokens)";
      return false;
    }
    ++sems[s];
    return true;
  };
  while (!seq.done()) {
    if (res.bundles >= maxBundles) {
      res.error = "stopped after " + std::to_string(maxBundles) + " bundles";
      return res;
    }
    uint32_t pc = seq.pc();
    const SlotWord &c = seq.ctrlSlot();
    if (!take(c.raw(field::none::wen), unsigned(c.raw(field::none::wsem)), "ctrl", pc))
      return res;
    bool csen = c.raw(field::none::sen);
    unsigned cssem = unsigned(c.raw(field::none::ssem));
    bool cnonop = c.raw(field::none::op) != 0;
    issues.clear();
    seq.issue(issues);
    ++res.bundles;
    if (cnonop)
      ++res.issued[0];
    if (!give(csen, cssem, pc, "ctrl"))
      return res;
    for (const Issue &is : issues) {
      const char *unit = kSlotNames[unsigned(is.slot)];
      if (!take(is.wen, is.wsem, unit, is.bundle))
        return res;
      std::string err = exec ? exec(is, mem) : refExecute(is, mem, p.ucode);
      if (!err.empty()) {
        res.error = "bundle " + std::to_string(is.bundle) + ", " + unit + " unit: " + err;
        return res;
      }
      ++res.issued[unsigned(is.slot)];
      if (!give(is.sen, is.ssem, is.bundle, unit))
        return res;
    }
  }
  if (!seq.error().empty())
    res.error = seq.error();
  return res;
}

} // namespace mamba2::isa
