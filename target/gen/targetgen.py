#!/usr/bin/env python3
"""Generate the board tables from the target descriptions, one TOML file per board.

  targetgen.py BOARD.toml...  --header OUT.h   the HLS-safe C++ header (compile-time constants)
  targetgen.py BOARD.toml...  --tcl OUT.tcl    the Vitis/Vivado scripts' board table
  targetgen.py BOARD.toml...  --docs overlay.md --update | --check
                                               the configuration table of docs/overlay.md
  targetgen.py BOARD.toml...  --validate       only check the files (a board's own test)

Every file is checked on load: every key present with its type, no unknown key, figures that
agree with each other (achievable <= peak, a port's achievable <= its width x clock, ...), ids
0..n-1 once each, the file named after the board. Errors name the file and the key.
"""
import argparse
import os
import re
import sys
import tomllib

# section -> key -> (type, doc). The one list of keys; the header, the host table (through the
# header), the scripts and the docs all come from it.
SCHEMA = {
    "": {
        "id": (int, "board id (0..n-1), the HLS top's MAMBA2_BOARD"),
        "name": (str, "board name, as the runtime and the tools spell it"),
        "part": (str, "FPGA part"),
        "doc": (str, "one-line note on the memory figures, for the docs table"),
    },
    "budget": {
        "dsp": (int, "DSP slices of the part"),
        "bram36": (int, "36 Kb block RAMs"),
        "uram": (int, "288 Kb UltraRAMs"),
        "lut": (int, "LUTs"),
    },
    "compute": {
        "dsp_kind": (str, "DSP48E1, DSP48E2 or DSP58"),
        "clock_mhz": (int, "overlay clock"),
    },
    "memory": {
        "kind": (str, "DDR3, DDR4, HBM2"),
        "channels": (int, "DRAM channels (HBM: pseudo-channels)"),
        "stacks": (int, "HBM stacks (1 for DDR)"),
        "peak_gbps": (float, "data-sheet bandwidth of all channels"),
        "achievable_gbps": (float, "measured / sustained bandwidth of all channels"),
        "latency_ns": (int, "read latency, request to first data"),
        "cross_stack_fraction": (float, "bandwidth fraction across HBM stacks (1 for DDR)"),
    },
    "ports": {
        "count": (int, "m_axi ports the overlay streams over"),
        "bits": (int, "data width of each port"),
        "achievable_gbps": (float, "one port's sustained bandwidth"),
        "outstanding": (int, "requests in flight per port"),
        "stripe_bytes": (int, "bytes dealt to one port before the next (one AXI burst)"),
    },
    "units": {
        "mat_k": (int, "matrix unit: int8 products per dot product per cycle"),
        "mat_n": (int, "matrix unit: dot products per cycle"),
        "vec_lanes": (int, "vector unit elements per cycle"),
        "ssm_lanes": (int, "SSM unit elements per cycle"),
        "spad_kib": (int, "scratchpad KiB"),
        "queue_depth": (int, "per-unit instruction queue depth"),
        "chunked_ssd": (bool, "the chunked SSD form's units: trn, split16 (vector), segdecay (SSM); "
                              "the micro-ops that name this feature in isa/spec/isa.toml"),
    },
}
DSP_KINDS = {"DSP48E1": 1, "DSP48E2": 2, "DSP58": 3}


def fail(path, msg):
    print(f"targetgen: error: {path}: {msg}", file=sys.stderr)
    sys.exit(1)


