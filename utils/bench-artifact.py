#!/usr/bin/env python3
"""Times an artifact's entry point directly (ctypes, no runtime): a prefill
of P tokens from an empty cache, then decode steps of one token at position
S (S = P by default; a larger S times attention over a longer cache, whose
contents do not matter for timing). Medians over several runs. Weights are
mapped copy-on-write from the checkpoint, experts in place.

    utils/bench-artifact.py model.so CHECKPOINT_DIR [--prompt P]
        [--decode-start S] [--steps N] [--runs R]
"""
import argparse
import ctypes
import json
import mmap
import os
import statistics
import struct
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("artifact")
parser.add_argument("checkpoint")
parser.add_argument("--prompt", type=int, default=64)
parser.add_argument("--decode-start", type=int, default=None)
parser.add_argument("--steps", type=int, default=16)
parser.add_argument("--runs", type=int, default=5)
args = parser.parse_args()

lib = ctypes.CDLL(os.path.abspath(args.artifact))
lib.jikji_manifest.restype = ctypes.c_char_p
manifest = json.loads(lib.jikji_manifest())
with open(os.path.join(args.checkpoint, "model.safetensors"), "rb") as f:
    mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
n = struct.unpack("<Q", mapping[:8])[0]
header = json.loads(mapping[8:8 + n])
pointers = []
for p in manifest["parameters"]:
    names = ([p["name"].replace("*", str(e)) for e in range(p["experts"])]
             if p.get("experts") else [p["name"]])
    for name in names:
        offset = 8 + n + header[name]["data_offsets"][0]
        pointers.append(ctypes.addressof(ctypes.c_char.from_buffer(mapping, offset)))
params = (ctypes.c_void_p * len(pointers))(*pointers)

V = manifest["vocab_size"]
P = args.prompt
S = P if args.decode_start is None else args.decode_start
capacity = max(P, S) + args.steps
kv = manifest["kv_cache"]


def run():
    caches = []
    for tensor in kv["tensors"]:
        count = kv["layers"] * capacity
        for d in tensor["per_token_shape"]:
            count *= d
        caches.append((ctypes.c_float * count)())
    cache_pointers = (ctypes.c_void_p * len(caches))(*[ctypes.addressof(c) for c in caches])
    prefill = 0.0
    if P:
        tokens = (ctypes.c_int64 * P)(*[(i * 7 + 3) % V for i in range(P)])
        logits = (ctypes.c_float * (P * V))()
        start = time.perf_counter()
        lib.jikji_forward(params, tokens, P, 0, cache_pointers, capacity, logits)
        prefill = time.perf_counter() - start
    one, row, steps = (ctypes.c_int64 * 1)(5), (ctypes.c_float * V)(), []
    for i in range(args.steps):
        start = time.perf_counter()
        lib.jikji_forward(params, one, 1, S + i, cache_pointers, capacity, row)
        steps.append(time.perf_counter() - start)
    return prefill, statistics.median(steps)


results = [run() for _ in range(args.runs)]
prefill = statistics.median(r[0] for r in results)
decode = statistics.median(r[1] for r in results)
cache_bytes = kv["bytes_per_token"] * (S + 1)
line = "%s: decode at position %d: %.2f ms/token (%.1f tok/s), cache read %.1f MB" % (
    os.path.basename(args.artifact), S, decode * 1e3, 1 / decode, cache_bytes / 1e6)
if P:
    line += "; prefill %d tokens %.1f ms (%.0f tok/s)" % (P, prefill * 1e3, P / prefill)
print(line)
