"""Train the default model: a byte-level Mamba2 on five of Jane Austen's novels.

`persuasion` is held out. Everything is seeded; the run is a fixed number of steps so that the
same command gives the same weights. Writes a checkpoint, a log and metrics.json to --out.

    /usr/bin/python3 -m mamba2ref.train --out models/austen
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from . import austen
from .model import Mamba2Config, Mamba2LM, count_parameters, save_checkpoint

HELD_OUT = "persuasion"

DEFAULT_CONFIG = Mamba2Config(d_model=256, n_layer=6, d_state=64, headdim=64, ngroups=1,
                              vocab_size=256, chunk_size=64)


def to_bytes(text: str) -> torch.Tensor:
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)


@torch.no_grad()
def bits_per_byte(model: Mamba2LM, data: torch.Tensor, window: int = 2048) -> float:
    """Mean next-byte loss in bits over `data`, in independent windows of `window` bytes
    (each window starts from an empty state; its first byte is not scored)."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(data) - 1, window):
        seg = data[start:start + window + 1]
        if len(seg) < 2:
            break
        logits = model(seg[:-1].unsqueeze(0))
        loss = F.cross_entropy(logits[0], seg[1:], reduction="sum")
        total += float(loss)
        count += len(seg) - 1
    model.train()
    return total / count / math.log(2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--steps", type=int, default=1800)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--rdb", default=None, help="path to janeaustenr's Rdata.rdb (default: find "
                    "or download the Debian package)")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "train_log.txt")
    log = open(log_path, "w")

    def say(msg: str) -> None:
        print(msg)
        log.write(msg + "\n")
        log.flush()

    books = austen.load_books(args.rdb)
    train_text = "".join(books[k] for k in sorted(books) if k != HELD_OUT)
    train = to_bytes(train_text)
    held = to_bytes(books[HELD_OUT])
    say(f"data: train {len(train)} bytes ({', '.join(k for k in sorted(books) if k != HELD_OUT)})"
        f"; held out {len(held)} bytes ({HELD_OUT})")

    cfg = DEFAULT_CONFIG
    model = Mamba2LM(cfg)
    gen = torch.Generator().manual_seed(args.seed)
    model.init_weights(gen)
    say(f"config: {json.dumps(cfg.__dict__, sort_keys=True)}")
    say(f"parameters: {count_parameters(model)}")

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "conv1d" not in name else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        frac = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    held_probe = held[:32768]
    t0 = time.time()
    smooth = None
    for step in range(args.steps):
        starts = torch.randint(0, len(train) - args.seq - 1, (args.batch,), generator=gen)
        batch = torch.stack([train[s:s + args.seq + 1] for s in starts.tolist()])
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.padded_vocab_size), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        bpb = float(loss) / math.log(2)
        smooth = bpb if smooth is None else 0.98 * smooth + 0.02 * bpb
        if step % 25 == 0 or step == args.steps - 1:
            say(f"step {step:5d}  lr {lr_at(step):.2e}  train_bpb {bpb:.4f}  smooth {smooth:.4f}"
                f"  elapsed {time.time() - t0:7.1f}s")
        if (step + 1) % args.eval_every == 0:
            say(f"step {step:5d}  held_out_probe_bpb {bits_per_byte(model, held_probe):.4f}")
    train_seconds = time.time() - t0
    save_checkpoint(model, os.path.join(args.out, "checkpoint.pt"))
    held_bpb = bits_per_byte(model, held)
    say(f"done: {args.steps} steps in {train_seconds:.1f}s; held-out ({HELD_OUT}) bits per byte "
        f"{held_bpb:.4f}")
    metrics = {
        "steps": args.steps,
        "batch": args.batch,
        "seq": args.seq,
        "seed": args.seed,
        "threads": args.threads,
        "train_bytes": len(train),
        "train_seconds": round(train_seconds, 1),
        "parameters": count_parameters(model),
        "held_out_book": HELD_OUT,
        "held_out_bytes": len(held),
        "held_out_bits_per_byte": round(held_bpb, 4),
        "eval_window": 2048,
        "config": cfg.__dict__,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
