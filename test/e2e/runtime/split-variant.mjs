// Writes a variant of a byte-level BPE tokenizer.json whose pre-tokenizer is a Sequence of a
// Split on Llama 3's pattern (case-insensitive contractions, digits in groups of up to three,
// line breaks kept with the punctuation before them) and a ByteLevel step without its own split:
// the same vocabulary and merges, another pre-tokenizer, to check the runtime's regex path.
//   node split-variant.mjs IN.json OUT.json
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node split-variant.mjs IN.json OUT.json');
  process.exit(2);
}
const j = JSON.parse(readFileSync(input, 'utf8'));
const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
j.pre_tokenizer = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: llama3 }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};
writeFileSync(output, JSON.stringify(j));
