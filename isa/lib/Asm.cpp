// Assembler and disassembler, driven by the generated field tables (no per-op code).
#include "mamba2/isa/Asm.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>

namespace mamba2::isa {
namespace {

constexpr unsigned kCommonFields = 5; // op wen wsem sen ssem (spec: [[common]])

std::vector<std::string> splitWs(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string t;
  while (in >> t)
    out.push_back(t);
  return out;
}

std::string trim(const std::string &s) {
  size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

struct Parser {
  std::string file;
  unsigned line = 0;

  [[noreturn]] void error(const std::string &msg) const {
    throw AsmError(file + ":" + std::to_string(line) + ": error: " + msg);
  }

  int64_t number(const std::string &tok, const std::string &what) const {
    if (tok.empty())
      error("missing value for " + what);
    size_t pos = 0;
    bool neg = tok[0] == '-';
    std::string body = neg ? tok.substr(1) : tok;
    if (body.empty() || !std::isdigit(static_cast<unsigned char>(body[0])))
      error("'" + tok + "' is not a number (" + what + ")");
    unsigned long long v;
    try {
      v = std::stoull(body, &pos, 0);
    } catch (...) {
      error("'" + tok + "' is not a number in range (" + what + ")");
    }
    if (pos != body.size())
      error("'" + tok + "' is not a number (" + what + ")");
    if (v > (neg ? (1ull << 63) : (1ull << 63) - 1))
      error("'" + tok + "' is out of range (" + what + ")");
    return neg ? -static_cast<int64_t>(v - 1) - 1 : static_cast<int64_t>(v);
  }

  template <unsigned Bits>
  void fields(Word<Bits> &w, const FormatInfo &fmt, unsigned first,
              const std::vector<std::string> &toks, size_t from, const std::string &ctx) const {
    std::map<std::string, bool> seen;
    for (size_t i = from; i < toks.size(); ++i) {
      size_t eq = toks[i].find('=');
      if (eq == std::string::npos)
        error("expected field=value in " + ctx + ", got '" + toks[i] + "'");
      std::string name = toks[i].substr(0, eq), val = toks[i].substr(eq + 1);
      if (seen[name])
        error("field '" + name + "' given twice in " + ctx);
      seen[name] = true;
      if (Bits == kSlotBits && (name == "wait" || name == "signal")) {
        int64_t s = number(val, name);
        if (s < 0 || s >= int64_t(kNumSems))
          error(name + "=" + val + ": semaphores are 0.." + std::to_string(kNumSems - 1));
        w.set(name == "wait" ? field::none::wen : field::none::sen, 1);
        w.set(name == "wait" ? field::none::wsem : field::none::ssem, s);
        continue;
      }
      const FieldInfo *fi = nullptr;
      for (unsigned j = first; j < fmt.numFields; ++j)
        if (name == fmt.fields[j].name)
          fi = &fmt.fields[j];
      if (!fi)
        error("no field '" + name + "' in " + ctx + " (format '" + fmt.name + "')");
      int64_t v;
      if (name == "region" && regionByName(val) >= 0)
        v = regionByName(val);
      else
        v = number(val, name);
      if (!fits(fi->bits, v))
        error("value " + val + " does not fit field '" + name + "' (" +
              std::to_string(fi->bits.width) + (fi->bits.isSigned ? " signed" : "") + " bits) of " +
              ctx);
      w.set(fi->bits, v);
    }
  }

  SlotWord slot(const std::string &text, Slot &which) const {
    std::vector<std::string> toks = splitWs(text);
    if (toks.empty())
      error("empty slot in bundle");
    size_t dot = toks[0].find('.');
    if (dot == std::string::npos)
      error("expected slot.op, got '" + toks[0] + "'");
    std::string sname = toks[0].substr(0, dot), oname = toks[0].substr(dot + 1);
    int s = -1;
    for (unsigned i = 0; i < kNumSlots; ++i)
      if (sname == kSlotNames[i])
        s = static_cast<int>(i);
    if (s < 0)
      error("unknown slot '" + sname + "'");
    which = static_cast<Slot>(s);
    const OpInfo *op = nullptr;
    for (const OpInfo &o : kOps)
      if (o.slot == which && oname == o.name)
        op = &o;
    if (!op)
      error("slot '" + sname + "' has no operation '" + oname + "'");
    SlotWord w;
    w.set(field::none::op, op->code);
    fields(w, formatInfo(op->format), kCommonFields, toks, 1, toks[0]);
    return w;
  }

  Bundle bundle(const std::string &text) const {
    Bundle b;
    bool used[kNumSlots] = {};
    std::string body = trim(text.substr(1, text.size() - 2));
    size_t start = 0;
    while (start <= body.size() && !body.empty()) {
      size_t semi = body.find(';', start);
      std::string part =
          trim(body.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
      Slot which;
      SlotWord w = slot(part, which);
      if (used[static_cast<unsigned>(which)])
        error(std::string("slot '") + kSlotNames[static_cast<unsigned>(which)] +
              "' used twice in one bundle");
      used[static_cast<unsigned>(which)] = true;
      b[which] = w;
      if (semi == std::string::npos)
        break;
      start = semi + 1;
    }
    return b;
  }
};

std::string fieldValues(const FormatInfo &fmt, unsigned first,
                        int64_t (*get)(const void *, BitField), const void *w) {
  std::string out;
  for (unsigned j = first; j < fmt.numFields; ++j) {
    int64_t v = get(w, fmt.fields[j].bits);
    if (v == 0)
      continue;
    out += ' ';
    out += fmt.fields[j].name;
    out += '=';
    if (std::string(fmt.fields[j].name) == "region" && v >= 0 && v < int64_t(kNumRegions))
      out += kRegionNames[v];
    else
      out += std::to_string(v);
  }
  return out;
}

} // namespace

std::string formatBundle(const Bundle &b) {
  std::string out = "{";
  bool any = false;
  for (unsigned i = 0; i < kNumSlots; ++i) {
    const SlotWord &w = b.slot[i];
    if (w.isZero())
      continue;
    const OpInfo *op = findOp(static_cast<Slot>(i), static_cast<unsigned>(w.raw(field::none::op)));
    out += any ? " ; " : " ";
    any = true;
    if (!op) {
      out += std::string(kSlotNames[i]) + ".<bad opcode " + std::to_string(w.raw(field::none::op)) +
             ">";
      continue;
    }
    out += std::string(kSlotNames[i]) + "." + op->name;
    out += fieldValues(
        formatInfo(op->format), kCommonFields,
        [](const void *p, BitField f) { return static_cast<const SlotWord *>(p)->get(f); }, &w);
    if (w.raw(field::none::wen))
      out += " wait=" + std::to_string(w.raw(field::none::wsem));
    if (w.raw(field::none::sen))
      out += " signal=" + std::to_string(w.raw(field::none::ssem));
  }
  return out + (any ? " }" : "}");
}

std::string formatUop(const UopWord &u) {
  const UopInfo *info = findUop(static_cast<unsigned>(u.raw(field::uop::uop)));
  std::string out =
      info ? info->name : "<bad micro-op " + std::to_string(u.raw(field::uop::uop)) + ">";
  out += fieldValues(
      formatInfo(info ? info->format : Format::Uop), 1,
      [](const void *p, BitField f) { return static_cast<const UopWord *>(p)->get(f); }, &u);
  return out;
}

static std::string hex(const uint8_t *p, size_t n) {
  static const char *d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::string disassemble(const Program &p) {
  std::ostringstream o;
  o << ".target " << p.target << "\n";
  for (unsigned r = 0; r < kNumRegions; ++r)
    if (p.regions[r].size)
      o << ".region " << kRegionNames[r] << " " << p.regions[r].size << "\n";
  for (unsigned r = 0; r < kNumRegions; ++r) {
    const std::vector<uint8_t> &init = p.regions[r].init;
    for (size_t off = 0; off < init.size(); off += 32) {
      size_t n = std::min<size_t>(32, init.size() - off);
      o << ".data " << kRegionNames[r] << " " << off << " x " << hex(init.data() + off, n) << "\n";
    }
  }
  for (const Symbol &s : p.symbols) {
    if (s.kind == Symbol::Kind::Entry)
      o << ".entry " << s.name << " " << s.bundle << "\n";
    else
      o << ".tensor " << s.name << " " << (s.region < kNumRegions ? kRegionNames[s.region] : "?")
        << " " << s.offset << " " << s.bytes << " " << s.dtype << "\n";
  }
  for (size_t i = 0; i < p.ucode.size(); ++i)
    if (!p.ucode[i].isZero())
      o << ".uop " << i << " " << formatUop(p.ucode[i]) << "\n";
  if (!p.ucode.empty() && p.ucode.back().isZero())
    o << ".ucode_size " << p.ucode.size() << "\n";
  for (const Bundle &b : p.bundles)
    o << formatBundle(b) << "\n";
  return o.str();
}

Program assemble(const std::string &text, const std::string &fileName) {
  Program p;
  Parser ps{fileName};
  std::istringstream in(text);
  std::string raw;
  bool haveTarget = false;
  while (std::getline(in, raw)) {
    ++ps.line;
    std::string l = trim(raw.substr(0, raw.find('#'))); // `#` starts a comment
    if (l.empty())
      continue;
    if (l[0] == '{') {
      if (l.back() != '}')
        ps.error("bundle must end with '}' on the same line");
      p.bundles.push_back(ps.bundle(l));
      continue;
    }
    std::vector<std::string> t = splitWs(l);
    if (t.empty()) // only whitespace trim() keeps (\v, \f): found by fuzzing
      continue;
    const std::string &d = t[0];
    auto need = [&](size_t n) {
      if (t.size() < n)
        ps.error(d + " needs " + std::to_string(n - 1) + " operands");
    };
    auto region = [&](const std::string &name) {
      int r = regionByName(name);
      if (r < 0)
        ps.error("unknown region '" + name + "' (const, io, state, scratch)");
      return static_cast<unsigned>(r);
    };
    if (d == ".target") {
      need(2);
      p.target = t[1];
      haveTarget = true;
    } else if (d == ".region") {
      need(3);
      int64_t size = ps.number(t[2], "region size");
      if (size < 0 || size > (int64_t(1) << 32))
        ps.error("region size must be 0..2^32 bytes");
      p.regions[region(t[1])].size = static_cast<uint64_t>(size);
    } else if (d == ".data") {
      need(4);
      unsigned r = region(t[1]);
      int64_t off = ps.number(t[2], "data offset");
      if (off < 0 || off > (int64_t(1) << 32))
        ps.error("data offset out of range");
      std::vector<uint8_t> bytes;
      const std::string &ty = t[3];
      if (ty == "x") {
        for (size_t i = 4; i < t.size(); ++i) {
          const std::string &h = t[i];
          if (h.size() % 2)
            ps.error("hex string has an odd number of digits");
          for (size_t j = 0; j < h.size(); j += 2) {
            if (!std::isxdigit(static_cast<unsigned char>(h[j])) ||
                !std::isxdigit(static_cast<unsigned char>(h[j + 1])))
              ps.error("'" + h + "' is not a hex string");
            bytes.push_back(static_cast<uint8_t>(std::stoul(h.substr(j, 2), nullptr, 16)));
          }
        }
      } else {
        int64_t lo, hi;
        unsigned n;
        if (ty == "i8") {
          lo = -128;
          hi = 127;
          n = 1;
        } else if (ty == "u8") {
          lo = 0;
          hi = 255;
          n = 1;
        } else if (ty == "i16") {
          lo = -32768;
          hi = 32767;
          n = 2;
        } else if (ty == "i32") {
          lo = INT32_MIN;
          hi = INT32_MAX;
          n = 4;
        } else
          ps.error("unknown data type '" + ty + "' (i8 u8 i16 i32 x)");
        for (size_t i = 4; i < t.size(); ++i) {
          int64_t v = ps.number(t[i], ty + " value");
          if (v < lo || v > hi)
            ps.error("value " + t[i] + " out of range for " + ty);
          for (unsigned b = 0; b < n; ++b)
            bytes.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * b)));
        }
      }
      std::vector<uint8_t> &init = p.regions[r].init;
      uint64_t end = static_cast<uint64_t>(off) + bytes.size();
      if (end > p.regions[r].size)
        ps.error("data [" + std::to_string(off) + ", " + std::to_string(end) +
                 ") is outside region '" + kRegionNames[r] + "' (" +
                 std::to_string(p.regions[r].size) + " bytes; .region comes first)");
      if (init.size() < end)
        init.resize(end, 0);
      std::copy(bytes.begin(), bytes.end(), init.begin() + off);
    } else if (d == ".tensor") {
      need(6);
      Symbol s;
      s.kind = Symbol::Kind::Tensor;
      s.name = t[1];
      s.region = static_cast<uint8_t>(region(t[2]));
      int64_t off = ps.number(t[3], "tensor offset"), n = ps.number(t[4], "tensor bytes");
      if (off < 0 || n < 0)
        ps.error("tensor offset and size must be >= 0");
      s.offset = static_cast<uint64_t>(off);
      s.bytes = static_cast<uint64_t>(n);
      s.dtype = t[5];
      if (!dtypeBytes(s.dtype))
        ps.error("unknown tensor dtype '" + s.dtype + "' (i8 u8 i16 i32 i4x2)");
      p.symbols.push_back(s);
    } else if (d == ".entry") {
      need(2);
      Symbol s;
      s.name = t[1];
      int64_t at = t.size() > 2 ? ps.number(t[2], "entry bundle") : int64_t(p.bundles.size());
      if (at < 0 || at > INT32_MAX)
        ps.error("entry bundle out of range");
      s.bundle = static_cast<uint32_t>(at);
      p.symbols.push_back(s);
    } else if (d == ".uop") {
      need(3);
      int64_t idx = ps.number(t[1], "microcode index");
      if (idx < 0 || idx >= int64_t(kUcodeWords))
        ps.error("microcode index " + t[1] + " outside the store (0.." +
                 std::to_string(kUcodeWords - 1) + ")");
      const UopInfo *u = nullptr;
      for (const UopInfo &x : kUops)
        if (t[2] == x.name)
          u = &x;
      if (!u)
        ps.error("unknown micro-op '" + t[2] + "'");
      UopWord w;
      w.set(field::uop::uop, u->code);
      ps.fields(w, formatInfo(u->format), 1, t, 3, t[2]);
      if (p.ucode.size() <= size_t(idx))
        p.ucode.resize(idx + 1);
      p.ucode[idx] = w;
    } else if (d == ".ucode_size") {
      need(2);
      int64_t n = ps.number(t[1], "microcode size");
      if (n < int64_t(p.ucode.size()) || n > int64_t(kUcodeWords))
        ps.error(".ucode_size must cover the micro-ops given and be at most " +
                 std::to_string(kUcodeWords));
      p.ucode.resize(n);
    } else {
      ps.error("unknown directive '" + d + "'");
    }
  }
  if (!haveTarget)
    throw AsmError(fileName + ": error: no .target directive");
  deriveEntryChannels(p); // each entry's semaphore map, as its bundles use the semaphores
  return p;
}

} // namespace mamba2::isa
