#!/usr/bin/env python3
"""Rewrites a reference file so that the prompt is its first P' tokens and
the rest are teacher-forced decode steps, moving the reference logits along:
prefill_logits[:, P':] join the front of decode_logits. With P' = 1 a run
feeds the prompt token by token, and must match the logits of one prefill.

    split-prompt.py IN.safetensors NEW_PROMPT_LEN OUT.safetensors
"""
import json
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
        out[name] = (entry["dtype"], entry["shape"],
                     list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw)))
    return header["__metadata__"], out


def write(path, metadata, tensors):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, shape, values) in tensors.items():
        blob = struct.pack("<%d%s" % (len(values), "f" if dtype == "F32" else "q"), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


metadata, t = read(sys.argv[1])
new_p = int(sys.argv[2])
B, width = t["tokens"][1]
P = int(metadata["prompt_len"])
S = width - P
V = t["prefill_logits"][1][2]
pre, dec = t["prefill_logits"][2], t["decode_logits"][2]
new_pre, new_dec = [], []
for b in range(B):
    rows = [pre[(b * P + i) * V:(b * P + i + 1) * V] for i in range(P)]
    rows += [dec[(b * S + i) * V:(b * S + i + 1) * V] for i in range(S)]
    for i, row in enumerate(rows):
        (new_pre if i < new_p else new_dec).extend(row)
write(sys.argv[3], {"prompt_len": str(new_p), "decode_steps": str(width - new_p), "batch": str(B)}, {
    "tokens": t["tokens"],
    "prefill_logits": ("F32", [B, new_p, V], new_pre),
    "decode_logits": ("F32", [B, width - new_p, V], new_dec),
})
