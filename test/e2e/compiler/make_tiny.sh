#!/bin/sh
# Writes a tiny random Mamba2 (2 layers, 2 groups, chunk 16) as ONNX plus its PyTorch golden
# logits into DIR. usage: make_tiny.sh PYTHON MODELS_DIR DIR
set -eu
python=$1 models=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
cd "$models"
"$python" - "$dir" <<'PY' 2>/dev/null
import sys, torch
from mamba2ref.model import Mamba2Config, Mamba2LM
from mamba2ref.export import export_chunked
from mamba2ref.golden import write_golden
torch.set_num_threads(1)
d = sys.argv[1]
m = Mamba2LM(Mamba2Config(d_model=64, n_layer=2, d_state=16, headdim=16, ngroups=2, chunk_size=16))
m.init_weights(torch.Generator().manual_seed(3))
export_chunked(m, d + "/tiny.onnx")
write_golden(m, d, "tiny.onnx", n_new=4)
PY
