//===- Passes.td - CUDA codegen passes ---------------------*- tablegen -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CUDA_PASSES_TD
#define JIKJI_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def MapParallelLoopsToGpuPass
    : Pass<"jikji-map-parallel-loops-to-gpu", "mlir::func::FuncOp"> {
  let summary = "Tile each outermost scf.parallel into blocks of threads";
  let description = [{
    Splits every outermost `scf.parallel` (one per linalg op after
    `convert-linalg-to-parallel-loops`) into a loop over blocks and a loop
    over the threads of a block, then collapses each of the two into one
    dimension and maps them to `block_x` and `thread_x`.

    Threads take the innermost dimensions first, up to `threads-per-block`
    in all, so that neighbouring threads touch neighbouring elements. The
    thread loop has constant bounds (an `scf.if` guards the remainder), so
    the block size is static; the block loop's trip count may be dynamic
    (the token count), which `convert-parallel-loops-to-gpu` turns into a
    grid computed at run time. Collapsing to one dimension keeps the grid
    within `x`'s 2^31 - 1 limit whatever the sizes (`y` and `z` stop at
    65,535 blocks and 64 threads).

    An `scf.forall` with no loop nested in it (a batched decode step's
    cache write: one element per iteration, each at its slot's position)
    is such a parallel loop too, and becomes one first. A forall that holds
    loops (a slot loop around whole kernels) is left alone and runs on the
    host.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", "256",
           "Threads per block (a power of two, at most 1024)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def LowerProductsToMmaPass
    : Pass<"jikji-lower-products-to-mma", "mlir::func::FuncOp"> {
  let summary = "Run weight products on tensor cores (mma.sync, bf16)";
  let description = [{
    Rewrites each bufferized product `y[m, n] += x[m, k] * W[n, k]` whose
    weight is bf16 (widened in the body, the form the linear layers and the
    grouped experts lower to) or FP8 e4m3 with float32 block scales into a
    `gpu.launch` of one warp per 16 x 8 tile of `y`, stepping over K by 16
    with `nvvm.mma.sync` m16n8k16 (bf16 operands, f32 accumulation; sm_80
    and later). `x` is rounded to bf16 on the way in, so this changes the
    numbers by the rounding of the activations and is opt-in
    (`jikji-compile --gpu-tensor-cores`).

    With `tiles` (the default), a product whose N is a multiple of 64 and
    K of 32 gets a second kernel, chosen at run time when M is 64 or more
    (a prefill): four warps per 64 x 64 tile of `y`, K walked 32 at a time
    through workgroup memory, which the block's threads fill with bf16
    pairs of `x` and `W` before each warp runs its 32 x 32 quarter as
    2 x 4 mma.sync per 16 of K (MmaTiledKernel.cpp). A decode step's few
    rows keep the warp kernel, whose many blocks stream the weights.

    The warp loads its fragments straight from global memory in the
    register layout PTX defines for m16n8k16: lane `l` holds rows
    `l / 4` and `l / 4 + 8` of the tile and columns `2 (l % 4)`,
    `2 (l % 4) + 1` (+ 8) of the K step. Rows past the dynamic M read a
    valid row and contribute zero; their results are not stored. Products
    whose N is not a multiple of 8 or whose K is not a multiple of 16 are
    left to the generic mapping.

    An FP8 weight (the body decodes it through the exact e4m3 table and
    multiplies it by `scales[n / bn, k / bk]`) is decoded to bf16 in
    registers with integer ops (exact: every e4m3 value is a bf16 value);
    each K block of `bk` (the last one may be shorter) is summed by
    mma.sync from zero, and the block's sum times its scale is added to the
    running f32 sum: the checkpoint's semantics up to the order of the f32
    additions. Blocks must hold whole tiles (`bn` a multiple of 8, `bk` of
    16); otherwise, or for another table, the product is left alone.

    Epilogues: when an elementwise op over `[m, n]` follows the product
    (past allocations only) and reads its `y`, the kernel computes that
    op's body where it stores instead of writing `y` for another kernel to
    read: the residual add after o_proj and the MLP's down projection, the
    router's sigmoid. Two adjacent products over the same `x` that such an
    op combines, the MLP's gate and up with the SwiGLU after them, become
    one kernel: each K step loads the `x` fragment once for two mma.sync.
    `y` is still stored when it is read after the op.
  }];
  let options = [
    Option<"tiles", "tiles", "bool", "true",
           "Add the 64 x 64 tiled kernel for steps of 64 rows or more">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def CheckParallelLoopsMappedPass
    : Pass<"jikji-check-parallel-loops-mapped", "mlir::func::FuncOp"> {
  let summary = "Fail on a parallel loop that did not become a kernel";
  let description = [{
    `convert-parallel-loops-to-gpu` leaves an `scf.parallel` without a
    mapping where it was, and it would then run as a host loop over device
    memory: slow, and wrong for memory the host cannot reach. This pass
    turns that into an error naming the loop.
  }];
}

def SinkGlobalsIntoLaunchesPass
    : Pass<"jikji-sink-globals-into-launches", "mlir::func::FuncOp"> {
  let summary = "Read constant globals inside the kernels that use them";
  let description = [{
    A `memref.get_global` above a `gpu.launch` would reach the kernel as a
    pointer to host memory, which the device cannot read. A copy of the
    op inside the launch body makes outlining clone the global into the
    GPU module, where it lives in device memory.
  }];
}

def MergeGpuModulesPass : Pass<"jikji-merge-gpu-modules", "mlir::ModuleOp"> {
  let summary = "Put every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` gives each kernel its own `gpu.module`. The
    artifact carries one image (one PTX text, one cubin) that the runtime
    loads once, so the kernels move into a single module named
    `jikji_kernels`, their launches retargeted. Globals cloned into several
    modules are kept once.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def ConvertGpuToNvvmPass
    : Pass<"jikji-convert-gpu-to-nvvm", "mlir::gpu::GPUModuleOp"> {
  let summary = "Lower kernels to the NVVM and LLVM dialects without libdevice";
  let description = [{
    Upstream `convert-gpu-to-nvvm` turns `math.exp`, `math.sin`, and even
    `floor`, `fma` and `sqrt`, into calls to CUDA's libdevice, which the
    toolkit here does not ship and which would tie the artifact to it.
    This pass expands the transcendental functions into MLIR's f32
    polynomial approximations and lowers the remaining math ops to LLVM
    intrinsics that the NVPTX backend emits as single instructions
    (`fma.rn`, `sqrt.rn`, `cvt.rmi`, ...). A math op neither path covers
    fails the conversion, naming the op, instead of leaving an undefined
    function for ptxas to reject.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
  ];
}

def LowerGpuHostCallsPass
    : Pass<"jikji-lower-gpu-host-calls", "mlir::ModuleOp"> {
  let summary = "Route kernel launches and device allocations to the runtime";
  let description = [{
    Runs on the host code in the LLVM dialect, after `gpu-to-llvm`. Each
    `gpu.launch_func` becomes a call of the runtime's `launch` with the
    kernel's name, the grid and block sizes and an array of pointers to
    the (already expanded) kernel arguments; calls of
    `jikji_gpu_synchronize` (placed by `jikji-place-gpu-synchronizations`)
    become calls of the runtime's `synchronize`.
    The generic allocation functions that `finalize-memref-to-llvm` calls
    with `use-generic-functions` become the runtime's `alloc` and `free`.
    The runtime passes its functions in a table through the exported
    `jikji_cuda_bind` (docs/runtime-abi.md), so the artifact has no
    undefined symbols and needs neither MLIR's CUDA wrappers nor libcuda.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def MarkOpLocationsPass
    : Pass<"jikji-mark-op-locations", "mlir::ModuleOp"> {
  let summary = "Mark each DeepSeek op's location with the op's name";
  let description = [{
    Wraps the location of every op of the DeepSeek dialect in a `NameLoc`
    of its op name (`loc("deepseek.latent_attention"(...))`), unless it is
    marked already. The lowering to linalg builds every op from the DeepSeek
    op's location and later steps keep it, so the loop nests, and then the
    launches, made from an op still say which op they compute:
    `jikji-name-kernels` names the kernels after it. Runs before the CUDA
    pipeline lowers the DeepSeek ops.
  }];
}

def NameKernelsPass : Pass<"jikji-name-kernels", "mlir::ModuleOp"> {
  let summary = "Name each kernel after the DeepSeek op it computes";
  let description = [{
    Gives every `gpu.launch` whose location carries a mark of
    `jikji-mark-op-locations`, and that has no kernel name yet, the name
    `<function>_<op>`: `moe_layer_latent_attention`, then
    `moe_layer_latent_attention_1` and so on, never a name the module
    already uses. `gpu-kernel-outlining` takes it for the kernel, so a
    profile or `jikji-run --kernel-times` shows what each kernel computes
    rather than `moe_layer_kernel_93`. A launch without a mark keeps
    outlining's default name. Runs just before outlining.
  }];
}

def HostArraysOnStackPass
    : Pass<"jikji-host-arrays-on-stack", "mlir::ModuleOp"> {
  let summary = "Put small arrays only the host uses on its stack";
  let description = [{
    Runs on the host code after outlining, before
    `jikji-place-gpu-synchronizations`. On the CUDA target a `memref.alloc`
    is the runtime's `alloc`: managed memory zeroed on the stream, which
    the host may touch only after a wait. Bufferization's deallocation
    bookkeeping allocates small arrays that only the host reads (the
    pointers and flags `dealloc_helper` compares), and filling them made
    the host wait for the GPU twice a step. This pass turns such an
    allocation into a `memref.alloca` and drops its deallocation, when it
    is in a function's entry block (not in a loop, whose iterations would
    each grow the stack), has a static shape of at most 4 KiB in the
    default memory space, and every use, through casts, is a load, a store,
    a `dim`, pointer extraction, its deallocation, or a call of a function
    that neither launches, allocates nor calls anything. An array a kernel
    or an unknown callee may see, or one that escapes, stays as it is.
  }];
}

def EmulateGpuLaunchesPass
    : Pass<"jikji-emulate-gpu-launches", "mlir::func::FuncOp"> {
  let summary = "Run each gpu.launch as loops on the host, for testing";
  let description = [{
    Replaces every `gpu.launch` by loops over its blocks and, inside, its
    threads (z, y, x, outermost first), with the body in the innermost
    loop and the launch's block and thread ids, grid and block sizes
    replaced by the loops' values. The CUDA pipeline's kernels then run on
    the CPU, one thread after another, so that the reference cases can
    check what the GPU mapping computes (tiling, guards, index arithmetic)
    where no GPU is (`jikji-compile --target=cuda --emulate-gpu-on-cpu`).

    Running threads in sequence is only faithful for kernels whose threads
    never meet. A launch with barriers, workgroup memory or mma.sync
    m16n8k16 (bf16, the tensor-core kernels) runs in lockstep instead
    (LockstepEmulation.h): the body is cut at each meeting point, the ops
    between two run as a loop over the block's threads, values crossing a
    cut are kept in per-thread arrays, a loop around a meeting point runs
    once for the block, and mma.sync is computed per warp from its lanes'
    fragments. The pass rejects, naming the op, a shuffle or any other NVVM
    op, a barrier inside anything but such a loop, a loop around one whose
    bounds differ between threads, a block size that is not a constant,
    private memory, a cluster, or an async token. It says nothing of
    races: two threads writing one element would pass here and not on a
    GPU.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def PlaceGpuSynchronizationsPass
    : Pass<"jikji-place-gpu-synchronizations", "mlir::ModuleOp"> {
  let summary = "Wait for the kernels only before host code touches memory";
  let description = [{
    Runs on the host code after outlining. A `gpu.launch_func` returns
    before its kernel has run, and a `memref.alloc` (the runtime's `alloc`)
    before its block is zeroed, which may be a block kernels launched
    before it was freed still use; all of it runs in order on the
    runtime's one stream. So the host needs to wait only before it reads or
    writes such memory itself (as the router's bookkeeping and the expert
    loop's counts did before they became kernels). This pass inserts a call
    of `jikji_gpu_synchronize()` (which `jikji-lower-gpu-host-calls` makes
    the runtime's `synchronize`) before each such piece of host work that
    may follow a launch or an allocation: before the outermost op that
    touches that memory and puts nothing on the stream (one wait for a
    whole loop of loads), and inside ops that do both, where a loop's body
    counts its own earlier iterations.

    What needs no wait: freeing; reads of weights and of the runtime's
    parameter table (`deepseek.param` and `deepseek.param_table`
    arguments, through views, pointer arithmetic and the per-expert
    pointer tables), which no kernel writes; and the host's stack
    (`memref.alloca`). A function that puts work on the stream places its
    own waits (a private one starts as if a launch preceded it, an exported
    one with the stream idle); a call of one that puts nothing there is
    host work of the caller, judged by the operands it passes. An op whose
    effects are unknown counts as touching memory.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def AccumulateInRegistersPass
    : Pass<"jikji-accumulate-in-registers", "mlir::func::FuncOp"> {
  let summary = "Sum a kernel's reductions in registers, not in its output";
  let description = [{
    `convert-linalg-to-parallel-loops` writes a reduction as a loop whose
    body loads the output element, combines it and stores it back: on a
    GPU, a global load and store per iteration (a multiply-add, for a
    product), which LLVM cannot remove because nothing says the output
    does not alias the inputs. Linalg's semantics say it: an op reads its
    inputs and yields its output's new value. For each `scf.for` inside an
    `scf.parallel` (a kernel to be) whose body loads and stores the same
    elements at places that do not change across iterations, this pass
    loads them once before the loop, carries them as `iter_args` and
    stores them once after it. A loop that writes anything else, or
    touches an accumulated buffer otherwise, is left as written.
  }];
  let dependentDialects = [
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

#endif // JIKJI_CODEGEN_CUDA_PASSES_TD
