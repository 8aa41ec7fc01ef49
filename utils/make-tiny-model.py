#!/usr/bin/env python3
"""Writes a tiny DeepSeek-V3-architecture checkpoint with deterministic random
weights: config.json and model.safetensors (BF16, the router bias F32), named
and shaped as the released checkpoints are.

It is the built-in model of utils/run.sh: nothing is downloaded. Python's
standard library only. The same seed always writes the same bytes.

    utils/make-tiny-model.py OUTDIR [--seed N] [--layers L] [--variant V]

Variants: v3 (the default: sigmoid, noaux_tc, query LoRA), v2-lite (softmax,
greedy, no query LoRA, YaRN mscale 0.707), v2 (softmax, group_limited_greedy,
query LoRA, routed_scaling_factor 16).
"""
import argparse
import json
import os
import random
import struct

# --fast-random draws a big matrix in pieces of this many bytes (a multiple
# of 4, see tensor_chunks).
FAST_RANDOM_PIECE_BYTES = 64 << 20


def tiny_v3_config(layers):
    """The V3 layout at toy sizes: query LoRA, sigmoid scoring with the
    correction bias, noaux_tc group-limited top-k, a shared expert, a dense
    first layer, and YaRN with an original context shorter than the
    model's."""
    return {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "deepseek_v3",
        "vocab_size": 512,
        "hidden_size": 128,
        "intermediate_size": 256,
        "moe_intermediate_size": 32,
        "num_hidden_layers": layers,
        "num_nextn_predict_layers": 0,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "n_shared_experts": 1,
        "n_routed_experts": 8,
        "num_experts_per_tok": 2,
        "n_group": 4,
        "topk_group": 2,
        "topk_method": "noaux_tc",
        "scoring_func": "sigmoid",
        "norm_topk_prob": True,
        "routed_scaling_factor": 2.5,
        "first_k_dense_replace": 1,
        "moe_layer_freq": 1,
        "q_lora_rank": 64,
        "kv_lora_rank": 32,
        "qk_nope_head_dim": 16,
        "qk_rope_head_dim": 8,
        "v_head_dim": 16,
        "hidden_act": "silu",
        "max_position_embeddings": 256,
        "rms_norm_eps": 1e-06,
        "rope_theta": 10000.0,
        "rope_scaling": {
            "type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
            "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0,
        },
        "attention_bias": False,
        "tie_word_embeddings": False,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "torch_dtype": "bfloat16",
    }


def apply_variant(config, variant):
    """Routing and attention settings of the other released families."""
    if variant == "v2-lite":
        config.update({"architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
                       "q_lora_rank": None, "scoring_func": "softmax", "topk_method": "greedy",
                       "n_group": 1, "topk_group": 1, "norm_topk_prob": False,
                       "routed_scaling_factor": 1.0, "num_experts_per_tok": 3,
                       "n_shared_experts": 2})
        config["rope_scaling"].update({"mscale": 0.707, "mscale_all_dim": 0.707})
    elif variant == "v2":
        config.update({"architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
                       "scoring_func": "softmax", "topk_method": "group_limited_greedy",
                       "n_group": 4, "topk_group": 2, "norm_topk_prob": False,
                       "routed_scaling_factor": 16.0, "num_experts_per_tok": 3})
    return config


def parameters(c):
    """(name, shape, kind) of every tensor, kind in {linear, norm, bias}."""
    H, nh = c["hidden_size"], c["num_attention_heads"]
    dq = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
    rq, rkv, dr, dn, dv = (c["q_lora_rank"], c["kv_lora_rank"], c["qk_rope_head_dim"],
                           c["qk_nope_head_dim"], c["v_head_dim"])
    E, I, Im = c["n_routed_experts"], c["intermediate_size"], c["moe_intermediate_size"]
    out = [("model.embed_tokens.weight", [c["vocab_size"], H], "linear")]
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", [H], "norm"),
                (p + "post_attention_layernorm.weight", [H], "norm"),
                (p + "self_attn.q_a_proj.weight", [rq, H], "linear"),
                (p + "self_attn.q_a_layernorm.weight", [rq], "norm"),
                (p + "self_attn.q_b_proj.weight", [nh * dq, rq], "linear"),
                (p + "self_attn.kv_a_proj_with_mqa.weight", [rkv + dr, H], "linear"),
                (p + "self_attn.kv_a_layernorm.weight", [rkv], "norm"),
                (p + "self_attn.kv_b_proj.weight", [nh * (dn + dv), rkv], "linear"),
                (p + "self_attn.o_proj.weight", [H, nh * dv], "linear")]
        if c["q_lora_rank"] is None:
            out = [t for t in out if "q_a_" not in t[0] and "q_b_" not in t[0]]
            out.append((p + "self_attn.q_proj.weight", [nh * dq, H], "linear"))
        if l < c["first_k_dense_replace"]:
            out += [(p + "mlp.gate_proj.weight", [I, H], "linear"),
                    (p + "mlp.up_proj.weight", [I, H], "linear"),
                    (p + "mlp.down_proj.weight", [H, I], "linear")]
            continue
        out.append((p + "mlp.gate.weight", [E, H], "linear"))
        if c["topk_method"] == "noaux_tc":
            out.append((p + "mlp.gate.e_score_correction_bias", [E], "bias"))
        for e in range(E):
            q = p + "mlp.experts.%d." % e
            out += [(q + "gate_proj.weight", [Im, H], "linear"),
                    (q + "up_proj.weight", [Im, H], "linear"),
                    (q + "down_proj.weight", [H, Im], "linear")]
        S = c["n_shared_experts"] * Im
        out += [(p + "mlp.shared_experts.gate_proj.weight", [S, H], "linear"),
                (p + "mlp.shared_experts.up_proj.weight", [S, H], "linear"),
                (p + "mlp.shared_experts.down_proj.weight", [H, S], "linear")]
    out += [("model.norm.weight", [H], "norm"),
            ("lm_head.weight", [c["vocab_size"], H], "linear")]
    return out


