#!/usr/bin/env node
// A front for the npm `solc` package (solc-js) that answers like the
// native compiler, so py-solc-x can drive it:
//   solc_front.cjs --version            -> "Version: 0.8.x+commit..."
//   solc_front.cjs --standard-json      -> standard JSON in on stdin, JSON out on stdout
// solc-js's own CLI prints a ">>> Cannot retry compilation with SMT..." line before the
// JSON and rejects --allow-paths; this front prints only the JSON and ignores path flags,
// because ledger/compile.py inlines every source (no import callback is needed).
'use strict';
const path = require('path');

const modules = path.join(__dirname, '..', 'node_modules');
const solc = require(path.join(modules, 'solc'));

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc_front: only --version and --standard-json are supported\n');
  process.exit(2);
}
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(solc.compile(input));
});