def load_one(path):
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(path, str(e))
    b = {}
    for sect, keys in SCHEMA.items():
        table = raw if sect == "" else raw.get(sect)
        if not isinstance(table, dict):
            fail(path, f"missing section [{sect}]")
        for key, (ty, _) in keys.items():
            where = f"{sect}.{key}" if sect else key
            if key not in table:
                fail(path, f"missing key '{where}'")
            v = table[key]
            if ty is float and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            if not isinstance(v, ty) or (isinstance(v, bool) and ty is not bool):
                fail(path, f"key '{where}' must be {ty.__name__}, got {v!r}")
            if ty in (int, float) and not isinstance(v, bool) and v < 0:
                fail(path, f"key '{where}' is negative ({v})")
            b[where] = v
        extra = [k for k in table if k not in keys and not (sect == "" and k in SCHEMA)]
        for k in extra:
            fail(path, f"unknown key '{sect + '.' if sect else ''}{k}'")
    for k in raw:
        if k not in SCHEMA[""] and k not in SCHEMA:
            fail(path, f"unknown key '{k}'")
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem != b["name"]:
        fail(path, f"name '{b['name']}' differs from the file name '{stem}'")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", b["name"]):
        fail(path, f"name '{b['name']}' is not a lower-case identifier")
    if b["compute.dsp_kind"] not in DSP_KINDS:
        fail(path, f"compute.dsp_kind '{b['compute.dsp_kind']}' is not one of {', '.join(DSP_KINDS)}")
    for k in ("compute.clock_mhz", "memory.channels", "memory.stacks", "ports.count", "ports.bits",
              "ports.outstanding", "units.mat_k", "units.mat_n", "units.vec_lanes",
              "units.ssm_lanes", "units.spad_kib", "units.queue_depth"):
        if b[k] == 0:
            fail(path, f"key '{k}' is 0")
    if b["ports.bits"] % 8 or b["ports.bits"] & (b["ports.bits"] - 1):
        fail(path, f"ports.bits {b['ports.bits']} is not a power-of-two number of bytes")
    st, beat = b["ports.stripe_bytes"], b["ports.bits"] // 8
    if st % beat or st & (st - 1) or st > 4096 or st // beat > 256:
        fail(path, f"ports.stripe_bytes {st} is not a power of two of whole {beat}-byte beats, "
                   "at most one AXI4 burst (256 beats, 4 KiB)")
    if b["memory.achievable_gbps"] > b["memory.peak_gbps"]:
        fail(path, f"memory.achievable_gbps {b['memory.achievable_gbps']} is above "
                   f"memory.peak_gbps {b['memory.peak_gbps']}")
    width_gbps = b["ports.bits"] / 8 * b["compute.clock_mhz"] / 1000
    if b["ports.achievable_gbps"] > width_gbps + 1e-9:
        fail(path, f"ports.achievable_gbps {b['ports.achievable_gbps']} is above the port's "
                   f"width x clock ({b['ports.bits']} bit x {b['compute.clock_mhz']} MHz = "
                   f"{width_gbps:g} GB/s)")
    if not 0 < b["memory.cross_stack_fraction"] <= 1:
        fail(path, "memory.cross_stack_fraction must be in (0, 1]")
    if b["memory.kind"] != "HBM2" and (b["memory.stacks"] != 1 or b["memory.cross_stack_fraction"] != 1):
        fail(path, "only HBM has stacks and a cross-stack fraction")
    if b["memory.kind"] == "HBM2" and b["ports.count"] > b["memory.channels"]:
        fail(path, f"ports.count {b['ports.count']} is more than the {b['memory.channels']} "
                   "pseudo-channels (one port per pseudo-channel)")
    b["path"] = path
    return b


def check_ports(b):
    beat = b["ports.bits"] // 8
    if b["ports.bits"] % 64 or b["ports.stripe_bytes"] % beat:
        fail(b["path"], f"ports.stripe_bytes ({b['ports.stripe_bytes']}) must be whole beats of "
                        f"ports.bits / 8 = {beat} bytes (and bits a multiple of 64)")


def load(paths):
    boards = sorted((load_one(p) for p in paths), key=lambda b: b["id"])
    for b in boards:
        check_ports(b)
    ids = [b["id"] for b in boards]
    if ids != list(range(len(boards))):
        fail(boards[-1]["path"] if boards else "-", f"board ids must be 0..{len(boards) - 1} once each, got {ids}")
    names = [b["name"] for b in boards]
    if len(set(names)) != len(names):
        fail("-", f"a board name appears twice: {names}")
    return boards


def cname(b):
    return "Board_" + b["name"]


