#!/usr/bin/env python3
"""Checks that docs/overlay.md's configuration and resource tables agree with
hw/config/boards.def and with what mamba2-resources estimates.
usage: check_docs.py HW_DIR DOCS/overlay.md MAMBA2_RESOURCES"""
import re
import subprocess
import sys

hw, doc_path, tool = sys.argv[1:4]
defs = re.sub(r"//[^\n]*", "", open(f"{hw}/config/boards.def").read())
names = ["id", "name", "part", "dsp", "bram", "uram", "lut", "kind", "mhz", "peak", "ach", "lat",
         "ports", "bits", "mk", "mn", "vl", "sl", "spad", "qd"]
boards = []
for body in re.findall(r"BOARD\(([^)]*)\)", defs):
    vals = [v.strip().strip('"') for v in body.split(",")]
    if len(vals) == len(names):
        boards.append(dict(zip(names, vals)))
doc = open(doc_path).read()
problems = []
if len(boards) != 4:
    problems.append(f"expected 4 boards in boards.def, read {len(boards)}")


def num(s):
    return s.replace(",", "")


est = subprocess.run([tool], capture_output=True, text=True).stdout
for b in boards:
    up = b["name"].upper()
    row = re.search(rf"^\| {up} \| [^|]+ \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", doc, re.M)
    if not row:
        problems.append(f"no configuration row for {up}")
        continue
    clock, dram, axi, mat, lanes, spad = [c.strip() for c in row.groups()]
    want = {
        "clock": (clock, f"{b['mhz']} MHz"),
        "AXI": (axi, f"{b['ports']} x {b['bits']} bit"),
        "matrix": (mat, f"{b['mk']} x {b['mn']}"),
        "lanes": (lanes, f"{b['vl']} / {b['sl']}"),
        "scratchpad": (spad.split(" (")[0], f"{int(b['spad']) // 1024} MiB"),
    }
    for what, (got, exp) in want.items():
        if got != exp:
            problems.append(f"{up} {what}: docs say '{got}', boards.def says '{exp}'")
    peak, ach = (float(x) for x in dram.split(" GB/s")[0].split(" / "))
    if (peak, ach) != (float(b["peak"]), float(b["ach"])):
        problems.append(f"{up} DRAM: docs say {peak} / {ach}, boards.def says {b['peak']} / {b['ach']}")
    res = re.search(rf"^\| {up} \| ([\d,]+) / ([\d,]+) \| ([\d,]+) / ([\d,]+) \| ([\d,]+) / ([\d,]+) \| ([\d,]+) / ([\d,]+) \| (\w+) \|$",
                    doc, re.M)
    if not res:
        problems.append(f"no resource row for {up}")
        continue
    g = [num(x) for x in res.groups()]
    for used, budget, key in ((g[0], g[1], "dsp"), (g[2], g[3], "bram"), (g[4], g[5], "uram"), (g[6], g[7], "lut")):
        if budget != b[key]:
            problems.append(f"{up} {key} budget: docs say {budget}, boards.def says {b[key]}")
    total = re.search(rf"^{b['name']} \(.*?\n(?:.*\n)*?\s+total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", est, re.M)
    if total and list(total.groups()) != [g[0], g[2], g[4], g[6]]:
        problems.append(f"{up} estimate: docs say {[g[0], g[2], g[4], g[6]]}, mamba2-resources says {list(total.groups())}")
    if not total:
        problems.append(f"mamba2-resources printed no total for {b['name']}")
for p in problems:
    print(f"check_docs: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
