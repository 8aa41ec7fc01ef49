#!/usr/bin/env python3
"""Breaks a checkpoint or an artifact in one named way, in place, for the
runtime fault tests (runtime-faults.test). Python's standard library only.

    break-model.py retensor DIR NAME [--dtype D] [--shape A,B,...]
        Rewrites model.safetensors' header so that tensor NAME claims another
        dtype or shape of the same byte size; the data is unchanged, so the
        file stays a valid safetensors file.
    break-model.py poke DIR NAME INDEX VALUE
        Overwrites element INDEX of tensor NAME (F32, F16, BF16 or F8_E4M3)
        with VALUE: nan, -nan, inf or -inf (F8_E4M3: nan and -nan only).
    break-model.py patch FILE OLD NEW
        Replaces the one occurrence of the bytes OLD in FILE with NEW, of
        the same length (a field of an artifact's embedded manifest).
    break-model.py single FILE NAME
        Writes FILE, a safetensors file holding one F32 tensor [1] named
        NAME, where NAME may hold JSON escapes (\\u001b), so that a test
        can give a tensor a name with control characters.
"""
import argparse
import json
import os
import struct
import sys


def read_safetensors(path):
    data = open(path, "rb").read()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def write_safetensors(path, header, body):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def retensor(args):
    path = os.path.join(args.dir, "model.safetensors")
    header, body = read_safetensors(path)
    if args.name not in header:
        sys.exit("break-model: no tensor '%s' in %s" % (args.name, path))
    entry = header[args.name]
    if args.dtype:
        entry["dtype"] = args.dtype
    if args.shape:
        entry["shape"] = [int(d) for d in args.shape.split(",")]
    write_safetensors(path, header, body)


# Bit patterns of the special values, little endian.
SPECIAL = {
    "F32": {"nan": struct.pack("<I", 0x7FC00000), "inf": struct.pack("<I", 0x7F800000),
            "-inf": struct.pack("<I", 0xFF800000)},
    "F16": {"nan": struct.pack("<H", 0x7E00), "inf": struct.pack("<H", 0x7C00),
            "-inf": struct.pack("<H", 0xFC00)},
    "BF16": {"nan": struct.pack("<H", 0x7FC0), "inf": struct.pack("<H", 0x7F80),
             "-inf": struct.pack("<H", 0xFF80)},
    # e4m3fn has no infinities; S.1111.111 is its NaN, of either sign.
    "F8_E4M3": {"nan": bytes([0x7F]), "-nan": bytes([0xFF])},
}


def poke(args):
    path = os.path.join(args.dir, "model.safetensors")
    header, body = read_safetensors(path)
    entry = header.get(args.name)
    if entry is None or entry["dtype"] not in SPECIAL:
        sys.exit("break-model: no F32, F16, BF16 or F8_E4M3 tensor '%s' in %s"
                 % (args.name, path))
    if args.value not in SPECIAL[entry["dtype"]]:
        sys.exit("break-model: %s has no %s" % (entry["dtype"], args.value))
    value = SPECIAL[entry["dtype"]][args.value]
    begin, end = entry["data_offsets"]
    at = begin + args.index * len(value)
    if at + len(value) > end:
        sys.exit("break-model: element %d is outside tensor '%s'" % (args.index, args.name))
    body = body[:at] + value + body[at + len(value):]
    write_safetensors(path, header, body)


def patch(args):
    data = open(args.file, "rb").read()
    old, new = args.old.encode(), args.new.encode()
    if len(old) != len(new):
        sys.exit("break-model: OLD and NEW must have the same length")
    if data.count(old) != 1:
        sys.exit("break-model: expected one occurrence of %r in %s, found %d"
                 % (args.old, args.file, data.count(old)))
    open(args.file, "wb").write(data.replace(old, new))


def single(args):
    name = json.loads('"%s"' % args.name)
    write_safetensors(args.file, {name: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
                      struct.pack("<f", 1.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("retensor")
    p.add_argument("dir")
    p.add_argument("name")
    p.add_argument("--dtype")
    p.add_argument("--shape")
    p.set_defaults(run=retensor)
    p = commands.add_parser("poke")
    p.add_argument("dir")
    p.add_argument("name")
    p.add_argument("index", type=int)
    p.add_argument("value", choices=["nan", "-nan", "inf", "-inf"])
    p.set_defaults(run=poke)
    p = commands.add_parser("patch")
    p.add_argument("file")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(run=patch)
    p = commands.add_parser("single")
    p.add_argument("file")
    p.add_argument("name")
    p.set_defaults(run=single)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