def header(boards):
    out = ["// Generated by target/gen/targetgen.py from target/boards/*.toml. Do not edit.",
           "// HLS-safe: compile-time constants only. Host code reads them through",
           "// mamba2/target/Board.h; HLS code through mamba2/hw/HlsConfig.h.",
           "#pragma once", "", "namespace mamba2::target {", ""]
    for b in boards:
        out.append(f"// {b['name']}: {b['path'].split('target/', 1)[-1]}")
        out.append(f"struct {cname(b)} {{")
        for key, v in b.items():
            if key == "path":
                continue
            sect, _, k = key.rpartition(".")
            ident = (sect + "_" + k if sect and sect not in ("units", "compute") else k).upper()
            if key == "compute.dsp_kind":
                out.append(f"  static constexpr unsigned DSP_KIND = {DSP_KINDS[v]}; // {v}")
                continue
            if isinstance(v, bool):
                out.append(f"  static constexpr bool {ident} = {'true' if v else 'false'};")
            elif isinstance(v, str):
                out.append(f'  static constexpr const char *{ident} = "{v}";')
            elif isinstance(v, float):
                out.append(f"  static constexpr double {ident} = {v!r};")
            else:
                out.append(f"  static constexpr unsigned {ident} = {v};")
        out.append("};")
        out.append("")
    out.append("} // namespace mamba2::target")
    out.append("")
    out.append("// The HLS top's DRAM ports per board id (one m_axi bundle each, [ports] of the board file):")
    out.append("// the parameter list, the argument list, X(index, name) per port, and the INTERFACE")
    out.append("// pragmas (bursts of one stripe, the board's outstanding requests).")
    for b in boards:
        n, i = b["ports.count"], b["id"]
        names = [f"port{q}" for q in range(n)]
        burst = max(1, min(256, b["ports.stripe_bytes"] * 8 // b["ports.bits"]))
        out.append(f"#define MAMBA2_TARGET_PORT_PARAMS_{i}(T) " + ", ".join(f"T *{x}" for x in names))
        out.append(f"#define MAMBA2_TARGET_PORT_ARGS_{i} " + ", ".join(names))
        out.append(f"#define MAMBA2_TARGET_FOR_PORTS_{i}(X) " + " ".join(f"X({q}, {x})" for q, x in enumerate(names)))
        out.append(f"#define MAMBA2_TARGET_PORT_PRAGMAS_{i} " + " ".join(
            f'_Pragma("HLS INTERFACE m_axi port = {x} offset = slave bundle = gmem_{x} '
            f'max_read_burst_length = {burst} max_write_burst_length = {burst} '
            f'num_read_outstanding = {b["ports.outstanding"]} num_write_outstanding = {b["ports.outstanding"]}")'
            for x in names))
    out.append("")
    out.append("// X(id, struct) for every board, in id order.")
    out.append("#define MAMBA2_TARGET_BOARDS(X) " +
               " ".join(f"X({b['id']}, ::mamba2::target::{cname(b)})" for b in boards))
    out.append(f"#define MAMBA2_TARGET_NUM_BOARDS {len(boards)}")
    return "\n".join(out) + "\n"


def tcl(boards):
    def arr(name, f):
        return f"array set {name} {{" + " ".join(f"{b['name']} {f(b)}" for b in boards) + "}"
    return "\n".join([
        "# Generated by target/gen/targetgen.py from target/boards/*.toml. Do not edit.",
        arr("ids", lambda b: b["id"]),
        arr("parts", lambda b: b["part"]),
        arr("mhz", lambda b: b["compute.clock_mhz"]),
        arr("axi_ports", lambda b: b["ports.count"]),
        arr("axi_bits", lambda b: b["ports.bits"]),
        arr("stripe_bytes", lambda b: b["ports.stripe_bytes"]),
        "set board_names {" + " ".join(b["name"] for b in boards) + "}",
    ]) + "\n"


def fmt(x):
    return f"{x:g}"


def docs_table(boards):
    rows = ["| board | part | DSP | clock | DRAM peak / achievable | m_axi ports | matrix (k x n) "
            "| vector / SSM lanes | scratchpad | chunked SSD units |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for b in boards:
        mem = (f"{fmt(b['memory.peak_gbps'])} / {fmt(b['memory.achievable_gbps'])} GB/s "
               f"({b['memory.channels']} x {b['memory.kind']}; {b['doc']})")
        ports = (f"{b['ports.count']} x {b['ports.bits']} bit, "
                 f"{fmt(b['ports.achievable_gbps'])} GB/s each, {b['ports.stripe_bytes']} B stripes")
        spad = f"{b['units.spad_kib'] // 1024} MiB ({'URAM' if b['budget.uram'] else 'BRAM'})"
        rows.append(
            f"| {b['name'].upper()} | {b['part'].split('-')[0]} | {b['compute.dsp_kind']} "
            f"| {b['compute.clock_mhz']} MHz | {mem} | {ports} "
            f"| {b['units.mat_k']} x {b['units.mat_n']} | {b['units.vec_lanes']} / "
            f"{b['units.ssm_lanes']} | {spad} | {'yes' if b['units.chunked_ssd'] else 'no'} |")
    return "\n".join(rows)


BEGIN = "<!-- BEGIN GENERATED boards -->"
END = "<!-- END GENERATED boards -->"


def docs(boards, path, update):
    text = open(path).read()
    m = re.search(re.escape(BEGIN) + r"\n(.*?)\n?" + re.escape(END), text, re.S)
    if not m:
        print(f"targetgen: error: {path} has no '{BEGIN}' ... '{END}' block", file=sys.stderr)
        return 1
    want = docs_table(boards)
    if m.group(1).strip() == want:
        return 0
    if update:
        open(path, "w").write(text[:m.start()] + BEGIN + "\n" + want + "\n" + END + text[m.end():])
        return 0
    print(f"targetgen: error: {path}: the boards table differs from target/boards/*.toml "
          f"(run target/gen/targetgen.py target/boards/*.toml --docs {path} --update)",
          file=sys.stderr)
    return 1


def write(path, text):
    # Rewrite only on change, so that an unchanged table rebuilds nothing.
    try:
        if open(path).read() == text:
            return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    open(path, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("boards", nargs="+")
    ap.add_argument("--header")
    ap.add_argument("--tcl")
    ap.add_argument("--docs")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args()
    if a.validate:
        for p in a.boards:
            load_one(p)
        return 0
    boards = load(a.boards)
    if a.header:
        write(a.header, header(boards))
    if a.tcl:
        write(a.tcl, tcl(boards))
    if a.docs:
        if a.update == a.check:
            ap.error("--docs needs exactly one of --update and --check")
        return docs(boards, a.docs, a.update)
    return 0


if __name__ == "__main__":
    sys.exit(main())
