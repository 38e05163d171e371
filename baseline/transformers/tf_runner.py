"""Hugging Face transformers as a baseline: `python -m tf_runner` (cwd baseline/transformers).

Speaks the JSON-lines protocol of the numpy reference (baseline/python/README.md,
"Runner protocol"): one request object per line on stdin, one response per line on
stdout, each with the request's `id` and `ok`; errors are {"ok": false, "error": ...}
and the runner keeps going. Ops: hello, load, tokenize, detokenize, logits (top-k,
or every logit as float32 into a file), generate (greedy), quit. The model is
transformers' own: AutoModelForCausalLM in float32 with eager attention, and
AutoTokenizer, from a Hugging Face directory. Deterministic: seeded, no sampling,
torch.compile off (the eager ops are what transformers' BitNet code defines; its
@torch.compile decorators would otherwise generate C++ on first use), one thread
unless the load request asks for more.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory or nothing: never a download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# the request checks are the numpy reference's (baseline/python/bitnet_ref/protocol.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from bitnet_ref.protocol import PROTOCOL_VERSION, RequestError, finite, int_arg, tokens_arg  # noqa: E402

OPS = ("hello", "load", "tokenize", "detokenize", "logits", "generate", "quit")


def _top2(row):
    """(argmax with the lowest id on ties, top-1 minus top-2 logit) of one row."""
    import torch

    best = int(torch.argmax(row))  # torch returns the first maximal index
    top = torch.topk(row, 2).values if row.numel() > 1 else row.repeat(2)
    return best, float(top[0] - top[1])


class Runner:
    def __init__(self):
        self.model = None
        self.tokenizer = None
        self.path = None

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if not isinstance(op, str):
            raise RequestError("missing 'op'")
        if op not in OPS:
            raise RequestError(f"unknown op '{op}'")
        if op not in ("load", "quit", "hello") and self.model is None:
            raise RequestError("no model loaded (send a 'load' request first)")
        return getattr(self, "op_" + op)(req)

    def op_hello(self, req):
        import numpy
        import torch
        import transformers

        return {"protocol": PROTOCOL_VERSION, "python": sys.version.split()[0],
                "numpy": numpy.__version__, "torch": torch.__version__,
                "transformers": transformers.__version__, "ops": list(OPS)}

    def op_load(self, req):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = req.get("model")
        if not isinstance(path, str):
            raise RequestError("'model' must be a path")
        if os.path.basename(path) == "config.json":
            path = os.path.dirname(path) or "."
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise RequestError(f"{path}: not a Hugging Face model directory (no config.json)")
        threads = int_arg(req, "threads", 1, minimum=1)
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        t0 = time.perf_counter()
        self.model = self.tokenizer = None
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32,
                                                     attn_implementation="eager",
                                                     local_files_only=True)
        # transformers 5.24 leaves the dense tensors (embeddings, norms) of a packed
        # autobitlinear checkpoint in the file's dtype although float32 was asked
        # for; casting every floating tensor is exact (bf16/f16 -> f32) and leaves
        # the U8 codes of BitLinear alone
        model.to(torch.float32)
        model.eval()
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        cfg = model.config
        q = getattr(cfg, "quantization_config", None)
        q = q.to_dict() if hasattr(q, "to_dict") else (q or {})
        n_vocab = model.get_output_embeddings().weight.shape[0]
        self.model, self.tokenizer, self.path = model, tok, path
        # what the tokenizer adds by default, read off its own output
        probe = tok("a")["input_ids"]
        return {"arch": cfg.model_type, "architectures": getattr(cfg, "architectures", None),
                "n_vocab": int(n_vocab), "numerics": "float32", "dtype": "float32",
                "n_layer": cfg.num_hidden_layers, "n_embd": cfg.hidden_size,
                "n_ctx_train": getattr(cfg, "max_position_embeddings", 0),
                "bos": tok.bos_token_id, "eos": tok.eos_token_id,
                "add_bos": bool(probe and probe[0] == tok.bos_token_id),
                "linear_class": q.get("linear_class"),
                "quantization_mode": q.get("quantization_mode"),
                "threads": threads, "load_s": time.perf_counter() - t0}

    def op_tokenize(self, req):
        text = req.get("text")
        if not isinstance(text, str):
            raise RequestError("'text' must be a string")
        special = req.get("add_special", True)
        if not isinstance(special, bool):
            raise RequestError("'add_special' must be true or false")
        ids = self.tokenizer(text, add_special_tokens=special)["input_ids"]
        return {"tokens": [int(t) for t in ids]}

    def op_detokenize(self, req):
        toks = tokens_arg(req)
        return {"text": self.tokenizer.decode(toks, skip_special_tokens=False,
                                              clean_up_tokenization_spaces=False)}

    def _check_ids(self, toks):
        nv = self.model.get_output_embeddings().weight.shape[0]
        bad = [t for t in toks if not 0 <= t < nv]
        if bad:
            raise RequestError(f"token id {bad[0]} is outside the vocabulary (0..{nv - 1})")

    def op_logits(self, req):
        import torch

        toks = tokens_arg(req)
        self._check_ids(toks)
        k = int_arg(req, "top_k", 10, minimum=0)
        t0 = time.perf_counter()
        with torch.no_grad():
            logits = self.model(input_ids=torch.tensor([toks]), use_cache=False).logits[0]
        logits = logits.float().contiguous()                      # (T, V)
        n_vocab = logits.shape[1]
        resp = {"n": len(toks), "n_vocab": int(n_vocab)}
        if k:
            lp = torch.log_softmax(logits.double(), dim=-1)
            kk = min(k, n_vocab)
            top = []
            for row in lp:
                vals, idx = torch.topk(row, kk)
                # logprob descending, then id ascending (as the numpy runner)
                pairs = sorted(zip(idx.tolist(), vals.tolist()), key=lambda p: (-p[1], p[0]))
                top.append([[int(i), finite(float(v))] for i, v in pairs])
            resp["top"] = top
        else:
            resp["top"] = [[] for _ in toks]
        if req.get("full"):
            out = req.get("out")
            if not isinstance(out, str):
                raise RequestError("'full' needs 'out': a file path")
            tmp = out + ".tmp"
            logits.numpy().astype("<f4").tofile(tmp)
            os.replace(tmp, out)
            resp["logits_file"] = out
            resp["logits_shape"] = [len(toks), int(n_vocab)]
        resp["eval_s"] = time.perf_counter() - t0
        return resp

    def op_generate(self, req):
        """Greedy continuation with transformers' KV cache: the prompt in one
        forward pass, then one token per pass, argmax (lowest id on ties), no
        sampling and no EOS stop unless `stop` lists ids."""
        import torch
        from transformers import DynamicCache

        toks = tokens_arg(req)
        self._check_ids(toks)
        n = int_arg(req, "n_predict", minimum=0)
        stop = req.get("stop", [])
        if not isinstance(stop, list) or not all(isinstance(s, int) for s in stop):
            raise RequestError("'stop' must be a list of token ids")
        t0 = time.perf_counter()
        out, margins = [], []
        cache = DynamicCache(config=self.model.config)
        ids = torch.tensor([toks])
        with torch.no_grad():
            for _ in range(n):
                logits = self.model(input_ids=ids, cache=cache, use_cache=True).logits
                t, m = _top2(logits[0, -1].float())
                out.append(t)
                margins.append(finite(m))
                if t in stop:
                    break
                ids = torch.tensor([[t]])
        return {"tokens": out, "margins": margins, "eval_s": time.perf_counter() - t0}

    def op_quit(self, req):
        return {}


def serve(inp=sys.stdin, out=sys.stdout):
    # Libraries print warnings and progress bars; only responses may reach the
    # protocol stream, so everything else goes to stderr.
    sys.stdout = sys.stderr
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    runner = Runner()
    for line in inp:
        line = line.strip()
        if not line:
            continue
        rid = None
        req = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise RequestError("a request must be a JSON object")
            rid = req.get("id")
            resp = {"id": rid, "ok": True}
            resp.update(runner.handle(req))
        except (RequestError, OSError, KeyError, ValueError, MemoryError) as e:
            resp = {"id": rid, "ok": False, "error": str(e) or type(e).__name__}
        except Exception as e:  # keep serving whatever happens
            resp = {"id": rid, "ok": False, "error": f"internal error: {type(e).__name__}: {e}",
                    "traceback": traceback.format_exc(limit=5)}
        out.write(json.dumps(resp, allow_nan=False) + "\n")
        out.flush()
        if resp.get("ok") and isinstance(req, dict) and req.get("op") == "quit":
            break
    return 0


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tf_runner",
                                 description="transformers baseline, JSON lines on stdin/stdout")
    ap.parse_args(argv)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
