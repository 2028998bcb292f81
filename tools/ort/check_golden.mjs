// Runs an ONNX model with onnxruntime (CPU) on golden prompts and compares its logits with the
// PyTorch reference's golden logits.
//
//   node tools/ort/check_golden.mjs GOLDEN_DIR [--model FILE] [--rtol 1e-4] [--atol 1e-4]
//
// A whole-sequence model (input_ids (b, l) -> logits (b, l, vocab)) runs each prompt once. A
// step-form model (mamba2ref.export --form step: every input X other than input_ids is a state
// returned as X_out) runs each prompt one token at a time from zero states, feeding the
// returned states back; its (b, vocab) logits of all steps are compared.
//
// GOLDEN_DIR holds golden.json and its logits file (models/mamba2ref/golden.py writes them).
// A logit passes when |ort - golden| <= atol + rtol * max|golden of that prompt|.
// Exit status 0 when every prompt passes, 1 otherwise, 2 on bad input.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

function usage(msg) {
  if (msg) console.error(`check_golden: error: ${msg}`);
  console.error('usage: node check_golden.mjs GOLDEN_DIR [--model FILE] [--rtol R] [--atol A]');
  process.exit(2);
}

const args = process.argv.slice(2);
let dir = null;
let modelPath = null;
let rtol = 1e-4;
let atol = 1e-4;
for (let i = 0; i < args.length; ++i) {
  const a = args[i];
  const next = () => { if (i + 1 >= args.length) usage(`${a} needs a value`); return args[++i]; };
  if (a === '--model') modelPath = next();
  else if (a === '--rtol') rtol = Number(next());
  else if (a === '--atol') atol = Number(next());
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (dir === null) dir = a;
  else usage(`unexpected argument ${a}`);
}
if (dir === null) usage('GOLDEN_DIR is required');
if (!Number.isFinite(rtol) || !Number.isFinite(atol)) usage('tolerances must be numbers');

const goldenPath = path.join(dir, 'golden.json');
if (!fs.existsSync(goldenPath)) usage(`${goldenPath}: no such file`);
const golden = JSON.parse(fs.readFileSync(goldenPath, 'utf8'));
modelPath = modelPath ?? path.join(dir, golden.model);
const raw = fs.readFileSync(path.join(dir, golden.logits_file));
const flat = new Float32Array(new Uint8Array(raw).buffer); // copy: alignment

const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' });

// State inputs of a step-form model, with their shapes for batch 1.
const states = session.inputMetadata.filter((m) => m.name !== 'input_ids').map((m) => {
  if (!session.outputNames.includes(`${m.name}_out`)) usage(`${modelPath}: input ${m.name} has no output ${m.name}_out`);
  return { name: m.name, dims: m.shape.map((d) => (typeof d === 'number' ? d : 1)) };
});

/// Logits (len x vocab) of one prompt: one run, or one run per token for a step-form model.
async function logitsOf(ids) {
  if (states.length === 0) {
    const input = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const out = await session.run({ input_ids: input });
    return { dims: out.logits.dims, data: out.logits.data };
  }
  const feeds = {};
  for (const st of states)
    feeds[st.name] = new ort.Tensor('float32', new Float32Array(st.dims.reduce((a, b) => a * b, 1)), st.dims);
  const rows = [];
  for (const id of ids) {
    feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from([BigInt(id)]), [1, 1]);
    const out = await session.run(feeds);
    if (out.logits.dims.length !== 2) return { dims: out.logits.dims, data: out.logits.data };
    rows.push(out.logits.data);
    for (const st of states) feeds[st.name] = out[`${st.name}_out`];
  }
  const vocab = rows[0].length;
  const data = new Float32Array(rows.length * vocab);
  rows.forEach((r, i) => data.set(r, i * vocab));
  return { dims: [1, ids.length, vocab], data };
}

let failed = 0;
console.log('prompt                                    len   max|ort-ref|   max|ref|   verdict');
for (const p of golden.prompts) {
  const [len, vocab] = p.logits_shape;
  const got = await logitsOf(p.ids);
  if (got.dims.length !== 3 || got.dims[1] !== len || got.dims[2] !== vocab) {
    console.log(`${p.text.slice(0, 40).padEnd(40)} shape [${got.dims}] != [1,${len},${vocab}]  FAIL`);
    ++failed;
    continue;
  }
  const ref = flat.subarray(p.logits_offset, p.logits_offset + len * vocab);
  let maxRef = 0;
  for (const v of ref) maxRef = Math.max(maxRef, Math.abs(v));
  let maxDiff = 0;
  for (let i = 0; i < ref.length; ++i) maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - ref[i]));
  const ok = Number.isFinite(maxDiff) && maxDiff <= atol + rtol * maxRef;
  if (!ok) ++failed;
  const label = JSON.stringify(p.text).slice(0, 40).padEnd(40);
  console.log(`${label} ${String(len).padStart(5)}   ${maxDiff.toExponential(3).padStart(11)}` +
              `   ${maxRef.toFixed(3).padStart(8)}   ${ok ? 'ok' : 'FAIL'}`);
}
console.log(`${golden.prompts.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
