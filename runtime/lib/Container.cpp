// Writing and validating .m2b files (layout: Container.h, payload: schema/m2b.fbs).
#include "mamba2/runtime/Container.h"

#include "m2b_generated.h"
#include "mamba2/isa/Exec.h"
#include "mamba2/runtime/TensorText.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mamba2::runtime {

namespace {

void put16(uint8_t *p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = uint8_t(v >> (8 * i));
}
void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = uint8_t(v >> (8 * i));
}
uint64_t get(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

constexpr uint64_t kMaxRegionBytes = uint64_t(1) << 34; // 16 GiB: larger than any board's DRAM

} // namespace

namespace {
uint64_t alignData(uint64_t v) { return (v + kDataAlign - 1) / kDataAlign * kDataAlign; }
} // namespace

void writeContainer(const isa::Program &p, const target::Board &board,
                    const std::function<void(const uint8_t *, size_t)> &sink) {
  // The table's size is known closely before it is built (the bundles and microcode words, the
  // symbols, small fields): one buffer of that size, never grown by doubling (a 2.7B program's
  // bundles are hundreds of MB).
  size_t estimate = 4096 + p.bundles.size() * isa::kBundleBytes + p.ucode.size() * isa::kUopBytes +
                    (isa::kNumRegions + 1) * 64;
  for (const isa::Symbol &s : p.symbols)
    estimate += 64 + s.name.size() + s.dtype.size() + 4 * s.channels.size();
  flatbuffers::FlatBufferBuilder fb(estimate);
  auto target =
      m2b::CreateTarget(fb, fb.CreateString(p.target), isa::kIsaVersion, board.spadBytes(),
                        isa::kUcodeWords, isa::kNumSems, board.axiPorts, board.stripeBytes);
  // The data section: each region's initial bytes at the next aligned offset.
  std::vector<flatbuffers::Offset<m2b::Region>> regions;
  std::vector<std::pair<uint64_t, const std::vector<uint8_t> *>> data; // offset, bytes
  uint64_t dataBytes = 0;
  for (unsigned r = 0; r < isa::kNumRegions; ++r) {
    const isa::Region &reg = p.regions[r];
    if (!reg.size && reg.init.empty())
      continue;
    uint64_t offset = reg.init.empty() ? 0 : alignData(dataBytes);
    if (!reg.init.empty()) {
      data.push_back({offset, &reg.init});
      dataBytes = offset + reg.init.size();
    }
    m2b::RegionBuilder rb(fb);
    rb.add_id(uint8_t(r));
    rb.add_size(reg.size);
    rb.add_data_offset(offset);
    rb.add_data_bytes(reg.init.size());
    regions.push_back(rb.Finish());
  }
  std::vector<flatbuffers::Offset<m2b::Symbol>> symbols;
  for (const isa::Symbol &s : p.symbols) {
    std::vector<m2b::Channel> chs;
    for (const isa::SemChannel &c : s.channels)
      chs.emplace_back(c.sem, c.from, c.to);
    auto name = fb.CreateString(s.name), dtype = fb.CreateString(s.dtype);
    auto channels = s.kind == isa::Symbol::Kind::Entry ? fb.CreateVectorOfStructs(chs) : 0;
    symbols.push_back(m2b::CreateSymbol(fb, name, uint8_t(s.kind), s.bundle, s.region, s.offset,
                                        s.bytes, dtype, channels));
  }
  // The bundles and microcode words are encoded straight into the table (Program::bundleBytes
  // and ucodeBytes would be a copy of each). The table's pieces are made in the order that the
  // file's layout has always had: symbols, regions, microcode, bundles.
  auto symbolVector = fb.CreateVector(symbols);
  auto regionVector = fb.CreateVector(regions);
  uint8_t *out = nullptr;
  auto ucode = fb.CreateUninitializedVector(p.ucode.size() * isa::kUopBytes, &out);
  for (size_t i = 0; i < p.ucode.size(); ++i)
    p.ucode[i].toBytes(out + i * isa::kUopBytes);
  auto bundles = fb.CreateUninitializedVector(p.bundles.size() * isa::kBundleBytes, &out);
  for (size_t i = 0; i < p.bundles.size(); ++i)
    p.bundles[i].toBytes(out + i * isa::kBundleBytes);
  auto root = m2b::CreateProgram(fb, target, bundles, ucode, regionVector, symbolVector);
  fb.Finish(root);

  const uint64_t table = fb.GetSize();
  const uint64_t pad = alignData(kHeaderBytes + table) - (kHeaderBytes + table);
  static const uint8_t zeros[kDataAlign] = {};
  uint32_t crc = crc32Update(0, fb.GetBufferPointer(), table);
  crc = crc32Update(crc, zeros, pad);
  uint64_t at = 0;
  for (const auto &[offset, bytes] : data) {
    crc = crc32Update(crc, zeros, offset - at);
    crc = crc32Update(crc, bytes->data(), bytes->size());
    at = offset + bytes->size();
  }
  uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, 4);
  put16(header + 4, kContainerVersion);
  put16(header + 6, uint16_t(isa::kIsaVersion));
  put64(header + 8, table + pad + dataBytes);
  put32(header + 16, crc);
  put32(header + 20, uint32_t(table));
  std::strncpy(reinterpret_cast<char *>(header + 24), p.target.c_str(), 15);
  sink(header, kHeaderBytes);
  sink(fb.GetBufferPointer(), table);
  sink(zeros, pad);
  at = 0;
  for (const auto &[offset, bytes] : data) {
    sink(zeros, offset - at);
    sink(bytes->data(), bytes->size());
    at = offset + bytes->size();
  }
}

