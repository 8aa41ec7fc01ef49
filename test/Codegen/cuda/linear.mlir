// Tests that a linear layer's product (x[M,K] f32 times W[N,K]^T in bf16,
// M dynamic) becomes one kernel over blocks of 256 threads, one thread per
// output element with the K reduction in the thread (summed in a
// register), that the grid follows the runtime M, and that the kernel
// reaches PTX through the NVPTX backend while the host launches it through
// the runtime's table.

// RUN: jikji-opt %s --jikji-cuda-outline-kernels | FileCheck %s --check-prefix=GPU
// RUN: jikji-opt %s --jikji-cuda-outline-kernels | jikji-opt --jikji-cuda-lower-to-ptx="gpu-arch=sm_80" | FileCheck %s --check-prefix=PTX

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @linear(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>,
                  %output: memref<?x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide fastmath<contract> : f32
    %sum = arith.addf %acc, %product fastmath<contract> : f32
    linalg.yield %sum : f32
  }
  return
}

// The grid is ceil(M * 128 / 256) blocks: N = 96 takes 128 threads (the
// power of two that covers it), so two rows share a block.
// GPU-LABEL: func.func @linear(
// GPU-SAME:    %[[INPUT:.+]]: memref<?x64xf32>, %[[WEIGHT:.+]]: memref<96x64xbf16>, %[[OUTPUT:.+]]: memref<?x96xf32>
// GPU:         %[[ROWS:.+]] = memref.dim %[[INPUT]], %c0
// GPU:         %[[BLOCKS:.+]] = arith.ceildivui %[[ROWS]], %c2
// GPU:         gpu.launch_func @jikji_kernels::@linear_kernel blocks in (%[[BLOCKS]], %c1, %c1) threads in (%c256, %c1, %c1)
// GPU-SAME:      %[[INPUT]] : memref<?x64xf32>, %[[OUTPUT]] : memref<?x96xf32>, %[[WEIGHT]] : memref<96x64xbf16>
// GPU:       gpu.module @jikji_kernels
// GPU:         gpu.func @linear_kernel(
// GPU-DAG:       gpu.block_id x
// GPU-DAG:       gpu.thread_id x
// The sum stays in a register (jikji-accumulate-in-registers): one load of
// the output element before the K loop, one store after it.
// GPU:           scf.if
// GPU:             %[[INIT:.+]] = memref.load %{{.+}} : memref<?x96xf32>
// GPU-NEXT:        %[[SUM:.+]] = scf.for %{{.+}} = %c0 to %c64 step %c1 iter_args(%[[ACC:.+]] = %[[INIT]])
// GPU:               arith.extf %{{.+}} : bf16 to f32
// GPU:               arith.mulf
// GPU:               arith.addf %[[ACC]]
// GPU-NEXT:          scf.yield
// GPU-NEXT:        }
// GPU-NEXT:        memref.store %[[SUM]]
// GPU-NOT:     gpu.module

// PTX-LABEL: llvm.func @linear(
// PTX:         llvm.call @jikji.cuda.launch(%{{.+}}) : (!llvm.ptr, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr, i64) -> ()
// No host code touches memory after the launch: no wait for the kernel
// (the runtime waits at the end of the step).
// PTX-NEXT:    llvm.return
// PTX-NOT:     gpu.launch_func
// PTX:       gpu.binary @jikji_kernels
// PTX-SAME:    chip = "sm_80"
// PTX-SAME:    .target sm_80
// PTX-SAME:    .visible .entry linear_kernel(
// PTX-SAME:    cvt.f32.bf16
// PTX-SAME:    fma.rn.f32
// PTX:       llvm.func @jikji_cuda_bind(
// PTX:       llvm.func internal @jikji.cuda.launch(
