"""Pure-PyTorch Mamba2 language model with state-spaces/mamba semantics.

One block (shapes for batch b, length l):
  u (b, l, d_model) -> RMSNorm -> in_proj -> [z (d_inner) | xBC (d_inner + 2*g*n) | dt (h)]
  xBC -> causal depthwise conv1d (kernel d_conv, bias) -> SiLU -> [x (d_inner) | B (g*n) | C (g*n)]
  dt = softplus(dt + dt_bias); A = -exp(A_log)
  SSD per head: S_t = exp(dt_t*A) * S_{t-1} + dt_t * x_t (outer) B_t;  y_t = S_t C_t + D * x_t
  y -> gated RMSNorm: rmsnorm(y * silu(z)) * w (per group of d_inner/g channels) -> out_proj
  u + out_proj(...) is the block output.
Embedding in; final RMSNorm and lm_head tied to the embedding out.

Two SSD forms compute the same function:
  * chunked: the matrix (state-space duality) form over chunks of `chunk_size` steps, used for
    training, prefill and the ONNX export of a whole sequence;
  * recurrent: step by step with explicit conv and SSM state, used for decode.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass
class Mamba2Config:
    d_model: int = 256
    n_layer: int = 4
    d_state: int = 64
    d_conv: int = 4
    expand: int = 2
    headdim: int = 32
    ngroups: int = 1
    vocab_size: int = 256
    chunk_size: int = 64
    norm_eps: float = 1e-5
    # Upstream pads the vocabulary to a multiple of this (50277 -> 50288 for the 130M model).
    pad_vocab_size_multiple: int = 1

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def nheads(self) -> int:
        return self.d_inner // self.headdim

    @property
    def conv_dim(self) -> int:
        return self.d_inner + 2 * self.ngroups * self.d_state

    @property
    def padded_vocab_size(self) -> int:
        m = self.pad_vocab_size_multiple
        return ((self.vocab_size + m - 1) // m) * m

    def validate(self) -> None:
        if self.d_inner % self.headdim:
            raise ValueError(f"d_inner {self.d_inner} is not a multiple of headdim {self.headdim}")
        if self.nheads % self.ngroups:
            raise ValueError(f"nheads {self.nheads} is not a multiple of ngroups {self.ngroups}")
        if self.d_inner % self.ngroups:
            raise ValueError(f"d_inner {self.d_inner} is not a multiple of ngroups {self.ngroups}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @staticmethod
    def from_dict(d: dict) -> "Mamba2Config":
        fields = {f.name for f in dataclasses.fields(Mamba2Config)}
        unknown = set(d) - fields
        if unknown:
            raise ValueError(f"unknown Mamba2Config fields: {sorted(unknown)}")
        return Mamba2Config(**d)


# Sizes of the published models, used by the full-size shape generator.
PRESETS = {
    "mamba2-130m": Mamba2Config(d_model=768, n_layer=24, d_state=128, headdim=64, ngroups=1,
                                vocab_size=50277, pad_vocab_size_multiple=16, chunk_size=256),
    "mamba2-2.7b": Mamba2Config(d_model=2560, n_layer=64, d_state=128, headdim=64, ngroups=1,
                                vocab_size=50277, pad_vocab_size_multiple=16, chunk_size=256),
}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (..., dim)
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


class GatedRMSNorm(nn.Module):
    """rmsnorm(y * silu(z)) * w, normalised over groups of `group_size` channels."""

    def __init__(self, dim: int, group_size: int, eps: float):
        super().__init__()
        self.eps = eps
        self.group_size = group_size
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        # y, z (b, l, d_inner)
        h = y * F.silu(z)
        shape = h.shape
        hg = h.reshape(shape[0], shape[1], -1, self.group_size)  # (b, l, g, d_inner/g)
        var = hg.pow(2).mean(-1, keepdim=True)
        hg = hg * torch.rsqrt(var + self.eps)
        return hg.reshape(shape) * self.weight


def segment_sum(a: torch.Tensor) -> torch.Tensor:
    """a (..., T) -> (..., T, T) with out[i, j] = a[j+1] + ... + a[i] for i >= j, -inf above.

    exp(segment_sum(dA)) is the causal decay matrix of one chunk. Summing a masked copy (rather
    than differencing one cumulative sum) keeps it exact for long chunks."""
    t = a.shape[-1]
    strict = torch.tril(torch.ones(t, t, dtype=a.dtype, device=a.device), diagonal=-1)
    x = a.unsqueeze(-1) * strict  # (..., T, T): x[i, j] = a[i] where i > j, else 0
    # s[i, j] = sum_{j < k <= i} a[k]. The axis is given as a non-negative number: torch 1.13's
    # ONNX exporter normalises dim=-2 against a wrong rank here and exports the wrong axis.
    s = torch.cumsum(x, dim=x.dim() - 2)
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device), diagonal=0)
    return s.masked_fill(~causal, -math.inf)


def ssd_chunked(x, dt, A, B, C, chunk_size: int, initial_state=None, segsum=segment_sum):
    """Chunked (matrix) SSD.

    x (b, l, h, p), dt (b, l, h) after softplus, A (h), B and C (b, l, h, n) already expanded
    from groups to heads. Returns y (b, l, h, p) without the D skip, and the final state
    (b, h, p, n). `segsum` computes the segment sums (mamba2ref.variants has another form)."""
    b, l, h, p = x.shape
    n = B.shape[-1]
    t = chunk_size
    # Pad the length to whole chunks (always, with a pad of 0 when it divides, so that an ONNX
    # export keeps the length symbolic). Padded steps have dt = 0: no decay and no input, so the
    # state passes through them unchanged.
    pad = (t - l % t) % t
    x = F.pad(x, (0, 0, 0, 0, 0, pad))
    dt = F.pad(dt, (0, 0, 0, pad))
    B = F.pad(B, (0, 0, 0, 0, 0, pad))
    C = F.pad(C, (0, 0, 0, 0, 0, pad))
    xdt = (x * dt.unsqueeze(-1)).reshape(b, -1, t, h, p)  # (b, c, t, h, p)
    B = B.reshape(b, -1, t, h, n)
    C = C.reshape(b, -1, t, h, n)
    dA = (dt * A).reshape(b, -1, t, h).permute(0, 3, 1, 2)  # (b, h, c, t)
    dA_cum = torch.cumsum(dA, dim=3)  # (b, h, c, t)

    # 1. Within each chunk: y[l] = sum_{s <= l} C[l].B[s] * decay(s -> l) * x[s] dt[s].
    decay = torch.exp(segsum(dA))  # (b, h, c, t, t)
    scores = torch.einsum("bclhn,bcshn->bhcls", C, B) * decay  # (b, h, c, t, t)
    y_diag = torch.einsum("bhcls,bcshp->bclhp", scores, xdt)

    # 2. State each chunk contributes at its own end.
    decay_to_end = torch.exp(dA_cum[..., -1:] - dA_cum)  # (b, h, c, t)
    chunk_states = torch.einsum("bcshn,bhcs,bcshp->bchpn", B, decay_to_end, xdt)

    # 3. Carry states across chunks: state entering chunk z from every earlier chunk.
    if initial_state is None:
        initial_state = torch.zeros(b, h, p, n, dtype=x.dtype, device=x.device)
    states = torch.cat([initial_state.unsqueeze(1), chunk_states], dim=1)  # (b, c+1, h, p, n)
    chunk_decay = torch.exp(segsum(F.pad(dA_cum[..., -1], (1, 0))))  # (b, h, c+1, c+1)
    states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, states)
    entering, final_state = states[:, :-1], states[:, -1]  # (b, c, h, p, n), (b, h, p, n)

    # 4. Contribution of the entering state to every step of the chunk.
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, entering, torch.exp(dA_cum))

    y = (y_diag + y_off).reshape(b, -1, h, p)[:, :l]
    return y, final_state


def ssd_step(state, x, dt, A, B, C):
    """One recurrent SSD step. state (b, h, p, n), x (b, h, p), dt (b, h), A (h),
    B and C (b, h, n). Returns y (b, h, p) without the D skip and the new state."""
    decay = torch.exp(dt * A)  # (b, h)
    state = state * decay[..., None, None] + (dt[..., None] * x)[..., None] * B[:, :, None, :]
    y = torch.einsum("bhpn,bhn->bhp", state, C)
    return y, state


class Mamba2Mixer(nn.Module):
    def __init__(self, cfg: Mamba2Config):
        super().__init__()
        self.cfg = cfg
        d_in_proj = 2 * cfg.d_inner + 2 * cfg.ngroups * cfg.d_state + cfg.nheads
        self.in_proj = nn.Linear(cfg.d_model, d_in_proj, bias=False)
        self.conv1d = nn.Conv1d(cfg.conv_dim, cfg.conv_dim, kernel_size=cfg.d_conv,
                                groups=cfg.conv_dim, padding=cfg.d_conv - 1, bias=True)
        self.dt_bias = nn.Parameter(torch.zeros(cfg.nheads))
        self.A_log = nn.Parameter(torch.zeros(cfg.nheads))
        self.D = nn.Parameter(torch.ones(cfg.nheads))
        self.norm = GatedRMSNorm(cfg.d_inner, cfg.d_inner // cfg.ngroups, cfg.norm_eps)
        self.out_proj = nn.Linear(cfg.d_inner, cfg.d_model, bias=False)

    def _split_proj(self, zxbcdt):
        cfg = self.cfg
        return torch.split(zxbcdt, [cfg.d_inner, cfg.conv_dim, cfg.nheads], dim=-1)

    def _split_xbc(self, xbc):
        cfg = self.cfg
        gn = cfg.ngroups * cfg.d_state
        return torch.split(xbc, [cfg.d_inner, gn, gn], dim=-1)

    def _heads(self, x, B, C):
        """x (..., d_inner) -> (..., h, p); B, C (..., g*n) -> (..., h, n)."""
        cfg = self.cfg
        lead = x.shape[:-1]
        x = x.reshape(*lead, cfg.nheads, cfg.headdim)
        rep = cfg.nheads // cfg.ngroups
        B = B.reshape(*lead, cfg.ngroups, cfg.d_state).repeat_interleave(rep, dim=-2)
        C = C.reshape(*lead, cfg.ngroups, cfg.d_state).repeat_interleave(rep, dim=-2)
        return x, B, C

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Chunked form over a whole sequence. u (b, l, d_model)."""
        cfg = self.cfg
        l = u.shape[1]
        z, xbc, dt = self._split_proj(self.in_proj(u))
        xbc = self.conv1d(xbc.transpose(1, 2))[..., :l].transpose(1, 2)  # causal: drop the tail
        xbc = F.silu(xbc)
        x, B, C = self._split_xbc(xbc)
        dt = F.softplus(dt + self.dt_bias)  # (b, l, h)
        A = -torch.exp(self.A_log)  # (h)
        xh, Bh, Ch = self._heads(x, B, C)
        y, _ = ssd_chunked(xh, dt, A, Bh, Ch, cfg.chunk_size)
        y = y + xh * self.D[:, None]
        y = y.reshape(*y.shape[:2], cfg.d_inner)
        return self.out_proj(self.norm(y, z))

    def step(self, u, conv_state, ssm_state):
        """Recurrent form, one token. u (b, d_model), conv_state (b, conv_dim, d_conv),
        ssm_state (b, h, p, n). Returns the output (b, d_model) and the new states."""
        cfg = self.cfg
        z, xbc, dt = self._split_proj(self.in_proj(u))
        conv_state = torch.cat([conv_state[:, :, 1:], xbc.unsqueeze(-1)], dim=-1)
        xbc = (conv_state * self.conv1d.weight.squeeze(1)).sum(-1) + self.conv1d.bias
        xbc = F.silu(xbc)
        x, B, C = self._split_xbc(xbc)
        dt = F.softplus(dt + self.dt_bias)  # (b, h)
        A = -torch.exp(self.A_log)
        xh, Bh, Ch = self._heads(x, B, C)
        y, ssm_state = ssd_step(ssm_state, xh, dt, A, Bh, Ch)
        y = y + xh * self.D[:, None]
        y = y.reshape(y.shape[0], 1, cfg.d_inner)
        out = self.out_proj(self.norm(y, z.unsqueeze(1))).squeeze(1)
        return out, conv_state, ssm_state