std::vector<uint8_t> writeContainer(const isa::Program &p, const target::Board &board) {
  std::vector<uint8_t> out;
  writeContainer(p, board, [&](const uint8_t *d, size_t n) { out.insert(out.end(), d, d + n); });
  return out;
}

double maxProgramWork(const target::Board &board) {
  double perCycle =
      double(board.matK) * board.matN + board.vecLanes + board.ssmLanes + board.dramBytesPerCycle();
  return kMaxRunSeconds * board.clockMhz * 1e6 * perCycle;
}

namespace {

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

/// Element operations of one micro-op: multiply-accumulates of a matrix op, bytes of a DMA,
/// elements of a vector or SSM op; at least 1.
double uopWork(const isa::UopArgs &u, const isa::UopWord &w) {
  const isa::UopInfo *info = isa::findUop(unsigned(w.raw(isa::field::uop::uop)));
  double work = 1;
  if (info && info->format == isa::Format::Umm)
    work = double(u.m) * u.k * u.n;
  else if (info && info->format == isa::Format::Udma)
    work = double(u.rows) * u.rowb;
  else if (u.op == isa::UopCode::Trn) // R x C elements
    work = double(u.len) * (u.p0 > 0 ? u.p0 : 0);
  else if (u.op == isa::UopCode::Segdecay) // Q x (Q + 1) outputs
    work = double(u.len) * (double(u.len) + 1);
  else
    work = u.len;
  return work < 1 ? 1 : work;
}

/// Validates loops in closed form: once two consecutive iterations of the innermost loop have
/// moved the registers by the same amounts and done the same work, the body is a translation of
/// the registers (loop counts inside it read only registers it does not move), so every
/// iteration's addresses are linear in the iteration index and the first and last iterations
/// bound them all (checkIssue's argument for micro-op runs, one level up). The iterations
/// between are skipped and their work counted, unless a register would wrap or a run in the
/// body takes its micro-ops through a register the body moves (`ureg`: each iteration reads
/// other words, so each is checked; the store's size bounds how many such iterations can pass).
class LoopSkipper {
public:
  explicit LoopSkipper(const std::vector<isa::Bundle> &bundles) : bundles_(bundles) {}

  void after(isa::Sequencer &seq, double &work) {
    size_t depth = seq.loopDepth();
    if (seen_.size() > depth)
      seen_.resize(depth);
    if (depth == 0 || seq.done() || seq.pc() != seq.loopStart())
      return;
    Seen now;
    now.start = seq.loopStart();
    now.remaining = seq.loopRemaining();
    now.regs = seq.regs();
    now.work = work;
    if (seen_.size() < depth)
      seen_.resize(depth);
    Seen &prev = seen_[depth - 1];
    if (prev.start != now.start || prev.remaining != now.remaining + 1) {
      prev = now; // a new loop, or a new entry into it
      return;
    }
    for (unsigned r = 0; r < isa::kNumRegs; ++r)
      now.delta[r] = int64_t(now.regs[r]) - prev.regs[r];
    now.iterWork = now.work - prev.work;
    now.haveDelta = true;
    uint64_t n = now.remaining - 1; // the last iteration is simulated
    if (prev.haveDelta && prev.delta == now.delta && prev.iterWork == now.iterWork && n > 0 &&
        countsFixed(seq.loopStart(), seq.loopEnd(), now.delta) && noWrap(now, n)) {
      seq.skipIterations(n, now.delta);
      work += double(n) * now.iterWork;
      now.haveDelta = false;
      now.remaining -= n;
      now.regs = seq.regs();
      now.work = work;
    }
    prev = now;
  }

private:
  struct Seen {
    uint32_t start = UINT32_MAX;
    uint64_t remaining = 0;
    std::array<int32_t, isa::kNumRegs> regs{};
    double work = 0;
    bool haveDelta = false;
    std::array<int64_t, isa::kNumRegs> delta{};
    double iterWork = 0;
  };

