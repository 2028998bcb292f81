"""Export a Mamba2 model to ONNX with torch.onnx.export (opset 17).

Two forms, as the compiler's importer expects them:
  * chunked (default): input_ids (batch, sequence) int64 -> logits (batch, sequence, vocab);
    the whole sequence through the chunked SSD, batch and sequence axes dynamic;
  * step: one decode step of the recurrent form,
    input_ids (batch, 1), conv_states (n_layer, batch, conv_dim, d_conv),
    ssm_states (n_layer, batch, nheads, headdim, d_state)
    -> logits (batch, vocab), conv_states_out, ssm_states_out; batch axis dynamic.

    /usr/bin/python3 -m mamba2ref.export CHECKPOINT OUT.onnx [--form chunked|step]
        [--variant NAME ...]

--variant writes the chunked form with other operators for the same function (see
mamba2ref.variants: softplus-log-exp, conv-pad, linear-einsum, linear-gemm, split-slice,
norm-div, segsum-cumsum), as other exporters do; `all` selects every one.
"""

from __future__ import annotations

import argparse
import os
import sys

import onnx
import torch
from torch import nn

from . import variants
from .model import Mamba2LM, load_checkpoint

OPSET = 17


class StepGraph(nn.Module):
    """The recurrent form as a module with explicit state inputs and outputs."""

    def __init__(self, model: Mamba2LM):
        super().__init__()
        self.model = model

    def forward(self, input_ids, conv_states, ssm_states):
        return self.model.step(input_ids, conv_states, ssm_states)


def export_chunked(model: Mamba2LM, path: str, example_len: int = 37,
                   external_data: bool = False) -> None:
    """Whole-sequence graph. The example length is deliberately not a multiple of the chunk
    size so that the padding arithmetic is traced symbolically."""
    model.eval()
    ids = torch.randint(0, model.cfg.vocab_size, (1, example_len),
                        generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.onnx.export(
            model, (ids,), path, opset_version=OPSET,
            input_names=["input_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "logits": {0: "batch", 1: "sequence"}},
            do_constant_folding=True)
    _finish(path, external_data)


def export_step(model: Mamba2LM, path: str, external_data: bool = False) -> None:
    model.eval()
    conv, ssm = model.empty_state(1)
    ids = torch.zeros(1, 1, dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            StepGraph(model), (ids, conv, ssm), path, opset_version=OPSET,
            input_names=["input_ids", "conv_states", "ssm_states"],
            output_names=["logits", "conv_states_out", "ssm_states_out"],
            dynamic_axes={"input_ids": {0: "batch"}, "conv_states": {1: "batch"},
                          "ssm_states": {1: "batch"}, "logits": {0: "batch"},
                          "conv_states_out": {1: "batch"}, "ssm_states_out": {1: "batch"}},
            do_constant_folding=True)
    _finish(path, external_data)


def _finish(path: str, external_data: bool) -> None:
    """Check the file with onnx.checker; optionally move the weights to one external file."""
    if external_data:
        m = onnx.load(path)
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data", size_threshold=1024)
    onnx.checker.check_model(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint written by mamba2ref.train (.pt)")
    ap.add_argument("out", help="output .onnx")
    ap.add_argument("--form", choices=["chunked", "step"], default="chunked")
    ap.add_argument("--variant", action="append", default=[],
                    choices=list(variants.VARIANTS) + ["all"],
                    help="write this operator variant (chunked form only; repeatable)")
    ap.add_argument("--external-data", action="store_true",
                    help="store weights in OUT.data beside the model")
    args = ap.parse_args(argv)
    if args.variant and args.form != "chunked":
        ap.error("--variant applies to the chunked form only")
    model = load_checkpoint(args.checkpoint)
    names = variants.VARIANTS if "all" in args.variant else args.variant
    variants.apply(model, names)
    if args.form == "chunked":
        export_chunked(model, args.out, external_data=args.external_data)
    else:
        export_step(model, args.out, external_data=args.external_data)
    extra = f", variants {', '.join(names)}" if names else ""
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, form {args.form}{extra})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
