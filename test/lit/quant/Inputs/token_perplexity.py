"""Checks mamba2c's fp32 row for a token model against the PyTorch reference model.

    token_perplexity.py MODEL.onnx TOKENIZER.json TEXT MAMBA2C_EVAL_OUTPUT

Tokenizes TEXT with mamba2-tokenize (the runtime's BPE, on PATH), scores the ids with the
PyTorch model over the generated file's weights (mamba2ref.fullsize.load_generated) in one
window (token t + 1 from the logits at t), and requires the `fp32` row of the mamba2c output to
give the same perplexity per token and bits per byte (total nats / bytes of the predicted tokens
/ ln 2) to 1e-4 relative. Run from models/ (it imports mamba2ref).
"""

import math
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.getcwd())
from mamba2ref.fullsize import load_generated  # noqa: E402


def main() -> int:
    model_path, tokenizer, text_path, eval_out = sys.argv[1:5]
    ids = [int(x) for x in subprocess.run(
        ["mamba2-tokenize", "--tokenizer", tokenizer, text_path],
        check=True, capture_output=True, text=True).stdout.split()]
    with open(text_path, "rb") as f:
        total_bytes = len(f.read())
    first = subprocess.run(["mamba2-tokenize", "--tokenizer", tokenizer, "--decode", "/dev/stdin"],
                           input=str(ids[0]).encode(), check=True, capture_output=True).stdout
    predicted_bytes = total_bytes - len(first)
    torch.set_num_threads(1)
    model = load_generated(model_path).eval()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).double()[0]
    logp = torch.log_softmax(logits[:-1], dim=-1)
    nats = -float(logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())
    bits = nats / math.log(2)
    ppl = 2 ** (bits / (len(ids) - 1))
    bpb = bits / predicted_bytes
    row = None
    with open(eval_out) as f:
        for line in f:
            if line.split()[:1] == ["fp32"]:
                row = line.split()
    if row is None:
        print("token_perplexity: no fp32 row in", eval_out)
        return 1
    got_ppl, got_bpb = float(row[1]), float(row[3])
    print(f"reference: {len(ids)} tokens, {predicted_bytes} predicted bytes, perplexity {ppl:.4f}, "
          f"{bpb:.5f} bits per byte; mamba2c: perplexity {got_ppl}, {got_bpb} bits per byte")
    ok = abs(got_ppl / ppl - 1) < 1e-4 and abs(got_bpb / bpb - 1) < 1e-4
    print("ok" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
