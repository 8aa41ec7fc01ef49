#!/usr/bin/env python3
# ===- make-bad-safetensors.py - Write a checkpoint broken in one way -------===#
#
# Part of Jikji, a compiler for DeepSeek models.
#
# ===-----------------------------------------------------------------------===#
"""Writes a tiny DeepSeek checkpoint folder broken in exactly one named way.

  make-bad-safetensors.py CASE OUTDIR

OUTDIR gets a config.json for a tiny V3-style model (query LoRA, noaux_tc
routing over 2 groups, a shared expert, one dense layer, one MTP module) and
its weights, all zeros, as model.safetensors or as shards with a
model.safetensors.index.json. Every case starts from the valid checkpoint and
changes one thing, so the reader must reject it for that reason and no other.
Run with --list for the cases. Python 3 standard library only, so that tests
can generate their inputs instead of committing binaries.
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys

# The tiny model. Small enough that the whole checkpoint is a few hundred KB.
TINY_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3",
    "vocab_size": 32,
    "hidden_size": 16,
    "intermediate_size": 32,
    "moe_intermediate_size": 8,
    "num_hidden_layers": 2,
    "num_nextn_predict_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "n_shared_experts": 1,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "n_group": 2,
    "topk_group": 1,
    "topk_method": "noaux_tc",
    "scoring_func": "sigmoid",
    "norm_topk_prob": True,
    "routed_scaling_factor": 2.5,
    "first_k_dense_replace": 1,
    "moe_layer_freq": 1,
    "q_lora_rank": 8,
    "kv_lora_rank": 8,
    "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 4,
    "v_head_dim": 8,
    "hidden_act": "silu",
    "max_position_embeddings": 64,
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "tie_word_embeddings": False,
    "bos_token_id": 0,
    "eos_token_id": 1,
}

FP8_QUANTIZATION = {
    "activation_scheme": "dynamic",
    "fmt": "e4m3",
    "quant_method": "fp8",
    "weight_block_size": [128, 128],
}

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "U32": 4, "I32": 4,
    "U64": 8, "I64": 8, "F16": 2, "BF16": 2, "F32": 4, "F64": 8,
    "F8_E4M3": 1, "F8_E5M2": 1,
}


def model_tensors(config, fp8):
    """[(name, dtype, shape)] of the checkpoint, MTP module included: the
    same names and shapes as DeepSeek's released checkpoints."""
    c = config
    H, V = c["hidden_size"], c["vocab_size"]
    nh = c["num_attention_heads"]
    dn, dr, dv = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    rq, rkv = c["q_lora_rank"] or 0, c["kv_lora_rank"]
    E, S, Im = c["n_routed_experts"], c["n_shared_experts"], c["moe_intermediate_size"]
    tensors = []

    def plain(name, shape, dtype="BF16"):
        tensors.append((name, dtype, list(shape)))

    def linear(name, out_features, in_features):
        if not fp8:
            plain(name, [out_features, in_features])
            return
        plain(name, [out_features, in_features], "F8_E4M3")
        plain(name + "_scale_inv",
              [math.ceil(out_features / 128), math.ceil(in_features / 128)],
              "F32")

    def swiglu(prefix, width):
        linear(prefix + "gate_proj.weight", width, H)
        linear(prefix + "up_proj.weight", width, H)
        linear(prefix + "down_proj.weight", H, width)

    def decoder_layer(layer):
        p = "model.layers.%d." % layer
        plain(p + "input_layernorm.weight", [H])
        if rq:
            linear(p + "self_attn.q_a_proj.weight", rq, H)
            plain(p + "self_attn.q_a_layernorm.weight", [rq])
            linear(p + "self_attn.q_b_proj.weight", nh * (dn + dr), rq)
        else:
            linear(p + "self_attn.q_proj.weight", nh * (dn + dr), H)
        linear(p + "self_attn.kv_a_proj_with_mqa.weight", rkv + dr, H)
        plain(p + "self_attn.kv_a_layernorm.weight", [rkv])
        linear(p + "self_attn.kv_b_proj.weight", nh * (dn + dv), rkv)
        linear(p + "self_attn.o_proj.weight", H, nh * dv)
        plain(p + "post_attention_layernorm.weight", [H])
        if layer < c["first_k_dense_replace"] or layer % c["moe_layer_freq"]:
            swiglu(p + "mlp.", c["intermediate_size"])
            return
        plain(p + "mlp.gate.weight", [E, H])
        if c["topk_method"] == "noaux_tc":
            plain(p + "mlp.gate.e_score_correction_bias", [E], "F32")
        for e in range(E):
            swiglu(p + "mlp.experts.%d." % e, Im)
        if S:
            swiglu(p + "mlp.shared_experts.", S * Im)

    plain("model.embed_tokens.weight", [V, H])
    for layer in range(c["num_hidden_layers"]):
        decoder_layer(layer)
    plain("model.norm.weight", [H])
    plain("lm_head.weight", [V, H])
    for j in range(c["num_nextn_predict_layers"]):
        layer = c["num_hidden_layers"] + j
        p = "model.layers.%d." % layer
        plain(p + "embed_tokens.weight", [V, H])
        plain(p + "enorm.weight", [H])
        plain(p + "hnorm.weight", [H])
        linear(p + "eh_proj.weight", H, 2 * H)
        decoder_layer(layer)
        plain(p + "shared_head.norm.weight", [H])
        plain(p + "shared_head.head.weight", [V, H])
    return tensors


