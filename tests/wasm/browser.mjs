// node tests/wasm/browser.mjs PKG_DIR BITNET WORK_DIR: the demo page in a real
// headless Chromium. Serves PKG_DIR (the built web/ package) and a peaked
// fixture on 127.0.0.1, opens index.html?model=..., drives the page over the
// DevTools protocol (--remote-debugging-pipe: no extra dependency) to stream
// a greedy completion, holds it against `bitnet run --temp 0` of the native
// build (BITNET_ISA=ref), and saves a screenshot as WORK_DIR/demo.png.
// Exit 0 pass, 1 fail, 77 skipped (no chromium).
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

const [pkg, bitnet, work] = process.argv.slice(2);
if (!work) { console.error('usage: browser.mjs PKG_DIR BITNET WORK_DIR'); process.exit(2); }
const chromium = ['chromium', 'chromium-browser', 'google-chrome'].map((c) => {
  try { return execFileSync('sh', ['-c', `command -v ${c}`]).toString().trim(); } catch { return ''; }
}).find(Boolean);
if (!chromium) { console.log('SKIPPED: chromium not found (ci/install-deps.sh installs it)'); process.exit(77); }

mkdirSync(work, { recursive: true });
const fixture = join(work, 'peaked.gguf');
execFileSync(bitnet, ['fixture', '--arch', 'bitnet-b1.58', '--preset', 'small', '--kind', 'peaked', '--seed', '2', '-o', fixture], { stdio: 'ignore' });
const prompt = 'The capital of France is', nPredict = 24;
const expected = execFileSync(bitnet, ['run', '-m', fixture, '-p', prompt, '-n', String(nPredict), '--temp', '0', '--ignore-eos'],
                              { env: { ...process.env, BITNET_ISA: 'ref' }, stdio: ['ignore', 'pipe', 'ignore'] }).toString().replace(/\n$/, '');

const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.gguf': 'application/octet-stream' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = path === '/peaked.gguf' ? fixture : join(pkg, normalize(path).replace(/^(\.\.[/\\])+/, ''));
  if (!existsSync(file)) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/index.html?model=/peaked.gguf`;

const profile = join(work, 'profile');
rmSync(profile, { recursive: true, force: true });
const browser = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--no-first-run', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--window-size=900,760', 'about:blank'],
{ stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
browser.stderr.on('data', (d) => { stderr += d; });

// DevTools protocol over fds 3 (to the browser) and 4 (from it), NUL-framed JSON
let nextId = 1, buffered = '';
const waiting = new Map();
browser.stdio[4].on('data', (d) => {
  buffered += d;
  let i;
  while ((i = buffered.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buffered.slice(0, i));
    buffered = buffered.slice(i + 1);
    const w = waiting.get(msg.id);
    if (!w) continue;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(`${w.method}: ${msg.error.message}`)); else w.resolve(msg.result);
  }
});
const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
  const id = nextId++;
  waiting.set(id, { resolve, reject, method });
  browser.stdio[3].write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
});

let status = 1;
const deadline = setTimeout(() => { console.error('FAIL: timed out\n' + stderr.slice(-2000)); finish(1); }, 120000);
function finish(code) {
  clearTimeout(deadline);
  browser.kill();
  server.close();
  process.exit(code);
}

try {
  const { targetId } = await send('Target.createTarget', { url });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  };
  const waitFor = async (state) => {
    for (;;) {
      const s = await evaluate('document.body ? document.body.dataset.state || "" : ""');
      if (s === state) return;
      const st = await evaluate('document.getElementById("status") ? document.getElementById("status").textContent : ""');
      if (/^error/.test(st)) throw new Error(`page: ${st}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitFor('loaded');
  console.log('page: ' + await evaluate('document.getElementById("status").textContent'));
  await evaluate(`(() => {
    document.getElementById('prompt').value = ${JSON.stringify(prompt)};
    document.getElementById('npredict').value = '${nPredict}';
    document.getElementById('temp').value = '0';
    document.getElementById('ignoreeos').checked = true;
    document.getElementById('run').click();
  })()`);
  await waitFor('done');
  const text = await evaluate('document.getElementById("out").textContent');
  const stats = await evaluate('document.getElementById("stats").textContent');
  console.log('page: ' + stats);
  const shot = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
  writeFileSync(join(work, 'demo.png'), Buffer.from(shot.data, 'base64'));
  console.log(`screenshot: ${join(work, 'demo.png')}`);
  if (text === expected) {
    console.log(`streamed text equals bitnet run --temp 0 (${nPredict} tokens): ${JSON.stringify(text)}`);
    status = 0;
  } else {
    console.error(`FAIL: page text ${JSON.stringify(text)}\n      bitnet run ${JSON.stringify(expected)}`);
  }
  await send('Browser.close').catch(() => {});
} catch (e) {
  console.error('FAIL: ' + e.message + '\n' + stderr.slice(-2000));
}
finish(status);
