#!/usr/bin/env python3
"""Checks that docs/overlay.md's resource table agrees with the board budgets of
target/boards/*.toml and with what mamba2-resources estimates (the configuration table is
generated: target/gen/targetgen.py --docs).
usage: check_docs.py HW_DIR DOCS/overlay.md MAMBA2_RESOURCES"""
import glob
import re
import subprocess
import sys
import tomllib

hw, doc_path, tool = sys.argv[1:4]
boards = []
for path in sorted(glob.glob(f"{hw}/../target/boards/*.toml")):
    with open(path, "rb") as f:
        t = tomllib.load(f)
    boards.append(dict(name=t["name"], dsp=str(t["budget"]["dsp"]), bram=str(t["budget"]["bram36"]),
                       uram=str(t["budget"]["uram"]), lut=str(t["budget"]["lut"])))
doc = open(doc_path).read()
problems = []
if not boards:
    problems.append("read no board from target/boards/*.toml")


def num(s):
    return s.replace(",", "")


est = subprocess.run([tool], capture_output=True, text=True).stdout
for b in boards:
    up = b["name"].upper()
    res = re.search(rf"^\| {up} \| ([\d,]+) / ([\d,]+) \| ([\d,]+) / ([\d,]+) \| ([\d,]+) / ([\d,]+) \| ([\d,]+) / ([\d,]+) \| (\w+) \|$",
                    doc, re.M)
    if not res:
        problems.append(f"no resource row for {up}")
        continue
    g = [num(x) for x in res.groups()]
    for used, budget, key in ((g[0], g[1], "dsp"), (g[2], g[3], "bram"), (g[4], g[5], "uram"), (g[6], g[7], "lut")):
        if budget != b[key]:
            problems.append(f"{up} {key} budget: docs say {budget}, target/boards says {b[key]}")
    total = re.search(rf"^{b['name']} \(.*?\n(?:.*\n)*?\s+total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", est, re.M)
    if total and list(total.groups()) != [g[0], g[2], g[4], g[6]]:
        problems.append(f"{up} estimate: docs say {[g[0], g[2], g[4], g[6]]}, mamba2-resources says {list(total.groups())}")
    if not total:
        problems.append(f"mamba2-resources printed no total for {b['name']}")
demand = subprocess.run([tool, "--demand"], capture_output=True, text=True).stdout.strip()
if not demand:
    problems.append("mamba2-resources --demand printed nothing")
for row in demand.splitlines():
    if row not in doc:
        problems.append(f"docs/overlay.md lacks the demand row '{row}' (mamba2-resources --demand)")
for p in problems:
    print(f"check_docs: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