  /// No loop inside the body takes its trip count from a register the body moves, and no run
  /// its micro-ops.
  bool countsFixed(uint32_t start, uint32_t end,
                   const std::array<int64_t, isa::kNumRegs> &delta) const {
    for (uint32_t b = start; b <= end && b < bundles_.size(); ++b) {
      const isa::SlotWord &c = bundles_[b][isa::Slot::Ctrl];
      if (c.raw(isa::field::none::op) == isa::op::ctrl::loop &&
          delta[c.raw(isa::field::loop::creg) & (isa::kNumRegs - 1)] != 0)
        return false;
      for (unsigned s = 1; s < isa::kNumSlots; ++s) {
        const isa::SlotWord &w = bundles_[b].slot[s];
        const isa::OpInfo *o = isa::findOp(isa::Slot(s), unsigned(w.raw(isa::field::none::op)));
        if (o && o->format == isa::Format::Run &&
            delta[w.raw(isa::field::run::ureg) & (isa::kNumRegs - 1)] != 0)
          return false;
      }
    }
    return true;
  }
  static bool noWrap(const Seen &s, uint64_t n) {
    for (unsigned r = 0; r < isa::kNumRegs; ++r) {
      if (s.delta[r] == 0)
        continue;
      long double last = (long double)s.regs[r] + (long double)n * (long double)s.delta[r];
      if (last < INT32_MIN || last > INT32_MAX)
        return false;
    }
    return true;
  }

  const std::vector<isa::Bundle> &bundles_;
  std::vector<Seen> seen_;
};

/// "the matrix unit", or "no unit" for isa::kNoWaiter.
std::string unitName(unsigned u) {
  return u < isa::kNumSlots ? std::string("the ") + isa::kSlotNames[u] + " unit" : "no unit";
}

} // namespace

