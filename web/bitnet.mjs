// bitnet: BitNet b1.58 (ternary) models in the browser and in Node, on
// libbitnet built for WebAssembly with SIMD128 kernels (docs/wasm.md).
//
//   import { loadModel } from 'bitnet';
//   const model = await loadModel(file, { onProgress: (p) => ... });
//   for await (const piece of model.generate('The capital of France is', { temperature: 0 }))
//     out.textContent += piece;
//
// Inference runs in a Web Worker (a worker thread in Node) unless
// options.worker is false, so the page stays responsive.
import { Engine } from './engine.mjs';

async function spawn() {
  const url = new URL('./worker.mjs', import.meta.url);
  if (typeof Worker === 'function') {
    const w = new Worker(url, { type: 'module' });
    return {
      post: (m, t) => w.postMessage(m, t ?? []),
      listen: (f, onError) => { w.onmessage = (e) => f(e.data); w.onerror = (e) => onError(new Error(e.message || 'worker failed')); },
      terminate: () => w.terminate(),
    };
  }
  const { Worker: NodeWorker } = await import('node:worker_threads');
  const w = new NodeWorker(url);
  return {
    post: (m, t) => w.postMessage(m, t ?? []),
    listen: (f, onError) => { w.on('message', f); w.on('error', onError); },
    terminate: () => w.terminate(),
  };
}

const toError = (e) => Object.assign(new Error(e.message), { name: e.name });

// A model behind a worker: requests by id, generation as a queue of pieces.
class WorkerModel {
  #w; #next = 1; #pending = new Map();

  static async create(source, options) {
    const m = new WorkerModel();
    m.#w = await spawn();
    m.#w.listen((msg) => m.#receive(msg), (e) => { for (const p of m.#pending.values()) p.reject(e); m.#pending.clear(); });
    const { onProgress, ...rest } = options;
    // an ArrayBuffer is moved, not copied; a Blob/File is passed by reference
    const transfer = source instanceof ArrayBuffer && options.transfer !== false ? [source] : [];
    try {
      m.info = await m.#call({ op: 'load', source, options: rest }, transfer, { onProgress });
    } catch (e) {
      m.#w.terminate();
      throw e;
    }
    m.lastStats = null;
    return m;
  }

  #receive(msg) {
    const p = this.#pending.get(msg.id);
    if (!p) return;
    if ('progress' in msg) return p.onProgress?.(msg.progress);
    if ('piece' in msg) return p.onPiece?.(msg.piece);
    this.#pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result); else p.reject(toError(msg.error));
  }

  #call(msg, transfer = [], hooks = {}) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, ...hooks });
      this.#w.post({ id, ...msg }, transfer);
    });
  }

  tokenize(text, options = {}) { return this.#call({ op: 'tokenize', text, options }); }
  applyChatTemplate(messages) { return this.#call({ op: 'template', messages }); }

  async *generate(prompt, params = {}) {
    const { signal, ...rest } = params;
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : Object.assign(new Error('generation aborted'), { name: 'AbortError' });
    const id = this.#next++;
    const queue = [];
    let wake = null, done = false, failure = null;
    const kick = () => { if (wake) { wake(); wake = null; } };
    this.#pending.set(id, {
      onPiece: (piece) => { queue.push(piece); kick(); },
      resolve: (stats) => { this.lastStats = stats; done = true; kick(); },
      reject: (e) => { failure = e; done = true; kick(); },
    });
    const abort = () => this.#w.post({ op: 'abort', id });
    signal?.addEventListener('abort', abort, { once: true });
    this.#w.post({ id, op: 'generate', prompt, params: rest });
    let finished = false;
    try {
      for (;;) {
        while (queue.length) yield queue.shift();
        if (done) break;
        await new Promise((r) => { wake = r; });
      }
      finished = true;
      if (failure) throw failure;
    } finally {
      signal?.removeEventListener('abort', abort);
      if (!finished) abort(); // the caller stopped iterating: stop the worker too
    }
  }

  async *chat(messages, params = {}) { yield* this.generate(await this.applyChatTemplate(messages), params); }

  async free() {
    try { await this.#call({ op: 'free' }); } finally { this.#w.terminate(); }
  }
}

// The same interface on the calling thread (options.worker false).
class LocalModel {
  #e;
  static async create(source, options) {
    const m = new LocalModel();
    m.#e = await Engine.create(source, options);
    m.info = m.#e.info;
    return m;
  }
  get lastStats() { return this.#e.lastStats; }
  async tokenize(text, options) { return this.#e.tokenize(text, options); }
  async applyChatTemplate(messages) { return this.#e.applyChatTemplate(messages); }
  generate(prompt, params) { return this.#e.generate(prompt, params); }
  async *chat(messages, params = {}) { yield* this.#e.generate(this.#e.applyChatTemplate(messages), params); }
  async free() { this.#e.free(); }
}

// source: ArrayBuffer, typed array or Blob/File holding a GGUF file.
// options: worker (default true), name, nCtx (2048; 0: the model's
// training context), nBatch, maxMemoryMB, onProgress, transfer (default
// true: an ArrayBuffer is moved to the worker and unusable afterwards).
export async function loadModel(source, options = {}) {
  return options.worker === false ? LocalModel.create(source, options) : WorkerModel.create(source, options);
}
