#!/usr/bin/env python3
"""Generate the ISA's C++ encoding header and the tables of docs/isa.md from isa/spec/isa.toml.

  isagen.py SPEC --header OUT.h          write the C++ header
  isagen.py SPEC --docs isa.md --update  rewrite the generated tables inside isa.md
  isagen.py SPEC --docs isa.md --check   exit 1 (naming the table) if isa.md disagrees with SPEC

Generated tables sit between `<!-- BEGIN GENERATED name -->` and `<!-- END GENERATED name -->`.
"""
import argparse
import re
import sys
import tomllib


def fail(msg):
    print(f"isagen: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        spec = tomllib.load(f)
    common = spec["common"]
    common_bits = sum(f["bits"] for f in common)
    formats = []
    for fm in spec["format"]:
        fields, lsb = [], 0
        base = common if fm["kind"] == "slot" else []
        for f in base + fm["fields"]:
            fields.append(dict(name=f["name"], lsb=lsb, bits=f["bits"],
                               signed=bool(f.get("signed", False)), doc=f["doc"],
                               role=f.get("role")))
            lsb += f["bits"]
        width = spec["slot_bits"] if fm["kind"] == "slot" else spec["uop_bits"]
        if lsb > width:
            fail(f"format '{fm['name']}' uses {lsb} bits, more than its {width}")
        names = [f["name"] for f in fields]
        if len(set(names)) != len(names):
            fail(f"format '{fm['name']}' repeats a field name")
        formats.append(dict(name=fm["name"], kind=fm["kind"], doc=fm["doc"], fields=fields,
                            used=lsb, width=width, active=fm.get("active")))
    fmt_names = {f["name"] for f in formats}
    for op in spec["op"]:
        if op["slot"] not in spec["slots"]:
            fail(f"op '{op['name']}' names unknown slot '{op['slot']}'")
        if op["format"] not in fmt_names:
            fail(f"op '{op['slot']}.{op['name']}' names unknown format '{op['format']}'")
        if op["code"] >= 1 << common[0]["bits"]:
            fail(f"op '{op['slot']}.{op['name']}' code {op['code']} does not fit the opcode field")
    seen = set()
    for op in spec["op"]:
        key = (op["slot"], op["code"])
        if key in seen:
            fail(f"slot '{op['slot']}' uses opcode {op['code']} twice")
        seen.add(key)
    uop_fmts = {f["name"]: f for f in formats if f["kind"] == "uop"}
    code_bits = {f["fields"][0]["bits"] for f in uop_fmts.values()}
    if len(code_bits) != 1 or any(f["fields"][0]["lsb"] != 0 for f in uop_fmts.values()):
        fail("every micro-op format must start with the same micro-opcode field")
    codes = set()
    for u in spec["uop"]:
        u.setdefault("format", "uop")
        if u["format"] not in uop_fmts:
            fail(f"micro-op '{u['name']}' names unknown micro-op format '{u['format']}'")
        if u["code"] in codes or u["code"] >= 1 << next(iter(code_bits)):
            fail(f"micro-op '{u['name']}' has a repeated or too-wide code {u['code']}")
        codes.add(u["code"])
        for unit in u["unit"].split():
            if unit not in spec["slots"] or unit == "ctrl":
                fail(f"micro-op '{u['name']}' names unit '{unit}', which has no sequencer")
        if u.setdefault("feature", "") not in FEATURES:
            fail(f"micro-op '{u['name']}' names unknown feature '{u['feature']}' (known: "
                 f"{', '.join(f for f in FEATURES if f)})")
        check_operands(u, uop_fmts[u["format"]])
    for f in uop_fmts.values():
        roles = [fd["role"] for fd in f["fields"] if fd["role"]]
        if len(set(roles)) != len(roles) or any(r not in ROLES for r in roles):
            fail(f"micro-op format '{f['name']}' has repeated or unknown operand roles {roles}")
        if not f["active"]:
            fail(f"micro-op format '{f['name']}' needs an `active` condition")
        check_expr(f["active"], FORMAT_VARS[f["name"]], f"format '{f['name']}' active")
    spec["_formats"] = formats
    spec["_common_bits"] = common_bits
    return spec


ROLES = ["dst", "src0", "src1", "src2"]
# Optional board features a micro-op may need (each a boolean `[units]` key of the board files,
# target/gen/targetgen.py); "" is none.
FEATURES = ["", "chunked_ssd"]
# Element types of micro-op operands: bytes per element.
TYPES = {"i8": 1, "u8": 1, "i32": 4, "i4x2": 1}
# The variables an operand's count may use, per micro-op format (generated as locals of the
# decoded micro-op, all uint64_t).
FORMAT_VARS = {
    "uop": {"len": "u.len", "cols": "(u.p0 > 0 ? uint64_t(u.p0) : 0)", "bcast": "uint64_t(u.p1 & 1)",
            "coff": "(u.p4 > 0 ? uint64_t(u.p4) : 0)", "per": "(u.p2 > 0 ? uint64_t(u.p2) : 0)",
            "ebytes": "(u.p1 > 0 ? uint64_t(u.p1) : 0)",
            "spitch": "(u.p2 > 0 ? uint64_t(u.p2) : (u.p0 > 0 ? uint64_t(u.p0) : 0))",
            "dpitch": "(u.p3 > 0 ? uint64_t(u.p3) : uint64_t(u.len))"},
    "umm": {"m": "u.m", "k": "u.k", "n": "u.n", "group": "u.group", "wpitch": "u.wpitch"},
    "udma": {"rows": "u.rows", "rowb": "u.rowb", "stride": "u.stride"},
}
# Members of the decoded micro-op (UopArgs) that a non-address field sets: C++ type.
MEMBERS = {"len": "uint32_t", "p0": "int", "p1": "int", "p2": "int", "p3": "int", "p4": "int",
           "m": "uint32_t",
           "k": "uint32_t", "n": "uint32_t", "group": "uint32_t", "shift": "int", "wpitch": "uint32_t",
           "accum": "bool", "region": "unsigned", "rows": "uint32_t", "rowb": "uint32_t",
           "stride": "uint32_t"}
EXPR_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([0-9]+)|(&&|\|\||!=|==|[-+*/?:()]))")


