#!/usr/bin/env python3
"""Times several artifacts against each other in one process, their calls
interleaved (one call of each in turn), so that every artifact meets the
same load on a shared machine, and reports each one's per-call times as
CPU time of this process (time.process_time: what the artifact's threads
computed, without the time another job held the CPU) and as wall time.
Use it for before/after ratios; use jikji-bench for absolute figures.

    utils/time-artifacts.py ARTIFACT:CHECKPOINT_DIR [...]
        [--phase decode|prefill] [--prompt P] [--calls N] [--threads T]

decode: each call is one decode step (position 1, 2, ...) after a 1-token
prefill; prefill: each call is a P-token prefill on a fresh cache, asking for the last token's logits only (as
generation and jikji-bench do).
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jikji_artifact import Artifact  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("artifacts", nargs="+", metavar="ARTIFACT:CHECKPOINT_DIR")
parser.add_argument("--phase", choices=["decode", "prefill"], default="decode")
parser.add_argument("--prompt", type=int, default=32,
                    help="prefill length (--phase=prefill)")
parser.add_argument("--calls", type=int, default=16)
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()

runs = []
for spec in args.artifacts:
    path, sep, checkpoint = spec.rpartition(":")
    if not sep or not path:
        parser.error("expected ARTIFACT:CHECKPOINT_DIR, found %r" % spec)
    artifact = Artifact(path, checkpoint, threads=args.threads)
    runs.append({"name": os.path.basename(path), "artifact": artifact,
                 "cpu": [], "wall": []})

if args.phase == "decode":
    for run in runs:
        run["cache"] = run["artifact"].new_cache(args.calls + 2)
        run["artifact"].forward([3], 0, run["cache"])


def call(run, index):
    artifact = run["artifact"]
    if args.phase == "decode":
        artifact.forward([5], 1 + index, run["cache"])
    else:
        cache = artifact.new_cache(args.prompt)
        tokens = [(i * 7 + 3) % artifact.vocab_size for i in range(args.prompt)]
        artifact.forward_last(tokens, 0, cache)


for index in range(args.calls):
    for run in runs:
        cpu, wall = time.process_time(), time.perf_counter()
        call(run, index)
        run["cpu"].append(time.process_time() - cpu)
        run["wall"].append(time.perf_counter() - wall)

what = ("decode step" if args.phase == "decode"
        else "prefill of %d tokens" % args.prompt)
base = statistics.median(runs[0]["cpu"])
for run in runs:
    cpu = statistics.median(run["cpu"])
    print("%s: %s, %d calls, %d thread(s): CPU time median %.1f ms (min %.1f), "
          "%.2fx the first; wall median %.1f ms"
          % (run["name"], what, args.calls, args.threads, cpu * 1e3,
             min(run["cpu"]) * 1e3, cpu / base,
             statistics.median(run["wall"]) * 1e3))
