"""Prints what a CUDA artifact embeds: the GPU architecture, the PTX's
.target line and .entry count, and the cubin's ELF machine (190 is
EM_CUDA), then with --ptx the PTX itself. Loads the artifact with ctypes,
as the runtime would with dlopen: it must load with no CUDA installed and
no symbol left undefined."""
import ctypes
import re
import struct
import sys

library = ctypes.CDLL(sys.argv[1])
print_ptx = "--ptx" in sys.argv[2:]


def embedded(name):
    function = getattr(library, name)
    function.restype = ctypes.c_void_p
    function.argtypes = [ctypes.POINTER(ctypes.c_uint64)]
    size = ctypes.c_uint64()
    address = function(ctypes.byref(size))
    return ctypes.string_at(address, size.value)


arch = embedded("jikji_cuda_arch").decode()
ptx = embedded("jikji_cuda_ptx").decode()
cubin = embedded("jikji_cuda_cubin")
print("arch:", arch)
target = re.search(r"^\.target (\S+)", ptx, re.M)
print("ptx target:", target.group(1) if target else "none")
print("ptx entries:", len(re.findall(r"^\.visible \.entry ", ptx, re.M)))
print("cubin magic:", cubin[:4])
print("cubin machine:", struct.unpack_from("<H", cubin, 18)[0])
if print_ptx:
    print(ptx)
