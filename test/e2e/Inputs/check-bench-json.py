#!/usr/bin/env python3
"""Checks jikji-bench --json output (on stdin) for a run on CHECKPOINT.

    check-bench-json.py CHECKPOINT --batches 1,2 --prefill 16 [--artifact SO]

Every line must be a JSON object. It checks the machine lines (bandwidth
and sgemm measured, OpenBLAS's configuration named), one run line per
decode batch and one prefill line per thread count in effect, with sane
values (tokens_per_s > 0, both fractions in (0, 2)), and the memory line.
The bytes and FLOPs of each run line are recomputed here from config.json
and the safetensors header, independently of jikji-bench's StepCost: the
non-expert weights once per step, one embedding row per token, the expected
distinct routed experts, the latent cache; 2 x activated matrix parameters
per token, the output head for the tokens that need logits, and attention
over the latent space. Never checks a speed. With --artifact (the compiled
model jikji-bench ran), each decode row's one_call_per_step must say whether
a batch step was one call, which it is when the artifact exports
jikji_forward_batch (and always at batch 1).
"""
import argparse
import ctypes
import json
import struct
import sys


def fail(message):
    sys.exit("check-bench-json: " + message)


parser = argparse.ArgumentParser()
parser.add_argument("checkpoint")
parser.add_argument("--batches", required=True)
parser.add_argument("--prefill", type=int, required=True)
parser.add_argument("--artifact")
args = parser.parse_args()
batched_entry_point = (hasattr(ctypes.CDLL(args.artifact), "jikji_forward_batch")
                       if args.artifact else None)

lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
objects = []
for line in lines:
    try:
        value = json.loads(line)
    except ValueError as error:
        fail("not JSON: %r (%s)" % (line, error))
    if not isinstance(value, dict):
        fail("not an object: %r" % line)
    objects.append(value)

machine = [o for o in objects if o.get("kind") == "machine"]
runs = [o for o in objects if o.get("kind") == "run"]
memory = [o for o in objects if o.get("kind") == "memory"]

bandwidth = [o for o in machine if o.get("measurement") == "read_bandwidth"]
if not any(o["threads"] == 1 and o["gb_per_s"] > 0 for o in bandwidth):
    fail("no positive 1-thread read bandwidth line")
sgemm = [o for o in machine if o.get("measurement") == "sgemm"]
if not any(o.get("available") and o["gflop_per_s"] > 0 and
           o["openblas_config"].startswith("OpenBLAS") for o in sgemm):
    fail("no sgemm line with a positive rate and OpenBLAS's configuration")
if not any(o.get("measurement") == "host" and o.get("cpus", 0) >= 1 for o in machine):
    fail("no host line")

# The checkpoint, read independently of the runtime.
with open(args.checkpoint + "/config.json") as f:
    config = json.load(f)
with open(args.checkpoint + "/model.safetensors", "rb") as f:
    size = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(size))
header.pop("__metadata__", None)
element = {"BF16": 2, "F32": 4, "F8_E4M3": 1}
shared_bytes = shared_flops = head_flops = embedding_row = 0
expert_bytes, expert_flops = {}, 0
E, k = config["n_routed_experts"], config["num_experts_per_tok"]
for name, tensor in header.items():
    count = 1
    for d in tensor["shape"]:
        count *= d
    nbytes = count * element[tensor["dtype"]]
    matrix = len(tensor["shape"]) == 2 and not name.endswith("_scale_inv")
    if ".mlp.experts." in name:
        layer = name.split(".mlp.experts.")[0]
        expert_bytes[layer] = expert_bytes.get(layer, 0) + nbytes / E
        expert_flops += 2 * count * k / E if matrix else 0
    elif name == "model.embed_tokens.weight":
        embedding_row = tensor["shape"][1] * element[tensor["dtype"]]
    else:
        shared_bytes += nbytes
        if name == "lm_head.weight":
            head_flops = 2 * count
        elif matrix:
            shared_flops += 2 * count
layers = config["num_hidden_layers"]
latent, rope = config["kv_lora_rank"], config["qk_rope_head_dim"]
cache_per_position = layers * (latent + rope) * 4
attention_per_pair = 2 * config["num_attention_heads"] * ((latent + rope) + latent) * layers