std::string validateProgram(const isa::Program &p, const target::Board &board,
                            uint64_t maxWalkBundles, bool walkControlFlow, double maxWork) {
  if (maxWork <= 0)
    maxWork = maxProgramWork(board);
  if (p.target != board.name)
    return "program is built for board '" + p.target + "', not '" + board.name + "' (target)";
  if (p.bundles.empty())
    return "program has no bundles (bundles section)";
  if (p.ucode.size() > isa::kUcodeWords)
    return "microcode has " + std::to_string(p.ucode.size()) + " words, the store holds " +
           std::to_string(isa::kUcodeWords) + " (microcode section)";
  isa::Limits lim;
  lim.spadBytes = board.spadBytes();
  for (unsigned r = 0; r < isa::kNumRegions; ++r) {
    const isa::Region &reg = p.regions[r];
    if (reg.size > kMaxRegionBytes)
      return std::string("region '") + isa::kRegionNames[r] +
             "' is larger than 16 GiB (constants section)";
    if (reg.init.size() > reg.size)
      return std::string("region '") + isa::kRegionNames[r] + "' has " +
             std::to_string(reg.init.size()) + " initial bytes but is " + std::to_string(reg.size) +
             " bytes long (constants section)";
    lim.regionBytes[r] = reg.size;
  }
  std::set<std::pair<int, std::string>> names;
  bool anyEntry = false;
  for (size_t i = 0; i < p.symbols.size(); ++i) {
    const isa::Symbol &s = p.symbols[i];
    std::string where = " (symbol " + std::to_string(i) + " '" + s.name + "')";
    if (s.name.empty())
      return "symbol with an empty name" + where;
    if (!names.insert({int(s.kind), s.name}).second)
      return "symbol name used twice" + where;
    if (s.kind == isa::Symbol::Kind::Entry) {
      anyEntry = true;
      if (s.bundle >= p.bundles.size())
        return "entry point at bundle " + std::to_string(s.bundle) + " is past the last bundle (" +
               std::to_string(p.bundles.size()) + ")" + where;
    } else if (s.kind == isa::Symbol::Kind::Tensor) {
      if (s.region >= isa::kNumRegions)
        return "tensor in unknown region " + std::to_string(s.region) + where;
      if (s.offset > lim.regionBytes[s.region] || s.bytes > lim.regionBytes[s.region] - s.offset)
        return "tensor [" + std::to_string(s.offset) + ", " + std::to_string(s.offset + s.bytes) +
               ") is outside region '" + isa::kRegionNames[s.region] + "' (" +
               std::to_string(lim.regionBytes[s.region]) + " bytes)" + where;
      if (!isa::dtypeBytes(s.dtype))
        return "unknown tensor dtype '" + s.dtype + "'" + where;
    } else {
      return "unknown symbol kind " + std::to_string(unsigned(s.kind)) + where;
    }
  }
  if (!anyEntry)
    return "program has no entry point (symbol table)";
  // Encodings.
  for (size_t i = 0; i < p.bundles.size(); ++i) {
    std::string e = isa::checkBundle(p.bundles[i], p.ucode.size());
    if (!e.empty())
      return e + " (bundle " + std::to_string(i) + ")";
  }
  // Each entry's semaphore map: one waiting unit per semaphore (the ordering contract,
  // isa/Exec.h; the top routes the semaphore's tokens to it), and every wait and signal of the
  // bundles the entry can fetch is a channel of its map.
  for (size_t i = 0; i < p.symbols.size(); ++i) {
    const isa::Symbol &s = p.symbols[i];
    if (s.kind != isa::Symbol::Kind::Entry)
      continue;
    const std::string where = " (symbol " + std::to_string(i) + " '" + s.name + "')";
    const std::string entry = "entry '" + s.name + "': ";
    std::array<int, isa::kNumSems> to;
    to.fill(-1);
    std::array<unsigned, isa::kNumSems> from{}; // bit u: unit u signals the semaphore
    for (size_t k = 0; k < s.channels.size(); ++k) {
      const isa::SemChannel &c = s.channels[k];
      if (c.sem >= isa::kNumSems)
        return entry + "channel " + std::to_string(k) + " of its semaphore map names semaphore " +
               std::to_string(c.sem) + ", the overlay has " + std::to_string(isa::kNumSems) + where;
      for (uint8_t u : {c.from, c.to})
        if (u >= isa::kNumSlots && u != isa::kNoWaiter)
          return entry + "channel " + std::to_string(k) + " of its semaphore map names unit " +
                 std::to_string(u) + ", the overlay has " + std::to_string(isa::kNumSlots) + where;
      if (c.from < isa::kNumSlots)
        from[c.sem] |= 1u << c.from;
      if (to[c.sem] < 0)
        to[c.sem] = c.to;
      else if (to[c.sem] != c.to)
        return entry + "its semaphore map gives semaphore " + std::to_string(c.sem) +
               " two waiting units, " + unitName(unsigned(to[c.sem])) + " and " + unitName(c.to) +
               "; a semaphore has one waiting unit in an entry" + where;
    }
    const size_t end = isa::entryEnd(p.bundles, s.bundle);
    for (size_t b = s.bundle; b < end; ++b)
      for (unsigned u = 0; u < isa::kNumSlots; ++u) {
        const isa::SlotWord &w = p.bundles[b].slot[u];
        const std::string at = " (bundle " + std::to_string(b) + ")";
        if (w.raw(isa::field::none::wen)) {
          const unsigned sem = unsigned(w.raw(isa::field::none::wsem));
          if (to[sem] != int(u))
            return entry + "the " + isa::kSlotNames[u] + " unit waits on semaphore " +
                   std::to_string(sem) + at + ", which the entry's semaphore map " +
                   (to[sem] < 0 ? std::string("does not list")
                                : "gives to " + unitName(unsigned(to[sem]))) +
                   where;
        }
        if (w.raw(isa::field::none::sen)) {
          const unsigned sem = unsigned(w.raw(isa::field::none::ssem));
          if (!(from[sem] >> u & 1))
            return entry + "the " + isa::kSlotNames[u] + " unit signals semaphore " +
                   std::to_string(sem) + at +
                   ", but the entry's semaphore map has no channel from it on that semaphore" +
                   where;
        }
      }
  }
  for (size_t i = 0; i < p.ucode.size(); ++i)
    if (!p.ucode[i].isZero() && !isa::findUop(unsigned(p.ucode[i].raw(isa::field::uop::uop))))
      return "undefined micro-op code " + std::to_string(p.ucode[i].raw(isa::field::uop::uop)) +
             " (microcode word " + std::to_string(i) + ")";
  // A micro-op of an optional feature (isa.toml `feature`) needs a board built with its units.
  for (size_t i = 0; i < p.ucode.size(); ++i)
    if (const isa::UopInfo *info = isa::findUop(unsigned(p.ucode[i].raw(isa::field::uop::uop))))
      if (std::string e = board.missingFeature(info->name, info->feature); !e.empty())
        return e + " (microcode word " + std::to_string(i) + ")";
  // Walk every entry point's control flow: ranges depend only on registers and loops.
  for (const isa::Symbol &s : p.symbols) {
    if (s.kind != isa::Symbol::Kind::Entry || !walkControlFlow)
      continue;
    isa::Sequencer seq(p.bundles, s.bundle);
    std::vector<isa::Issue> issues;
    uint64_t steps = 0;
    double work = 0;
    LoopSkipper skipper(p.bundles);
    while (!seq.done()) {
      if (++steps > maxWalkBundles)
        return "entry '" + s.name + "' runs more than " + std::to_string(maxWalkBundles) +
               " bundles; refusing to load (bundle " + std::to_string(seq.pc()) + ")";
      issues.clear();
      seq.issue(issues);
      for (const isa::Issue &is : issues) {
        std::string e = isa::checkIssue(is, lim, p.ucode);
        if (!e.empty())
          return e + " (entry '" + s.name + "', bundle " + std::to_string(is.bundle) + ", " +
                 isa::kSlotNames[unsigned(is.slot)] + " slot)";
        // The bundle limit does not bound what one bundle asks for: count the work.
        if (is.slot == isa::Slot::Ctrl)
          continue;
        double perIter = 0;
        for (uint32_t i = 0; i < is.run.ulen; ++i)
          perIter += uopWork(isa::resolveUop(is.word(p.ucode, i), is.run, 0), is.word(p.ucode, i));
        work += perIter * is.run.iters;
        if (work > maxWork)
          return "entry '" + s.name + "' asks for more than " + sci(maxWork) +
                 " element operations, more than the " + board.name + " overlay does in " +
                 std::to_string(int(kMaxRunSeconds)) + " s; refusing to load (bundle " +
                 std::to_string(is.bundle) + ", " + isa::kSlotNames[unsigned(is.slot)] + " slot)";
      }
      skipper.after(seq, work);
    }
    if (!seq.error().empty())
      return seq.error() + " (entry '" + s.name + "')";
  }
  return "";
}

