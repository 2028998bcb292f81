"""Randomised spellings of one Mamba2 function, for testing that the compiler matches blocks by
meaning (normal forms), not by one exporter's spelling.

`choose(n_layer, seed)` picks, per block and per layer, one of the spellings in SPELLINGS
(seeded, reproducible); `apply(model, choices)` rebinds the model's forward methods so that
torch.onnx.export traces those operators. Every spelling computes the same function up to float
rounding, except `dt_limit`, which clamps dt after the softplus as transformers' Mamba2 does
(`time_step_limit`); the clamped model is the reference then.

    /usr/bin/python3 -m mamba2ref.spellings OUT_DIR --count 24 --seed 1
writes OUT_DIR/sNN/model.onnx with its golden logits (golden.json, golden_logits.bin) and
choices.json, and checks each with onnxruntime against PyTorch where onnxruntime is importable
(tools/ort/check_golden.mjs does it from node otherwise).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import types
from typing import Dict, List

import torch
import torch.nn.functional as F

from . import model as ref
from . import variants as var

SPELLINGS: Dict[str, tuple] = {
    # x * rsqrt(mean(x^2) + eps); x / sqrt(mean(x * x) + eps); x * Reciprocal(Sqrt(...));
    # x * (1 / sqrt(...)); x * (mean(x^2) + eps)^-0.5; the mean as sum(x^2) / d; eps added
    # before the mean (eps + mean, and mean(x^2 + eps))
    "norm": ("rsqrt", "div", "reciprocal", "one-over", "pow", "sum", "eps-first", "eps-inside"),
    "gated_norm": ("rsqrt", "div", "reciprocal", "one-over", "pow", "sum", "eps-first",
                   "eps-inside"),
    # MatMul; Einsum; Gemm(transB = 1) on flattened rows; Gemm(transB = 0) of a weight stored
    # transposed; MatMul of a Transpose of the weight
    "in_proj": ("matmul", "einsum", "gemm", "gemm-t", "matmul-t"),
    "out_proj": ("matmul", "einsum", "gemm", "gemm-t", "matmul-t"),
    "split": ("split", "slices"),
    # Conv + Slice + SiLU after the transpose back; the SiLU before it (transformers);
    # Pad + shifted Slices + Mul + ReduceSum, the Slice ends constant (conv-pad) or computed from
    # the length (conv-pad-len: j + l); the K taps each multiplied by its own (C) initializer and
    # added, ends computed from the padded length (conv-pad-taps)
    "conv": ("conv", "conv-silu-first", "conv-pad", "conv-pad-len", "conv-pad-taps"),
    # Softplus; Log(1 + Exp); torch's threshold: Where(v > 20, v, Softplus(v))
    "softplus": ("softplus", "log-exp", "threshold"),
    # none; Clip(0, inf) (transformers' default time_step_limit); Clip(0.05, 1.5)
    "dt_limit": ("none", "zero-inf", "finite"),
    "segsum": ("mask", "cumsum"),
}


def choose(n_layer: int, seed: int) -> dict:
    """Seeded choice of one spelling per block per layer (and for the final norm)."""
    rng = random.Random(seed)
    layers = [{block: rng.choice(options) for block, options in SPELLINGS.items()}
              for _ in range(n_layer)]
    return {"seed": seed, "layers": layers, "norm_f": rng.choice(SPELLINGS["norm"])}


def _rms(x, eps, how: str):
    if how == "sum":
        return x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) / x.shape[-1] + eps)
    if how == "eps-first":
        return x * torch.rsqrt(eps + x.pow(2).mean(-1, keepdim=True))
    if how == "eps-inside":
        return x * torch.rsqrt((x * x + eps).mean(-1, keepdim=True))
    if how == "div":
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
    if how == "reciprocal":
        return x * torch.reciprocal(torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    if how == "one-over":
        return x * (1.0 / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    if how == "pow":
        return x * (x.pow(2).mean(-1, keepdim=True) + eps).pow(-0.5)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def _softplus(v, how: str):
    if how == "log-exp":
        return torch.log(1 + torch.exp(v))
    if how == "threshold":
        return torch.where(v > 20.0, v, F.softplus(v))
    return F.softplus(v)


def _linear(x, lin, how: str):
    if how == "gemm-t":
        b, l, d = x.shape
        zeros = torch.zeros(lin.out_features, dtype=x.dtype)
        wt = lin.weight.detach().t().contiguous()  # (in, out), a constant of its own
        return torch.addmm(zeros, x.reshape(-1, d), wt).reshape(b, l, -1)
    if how == "matmul-t":
        return torch.matmul(x, lin.weight.t())
    return var._linear(x, lin, how)


def _causal_conv_len(xbc, conv: torch.nn.Conv1d, length):
    """As var._causal_conv_pad, window j ending at j + length (computed from the length)."""
    k = conv.weight.shape[-1]
    xp = F.pad(xbc, (0, 0, k - 1, 0))
    win = torch.stack([xp[:, j:j + length] for j in range(k)], dim=-1)
    return (win * conv.weight.squeeze(1)).sum(-1) + conv.bias


def _causal_conv_taps(xbc, conv: torch.nn.Conv1d):
    """The K shifted windows each times its own (C) weight (separate constants), added, then the
    bias; window j ends K-1-j before the end of the padded length."""
    k = conv.weight.shape[-1]
    xp = F.pad(xbc, (0, 0, k - 1, 0))
    taps = [conv.weight[:, 0, j].detach().clone() for j in range(k)]
    out = None
    for j in range(k):
        term = xp[:, j:xp.shape[1] - (k - 1 - j)] * taps[j]
        out = term if out is None else out + term
    return out + conv.bias


def _dt_limit(dt, how: str):
    if how == "zero-inf":
        return torch.clamp(dt, 0.0, math.inf)
    if how == "finite":
        return torch.clamp(dt, 0.05, 1.5)
    return dt


def apply(model: ref.Mamba2LM, choices: dict) -> ref.Mamba2LM:
    for layer, c in zip(model.layers, choices["layers"]):
        _apply_layer(layer, c)
    how_f = choices["norm_f"]
    model.norm_f.forward = types.MethodType(lambda self, x: _rms(x, self.eps, how_f) * self.weight,
                                            model.norm_f)
    return model


def _apply_layer(layer, c: dict) -> None:
    slices = c["split"] == "slices"
    segsum = var._segment_sum_cumsum if c["segsum"] == "cumsum" else ref.segment_sum

    def norm_forward(self, x):
        return _rms(x, self.eps, c["norm"]) * self.weight

    def gated_forward(self, y, z):
        h = y * F.silu(z)
        shape = h.shape
        hg = h.reshape(shape[0], shape[1], -1, self.group_size)
        return _rms(hg, self.eps, c["gated_norm"]).reshape(shape) * self.weight

    def mixer_forward(self, u):
        cfg = self.cfg
        l = u.shape[1]
        gn = cfg.ngroups * cfg.d_state
        z, xbc, dt = var._split(_linear(u, self.in_proj, c["in_proj"]),
                                [cfg.d_inner, cfg.conv_dim, cfg.nheads], slices)
        if c["conv"] == "conv-pad":
            xbc = F.silu(var._causal_conv_pad(xbc, self.conv1d))
        elif c["conv"] == "conv-pad-len":
            xbc = F.silu(_causal_conv_len(xbc, self.conv1d, l))
        elif c["conv"] == "conv-pad-taps":
            xbc = F.silu(_causal_conv_taps(xbc, self.conv1d))
        elif c["conv"] == "conv-silu-first":
            xbc = F.silu(self.conv1d(xbc.transpose(1, 2))[..., :l]).transpose(1, 2)
        else:
            xbc = F.silu(self.conv1d(xbc.transpose(1, 2))[..., :l].transpose(1, 2))
        x, B, C = var._split(xbc, [cfg.d_inner, gn, gn], slices)
        dt = _dt_limit(_softplus(dt + self.dt_bias, c["softplus"]), c["dt_limit"])
        A = -torch.exp(self.A_log)
        xh, Bh, Ch = self._heads(x, B, C)
        y, _ = ref.ssd_chunked(xh, dt, A, Bh, Ch, cfg.chunk_size, segsum=segsum)
        y = y + xh * self.D[:, None]
        y = y.reshape(*y.shape[:2], cfg.d_inner)
        return _linear(self.norm(y, z), self.out_proj, c["out_proj"])

    layer.norm.forward = types.MethodType(norm_forward, layer.norm)
    layer.mixer.norm.forward = types.MethodType(gated_forward, layer.mixer.norm)
    layer.mixer.forward = types.MethodType(mixer_forward, layer.mixer)


def tiny_model(seed: int) -> ref.Mamba2LM:
    """3 layers, 2 groups, chunk 16: small enough to export in a few seconds."""
    m = ref.Mamba2LM(ref.Mamba2Config(d_model=64, n_layer=3, d_state=16, headdim=16, ngroups=2,
                                      chunk_size=16))
    m.init_weights(torch.Generator().manual_seed(seed))
    return m


def write_case(out_dir: str, seed: int) -> dict:
    """One randomly spelled model, its golden logits (of the same spelled PyTorch model) and
    its choices; returns the choices."""
    from .export import export_chunked
    from .golden import PROMPTS, save_golden

    os.makedirs(out_dir, exist_ok=True)
    m = tiny_model(seed)
    choices = choose(m.cfg.n_layer, seed)
    apply(m, choices)
    m.eval()
    with torch.no_grad():
        export_chunked(m, os.path.join(out_dir, "model.onnx"))
        entries, arrays = [], []
        for text in PROMPTS[:3]:
            ids = list(text.encode("utf-8"))
            arrays.append(m(torch.tensor([ids], dtype=torch.long))[0].numpy())
            entries.append({"text": text, "ids": ids})
    save_golden(out_dir, "model.onnx", "PyTorch reference with random spellings, fp32", entries,
                arrays, {"choices": choices})
    with open(os.path.join(out_dir, "choices.json"), "w") as f:
        json.dump(choices, f, indent=1)
    return choices


def main(argv: List[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--count", type=int, default=24)
    p.add_argument("--seed", type=int, default=1, help="seed of the first case (then +1, ...)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for i in range(args.count):
        d = os.path.join(args.out_dir, f"s{i:02d}")
        c = write_case(d, args.seed + i)
        print(d, json.dumps(c["layers"]))


if __name__ == "__main__":
    main()