def distinct(tokens):
    return E * (1 - (1 - k / E) ** tokens)


def expected_work(run):
    if run["phase"] == "prefill":
        t = run["tokens"]
        nbytes = (shared_bytes + t * embedding_row + cache_per_position * t +
                  distinct(t) * sum(expert_bytes.values()))
        flops = (t * (shared_flops + expert_flops) + head_flops +
                 t * (t + 1) / 2 * attention_per_pair)
        return nbytes, flops
    b = run["batch"]
    steps = run["tokens"] // b
    nbytes = flops = 0
    for step in range(steps):
        attended = run["first_position"] + step + 1
        nbytes += (shared_bytes + b * embedding_row + b * cache_per_position * attended +
                   distinct(b) * sum(expert_bytes.values()))
        flops += b * (shared_flops + expert_flops + head_flops + attended * attention_per_pair)
    return nbytes, flops


def close(a, b):
    return abs(a - b) <= 1e-3 * abs(b)


batches = [int(b) for b in args.batches.split(",")]
threads_in_effect = sorted({r["threads"] for r in runs})
if not threads_in_effect:
    fail("no run lines")
for threads in threads_in_effect:
    rows = [r for r in runs if r["threads"] == threads]
    got = sorted((r["phase"], r["batch"]) for r in rows)
    want = sorted([("decode", b) for b in batches] + [("prefill", 1)])
    if got != want:
        fail("threads %d: rows %s, expected %s" % (threads, got, want))
for run in runs:
    for field in ("model", "phase", "batch", "threads", "threads_requested",
                  "tokens_per_s", "bandwidth_fraction", "flops_fraction") + (
                      ("prompt_tokens", "first_position") if run.get("phase") == "decode" else ()):
        if field not in run:
            fail("run line without '%s': %s" % (field, run))
    if not 1 <= run["threads"] <= run["threads_requested"]:
        fail("threads in effect outside [1, requested]: %s" % run)
    if not run["tokens_per_s"] > 0:
        fail("tokens_per_s not positive: %s" % run)
    for field in ("bandwidth_fraction", "flops_fraction"):
        if not (isinstance(run[field], (int, float)) and 0 < run[field] < 2):
            fail("%s not in (0, 2): %s" % (field, run))
    if run["phase"] == "decode" and (run["first_position"] - run["prompt_tokens"]) % (
            run["tokens"] // run["batch"]) != 0:
        fail("a decode run starts at %d, not the prompt plus whole runs" % run["first_position"])
    if run["phase"] == "decode":
        if not isinstance(run.get("one_call_per_step"), bool):
            fail("decode line without a boolean one_call_per_step: %s" % run)
        if batched_entry_point is not None and run["one_call_per_step"] != (
                run["batch"] == 1 or batched_entry_point):
            fail("decode batch %d: one_call_per_step %s, but the artifact %s "
                 "jikji_forward_batch" % (run["batch"], run["one_call_per_step"],
                                          "exports" if batched_entry_point else "has no"))
    if run["phase"] == "prefill" and run["tokens"] != args.prefill:
        fail("prefill of %d tokens, expected %d" % (run["tokens"], args.prefill))
    nbytes, flops = expected_work(run)
    if not close(run["bytes"], nbytes) or not close(run["flops"], flops):
        fail("%s batch %d: bytes %g and flops %g, recomputed %g and %g" %
             (run["phase"], run["batch"], run["bytes"], run["flops"], nbytes, flops))

if len(memory) != 1:
    fail("expected one memory line, found %d" % len(memory))
m = memory[0]
if not (m["peak_resident_mib"] > 0 and m["weights_mib"] > 0 and
        isinstance(m["within_limit"], bool)):
    fail("memory line: %s" % m)
fp8_weights = sum(1 for tensor in header.values() if tensor["dtype"] == "F8_E4M3")
print("check-bench-json: %d lines, %d run rows, threads %s: ok (%d F8_E4M3 weights%s)" %
      (len(objects), len(runs), threads_in_effect, fp8_weights,
       "" if batched_entry_point is None else
       ", jikji_forward_batch %s" % ("exported" if batched_entry_point else "not exported")))
