#!/usr/bin/env python3
# ===- make-seeds.py - Write the fuzz targets' seed corpora ----------------===#
#
# Part of Jikji, a compiler for DeepSeek models.
#
# ===-----------------------------------------------------------------------===#
"""Writes a seed corpus for each fuzz target in fuzz/, made from the project's
own files rather than committed binaries:

  make-seeds.py OUTDIR [--shared DIR] [--compiler JIKJI_COMPILE]

OUTDIR/<target>/ gets one file per seed, for the targets json,
safetensors-header, config-json, index-json and manifest:

  safetensors-header  the first 8 + N bytes of every *.safetensors under
                      ../shared/reference and of every case of
                      utils/make-bad-safetensors.py, each behind the 8-byte
                      count of data bytes the fuzz target expects (see
                      fuzz/safetensors-header-fuzzer.cpp), plus a few
                      hand-made headers (scalars, empty tensors, metadata)
  config-json         ../shared/configs/*.json, the reference configs,
                      utils/configs/*.json and make-bad-safetensors' config
                      (plain and FP8), and variants of them
  index-json          indexes naming the two shards that
                      fuzz/index-json-fuzzer.cpp writes, valid and broken, and
                      make-bad-safetensors' index files
  manifest            the example of docs/runtime-abi.md, variants of it, and
                      with --compiler, the manifest (jikji_manifest()) of the
                      artifact that jikji-compile builds for the reference
                      tiny-v3 checkpoint
  json                all of the JSON texts above, and JSON edge cases
  mlir                every case of test/Dialect/DeepSeek/*.mlir and
                      test/Passes/*.mlir (the files split at their
                      "// -----" markers, as jikji-opt --split-input-file
                      does), valid and invalid

Every seed is also a regression input: a target must accept or reject each
one without a crash. Python 3 standard library only.
"""

import argparse
import ctypes
import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["json", "safetensors-header", "config-json", "index-json",
           "manifest", "mlir"]


class Corpus:
    """The seed folders, one per target; a seed's file name is a readable
    label, made unique."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.counts = {}
        for target in TARGETS:
            folder = os.path.join(outdir, target)
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            self.counts[target] = 0

    def add(self, target, label, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        label = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        digest = hashlib.sha1(data).hexdigest()[:8]
        with open(os.path.join(self.outdir, target, label + "-" + digest),
                  "wb") as f:
            f.write(data)
        self.counts[target] += 1
        # Every JSON text is also a seed of the plain JSON target.
        if target in ("config-json", "index-json", "manifest"):
            self.add("json", target + "-" + label, data)


# ===- safetensors ---------------------------------------------------------===#


DTYPE_SIZES = [("BOOL", 1), ("U8", 1), ("I8", 1), ("U16", 2), ("I16", 2),
               ("U32", 4), ("I32", 4), ("U64", 8), ("I64", 8), ("F16", 2),
               ("BF16", 2), ("F32", 4), ("F64", 8), ("F8_E4M3", 1),
               ("F8_E5M2", 1)]


def header_seed(data, file_size):
    """The fuzz input for a file of `file_size` bytes that starts with
    `data`: the file's first 8 + N bytes (all of `data` when it is shorter),
    behind the count of the file's remaining bytes."""
    prefix = data[:8]
    if len(data) >= 8:
        length = struct.unpack("<Q", data[:8])[0]
        prefix = data[:8 + min(length, 1 << 20)]
    return struct.pack("<Q", file_size - len(prefix)) + prefix


def read_header_seed(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) == 8:
            length = struct.unpack("<Q", head)[0]
            if length <= size - 8 and length <= (1 << 20):
                head += f.read(length)
    return header_seed(head, size)


def handmade_header(header, data_bytes):
    """A seed for a file holding `header` (a JSON value or raw text) and
    `data_bytes` data bytes."""
    text = header if isinstance(header, str) else json.dumps(header)
    raw = text.encode("utf-8")
    return struct.pack("<Q", data_bytes) + struct.pack("<Q", len(raw)) + raw


