#!/usr/bin/env python3
"""Writes a copy of an `ovl` module whose repeating layers all carry the first one's attributes.

For measuring the emitter's per-layer hardware loop on a real model's shapes (docs/codegen.md,
"Layer loops"): the quantiser gives every layer its own shifts (micro-op immediates), so a real
model's layers differ and the emitter unrolls them. This copy keeps every op, shape and constant
and sets, in the longest run of layers with the same op sequence, each op's attribute dictionary
to that of the same op in the run's first layer. It is a different model (other shifts), but the
same work: its cycle counts and program sizes are the loop's on that shape. The ovl evaluator
runs the copy too, so `mamba2-codegen-check` still compares it bit for bit.

usage: unify_layer_attrs.py IN.mlir OUT.mlir
"""
import re
import sys

OP = re.compile(r"= (ovl\.[a-z0-9_]+)")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    ops = []  # (line number, op name)
    with open(src) as f:
        for n, line in enumerate(f):
            m = OP.search(line)
            if m and m.group(1) != "ovl.constant":
                ops.append((n, m.group(1)))
    names = [o[1] for o in ops]
    best = (0, 0, 0)  # span, period, start
    for p in range(1, len(names) // 2 + 1):
        run = start = 0
        for i in range(len(names) - p):
            if names[i] == names[i + p]:
                if run == 0:
                    start = i
                run += 1
                if run + p > best[0] and run + p >= 2 * p:
                    best = (run + p, p, start)
            else:
                run = 0
    span, p, start = best
    if p == 0:
        sys.exit("no repeating layers")
    reps = span // p
    first_attr = {}
    target = {}  # line -> index in the first layer
    for r in range(reps):
        for k in range(p):
            line = ops[start + r * p + k][0]
            if r == 0:
                first_attr[k] = line
            else:
                target[line] = k
    attrs = {}
    lines_needed = set(first_attr.values())
    with open(src) as f:
        for n, line in enumerate(f):
            if n in lines_needed:
                m = re.search(r"ovl\.[a-z0-9_]+ [^{]*(\{[^}]*\})", line)
                attrs[n] = m.group(1) if m else None
    changed = 0
    with open(src) as f, open(dst, "w") as out:
        for n, line in enumerate(f):
            if n in target:
                a = attrs[first_attr[target[n]]]
                m = re.search(r"(ovl\.[a-z0-9_]+ [^{]*)(\{[^}]*\})", line)
                if a is not None and m and m.group(2) != a:
                    line = line[: m.start(2)] + a + line[m.end(2):]
                    changed += 1
            out.write(line)
    print(f"{reps} layers of {p} ops from op {start}: {changed} attribute dictionaries set to "
          f"the first layer's")


if __name__ == "__main__":
    main()
