# The Jikji lit suite. Tools come from the build folder, FileCheck and not
# from LLVM 22, reference data from ../shared.
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "Jikji"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.jikji_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.jikji_tools_dir, append_path=True)

config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%jikji_utils", os.path.join(config.jikji_src_root, "utils")))
config.substitutions.append(("%jikji_src", config.jikji_src_root))
config.substitutions.append(("%jikji_obj", config.jikji_obj_root))
config.substitutions.append(("%shared", config.jikji_shared_dir))
# The tests' CUDA driver without a GPU (test/Runtime/FakeCudaDriver.c); the
# runtime loads it only where JIKJI_CUDA_DRIVER names it.
config.substitutions.append(("%fake_cuda_driver", os.path.join(
    config.jikji_obj_root, "test", "Runtime", "fake-cuda", "libcuda.so.1")))

if config.jikji_build_compiler:
    config.available_features.add("compiler")
if os.path.isdir(os.path.join(config.jikji_shared_dir, "reference")):
    config.available_features.add("shared-reference")
# Artifacts compiled with --cpu-bf16-dot run only on a CPU with avx512_bf16.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        if "avx512_bf16" in cpuinfo.read().split():
            config.available_features.add("avx512-bf16")
except OSError:
    pass
# ptxas, found as jikji-compile finds it (the configured CUDA root, then
# PATH): tests that assemble kernels need it; the rest of the CUDA tests
# do not, and nothing here needs a GPU.
configured_ptxas = os.path.join(config.jikji_cuda_root, "bin", "ptxas")
if os.access(configured_ptxas, os.X_OK) or shutil.which("ptxas"):
    config.available_features.add("ptxas")

# The CUDA toolkit's stub driver (link-time only: every entry point fails
# with CUDA_ERROR_STUB_LIBRARY). It exports the real driver's symbols, so
# loading it checks the runtime's entry-point names against NVIDIA's own.
cuda_stub_driver = os.path.join(config.jikji_cuda_root, "lib64", "stubs", "libcuda.so")
if os.path.exists(cuda_stub_driver):
    config.available_features.add("cuda-stub-driver")
    config.substitutions.append(("%cuda_stub_driver", cuda_stub_driver))