def bf16_bytes(values):
    """Round-to-nearest-even float32 -> bfloat16, little endian."""
    words = struct.unpack("<%dI" % len(values), struct.pack("<%df" % len(values), *values))
    out = bytearray()
    for w in words:
        w += 0x7FFF + ((w >> 16) & 1)
        out += struct.pack("<H", (w >> 16) & 0xFFFF)
    return bytes(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--variant", choices=["v3", "v2-lite", "v2"], default="v3")
    parser.add_argument("--override", default="{}",
                        help="a JSON object merged into the config (sizes of a bench model)")
    parser.add_argument("--fast-random", action="store_true",
                        help="draw matrix weights from random bytes (signed, magnitudes in "
                             "[2^-7, 2^-5)) at C speed, for models too big for Python's gauss")
    parser.add_argument("--width", type=int, default=1,
                        help="multiply the hidden, intermediate and vocabulary sizes "
                             "(a bigger model for timing; the generator is pure Python)")
    args = parser.parse_args()

    config = apply_variant(tiny_v3_config(args.layers), args.variant)
    for field in ("hidden_size", "intermediate_size", "moe_intermediate_size", "vocab_size"):
        config[field] *= args.width
    config.update(json.loads(args.override))
    # Bytes 0x00..0xff of a BF16 value's high byte -> sign kept, exponent
    # 120/121 with the low byte's top bit: magnitudes in [2^-7, 2^-5).
    high_byte = bytes((b & 0x80) | 0x3C for b in range(256))
    rng = random.Random(args.seed)

    # The header first (sizes follow from the shapes), then each tensor's
    # bytes written as they are drawn: a bench model of several GB never
    # sits in memory whole.
    tensors = []
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, kind in parameters(config):
        count = 1
        for d in shape:
            count *= d
        dtype, size = ("F32", 4 * count) if kind == "bias" else ("BF16", 2 * count)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + size]}
        tensors.append((shape, kind, count))
        offset += size

    def tensor_chunks(shape, kind, count):
        """The tensor's bytes, in pieces, drawing from rng in file order."""
        if kind == "bias":
            yield struct.pack("<%df" % count, *[rng.uniform(-0.05, 0.05) for _ in range(count)])
        elif kind == "linear" and args.fast_random:
            # Pieces of a multiple of 4 bytes draw the same bytes as one
            # randbytes call of the whole size.
            remaining = 2 * count
            while remaining:
                piece = min(remaining, FAST_RANDOM_PIECE_BYTES)
                raw = bytearray(rng.randbytes(piece))
                raw[1::2] = bytes(raw[1::2]).translate(high_byte)
                yield bytes(raw)
                remaining -= piece
        else:
            # Norm weights near 1; matrices with the spread of a trained
            # model's (std 1/sqrt(fan-in)), so activations stay in range.
            std = 1.0 / (shape[-1] ** 0.5)
            values = ([1.0 + rng.gauss(0.0, 0.1) for _ in range(count)] if kind == "norm"
                      else [rng.gauss(0.0, std) for _ in range(count)])
            yield bf16_bytes(values)

    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(args.outdir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for shape, kind, count in tensors:
            for chunk in tensor_chunks(shape, kind, count):
                f.write(chunk)
    print("wrote %s: %d tensors, %d bytes of weights" % (args.outdir, len(header) - 1, offset))


if __name__ == "__main__":
    main()
