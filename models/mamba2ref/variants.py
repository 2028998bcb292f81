"""Other ways an exporter may write the same Mamba2 function, for testing the compiler's import.

`apply(model, names)` rebinds the forward methods of a model's mixers and norms so that
torch.onnx.export traces different ONNX operators for the same function (up to float rounding):

  softplus-log-exp  dt = log(1 + exp(dt + dt_bias))         Log, Add, Exp instead of Softplus
  conv-pad          causal conv as Pad + K shifted Slices stacked + Mul + ReduceSum, not Conv
  linear-einsum     in_proj / out_proj as Einsum("blk,nk->bln") with the (out, in) weight
  linear-gemm       in_proj / out_proj as Gemm(x flattened to (b*l, d), W, zeros, transB = 1)
                    reshaped back to (b, l, n) (with linear-einsum: in_proj Einsum, out_proj Gemm)
  split-slice       the in_proj and conv output splits as Slices, not Split
  norm-div          RMS norms as x / sqrt(mean(x * x) + eps): Mul, ReduceMean, Sqrt, Div
  segsum-cumsum     the chunk's segment sums as differences of one CumSum, masked with a Trilu
                    of a run-time ones tensor and Where (not a constant mask)

    /usr/bin/python3 -m mamba2ref.export CKPT OUT.onnx --variant conv-pad --variant norm-div
"""

from __future__ import annotations

import math
import types
from typing import Iterable

import torch
import torch.nn.functional as F

from . import model as ref

VARIANTS = ("softplus-log-exp", "conv-pad", "linear-einsum", "linear-gemm", "split-slice",
            "norm-div", "segsum-cumsum")


def _rms(x, eps, div: bool):
    if div:
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def _split(x, sizes, slices: bool):
    if not slices:
        return torch.split(x, sizes, dim=-1)
    out, at = [], 0
    for s in sizes:
        out.append(x[..., at:at + s])
        at += s
    return tuple(out)


def _linear(x, lin, how: str):
    if how == "einsum":
        return torch.einsum("blk,nk->bln", x, lin.weight)
    if how == "gemm":
        b, l, d = x.shape
        zeros = torch.zeros(lin.out_features, dtype=x.dtype)
        return torch.addmm(zeros, x.reshape(-1, d), lin.weight.t()).reshape(b, l, -1)
    return lin(x)


def _segment_sum_cumsum(a: torch.Tensor) -> torch.Tensor:
    """As ref.segment_sum: out[i, j] = a[j+1] + ... + a[i] for i >= j, -inf above, computed as
    cumsum[i] - cumsum[j] under a Trilu mask of a run-time ones tensor."""
    # Non-negative axes: torch 1.13's ONNX exporter normalises negative ones against a wrong
    # rank here (see ref.segment_sum).
    c = torch.cumsum(a, dim=a.dim() - 1)
    s = c.unsqueeze(c.dim()) - c.unsqueeze(c.dim() - 1)  # (..., T, T)
    keep = torch.tril(torch.ones_like(s)) > 0
    return torch.where(keep, s, torch.full_like(s, -math.inf))


def _causal_conv_pad(xbc, conv: torch.nn.Conv1d):
    """xbc (b, l, C) -> (b, l, C): Pad the length by K-1 zeros in front, stack the K shifted
    windows on a new last axis, multiply by the (C, K) weight and sum over the taps."""
    k = conv.weight.shape[-1]
    xp = F.pad(xbc, (0, 0, k - 1, 0))  # (b, l + k - 1, C)
    # Window j is [j, j + l): constant negative ends keep the length symbolic in the export.
    win = torch.stack([xp[:, j:j - (k - 1)] if j < k - 1 else xp[:, j:] for j in range(k)],
                      dim=-1)  # (b, l, C, k)
    return (win * conv.weight.squeeze(1)).sum(-1) + conv.bias


def apply(model: ref.Mamba2LM, names: Iterable[str]) -> ref.Mamba2LM:
    names = set(names)
    unknown = names - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)} (known: {', '.join(VARIANTS)})")
    div = "norm-div" in names
    slices = "split-slice" in names
    einsum, gemm = "linear-einsum" in names, "linear-gemm" in names
    in_how = "einsum" if einsum else "gemm" if gemm else "matmul"
    out_how = "gemm" if gemm else "einsum" if einsum else "matmul"
    segsum = _segment_sum_cumsum if "segsum-cumsum" in names else ref.segment_sum

    def norm_forward(self, x):
        return _rms(x, self.eps, div) * self.weight

    def gated_forward(self, y, z):
        h = y * F.silu(z)
        shape = h.shape
        hg = h.reshape(shape[0], shape[1], -1, self.group_size)
        return _rms(hg, self.eps, div).reshape(shape) * self.weight

    def mixer_forward(self, u):
        cfg = self.cfg
        l = u.shape[1]
        gn = cfg.ngroups * cfg.d_state
        z, xbc, dt = _split(_linear(u, self.in_proj, in_how),
                            [cfg.d_inner, cfg.conv_dim, cfg.nheads], slices)
        if "conv-pad" in names:
            xbc = _causal_conv_pad(xbc, self.conv1d)
        else:
            xbc = self.conv1d(xbc.transpose(1, 2))[..., :l].transpose(1, 2)
        xbc = F.silu(xbc)
        x, B, C = _split(xbc, [cfg.d_inner, gn, gn], slices)
        if "softplus-log-exp" in names:
            dt = torch.log(1 + torch.exp(dt + self.dt_bias))
        else:
            dt = F.softplus(dt + self.dt_bias)
        A = -torch.exp(self.A_log)
        xh, Bh, Ch = self._heads(x, B, C)
        y, _ = ref.ssd_chunked(xh, dt, A, Bh, Ch, cfg.chunk_size, segsum=segsum)
        y = y + xh * self.D[:, None]
        y = y.reshape(*y.shape[:2], cfg.d_inner)
        return _linear(self.norm(y, z), self.out_proj, out_how)

    for layer in model.layers:
        layer.norm.forward = types.MethodType(norm_forward, layer.norm)
        layer.mixer.norm.forward = types.MethodType(gated_forward, layer.mixer.norm)
        layer.mixer.forward = types.MethodType(mixer_forward, layer.mixer)
    model.norm_f.forward = types.MethodType(norm_forward, model.norm_f)
    return model
