// Control sequencing, operand binding and legality checks (see Exec.h).
#include "mamba2/isa/Exec.h"

#include "mamba2/isa/Macro.h"
#include "mamba2/isa/Program.h"
#include "mamba2/isa/Reference.h"

namespace mamba2::isa {

namespace f = field;

std::string Issue::where(uint32_t i) const {
  if (!inlineUop)
    return "microcode word " + std::to_string(run.ustart + i);
  const OpInfo *o = findOp(slot, op);
  return std::string(kSlotNames[unsigned(slot)]) + "." + (o ? o->name : "?");
}

UopArgs resolveUop(const UopWord &w, const RunArgs &r, uint32_t iter) {
  return decodeUop(w, r.base, r.base2, r.sdst, r.ssrc0, r.ssrc1, r.ssrc2, iter);
}

std::vector<Extent> uopExtents(const UopArgs &u) {
  const UopExtents x = uopExtentsOf(u);
  std::vector<Extent> ex;
  for (unsigned i = 0; i < x.count; ++i)
    if (!x.at[i].dram)
      ex.push_back({x.at[i].addr, x.at[i].bytes, x.at[i].write});
  return ex;
}

static bool inRange(int v, int lo, int hi) { return v >= lo && v <= hi; }

std::string checkUopStatic(const UopWord &w, Slot slot) {
  unsigned code = static_cast<unsigned>(w.raw(f::uop::uop));
  const UopInfo *info = findUop(code);
  if (!info)
    return "undefined micro-op code " + std::to_string(code);
  if (!w.tailZero(formatInfo(info->format).usedBits))
    return std::string("micro-op '") + info->name + "' has non-zero reserved bits";
  if (!info->runsOn(slot))
    return std::string("micro-op '") + info->name + "' cannot run on the " +
           kSlotNames[unsigned(slot)] + " unit";
  int p0 = int(w.get(f::uop::p0)), p1 = int(w.get(f::uop::p1)), p2 = int(w.get(f::uop::p2));
  int p3 = int(w.get(f::uop::p3)), p4 = int(w.get(f::uop::p4));
  unsigned len = unsigned(w.get(f::uop::len));
  std::string nm = info->name;
  auto bad = [&](const std::string &why) { return "micro-op '" + nm + "': " + why; };
  if (info->format == Format::Umm) {
    UopArgs u = resolveUop(w, RunArgs{}, 0);
    if (u.isInt4() && (u.k & 1))
      return bad("int4 weights need an even k (got " + std::to_string(u.k) + ")");
    if (!u.isGrouped() && (u.group || u.shift))
      return bad("group and shift are only for the group-scaled gmm8/gmm4");
    if (u.isGrouped() && (u.group == 0 || u.k % u.group))
      return bad("group " + std::to_string(u.group) + " must be >= 1 and divide k " +
                 std::to_string(u.k));
    if (u.isGrouped() && !inRange(u.shift, -31, 63))
      return bad("shift must be -31..63");
    const uint32_t rowBytes = u.isInt4() ? u.k / 2 : u.k;
    if (u.wpitch != 0 && u.wpitch < rowBytes)
      return bad("weight pitch " + std::to_string(u.wpitch) + " is less than a row's " +
                 std::to_string(rowBytes) + " bytes");
    return "";
  }
  if (code == unsigned(UopCode::Store2d) && w.raw(f::udma::region) == 0)
    return "DMA store into the read-only const region";
  switch (static_cast<UopCode>(code)) {
  case UopCode::Add32:
    if (!inRange(p1, 0, 1))
      return bad("p1 (broadcast flag) must be 0 or 1");
    break;
  case UopCode::Mulsh32:
  case UopCode::Req8:
    if (!inRange(p1, 0, 1))
      return bad("p1 (broadcast flag) must be 0 or 1");
    if (code == unsigned(UopCode::Mulsh32) && !inRange(p0, 0, 63))
      return bad("shift p0 must be 0..63");
    break;
  case UopCode::Mulsumsq:
    if (!inRange(p1, 0, 1))
      return bad("p1 (broadcast flag) must be 0 or 1");
    if (!inRange(p0, 0, 63) || !inRange(p2, 0, 63))
      return bad("shifts p0 (product) and p2 (sum of squares) must be 0..63");
    break;
  case UopCode::Addsumsq:
    if (!inRange(p1, 0, 1))
      return bad("p1 (broadcast flag) must be 0 or 1");
    if (!inRange(p2, 0, 63))
      return bad("shift p2 (sum of squares) must be 0..63");
    break;
  case UopCode::Conv4pwl:
    if (!inRange(p0, 0, 63))
      return bad("shift p0 must be 0..63");
    if (!inRange(p2, 0, 1))
      return bad("p2 (multiply flag) must be 0 or 1");
    if (p4 < int(4 * ref::kPwlHeaderWords))
      return bad("the conv parameters' offset p4 after the table must be >= 16 (its header)");
    break;
  case UopCode::Pwlmulpwl:
    if (!inRange(p0, 0, 63))
      return bad("shift p0 must be 0..63");
    if (p2 < 0)
      return bad("the multipliers' period p2 must be >= 0 (0: one per element)");
    if (!inRange(p1, 0, 1))
      return bad("p1 (broadcast flag) must be 0 or 1");
    if (p3 < int(4 * ref::kPwlHeaderWords) || p4 < p3 + int(4 * ref::kPwlHeaderWords))
      return bad("the second table's offset p3 must be >= 16 and the multipliers' p4 >= p3 + 16 "
                 "(a table's header each)");
    break;
  case UopCode::Shift32:
    if (!inRange(p0, -31, 63))
      return bad("shift p0 must be -31..63");
    break;
  case UopCode::Sext8:
    if (!inRange(p0, 0, 23))
      return bad("shift p0 must be 0..23");
    break;
  case UopCode::Shr8:
  case UopCode::Sumsq:
    if (!inRange(p0, 0, 63))
      return bad("shift p0 must be 0..63");
    break;
  case UopCode::Fwht:
    if (len != 0 && !ref::fwhtSizeOk(len))
      return bad("length " + std::to_string(len) + " is not h*2^k with h in {1,12,40}");
    break;
  case UopCode::Ssmupd:
    if (p0 < 0)
      return bad("state width p0 must be >= 0");
    if (!inRange(p1, 0, 63) || !inRange(p2, 0, 63))
      return bad("shifts p1, p2 must be 0..63");
    break;
  case UopCode::Ssmout:
    if (p0 < 0)
      return bad("state width p0 must be >= 0");
    if (!inRange(p1, 0, 63))
      return bad("shift p1 must be 0..63");
    break;
  case UopCode::Trn:
    if (p0 < 1)
      return bad("columns p0 must be >= 1 (got " + std::to_string(p0) + ")");
    if (p1 != 1 && p1 != 4)
      return bad("element size p1 must be 1 (int8) or 4 (int32) bytes (got " + std::to_string(p1) +
                 ")");
    if (p2 != 0 && p2 < p0)
      return bad("source row pitch p2 = " + std::to_string(p2) + " is neither 0 nor >= the " +
                 std::to_string(p0) + " columns");
    if (p3 != 0 && p3 < int(len))
      return bad("destination row pitch p3 = " + std::to_string(p3) + " is neither 0 nor >= the " +
                 std::to_string(len) + " rows");
    break;
  case UopCode::Segdecay:
    if (len < 1 || len > 64)
      return bad("chunk length len (Q) must be 1..64 (got " + std::to_string(len) + ")");
    if (!inRange(p0, 0, 30))
      return bad("shift p0 must be 0..30 (2^p0, the decay 1.0, is an int32)");
    break;
  case UopCode::Split16:
    if (!inRange(p0, 0, 31))
      return bad("shift p0 must be 0..31");
    break;
  case UopCode::Ssmstep:
    if (p0 < 0)
      return bad("state width p0 must be >= 0");
    if (!inRange(p1, 0, 63) || !inRange(p2, 0, 63) || !inRange(p3, 0, 63))
      return bad("shifts p1, p2, p3 must be 0..63");
    if (p4 < 0)
      return bad("C's offset from B, p4, must be >= 0");
    break;
  default:
    break;
  }
  return "";
}

static std::string spanCheck(const char *what, int64_t addr, uint64_t bytes, uint64_t limit,
                             const char *mem) {
  if (bytes == 0)
    return "";
  if (addr < 0 || uint64_t(addr) > limit || bytes > limit - uint64_t(addr))
    return std::string(what) + " [" + std::to_string(addr) + ", " +
           std::to_string(addr + int64_t(bytes)) + ") is outside " + mem + " (" +
           std::to_string(limit) + " bytes)";
  return "";
}

std::string checkUopRanges(const UopArgs &u, const Limits &lim) {
  const uint64_t spadBytes = lim.spadBytes;
  std::string e;
  if (u.isDma()) {
    const UopExtents x = uopExtentsOf(u);
    std::string mem = std::string("region '") + kRegionNames[u.region & 3] + "'";
    for (unsigned i = 0; i < x.count; ++i)
      if (x.at[i].dram && !(e = spanCheck("DMA range", x.at[i].addr, x.at[i].bytes,
                                          lim.regionBytes[u.region & 3], mem.c_str()))
                               .empty())
        return e;
    for (unsigned i = 0; i < x.count; ++i)
      if (!x.at[i].dram && !(e = spanCheck("DMA scratchpad range", x.at[i].addr, x.at[i].bytes,
                                           spadBytes, "the scratchpad"))
                                .empty())
        return e;
    return "";
  }
  const std::vector<Extent> ex = uopExtents(u);
  if (u.isMatrix()) {
    static const char *what[4] = {"matmul accumulators", "matmul activations", "matmul weights",
                                  "matmul group scales"};
    for (size_t i = 0; i < ex.size(); ++i)
      if (!(e = spanCheck(what[i], ex[i].addr, ex[i].bytes, spadBytes, "the scratchpad")).empty())
        return e;
    // The accumulators are read and written tile by tile: they may overlap no operand.
    for (size_t j = 1; j < ex.size(); ++j)
      if (ex[0].bytes && ex[j].bytes && ex[0].addr < ex[j].addr + int64_t(ex[j].bytes) &&
          ex[j].addr < ex[0].addr + int64_t(ex[0].bytes))
        return std::string("matmul accumulators overlap its ") + (j == 1   ? "activations"
                                                                  : j == 2 ? "weights"
                                                                           : "group scales");
    return "";
  }
  const std::string nm = std::string("micro-op '") + findUop(unsigned(u.op))->name + "'";
  for (const Extent &e : ex)
    if (e.bytes &&
        (e.addr < 0 || uint64_t(e.addr) > spadBytes || e.bytes > spadBytes - uint64_t(e.addr)))
      return nm + " touches scratchpad bytes [" + std::to_string(e.addr) + ", " +
             std::to_string(e.addr + int64_t(e.bytes)) + ") outside the scratchpad of " +
             std::to_string(spadBytes) + " bytes";
  // trn reads its source in tiles while it writes earlier ones: no byte in common, not even in
  // place.
  if (u.op == UopCode::Trn && ex.size() == 2 && ex[0].bytes && ex[1].bytes &&
      ex[0].addr < ex[1].addr + int64_t(ex[1].bytes) &&
      ex[1].addr < ex[0].addr + int64_t(ex[0].bytes))
    return nm + " writes [" + std::to_string(ex[0].addr) + ", " +
           std::to_string(ex[0].addr + int64_t(ex[0].bytes)) + ") which overlaps its source [" +
           std::to_string(ex[1].addr) + ", " + std::to_string(ex[1].addr + int64_t(ex[1].bytes)) +
           "); a transpose is never in place";
  // A written operand either is exactly another operand (in place) or overlaps none: then a
  // streaming datapath and a read-all-then-write one compute the same thing.
  for (size_t i = 0; i < ex.size(); ++i)
    for (size_t j = 0; j < ex.size(); ++j) {
      if (i == j || !ex[i].write || ex[i].bytes == 0 || ex[j].bytes == 0)
        continue;
      bool same = ex[i].addr == ex[j].addr && ex[i].bytes == ex[j].bytes;
      bool apart = ex[i].addr + int64_t(ex[i].bytes) <= ex[j].addr ||
                   ex[j].addr + int64_t(ex[j].bytes) <= ex[i].addr;
      if (!same && !apart)
        return nm + " writes [" + std::to_string(ex[i].addr) + ", " +
               std::to_string(ex[i].addr + int64_t(ex[i].bytes)) +
               ") which partly overlaps operand [" + std::to_string(ex[j].addr) + ", " +
               std::to_string(ex[j].addr + int64_t(ex[j].bytes)) + ")";
    }
  return "";
}

std::string checkPwlTable(const UopArgs &u, uint64_t tableBytes, uint64_t spadBytes) {
  if (u.src1 < 0 || uint64_t(u.src1) + tableBytes > spadBytes)
    return "piecewise-linear table at " + std::to_string(u.src1) + " (" +
           std::to_string(tableBytes) + " bytes) runs past the scratchpad";
  int64_t dEnd = u.dst + 4 * int64_t(u.len);
  if (u.len && u.dst < u.src1 + int64_t(tableBytes) && u.src1 < dEnd)
    return "piecewise-linear table at " + std::to_string(u.src1) + " overlaps the destination";
  return "";
}

std::string checkPwlMulPwlTables(const UopArgs &u, uint64_t t1Bytes, uint64_t t2Bytes) {
  const uint64_t p3 = uint64_t(u.p3 < 0 ? 0 : u.p3), p4 = uint64_t(u.p4 < 0 ? 0 : u.p4);
  if (t1Bytes > p3)
    return "pwlmulpwl: its first table (" + std::to_string(t1Bytes) +
           " bytes) runs into the second at p3 = " + std::to_string(u.p3);
  if (p3 + t2Bytes > p4)
    return "pwlmulpwl: its second table (" + std::to_string(t2Bytes) +
           " bytes at p3 = " + std::to_string(u.p3) +
           ") runs into the multipliers at p4 = " + std::to_string(u.p4);
  return "";
}

std::string checkIssue(const Issue &is, const Limits &lim, const std::vector<UopWord> &ucode) {
  if (is.slot == Slot::Ctrl)
    return "";
  const RunArgs &r = is.run;
  // With ureg the first word is the field plus r[ureg] (ufirst, exact: it may be negative).
  const int64_t first = r.ureg ? r.ufirst : int64_t(r.ustart);
  if (!is.inlineUop && (first < 0 || first + int64_t(r.ulen) > int64_t(ucode.size()))) {
    const std::string via = r.ureg ? " (ustart + r" + std::to_string(r.ureg) + ")" : "";
    return "micro-ops " + std::to_string(first) + ".." +
           std::to_string(first + int64_t(r.ulen) - 1) + via +
           " are outside the microcode store of " + std::to_string(ucode.size()) + " words";
  }
  std::string e;
  // A shortcut's message is its own (no micro-op prefix): it reads as the macro it is.
  auto where = [&](uint32_t i) { return is.inlineUop ? std::string() : is.where(i) + ": "; };
  for (uint32_t i = 0; i < r.ulen; ++i) {
    const UopWord &w = is.word(ucode, i);
    if (!(e = checkUopStatic(w, is.slot)).empty())
      return where(i) + e;
    if (r.iters == 0)
      continue;
    // Addresses grow with the iteration (strides >= 0): the first and last bound them all.
    for (uint32_t it : {0u, r.iters - 1})
      if (!(e = checkUopRanges(resolveUop(w, r, it), lim)).empty())
        return is.inlineUop ? e : is.where(i) + ", iteration " + std::to_string(it) + ": " + e;
  }
  return "";
}

std::string checkBundle(const Bundle &b, size_t ucodeWords) {
  for (unsigned s = 0; s < kNumSlots; ++s) {
    const SlotWord &w = b.slot[s];
    const char *sn = kSlotNames[s];
    unsigned code = unsigned(w.raw(f::none::op));
    const OpInfo *op = findOp(Slot(s), code);
    if (!op)
      return std::string(sn) + " slot: undefined opcode " + std::to_string(code);
    if (code == 0 && !w.isZero())
      return std::string(sn) + " slot: a NOP must be all zeros";
    if ((!w.raw(f::none::wen) && w.raw(f::none::wsem)) ||
        (!w.raw(f::none::sen) && w.raw(f::none::ssem)))
      return std::string(sn) + " slot: token semaphore set without its enable bit";
    if (w.raw(f::none::wsem) >= kNumSems || w.raw(f::none::ssem) >= kNumSems)
      return std::string(sn) + " slot: semaphore out of range";
    if (!w.tailZero(formatInfo(op->format).usedBits))
      return std::string(sn) + "." + op->name + ": reserved bits are not zero";
    std::string nm = std::string(sn) + "." + op->name;
    switch (op->format) {
    case Format::Reg:
      if (w.raw(f::reg::rd) == 0)
        return nm + ": writes r0, which always reads 0";
      break;
    case Format::Loop:
      if (w.raw(f::loop::body) == 0)
        return nm + ": loop body must be at least one bundle";
      break;
    case Format::Mm:
      if (code == op::matrix::mm4 && (w.raw(f::mm::k) & 1))
        return nm + ": int4 matmul needs an even k";
      break;
    case Format::Run:
      // With ureg the start is known when the run issues (checkIssue).
      if (w.raw(f::run::ureg) == 0 && w.raw(f::run::ustart) + w.raw(f::run::ulen) > ucodeWords)
        return nm + ": micro-ops " + std::to_string(w.raw(f::run::ustart)) + ".." +
               std::to_string(w.raw(f::run::ustart) + w.raw(f::run::ulen)) +
               " exceed the microcode store (" + std::to_string(ucodeWords) + " words)";
      break;
    default:
      break;
    }
  }
  return "";
}

Sequencer::Sequencer(const std::vector<Bundle> &bundles, uint32_t entry)
    : bundles_(&bundles), pc_(entry) {
  if (entry >= bundles.size())
    fail("entry point " + std::to_string(entry) + " is past the last bundle (" +
         std::to_string(bundles.size()) + ")");
}

void Sequencer::fail(const std::string &msg) {
  if (error_.empty())
    error_ = "bundle " + std::to_string(pc_) + ": " + msg;
}

void Sequencer::issue(std::vector<Issue> &out) {
  const Bundle &b = (*bundles_)[pc_];
  auto reg = [&](uint64_t r) { return int64_t(regs_[r & (kNumRegs - 1)]); };
  for (unsigned s = 1; s < kNumSlots; ++s) {
    const SlotWord &w = b.slot[s];
    uint8_t code = uint8_t(w.raw(f::none::op));
    if (code == 0)
      continue;
    Issue is;
    is.slot = Slot(s);
    is.op = code;
    is.wen = w.raw(f::none::wen);
    is.wsem = uint8_t(w.raw(f::none::wsem));
    is.sen = w.raw(f::none::sen);
    is.ssem = uint8_t(w.raw(f::none::ssem));
    is.bundle = pc_;
    const OpInfo *info = findOp(is.slot, code);
    const bool isRun =
        info ? info->format == Format::Run : is.slot == Slot::Vector || is.slot == Slot::Ssm;
    if (isRun) {
      is.run.ureg = unsigned(w.raw(f::run::ureg));
      is.run.ufirst = int64_t(w.raw(f::run::ustart)) + reg(is.run.ureg);
      is.run.ustart = is.run.ufirst >= 0 && is.run.ufirst < int64_t(UINT32_MAX)
                          ? uint32_t(is.run.ufirst)
                          : UINT32_MAX;
      is.run.ulen = uint32_t(w.raw(f::run::ulen));
      is.run.iters = uint32_t(w.raw(f::run::iters));
      is.run.sdst = uint32_t(w.raw(f::run::sdst));
      is.run.ssrc0 = uint32_t(w.raw(f::run::ssrc0));
      is.run.ssrc1 = uint32_t(w.raw(f::run::ssrc1));
      is.run.ssrc2 = uint32_t(w.raw(f::run::ssrc2));
      is.run.base = reg(w.raw(f::run::areg));
      is.run.base2 = reg(w.raw(f::run::breg));
    } else {
      // A macro shortcut: the same sequencer runs its one micro-op, built here.
      is.inlineUop = true;
      is.run.ulen = is.run.iters = 1;
      is.uop = macroUop(is.slot, code, w);
      unsigned ar = 0, br = 0;
      macroRegs(is.slot, w, ar, br);
      is.run.base = reg(ar);
      is.run.base2 = reg(br);
    }
    out.push_back(is);
  }
  ++issued_;

  // Control operation, after the other slots read the registers.
  const SlotWord &c = b[Slot::Ctrl];
  uint32_t last = pc_, next = pc_ + 1;
  switch (c.raw(f::none::op)) {
  case op::ctrl::halt:
    halted_ = true;
    return;
  case op::ctrl::seti:
    if (c.raw(f::reg::rd))
      regs_[c.raw(f::reg::rd)] = int32_t(c.get(f::reg::imm));
    break;
  case op::ctrl::addi:
    if (c.raw(f::reg::rd))
      regs_[c.raw(f::reg::rd)] =
          int32_t(uint32_t(regs_[c.raw(f::reg::rs)]) + uint32_t(c.get(f::reg::imm)));
    break;
  case op::ctrl::loop: {
    int64_t count = int64_t(c.raw(f::loop::count)) + reg(c.raw(f::loop::creg));
    uint32_t body = uint32_t(c.raw(f::loop::body));
    uint64_t end = uint64_t(pc_) + body;
    if (count < 0)
      return fail("negative loop trip count " + std::to_string(count));
    if (body == 0)
      return fail("loop body must be at least one bundle");
    if (end >= bundles_->size())
      return fail("loop body ends at bundle " + std::to_string(end) + ", past the program");
    if (!loops_.empty() && end > loops_.back().end)
      return fail("loop body overruns the enclosing loop ending at bundle " +
                  std::to_string(loops_.back().end));
    if (count == 0) {
      last = uint32_t(end); // skip the body
      next = uint32_t(end) + 1;
    } else {
      if (loops_.size() == kLoopDepth)
        return fail("hardware loops nested deeper than " + std::to_string(kLoopDepth));
      loops_.push_back({pc_ + 1, uint32_t(end), uint64_t(count)});
      pc_ = next;
      return;
    }
    break;
  }
  default:
    break;
  }
  while (!loops_.empty() && loops_.back().end == last) {
    if (--loops_.back().remaining > 0) {
      next = loops_.back().start;
      break;
    }
    loops_.pop_back();
  }
  if (next >= bundles_->size()) {
    pc_ = last;
    return fail("ran past the last bundle without ctrl.halt");
  }
  pc_ = next;
}

} // namespace mamba2::isa
