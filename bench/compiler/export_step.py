"""The step form (one decode step, states as inputs and outputs) of a model written by
mamba2ref.fullsize, for the decode rows of mamba2-eval-bench (onnxruntime and the evaluator
both run it). The weights are read from the generated model's data file.

    PYTHONPATH=models /usr/bin/python3 bench/compiler/export_step.py CHUNKED.onnx STEP.onnx
"""

import argparse
import sys

import torch

from mamba2ref.export import export_step
from mamba2ref.fullsize import load_generated


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("chunked", help="OUT_DIR/<shape>.onnx written by mamba2ref.fullsize")
    ap.add_argument("out", help="the step-form .onnx to write (weights in OUT.data)")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    export_step(load_generated(args.chunked), args.out, external_data=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
