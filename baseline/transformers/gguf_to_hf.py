"""Writes a GGUF model (arch bitnet-b1.58, I2_S projections, gpt2-style BPE
vocabulary: what `bitnet fixture --arch bitnet-b1.58 --vocab bpe` makes) as a
Hugging Face directory that transformers' BitNetForCausalLM loads, so that
libbitnet on the GGUF file and transformers on the directory run the same model.

    python gguf_to_hf.py MODEL.gguf OUT_DIR [--linear-class autobitlinear|bitlinear]

The GGUF is read with the numpy reference's own reader (baseline/python), the
ternary codes are packed as docs/research/hf-checkpoints.md §2 describes
(make_checkpoint.pack), the per-tensor scale becomes weight_scale (absmean for
autobitlinear, its inverse for bitlinear). bitnet-b1.58 applies NEOX ("half")
RoPE to the projections as stored, which is transformers' pairing, so q and k
are copied unpermuted. The vocabulary becomes a tokenizer.json: the tokens and
merges as stored, the four pre-tokenizer passes of the GGUF's `default`
pre-tokenizer as regex splits, then byte-level mapping; BOS added when the GGUF
says so.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_checkpoint  # noqa: E402
from bitnet_ref.gguf import TernaryTensor, read_gguf  # noqa: E402

# GGUF name -> transformers name (per layer after "blk.N.")
LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "attn_sub_norm.weight": "self_attn.attn_sub_norm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
    "ffn_sub_norm.weight": "mlp.ffn_sub_norm.weight",
}

# The `default` BPE pre-tokenizer of GGUF vocabularies: four regex passes, each
# splitting every piece into matches and the gaps between them.
DEFAULT_PRETOKENIZER = [
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
]


def convert_tensors(g, arch, linear_class):
    state = {}
    for name in g.tensors:
        t = g.tensor(name)
        if name == "token_embd.weight":
            hf = "model.embed_tokens.weight"
        elif name == "output_norm.weight":
            hf = "model.norm.weight"
        elif name == "output.weight":
            raise SystemExit("gguf_to_hf: an untied output.weight is not supported here")
        elif name.startswith("blk."):
            _, n, rest = name.split(".", 2)
            if rest not in LAYER_NAMES:
                raise SystemExit(f"gguf_to_hf: no transformers name for tensor '{name}'")
            hf = f"model.layers.{n}.{LAYER_NAMES[rest]}"
        else:
            raise SystemExit(f"gguf_to_hf: no transformers name for tensor '{name}'")
        if isinstance(t, TernaryTensor):
            if t.n_invalid_codes:
                raise SystemExit(f"gguf_to_hf: {name} holds invalid 2-bit codes")
            state[hf] = torch.from_numpy(make_checkpoint.pack(t.codes.astype(np.int8)))
            s = np.float32(t.scale)
            scale = s if linear_class == "autobitlinear" else np.float32(1) / s
            state[hf[: -len("weight")] + "weight_scale"] = torch.tensor([scale], dtype=torch.float32)
        else:
            state[hf] = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32))
    return state


def convert_tokenizer(g, out):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast

    if g.get("tokenizer.ggml.model") != "gpt2" or g.get("tokenizer.ggml.pre", "default") != "default":
        raise SystemExit("gguf_to_hf: only gpt2-style vocabularies with the default pre-tokenizer")
    tokens = list(g.get("tokenizer.ggml.tokens"))
    types = list(g.get("tokenizer.ggml.token_type", [1] * len(tokens)))
    merges = [tuple(m.split(" ", 1)) for m in g.get("tokenizer.ggml.merges", [])]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated") for p in DEFAULT_PRETOKENIZER]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    # control and user-defined tokens are matched whole, before the BPE
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                            for i, ty in enumerate(types) if ty in (3, 4)])
    bos = g.get("tokenizer.ggml.bos_token_id")
    eos = g.get("tokenizer.ggml.eos_token_id")
    if g.get("tokenizer.ggml.add_bos_token", True) and bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{tokens[bos]} $A", pair=f"{tokens[bos]} $A {tokens[bos]} $B",
            special_tokens=[(tokens[bos], bos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok,
                                   bos_token=tokens[bos] if bos is not None else None,
                                   eos_token=tokens[eos] if eos is not None else None)
    fast.save_pretrained(out)
    return bos, eos


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--linear-class", choices=("autobitlinear", "bitlinear"), default="autobitlinear")
    args = ap.parse_args(argv)
    from safetensors.torch import save_file
    from transformers import BitNetConfig

    g = read_gguf(args.gguf)
    arch = g.get("general.architecture")
    if arch != "bitnet-b1.58":
        raise SystemExit(f"gguf_to_hf: architecture '{arch}' (only bitnet-b1.58: ReLU², sub-norms, NEOX RoPE)")

    def hp(key, default=None):
        v = g.get(f"{arch}.{key}", default)
        if v is None:
            raise SystemExit(f"gguf_to_hf: {args.gguf} has no {arch}.{key}")
        return v

    n_embd, n_head = hp("embedding_length"), hp("attention.head_count")
    if hp("rope.dimension_count", n_embd // n_head) != n_embd // n_head:
        raise SystemExit("gguf_to_hf: partial RoPE is not what transformers' BitNet does")
    os.makedirs(args.out, exist_ok=True)
    bos, eos = convert_tokenizer(g, args.out)
    state = convert_tensors(g, arch, args.linear_class)
    cfg = BitNetConfig(
        vocab_size=state["model.embed_tokens.weight"].shape[0], hidden_size=n_embd,
        intermediate_size=hp("feed_forward_length"), num_hidden_layers=hp("block_count"),
        num_attention_heads=n_head, num_key_value_heads=hp("attention.head_count_kv", n_head),
        hidden_act="relu2", max_position_embeddings=hp("context_length"),
        # the GGUF stores float32; the config holds the decimal it came from
        rms_norm_eps=float(f"{float(hp('attention.layer_norm_rms_epsilon')):.7g}"),
        rope_parameters={"rope_type": "default", "rope_theta": float(hp("rope.freq_base", 10000.0))},
        bos_token_id=bos, eos_token_id=eos, tie_word_embeddings=True)
    cfg.architectures = ["BitNetForCausalLM"]
    cfg.save_pretrained(args.out)
    path = os.path.join(args.out, "config.json")
    c = json.load(open(path))
    c["quantization_config"] = {"quant_method": "bitnet", "linear_class": args.linear_class,
                                "quantization_mode": "offline"}
    with open(path, "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
