// The Web Worker (or Node worker thread) that runs the engine, so that the
// page stays responsive while a token is computed. Messages (bitnet.mjs):
//   in:  {id, op: 'load', source, options} | {id, op: 'tokenize', text, options}
//        | {id, op: 'template', messages} | {id, op: 'generate', prompt, params}
//        | {op: 'abort', id} | {id, op: 'free'}
//   out: {id, ok: true, result} | {id, ok: false, error: {name, message}}
//        | {id, progress} | {id, piece}
import { Engine } from './engine.mjs';

let port;
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  port = { post: (m) => self.postMessage(m), listen: (f) => { self.onmessage = (e) => f(e.data); } };
} else {
  const { parentPort } = await import('node:worker_threads');
  port = { post: (m) => parentPort.postMessage(m), listen: (f) => parentPort.on('message', f) };
}

let engine = null;
const running = new Map(); // generate id -> AbortController

const reply = (id, result) => port.post({ id, ok: true, result });
const fail = (id, e) => port.post({ id, ok: false, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) } });

async function handle(msg) {
  const { id, op } = msg;
  try {
    switch (op) {
      case 'load': {
        engine?.free();
        engine = null;
        engine = await Engine.create(msg.source, { ...msg.options, onProgress: (p) => port.post({ id, progress: p }) });
        return reply(id, engine.info);
      }
      case 'tokenize': return reply(id, engine.tokenize(msg.text, msg.options));
      case 'template': return reply(id, engine.applyChatTemplate(msg.messages));
      case 'generate': {
        const ac = new AbortController();
        running.set(id, ac);
        try {
          for await (const piece of engine.generate(msg.prompt, { ...msg.params, signal: ac.signal })) port.post({ id, piece });
        } finally {
          running.delete(id);
        }
        return reply(id, engine.lastStats);
      }
      case 'abort': running.get(id)?.abort(); return undefined;
      case 'free': engine?.free(); engine = null; return reply(id, null);
      default: throw new Error(`unknown operation ${op}`);
    }
  } catch (e) {
    return fail(id, e);
  }
}

port.listen((msg) => { handle(msg); });