def add_safetensors_seeds(corpus, shared, bad_cases):
    for path in sorted(glob.glob(os.path.join(shared, "reference", "*",
                                              "*.safetensors"))):
        label = os.path.basename(os.path.dirname(path)) + "-" + \
            os.path.basename(path)
        corpus.add("safetensors-header", label, read_header_seed(path))
        with open(path, "rb") as f:
            length = struct.unpack("<Q", f.read(8))[0]
            corpus.add("json", "header-" + label, f.read(length))
    for case, folder in bad_cases.items():
        for path in sorted(glob.glob(os.path.join(folder, "*.safetensors"))):
            corpus.add("safetensors-header",
                       "bad-" + case + "-" + os.path.basename(path),
                       read_header_seed(path))
    handmade = {
        "empty": ({}, 0),
        "metadata-only": ({"__metadata__": {"format": "pt"}}, 0),
        "scalar": ({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}},
                   4),
        "zero-size": ({"z": {"dtype": "BF16", "shape": [0, 7],
                             "data_offsets": [0, 0]},
                       "a": {"dtype": "U8", "shape": [3],
                             "data_offsets": [0, 3]}}, 3),
        "huge-shape": ({"h": {"dtype": "F64", "shape": [1 << 31, 1 << 31, 4],
                              "data_offsets": [0, 0]}}, 0),
        "huge-offsets": ({"h": {"dtype": "U8", "shape": [1],
                                "data_offsets": [(1 << 63) - 1, (1 << 63) - 1]}},
                         0),
        "duplicate": ('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                      '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2),
        "bom": ("\ufeff{}", 0),
    }
    for label, (header, data_bytes) in handmade.items():
        corpus.add("safetensors-header", "made-" + label,
                   handmade_header(header, data_bytes))
    # One tensor of every dtype, tiling the data section.
    offset, tiled = 0, {}
    for name, size in DTYPE_SIZES:
        tiled["t_" + name] = {"dtype": name, "shape": [3, 1],
                              "data_offsets": [offset, offset + 3 * size]}
        offset += 3 * size
    corpus.add("safetensors-header", "made-every-dtype",
               handmade_header(tiled, offset))
    corpus.add("safetensors-header", "made-short", b"\0" * 8 + b"\x02\0\0")
    corpus.add("safetensors-header", "made-length-past-end",
               struct.pack("<QQ", 0, 1 << 40) + b"{}")


# ===- config.json ----------------------------------------------------------===#


def add_config_seeds(corpus, shared, bad_cases):
    paths = sorted(glob.glob(os.path.join(shared, "configs", "*.json")))
    paths += sorted(glob.glob(os.path.join(shared, "reference", "*",
                                           "config.json")))
    paths += sorted(glob.glob(os.path.join(ROOT, "utils", "configs", "*.json")))
    for case in ("valid", "valid-fp8"):
        if case in bad_cases:
            paths.append(os.path.join(bad_cases[case], "config.json"))
    configs = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        label = os.path.basename(os.path.dirname(path)) + "-" + \
            os.path.basename(path)
        corpus.add("config-json", label, data)
        try:
            configs.append((label, json.loads(data)))
        except ValueError:
            pass
    # Variants that take the parser down its other branches: the defaults,
    # the cross-field checks, the optional blocks.
    for label, config in configs[:3]:
        variants = {
            "minimal": {k: v for k, v in config.items() if k in (
                "model_type", "vocab_size", "hidden_size", "intermediate_size",
                "moe_intermediate_size", "num_hidden_layers",
                "num_attention_heads", "n_routed_experts",
                "num_experts_per_tok", "kv_lora_rank", "qk_nope_head_dim",
                "qk_rope_head_dim", "v_head_dim", "max_position_embeddings",
                "rms_norm_eps", "n_shared_experts", "q_lora_rank")},
            "odd-rope": dict(config, qk_rope_head_dim=7),
            "topk-group": dict(config, topk_group=1000),
            "yarn": dict(config, rope_scaling={
                "type": "yarn", "factor": 40, "beta_fast": 32, "beta_slow": 1,
                "mscale": 1.0, "mscale_all_dim": 1.0,
                "original_max_position_embeddings": 4096}),
            "rope-type": dict(config, rope_scaling={
                "rope_type": "yarn", "factor": 1,
                "original_max_position_embeddings": 4096}),
            "fp8": dict(config, quantization_config={
                "activation_scheme": "dynamic", "fmt": "e4m3",
                "quant_method": "fp8", "weight_block_size": [128, 128],
                "scale_fmt": "ue8m0"}),
            "eos-list": dict(config, eos_token_id=[1, 2], bos_token_id=None),
            "v32": dict(config, model_type="deepseek_v32"),
            "greedy": dict(config, topk_method="greedy", n_group=1,
                           topk_group=1, scoring_func="softmax"),
            "limits": dict(config, hidden_size=1 << 24, num_hidden_layers=1024,
                           n_routed_experts=4096, vocab_size=1 << 24),
        }
        for name, variant in variants.items():
            corpus.add("config-json", label + "-" + name,
                       json.dumps(variant, indent=1))