def check_expr(expr, names, what):
    pos = 0
    while pos < len(expr):
        m = EXPR_TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            fail(f"{what}: cannot read `{expr}` at `{expr[pos:]}`")
        if m.group(1) and m.group(1) not in names:
            fail(f"{what}: `{m.group(1)}` is not one of {sorted(names)}")
        pos = m.end()


def cexpr(expr, names):
    """The expression with each variable replaced by its uint64_t value."""
    out, pos = [], 0
    while pos < len(expr):
        m = EXPR_TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            break
        if m.group(1):
            out.append(f"uint64_t({names[m.group(1)]})")
        elif m.group(2):
            out.append(f"uint64_t({m.group(2)})")
        else:
            out.append(f" {m.group(3)} ")
        pos = m.end()
    return "".join(out).replace("  ", " ").strip()


def check_operands(u, fmt):
    roles = {fd["role"] for fd in fmt["fields"] if fd["role"]}
    seen = set()
    for o in u.get("operands", []):
        what = f"micro-op '{u['name']}' operand {o.get('role')}"
        if o.get("role") not in roles:
            fail(f"{what}: role is not an address role of format '{fmt['name']}' ({sorted(roles)})")
        if o["role"] in seen:
            fail(f"{what}: role listed twice")
        seen.add(o["role"])
        if o.get("type") not in TYPES:
            fail(f"{what}: type '{o.get('type')}' is not one of {sorted(TYPES)}")
        if o.setdefault("mem", "spad") not in ("spad", "dram"):
            fail(f"{what}: mem must be spad or dram")
        if o["mem"] == "dram" and fmt["name"] != "udma":
            fail(f"{what}: only DMA micro-ops reach DRAM")
        o.setdefault("write", False)
        check_expr(o["count"], FORMAT_VARS[fmt["name"]], what)


