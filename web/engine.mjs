// The in-thread engine: one WebAssembly instance holding one model and its
// context (web/src/bitnet_web.c). web/worker.mjs runs it inside a Web Worker
// (or a Node worker thread); bitnet.mjs is the public API over either.
import createBitnetWasm from './bitnet-wasm.mjs';

const MiB = 1024 * 1024;
// wasm32 with -sMAXIMUM_MEMORY=4GB (cmake/wasm.cmake): the heap's ceiling
export const HEAP_CEILING = 4096 * MiB - 64 * 1024;

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

async function wasmBinary() {
  const url = new URL('./bitnet-wasm.wasm', import.meta.url);
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

// The bytes of an ArrayBuffer, a typed array or a Blob/File, as chunks, so
// that a File goes from disk into the WebAssembly heap without a second copy
// of the whole model in JavaScript memory.
// An ArrayBuffer goes in 16 MiB slices, only so that progress moves.
async function* chunksOf(source) {
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source)
    : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : null;
  if (bytes) {
    for (let i = 0; i < bytes.length; i += 16 * MiB) yield bytes.subarray(i, Math.min(bytes.length, i + 16 * MiB));
    return;
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const reader = source.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  throw new TypeError('loadModel: the model must be an ArrayBuffer, a typed array or a Blob/File');
}

function sizeOf(source) {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source.byteLength;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return source.size;
  throw new TypeError('loadModel: the model must be an ArrayBuffer, a typed array or a Blob/File');
}

const yieldToEvents = () => new Promise((resolve) => setTimeout(resolve, 0));

function abortError(signal) {
  if (signal.reason instanceof Error) return signal.reason;
  const e = new Error('generation aborted');
  e.name = 'AbortError';
  return e;
}

export class Engine {
  // options: name (for messages), nCtx (default 2048; 0: the model's
  // training context), nBatch, maxMemoryMB (default: the 4 GiB ceiling),
  // onProgress({phase: 'copy' | 'parse', loaded, total}).
  static async create(source, options = {}) {
    const name = options.name ?? (source?.name || 'model.gguf');
    const total = sizeOf(source);
    const limit = Math.min(options.maxMemoryMB ? options.maxMemoryMB * MiB : HEAP_CEILING, HEAP_CEILING);
    const limitText = `${(limit / MiB).toFixed(0)} MiB`;
    // the image stays in the heap (the weights point into it), so it alone
    // must fit, with room for the context; checked before anything is copied
    if (total + 16 * MiB > limit)
      throw new Error(`${name}: ${(total / MiB).toFixed(1)} MiB does not fit in the memory limit of ` +
                      `${limitText} (options.maxMemoryMB; WebAssembly's ceiling is 4096 MiB)`);
    const M = await createBitnetWasm({ wasmBinary: await wasmBinary(), print: () => {}, printErr: () => {} });
    const ptr = M._malloc(total) >>> 0;
    if (!ptr)
      throw new Error(`${name}: cannot allocate ${(total / MiB).toFixed(1)} MiB in the WebAssembly heap ` +
                      `(heap now ${(M.HEAPU8.length / MiB).toFixed(0)} MiB, ceiling 4096 MiB)`);
    let loaded = 0;
    const progress = options.onProgress ?? (() => {});
    try {
      for await (const chunk of chunksOf(source)) {
        if (loaded + chunk.byteLength > total) throw new Error(`${name}: grew while being read`);
        M.HEAPU8.set(chunk, ptr + loaded); // HEAPU8 is re-read: the heap may have grown
        loaded += chunk.byteLength;
        progress({ phase: 'copy', loaded, total });
      }
      if (loaded !== total) throw new Error(`${name}: read ${loaded} of ${total} bytes`);
    } catch (e) {
      M._free(ptr);
      throw e;
    }
    progress({ phase: 'parse', loaded, total });
    const namePtr = Engine.#string(M, name);
    // bw_load owns the image from here on, also when it fails
    const s = M._bw_load(ptr, total, namePtr, options.nCtx ?? 2048, options.nBatch ?? 0) >>> 0;
    M._free(namePtr);
    if (!s) throw new Error(M.UTF8ToString(M._bw_error()));
    const engine = new Engine(M, s, name);
    if (M.HEAPU8.length > limit) {
      const used = M.HEAPU8.length;
      engine.free();
      throw new Error(`${name}: the model and its context need a ${(used / MiB).toFixed(0)} MiB heap, ` +
                      `over the memory limit of ${limitText} (options.maxMemoryMB, options.nCtx)`);
    }
    return engine;
  }

  static #string(M, text) {
    const n = M.lengthBytesUTF8(text) + 1;
    const p = M._malloc(n) >>> 0;
    if (!p) throw new Error('out of memory for a string in the WebAssembly heap');
    M.stringToUTF8(text, p, n);
    return p;
  }

  constructor(M, session, name) {
    this.M = M;
    this.s = session;
    this.name = name;
    this.lastStats = null;
    const info = (i) => M._bw_info(session, i);
    this.info = {
      name, arch: M.UTF8ToString(M._bw_arch(session)), isa: M.UTF8ToString(M._bw_isa(session)),
      nVocab: info(0), nCtx: info(1), nLayer: info(2), nEmbd: info(3), nHead: info(4),
      nHeadKv: info(5), bos: info(6), eos: info(7), contextBytes: M._bw_memory(session),
      heapBytes: M.HEAPU8.length,
    };
  }

  #live() {
    if (!this.s) throw new Error(`${this.name}: the model was freed`);
  }

  tokenize(text, { addSpecial = true } = {}) {
    this.#live();
    const M = this.M;
    const t = Engine.#string(M, text);
    try {
      let max = M.lengthBytesUTF8(text) + 8;
      for (;;) {
        const out = M._malloc(4 * max) >>> 0;
        const n = M._bw_tokenize(this.s, t, out, max, addSpecial ? 1 : 0);
        const ids = n >= 0 ? new Int32Array(M.HEAPU8.buffer, out, n).slice() : null;
        M._free(out);
        if (ids) return ids;
        if (n === -2147483648) throw new Error(M.UTF8ToString(M._bw_error()));
        max = -n;
      }
    } finally {
      M._free(t);
    }
  }

  applyChatTemplate(messages) {
    this.#live();
    const M = this.M;
    const ptrs = [];
    const str = (x) => { const p = Engine.#string(M, String(x)); ptrs.push(p); return p; };
    try {
      const roles = M._malloc(4 * messages.length + 4) >>> 0, contents = M._malloc(4 * messages.length + 4) >>> 0;
      ptrs.push(roles, contents);
      messages.forEach((m, i) => {
        M.HEAPU32[(roles >>> 2) + i] = str(m.role);
        M.HEAPU32[(contents >>> 2) + i] = str(m.content);
      });
      const n = M._bw_chat(this.s, roles, contents, messages.length, 0, 0);
      if (n < 0) throw new Error(M.UTF8ToString(M._bw_error()));
      const buf = M._malloc(n + 1) >>> 0;
      ptrs.push(buf);
      M._bw_chat(this.s, roles, contents, messages.length, buf, n + 1);
      return M.UTF8ToString(buf, n);
    } finally {
      for (const p of ptrs) M._free(p);
    }
  }

  // Text pieces as they are generated (complete UTF-8: a character split
  // over tokens comes out whole). params: nPredict (128), temperature (0.8;
  // <= 0 greedy), topK (40), topP (0.95), minP (0.05), repeatPenalty (1),
  // seed (0), ignoreEos (false), signal (AbortSignal: stops between tokens
  // and throws an AbortError). After it ends, lastStats holds the timings.
  async *generate(prompt, params = {}) {
    this.#live();
    const M = this.M, s = this.s;
    const p = {
      nPredict: 128, temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1,
      seed: 0, ignoreEos: false, ...params,
    };
    const { signal } = p;
    if (signal?.aborted) throw abortError(signal);
    const t0 = performance.now();
    const promptPtr = Engine.#string(M, prompt);
    const nPrompt = M._bw_begin(s, promptPtr, p.temperature, p.topK, p.topP, p.minP,
                                p.repeatPenalty, p.seed);
    M._free(promptPtr);
    if (nPrompt < 0) throw new Error(M.UTF8ToString(M._bw_error()));
    const t1 = performance.now();
    const decoder = new TextDecoder('utf-8');
    let n = 0, stop = 'n_predict';
    this.lastStats = null;
    try {
      while (n < p.nPredict) {
        await yieldToEvents(); // lets an abort message or the page's events in
        if (signal?.aborted) { stop = 'aborted'; throw abortError(signal); }
        const t = M._bw_step(s, p.ignoreEos ? 1 : 0);
        if (t === -1) { stop = 'eog'; break; }
        if (t === -2) { stop = 'context_full'; break; }
        if (t < 0) throw new Error(M.UTF8ToString(M._bw_error()));
        n++;
        const ptr = M._bw_piece(s) >>> 0, len = M._bw_piece_len(s);
        const text = decoder.decode(M.HEAPU8.subarray(ptr, ptr + len), { stream: true });
        if (text) yield text;
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } finally {
      const t2 = performance.now();
      this.lastStats = {
        nPrompt, nGenerated: n, promptMs: t1 - t0, generateMs: t2 - t1, stop,
        promptTokensPerSecond: nPrompt / ((t1 - t0) / 1000),
        tokensPerSecond: n / ((t2 - t1) / 1000),
      };
    }
  }

  free() {
    if (this.s) this.M._bw_free(this.s);
    this.s = 0;
  }
}
