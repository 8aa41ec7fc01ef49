"""Calls a compiled artifact's entry point directly through ctypes, without
the runtime: weights mapped copy-on-write from a one-file checkpoint
(experts in place), float32 caches sized from the manifest. For benchmarks
and tests that need calls the runtime does not make (any start, any token
count per call)."""
import ctypes
import json
import mmap
import os
import struct


class Artifact:
    def __init__(self, artifact_path, checkpoint_dir, threads=1):
        self.lib = ctypes.CDLL(os.path.abspath(artifact_path))
        # Artifacts that run loops on threads export the count's setter.
        if hasattr(self.lib, "jikji_set_num_threads"):
            self.lib.jikji_set_num_threads(ctypes.c_int32(threads))
        self.lib.jikji_manifest.restype = ctypes.c_char_p
        self.manifest = json.loads(self.lib.jikji_manifest())
        path = os.path.join(checkpoint_dir, "model.safetensors")
        with open(path, "rb") as f:
            self._mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        n = struct.unpack("<Q", self._mapping[:8])[0]
        header = json.loads(self._mapping[8:8 + n])
        pointers = []
        for p in self.manifest["parameters"]:
            names = ([p["name"].replace("*", str(e)) for e in range(p["experts"])]
                     if p.get("experts") else [p["name"]])
            for name in names:
                offset = 8 + n + header[name]["data_offsets"][0]
                pointers.append(ctypes.addressof(
                    ctypes.c_char.from_buffer(self._mapping, offset)))
        self._params = (ctypes.c_void_p * len(pointers))(*pointers)
        self.vocab_size = self.manifest["vocab_size"]

    def new_cache(self, capacity):
        """Zeroed caches for one sequence of up to `capacity` positions."""
        kv = self.manifest["kv_cache"]
        buffers = []
        for tensor in kv["tensors"]:
            count = kv["layers"] * capacity
            for d in tensor["per_token_shape"]:
                count *= d
            buffers.append((ctypes.c_float * count)())
        pointers = (ctypes.c_void_p * len(buffers))(
            *[ctypes.addressof(b) for b in buffers])
        return {"capacity": capacity, "buffers": buffers, "pointers": pointers}

    def forward(self, tokens, start, cache):
        """Logits [len(tokens)][vocab] of `tokens` at positions from `start`."""
        count = len(tokens)
        ids = (ctypes.c_int64 * count)(*tokens)
        logits = (ctypes.c_float * (count * self.vocab_size))()
        self.lib.jikji_forward(self._params, ids, count, start,
                               cache["pointers"], cache["capacity"], logits)
        return logits

    def forward_last(self, tokens, start, cache, num_logits=1):
        """Logits [num_logits][vocab] of the last `num_logits` of `tokens`
        (jikji_forward_last_logits: generation's call, which skips the
        output head for the others); jikji_forward's where it is missing."""
        if not hasattr(self.lib, "jikji_forward_last_logits"):
            logits = self.forward(tokens, start, cache)
            return logits[(len(tokens) - num_logits) * self.vocab_size:]
        count = len(tokens)
        ids = (ctypes.c_int64 * count)(*tokens)
        logits = (ctypes.c_float * (num_logits * self.vocab_size))()
        self.lib.jikji_forward_last_logits(
            self._params, ids, count, start, cache["pointers"],
            cache["capacity"], logits, ctypes.c_int64(num_logits))
        return logits