LoadResult loadContainer(const uint8_t *data, size_t size, const LoadOptions &opt) {
  LoadResult r;
  auto fail = [&](const std::string &e) {
    r.error = e;
    return r;
  };
  if (size < kHeaderBytes)
    return fail("truncated file: " + std::to_string(size) + " bytes, the header alone is " +
                std::to_string(kHeaderBytes) + " (header)");
  if (std::memcmp(data, kMagic, 4) != 0)
    return fail("not a .m2b file: bad magic (header, offset 0)");
  uint16_t version = uint16_t(get(data + 4, 2)), isaVersion = uint16_t(get(data + 6, 2));
  if (version == 2)
    return fail("container version 2 is not supported (this runtime reads " +
                std::to_string(kContainerVersion) +
                ": version 3 records each entry point's semaphore map; compile the model again) "
                "(header, offset 4)");
  if (version != kContainerVersion)
    return fail("container version " + std::to_string(version) +
                " is not supported (this runtime reads " + std::to_string(kContainerVersion) +
                ") (header, offset 4)");
  if (isaVersion != isa::kIsaVersion)
    return fail("ISA version " + std::to_string(isaVersion) + " does not match this overlay's " +
                std::to_string(isa::kIsaVersion) + " (header, offset 6)");
  uint64_t payload = get(data + 8, 8);
  if (payload != size - kHeaderBytes)
    return fail(payload > size - kHeaderBytes
                    ? "truncated file: header announces " + std::to_string(payload) +
                          " payload bytes, " + std::to_string(size - kHeaderBytes) +
                          " present (header, offset 8)"
                    : "file has " + std::to_string(size - kHeaderBytes - payload) +
                          " bytes after the payload (header, offset 8)");
  const uint64_t table = get(data + 20, 4);
  const uint64_t dataStart = alignData(kHeaderBytes + table) - kHeaderBytes; // in the payload
  if (table < 8 || dataStart > payload)
    return fail("the table's size " + std::to_string(table) + " does not fit the " +
                std::to_string(payload) + "-byte payload (header, offset 20)");
  char boardName[17] = {};
  std::memcpy(boardName, data + 24, 16);
  const uint8_t *body = data + kHeaderBytes;
  uint32_t want = uint32_t(get(data + 16, 4)), got = crc32(body, payload);
  if (want != got)
    return fail("checksum mismatch: header says " + std::to_string(want) + ", payload has " +
                std::to_string(got) + " (header, offset 16)");
  flatbuffers::Verifier v(body, table, 64, 1000000);
  if (!m2b::VerifyProgramBuffer(v))
    return fail("payload is not a well-formed program table (payload)");
  const m2b::Program *fp = m2b::GetProgram(body);
  const m2b::Target *t = fp->target();
  if (!t || !t->board())
    return fail("missing target section (payload)");
  std::string board = t->board()->str();
  if (board != boardName)
    return fail("header names board '" + std::string(boardName) +
                "' but the target section names '" + board + "' (target)");
  r.board = opt.board ? opt.board : target::findBoard(board);
  if (!r.board)
    return fail("unknown target board '" + board + "' (known: " + target::boardNames() +
                ") (target)");
  if (board != r.board->name)
    return fail("program is built for board '" + board + "', this device is '" + r.board->name +
                "' (target)");
  if (t->isa_version() != isa::kIsaVersion)
    return fail("target section ISA version " + std::to_string(t->isa_version()) +
                " does not match (target)");
  if (t->spad_bytes() != r.board->spadBytes())
    return fail("program assumes a " + std::to_string(t->spad_bytes()) + "-byte scratchpad, the " +
                board + " overlay has " + std::to_string(r.board->spadBytes()) + " (target)");
  if (t->ucode_words() != isa::kUcodeWords || t->num_sems() != isa::kNumSems)
    return fail("program assumes a different microcode store or semaphore count (target)");
  // The stripe layout of the DRAM regions over the m_axi ports must be the board's.
  if (t->dram_ports() != r.board->axiPorts || t->stripe_bytes() != r.board->stripeBytes)
    return fail("program stripes DRAM over " + std::to_string(t->dram_ports()) + " ports of " +
                std::to_string(t->stripe_bytes()) + " bytes, the " + board + " overlay over " +
                std::to_string(r.board->axiPorts) + " of " + std::to_string(r.board->stripeBytes) +
                " (target)");

  isa::Program &p = r.program;
  p.target = board;
  const auto *bundles = fp->bundles();
  if (!bundles || bundles->size() % isa::kBundleBytes)
    return fail("bundles section is not a whole number of " + std::to_string(isa::kBundleBytes) +
                "-byte bundles (bundles section)");
  for (size_t i = 0; i < bundles->size(); i += isa::kBundleBytes)
    p.bundles.push_back(isa::Bundle::fromBytes(bundles->data() + i));
  const auto *ucode = fp->ucode();
  if (ucode) {
    if (ucode->size() % isa::kUopBytes)
      return fail("microcode section is not a whole number of " + std::to_string(isa::kUopBytes) +
                  "-byte micro-ops (microcode section)");
    if (ucode->size() / isa::kUopBytes > isa::kUcodeWords)
      return fail("microcode section has " + std::to_string(ucode->size() / isa::kUopBytes) +
                  " words, the store holds " + std::to_string(isa::kUcodeWords) +
                  " (microcode section)");
    for (size_t i = 0; i < ucode->size(); i += isa::kUopBytes)
      p.ucode.push_back(isa::UopWord::fromBytes(ucode->data() + i));
  }
  // The data section: the padding before it is zero; each region's bytes at the next aligned
  // offset, in the table's order, zeros between them, nothing after the last.
  for (uint64_t i = table; i < dataStart; ++i)
    if (body[i])
      return fail("the padding after the table is not zero (data section)");
  const uint8_t *section = body + dataStart;
  const uint64_t sectionBytes = payload - dataStart;
  uint64_t at = 0;
  std::set<unsigned> seen;
  if (fp->regions())
    for (const m2b::Region *reg : *fp->regions()) {
      if (reg->id() >= isa::kNumRegions || !seen.insert(reg->id()).second)
        return fail("region id " + std::to_string(reg->id()) +
                    " is unknown or repeated (constants section)");
      if (reg->size() > kMaxRegionBytes)
        return fail("region larger than 16 GiB (constants section)");
      const std::string name = std::string("region '") + isa::kRegionNames[reg->id()] + "'";
      p.regions[reg->id()].size = reg->size();
      const uint64_t offset = reg->data_offset(), bytes = reg->data_bytes();
      if (bytes > reg->size())
        return fail(name + " has more initial bytes than its size (constants section)");
      if (!bytes) {
        if (offset)
          return fail(name + " has a data offset but no data (constants section)");
        continue;
      }
      if (offset != alignData(at) || offset > sectionBytes || bytes > sectionBytes - offset)
        return fail(name + "'s data at " + std::to_string(offset) + ".." +
                    std::to_string(offset + bytes) + " is not the next aligned range of the " +
                    std::to_string(sectionBytes) + "-byte data section (data section)");
      for (uint64_t i = at; i < offset; ++i)
        if (section[i])
          return fail("the padding before " + name + "'s data is not zero (data section)");
      if (opt.regionData)
        p.regions[reg->id()].init.assign(section + offset, section + offset + bytes);
      at = offset + bytes;
    }
  if (at != sectionBytes)
    return fail("the data section has " + std::to_string(sectionBytes - at) +
                " bytes after the last region's data (data section)");
  uint64_t total = 0;
  for (const isa::Region &reg : p.regions)
    total += reg.size;
  if (total > opt.maxRegionBytes)
    return fail("regions need " + std::to_string(total) + " bytes of DRAM, more than the " +
                std::to_string(opt.maxRegionBytes) + " this loader allows (constants section)");
  if (fp->symbols())
    for (const m2b::Symbol *s : *fp->symbols()) {
      isa::Symbol sym;
      if (!s->name())
        return fail("symbol without a name (symbol table)");
      sym.name = s->name()->str();
      sym.kind = isa::Symbol::Kind(s->kind());
      sym.bundle = s->bundle();
      sym.region = s->region();
      sym.offset = s->offset();
      sym.bytes = s->bytes();
      sym.dtype = s->dtype() ? s->dtype()->str() : "";
      if (s->channels())
        for (const m2b::Channel *c : *s->channels())
          sym.channels.push_back({c->sem(), c->from_unit(), c->to_unit()});
      p.symbols.push_back(sym);
    }
  r.error = validateProgram(p, *r.board, opt.maxWalkBundles, opt.walkControlFlow, opt.maxWork);
  return r;
}