class Entry:
    """One header entry: what the header says, which may be a lie."""

    def __init__(self, name, dtype, shape, begin, end):
        self.name, self.dtype, self.shape = name, dtype, shape
        self.begin, self.end = begin, end

    def to_json(self):
        return {"dtype": self.dtype, "shape": self.shape,
                "data_offsets": [self.begin, self.end]}


def layout(tensors):
    """Entries with offsets that tile the data section, in name order."""
    entries, offset = [], 0
    for name, dtype, shape in sorted(tensors):
        size = DTYPE_SIZES[dtype] * math.prod(shape)
        entries.append(Entry(name, dtype, shape, offset, offset + size))
        offset += size
    return entries


def header_bytes(entries, extra_members=()):
    """The JSON header, padded with spaces to a multiple of 8 as the reference
    writer does. Written by hand so that a name can be repeated."""
    members = ['"__metadata__":{"format":"pt"}']
    members += ["%s:%s" % (json.dumps(e.name), json.dumps(e.to_json()))
                for e in entries]
    members += list(extra_members)
    text = ("{" + ",".join(members) + "}").encode("utf-8")
    return text + b" " * (-len(text) % 8)


def data_size(entries):
    return max((e.end for e in entries), default=0)


def write_safetensors(path, entries, header=None, data_bytes=None,
                      length=None, trailing=b""):
    """Writes a safetensors file; every argument can override what a valid
    writer would put there."""
    if header is None:
        header = header_bytes(entries)
    if data_bytes is None:
        data_bytes = data_size(entries)
    if length is None:
        length = len(header)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", length))
        f.write(header)
        f.write(bytes(data_bytes))
        f.write(trailing)


