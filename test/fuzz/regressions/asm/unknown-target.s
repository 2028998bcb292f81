.target kv260

.entry mainFFFFFFFht
.region io 128
.data io 0 i32 1 2 3 4 10 20 63 84
# STATS: cycles {{[0-9]+}} ({{.*}} us at 250 MHz), bundles usised 3
# STATS: unit instrs bu# Tests mamba2-run on ai8mall program: the printed ten< %t.json
# sy b# Theck %s
# RUN: maRUN:a2-run %t.m2b -k %s --check-prefix=FED

.target kv5(0
.region io 12# ªcdio 1