"""Bits per byte of a checkpoint on text files (and on the held-out book).

    /usr/bin/python3 -m mamba2ref.evaluate CHECKPOINT [--text FILE ...] [--held-out]
                                           [--crlf-to-lf] [--json OUT]

Text is scored as UTF-8 bytes in independent windows of 2048 bytes (as train.py does), each
from an empty state. WikiText-2's raw files have CRLF line ends, which the Austen-trained model
never saw; --crlf-to-lf scores the text with LF line ends as well.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from . import austen
from .model import load_checkpoint
from .train import HELD_OUT, bits_per_byte


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--text", action="append", default=[], help="a text file to score")
    ap.add_argument("--held-out", action="store_true", help=f"score the held-out book ({HELD_OUT})")
    ap.add_argument("--crlf-to-lf", action="store_true")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_checkpoint(args.checkpoint)
    results = {}
    sources = []
    if args.held_out:
        sources.append((HELD_OUT, austen.load_books()[HELD_OUT].encode("utf-8")))
    for path in args.text:
        if not os.path.exists(path):
            print(f"evaluate: error: {path}: no such file", file=sys.stderr)
            return 1
        raw = open(path, "rb").read()
        sources.append((os.path.basename(path), raw))
        if args.crlf_to_lf:
            sources.append((os.path.basename(path) + " (LF)", raw.replace(b"\r\n", b"\n")))
    if not sources:
        ap.error("nothing to score: give --text FILE or --held-out")
    for name, data in sources:
        bpb = bits_per_byte(model, torch.tensor(list(data), dtype=torch.long))
        results[name] = {"bytes": len(data), "bits_per_byte": round(bpb, 4)}
        print(f"{name:40s} {len(data):>9d} bytes  {bpb:.4f} bits/byte")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
