#!/usr/bin/env python3
"""Checks an HLS top compiled by g++ in its synthesis configuration (-D__SYNTHESIS__, -O0, one
section per function, no exceptions): every function the top reaches calls nothing outside the
object but memcpy / memset / memmove, i.e. no allocation, I/O, exceptions or other host library
code that Vitis HLS cannot synthesise. The walk does not enter hls::stream's members: without
Xilinx's hls_stream.h the project's stand-in (hw/include/mamba2/hw/HlsTypes.h, a std::deque
FIFO) takes its place, and Vitis HLS brings its own. Usage: check_synthesis_object.py OBJ TOP"""
import re
import subprocess
import sys

obj, top = sys.argv[1], sys.argv[2]
# The HLS-supported C library calls a top may make (copies of fixed-size blocks).
ALLOWED = {"memcpy", "memset", "memmove"}
# Xilinx's primitive, replaced here by HlsTypes.h's stand-in (mangled: hls::stream<...>::).
PRIMITIVE = re.compile(r"^_ZN?K?3hls6stream")

dis = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", obj], capture_output=True,
                     text=True, check=True).stdout
refs = {}  # function -> symbols its code refers to
fn = None
for line in dis.splitlines():
    m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
    if m:
        fn = m.group(1)
        refs.setdefault(fn, set())
        continue
    m = re.search(r"R_X86_64_\w+\s+([^\s+-]+)", line)
    if m and fn is not None:
        sym = m.group(1)
        if sym.startswith(".text."):  # a local function, named by its own section
            refs[fn].add(sym[len(".text."):])
        elif not sym.startswith("."):  # other sections: data and constants, not calls
            refs[fn].add(sym)
undefined = set(subprocess.run(["nm", "-u", "--format=just-symbols", obj], capture_output=True,
                               text=True, check=True).stdout.split())
if top not in refs:
    sys.exit(f"check_synthesis_object: {obj} defines no function '{top}'")


def demangle(s):
    return subprocess.run(["c++filt", s], capture_output=True, text=True).stdout.strip()


problems = []
seen = {top: None}
stack = [top]
while stack:
    f = stack.pop()
    for s in sorted(refs.get(f, ())):
        if s in seen:
            continue
        seen[s] = f
        if PRIMITIVE.match(s):
            continue
        if s in refs:
            stack.append(s)
        elif s in undefined and s not in ALLOWED:
            path, at = [], s
            while at is not None:
                path.append(demangle(at)[:100])
                at = seen[at]
            problems.append(f"{top} reaches '{demangle(s)}', host code Vitis HLS cannot "
                            "synthesise: " + " <- ".join(path))
for p in problems:
    print(f"check_synthesis_object: {obj}: {p}", file=sys.stderr)
reached = sum(1 for s in seen if s in refs)
if not problems:
    print(f"{top}: {reached} functions reached, none calls host library code "
          f"(hls::stream members left to Vitis HLS)")
sys.exit(1 if problems else 0)
