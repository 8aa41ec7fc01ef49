#!/usr/bin/env python3
"""Says what an FP8 checkpoint holds, one line per folder: the number of
F8_E4M3 weights, whether every scale is a power of two, and layer 0's query
projection (q_a_proj, or q_proj without query LoRA) with its scales' shape.

    describe-fp8-checkpoint.py FOLDER...
"""
import json
import math
import os
import struct
import sys


def describe(folder):
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(length))
        base = 8 + length
        weights, powers_of_two = 0, True
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            if entry["dtype"] == "F8_E4M3":
                weights += 1
            if name.endswith("_scale_inv"):
                begin, end = entry["data_offsets"]
                f.seek(base + begin)
                scales = struct.unpack("<%df" % ((end - begin) // 4), f.read(end - begin))
                powers_of_two &= all(math.frexp(s)[0] == 0.5 for s in scales)
    projection = next(p for p in ("q_a_proj", "q_proj")
                      if "model.layers.0.self_attn.%s.weight" % p in header)
    name = "model.layers.0.self_attn.%s.weight" % projection
    print("%s: %d F8_E4M3 weights, scales %s, %s %s scales %s" % (
        os.path.basename(folder), weights, "powers of two" if powers_of_two else "float32",
        projection, json.dumps(header[name]["shape"]),
        json.dumps(header[name + "_scale_inv"]["shape"])))


for folder in sys.argv[1:]:
    describe(folder)
