"""Runs a CUDA artifact's host code on the CPU against a fake runtime that
records, instead of running, each kernel launch (no GPU, no driver). It
checks the launch ABI of docs/runtime-abi.md from the runtime's side:

- every launch names a kernel of the embedded PTX and passes exactly as
  many arguments as that kernel's .entry declares, none of them NULL;
- grids are one-dimensional with 1..1024 threads per block;
- every buffer the artifact allocates is freed by the end of the call, and
  nothing is freed twice or without having been allocated;
- host code never touches a buffer a launched kernel may use before it has
  called `synchronize`: every buffer (weights, caches, logits, the
  artifact's allocations) has pages of its own, and a launch makes the
  pages of each buffer its arguments point into inaccessible until the
  next `synchronize`, as does an allocation for its new buffer (the
  runtime zeroes it on the stream, and it may be one that earlier kernels
  still use), so host code that reads or writes one too early faults (a
  crash, so no "status:" line). Weights and the parameter table are
  exempt: kernels only read them.

The kernels do not run, so the buffers they would fill stay zero; the host
code reads none of them (the router's bookkeeping runs in kernels), so its
control flow does not depend on them.

Usage: fake-cuda-runtime.py ARTIFACT NUM_TOKENS [START]
(the cache holds START + NUM_TOKENS positions), or
fake-cuda-runtime.py ARTIFACT --batch B START: one jikji_forward_batch
step of B slots of START + B positions each, slot b at position START + b.
The positions live in a buffer of their own, which kernels read: host code
that reads one without waiting faults too.
"""
import ctypes
import faulthandler
import json
import math
import os
import re
import sys

# A host access to a buffer a kernel may still use faults: say where.
faulthandler.enable()
artifact = ctypes.CDLL(os.path.abspath(sys.argv[1]))
batched = sys.argv[2] == "--batch"
arguments = sys.argv[3:] if batched else sys.argv[2:]
num_tokens = int(arguments[0])
start = int(arguments[1]) if len(arguments) > 1 else 0
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

# Every kernel's parameter types, to find the pointers among its arguments.
entry_types = {}
for match in re.finditer(r"\.visible \.entry (\w+)\((.*?)\)", embedded("jikji_cuda_ptx"), re.S):
    entry_types[match.group(1)] = re.findall(r"\.param \.(\w+)", match.group(2))

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
PROT_NONE, PROT_READ_WRITE = 0, 3
MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20
PAGE = os.sysconf("SC_PAGE_SIZE")


def pages(size):
    """Zeroed memory of `size` bytes on pages of its own."""
    length = (max(size, 1) + PAGE - 1) // PAGE * PAGE
    address = libc.mmap(None, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap of %d bytes failed" % length)
    return address, length


problems = []
live = {}  # address -> length of the artifact's allocations
guarded = {}  # address -> length of every buffer a kernel may write
in_use = set()  # buffers a launched kernel may still use
counts = {"alloc": 0, "free": 0, "launch": 0, "synchronize": 0}
names = set()


def protect(address, prot):
    if libc.mprotect(address, guarded[address], prot) != 0:
        problems.append("mprotect failed: errno %d" % ctypes.get_errno())


def buffer_of(pointer):
    for address, length in guarded.items():
        if address <= pointer < address + length:
            return address
    return None

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
    address, length = pages(size)
    live[address] = length
    guarded[address] = length
    # The runtime zeroes the block on the stream, and it may be one that
    # kernels launched before still use: untouchable until a wait.
    in_use.add(address)
    protect(address, PROT_NONE)
    return address


def free(context, pointer):
    counts["free"] += 1
    length = live.pop(pointer or 0, None)
    if length is None:
        problems.append("free of a pointer not allocated: %r" % pointer)
        return
    # The runtime frees in stream order (after the kernels that use it).
    in_use.discard(pointer)
    del guarded[pointer]
    libc.munmap(pointer, length)


def launch(context, name, gx, gy, gz, bx, by, bz, shared, params, count):
    counts["launch"] += 1
    name = name.decode()
    names.add(name)
    for i, kind in enumerate(entry_types.get(name, [])[:count]):
        if kind not in ("u64", "b64", "s64") or not params[i]:
            continue
        buffer = buffer_of(ctypes.c_uint64.from_address(params[i]).value)
        if buffer is not None and buffer not in in_use:
            in_use.add(buffer)
            protect(buffer, PROT_NONE)
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
    for buffer in in_use:
        protect(buffer, PROT_READ_WRITE)
    in_use.clear()


class Api(ctypes.Structure):
    _fields_ = [("context", ctypes.c_void_p), ("alloc", ALLOC), ("free", FREE),
                ("launch", LAUNCH), ("synchronize", SYNCHRONIZE)]


api = Api(None, ALLOC(alloc), FREE(free), LAUNCH(launch), SYNCHRONIZE(synchronize))
artifact.jikji_cuda_bind(ctypes.byref(api))

# Zero-filled stand-ins for the weights, the caches and the logits.
sizes = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1}


def zeros(size, kernels_write=True):
    address, length = pages(size)
    if kernels_write:
        guarded[address] = length
    return address


pointers = []
for parameter in manifest["parameters"]:
    experts = parameter.get("experts", 0)
    shape = parameter["shape"][1:] if experts else parameter["shape"]
    size = math.prod(shape) * sizes[parameter["dtype"]]
    pointers += [zeros(size, kernels_write=False) for _ in range(max(experts, 1))]
table = (ctypes.c_void_p * len(pointers))(*pointers)
capacity = start + num_tokens
slots = num_tokens if batched else 1
cache = manifest["kv_cache"]
caches = (ctypes.c_void_p * len(cache["tensors"]))(*[
    zeros(4 * slots * cache["layers"] * capacity * math.prod(t["per_token_shape"]))
    for t in cache["tensors"]])
tokens = (ctypes.c_int64 * num_tokens)(*range(num_tokens))
logits = zeros(4 * num_tokens * manifest["vocab_size"])

if batched:
    positions = zeros(8 * num_tokens)
    (ctypes.c_int64 * num_tokens).from_address(positions)[:] = [
        start + b for b in range(num_tokens)]
    artifact.jikji_forward_batch.restype = ctypes.c_int32
    artifact.jikji_forward_batch.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
        ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
    status = artifact.jikji_forward_batch(table, tokens, positions, num_tokens,
                                          caches, capacity, logits)
else:
    artifact.jikji_forward.restype = ctypes.c_int32
    artifact.jikji_forward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                       ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                       ctypes.c_void_p]
    status = artifact.jikji_forward(table, tokens, num_tokens, start, caches, capacity, logits)

# The runtime synchronizes after the step; the caches and logits may be
# read now.
synchronize(None)
counts["synchronize"] -= 1
if live:
    problems.append("%d buffers not freed" % len(live))
print("status:", status)
print("kernels launched: %d of %d" % (len(names), len(entries)))
print("synchronizations: %d for %d launches" % (counts["synchronize"], counts["launch"]))
print("allocations == frees:", counts["alloc"] == counts["free"])
for problem in problems[:20]:
    print("problem:", problem)
print("problems:", len(problems))
