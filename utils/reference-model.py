#!/usr/bin/env python3
"""An independent reference for small DeepSeek checkpoints, written from
../shared/MODEL.md alone in plain Python (float64, no libraries), so that
Jikji's compiled code can be checked on cases beyond ../shared/reference:
other routing methods, prompts longer than YaRN's original context, other
batch sizes. It writes a file laid out like reference.safetensors.

    utils/reference-model.py CHECKPOINT_DIR -o reference.safetensors
        [--batch B] [--prompt-len P] [--decode-steps S] [--seed N]

It is slow (pure Python) and meant for models of a few hundred thousand
parameters. It shares no code with the compiler.

FP8 checkpoints (MODEL.md, "FP8 checkpoints") are dequantized exactly on
reading: each F8_E4M3 weight times its block's `weight_scale_inv`.
"""
import argparse
import json
import math
import os
import random
import struct


# --- safetensors -----------------------------------------------------------

def e4m3_value(code):
    """The float8 e4m3 (the "fn" variant: no infinities, S.1111.111 is NaN)
    that the byte `code` holds: bias 7, 3 mantissa bits, subnormals below
    2^-6."""
    sign = -1.0 if code & 0x80 else 1.0
    exponent, mantissa = (code >> 3) & 0xF, code & 0x7
    if exponent == 0xF and mantissa == 0x7:
        return math.nan
    if exponent == 0:
        return sign * mantissa * 2.0 ** -9
    return sign * (1.0 + mantissa / 8.0) * 2.0 ** (exponent - 7)


