#!/usr/bin/env python3
"""Writes a tiny DeepSeek-V3-architecture checkpoint with deterministic random
weights: config.json and model.safetensors (BF16, the router bias F32), named
and shaped as the released checkpoints are.

It is the built-in model of utils/run.sh: nothing is downloaded. Python's
standard library only. The same seed always writes the same bytes.

    utils/make-tiny-model.py OUTDIR [--seed N] [--layers L] [--variant V]
        [--fp8 [--fp8-scales float|ue8m0]] [--config-only]

Variants: v3 (the default: sigmoid, noaux_tc, query LoRA), v2-lite (softmax,
greedy, no query LoRA, YaRN mscale 0.707), v2 (softmax, group_limited_greedy,
query LoRA, routed_scaling_factor 16).

--fp8 writes the checkpoint as DeepSeek releases V3 (MODEL.md, "FP8
checkpoints"): the linears F8_E4M3, each with a float32 `weight_scale_inv`
[ceil(out/128), ceil(in/128)]; the embeddings, lm_head, the router and the
norms stay BF16. The FP8 weights are the block quantization of the BF16 ones
the same arguments write without --fp8: per 128x128 block, scale =
amax / 448 (with --fp8-scales=ue8m0 rounded up to a power of two, as V3.1's
scale_fmt "ue8m0" declares), each weight the e4m3 nearest to weight / scale
(ties to even).
"""
import argparse
import json
import math
import os
import random
import struct

# --fast-random draws a big matrix in pieces of this many bytes (a multiple
# of 4, see tensor_chunks).
FAST_RANDOM_PIECE_BYTES = 64 << 20

# DeepSeek's FP8 layout: 128x128 blocks, e4m3 whose largest finite is 448.
FP8_BLOCK = 128
E4M3_MAX = 448.0

# Linear weights that DeepSeek's FP8 checkpoints keep in BF16.
NEVER_QUANTIZED = ("model.embed_tokens.weight", "lm_head.weight", ".mlp.gate.weight")


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


def is_quantized(name, kind):
    return kind == "linear" and not name.endswith(NEVER_QUANTIZED)


def fp8_quantization_config(scales):
    config = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
              "weight_block_size": [FP8_BLOCK, FP8_BLOCK]}
    if scales == "ue8m0":
        config["scale_fmt"] = "ue8m0"
    return config


def float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def block_scale(amax, scales):
    """The float32 scale of a block whose largest magnitude is `amax`: the
    block's values over it fit e4m3. ue8m0 rounds it up to a power of two."""
    if amax == 0.0:
        return 1.0
    scale = amax / E4M3_MAX
    if scales == "ue8m0":
        mantissa, exponent = math.frexp(scale)  # scale = mantissa * 2^exponent
        return math.ldexp(1.0, exponent - 1 if mantissa == 0.5 else exponent)
    return float32(scale)


def e4m3_code(x):
    """The e4m3 byte nearest to x (ties to even), saturating at +-448."""
    sign = 0x80 if x < 0 or (x == 0 and math.copysign(1.0, x) < 0) else 0
    x = abs(x)
    if x < 2.0 ** -6:
        # Subnormals step by 2^-9; a round up to 8 is the smallest normal,
        # whose code is 8 as well.
        return sign | round(x * 2.0 ** 9)
    mantissa, exponent = math.frexp(x)  # x = mantissa * 2^exponent, [0.5, 1)
    exponent -= 1
    steps = round((mantissa * 2.0 - 1.0) * 8.0)
    if steps == 8:
        steps, exponent = 0, exponent + 1
    biased = exponent + 7
    if biased > 15 or (biased == 15 and steps == 7):
        return sign | 0x7E  # 448; S.1111.111 is NaN
    return sign | (biased << 3) | steps