def cident(s):
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header(spec):
    o = []
    w = o.append
    w("// GENERATED by isa/gen/isagen.py from isa/spec/isa.toml. Do not edit.")
    w("#pragma once")
    w("#include <cstdint>")
    w("")
    w("namespace mamba2::isa {")
    w("")
    w(f"constexpr unsigned kIsaVersion = {spec['version']};")
    w(f"constexpr unsigned kSlotBits = {spec['slot_bits']};")
    w(f"constexpr unsigned kUopBits = {spec['uop_bits']};")
    w(f"constexpr unsigned kNumSlots = {len(spec['slots'])};")
    w("constexpr unsigned kSlotBytes = kSlotBits / 8;")
    w("constexpr unsigned kUopBytes = kUopBits / 8;")
    w("constexpr unsigned kBundleBytes = kNumSlots * kSlotBytes;")
    for k in ["spad_addr_bits", "num_sems", "num_regs", "loop_depth", "ucode_index_bits"]:
        name = "k" + "".join(p.capitalize() for p in k.split("_"))
        w(f"constexpr unsigned {name} = {spec[k]};")
    w("constexpr unsigned kUcodeWords = 1u << kUcodeIndexBits;")
    w("constexpr uint32_t kSpadAddrLimit = 1u << kSpadAddrBits;")
    w(f"static_assert(kSlotBits % 64 == 0 && kUopBits % 64 == 0, \"words are whole uint64s\");")
    w("")
    w("/// Bundle slots, in their order inside a bundle.")
    w("enum class Slot : uint8_t {")
    for i, s in enumerate(spec["slots"]):
        w(f"  {s.capitalize()} = {i},")
    w("};")
    w("constexpr const char *kSlotNames[kNumSlots] = {" +
      ", ".join(cstr(s) for s in spec["slots"]) + "};")
    w("")
    w("/// A field: `width` bits starting at bit `lsb` of a slot or micro-op word.")
    w("struct BitField {")
    w("  uint16_t lsb;")
    w("  uint8_t width;")
    w("  bool isSigned;")
    w("};")
    w("struct FieldInfo {")
    w("  const char *name;")
    w("  BitField bits;")
    w("  const char *doc;")
    w("};")
    w("")
    w("enum class Format : uint8_t {")
    for i, f in enumerate(spec["_formats"]):
        w(f"  {f['name'].capitalize()} = {i},")
    w("};")
    w(f"constexpr unsigned kNumFormats = {len(spec['_formats'])};")
    w("")
    w("namespace field {")
    for f in spec["_formats"]:
        w(f"namespace {cident(f['name'])} {{")
        for fd in f["fields"]:
            w(f"constexpr BitField {cident(fd['name'])}{{{fd['lsb']}, {fd['bits']}, "
              f"{'true' if fd['signed'] else 'false'}}};")
        w(f"constexpr unsigned kUsedBits = {f['used']};")
        w(f"static_assert(kUsedBits <= {'kSlotBits' if f['kind'] == 'slot' else 'kUopBits'}, "
          f"\"format {f['name']} overflows its word\");")
        last = f["fields"][-1] if f["fields"] else None
        if last:
            w(f"static_assert({cident(last['name'])}.lsb + {cident(last['name'])}.width == kUsedBits, "
              "\"fields are contiguous\");")
        w("} // namespace " + cident(f["name"]))
    w("} // namespace field")
    w("")
    for f in spec["_formats"]:
        w(f"constexpr FieldInfo kFields_{cident(f['name'])}[] = {{")
        for fd in f["fields"]:
            w(f"    {{{cstr(fd['name'])}, field::{cident(f['name'])}::{cident(fd['name'])}, {cstr(fd['doc'])}}},")
        if not f["fields"]:
            w("    {nullptr, {0, 0, false}, nullptr},")
        w("};")
    w("struct FormatInfo {")
    w("  const char *name;")
    w("  bool isUop;")
    w("  const FieldInfo *fields;")
    w("  unsigned numFields;")
    w("  unsigned usedBits;")
    w("};")
    w("constexpr FormatInfo kFormats[kNumFormats] = {")
    for f in spec["_formats"]:
        w(f"    {{{cstr(f['name'])}, {'true' if f['kind'] == 'uop' else 'false'}, "
          f"kFields_{cident(f['name'])}, {len(f['fields'])}, {f['used']}}},")
    w("};")
    w("")
    w("namespace op {")
    for s in spec["slots"]:
        w(f"namespace {s} {{")
        for op in spec["op"]:
            if op["slot"] == s:
                w(f"constexpr uint8_t {cident(op['name'])} = {op['code']};")
        w(f"}} // namespace {s}")
    w("} // namespace op")
    w("struct OpInfo {")
    w("  Slot slot;")
    w("  uint8_t code;")
    w("  const char *name;")
    w("  Format format;")
    w("  const char *doc;")
    w("};")
    w(f"constexpr unsigned kNumOps = {len(spec['op'])};")
    w("constexpr OpInfo kOps[kNumOps] = {")
    for op in spec["op"]:
        w(f"    {{Slot::{op['slot'].capitalize()}, {op['code']}, {cstr(op['name'])}, "
          f"Format::{op['format'].capitalize()}, {cstr(op['doc'])}}},")
    w("};")
    w("")
    w("enum class UopCode : uint8_t {")
    for u in spec["uop"]:
        w(f"  {u['name'].capitalize()} = {u['code']},")
    w("};")
    w("struct UopInfo {")
    w("  uint8_t code;")
    w("  const char *name;")
    w("  uint8_t units; // bit i: the sequencer of slot i may run it")
    w("  Format format;")
    w("  const char *doc;")
    w("  const char *feature; // the optional board feature it needs (a board's [units] key), or \"\"")
    w("  bool runsOn(Slot s) const { return (units >> static_cast<unsigned>(s)) & 1u; }")
    w("};")
    w(f"constexpr unsigned kNumUops = {len(spec['uop'])};")
    w("constexpr UopInfo kUops[kNumUops] = {")
    for u in spec["uop"]:
        mask = sum(1 << spec["slots"].index(x) for x in u["unit"].split())
        w(f"    {{{u['code']}, {cstr(u['name'])}, {mask}, Format::{u['format'].capitalize()}, "
          f"{cstr(u['doc'])}, {cstr(u['feature'])}}},")
    w("};")
    w("")
    w("} // namespace mamba2::isa")
    return "\n".join(o) + "\n"


