"""Runs a CUDA artifact's host code on the CPU against a fake runtime that
records, instead of running, each kernel launch (no GPU, no driver). It
checks the launch ABI of docs/runtime-abi.md from the runtime's side:

- every launch names a kernel of the embedded PTX and passes exactly as
  many arguments as that kernel's .entry declares, none of them NULL;
- grids are one-dimensional with 1..1024 threads per block;
- every buffer the artifact allocates is freed by the end of the call, and
  nothing is freed twice or without having been allocated;
- `synchronize` follows every launch.

The kernels do not run, so the buffers they would fill stay zero; the host
code reads none of them (the router's bookkeeping runs in kernels), so its
control flow does not depend on them.

Usage: fake-cuda-runtime.py ARTIFACT NUM_TOKENS [START]
(the cache holds START + NUM_TOKENS positions).
"""
import ctypes
import json
import math
import os
import re
import sys

artifact = ctypes.CDLL(os.path.abspath(sys.argv[1]))
num_tokens = int(sys.argv[2])
start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
artifact.jikji_manifest.restype = ctypes.c_char_p
manifest = json.loads(artifact.jikji_manifest())


def embedded(name):
    function = getattr(artifact, name)
    function.restype = ctypes.c_void_p
    function.argtypes = [ctypes.POINTER(ctypes.c_uint64)]
    size = ctypes.c_uint64()
    address = function(ctypes.byref(size))
    return ctypes.string_at(address, size.value).decode()


# The parameter count of every kernel, from its .entry declaration.
entries = {}
for match in re.finditer(r"\.visible \.entry (\w+)\((.*?)\)", embedded("jikji_cuda_ptx"), re.S):
    entries[match.group(1)] = len(re.findall(r"\.param ", match.group(2)))

problems = []
live = {}  # address -> buffer
counts = {"alloc": 0, "free": 0, "launch": 0, "synchronize": 0}
names = set()
pending_sync = [False]

ALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
LAUNCH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p,
                          *([ctypes.c_int64] * 6), ctypes.c_int32,
                          ctypes.POINTER(ctypes.c_void_p), ctypes.c_int64)
SYNCHRONIZE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def alloc(context, size):
    counts["alloc"] += 1
    if size < 1:
        problems.append("alloc of %d bytes" % size)
        return None
    buffer = ctypes.create_string_buffer(size)
    live[ctypes.addressof(buffer)] = buffer
    return ctypes.addressof(buffer)


def free(context, pointer):
    counts["free"] += 1
    if live.pop(pointer or 0, None) is None:
        problems.append("free of a pointer not allocated: %r" % pointer)


def launch(context, name, gx, gy, gz, bx, by, bz, shared, params, count):
    counts["launch"] += 1
    name = name.decode()
    names.add(name)
    if pending_sync[0]:
        problems.append("launch of %s before synchronizing the previous one" % name)
    pending_sync[0] = True
    if name not in entries:
        problems.append("launch of %s, which the PTX does not define" % name)
    elif entries[name] != count:
        problems.append("%s takes %d parameters, launched with %d" % (name, entries[name], count))
    if gx < 0 or (gy, gz, by, bz) != (1, 1, 1, 1) or not 1 <= bx <= 1024 or shared != 0:
        problems.append("%s: grid (%d,%d,%d) block (%d,%d,%d) shared %d" % (name, gx, gy, gz, bx, by, bz, shared))
    for i in range(count):
        if not params[i]:
            problems.append("%s: parameter %d is NULL" % (name, i))


def synchronize(context):
    counts["synchronize"] += 1
    pending_sync[0] = False


class Api(ctypes.Structure):
    _fields_ = [("context", ctypes.c_void_p), ("alloc", ALLOC), ("free", FREE),
                ("launch", LAUNCH), ("synchronize", SYNCHRONIZE)]


api = Api(None, ALLOC(alloc), FREE(free), LAUNCH(launch), SYNCHRONIZE(synchronize))
artifact.jikji_cuda_bind(ctypes.byref(api))

# Zero-filled stand-ins for the weights, the caches and the logits.
sizes = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1}
keep = []


def zeros(size):
    buffer = ctypes.create_string_buffer(max(size, 1))
    keep.append(buffer)
    return ctypes.addressof(buffer)


pointers = []
for parameter in manifest["parameters"]:
    experts = parameter.get("experts", 0)
    shape = parameter["shape"][1:] if experts else parameter["shape"]
    size = math.prod(shape) * sizes[parameter["dtype"]]
    pointers += [zeros(size) for _ in range(max(experts, 1))]
table = (ctypes.c_void_p * len(pointers))(*pointers)
capacity = start + num_tokens
cache = manifest["kv_cache"]
caches = (ctypes.c_void_p * len(cache["tensors"]))(*[
    zeros(4 * cache["layers"] * capacity * math.prod(t["per_token_shape"]))
    for t in cache["tensors"]])
tokens = (ctypes.c_int64 * num_tokens)(*range(num_tokens))
logits = zeros(4 * num_tokens * manifest["vocab_size"])

artifact.jikji_forward.restype = ctypes.c_int32
artifact.jikji_forward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                   ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                   ctypes.c_void_p]
status = artifact.jikji_forward(table, tokens, num_tokens, start, caches, capacity, logits)

if pending_sync[0]:
    problems.append("the last launch was not synchronized")
if live:
    problems.append("%d buffers not freed" % len(live))
print("status:", status)
print("kernels launched: %d of %d" % (len(names), len(entries)))
print("launches == synchronizations:", counts["launch"] == counts["synchronize"])
print("allocations == frees:", counts["alloc"] == counts["free"])
for problem in problems[:20]:
    print("problem:", problem)
print("problems:", len(problems))