E4M3_VALUES = [e4m3_value(code) for code in range(256)]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[base + begin:base + end]
        dtype = entry["dtype"]
        if dtype == "BF16":
            halves = struct.unpack("<%dH" % (len(raw) // 2), raw)
            values = struct.unpack("<%df" % len(halves),
                                   struct.pack("<%dI" % len(halves), *[h << 16 for h in halves]))
        elif dtype == "F32":
            values = struct.unpack("<%df" % (len(raw) // 4), raw)
        elif dtype == "F8_E4M3":
            values = [E4M3_VALUES[code] for code in raw]
        else:
            raise SystemExit("%s: %s tensors are not supported here" % (name, dtype))
        shape = entry["shape"]
        if len(shape) == 2:
            cols = shape[1]
            values = [list(values[r * cols:(r + 1) * cols]) for r in range(shape[0])]
        else:
            values = list(values)
        tensors[name] = values
    return tensors


def dequantize(tensors, block_rows, block_cols):
    """Replaces every FP8 weight W by W[i][j] * W_scale_inv[i/rows][j/cols]
    (MODEL.md: one float32 scale per block, the edge blocks ragged) and
    drops the scales."""
    for name in [n for n in tensors if n.endswith("_scale_inv")]:
        scales = tensors.pop(name)
        weight = tensors[name[:-len("_scale_inv")]]
        for i, row in enumerate(weight):
            block_scales = scales[i // block_rows]
            for j in range(len(row)):
                row[j] *= block_scales[j // block_cols]


def write_safetensors(path, tensors, metadata):
    """tensors: name -> (dtype 'F32'|'I64', shape, flat values)."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, shape, values) in tensors.items():
        fmt = "f" if dtype == "F32" else "q"
        blob = struct.pack("<%d%s" % (len(values), fmt), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# --- the model (MODEL.md) --------------------------------------------------

def linear(x, w):
    """x W^T for one token, W stored [out, in]."""
    return [sum(a * b for a, b in zip(x, row)) for row in w]


def rms_norm(x, w, eps):
    scale = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [v * scale * g for v, g in zip(x, w)]


def silu(z):
    return z / (1.0 + math.exp(-z))


def swiglu(x, wg, wu, wd):
    return linear([silu(g) * u for g, u in zip(linear(x, wg), linear(x, wu))], wd)


class Model:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.c = json.load(f)
        self.w = read_safetensors(os.path.join(directory, "model.safetensors"))
        quantization = self.c.get("quantization_config")
        if quantization:
            dequantize(self.w, *quantization["weight_block_size"])
        c = self.c
        self.nh = c["num_attention_heads"]
        self.dn, self.dr, self.dv = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.eps = c["rms_norm_eps"]
        self.freqs, self.scale, self.rope_mag = self.rope_tables()

    def rope_tables(self):
        c, dr = self.c, self.dr
        theta = c.get("rope_theta", 10000.0)
        f = [theta ** (-2.0 * i / dr) for i in range(dr // 2)]
        scale = (self.dn + self.dr) ** -0.5
        mag = 1.0
        rs = c.get("rope_scaling")
        if rs and rs.get("type") == "yarn":
            factor, orig = rs["factor"], rs["original_max_position_embeddings"]
            bf, bs = rs.get("beta_fast", 32), rs.get("beta_slow", 1)

            def corr(n):
                return dr * math.log(orig / (n * 2 * math.pi)) / (2 * math.log(theta))
            lo = max(math.floor(corr(bf)), 0)
            hi = min(math.ceil(corr(bs)), dr - 1)
            if lo == hi:
                hi += 0.001
            ramp = [min(max((i - lo) / (hi - lo), 0.0), 1.0) for i in range(dr // 2)]
            f = [fi / factor * r + fi * (1 - r) for fi, r in zip(f, ramp)]

            def mscale(a):
                return 0.1 * a * math.log(factor) + 1.0 if factor > 1 else 1.0
            if factor > 1:
                m = mscale(rs.get("mscale_all_dim", 0))
                scale *= m * m
            mag = mscale(rs.get("mscale", 1)) / mscale(rs.get("mscale_all_dim", 0))
        return f, scale, mag

    def rope(self, x, pos):
        out = list(x)
        for i, f in enumerate(self.freqs):
            a = pos * f
            cs, sn = math.cos(a) * self.rope_mag, math.sin(a) * self.rope_mag
            x0, x1 = x[2 * i], x[2 * i + 1]
            out[2 * i], out[2 * i + 1] = x0 * cs - x1 * sn, x0 * sn + x1 * cs
        return out

    def is_moe(self, layer):
        c = self.c
        return (c.get("n_routed_experts") and layer >= c.get("first_k_dense_replace", 0)
                and layer % c.get("moe_layer_freq", 1) == 0)

    def attention(self, l, x, pos, cache):
        c, w, p = self.c, self.w, "model.layers.%d.self_attn." % l
        nh, dn, dr, dv = self.nh, self.dn, self.dr, self.dv
        dq = dn + dr
        if c.get("q_lora_rank"):
            q = linear(rms_norm(linear(x, w[p + "q_a_proj.weight"]), w[p + "q_a_layernorm.weight"], self.eps),
                       w[p + "q_b_proj.weight"])
        else:
            q = linear(x, w[p + "q_proj.weight"])
        ckv = linear(x, w[p + "kv_a_proj_with_mqa.weight"])
        rkv = c["kv_lora_rank"]
        latent = rms_norm(ckv[:rkv], w[p + "kv_a_layernorm.weight"], self.eps)
        k_pe = self.rope(ckv[rkv:], pos)
        kv = linear(latent, w[p + "kv_b_proj.weight"])
        keys, values = [], []
        for h in range(nh):
            row = kv[h * (dn + dv):(h + 1) * (dn + dv)]
            keys.append(row[:dn] + k_pe)
            values.append(row[dn:])
        cache.append((keys, values))
        out = []
        for h in range(nh):
            qh = q[h * dq:(h + 1) * dq]
            qh = qh[:dn] + self.rope(qh[dn:], pos)
            scores = [sum(a * b for a, b in zip(qh, k[h])) * self.scale for k, _ in cache]
            top = max(scores)
            e = [math.exp(s - top) for s in scores]
            z = sum(e)
            o = [0.0] * dv
            for weight, (_, v) in zip(e, cache):
                for d in range(dv):
                    o[d] += weight / z * v[h][d]
            out += o
        return linear(out, w[p + "o_proj.weight"])

    def route(self, l, x):
        c, w, p = self.c, self.w, "model.layers.%d.mlp." % l
        E, k = c["n_routed_experts"], c["num_experts_per_tok"]
        logits = linear(x, w[p + "gate.weight"])
        if c.get("scoring_func", "softmax") == "softmax":
            top = max(logits)
            e = [math.exp(v - top) for v in logits]
            s = [v / sum(e) for v in e]
        else:
            s = [1.0 / (1.0 + math.exp(-v)) for v in logits]
        method = c.get("topk_method", "greedy")
        choice = list(s)
        if method == "noaux_tc":
            choice = [v + b for v, b in zip(s, w[p + "gate.e_score_correction_bias"])]
        G = c.get("n_group", 1)
        if G > 1 and method != "greedy":
            size = E // G
            groups = [choice[g * size:(g + 1) * size] for g in range(G)]
            if method == "noaux_tc":
                gs = [sum(sorted(g, reverse=True)[:2]) for g in groups]
            else:
                gs = [max(g) for g in groups]
            kept = sorted(range(G), key=lambda g: (-gs[g], g))[:c["topk_group"]]
            choice = [v if (i // size) in kept else -math.inf for i, v in enumerate(choice)]
        idx = sorted(range(E), key=lambda i: (-choice[i], i))[:k]
        weights = [s[i] for i in idx]
        if c.get("norm_topk_prob") and k > 1:
            total = sum(weights)
            weights = [v / total for v in weights]
        weights = [v * c.get("routed_scaling_factor", 1.0) for v in weights]
        return idx, weights

    def ffn(self, l, x):
        w, p = self.w, "model.layers.%d.mlp." % l
        if not self.is_moe(l):
            return swiglu(x, w[p + "gate_proj.weight"], w[p + "up_proj.weight"], w[p + "down_proj.weight"])
        idx, weights = self.route(l, x)
        out = [0.0] * len(x)
        for e, g in zip(idx, weights):
            q = p + "experts.%d." % e
            y = swiglu(x, w[q + "gate_proj.weight"], w[q + "up_proj.weight"], w[q + "down_proj.weight"])
            out = [a + g * b for a, b in zip(out, y)]
        if self.c.get("n_shared_experts"):
            q = p + "shared_experts."
            y = swiglu(x, w[q + "gate_proj.weight"], w[q + "up_proj.weight"], w[q + "down_proj.weight"])
            out = [a + b for a, b in zip(out, y)]
        return out

    def step(self, token, pos, caches):
        """One token at `pos`; `caches[l]` holds the expanded keys/values."""
        w = self.w
        h = list(w["model.embed_tokens.weight"][token])
        for l in range(self.c["num_hidden_layers"]):
            p = "model.layers.%d." % l
            a = self.attention(l, rms_norm(h, w[p + "input_layernorm.weight"], self.eps), pos, caches[l])
            h = [x + y for x, y in zip(h, a)]
            f = self.ffn(l, rms_norm(h, w[p + "post_attention_layernorm.weight"], self.eps))
            h = [x + y for x, y in zip(h, f)]
        head = w["model.embed_tokens.weight"] if self.c.get("tie_word_embeddings") else w["lm_head.weight"]
        return linear(rms_norm(h, w["model.norm.weight"], self.eps), head)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--prompt-len", type=int, default=12)
    parser.add_argument("--decode-steps", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tokens-from", help="take the token rows (and P, S) from this "
                        "reference.safetensors instead of drawing them")
    args = parser.parse_args()

    model = Model(args.checkpoint)
    V, L = model.c["vocab_size"], model.c["num_hidden_layers"]
    P, S = args.prompt_len, args.decode_steps
    rows = None
    if args.tokens_from:
        with open(args.tokens_from, "rb") as f:
            data = f.read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        begin, end = header["tokens"]["data_offsets"]
        B_, width = header["tokens"]["shape"]
        flat = struct.unpack("<%dq" % (B_ * width), data[8 + n + begin:8 + n + end])
        rows = [list(flat[b * width:(b + 1) * width]) for b in range(B_)]
        P = int(header["__metadata__"]["prompt_len"])
        S = width - P
        args.batch = B_
    rng = random.Random(args.seed)
    tokens, prefill, decode, greedy, margins = [], [], [], [], []
    for b in range(args.batch):
        row = rows[b] if rows else [rng.randrange(2, V) for _ in range(P + S)]
        tokens += row
        caches = [[] for _ in range(L)]
        logits = [model.step(t, pos, caches) for pos, t in enumerate(row[:P])]
        for lg in logits:
            prefill += lg
        # Greedy from the prompt, on copies of the prompt's caches.
        greedy_caches = [list(c) for c in caches]
        last = logits[-1]
        for i in range(S):
            ranked = sorted(range(V), key=lambda v: (-last[v], v))
            greedy.append(ranked[0])
            margins.append(last[ranked[0]] - last[ranked[1]])
            last = model.step(ranked[0], P + i, greedy_caches)
        # Teacher-forced decode steps.
        for i in range(S):
            decode += model.step(row[P + i], P + i, caches)
    B = args.batch
    write_safetensors(args.output, {
        "tokens": ("I64", [B, P + S], tokens),
        "prefill_logits": ("F32", [B, P, V], prefill),
        "decode_logits": ("F32", [B, S, V], decode),
        "greedy_tokens": ("I64", [B, S], greedy),
        "greedy_margins": ("F32", [B, S], margins),
    }, {"prompt_len": str(P), "decode_steps": str(S), "batch": str(B)})


if __name__ == "__main__":
    main()