class Mamba2Block(nn.Module):
    def __init__(self, cfg: Mamba2Config):
        super().__init__()
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mixer = Mamba2Mixer(cfg)

    def forward(self, h):
        return h + self.mixer(self.norm(h))

    def step(self, h, conv_state, ssm_state):
        out, conv_state, ssm_state = self.mixer.step(self.norm(h), conv_state, ssm_state)
        return h + out, conv_state, ssm_state


class Mamba2LM(nn.Module):
    def __init__(self, cfg: Mamba2Config):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.padded_vocab_size, cfg.d_model)
        self.layers = nn.ModuleList([Mamba2Block(cfg) for _ in range(cfg.n_layer)])
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)

    # ---- initialisation (upstream mamba_ssm conventions) ----
    @torch.no_grad()
    def init_weights(self, generator: torch.Generator, dt_min=0.001, dt_max=0.1,
                     dt_init_floor=1e-4, a_min=1.0, a_max=16.0) -> None:
        cfg = self.cfg
        self.embedding.weight.copy_(torch.randn(self.embedding.weight.shape, generator=generator)
                                    * 0.02)
        for layer in self.layers:
            m = layer.mixer
            for lin in (m.in_proj, m.out_proj):
                bound = 1.0 / math.sqrt(lin.in_features)  # kaiming_uniform(a=sqrt(5)) bound
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=generator) * 2 - 1)
                                 * bound)
            # GPT-2 style rescale of the residual-branch output projection.
            m.out_proj.weight.div_(math.sqrt(cfg.n_layer))
            fan_in = cfg.d_conv  # depthwise: in_channels/groups * kernel
            bound = 1.0 / math.sqrt(fan_in)
            m.conv1d.weight.copy_((torch.rand(m.conv1d.weight.shape, generator=generator) * 2 - 1)
                                  * bound)
            m.conv1d.bias.copy_((torch.rand(m.conv1d.bias.shape, generator=generator) * 2 - 1)
                                * bound)
            dt = torch.exp(torch.rand(cfg.nheads, generator=generator)
                           * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
            dt = dt.clamp(min=dt_init_floor)
            m.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
            A = torch.rand(cfg.nheads, generator=generator) * (a_max - a_min) + a_min
            m.A_log.copy_(torch.log(A))
            m.D.fill_(1.0)
            m.norm.weight.fill_(1.0)
            layer.norm.weight.fill_(1.0)
        self.norm_f.weight.fill_(1.0)

    # ---- chunked form ----
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids (b, l) int64 -> logits (b, l, vocab)."""
        h = self.embedding(input_ids)
        for layer in self.layers:
            h = layer(h)
        h = self.norm_f(h)
        return F.linear(h, self.embedding.weight)

    # ---- recurrent form ----
    def empty_state(self, batch: int, dtype=torch.float32) -> Tuple[torch.Tensor, torch.Tensor]:
        """conv_states (n_layer, b, conv_dim, d_conv), ssm_states (n_layer, b, h, p, n)."""
        cfg = self.cfg
        conv = torch.zeros(cfg.n_layer, batch, cfg.conv_dim, cfg.d_conv, dtype=dtype)
        ssm = torch.zeros(cfg.n_layer, batch, cfg.nheads, cfg.headdim, cfg.d_state, dtype=dtype)
        return conv, ssm

    def step(self, input_ids, conv_states, ssm_states):
        """One token per sequence. input_ids (b,) or (b, 1). Returns logits (b, vocab) and the
        new states."""
        ids = input_ids.reshape(-1)
        h = self.embedding(ids)
        new_conv: List[torch.Tensor] = []
        new_ssm: List[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            h, c, s = layer.step(h, conv_states[i], ssm_states[i])
            new_conv.append(c)
            new_ssm.append(s)
        h = self.norm_f(h)
        return F.linear(h, self.embedding.weight), torch.stack(new_conv), torch.stack(new_ssm)

    def forward_recurrent(self, input_ids: torch.Tensor, state=None):
        """The whole sequence step by step; returns logits (b, l, vocab) and the final state."""
        conv, ssm = state if state is not None else self.empty_state(input_ids.shape[0])
        out = []
        for t in range(input_ids.shape[1]):
            logits, conv, ssm = self.step(input_ids[:, t], conv, ssm)
            out.append(logits)
        return torch.stack(out, dim=1), (conv, ssm)

    @torch.no_grad()
    def generate_greedy(self, prompt_ids: List[int], n_new: int) -> List[int]:
        """Greedy continuation with the recurrent form (prefill by steps, then decode)."""
        ids = torch.tensor([prompt_ids], dtype=torch.long)
        logits, state = self.forward_recurrent(ids)
        nxt = int(logits[0, -1].argmax())
        out = [nxt]
        conv, ssm = state
        for _ in range(n_new - 1):
            lg, conv, ssm = self.step(torch.tensor([nxt]), conv, ssm)
            nxt = int(lg[0].argmax())
            out.append(nxt)
        return out


def load_checkpoint(path: str) -> Mamba2LM:
    blob = torch.load(path, map_location="cpu")
    model = Mamba2LM(Mamba2Config.from_dict(blob["config"]))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model


def save_checkpoint(model: Mamba2LM, path: str) -> None:
    torch.save({"config": dataclasses.asdict(model.cfg), "state_dict": model.state_dict()}, path)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
