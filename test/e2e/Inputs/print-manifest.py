#!/usr/bin/env python3
"""Prints the manifest a compiled CPU artifact embeds (the JSON its
jikji_manifest() returns, docs/runtime-abi.md), as the artifact holds it.

    print-manifest.py ARTIFACT.so
"""
import ctypes
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: print-manifest.py ARTIFACT.so")
    artifact = ctypes.CDLL(sys.argv[1])
    manifest = artifact.jikji_manifest
    manifest.restype = ctypes.c_char_p
    sys.stdout.write(manifest().decode("utf-8"))


if __name__ == "__main__":
    main()
