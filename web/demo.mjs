// The demo page (index.html): load a GGUF file chosen by the user, stream a
// completion, show tokens/s. Inference runs in a Web Worker (bitnet.mjs).
// ?model=URL loads a file from the page's origin instead (the headless test).
import { loadModel } from './bitnet.mjs';

const $ = (id) => document.getElementById(id);
let model = null, running = null;

async function load(source, name) {
  $('run').disabled = true;
  if (model) { await model.free(); model = null; }
  $('status').textContent = `loading ${name} ...`;
  const t0 = performance.now();
  try {
    model = await loadModel(source, {
      name, nCtx: Number($('nctx').value),
      onProgress: (p) => {
        $('progress').value = p.total ? p.loaded / p.total : 0;
        if (p.phase === 'parse') $('status').textContent = `${name}: checking and preparing the weights ...`;
      },
    });
  } catch (e) {
    $('status').textContent = `error: ${e.message}`;
    return;
  }
  const i = model.info;
  $('status').textContent = `${name}: ${i.arch}, ${i.nLayer} layers, ${i.nEmbd} embd, vocab ${i.nVocab}, ` +
    `context ${i.nCtx}, kernels ${i.isa}, heap ${(i.heapBytes / 1048576).toFixed(0)} MiB, ` +
    `loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  $('run').disabled = false;
  document.body.dataset.state = 'loaded';
}

$('file').addEventListener('change', () => {
  const f = $('file').files[0];
  if (f) load(f, f.name); // the File is read in the worker, straight into the heap
});

$('run').addEventListener('click', async () => {
  if (!model) return;
  running = new AbortController();
  $('run').disabled = true;
  $('stop').disabled = false;
  $('out').textContent = '';
  $('stats').textContent = '';
  document.body.dataset.state = 'generating';
  const params = {
    nPredict: Number($('npredict').value), temperature: Number($('temp').value),
    ignoreEos: $('ignoreeos').checked, signal: running.signal,
  };
  const prompt = $('prompt').value;
  try {
    const pieces = $('chat').checked ? model.chat([{ role: 'user', content: prompt }], params)
                                     : model.generate(prompt, params);
    for await (const piece of pieces) $('out').textContent += piece;
  } catch (e) {
    if (e.name !== 'AbortError') $('stats').textContent = `error: ${e.message}`;
  }
  const s = model.lastStats;
  if (s) $('stats').textContent = `prompt ${s.nPrompt} tokens, ${s.promptTokensPerSecond.toFixed(1)} t/s · ` +
    `generated ${s.nGenerated} tokens, ${s.tokensPerSecond.toFixed(2)} t/s · stop: ${s.stop}`;
  $('run').disabled = false;
  $('stop').disabled = true;
  document.body.dataset.state = 'done';
});

$('stop').addEventListener('click', () => running?.abort());

const url = new URLSearchParams(location.search).get('model');
if (url) {
  const r = await fetch(url);
  if (r.ok) await load(await r.arrayBuffer(), url.split('/').pop());
  else $('status').textContent = `error: ${url}: HTTP ${r.status}`;
}