def quantize_fp8(values, rows, cols, scales):
    """(e4m3 bytes, float32 scale bytes) of the row-major [rows, cols]
    `values`, one scale per 128x128 block, the edge blocks ragged."""
    block_rows, block_cols = -(-rows // FP8_BLOCK), -(-cols // FP8_BLOCK)
    codes, scale_values = bytearray(rows * cols), []
    for bi in range(block_rows):
        row_range = range(bi * FP8_BLOCK, min(rows, (bi + 1) * FP8_BLOCK))
        for bj in range(block_cols):
            begin, end = bj * FP8_BLOCK, min(cols, (bj + 1) * FP8_BLOCK)
            amax = max(abs(values[r * cols + c]) for r in row_range for c in range(begin, end))
            scale = block_scale(amax, scales)
            scale_values.append(scale)
            for r in row_range:
                for c in range(begin, end):
                    codes[r * cols + c] = e4m3_code(values[r * cols + c] / scale)
    return bytes(codes), struct.pack("<%df" % len(scale_values), *scale_values)


def fast_random_fp8(rng, high_byte, rows, cols, scales):
    """The --fast-random draw of a [rows, cols] BF16 matrix, quantized, in
    file order: e4m3 bytes by 128-row slabs, then the scales.

    The draw is the BF16 one's byte for byte; its magnitude lies in the low
    byte alone (the high byte holds the sign and a fixed exponent), so a
    block's largest magnitude is its largest low byte, and quantizing is a
    byte translation per block scale, at C speed."""
    def magnitude(low):
        bits = ((high_byte[0] & 0x7F) << 8 | low) << 16
        return struct.unpack("<f", struct.pack("<I", bits))[0]

    tables = {}

    def codes_for(top):
        """The scale and the e4m3 magnitudes of each low byte, for a block
        whose largest low byte is `top`."""
        if top not in tables:
            scale = block_scale(magnitude(top), scales)
            tables[top] = (scale, bytes(e4m3_code(magnitude(low) / scale) for low in range(256)))
        return tables[top]

    sign_of_high = bytes(b & 0x80 for b in range(256))
    block_cols = -(-cols // FP8_BLOCK)
    scale_values = []
    for first in range(0, rows, FP8_BLOCK):
        slab_rows = min(FP8_BLOCK, rows - first)
        raw = rng.randbytes(2 * slab_rows * cols)
        low, high = raw[0::2], raw[1::2]
        tops = []
        for bj in range(block_cols):
            begin, end = bj * FP8_BLOCK, min(cols, (bj + 1) * FP8_BLOCK)
            # 0xff, the largest possible, is almost always there: look for
            # it first (memchr), and take the maximum only when it is not.
            if any(low.find(b"\xff", r * cols + begin, r * cols + end) >= 0
                   for r in range(slab_rows)):
                tops.append(0xFF)
            else:
                tops.append(max(max(low[r * cols + begin:r * cols + end])
                                for r in range(slab_rows)))
        scale_values += [codes_for(top)[0] for top in tops]
        if all(top == tops[0] for top in tops):
            magnitudes = low.translate(codes_for(tops[0])[1])
        else:
            magnitudes = b"".join(
                low[r * cols + bj * FP8_BLOCK:r * cols + min(cols, (bj + 1) * FP8_BLOCK)]
                .translate(codes_for(tops[bj])[1])
                for r in range(slab_rows) for bj in range(block_cols))
        signs = high.translate(sign_of_high)
        yield (int.from_bytes(magnitudes, "little") |
               int.from_bytes(signs, "little")).to_bytes(len(low), "little")
    yield struct.pack("<%df" % len(scale_values), *scale_values)


def bf16_bytes(values):
    """Round-to-nearest-even float32 -> bfloat16, little endian."""
    words = struct.unpack("<%dI" % len(values), struct.pack("<%df" % len(values), *values))
    out = bytearray()
    for w in words:
        w += 0x7FFF + ((w >> 16) & 1)
        out += struct.pack("<H", (w >> 16) & 0xFFFF)
    return bytes(out)


def bf16_values(values):
    """The values rounded to bfloat16 as bf16_bytes stores them."""
    halves = bf16_bytes(values)
    count = len(halves) // 2
    return struct.unpack("<%df" % count, struct.pack(
        "<%dI" % count, *[h << 16 for h in struct.unpack("<%dH" % count, halves)]))


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
    parser.add_argument("--fp8", action="store_true",
                        help="store the linears as released V3 does: F8_E4M3 with 128x128 "
                             "block scales (weight_scale_inv)")
    parser.add_argument("--config-only", action="store_true",
                        help="write config.json alone, as the same arguments would (to compile "
                             "a model whose weights are drawn later, elsewhere: utils/gpu-check.sh)")
    parser.add_argument("--fp8-scales", choices=["float", "ue8m0"], default="float",
                        help="with --fp8: any float32 scale (V3, R1) or powers of two "
                             "(V3.1's scale_fmt ue8m0)")
    args = parser.parse_args()
    if args.fp8_scales != "float" and not args.fp8:
        parser.error("--fp8-scales needs --fp8")

    config = apply_variant(tiny_v3_config(args.layers), args.variant)
    for field in ("hidden_size", "intermediate_size", "moe_intermediate_size", "vocab_size"):
        config[field] *= args.width
    config.update(json.loads(args.override))
    if args.fp8:
        config["quantization_config"] = fp8_quantization_config(args.fp8_scales)
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
        if args.fp8 and is_quantized(name, kind):
            # The weight, then its scales right after it.
            kind = "fp8"
            scale_shape = [-(-d // FP8_BLOCK) for d in shape]
            header[name] = {"dtype": "F8_E4M3", "shape": shape,
                            "data_offsets": [offset, offset + count]}
            offset += count
            scale_size = 4 * scale_shape[0] * scale_shape[1]
            header[name + "_scale_inv"] = {"dtype": "F32", "shape": scale_shape,
                                           "data_offsets": [offset, offset + scale_size]}
            offset += scale_size
            tensors.append((shape, kind, count))
            continue
        dtype, size = ("F32", 4 * count) if kind == "bias" else ("BF16", 2 * count)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + size]}
        tensors.append((shape, kind, count))
        offset += size

    def tensor_chunks(shape, kind, count):
        """The tensor's bytes, in pieces, drawing from rng in file order.
        An FP8 weight draws what its BF16 twin draws."""
        if kind == "fp8" and args.fast_random:
            yield from fast_random_fp8(rng, high_byte, shape[0], shape[1], args.fp8_scales)
        elif kind == "fp8":
            std = 1.0 / (shape[-1] ** 0.5)
            values = bf16_values([rng.gauss(0.0, std) for _ in range(count)])
            yield from quantize_fp8(values, shape[0], shape[1], args.fp8_scales)
        elif kind == "bias":
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
    if args.config_only:
        print("wrote %s/config.json" % args.outdir)
        return
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
