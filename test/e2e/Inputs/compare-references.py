#!/usr/bin/env python3
"""Compares two reference files: relative error of the logits tensors
within TOL, and identical greedy tokens. Exits 1 on a difference.

    compare-references.py A.safetensors B.safetensors TOL
"""
import json
import math
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        fmt = "f" if entry["dtype"] == "F32" else "q"
        out[name] = struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw)
    return out


a, b, tolerance = read(sys.argv[1]), read(sys.argv[2]), float(sys.argv[3])
ok = True
for name in ("prefill_logits", "decode_logits"):
    x, y = a[name], b[name]
    error = math.sqrt(sum((p - q) ** 2 for p, q in zip(x, y)) / sum(q * q for q in y))
    agree = len(x) == len(y) and error <= tolerance
    ok &= agree
    print("%s %s (relative error %.2e)" % (name, "agree" if agree else "DIFFER", error))
same = a["greedy_tokens"] == b["greedy_tokens"]
ok &= same
print("greedy_tokens %s" % ("agree" if same else "DIFFER"))
sys.exit(0 if ok else 1)
