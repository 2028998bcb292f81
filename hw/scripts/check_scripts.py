#!/usr/bin/env python3
"""Checks that the synthesis scripts agree with the HLS top: the top function name, its ports,
the m_axi bundle names, and that the board table is the generated one (target/boards)."""
import re
import sys

hw = sys.argv[1]
src = open(f"{hw}/top/overlay_top.cpp").read()
problems = []
m = re.search(r'extern "C" void (\w+)\(([^)]*)\)', src)
if not m:
    sys.exit("check_scripts: no extern \"C\" top function in top/overlay_top.cpp")
top, params = m.group(1), m.group(2)
ports = [p.split()[-1].lstrip("*") for p in params.split(",")]
bundles = set(re.findall(r"bundle = (\w+)", src))
pragma_ports = set(re.findall(r"INTERFACE \w+ port = (\w+)", src))
for p in ports:
    if p not in pragma_ports:
        problems.append(f"top port '{p}' has no INTERFACE pragma")
# The decoupled structure (docs/overlay.md): fetch and the five unit processes in one DATAFLOW
# region, the scratchpad shared between them.
if "#pragma HLS DATAFLOW" not in src:
    problems.append("top/overlay_top.cpp has no DATAFLOW region")
for proc in ["fetch_proc("] + [f"unit_proc<{i}>(" for i in range(1, 6)]:
    if proc not in src:
        problems.append(f"top/overlay_top.cpp does not instantiate the process {proc.rstrip('(')}")
if "#pragma HLS SHARED variable = spad" not in src:
    problems.append("top/overlay_top.cpp does not share the scratchpad between its processes")
hls = open(f"{hw}/scripts/hls.tcl").read()
if f"set_top {top}" not in hls:
    problems.append(f"hls.tcl does not set_top {top}")
link = open(f"{hw}/scripts/link.cfg").read()
for p in re.findall(r"sp=\w+_1\.(\w+):", link):
    if p not in ports:
        problems.append(f"link.cfg connects '{p}', which is not a port of {top}")
for p in ports:
    if p not in ("num_bundles", "ucode_words", "entry") and f".{p}:" not in link:
        problems.append(f"link.cfg does not connect m_axi port '{p}'")
if f"nk={top}:" not in link:
    problems.append(f"link.cfg does not instantiate {top}")
viv = open(f"{hw}/scripts/vivado_kv260.tcl").read()
for b in re.findall(r"m_axi_(\w+)", viv):
    if b not in bundles:
        problems.append(f"vivado_kv260.tcl names m_axi bundle '{b}' that the top does not declare")
# The board table is generated from target/boards/*.toml (target/gen/targetgen.py); the
# script must source it rather than list boards of its own.
if "source $gen/target/boards.tcl" not in hls:
    problems.append("hls.tcl does not source the generated board table $gen/target/boards.tcl")
for table in ("array set ids", "array set parts", "array set mhz"):
    if table in hls:
        problems.append(f"hls.tcl has its own board table ('{table}'); it comes from target/boards")
if "$ids($board)" not in hls or "$parts($board)" not in hls or "$mhz($board)" not in hls:
    problems.append("hls.tcl does not take the board id, part and clock from the generated table")
xrt = open(f"{hw}/../runtime/lib/XrtDevice.cpp").read()
if f'"{top}"' not in xrt:
    problems.append(f"runtime/lib/XrtDevice.cpp does not open kernel '{top}'")
for p in problems:
    print(f"check_scripts: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
