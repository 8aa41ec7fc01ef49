#!/usr/bin/env python3
"""Times an artifact's entry point directly (ctypes, no runtime): a prefill
of P tokens from an empty cache, then decode steps of one token at position
S (S = P by default; a larger S times attention over a longer cache, whose
contents do not matter for timing). Medians over several runs. Weights are
mapped copy-on-write from the checkpoint, experts in place.

    utils/bench-artifact.py model.so CHECKPOINT_DIR [--prompt P]
        [--decode-start S] [--steps N] [--runs R] [--threads T]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jikji_artifact import Artifact  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("artifact")
parser.add_argument("checkpoint")
parser.add_argument("--prompt", type=int, default=64)
parser.add_argument("--decode-start", type=int, default=None)
parser.add_argument("--steps", type=int, default=16)
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()

artifact = Artifact(args.artifact, args.checkpoint, threads=args.threads)
V = artifact.vocab_size
P = args.prompt
S = P if args.decode_start is None else args.decode_start
capacity = max(P, S) + args.steps


def run():
    cache = artifact.new_cache(capacity)
    prefill = 0.0
    if P:
        tokens = [(i * 7 + 3) % V for i in range(P)]
        start = time.perf_counter()
        artifact.forward(tokens, 0, cache)
        prefill = time.perf_counter() - start
    steps = []
    for i in range(args.steps):
        start = time.perf_counter()
        artifact.forward([5], S + i, cache)
        steps.append(time.perf_counter() - start)
    return prefill, statistics.median(steps)


results = [run() for _ in range(args.runs)]
prefill = statistics.median(r[0] for r in results)
decode = statistics.median(r[1] for r in results)
cache_bytes = artifact.manifest["kv_cache"]["bytes_per_token"] * (S + 1)
line = "%s: decode at position %d: %.2f ms/token (%.1f tok/s), cache read %.1f MB" % (
    os.path.basename(args.artifact), S, decode * 1e3, 1 / decode, cache_bytes / 1e6)
if P:
    line += "; prefill %d tokens %.1f ms (%.0f tok/s)" % (P, prefill * 1e3, P / prefill)
print(line)
