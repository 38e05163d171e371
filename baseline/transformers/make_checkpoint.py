"""Writes small random BitNet b1.58 checkpoints with Hugging Face transformers itself.

These are the independent inputs for libbitnet's Hugging Face loader: the model,
config.json, the tokenizer files and the bf16 checkpoints come from transformers'
own classes and save_pretrained, not from our writer. transformers has no function
that writes the packed offline format (it only reads it), so for the packed
variants this script ternarizes and packs exactly as
docs/research/hf-checkpoints.md §2-§3 describe, with transformers' own
`pack_weights` and a second, plain numpy implementation of the same order that
must give the same bytes.

    python make_checkpoint.py OUT --variant VARIANT [--seed N] [shape options]
    python make_checkpoint.py OUT --all            # every variant in OUT/VARIANT

Variants (one random model per seed; every variant holds the same ternary codes):
  bf16-online           bf16 masters, quantization_mode online (like -2B-4T-bf16)
  packed-autobitlinear  U8 codes [out/4, in] + weight_scale = absmean (W = codes x scale)
  packed-bitlinear      U8 codes + weight_scale = 1/absmean (W = codes / scale); the
                        config has no linear_class key (bitlinear is the default)
  sharded               bf16-online written by save_pretrained with a small
                        max_shard_size: several files + model.safetensors.index.json
  sharded-packed        packed-bitlinear loaded by transformers and written back by its
                        save_pretrained with a small max_shard_size (transformers-made
                        packed shards; a weight and its scale can land in different files)
"""

import argparse
import json
import os
import sys

# torch.compile (which decorates transformers' BitNet quantizers) would compile
# C++ at first call; the eager ops are the definition, so compile is turned off
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

VARIANTS = ("bf16-online", "packed-autobitlinear", "packed-bitlinear", "sharded", "sharded-packed")

# the projections transformers replaces with BitNet linears (every nn.Linear but
# lm_head; embeddings and norms stay dense)
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

SPECIAL_TOKENS = ("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>")

# A LLaMA-3-like template in the shape §6 of the research doc describes
# ("User: ...<|eot_id|>Assistant: "); never executed by libbitnet.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] | trim }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}Assistant: {% endif %}"
)

# Training text for the byte-level BPE (fixed, so the vocabulary is reproducible).
CORPUS = [
    "The capital of France is Paris. The capital of Italy is Rome.",
    "Once upon a time there was a little model that counted to three: -1, 0, +1.",
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
    "Ternary weights, int8 activations, and a float32 head: 1.58 bits per weight.",
    "Hello, world! How are you today? I am fine, thank you.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 2.71828",
    "Unicode: café, naïve, Grüße, 東京, Ελληνικά, emoji 🙂.",
]


