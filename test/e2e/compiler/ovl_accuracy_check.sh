#!/bin/sh
# The default model lowered to ovl (m2-lower-to-ovl) evaluates in the ovl integer evaluator with
# pinned accuracy: for W8A8 and W4A4 with Hadamard (calibrated on TEXT itself), bits per byte on
# TEXT within a band around
# the measured value, the change against fp32 under the design's targets (+1 % W8A8, +6 % W4A4;
# with a margin on this short text), and the ovl logits close to the m2-level integer
# evaluator's: their largest difference (relative to the largest logit) at most twice the
# m2-level model's own difference from fp32. The lowering replaces what the m2-level evaluator
# keeps in fp32 (norms, SiLU of the gate, softplus / exp, D skip, residual stream, online
# Hadamard) by fixed point and tables whose error is of the order of the quantisation itself,
# so it may add to the quantisation error but not dwarf it.
#   ovl_accuracy_check.sh BIN_DIR MODEL.onnx TEXT
bin=$1
model=$2
text=$3
if [ ! -f "$model" ]; then
  echo "skipped: $model is absent"
  exit 77
fi
out=$("$bin/mamba2c" "$model" --quant w8a8 --quant w4a4 --hadamard on --calib "$text" \
  --eval-ovl "$text" --window 1024 2>/dev/null) || exit 1
echo "$out"
echo "$out" | awk '
  function pct(s) { gsub(/[%+]/, "", s); return s + 0 }
  $2 == "m2" { m2dz[$1] = $7 + 0 }
  $2 == "ovl" { bpb[$1] = $3 + 0; vs[$1] = pct($4); top1[$1] = pct($5); ovm2[$1] = $8 + 0 }
  END {
    ok = 1
    w8 = "w8a8+had+static+pot16+pwl32"; w4 = "w4a4+had+static+pot16+pwl32"
    if (!(w8 in bpb) || !(w4 in bpb)) { print "FAIL: missing rows"; exit 1 }
    if (bpb[w8] < 1.55 || bpb[w8] > 1.62) { print "FAIL: w8a8 ovl bits/byte " bpb[w8] " outside 1.55..1.62"; ok = 0 }
    if (bpb[w4] < 1.57 || bpb[w4] > 1.66) { print "FAIL: w4a4 ovl bits/byte " bpb[w4] " outside 1.57..1.66"; ok = 0 }
    if (vs[w8] > 1.5) { print "FAIL: w8a8 ovl " vs[w8] "% over fp32"; ok = 0 }
    if (vs[w4] > 6.0) { print "FAIL: w4a4 ovl " vs[w4] "% over fp32"; ok = 0 }
    if (top1[w8] < 95) { print "FAIL: w8a8 ovl top-1 agreement " top1[w8] "%"; ok = 0 }
    for (s in ovm2) if (ovm2[s] > 2 * m2dz[s]) {
      print "FAIL: " s " ovl vs m2 " ovm2[s] " > 2 x m2 vs fp32 " m2dz[s]; ok = 0
    }
    exit ok ? 0 : 1
  }'
