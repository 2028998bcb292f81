// Token ids of a text file from a Hugging Face tokenizer.json, computed by
// @huggingface/tokenizers (tokenizers.js, pure JavaScript): the independent implementation the
// runtime's BPE tokenizer (runtime/lib/HfTokenizer.cpp) is compared with. The output has the
// format of mamba2-tokenize: ids separated by spaces, one output line per encoded text.
//
//   node tools/ort/tokenize.mjs TOKENIZER.json TEXTFILE [--lines K]
//     without --lines: the whole file as one text; with it: every K-th line (its line end
//     included), counting lines from 0
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

function usage(msg) {
  if (msg) console.error(`tokenize: error: ${msg}`);
  console.error('usage: node tokenize.mjs TOKENIZER.json TEXTFILE [--lines K]');
  process.exit(2);
}

const args = process.argv.slice(2);
const files = [];
let every = 0;
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--lines') {
    if (i + 1 >= args.length) usage('--lines needs a value');
    every = Number(args[++i]);
    if (!Number.isInteger(every) || every < 1) usage('--lines needs a positive integer');
  } else {
    files.push(args[i]);
  }
}
if (files.length !== 2) usage('needs TOKENIZER.json and TEXTFILE');

const tokenizer = new Tokenizer(JSON.parse(readFileSync(files[0], 'utf8')), {});
const text = readFileSync(files[1], 'utf8');
const ids = (t) => tokenizer.encode(t, { add_special_tokens: false }).ids.join(' ');
const out = [];
if (every === 0) {
  out.push(ids(text));
} else {
  let at = 0;
  for (let line = 0; at < text.length; ++line) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl + 1;
    if (line % every === 0) out.push(ids(text.slice(at, end)));
    at = end;
  }
}
process.stdout.write(out.join('\n') + '\n');
