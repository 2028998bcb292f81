// Greedy byte-level generation with a whole-sequence (chunked-form) Mamba2 ONNX model on
// onnxruntime (CPU). Each step re-runs the whole sequence: the chunked graph has no state
// inputs. It is the independent executor's view of the model, for comparison with the
// compiler's own pipeline.
//
//   node tools/ort/generate.mjs MODEL.onnx [--prompt TEXT] [--tokens N] [--threads T]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

function usage(msg) {
  if (msg) console.error(`generate: error: ${msg}`);
  console.error('usage: node generate.mjs MODEL.onnx [--prompt TEXT] [--tokens N] [--threads T]');
  process.exit(2);
}

const args = process.argv.slice(2);
let model = null;
let prompt = 'It is a truth universally acknowledged';
let tokens = 120;
let threads = 2;
for (let i = 0; i < args.length; ++i) {
  const a = args[i];
  const next = () => { if (i + 1 >= args.length) usage(`${a} needs a value`); return args[++i]; };
  if (a === '--prompt') prompt = next();
  else if (a === '--tokens') tokens = Number(next());
  else if (a === '--threads') threads = Number(next());
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (model === null) model = a;
  else usage(`unexpected argument ${a}`);
}
if (model === null) usage('MODEL.onnx is required');
if (!Number.isInteger(tokens) || tokens < 1) usage('--tokens must be a positive integer');
if (!Number.isInteger(threads) || threads < 1) usage('--threads must be a positive integer');

let session;
try {
  session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads });
} catch (e) {
  console.error(`generate: error: ${model}: ${e.message}`);
  process.exit(1);
}
const ids = Array.from(Buffer.from(prompt, 'utf8'));
if (ids.length === 0) usage('--prompt must not be empty');
const out = [];
const t0 = process.hrtime.bigint();
for (let step = 0; step < tokens; ++step) {
  const input = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const { logits } = await session.run({ input_ids: input });
  const vocab = logits.dims[2];
  const last = logits.data.subarray((ids.length - 1) * vocab, ids.length * vocab);
  let best = 0;
  for (let v = 1; v < vocab; ++v) if (last[v] > last[best]) best = v;
  ids.push(best);
  out.push(best);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`prompt:    ${JSON.stringify(prompt)}`);
console.log(`generated: ${JSON.stringify(Buffer.from(out).toString('utf8'))}`);
console.log(`onnxruntime (CPU, ${threads} threads, whole sequence per step): ${tokens} bytes in ` +
            `${seconds.toFixed(2)} s, ${(tokens / seconds).toFixed(1)} bytes/s`);
