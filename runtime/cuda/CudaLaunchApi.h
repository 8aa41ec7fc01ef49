//===- CudaLaunchApi.h - The functions a CUDA artifact calls ----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A CUDA artifact's host code allocates, launches and synchronizes through a
// table of the runtime's functions, JikjiCudaApi, bound with
// jikji_cuda_bind (docs/runtime-abi.md, "The CUDA artifact"). The functions
// return nothing to the artifact, so a CudaLaunchApi records the first
// failing driver call of a step, turns the launches after it into no-ops,
// and reports it when the step ends; it also frees whatever the artifact
// left allocated then, so a failed step leaks nothing.
//
// A buffer the artifact frees is kept for a later allocation of the same
// size class rather than returned to the driver: every step allocates the
// same temporaries again, and cuMemAllocManaged and cuMemFree (which waits
// for the device) per temporary would cost more than many kernels.
//
// A step is captured as a CUDA graph (on by default; captureGraphs): the
// stream records the step's zeroings and launches instead of running them,
// and at the step's end the recorded graph is launched at once, through an
// executable graph kept from an earlier step with the same sequence of
// kernels when the driver accepts the new parameters as an update
// (positions, pointers and grid sizes may change), else through a new
// one. The driver then runs a step's hundreds of kernels from one launch,
// without a host call between them. The capture ends early, and what it
// recorded is launched, where the artifact synchronizes within a step or an
// allocation needs the pool's memory back; the rest of that step runs
// launch by launch. Memory the step gives back to the driver while
// capturing is freed after the graph has run, not while a recorded node
// may still use it.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_CUDALAUNCHAPI_H
#define JIKJI_RUNTIME_CUDA_CUDALAUNCHAPI_H

#include "frontends/huggingface/Result.h"
#include "runtime/cuda/CudaDevice.h"
#include "runtime/cuda/CudaModule.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

extern "C" {
/// The table of docs/runtime-abi.md, field for field.
struct JikjiCudaApi {
  void *context;
  void *(*alloc)(void *context, int64_t bytes);
  void (*free)(void *context, void *pointer);
  void (*launch)(void *context, const char *name, int64_t gridX, int64_t gridY,
                 int64_t gridZ, int64_t blockX, int64_t blockY, int64_t blockZ,
                 int32_t sharedBytes, void **params, int64_t numParams);
  void (*synchronize)(void *context);
};
}

namespace jikji::runtime::cuda {

/// The signature of a CUDA artifact's jikji_cuda_bind.
using CudaBindFunction = void (*)(const JikjiCudaApi *api);

/// What the artifact's calls did, over the model's life.
struct LaunchCounts {
  int64_t launches = 0;
  /// Launches with grid_x == 0 (empty work), which CUDA would reject.
  int64_t skippedEmpty = 0;
  int64_t allocations = 0;
  /// Allocations served from buffers freed earlier, without the driver.
  int64_t reused = 0;
  /// Captured graphs launched: one per step, or per part of a step that
  /// the artifact's synchronizing cut short.
  int64_t graphLaunches = 0;
  /// Of those, the ones launched through an executable graph kept from an
  /// earlier step and updated with this one's parameters...
  int64_t graphUpdates = 0;
  /// ... and the ones instantiated anew (a sequence of kernels not seen
  /// before, or an update the driver refused).
  int64_t graphInstantiations = 0;
  /// Updates the driver refused (each followed by an instantiation).
  int64_t graphUpdatesRefused = 0;
};

/// The GPU time of one kernel over all its launches, measured with a pair
/// of events around each (CudaLaunchApi::timeKernels).
struct KernelTime {
  std::string kernel;
  int64_t launches = 0;
  double milliseconds = 0;
};

/// Orders `times` the longest first, ties by name: how they are listed.
void sortByTime(std::vector<KernelTime> &times);

/// The capacity a buffer of `bytes` is allocated and kept with: `bytes`
/// rounded up to a multiple of 256 bytes or of a quarter of the power of
/// two below it, whichever is larger, so that sizes that grow step by
/// step (attention over a longer cache) still meet a kept buffer, at most
/// 25% larger than asked.
uint64_t pooledCapacity(uint64_t bytes);

/// How many bytes of freed buffers the pool keeps; a buffer freed beyond
/// this goes back to the driver.
constexpr uint64_t kPooledBytesLimit = uint64_t(2) << 30;

/// How many executable graphs a model keeps, one per sequence of kernels
/// (a prefill's, a decode step's, each batch size's): the least recently
/// launched one goes when another is needed.
constexpr size_t kKeptGraphs = 8;

/// The runtime's side of JikjiCudaApi for one model. Not thread-safe: the
/// model runs one step at a time through it (CudaModel).
class CudaLaunchApi {
public:
  CudaLaunchApi(std::shared_ptr<CudaDevice> device, CudaModule &module);
  CudaLaunchApi(const CudaLaunchApi &) = delete;
  CudaLaunchApi &operator=(const CudaLaunchApi &) = delete;
  ~CudaLaunchApi();

  /// The table to bind; its context is this object.
  const JikjiCudaApi *table() const { return &table_; }

  /// Starts a step: forgets the previous step's error and, with graphs on
  /// and kernels untimed, starts capturing the stream.
  void beginStep();
  /// Ends a step: launches its captured graph, waits for its kernels (a
  /// fault is reported after the last kernel launched), frees every buffer
  /// the artifact allocated and did not free, and returns the step's first
  /// failure, if any.
  Result<bool> endStep();

