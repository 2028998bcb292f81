"""Full-size Mamba2 shapes with synthetic weights, written as ONNX with external data.

    /usr/bin/python3 -m mamba2ref.fullsize mamba2-130m OUT_DIR [--outliers 4 --outlier-scale 64]
    /usr/bin/python3 -m mamba2ref.fullsize mamba2-2.7b OUT_DIR

Writes OUT_DIR/<name>.onnx and OUT_DIR/<name>.onnx.data. Weights follow the upstream
(state-spaces/mamba) initialisation, seeded, generated tensor by tensor straight into the data
file; the PyTorch model that torch.onnx.export traces holds memory-mapped views of that file
(export_params=False), and the parameter inputs of the traced graph are then pointed at it. The
exporter itself still takes about one copy of the weights in memory while it traces.

The graph is the reference model's chunked form. Linear layers are stored the way a
constant-folding exporter stores them: one (in, out) initializer feeding MatMul; the tied
lm_head is a second (d_model, vocab) initializer holding the embedding's transpose.

Outlier injection (function-preserving): in every layer, a few channels of the block's RMSNorm
weight are multiplied by `scale` and the matching in_proj input rows divided by it. The output
is unchanged (up to rounding); the activations entering in_proj get the outlier channels that
trained Mamba2 models have, which is what rotation and quantization must cope with.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import onnx
import torch
from onnx import TensorProto
from torch import nn

from .export import OPSET
from .golden import save_golden
from .model import (PRESETS, GatedRMSNorm, Mamba2Block, Mamba2Config, Mamba2LM, Mamba2Mixer,
                    RMSNorm)

ALIGN = 64  # bytes; every tensor starts on a 64-byte boundary of the data file

# A small shape with the same structure, for tests of the generator itself.
SHAPES: Dict[str, Mamba2Config] = dict(PRESETS)
SHAPES["tiny"] = Mamba2Config(d_model=64, n_layer=2, d_state=16, headdim=16, ngroups=2,
                              vocab_size=300, pad_vocab_size_multiple=16, chunk_size=16)


class StoredTransposedLinear(nn.Module):
    """y = x @ weight_t with weight_t (in, out): a Linear as a folding exporter stores it."""

    def __init__(self, weight_t: torch.Tensor):
        super().__init__()
        self.weight_t = nn.Parameter(weight_t, requires_grad=False)

    def forward(self, x):
        return torch.matmul(x, self.weight_t)


class FullSizeLM(Mamba2LM):
    """Mamba2LM whose tied head is an explicit (d_model, vocab) parameter."""

    def forward(self, input_ids):
        h = self.embedding(input_ids)
        for layer in self.layers:
            h = layer(h)
        return torch.matmul(self.norm_f(h), self.lm_head_t)


@dataclasses.dataclass
class TensorPlan:
    name: str
    shape: Tuple[int, ...]
    make: Callable[[np.random.Generator], np.ndarray]
    offset: int = 0

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4


def _uniform(shape, bound):
    return lambda rng: rng.uniform(-bound, bound, size=shape).astype(np.float32)


def plan_tensors(cfg: Mamba2Config, outlier_channels: List[int], outlier_scale: float,
                 dt_min=0.001, dt_max=0.1, dt_floor=1e-4, a_min=1.0, a_max=16.0):
    """Every parameter of the model, in file order, with how to generate it."""
    d_in_proj = 2 * cfg.d_inner + 2 * cfg.ngroups * cfg.d_state + cfg.nheads
    plans: List[TensorPlan] = []
    emb_shape = (cfg.padded_vocab_size, cfg.d_model)
    plans.append(TensorPlan("embedding.weight", emb_shape,
                            lambda rng: (rng.standard_normal(emb_shape, dtype=np.float32) * 0.02)))

    def dt_bias(rng):
        dt = np.exp(rng.uniform(size=cfg.nheads) * (math.log(dt_max) - math.log(dt_min))
                    + math.log(dt_min)).clip(min=dt_floor)
        return (dt + np.log(-np.expm1(-dt))).astype(np.float32)

    for i in range(cfg.n_layer):
        p = f"layers.{i}."

        def norm_w(rng):
            w = np.ones(cfg.d_model, np.float32)
            w[outlier_channels] *= outlier_scale
            return w

        def in_proj_t(rng, bound=1.0 / math.sqrt(cfg.d_model)):
            w = rng.uniform(-bound, bound, size=(cfg.d_model, d_in_proj)).astype(np.float32)
            w[outlier_channels, :] /= outlier_scale
            return w

        out_bound = 1.0 / math.sqrt(cfg.d_inner)
        conv_bound = 1.0 / math.sqrt(cfg.d_conv)
        plans += [
            TensorPlan(p + "norm.weight", (cfg.d_model,), norm_w),
            TensorPlan(p + "mixer.in_proj.weight_t", (cfg.d_model, d_in_proj), in_proj_t),
            TensorPlan(p + "mixer.conv1d.weight", (cfg.conv_dim, 1, cfg.d_conv),
                       _uniform((cfg.conv_dim, 1, cfg.d_conv), conv_bound)),
            TensorPlan(p + "mixer.conv1d.bias", (cfg.conv_dim,),
                       _uniform((cfg.conv_dim,), conv_bound)),
            TensorPlan(p + "mixer.dt_bias", (cfg.nheads,), dt_bias),
            TensorPlan(p + "mixer.A_log", (cfg.nheads,),
                       lambda rng: np.log(rng.uniform(a_min, a_max, size=cfg.nheads))
                       .astype(np.float32)),
            TensorPlan(p + "mixer.D", (cfg.nheads,), lambda rng: np.ones(cfg.nheads, np.float32)),
            TensorPlan(p + "mixer.norm.weight", (cfg.d_inner,),
                       lambda rng: np.ones(cfg.d_inner, np.float32)),
            # Upstream rescales the residual output projection by 1/sqrt(n_layer).
            TensorPlan(p + "mixer.out_proj.weight_t", (cfg.d_inner, cfg.d_model),
                       lambda rng, b=out_bound: (rng.uniform(-b, b, size=(cfg.d_inner, cfg.d_model))
                                                 / math.sqrt(cfg.n_layer)).astype(np.float32)),
        ]
    plans.append(TensorPlan("norm_f.weight", (cfg.d_model,),
                            lambda rng: np.ones(cfg.d_model, np.float32)))
    plans.append(TensorPlan("lm_head_t", (cfg.d_model, cfg.padded_vocab_size), lambda rng: None))
    offset = 0
    for t in plans:
        t.offset = offset
        offset += (t.nbytes + ALIGN - 1) // ALIGN * ALIGN
    return plans, offset


def write_weights(plans: List[TensorPlan], total: int, path: str, seed: int) -> None:
    """Generate each tensor with its own seeded generator and write it at its offset."""
    with open(path, "wb") as f:
        f.truncate(total)
        emb = None
        for k, t in enumerate(plans):
            if t.name == "lm_head_t":
                arr = np.ascontiguousarray(emb.T)  # tied head: the embedding's transpose
            else:
                arr = t.make(np.random.default_rng([seed, k]))
            assert arr.shape == t.shape and arr.dtype == np.float32, t.name
            if t.name == "embedding.weight":
                emb = arr
            f.seek(t.offset)
            f.write(arr.astype("<f4", copy=False).tobytes())
            del arr


def _bare(cls, **attrs):
    """A module of class `cls` whose __init__ is skipped (it would allocate and initialise
    full-size weights that are then thrown away); `attrs` become its attributes."""
    m = cls.__new__(cls)
    nn.Module.__init__(m)
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def _frozen(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t, requires_grad=False)


def build_model(cfg: Mamba2Config, plans: List[TensorPlan], data_path: str,
                total: int) -> FullSizeLM:
    """The torch model with every parameter a memory-mapped view of the data file."""
    flat = torch.from_file(data_path, shared=False, size=total // 4, dtype=torch.float32)
    views = {t.name: flat[t.offset // 4:t.offset // 4 + int(np.prod(t.shape))].view(t.shape)
             for t in plans}
    layers = []
    for i in range(cfg.n_layer):
        p = f"layers.{i}.mixer."
        conv = nn.Conv1d(cfg.conv_dim, cfg.conv_dim, kernel_size=cfg.d_conv, groups=cfg.conv_dim,
                         padding=cfg.d_conv - 1, bias=True)
        conv.weight, conv.bias = _frozen(views[p + "conv1d.weight"]), _frozen(views[p + "conv1d.bias"])
        gated = GatedRMSNorm(cfg.d_inner, cfg.d_inner // cfg.ngroups, cfg.norm_eps)
        gated.weight = _frozen(views[p + "norm.weight"])
        mixer = _bare(Mamba2Mixer, cfg=cfg, conv1d=conv, norm=gated,
                      in_proj=StoredTransposedLinear(views[p + "in_proj.weight_t"]),
                      out_proj=StoredTransposedLinear(views[p + "out_proj.weight_t"]),
                      dt_bias=_frozen(views[p + "dt_bias"]), A_log=_frozen(views[p + "A_log"]),
                      D=_frozen(views[p + "D"]))
        norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        norm.weight = _frozen(views[f"layers.{i}.norm.weight"])
        layers.append(_bare(Mamba2Block, norm=norm, mixer=mixer))
    norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
    norm_f.weight = _frozen(views["norm_f.weight"])
    model = _bare(FullSizeLM, cfg=cfg, layers=nn.ModuleList(layers), norm_f=norm_f,
                  embedding=nn.Embedding(cfg.padded_vocab_size, cfg.d_model,
                                         _weight=views["embedding.weight"]),
                  lm_head_t=_frozen(views["lm_head_t"]))
    model.embedding.weight.requires_grad_(False)
    return model.eval()


def export_graph(model: FullSizeLM, plans: List[TensorPlan], onnx_path: str,
                 data_name: str) -> None:
    """Trace without parameters, then point every parameter input at the data file."""
    ids = torch.zeros(1, 7, dtype=torch.long)
    tmp = onnx_path + ".graph-only"
    # The exporter's initializer de-duplication compares every pair of same-shaped parameters
    # by value: quadratic in the layer count over full-size tensors (minutes for 130M, most of
    # an hour for 2.7B). Every parameter here is distinct by construction, so skip it.
    dedup = torch._C._jit_pass_onnx_deduplicate_initializers
    torch._C._jit_pass_onnx_deduplicate_initializers = lambda graph, params, training: params
    try:
        with torch.no_grad():
            torch.onnx.export(model, (ids,), tmp, opset_version=OPSET, export_params=False,
                              input_names=["input_ids"], output_names=["logits"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                            "logits": {0: "batch", 1: "sequence"}},
                              do_constant_folding=False, keep_initializers_as_inputs=True)
    finally:
        torch._C._jit_pass_onnx_deduplicate_initializers = dedup
    m = onnx.load(tmp)
    os.remove(tmp)
    by_param = {t.name: t for t in plans}
    graph = m.graph
    keep = []
    for inp in graph.input:
        if inp.name == "input_ids":
            keep.append(inp)
            continue
        plan = by_param.get(inp.name)
        if plan is None:
            raise RuntimeError(f"graph input {inp.name!r} is neither input_ids nor a parameter")
        t = graph.initializer.add()
        t.name = inp.name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(plan.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", data_name), ("offset", str(plan.offset)),
                     ("length", str(plan.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
    del graph.input[:]
    graph.input.extend(keep)
    missing = {t.name for t in plans} - {t.name for t in graph.initializer}
    if missing:
        raise RuntimeError(f"parameters the traced graph does not read: {sorted(missing)}")
    onnx.save_model(m, onnx_path)
    onnx.checker.check_model(onnx_path)


def generate(shape: str, out_dir: str, seed: int = 0, outliers: int = 0,
             outlier_scale: float = 64.0) -> dict:
    cfg = SHAPES[shape]
    cfg.validate()
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng([seed, 999])
    channels = sorted(rng.choice(cfg.d_model, size=outliers, replace=False).tolist()) \
        if outliers else []
    plans, total = plan_tensors(cfg, channels, outlier_scale)
    name = shape + ("-outliers" if outliers else "")
    onnx_path = os.path.join(out_dir, name + ".onnx")
    data_name = name + ".onnx.data"
    data_path = os.path.join(out_dir, data_name)
    t0 = time.time()
    write_weights(plans, total, data_path, seed)
    t1 = time.time()
    model = build_model(cfg, plans, data_path, total)
    export_graph(model, plans, onnx_path, data_name)
    t2 = time.time()
    params = sum(int(np.prod(t.shape)) for t in plans if t.name != "lm_head_t")
    info = {
        "shape": shape,
        "config": dataclasses.asdict(cfg),
        "parameters": params,
        "onnx": onnx_path,
        "data": data_path,
        "data_bytes": total,
        "seed": seed,
        "outlier_channels": channels,
        "outlier_scale": outlier_scale if outliers else 1.0,
        "seconds_weights": round(t1 - t0, 1),
        "seconds_export": round(t2 - t1, 1),
    }
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(info, f, indent=2)
    return info


def load_generated(onnx_path: str) -> FullSizeLM:
    """The torch model over a generated file's weights (for tests and golden data)."""
    with open(onnx_path[:-len(".onnx")] + ".json") as f:
        info = json.load(f)
    cfg = Mamba2Config(**info["config"])
    rng_channels = info["outlier_channels"]
    plans, total = plan_tensors(cfg, rng_channels, info["outlier_scale"])
    return build_model(cfg, plans, info["data"], total)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--outliers", type=int, default=0, metavar="N",
                    help="inject N outlier channels per layer (function-preserving)")
    ap.add_argument("--outlier-scale", type=float, default=64.0)
    ap.add_argument("--golden", action="store_true",
                    help="also write golden.json/golden_logits.bin for two random prompts")
    args = ap.parse_args(argv)
    if args.outliers < 0 or args.outliers > SHAPES[args.shape].d_model:
        ap.error(f"--outliers must be between 0 and d_model ({SHAPES[args.shape].d_model})")
    if args.outlier_scale <= 0:
        ap.error("--outlier-scale must be positive")
    torch.set_num_threads(2)
    info = generate(args.shape, args.out_dir, args.seed, args.outliers, args.outlier_scale)
    print(json.dumps(info, indent=2))
    if args.golden:
        write_random_golden(info["onnx"], args.out_dir, args.seed)
    return 0


def write_random_golden(onnx_path: str, out_dir: str, seed: int) -> None:
    """Golden logits of two random prompts, in golden.py's format, for tools/ort/check_golden."""
    model = load_generated(onnx_path)
    gen = torch.Generator().manual_seed(seed)
    entries, arrays = [], []
    for length in (5, 23):
        ids = torch.randint(0, model.cfg.vocab_size, (1, length), generator=gen)
        with torch.no_grad():
            arrays.append(model(ids)[0].numpy())
        entries.append({"text": f"random {length} tokens", "ids": ids[0].tolist()})
    save_golden(out_dir, os.path.basename(onnx_path),
                "PyTorch reference over generated weights", entries, arrays)


if __name__ == "__main__":
    sys.exit(main())
