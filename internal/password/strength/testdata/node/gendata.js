// gendata.js regenerates ../../data/ from the npm package zxcvbn 4.4.2, so
// that the Go implementation ranks words exactly as the reference does.
//
//   cd internal/password/strength/testdata/node && npm ci && node gendata.js
//
// (or `go generate ./internal/password/strength/` after `npm ci`).
//
// Outputs:
//   data/frequency_lists.txt.gz  gzip of, per list in zxcvbn's order, a line
//                                with the list's name and a line with its
//                                words in rank order, comma-separated (the
//                                same encoding frequency_lists.coffee uses).
//   data/adjacency_graphs.json   the four keyboard graphs, as zxcvbn ships them.
//   data/pow_tables.json         Math.pow(b, n) for the bases zxcvbn raises
//                                to integer powers, n = 0..128: V8's pow
//                                (fdlibm's) and Go's math.Pow differ in the
//                                last bit for many of them, which is enough
//                                to change which match sequence wins.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const pkg = require('zxcvbn/package.json');
if (pkg.version !== '4.4.2') {
  throw new Error(`expected zxcvbn 4.4.2, found ${pkg.version}`);
}
const lists = require('zxcvbn/lib/frequency_lists');
const graphs = require('zxcvbn/lib/adjacency_graphs');
const scoring = require('zxcvbn/lib/scoring');

const out = path.join(__dirname, '..', '..', 'data');
fs.mkdirSync(out, { recursive: true });

const lines = [];
for (const [name, words] of Object.entries(lists)) {
  for (const w of words) {
    if (w === '' || /[,\n]/.test(w)) throw new Error(`unencodable word ${JSON.stringify(w)} in ${name}`);
  }
  lines.push(name, words.join(','));
}
// mtime is 0 in Node's gzip header, so the output is reproducible.
const gz = zlib.gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'), { level: 9 });
fs.writeFileSync(path.join(out, 'frequency_lists.txt.gz'), gz);

// One graph per line keeps diffs readable.
const graphLines = Object.entries(graphs).map(
  ([name, g]) => `  ${JSON.stringify(name)}: ${JSON.stringify(g)}`);
fs.writeFileSync(path.join(out, 'adjacency_graphs.json'), '{\n' + graphLines.join(',\n') + '\n}\n');

const POW_TABLE_SIZE = 129;
const powers = (base) => Array.from({ length: POW_TABLE_SIZE }, (_, n) => Math.pow(base, n));
const pow = {
  // The bases, for the Go side to check against its own derivation.
  keyboard_average_degree: scoring.KEYBOARD_AVERAGE_DEGREE,
  keypad_average_degree: scoring.KEYPAD_AVERAGE_DEGREE,
  // bruteforce_guesses: BRUTEFORCE_CARDINALITY ** length.
  pow10: powers(10),
  // most_guessable_match_sequence: MIN_GUESSES_BEFORE_GROWING_SEQUENCE ** (l - 1).
  pow10000: powers(10000),
  // spatial_guesses: average degree ** turns.
  keyboard_average_degree_pow: powers(scoring.KEYBOARD_AVERAGE_DEGREE),
  keypad_average_degree_pow: powers(scoring.KEYPAD_AVERAGE_DEGREE),
};
fs.writeFileSync(path.join(out, 'pow_tables.json'),
  '{\n' + Object.entries(pow).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n') + '\n}\n');

console.log(`wrote ${out}: ${Object.keys(lists).map((n) => `${n}=${lists[n].length}`).join(' ')}; graphs ${Object.keys(graphs).join(' ')}`);
