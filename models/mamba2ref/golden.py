"""Golden data for a trained model: logits of fixed prompts and their greedy continuations.

Writes, beside the ONNX file:
  golden.json         prompts, their byte ids, where their logits are, greedy continuations
  golden_logits.bin   float32 little-endian logits, prompt after prompt, each (len, vocab)

The logits come from the chunked form (what the ONNX file computes); the continuations from
the recurrent form (prefill step by step, then decode), the way the overlay will generate.

    /usr/bin/python3 -m mamba2ref.golden CHECKPOINT OUT_DIR [--onnx-name NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List

import numpy as np
import torch

from .model import Mamba2LM, load_checkpoint

PROMPTS = [
    "It is a truth universally acknowledged, that a single man in possession",
    "Mr. Darcy",
    "\"I cannot think of it,\" said Elizabeth, ",
    "The weather was",
    "She was",
]

CONTINUATION_BYTES = 160


def decode_bytes(ids: List[int]) -> str:
    return bytes(ids).decode("utf-8", errors="replace")


def save_golden(out_dir: str, onnx_name: str, source: str, entries: List[dict],
                logits: List[np.ndarray], extra: dict | None = None) -> dict:
    """Writes golden.json and golden_logits.bin: each entry gets the offset (in floats) and
    shape of its logits array, stored float32 little-endian one after another."""
    offset = 0
    with open(os.path.join(out_dir, "golden_logits.bin"), "wb") as f:
        for entry, arr in zip(entries, logits):
            arr = np.ascontiguousarray(arr, dtype="<f4")
            entry["logits_offset"] = offset
            entry["logits_shape"] = list(arr.shape)
            f.write(arr.tobytes())
            offset += arr.size
    golden = {"model": onnx_name, "logits_file": "golden_logits.bin", "dtype": "float32-le",
              "source": source, **(extra or {}), "prompts": entries}
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
    return golden


@torch.no_grad()
def write_golden(model: Mamba2LM, out_dir: str, onnx_name: str,
                 prompts: List[str] = PROMPTS, n_new: int = CONTINUATION_BYTES) -> dict:
    model.eval()
    entries, arrays = [], []
    max_form_diff = 0.0
    for text in prompts:
        ids = list(text.encode("utf-8"))
        x = torch.tensor([ids], dtype=torch.long)
        logits = model(x)[0]  # (len, vocab)
        recurrent, _ = model.forward_recurrent(x)
        max_form_diff = max(max_form_diff, float((recurrent[0] - logits).abs().max()))
        arrays.append(logits.numpy())
        greedy = model.generate_greedy(ids, n_new)
        entries.append({"text": text, "ids": ids, "greedy_ids": greedy,
                        "greedy_text": decode_bytes(greedy)})
    return save_golden(out_dir, onnx_name, "PyTorch reference, chunked form, fp32", entries,
                       arrays, {"max_abs_diff_chunked_vs_recurrent": max_form_diff})


def read_golden(out_dir: str) -> tuple:
    """(golden dict, list of logits arrays) as written by write_golden."""
    with open(os.path.join(out_dir, "golden.json")) as f:
        golden = json.load(f)
    flat = np.fromfile(os.path.join(out_dir, golden["logits_file"]), dtype="<f4")
    arrays = []
    for p in golden["prompts"]:
        n = int(np.prod(p["logits_shape"]))
        arrays.append(flat[p["logits_offset"]:p["logits_offset"] + n].reshape(p["logits_shape"]))
    return golden, arrays


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out_dir")
    ap.add_argument("--onnx-name", default="mamba2-austen.onnx")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    model = load_checkpoint(args.checkpoint)
    golden = write_golden(model, args.out_dir, args.onnx_name)
    for p in golden["prompts"]:
        print(f"{p['text']!r} -> {p['greedy_text']!r}")
    print(f"max |chunked - recurrent| over the prompts: "
          f"{golden['max_abs_diff_chunked_vs_recurrent']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