def decode_header(spec):
    """UopDecode.gen.h: the one micro-op decode (operands by role, extents by type and count),
    HLS-safe (fixed arrays, no allocation), for isa/, runtime/ and hw/ alike."""
    fmts = {f["name"]: f for f in spec["_formats"] if f["kind"] == "uop"}
    uops = spec["uop"]
    o = []
    w = o.append
    w("// GENERATED by isa/gen/isagen.py from isa/spec/isa.toml. Do not edit.")
    w("// The one micro-op decode: operand roles, element types and extents per micro-op. HLS-safe")
    w("// (fixed arrays, no allocation): the reference interpreter, the loader's range checks,")
    w("// hw/lib/Execute.cpp and the HLS top all decode through it.")
    w("#pragma once")
    w('#include "mamba2/isa/Encoding.h"')
    w("")
    w("#include <cstdint>")
    w("")
    w("namespace mamba2::isa {")
    w("")

    def pred(name, doc, test):
        codes = [u for u in uops if test(u)]
        w(f"/// {doc}")
        w(f"constexpr bool {name}(UopCode c) {{")
        w("  switch (c) {")
        for u in codes:
            w(f"  case UopCode::{u['name'].capitalize()}:")
        if codes:
            w("    return true;")
        w("  default:")
        w("    return false;")
        w("  }")
        w("}")

    pred("uopIsMatrix", "Matrix micro-ops (format umm).", lambda u: u["format"] == "umm")
    pred("uopIsDma", "DMA micro-ops (format udma).", lambda u: u["format"] == "udma")
    pred("uopIsInt4", "Micro-ops whose weights are packed int4 (an i4x2 operand).",
         lambda u: any(x["type"] == "i4x2" for x in u.get("operands", [])))
    pred("uopIsGrouped", "Matrix micro-ops with group scales (a src2 operand).",
         lambda u: u["format"] == "umm" and any(x["role"] == "src2" for x in u.get("operands", [])))
    for feat in FEATURES[1:]:
        camel = "".join(x.capitalize() for x in feat.split("_"))
        pred(f"uopNeeds{camel}", f"Micro-ops that only a board with the `{feat}` feature runs.",
             lambda u, feat=feat: u["feature"] == feat)
    w("")
    w("/// A micro-op with its addresses resolved for one iteration. Operand roles: dst, src0, src1,")
    w("/// src2 (matrix: acc, act, wgt, scl; DMA: dst is the scratchpad address, src1 the DRAM offset).")
    w("struct UopArgs {")
    w("  UopCode op = UopCode::Unop;")
    w("  int64_t dst = 0, src0 = 0, src1 = 0, src2 = 0;")
    for m, t in MEMBERS.items():
        w(f"  {t} {m} = {'false' if t == 'bool' else '0'};")
    w("  bool isMatrix() const { return uopIsMatrix(op); }")
    w("  bool isInt4() const { return uopIsInt4(op); }")
    w("  bool isGrouped() const { return uopIsGrouped(op); }")
    w("  bool isDma() const { return uopIsDma(op); }")
    w("};")
    w("")
    w("/// Decodes micro-op word `w` for iteration `iter` of a run: address fields by role get")
    w("/// r[areg] (`base`, dst and src0) or r[breg] (`base2`, src1 and src2) plus iter x the role's")
    w("/// stride. An undefined micro-opcode decodes as format uop (the checks refuse it).")
    w("inline UopArgs decodeUop(const UopWord &w, int64_t base, int64_t base2, uint32_t sdst,")
    w("                         uint32_t ssrc0, uint32_t ssrc1, uint32_t ssrc2, uint32_t iter) {")
    w("  UopArgs u;")
    w("  u.op = static_cast<UopCode>(w.raw(field::uop::uop));")
    w("  const int64_t it = int64_t(iter);")
    order = ["umm", "udma", "uop"]
    for i, fn in enumerate(order):
        f = fmts[fn]
        cond = {"umm": "uopIsMatrix(u.op)", "udma": "uopIsDma(u.op)"}.get(fn)
        if cond:
            w(f"  {'if' if i == 0 else '} else if'} ({cond}) {{")
        else:
            w("  } else {")
        for fd in f["fields"][1:]:
            acc = f"w.{'get' if fd['signed'] else 'raw'}(field::{fn}::{cident(fd['name'])})"
            if fd["role"]:
                r = fd["role"]
                b = "base" if r in ("dst", "src0") else "base2"
                w(f"    u.{r} = int64_t({acc}) + {b} + it * int64_t(s{r});")
            elif fd["name"] in MEMBERS:
                t = MEMBERS[fd["name"]]
                w(f"    u.{fd['name']} = {acc + ' != 0' if t == 'bool' else t + '(' + acc + ')'};")
            else:
                fail(f"format '{fn}' field '{fd['name']}' is neither an operand nor a UopArgs member")
    w("  }")
    w("  return u;")
    w("}")
    w("")
    w("/// One memory operand of a decoded micro-op: bytes [addr, addr + bytes) of the scratchpad")
    w("/// (or, `dram`, of the DMA's region).")
    w("struct UopExtent {")
    w("  int64_t addr;")
    w("  uint64_t bytes;")
    w("  bool write;")
    w("  bool dram;")
    w("  uint8_t role; // 0 dst, 1 src0, 2 src1, 3 src2")
    w("};")
    w("constexpr unsigned kMaxUopOperands = 4;")
    w("struct UopExtents {")
    w("  UopExtent at[kMaxUopOperands];")
    w("  unsigned count;")
    w("};")
    w("")
    w("/// The operands micro-op `u` touches (none unless its format's `active` condition holds), in")
    w("/// role order. A pwl/rsqrt table is listed by its 16-byte header only (its size is data).")
    w("inline UopExtents uopExtentsOf(const UopArgs &u) {")
    w("  UopExtents x;")
    w("  x.count = 0;")
    w("  for (unsigned i = 0; i < kMaxUopOperands; ++i)")
    w("    x.at[i] = UopExtent{0, 0, false, false, 0};")
    w("  switch (u.op) {")
    for u in uops:
        ops = u.get("operands", [])
        if not ops:
            continue
        f = fmts[u["format"]]
        names = FORMAT_VARS[f["name"]]
        w(f"  case UopCode::{u['name'].capitalize()}:")
        w(f"    if (!({cexpr(f['active'], names)}))")
        w("      break;")
        for i, x in enumerate(sorted(ops, key=lambda x: ROLES.index(x["role"]))):
            cnt = cexpr(x["count"], names)
            w(f"    x.at[{i}] = UopExtent{{u.{x['role']}, ({cnt}) * {TYPES[x['type']]}, "
              f"{'true' if x['write'] else 'false'}, {'true' if x['mem'] == 'dram' else 'false'}, "
              f"{ROLES.index(x['role'])}}};")
        w(f"    x.count = {len(ops)};")
        w("    break;")
    w("  default:")
    w("    break;")
    w("  }")
    w("  return x;")
    w("}")
    w("")
    w("} // namespace mamba2::isa")
    return "\n".join(o) + "\n"


