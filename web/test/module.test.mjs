// node --test web/test/module.test.mjs: the JavaScript module on generated
// fixtures, in a worker thread and on the calling thread. Needs the built
// package (BITNET_WASM_DIR, default build/wasm/web) and the native bitnet
// (BITNET_BIN) to make the fixtures and the expected output; CTest sets both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(new URL('../..', import.meta.url).pathname);
const pkg = process.env.BITNET_WASM_DIR ?? join(root, 'build/wasm/web');
const bin = process.env.BITNET_BIN ?? join(root, 'build/bin/bitnet');
const tmp = process.env.BITNET_TEST_TMP ?? join(root, 'build/tests/wasm-module');
mkdirSync(tmp, { recursive: true });
const { loadModel } = await import(pathToFileURL(join(pkg, 'bitnet.mjs')).href);

const fixture = (name, ...args) => {
  const path = join(tmp, name);
  execFileSync(bin, ['fixture', ...args, '-o', path], { stdio: 'ignore' });
  return path;
};
const peaked = fixture('peaked.gguf', '--arch', 'bitnet-b1.58', '--preset', 'small', '--kind', 'peaked', '--seed', '2');
const prompt = 'The capital of France is';
// what the native scalar reference prints for the same greedy run
const expected = execFileSync(bin, ['run', '-m', peaked, '-p', prompt, '-n', '24', '--temp', '0', '--ignore-eos'],
                              { env: { ...process.env, BITNET_ISA: 'ref' }, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
const nativeTokens = execFileSync(bin, ['tokenize', '-m', peaked, '-p', prompt], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();

async function collect(iter) {
  let text = '';
  for await (const piece of iter) text += piece;
  return text;
}

for (const worker of [true, false]) {
  test(`greedy generation equals bitnet run (${worker ? 'worker thread' : 'same thread'})`, async () => {
    const progress = [];
    const model = await loadModel(readFileSync(peaked).buffer, { worker, name: 'peaked.gguf', onProgress: (p) => progress.push(p) });
    try {
      assert.equal(model.info.isa, 'wasm');
      assert.equal(model.info.arch, 'bitnet-b1.58');
      assert.ok(progress.some((p) => p.phase === 'copy' && p.loaded === p.total), 'copy progress reaches the total');
      const ids = await model.tokenize(prompt);
      assert.deepEqual(Array.from(ids), JSON.parse(nativeTokens.match(/\[[^\]]*\]/)[0]));
      const text = await collect(model.generate(prompt, { nPredict: 24, temperature: 0, ignoreEos: true }));
      assert.equal(text, expected.replace(/\n$/, ''));
      assert.equal(model.lastStats.nGenerated, 24);
      assert.equal(model.lastStats.stop, 'n_predict');
    } finally {
      await model.free();
    }
  });
}

test('generation stops on AbortSignal between tokens', async () => {
  const model = await loadModel(readFileSync(peaked), { name: 'peaked.gguf' });
  try {
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(async () => {
      for await (const piece of model.generate(prompt, { nPredict: 200, temperature: 0, ignoreEos: true, signal: ac.signal })) {
        assert.equal(typeof piece, 'string');
        if (++n === 3) ac.abort();
      }
    }, { name: 'AbortError' });
    assert.ok(n >= 3 && n < 200, `stopped after ${n} pieces`);
    // the model stays usable
    const again = await collect(model.generate(prompt, { nPredict: 4, temperature: 0, ignoreEos: true }));
    assert.ok(again.length > 0);
  } finally {
    await model.free();
  }
});

test('chat uses the model template', async () => {
  const model = await loadModel(readFileSync(peaked), { worker: false });
  try {
    const msgs = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }];
    const rendered = await model.applyChatTemplate(msgs);
    assert.ok(rendered.includes('Be brief.') && rendered.includes('Hello'), rendered);
    assert.notEqual(rendered, 'Be brief.Hello');
    const reply = await collect(model.chat(msgs, { nPredict: 8, temperature: 0, ignoreEos: true }));
    assert.equal(reply, await collect(model.generate(rendered, { nPredict: 8, temperature: 0, ignoreEos: true })));
  } finally {
    await model.free();
  }
});

test('bad input and memory limits give clear errors', async () => {
  const junk = new TextEncoder().encode('not a gguf file, only text');
  await assert.rejects(loadModel(junk, { name: 'junk.gguf' }), /junk\.gguf: bad magic/);
  await assert.rejects(loadModel(junk, { name: 'junk.gguf', worker: false }), /junk\.gguf: bad magic/);
  const bytes = readFileSync(peaked);
  await assert.rejects(loadModel(bytes, { name: 'peaked.gguf', maxMemoryMB: 2 }),
                       /peaked\.gguf: .* MiB does not fit in the memory limit of 2 MiB/);
  // the image fits, the heap with a 32k context does not
  await assert.rejects(loadModel(bytes, { name: 'peaked.gguf', maxMemoryMB: 80, nCtx: 32768, worker: false }),
                       /peaked\.gguf: the model and its context need a \d+ MiB heap, over the memory limit of 80 MiB/);
  const truncated = bytes.subarray(0, bytes.length - 1000);
  await assert.rejects(loadModel(truncated, { name: 'cut.gguf', worker: false }), /cut\.gguf/);
  await assert.rejects(loadModel(42), /ArrayBuffer, a typed array or a Blob/);
});

test('a Blob streams into the heap', async () => {
  const model = await loadModel(new Blob([readFileSync(peaked)]), { worker: false, name: 'blob.gguf' });
  try {
    assert.equal(model.info.name, 'blob.gguf');
    const text = await collect(model.generate(prompt, { nPredict: 24, temperature: 0, ignoreEos: true }));
    assert.equal(text, expected.replace(/\n$/, ''));
  } finally {
    await model.free();
  }
});
