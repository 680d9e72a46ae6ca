// batch.js runs the reference zxcvbn 4.4.2 over many passwords in one
// process, for the Go agreement test. stdin: a JSON array of
// {"password": string, "user_inputs": [string]}; stdout: a JSON array, in
// the same order, of {score, guesses, warning, suggestions, sequence}, where
// sequence lists the chosen matches as "pattern:token" for diagnostics.
'use strict';

const zxcvbn = require('zxcvbn');
if (require('zxcvbn/package.json').version !== '4.4.2') {
  throw new Error('expected zxcvbn 4.4.2');
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(({ password, user_inputs }) => {
    const r = zxcvbn(password, user_inputs || []);
    return {
      score: r.score,
      guesses: r.guesses,
      warning: r.feedback.warning,
      suggestions: r.feedback.suggestions,
      sequence: r.sequence.map((m) => `${m.pattern}:${m.token}`),
    };
  });
  process.stdout.write(JSON.stringify(out));
});