def md_escape(s):
    return s.replace("|", "\\|")


def tables(spec):
    t = {}
    rows = ["| parameter | value |", "|---|---|"]
    for k in ["version", "slot_bits", "uop_bits", "spad_addr_bits", "num_sems", "num_regs",
              "loop_depth", "ucode_index_bits"]:
        rows.append(f"| `{k}` | {spec[k]} |")
    t["parameters"] = rows
    rows = ["| # | slot | bundle bits | role |", "|---|---|---|---|"]
    for i, s in enumerate(spec["slots"]):
        lo = i * spec["slot_bits"]
        rows.append(f"| {i} | `{s}` | {lo}..{lo + spec['slot_bits'] - 1} | {md_escape(spec['slot_doc'][s])} |")
    t["slots"] = rows
    for f in spec["_formats"]:
        rows = [f"Format `{f['name']}` ({f['kind']}, {f['used']} of {f['width']} bits used): "
                f"{md_escape(f['doc'])}", "",
                "| field | bits | width | signed | meaning |", "|---|---|---|---|---|"]
        for fd in f["fields"]:
            rows.append(f"| `{fd['name']}` | {fd['lsb']}..{fd['lsb'] + fd['bits'] - 1} | {fd['bits']} | "
                        f"{'yes' if fd['signed'] else 'no'} | {md_escape(fd['doc'])} |")
        t["format-" + f["name"]] = rows
    rows = ["| slot | opcode | mnemonic | format | semantics |", "|---|---|---|---|---|"]
    for op in spec["op"]:
        rows.append(f"| `{op['slot']}` | {op['code']} | `{op['slot']}.{op['name']}` | `{op['format']}` | "
                    f"{md_escape(op['doc'])} |")
    t["ops"] = rows
    rows = ["| code | micro-op | unit | format | semantics |", "|---|---|---|---|---|"]
    for u in spec["uop"]:
        unit = u['unit'].replace(' ', ', ') + (f" (`{u['feature']}`)" if u['feature'] else "")
        rows.append(f"| {u['code']} | `{u['name']}` | {unit} | `{u['format']}` | "
                    f"{md_escape(u['doc'])} |")
    t["uops"] = rows
    rows = ["| micro-op | active when | operands: role type[count] (w: written; dram: the DMA's region) |",
            "|---|---|---|"]
    fmts = {f["name"]: f for f in spec["_formats"]}
    for u in spec["uop"]:
        ops = sorted(u.get("operands", []), key=lambda x: ROLES.index(x["role"]))
        desc = "; ".join(f"{x['role']} {x['type']}[{x['count']}]" +
                         (" w" if x["write"] else "") + (" dram" if x["mem"] == "dram" else "")
                         for x in ops) or "none"
        rows.append(f"| `{u['name']}` | `{fmts[u['format']]['active']}` | {md_escape(desc)} |")
    t["uop-operands"] = rows
    return {k: "\n".join(v) for k, v in t.items()}