  const LaunchCounts &counts() const { return counts_; }

  /// Times every launch from now on (two events around each, read when
  /// the stream is next synchronized); off by default, as it adds driver
  /// calls to every launch. Timed launches need their events on the stream
  /// between kernels, so timing turns graph capture off.
  void timeKernels(bool enabled) { timing_ = enabled; }
  /// Captures each step as a CUDA graph (the default) or launches kernel
  /// by kernel. Takes effect from the next step.
  void captureGraphs(bool enabled) { graphsWanted_ = enabled; }
  /// Whether the next step is captured: graphs on and kernels untimed.
  bool capturesGraphs() const { return graphsWanted_ && !timing_; }
  /// Keeps at most `bytes` of freed buffers (kPooledBytesLimit by
  /// default); the tests lower it to send freed buffers to the driver.
  void limitPool(uint64_t bytes) { poolLimit_ = bytes; }
  /// The kernels timed so far, the longest first.
  std::vector<KernelTime> kernelTimes() const;

private:
  static void *alloc(void *context, int64_t bytes);
  static void free(void *context, void *pointer);
  static void launch(void *context, const char *name, int64_t gridX,
                     int64_t gridY, int64_t gridZ, int64_t blockX,
                     int64_t blockY, int64_t blockZ, int32_t sharedBytes,
                     void **params, int64_t numParams);
  static void synchronize(void *context);

  /// Records `message` unless an earlier failure of the step is recorded.
  void fail(std::string message);
  /// Zeroed host memory for an allocation after a failure: the artifact's
  /// host code goes on running until the step returns, and must not meet a
  /// null buffer; the kernels that would use it are not launched.
  void *hostStandIn(int64_t bytes);
  struct TimedLaunch;
  /// An event for timing: a spare one, or a new one.
  Result<CUevent> takeEvent();
  /// Takes `timed`'s two events and records the first before its launch.
  Result<bool> startTiming(TimedLaunch &timed);
  /// Adds the timed launches' times once the stream has finished them;
  /// with `finished` false (after a failure), drops them unread.
  void collectTimes(bool finished);
  /// Frees the blocks the artifact has not freed (after a failure).
  void releaseAll();
  /// Returns every kept block to the driver.
  void releasePool();
  /// Returns `pointer` to the driver now, or after the step's graph has run
  /// when the stream is capturing (a recorded node may use it).
  void freeBlock(CUdeviceptr pointer);
  /// Notes a recorded node (a zeroing, kernel `function`) in the step's
  /// signature.
  void noteNode(const void *function);
  /// Ends the capture and launches what it recorded, through a kept
  /// executable graph updated with it or a new one; the rest of the step
  /// runs launch by launch. Records a failing call as the step's failure.
  void launchCaptured();
  /// Enqueues the zeroing of every live block again (after a capture that
  /// never ran).
  void zeroLiveBlocks();
  /// Ends the capture after a failure and drops what it recorded: none of
  /// it runs, so the step's live blocks are zeroed again here, for the
  /// artifact's host code that runs on until the step returns.
  void abandonCapture();
  /// A zeroed block of at least `bytes`: a kept one of its capacity, or a
  /// new one.
  Result<CUdeviceptr> allocateZeroed(uint64_t bytes);

  std::shared_ptr<CudaDevice> device_;
  CudaModule &module_;
  JikjiCudaApi table_;
  std::optional<std::string> error_;
  /// Managed blocks the artifact allocated and has not freed, with their
  /// capacities.
  std::unordered_map<CUdeviceptr, uint64_t> managed_;
  /// Managed blocks the artifact freed, by capacity, for reuse.
  std::multimap<uint64_t, CUdeviceptr> pool_;
  uint64_t pooledBytes_ = 0;
  uint64_t poolLimit_ = kPooledBytesLimit;
  /// Host stand-ins (hostStandIn) the artifact has not freed.
  std::unordered_set<void *> hostStandIns_;
  /// The kernel launched last, for a failure that surfaces at the next
  /// synchronization.
  const char *lastKernel_ = nullptr;
  LaunchCounts counts_;

  /// A timed launch whose events the stream may not have reached yet.
  struct TimedLaunch {
    const char *kernel;
    CUevent start;
    CUevent end;
  };
  bool timing_ = false;
  std::vector<TimedLaunch> timedLaunches_;
  std::vector<CUevent> spareEvents_;
  std::unordered_map<std::string, KernelTime> kernelTimes_;

  /// An executable graph kept for steps with the same recorded sequence.
  struct KeptGraph {
    uint64_t signature;
    CUgraphExec executable;
    /// The step it was last launched in, for eviction.
    uint64_t lastStep;
  };
  bool graphsWanted_ = true;
  /// Whether the stream is capturing this step.
  bool capturing_ = false;
  /// The recorded nodes so far, and a hash of their kinds and kernels:
  /// steps with equal signatures share an executable graph.
  int64_t capturedNodes_ = 0;
  uint64_t signature_ = 0;
  /// Steps begun, the clock of KeptGraph::lastStep.
  uint64_t steps_ = 0;
  std::vector<KeptGraph> graphs_;
  /// Blocks freed while capturing, returned to the driver at the step's
  /// end.
  std::vector<CUdeviceptr> deferredFrees_;
};

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_CUDALAUNCHAPI_H