# ===- model.safetensors.index.json -----------------------------------------===#

# What fuzz/index-json-fuzzer.cpp puts in its folder.
FUZZ_SHARDS = {
    "model-00001-of-00002.safetensors": ["model.embed_tokens.weight",
                                         "model.norm.weight"],
    "model-00002-of-00002.safetensors": ["lm_head.weight"],
}


def add_index_seeds(corpus, bad_cases):
    weight_map = {tensor: shard for shard, tensors in FUZZ_SHARDS.items()
                  for tensor in tensors}
    shard_1, shard_2 = sorted(FUZZ_SHARDS)
    valid = {"metadata": {"total_size": 36}, "weight_map": weight_map}
    indexes = {
        "valid": valid,
        "valid-no-metadata": {"weight_map": weight_map},
        "missing-shard": {"weight_map": dict(
            weight_map, **{"lm_head.weight": "model-00003-of-00003.safetensors"})},
        "missing-tensor": {"weight_map": dict(weight_map, extra=shard_1)},
        "unlisted-tensor": {"weight_map": {
            k: v for k, v in weight_map.items() if k != "model.norm.weight"}},
        "wrong-shard": {"weight_map": dict(
            weight_map, **{"model.norm.weight": shard_2})},
        "escape": {"weight_map": dict(
            weight_map, **{"lm_head.weight": "../" + shard_2})},
        "absolute": {"weight_map": dict(
            weight_map, **{"lm_head.weight": "/etc/passwd"})},
        "dot": {"weight_map": dict(weight_map, **{"lm_head.weight": "."})},
        "not-string": {"weight_map": dict(weight_map, **{"lm_head.weight": 2})},
        "empty-map": {"weight_map": {}},
        "no-map": {"metadata": {}},
        "array": [weight_map],
        "index-as-shard": {"weight_map": dict(
            weight_map, **{"lm_head.weight": "model.safetensors.index.json"})},
    }
    for label, index in indexes.items():
        corpus.add("index-json", label, json.dumps(index, indent=2))
    corpus.add("index-json", "duplicate-key",
               '{"weight_map": {"lm_head.weight": "%s", "lm_head.weight": "%s"}}'
               % (shard_2, shard_2))
    for case, folder in bad_cases.items():
        path = os.path.join(folder, "model.safetensors.index.json")
        if os.path.exists(path):
            with open(path, "rb") as f:
                corpus.add("index-json", "bad-" + case, f.read())


# ===- manifest -------------------------------------------------------------===#