BLOCK = re.compile(r"<!-- BEGIN GENERATED (\S+) -->\n(.*?)<!-- END GENERATED \1 -->", re.S)


def docs(spec, path, mode):
    want = tables(spec)
    with open(path) as f:
        text = f.read()
    found = {m.group(1): m.group(2) for m in BLOCK.finditer(text)}
    problems = []
    for name in want:
        if name not in found:
            problems.append(f"{path}: table '{name}' is missing (add the BEGIN/END GENERATED markers)")
        elif found[name].strip() != want[name].strip():
            problems.append(f"{path}: table '{name}' disagrees with the spec")
    for name in found:
        if name not in want:
            problems.append(f"{path}: table '{name}' is not in the spec")
    if mode == "check":
        for p in problems:
            print(f"isagen: {p}", file=sys.stderr)
        if problems:
            print("isagen: run `isagen.py SPEC --docs FILE --update` to regenerate", file=sys.stderr)
            return 1
        return 0
    def repl(m):
        name = m.group(1)
        body = want.get(name, m.group(2).strip())
        return f"<!-- BEGIN GENERATED {name} -->\n{body}\n<!-- END GENERATED {name} -->"
    text = BLOCK.sub(repl, text)
    missing = [n for n in want if n not in found]
    for n in missing:
        text += f"\n<!-- BEGIN GENERATED {n} -->\n{want[n]}\n<!-- END GENERATED {n} -->\n"
    with open(path, "w") as f:
        f.write(text)
    return 0


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--header")
    ap.add_argument("--decode-header")
    ap.add_argument("--docs")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true")
    g.add_argument("--update", action="store_true")
    a = ap.parse_args()
    spec = load(a.spec)
    for path, make in ((a.header, header), (a.decode_header, decode_header)):
        if path:
            write_if_changed(path, make(spec))
    if a.docs:
        if not (a.check or a.update):
            fail("--docs needs --check or --update")
        return docs(spec, a.docs, "check" if a.check else "update")
    return 0


if __name__ == "__main__":
    sys.exit(main())