def build_tokenizer(n_merges):
    """Byte-level BPE (the LLaMA-3 family's kind) trained on CORPUS, BOS added by the
    post-processor; returns a transformers PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=256 + n_merges,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    bos = tok.token_to_id(SPECIAL_TOKENS[0])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SPECIAL_TOKENS[0]} $A",
        pair=f"{SPECIAL_TOKENS[0]} $A {SPECIAL_TOKENS[0]} $B",
        special_tokens=[(SPECIAL_TOKENS[0], bos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=SPECIAL_TOKENS[0],
        eos_token=SPECIAL_TOKENS[1],
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )


def build_model(args, tokenizer):
    """A random BitNetForCausalLM in float32 with seeded weights of realistic
    relative sizes (the default init of 0.02 everywhere would make every
    attention near uniform)."""
    from transformers import BitNetConfig, BitNetForCausalLM

    bos = tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS[0])
    eos = tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS[1])
    cfg = BitNetConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        hidden_act="relu2",
        max_position_embeddings=args.ctx,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        bos_token_id=bos,
        eos_token_id=eos,
        tie_word_embeddings=True,
    )
    torch.manual_seed(args.seed)
    model = BitNetForCausalLM(cfg).eval()
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                # around 1, but not 1: a loader that drops a norm's weight is seen
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return model


def ternarize(w):
    """WeightQuant (§3): absmean per tensor in float32, round half to even.
    Returns (codes as int8 numpy [out, in], s = 1/absmean as float32)."""
    w = w.float()
    s = 1.0 / w.abs().mean().clamp_(min=1e-5)
    codes = (w * s).round().clamp(-1, 1)
    # transformers' own WeightQuant must give codes / s, the same numbers
    from transformers.integrations.bitnet import WeightQuant

    assert torch.equal(WeightQuant.forward(None, w), codes / s)
    return codes.to(torch.int8).numpy(), s


def pack_numpy(codes):
    """§2, written from the doc: t+1 in 2 bits, 4 rows per byte along dim 0, block
    order: byte [r, c] bits 2i..2i+1 hold row i*R + r (R = out/4)."""
    out, n_in = codes.shape
    assert out % 4 == 0, "out_features must be a multiple of 4"
    r = out // 4
    v = (codes.astype(np.int16) + 1).astype(np.uint8)
    packed = np.zeros((r, n_in), dtype=np.uint8)
    for i in range(4):
        packed |= v[i * r : (i + 1) * r] << (2 * i)
    return packed


def pack(codes):
    from transformers.integrations.bitnet import pack_weights

    theirs = pack_weights(torch.from_numpy(codes.astype(np.float32)).clone()).numpy()
    ours = pack_numpy(codes)
    if not np.array_equal(theirs, ours):
        raise SystemExit("make_checkpoint: transformers' pack_weights and §2 disagree")
    return ours


def quant_config(variant):
    if variant in ("bf16-online", "sharded"):
        return {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "online"}
    if variant == "packed-autobitlinear":
        return {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "offline"}
    # bitlinear is what transformers assumes when linear_class is absent
    return {"quant_method": "bitnet", "quantization_mode": "offline"}


def add_quant_config(out, variant):
    path = os.path.join(out, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["quantization_config"] = quant_config(variant)
    with open(path + ".tmp", "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


def write_packed(model, out, variant, scale_dtype):
    """The packed offline layout from the bf16 masters' codes (so it holds the
    same ternary weights as bf16-online)."""
    from safetensors.torch import save_file

    state = {}
    for name, p in model.state_dict().items():
        proj = name.split(".")[-2] if name.endswith(".weight") else ""
        if proj in PROJECTIONS:
            codes, s = ternarize(p)
            state[name] = torch.from_numpy(pack(codes))
            # the two classes store opposite scales (§1)
            scale = 1.0 / s if variant == "packed-autobitlinear" else s
            state[name[: -len("weight")] + "weight_scale"] = scale.reshape(1).to(scale_dtype)
        elif name != "lm_head.weight":  # tied: the file has no head
            state[name] = p.detach().to(torch.bfloat16).contiguous()
    model.config.architectures = [type(model).__name__]  # as save_pretrained writes it
    model.config.save_pretrained(out)
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    add_quant_config(out, variant)


def write_variant(args, out, variant):
    os.makedirs(out, exist_ok=True)
    tokenizer = build_tokenizer(args.merges)
    model = build_model(args, tokenizer)
    model = model.to(torch.bfloat16)  # the masters are bf16, as published
    if variant in ("bf16-online", "sharded"):
        shard = args.max_shard_size if variant == "sharded" else "10GB"
        model.save_pretrained(out, max_shard_size=shard)
        add_quant_config(out, variant)
    elif variant in ("packed-autobitlinear", "packed-bitlinear"):
        write_packed(model, out, variant, getattr(torch, args.scale_dtype))
    else:  # sharded-packed: transformers re-saves a packed bitlinear checkpoint
        tmp = out.rstrip("/") + ".src"
        write_variant(args, tmp, "packed-bitlinear")
        from transformers import AutoModelForCausalLM

        m = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.bfloat16)
        m.save_pretrained(out, max_shard_size=args.max_shard_size)
        import shutil

        shutil.rmtree(tmp)
    tokenizer.save_pretrained(out)
    model.generation_config.do_sample = False
    model.generation_config.save_pretrained(out)
    check_written(out, variant)


def check_written(out, variant):
    """What the variant promises is really on disk (a transformers update that
    changed save_pretrained would otherwise silently change our test inputs)."""
    from safetensors import safe_open

    names = sorted(f for f in os.listdir(out) if f.endswith(".safetensors"))
    if variant.startswith("sharded"):
        if len(names) < 2 or not os.path.exists(os.path.join(out, "model.safetensors.index.json")):
            raise SystemExit(f"make_checkpoint: {out}: expected several shards and an index, got {names}")
    dtypes = {}
    for n in names:
        with safe_open(os.path.join(out, n), "pt") as f:
            for k in f.keys():
                dtypes[k] = f.get_slice(k).get_dtype()
    q = "model.layers.0.self_attn.q_proj.weight"
    want = "U8" if "packed" in variant else "BF16"
    if dtypes.get(q) != want:
        raise SystemExit(f"make_checkpoint: {out}: {q} is {dtypes.get(q)}, expected {want}")
    if "lm_head.weight" in dtypes:
        raise SystemExit(f"make_checkpoint: {out}: has lm_head.weight although the head is tied")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--variant", choices=VARIANTS)
    ap.add_argument("--all", action="store_true", help="every variant, each in OUT/VARIANT")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--intermediate", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--merges", type=int, default=200, help="BPE merges beyond the 256 bytes")
    ap.add_argument("--scale-dtype", choices=("float32", "bfloat16"), default="float32",
                    help="dtype of the packed weight_scale (float32 keeps every variant the same model)")
    ap.add_argument("--max-shard-size", default="40KB")
    args = ap.parse_args(argv)
    if args.all == bool(args.variant):
        ap.error("give exactly one of --variant or --all")
    if args.intermediate % 4 or args.hidden % 4 or args.hidden % args.heads or args.heads % args.kv_heads:
        ap.error("hidden and intermediate must be multiples of 4, heads of kv-heads, hidden of heads")
    for v in VARIANTS if args.all else (args.variant,):
        out = os.path.join(args.out, v) if args.all else args.out
        write_variant(args, out, v)
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