LoadResult loadContainerFile(const std::string &path, const LoadOptions &opt) {
  LoadResult r;
  // A regular file is mapped, not read into a buffer (no copy of a 2 GB program before the
  // checks; the program copies what it keeps); anything else is read, bounded.
  std::error_code fec;
  if (std::filesystem::is_regular_file(path, fec)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && st.st_size > 0 &&
        uint64_t(st.st_size) <= kMaxRegionBytes + (uint64_t(1) << 32)) {
      void *map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      ::close(fd);
      if (map != MAP_FAILED) {
        r = loadContainer(static_cast<const uint8_t *>(map), size_t(st.st_size), opt);
        ::munmap(map, size_t(st.st_size));
        if (!r.ok())
          r.error = path + ": " + r.error;
        return r;
      }
    } else if (fd >= 0) {
      ::close(fd);
    }
  }
  std::vector<uint8_t> bytes;
  // A program's file holds its regions' initial bytes, so a regular file may be larger than
  // readFile's default for text files (a 2.7B model's program is over 2 GB), up to the
  // regions' limit; anything else (a device, a pipe) keeps the default bound.
  uint64_t limit = kMaxReadBytes;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    uint64_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > limit)
      limit = std::min<uint64_t>(size, kMaxRegionBytes + (uint64_t(1) << 32));
  }
  std::string err = readFile(path, bytes, limit);
  if (!err.empty()) {
    r.error = err;
    return r;
  }
  r = loadContainer(bytes.data(), bytes.size(), opt);
  if (!r.ok())
    r.error = path + ": " + r.error;
  return r;
}

} // namespace mamba2::runtime
