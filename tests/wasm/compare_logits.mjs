// node compare_logits.mjs REF.bin WASM.bin TOL [--peaked]
// Holds a logits_dump of the WebAssembly build against one of the native
// scalar reference (tests/wasm/logits_dump.c gives the format). Every row,
// prompt and greedy, must agree within TOL of that row's logit range (max -
// min of the reference row). --peaked: the greedy tokens must be identical;
// otherwise the rows are compared up to the first greedy pick that differs
// (after it the two builds decode different text), which is reported with
// the reference's margin between the two picks. Exit 0 pass, 1 fail.
import { readFileSync } from 'node:fs';

const [refPath, wasmPath, tolText, flag] = process.argv.slice(2);
if (!wasmPath || !tolText) {
  console.error('usage: node compare_logits.mjs REF.bin WASM.bin TOL [--peaked]');
  process.exit(2);
}
const tol = Number(tolText);
const peaked = flag === '--peaked';

function load(path) {
  const b = readFileSync(path);
  const head = new Int32Array(b.buffer, b.byteOffset, 3);
  const [nVocab, nPrompt, nGen] = head;
  const nRows = nPrompt + nGen;
  const logits = new Float32Array(b.buffer.slice(b.byteOffset + 12, b.byteOffset + 12 + 4 * nVocab * nRows));
  const tokOff = b.byteOffset + 12 + 4 * nVocab * nRows;
  const tokens = new Int32Array(b.buffer.slice(tokOff, tokOff + 4 * nRows));
  if (b.length !== 12 + 4 * nVocab * nRows + 4 * nRows) throw new Error(`${path}: size ${b.length} does not match its header`);
  return { nVocab, nPrompt, nGen, logits, tokens };
}

const ref = load(refPath), got = load(wasmPath);
let failed = false;
const fail = (msg) => { console.error('FAIL: ' + msg); failed = true; };
for (const k of ['nVocab', 'nPrompt', 'nGen'])
  if (ref[k] !== got[k]) { fail(`${k}: reference ${ref[k]}, wasm ${got[k]}`); process.exit(1); }
for (let i = 0; i < ref.nPrompt; i++)
  if (ref.tokens[i] !== got.tokens[i]) fail(`prompt token ${i}: ${ref.tokens[i]} vs ${got.tokens[i]}`);

const V = ref.nVocab;
let rows = ref.nPrompt + ref.nGen, worst = 0, worstRow = -1, identical = 0;
for (let g = 0; g < ref.nGen; g++) {
  const t = ref.nPrompt + g;
  if (ref.tokens[t] === got.tokens[t]) continue;
  const row = ref.logits.subarray(t * V, (t + 1) * V);
  const margin = row[ref.tokens[t]] - row[got.tokens[t]];
  const msg = `greedy token ${g}: reference ${ref.tokens[t]}, wasm ${got.tokens[t]} (reference margin ${margin.toExponential(3)})`;
  if (peaked) fail(msg); else console.log('diverged at ' + msg + '; rows compared up to there');
  rows = t + 1;
  break;
}
for (let r = 0; r < rows; r++) {
  let lo = Infinity, hi = -Infinity, maxAbs = 0, same = true;
  for (let v = 0; v < V; v++) {
    const a = ref.logits[r * V + v], b = got.logits[r * V + v];
    if (!Number.isFinite(b)) { fail(`row ${r} token ${v}: wasm logit ${b}`); break; }
    lo = Math.min(lo, a); hi = Math.max(hi, a);
    maxAbs = Math.max(maxAbs, Math.abs(a - b));
    if (a !== b) same = false;
  }
  if (same) identical++;
  const rel = maxAbs / Math.max(hi - lo, 1e-30);
  if (rel > worst) { worst = rel; worstRow = r; }
}
console.log(`${rows} rows of ${V} logits: max |wasm - ref| = ${worst.toExponential(3)} of the row's range` +
            ` (row ${worstRow}); ${identical} rows bit-identical; tolerance ${tol}`);
if (worst > tol) fail(`max error ${worst.toExponential(3)} of the range exceeds ${tol}`);
process.exit(failed ? 1 : 0);
