#!/bin/sh
# Hugging Face transformers' Mamba2 exported by current PyTorch (dynamo exporter, opset 18 or
# 20, IR version 10; ../shared/data/hf-mamba2, see its README): the graph must raise completely
# (mamba2c --emit=m2 --strict) and the raised model must match the PyTorch logits kept beside it
# (b1_len64, b2_len96: every sequence of the batch as one prompt) within rtol 1e-4, as one
# prefill and as a prefill followed by decode steps, with identical logits for 1 and 2 threads.
# usage: hf_golden_check.sh BIN_DIR PYTHON DATA_DIR WORK_DIR
# Exits 77 (skipped) when the data is absent.
set -eu
bin=$1 python=$2 data=$3 work=$4
if [ ! -f "$data/hf-mamba2-tiny.opset18.onnx" ]; then
  echo "skipped: $data/hf-mamba2-tiny.opset18.onnx is absent (set MAMBA2_DATA_DIR)"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work/golden"
# The .npy pairs as golden.json + golden_logits.bin (the format of mamba2-eval --golden).
"$python" - "$data" "$work/golden" <<'PY'
import json, sys
import numpy as np
data, out = sys.argv[1], sys.argv[2]
prompts, logits, offset = [], [], 0
for case in ("b1_len64", "b2_len96"):
    ids = np.load(f"{data}/{case}.input_ids.npy")
    lg = np.load(f"{data}/{case}.logits.npy").astype("<f4")
    assert ids.ndim == 2 and lg.shape[:2] == ids.shape, (case, ids.shape, lg.shape)
    for b in range(ids.shape[0]):
        prompts.append({"text": f"{case}[{b}]", "ids": [int(i) for i in ids[b]],
                        "logits_offset": offset})
        logits.append(lg[b].ravel())
        offset += lg[b].size
np.concatenate(logits).tofile(f"{out}/golden_logits.bin")
json.dump({"logits_file": "golden_logits.bin", "prompts": prompts}, open(f"{out}/golden.json", "w"))
PY
for opset in 18 20; do
  model="$data/hf-mamba2-tiny.opset$opset.onnx"
  echo "== opset $opset"
  "$bin/mamba2c" "$model" --emit=m2 --strict > "$work/opset$opset.mlir"
  ssd=$(grep -c 'm2.ssd .*dt_max = 0x7F800000 : f32, dt_min = 0.000000e+00' "$work/opset$opset.mlir")
  head=$(grep -c 'm2.lm_head' "$work/opset$opset.mlir")
  echo "raised: $ssd m2.ssd with the time_step_limit clamp, $head m2.lm_head"
  [ "$ssd" -eq 3 ] && [ "$head" -eq 1 ]
  "$bin/mamba2-eval" "$model" --golden "$work/golden" --rtol 1e-4 --decode 8 --check-threads --threads 2
done