def abi_example():
    """The JSON example under "## The manifest" in docs/runtime-abi.md."""
    path = os.path.join(ROOT, "docs", "runtime-abi.md")
    if not os.path.exists(path):
        return None
    text = open(path, encoding="utf-8").read()
    start = text.find("```json", text.find("## The manifest"))
    if start < 0:
        return None
    start = text.index("\n", start) + 1
    return text[start:text.index("```", start)]


def artifact_manifest(compiler, checkpoint):
    """The manifest of the artifact `compiler` builds for `checkpoint`, read
    through the artifact's jikji_manifest(), or None (with a note) when that
    fails: the seeds must not depend on the compiler working."""
    with tempfile.TemporaryDirectory(prefix="jikji-seeds-") as tmp:
        artifact = os.path.join(tmp, "model.so")
        result = subprocess.run(
            [compiler, checkpoint, "--target=cpu", "-o", artifact],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0 or not os.path.exists(artifact):
            print("make-seeds.py: note: no artifact manifest seed (%s failed: "
                  "%s)" % (os.path.basename(compiler),
                           result.stderr.strip().splitlines()[-1:]),
                  file=sys.stderr)
            return None
        try:
            library = ctypes.CDLL(artifact)
            library.jikji_manifest.restype = ctypes.c_char_p
            return library.jikji_manifest()
        except (OSError, AttributeError) as error:
            print("make-seeds.py: note: no artifact manifest seed (%s)" % error,
                  file=sys.stderr)
            return None


def add_manifest_seeds(corpus, shared, compiler, outdir):
    example = abi_example()
    manifests = []
    if example:
        corpus.add("manifest", "runtime-abi-example", example)
        manifests.append(("runtime-abi", json.loads(example)))
    if compiler:
        # The artifact takes seconds to build: keep the manifest between runs
        # unless the compiler changed.
        cached = os.path.join(outdir, "tiny-v3.manifest.json")
        if not (os.path.exists(cached) and
                os.path.getmtime(cached) >= os.path.getmtime(compiler)):
            data = artifact_manifest(
                compiler, os.path.join(shared, "reference", "tiny-v3"))
            if data:
                with open(cached, "wb") as f:
                    f.write(data)
        if os.path.exists(cached):
            with open(cached, "rb") as f:
                data = f.read()
            corpus.add("manifest", "tiny-v3-artifact", data)
            manifests.append(("tiny-v3", json.loads(data)))
    for label, manifest in manifests:
        cache = manifest.get("kv_cache", {})
        variants = {
            "newer": dict(manifest, format_version=2),
            "cuda-no-eos": {k: v for k, v in dict(manifest, target="cuda").items()
                            if k != "eos_token_id"},
            "bad-digest": dict(manifest, config_digest="fnv1a64:XYZ"),
            "stacked": dict(manifest, parameters=[
                {"name": "model.layers.1.mlp.experts.*.up_proj.weight",
                 "dtype": "BF16", "shape": [4, 8, 16], "experts": 4},
                {"name": "*", "dtype": "F32", "shape": [2, 1], "experts": 2}]),
            "stacked-bad-name": dict(manifest, parameters=[
                {"name": "a.*b", "dtype": "F32", "shape": [2, 1],
                 "experts": 2}]),
            "no-parameters": dict(manifest, parameters=[]),
            "cache-overflow": dict(manifest, kv_cache=dict(
                cache, layers=1 << 31, values_per_token_per_layer=1 << 56,
                tensors=[{"name": "k", "per_token_shape": [1 << 31, 1 << 25]}])),
            "cache-mismatch": dict(manifest, kv_cache=dict(
                cache, bytes_per_token=1)),
            "eos-out-of-range": dict(manifest, eos_token_id=1 << 40),
            "entry-not-identifier": dict(manifest,
                                         entry_points={"forward": "9 lives"}),
        }
        for name, variant in variants.items():
            corpus.add("manifest", label + "-" + name,
                       json.dumps(variant, indent=1))


# ===- plain JSON -------------------------------------------------------------===#

JSON_EDGE_CASES = [
    "null", "true", "false", "0", "-0", "-0.0e-0", "1E+2", "0.1e1",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "1e308", "1e309", "4.9e-324", "1e-400", "[]", "{}", "[[]]", '""',
    '"\\u0000"', '"\\ud83d\\ude00"', '"\\ud83d"', '"\\ude00"', '"\\uD834x"',
    '"\\/\\b\\f\\n\\r\\t\\"\\\\"', '"\u00e9\u4e2d\U0001f600"',
    "\ufeff{}", ' \t\r\n{"a" : [1 , 2] } ', '{"a":1,"a":2}', "[1,]",
    '{"a":1,}', "01", "1.", ".5", "+1", "-", "tru", "nul", "[1 2]",
    '{"a" 1}', '{1:2}', "// comment\n1", "/* c */ 1", "[" * 64 + "]" * 64,
    "[" * 65 + "]" * 65, '{"a":' * 64 + "1" + "}" * 64, "1 2",
    '"unterminated', '"tab\tinside"', "NaN", "Infinity", "-Infinity",
]


def add_json_seeds(corpus):
    for i, text in enumerate(JSON_EDGE_CASES):
        corpus.add("json", "edge-%02d" % i, text)
    for label, data in [("overlong-slash", b'"\xc0\xaf"'),
                        ("surrogate-utf8", b'"\xed\xa0\x80"'),
                        ("above-max", b'"\xf4\x90\x80\x80"'),
                        ("truncated", b'"\xe4\xb8"'),
                        ("latin1", b'"\xe9"')]:
        corpus.add("json", "utf8-" + label, data)


# ===- main -----------------------------------------------------------------===#


def add_mlir_seeds(corpus):
    """The deepseek dialect's test cases, one seed per split."""
    paths = sorted(glob.glob(os.path.join(ROOT, "test", "Dialect", "DeepSeek", "*.mlir")) +
                   glob.glob(os.path.join(ROOT, "test", "Passes", "*.mlir")))
    for path in paths:
        with open(path) as f:
            cases = f.read().split("// -----")
        label = os.path.splitext(os.path.basename(path))[0]
        for i, case in enumerate(cases):
            corpus.add("mlir", "%s-%02d" % (label, i), case)


def make_bad_cases(tmp):
    """{case: folder} for every case of utils/make-bad-safetensors.py."""
    script = os.path.join(ROOT, "utils", "make-bad-safetensors.py")
    if not os.path.exists(script):
        return {}
    cases = subprocess.run([sys.executable, script, "--list"],
                           capture_output=True, text=True, check=True)
    folders = {}
    for case in cases.stdout.split():
        folder = os.path.join(tmp, case)
        subprocess.run([sys.executable, script, case, folder], check=True,
                       stdout=subprocess.DEVNULL)
        folders[case] = folder
    return folders


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="where the <target>/ folders go")
    parser.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"),
                        help="the shared/ folder (configs, reference)")
    parser.add_argument("--compiler", help="jikji-compile, to add the manifest "
                        "of the artifact it builds for reference/tiny-v3")
    args = parser.parse_args()

    os.makedirs(args.outdir, exist_ok=True)
    corpus = Corpus(args.outdir)
    with tempfile.TemporaryDirectory(prefix="jikji-seeds-") as tmp:
        bad_cases = make_bad_cases(tmp)
        add_safetensors_seeds(corpus, args.shared, bad_cases)
        add_config_seeds(corpus, args.shared, bad_cases)
        add_index_seeds(corpus, bad_cases)
    compiler = args.compiler
    if compiler and not os.access(compiler, os.X_OK):
        compiler = None
    add_manifest_seeds(corpus, args.shared, compiler, args.outdir)
    add_json_seeds(corpus)
    add_mlir_seeds(corpus)
    print("make-seeds.py: " + ", ".join(
        "%s %d" % (target, corpus.counts[target]) for target in TARGETS))


if __name__ == "__main__":
    main()
