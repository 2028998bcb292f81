// Times onnxruntime (CPU) on a Mamba2 model for mamba2-eval-bench: a prefill of --prefill
// tokens through the whole-sequence graph, and --decode steps through the step-form graph
// (mamba2ref.export --form step: every input X other than input_ids is a state returned as
// X_out). One untimed warm-up run of each first; then --repeat timed runs. Prints one JSON
// line: {"prefill_s": [...], "decode_s_per_token": [...]}.
// With --serve 1: after the warm-up, prints "ready" and then answers each line of stdin:
// "prefill" with {"prefill_s": t}, "decode" with {"decode_s_per_token": t}, "quit" ends;
// mamba2-eval-bench interleaves these with its own runs.
//
//   node bench/compiler/ort_time.mjs CHUNKED.onnx STEP.onnx [--prefill 256] [--decode 32]
//        [--threads 1] [--repeat 3] [--serve 1]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'tools', 'ort', 'package.json'));
const ort = require('onnxruntime-node');

function usage(msg) {
  console.error(`ort_time: error: ${msg}`);
  console.error('usage: node ort_time.mjs CHUNKED.onnx STEP.onnx [--prefill N] [--decode N] ' +
                '[--threads T] [--repeat R]');
  process.exit(2);
}
const args = process.argv.slice(2);
const files = [];
const opt = { prefill: 256, decode: 32, threads: 1, repeat: 3, serve: 0 };
for (let i = 0; i < args.length; ++i) {
  const a = args[i];
  if (a.startsWith('--')) {
    const key = a.slice(2);
    if (!(key in opt)) usage(`unknown option ${a}`);
    if (i + 1 >= args.length) usage(`${a} needs a value`);
    opt[key] = Number(args[++i]);
    if (!Number.isInteger(opt[key]) || opt[key] < (key === 'serve' ? 0 : 1))
      usage(`${a} must be a positive integer`);
  } else {
    files.push(a);
  }
}
if (files.length !== 2) usage('CHUNKED.onnx and STEP.onnx are required');

const options = { executionProviders: ['cpu'], intraOpNumThreads: opt.threads,
                  interOpNumThreads: 1, executionMode: 'sequential' };
let chunked, step;
try {
  chunked = await ort.InferenceSession.create(files[0], options);
  step = await ort.InferenceSession.create(files[1], options);
} catch (e) {
  usage(e.message);
}
const now = () => Number(process.hrtime.bigint()) / 1e9;
// The same ids as mamba2-eval-bench: (i * 37 + 11) mod vocab, then (d * 13 + 5) mod vocab.
const vocab = 50280;
const ids = BigInt64Array.from({ length: opt.prefill }, (_, i) => BigInt((i * 37 + 11) % vocab));

async function prefill() {
  const t0 = now();
  await chunked.run({ input_ids: new ort.Tensor('int64', ids, [1, opt.prefill]) });
  return now() - t0;
}
const stateNames = step.inputNames.filter((n) => n !== 'input_ids');
async function decode(steps) {
  const feeds = {};
  for (const m of step.inputMetadata.filter((x) => x.name !== 'input_ids')) {
    const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1));
    feeds[m.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)),
                                   dims);
  }
  const t0 = now();
  for (let d = 0; d < steps; ++d) {
    feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from([BigInt((d * 13 + 5) % vocab)]),
                                     [1, 1]);
    const out = await step.run(feeds);
    for (const n of stateNames) feeds[n] = out[`${n}_out`];
  }
  return (now() - t0) / steps;
}
await prefill();
await decode(2);
if (opt.serve) {
  const readline = await import('node:readline');
  console.log('ready');
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const cmd = line.trim();
    if (cmd === 'prefill') console.log(JSON.stringify({ prefill_s: await prefill() }));
    else if (cmd === 'decode') console.log(JSON.stringify({ decode_s_per_token: await decode(opt.decode) }));
    else if (cmd === 'quit') break;
    else console.log(JSON.stringify({ error: `unknown command '${cmd}'` }));
  }
  process.exit(0);
}
const result = { prefill_s: [], decode_s_per_token: [] };
for (let r = 0; r < opt.repeat; ++r) {
  result.prefill_s.push(await prefill());
  result.decode_s_per_token.push(await decode(opt.decode));
}
console.log(JSON.stringify(result));