def write_config(outdir, config):
    with open(os.path.join(outdir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def write_sharded(outdir, entries_by_shard, weight_map):
    """Writes shards and an index mapping tensor names to shard files."""
    for shard, entries in entries_by_shard.items():
        write_safetensors(os.path.join(outdir, shard), entries)
    index = {"metadata": {"total_size": sum(data_size(e) for e in
                                            entries_by_shard.values())},
             "weight_map": weight_map}
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w",
              encoding="utf-8") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


SHARD_1 = "model-00001-of-00002.safetensors"
SHARD_2 = "model-00002-of-00002.safetensors"


def split_in_two(tensors):
    """Shards holding the first and second half of the tensors by name."""
    tensors = sorted(tensors)
    half = len(tensors) // 2
    return {SHARD_1: layout(tensors[:half]), SHARD_2: layout(tensors[half:])}


def find(entries, name):
    for entry in entries:
        if entry.name == name:
            return entry
    sys.exit("make-bad-safetensors.py: no tensor %s" % name)


# The tensors the cases tamper with; names of the tiny model.
A_NORM = "model.layers.0.input_layernorm.weight"
A_LINEAR = "model.layers.0.self_attn.kv_b_proj.weight"  # [32, 8]
AN_EXPERT = "model.layers.1.mlp.experts.3.down_proj.weight"
A_QUANTIZED = "model.layers.1.self_attn.o_proj.weight"
A_ROUTER = "model.layers.1.mlp.gate.weight"


def make(case, outdir):
    config = dict(TINY_CONFIG)
    fp8 = case.startswith("fp8-") or case == "valid-fp8"
    if fp8 and case != "fp8-undeclared":
        config["quantization_config"] = FP8_QUANTIZATION
    tensors = model_tensors(config, fp8)
    entries = layout(tensors)
    model = os.path.join(outdir, "model.safetensors")
    write_config(outdir, config)

    def single(**overrides):
        write_safetensors(model, entries, **overrides)

    if case in ("valid", "valid-fp8", "fp8-undeclared"):
        single()
    elif case == "valid-sharded":
        shards = split_in_two(tensors)
        write_sharded(outdir, shards, {e.name: shard for shard, es in
                                       shards.items() for e in es})
    elif case == "too-short":
        with open(model, "wb") as f:
            f.write(b"\x01\x02\x03")
    elif case == "header-too-long":
        # The length claims more bytes than the whole file has.
        header = header_bytes(entries)
        single(length=8 + len(header) + data_size(entries))
    elif case == "header-over-limit":
        single(length=200_000_000)
    elif case == "not-utf8":
        header = header_bytes(entries).replace(b'"pt"', b'"\xffp"')
        single(header=header)
    elif case == "not-json":
        header = header_bytes(entries)
        header = b"{'single quotes'}".ljust(len(header), b" ")
        single(header=header)
    elif case == "unknown-dtype":
        find(entries, A_NORM).dtype = "Q4"
        single()
    elif case == "overlap":
        entry = find(entries, A_NORM)
        entry.begin -= 2
        entry.end -= 2
        single()
    elif case == "hole":
        # Move the last tensor 2 bytes on and grow the data to match.
        entry = entries[-1]
        entry.begin += 2
        entry.end += 2
        single()
    elif case == "backwards":
        entry = find(entries, A_NORM)
        entry.begin, entry.end = entry.end, entry.begin
        single()
    elif case == "past-end":
        entry = entries[-1]
        entry.end += 64
        single(data_bytes=data_size(entries) - 64)
    elif case == "trailing-bytes":
        single(trailing=bytes(16))
    elif case == "size-mismatch":
        # Same offsets, but F32 needs twice the bytes of BF16.
        find(entries, A_NORM).dtype = "F32"
        single()
    elif case == "shape-overflow":
        find(entries, A_NORM).shape = [2**62, 2**62]
        single()
    elif case == "duplicate-name":
        entry = find(entries, A_NORM)
        repeat = "%s:%s" % (json.dumps(entry.name), json.dumps(entry.to_json()))
        single(header=header_bytes(entries, [repeat]))
    elif case == "missing-tensor":
        entries = layout([t for t in tensors if t[0] != AN_EXPERT])
        single()
    elif case == "wrong-shape":
        entry = find(entries, A_LINEAR)
        entry.shape = list(reversed(entry.shape))
        single()
    elif case == "wrong-dtype":
        find(entries, A_NORM).dtype = "I16"
        single()
    elif case == "fp8-missing-scale":
        entries = layout([t for t in tensors
                          if t[0] != A_QUANTIZED + "_scale_inv"])
        single()
    elif case == "fp8-scale-shape":
        scale = find(entries, A_QUANTIZED + "_scale_inv")
        scale.shape = [1, 2]
        entries = layout([(e.name, e.dtype, e.shape) for e in entries])
        single()
    elif case == "fp8-scale-dtype":
        find(entries, A_QUANTIZED + "_scale_inv").dtype = "BF16"
        entries = layout([(e.name, e.dtype, e.shape) for e in entries])
        single()
    elif case == "fp8-bf16-weight":
        # A weight the config declares quantized, stored in BF16.
        find(entries, A_QUANTIZED).dtype = "BF16"
        entries = layout([(e.name, e.dtype, e.shape) for e in entries])
        single()
    elif case == "fp8-router":
        # The router is never quantized, even in an FP8 checkpoint.
        find(entries, A_ROUTER).dtype = "F8_E4M3"
        entries = layout([(e.name, e.dtype, e.shape) for e in entries])
        single()
    elif case.startswith("index-"):
        shards = split_in_two(tensors)
        weight_map = {e.name: shard for shard, es in shards.items() for e in es}
        if case == "index-missing-shard":
            # The tensor moves to a third shard that was never written.
            shards = {shard: layout([(e.name, e.dtype, e.shape) for e in es
                                     if e.name != AN_EXPERT])
                      for shard, es in shards.items()}
            weight_map[AN_EXPERT] = "model-00003-of-00003.safetensors"
        elif case == "index-missing-tensor":
            weight_map["model.layers.0.self_attn.q_proj.weight"] = SHARD_1
        elif case == "index-escape":
            weight_map[A_NORM] = "../" + weight_map[A_NORM]
        elif case == "index-unlisted-tensor":
            del weight_map[A_NORM]
        else:
            sys.exit("make-bad-safetensors.py: unknown case '%s'" % case)
        write_sharded(outdir, shards, weight_map)
    elif case == "pickle":
        with open(os.path.join(outdir, "pytorch_model.bin"), "wb") as f:
            f.write(b"\x80\x02}q\x00.")  # An empty pickled dict.
    else:
        sys.exit("make-bad-safetensors.py: unknown case '%s' (see --list)" % case)


CASES = [
    "valid", "valid-sharded", "valid-fp8",
    "too-short", "header-too-long", "header-over-limit", "not-utf8",
    "not-json", "unknown-dtype", "overlap", "hole", "backwards", "past-end",
    "trailing-bytes", "size-mismatch", "shape-overflow", "duplicate-name",
    "index-missing-shard", "index-missing-tensor", "index-escape",
    "index-unlisted-tensor", "pickle", "missing-tensor", "wrong-shape",
    "wrong-dtype", "fp8-missing-scale", "fp8-scale-shape", "fp8-undeclared",
    "fp8-scale-dtype", "fp8-bf16-weight", "fp8-router",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", help="how to break the checkpoint")
    parser.add_argument("outdir", nargs="?", help="the folder to write "
                        "(replaced if it exists)")
    parser.add_argument("--list", action="store_true", help="list the cases")
    args = parser.parse_args()
    if args.list:
        print("\n".join(CASES))
        return
    if not args.case or not args.outdir:
        parser.error("expected CASE and OUTDIR")
    if args.case not in CASES:
        sys.exit("make-bad-safetensors.py: unknown case '%s' (see --list)"
                 % args.case)
    # lit reuses %t between runs; start clean so that an earlier case's files
    # cannot leak into this one.
    if os.path.isdir(args.outdir):
        shutil.rmtree(args.outdir)
    os.makedirs(args.outdir)
    make(args.case, args.outdir)


if __name__ == "__main__":
    main()
