#!/usr/bin/env python3
"""Feeds one token stream to two artifacts of the same checkpoint in the
same chunks (a prompt, then calls of the sizes given, in turn) and prints
the largest relative error ||a - b|| / ||b|| of a call's logits. Chunks of
2-4 tokens at a long cache reach code that teacher forcing (a prefill, then
one token per step) never calls.

    utils/compare-artifacts.py A.so B.so CHECKPOINT_DIR --prompt 600
        --chunks 3,1,4,2 --length 1100 [--max-relative-error E]
        [--threads 2,1]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jikji_artifact import Artifact  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("first")
parser.add_argument("second")
parser.add_argument("checkpoint")
parser.add_argument("--prompt", type=int, required=True)
parser.add_argument("--chunks", required=True,
                    help="comma-separated token counts per call, cycled")
parser.add_argument("--length", type=int, required=True,
                    help="positions in all")
parser.add_argument("--max-relative-error", type=float, default=None)
parser.add_argument("--threads", default="1,1",
                    help="threads of the first and second artifact")
args = parser.parse_args()

threads = [int(t) for t in args.threads.split(",")]
first = Artifact(args.first, args.checkpoint, threads=threads[0])
second = Artifact(args.second, args.checkpoint, threads=threads[1])
vocab = first.vocab_size
stream = [(i * 7919 + 13) % vocab for i in range(args.length)]
chunks = [int(c) for c in args.chunks.split(",")]
caches = [first.new_cache(args.length), second.new_cache(args.length)]

worst, worst_at, calls, position = -1.0, None, 0, 0
sizes = [args.prompt]
while position + sum(sizes) < args.length:
    sizes.append(min(chunks[(len(sizes) - 1) % len(chunks)],
                     args.length - position - sum(sizes)))
for size in sizes:
    tokens = stream[position:position + size]
    a = first.forward(tokens, position, caches[0])
    b = second.forward(tokens, position, caches[1])
    difference = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    norm = math.sqrt(sum(y * y for y in b))
    error = difference / norm if norm else difference
    if not error <= worst:  # NaN counts as worst
        worst, worst_at = error, (position, size)
    position += size
    calls += 1

print("%d calls over %d positions; largest relative error %.4e (call of %d "
      "tokens at position %d)" % (calls, position, worst, worst_at[1],
                                  worst_at[0]))
if args.max_relative_error is not None and not worst <= args.max_relative_error:
    sys.exit(1)
