// Greedy byte-level generation with a Mamba2 ONNX model on onnxruntime (CPU). With the
// whole-sequence (chunked) form each step re-runs the whole sequence: that graph has no state
// inputs. With the step form (mamba2ref.export --form step: every input X other than input_ids
// is a state returned as X_out) the prompt and then each new byte run one token at a time, the
// states fed back. It is the independent executor's view of the model, for comparison with the
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
// State inputs of a step-form model (batch 1), zeros at first.
const feeds = {};
const states = session.inputMetadata.filter((m) => m.name !== 'input_ids').map((m) => {
  if (!session.outputNames.includes(`${m.name}_out`)) {
    console.error(`generate: error: ${model}: input ${m.name} has no output ${m.name}_out`);
    process.exit(1);
  }
  const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1));
  feeds[m.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  return m.name;
});
const argmax = (row) => {
  let best = 0;
  for (let v = 1; v < row.length; ++v) if (row[v] > row[best]) best = v;
  return best;
};
/// Logits of the next byte after feeding `fresh` (all ids so far for the chunked form).
async function next(fresh) {
  if (states.length === 0) {
    const input = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const { logits } = await session.run({ input_ids: input });
    const vocab = logits.dims[2];
    return logits.data.subarray((ids.length - 1) * vocab, ids.length * vocab);
  }
  let last = null;
  for (const id of fresh) {
    feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from([BigInt(id)]), [1, 1]);
    const out = await session.run(feeds);
    for (const name of states) feeds[name] = out[`${name}_out`];
    last = out.logits.data;
  }
  return last;
}
const out = [];
const t0 = process.hrtime.bigint();
let fresh = ids.slice();
for (let step = 0; step < tokens; ++step) {
  const best = argmax(await next(fresh));
  ids.push(best);
  out.push(best);
  fresh = [best];
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const how = states.length ? 'step form, states fed back' : 'whole sequence per step';
console.log(`prompt:    ${JSON.stringify(prompt)}`);
console.log(`generated: ${JSON.stringify(Buffer.from(out).toString('utf8'))}`);
console.log(`onnxruntime (CPU, ${threads} threads, ${how}): ${tokens} bytes in ` +
            `${seconds.toFixed(2)} s, ${(tokens / seconds).toFixed(1)} bytes/s`);
