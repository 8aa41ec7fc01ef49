#!/usr/bin/env python3
"""Adds one 1-element BF16 tensor named NAME (JSON-escaped control
characters allowed) to DIR/model.safetensors, for tests of what the tools
print about tensors they do not use.

    add-tensor.py DIR NAME
"""
import json
import struct
import sys

path = sys.argv[1] + "/model.safetensors"
name = json.loads('"' + sys.argv[2] + '"')
with open(path, "rb") as f:
    data = f.read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
payload = data[8 + n:]
header[name] = {"dtype": "BF16", "shape": [1],
                "data_offsets": [len(payload), len(payload) + 2]}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + payload + b"\0\0")
