//===- CudaLaunchApi.cpp - The functions a CUDA artifact calls ------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaLaunchApi.h"

#include "frontends/huggingface/Printable.h"
#include "runtime/cuda/ManagedBuffer.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <utility>

using namespace jikji;
using namespace jikji::runtime::cuda;

CudaLaunchApi::CudaLaunchApi(std::shared_ptr<CudaDevice> device,
                             CudaModule &module)
    : device_(std::move(device)), module_(module) {
  table_.context = this;
  table_.alloc = &CudaLaunchApi::alloc;
  table_.free = &CudaLaunchApi::free;
  table_.launch = &CudaLaunchApi::launch;
  table_.synchronize = &CudaLaunchApi::synchronize;
}

uint64_t jikji::runtime::cuda::pooledCapacity(uint64_t bytes) {
  uint64_t granule = 256;
  // A quarter of the largest power of two not above `bytes`.
  if (bytes >= 1024)
    granule = (uint64_t(1) << (63 - __builtin_clzll(bytes))) / 4;
  return (bytes + granule - 1) / granule * granule;
}

CudaLaunchApi::~CudaLaunchApi() {
  releaseAll();
  releasePool();
  collectTimes(/*finished=*/false);
  if (!spareEvents_.empty() || !graphs_.empty())
    (void)device_->makeCurrent();
  for (CUevent event : spareEvents_)
    (void)device_->driver().eventDestroy(event);
  for (const KeptGraph &kept : graphs_)
    (void)device_->driver().graphExecDestroy(kept.executable);
}

namespace {
/// FNV-1a's offset basis and prime, for the step's signature.
constexpr uint64_t kSignatureSeed = 0xcbf29ce484222325ull;
constexpr uint64_t kSignaturePrime = 0x100000001b3ull;
} // namespace

void CudaLaunchApi::beginStep() {
  error_.reset();
  ++steps_;
  capturedNodes_ = 0;
  signature_ = kSignatureSeed;
  if (!capturesGraphs())
    return;
  const CudaDriver &driver = device_->driver();
  // Relaxed: a step may still allocate (a pool miss calls
  // cuMemAllocManaged), which the stricter modes forbid while capturing.
  Result<bool> begun =
      driver.check(driver.streamBeginCapture(device_->stream(),
                                             CU_STREAM_CAPTURE_MODE_RELAXED),
                   "cuStreamBeginCapture");
  if (!begun) {
    fail(begun.error());
    return;
  }
  capturing_ = true;
}

void CudaLaunchApi::noteNode(const void *function) {
  if (!capturing_)
    return;
  ++capturedNodes_;
  // A zeroing counts as the null function. Only kinds and kernels go in:
  // grids and parameters may change under an update.
  for (uint64_t part : {uint64_t(reinterpret_cast<uintptr_t>(function)),
                        uint64_t(function ? 1 : 2)}) {
    signature_ ^= part;
    signature_ *= kSignaturePrime;
  }
}

void CudaLaunchApi::zeroLiveBlocks() {
  for (const auto &[pointer, capacity] : managed_)
    (void)zeroManaged(*device_, pointer, capacity, Zeroing::Enqueued);
}

void CudaLaunchApi::abandonCapture() {
  capturing_ = false;
  const CudaDriver &driver = device_->driver();
  CUgraph graph = nullptr;
  // A capture that a failing call invalidated still ends here, without a
  // graph; the stream is then an ordinary one again.
  (void)driver.streamEndCapture(device_->stream(), &graph);
  if (graph)
    (void)driver.graphDestroy(graph);
  zeroLiveBlocks();
}

void CudaLaunchApi::launchCaptured() {
  capturing_ = false;
  const CudaDriver &driver = device_->driver();
  CUstream stream = device_->stream();
  CUgraph graph = nullptr;
  Result<bool> ended = driver.check(driver.streamEndCapture(stream, &graph),
                                    "cuStreamEndCapture");
  // After any failure below nothing recorded runs, the zeroings neither.
  auto failWith = [&](const std::string &message) {
    if (graph)
      (void)driver.graphDestroy(graph);
    zeroLiveBlocks();
    fail(message);
  };
  if (!ended)
    return failWith(ended.error());
  if (capturedNodes_ == 0) {
    (void)driver.graphDestroy(graph);
    return;
  }

  auto kept = std::find_if(graphs_.begin(), graphs_.end(),
                           [&](const KeptGraph &candidate) {
                             return candidate.signature == signature_;
                           });
  if (kept != graphs_.end()) {
    CUgraphExecUpdateResultInfo info{};
    CUresult updated = driver.graphExecUpdate(kept->executable, graph, &info);
    if (updated == CUDA_SUCCESS) {
      ++counts_.graphUpdates;
    } else {
      // Refused or failed, the executable graph's state is the driver's
      // business now: it goes.
      (void)driver.graphExecDestroy(kept->executable);
      graphs_.erase(kept);
      kept = graphs_.end();
      if (updated != CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE)
        return failWith(driver.check(updated, "cuGraphExecUpdate").error());
      // A change an update cannot carry: a new instantiation below.
      ++counts_.graphUpdatesRefused;
    }
  }
  if (kept == graphs_.end()) {
    if (graphs_.size() >= kKeptGraphs) {
      auto oldest =
          std::min_element(graphs_.begin(), graphs_.end(),
                           [](const KeptGraph &a, const KeptGraph &b) {
                             return a.lastStep < b.lastStep;
                           });
      (void)driver.graphExecDestroy(oldest->executable);
      graphs_.erase(oldest);
    }
    CUgraphExec executable = nullptr;
    Result<bool> made = driver.check(
        driver.graphInstantiate(&executable, graph, 0), "cuGraphInstantiate");
    if (!made)
      return failWith(made.error());
    ++counts_.graphInstantiations;
    graphs_.push_back({signature_, executable, steps_});
    kept = graphs_.end() - 1;
  }
  // The executable graph holds what it needs of the graph.
  (void)driver.graphDestroy(std::exchange(graph, nullptr));
  kept->lastStep = steps_;
  Result<bool> launched = driver.check(
      driver.graphLaunch(kept->executable, stream), "cuGraphLaunch");
  if (!launched) {
    (void)driver.graphExecDestroy(kept->executable);
    graphs_.erase(kept);
    return failWith(launched.error());
  }
  ++counts_.graphLaunches;
}

Result<CUevent> CudaLaunchApi::takeEvent() {
  if (!spareEvents_.empty()) {
    CUevent event = spareEvents_.back();
    spareEvents_.pop_back();
    return event;
  }
  const CudaDriver &driver = device_->driver();
  CUevent event = nullptr;
  Result<bool> created = driver.check(
      driver.eventCreate(&event, CU_EVENT_DEFAULT), "cuEventCreate");
  if (!created)
    return Error(created.error());
  return event;
}

Result<bool> CudaLaunchApi::startTiming(TimedLaunch &timed) {
  Result<CUevent> start = takeEvent();
  if (!start)
    return Error(start.error());
  Result<CUevent> end = takeEvent();
  if (!end) {
    spareEvents_.push_back(*start);
    return Error(end.error());
  }
  const CudaDriver &driver = device_->driver();
  Result<bool> recorded = driver.check(
      driver.eventRecord(*start, device_->stream()), "cuEventRecord");
  if (!recorded) {
    spareEvents_.push_back(*start);
    spareEvents_.push_back(*end);
    return recorded;
  }
  timed.start = *start;
  timed.end = *end;
  return true;
}

void CudaLaunchApi::collectTimes(bool finished) {
  const CudaDriver &driver = device_->driver();
  for (const TimedLaunch &timed : timedLaunches_) {
    float milliseconds = 0;
    if (finished) {
      Result<bool> read = driver.check(
          driver.eventElapsedTime(&milliseconds, timed.start, timed.end),
          "cuEventElapsedTime");
      if (!read) {
        fail(read.error());
        finished = false;
      } else {
        KernelTime &time = kernelTimes_[timed.kernel];
        time.kernel = timed.kernel;
        ++time.launches;
        time.milliseconds += milliseconds;
      }
    }
    spareEvents_.push_back(timed.start);
    spareEvents_.push_back(timed.end);
  }
  timedLaunches_.clear();
}

void jikji::runtime::cuda::sortByTime(std::vector<KernelTime> &times) {
  std::sort(times.begin(), times.end(),
            [](const KernelTime &a, const KernelTime &b) {
              if (a.milliseconds != b.milliseconds)
                return a.milliseconds > b.milliseconds;
              return a.kernel < b.kernel;
            });
}

std::vector<KernelTime> CudaLaunchApi::kernelTimes() const {
  std::vector<KernelTime> times;
  times.reserve(kernelTimes_.size());
  for (const auto &[kernel, time] : kernelTimes_)
    times.push_back(time);
  sortByTime(times);
  return times;
}

void CudaLaunchApi::fail(std::string message) {
  if (error_)
    return;
  error_ = std::move(message);
  // Nothing recorded runs; the stream is made an ordinary one again.
  if (capturing_)
    abandonCapture();
  // The launches and waits after this are skipped, but the artifact's host
  // code runs on: let the zeroing already enqueued finish first, so that
  // what it reads holds zeros (a failing stream fails this too, which
  // changes nothing).
  (void)device_->driver().streamSynchronize(device_->stream());
}

void *CudaLaunchApi::hostStandIn(int64_t bytes) {
  void *pointer = std::calloc(static_cast<size_t>(bytes > 0 ? bytes : 1), 1);
  if (pointer)
    hostStandIns_.insert(pointer);
  return pointer;
}

void *CudaLaunchApi::alloc(void *context, int64_t bytes) {
  auto &self = *static_cast<CudaLaunchApi *>(context);
  ++self.counts_.allocations;
  if (bytes < 1) {
    self.fail("the artifact asked for " + std::to_string(bytes) +
              " bytes; expected at least 1 (docs/runtime-abi.md)");
    return self.hostStandIn(1);
  }
  if (self.error_)
    return self.hostStandIn(bytes);
  Result<CUdeviceptr> pointer =
      self.allocateZeroed(static_cast<uint64_t>(bytes));
  if (!pointer) {
    self.fail(pointer.error());
    return self.hostStandIn(bytes);
  }
  return reinterpret_cast<void *>(*pointer);
}

Result<CUdeviceptr> CudaLaunchApi::allocateZeroed(uint64_t bytes) {
  uint64_t capacity = pooledCapacity(bytes);
  const CudaDriver &driver = device_->driver();
  if (auto kept = pool_.find(capacity); kept != pool_.end()) {
    CUdeviceptr pointer = kept->second;
    pool_.erase(kept);
    pooledBytes_ -= capacity;
    // Zeroed on the stream, after the kernels that last used it: the
    // artifact's host code waits before touching it
    // (jikji-place-gpu-synchronizations).
    Result<bool> zeroed =
        zeroManaged(*device_, pointer, capacity, Zeroing::Enqueued);
    if (!zeroed) {
      freeBlock(pointer);
      return Error("cannot reuse a buffer of " + std::to_string(capacity) +
                   " bytes for the artifact: " + zeroed.error());
    }
    noteNode(nullptr);
    ++counts_.reused;
    managed_.emplace(pointer, capacity);
    return pointer;
  }
  if (!pool_.empty()) {
    // Kept blocks of other sizes may be what the GPU lacks. (A failing
    // query is left for allocateZeroedManaged to report.)
    size_t freeBytes = 0, totalBytes = 0;
    if (driver.memGetInfo(&freeBytes, &totalBytes) == CUDA_SUCCESS &&
        freeBytes < capacity) {
      // Kept blocks may be in recorded nodes: the capture so far runs
      // first (and the rest of the step launch by launch).
      if (capturing_) {
        synchronize(this);
        if (error_)
          return Error(*error_);
      }
      releasePool();
    }
  }
  Result<CUdeviceptr> pointer = allocateZeroedManaged(
      *device_, capacity, "a buffer of the artifact", Zeroing::Enqueued);
  if (!pointer)
    return pointer;
  noteNode(nullptr);
  managed_.emplace(*pointer, capacity);
  return pointer;
}

void CudaLaunchApi::free(void *context, void *pointer) {
  auto &self = *static_cast<CudaLaunchApi *>(context);
  // An allocation that failed even on the host returned null.
  if (!pointer)
    return;
  if (self.hostStandIns_.erase(pointer)) {
    std::free(pointer);
    return;
  }
  auto address = reinterpret_cast<CUdeviceptr>(pointer);
  auto live = self.managed_.find(address);
  if (live == self.managed_.end()) {
    // Freeing it would be a double free or worse; leave it and say so.
    self.fail("the artifact freed a buffer the runtime did not allocate "
              "(or freed it twice)");
    return;
  }
  uint64_t capacity = live->second;
  self.managed_.erase(live);
  // Kept for the next step, unless the pool is full; after a failure the
  // device may be unusable, so the block goes back to the driver.
  if (!self.error_ && self.pooledBytes_ + capacity <= self.poolLimit_) {
    self.pool_.emplace(capacity, address);
    self.pooledBytes_ += capacity;
    return;
  }
  if (self.capturing_) {
    self.deferredFrees_.push_back(address);
    return;
  }
  Result<bool> freed = self.device_->driver().check(
      self.device_->driver().memFree(address), "cuMemFree");
  if (!freed)
    self.fail(freed.error());
}

void CudaLaunchApi::freeBlock(CUdeviceptr pointer) {
  if (capturing_)
    deferredFrees_.push_back(pointer);
  else
    (void)device_->driver().memFree(pointer);
}

void CudaLaunchApi::launch(void *context, const char *name, int64_t gridX,
                           int64_t gridY, int64_t gridZ, int64_t blockX,
                           int64_t blockY, int64_t blockZ, int32_t sharedBytes,
                           void **params, int64_t numParams) {
  (void)numParams; // cuLaunchKernel reads the count from the kernel.
  auto &self = *static_cast<CudaLaunchApi *>(context);
  if (self.error_)
    return;
  std::string kernel = name ? hf::printable(name) : "(null)";
  // An empty piece of work (an expert that received no tokens).
  if (gridX == 0) {
    ++self.counts_.skippedEmpty;
    return;
  }
  auto fits = [](int64_t value) { return value >= 1 && value <= UINT_MAX; };
  if (!name || !fits(gridX) || !fits(gridY) || !fits(gridZ) || !fits(blockX) ||
      !fits(blockY) || !fits(blockZ) || sharedBytes < 0) {
    self.fail("launch of kernel " + kernel + ": grid (" +
              std::to_string(gridX) + ", " + std::to_string(gridY) + ", " +
              std::to_string(gridZ) + "), block (" + std::to_string(blockX) +
              ", " + std::to_string(blockY) + ", " + std::to_string(blockZ) +
              "), " + std::to_string(sharedBytes) +
              " shared bytes: expected positive sizes that fit 32 bits");
    return;
  }
  Result<CUfunction> function = self.module_.function(name);
  if (!function) {
    self.fail(function.error());
    return;
  }
  ++self.counts_.launches;
  self.lastKernel_ = name;
  const CudaDriver &driver = self.device_->driver();
  CUstream stream = self.device_->stream();
  TimedLaunch timed{name, nullptr, nullptr};
  if (self.timing_) {
    Result<bool> started = self.startTiming(timed);
    if (!started) {
      self.fail(started.error());
      return;
    }
  }
  Result<bool> launched = driver.check(
      driver.launchKernel(
          *function, static_cast<unsigned>(gridX), static_cast<unsigned>(gridY),
          static_cast<unsigned>(gridZ), static_cast<unsigned>(blockX),
          static_cast<unsigned>(blockY), static_cast<unsigned>(blockZ),
          static_cast<unsigned>(sharedBytes), stream, params, nullptr),
      "cuLaunchKernel(" + kernel + ")");
  if (launched)
    self.noteNode(*function);
  if (launched && self.timing_)
    launched =
        driver.check(driver.eventRecord(timed.end, stream), "cuEventRecord");
  if (self.timing_)
    self.timedLaunches_.push_back(timed);
  if (!launched)
    self.fail(launched.error());
}

void CudaLaunchApi::synchronize(void *context) {
  auto &self = *static_cast<CudaLaunchApi *>(context);
  if (self.error_)
    return;
  // What the stream recorded runs first: a wait within a step ends its
  // capture (the host code is about to touch memory the recorded kernels
  // use), and the step's end does too.
  if (self.capturing_) {
    self.launchCaptured();
    if (self.error_)
      return;
  }
  const CudaDriver &driver = self.device_->driver();
  // A kernel that faults is reported here, not at its launch.
  std::string call = "cuStreamSynchronize";
  if (self.lastKernel_)
    call += " after kernel " + hf::printable(self.lastKernel_);
  Result<bool> done =
      driver.check(driver.streamSynchronize(self.device_->stream()), call);
  if (!done)
    self.fail(done.error());
  self.collectTimes(/*finished=*/bool(done));
}

void CudaLaunchApi::releaseAll() {
  if (!managed_.empty())
    (void)device_->makeCurrent();
  for (const auto &[pointer, capacity] : managed_)
    (void)device_->driver().memFree(pointer);
  managed_.clear();
  for (void *pointer : hostStandIns_)
    std::free(pointer);
  hostStandIns_.clear();
}

void CudaLaunchApi::releasePool() {
  if (!pool_.empty())
    (void)device_->makeCurrent();
  for (const auto &[capacity, pointer] : pool_)
    (void)device_->driver().memFree(pointer);
  pool_.clear();
  pooledBytes_ = 0;
}

Result<bool> CudaLaunchApi::endStep() {
  // The artifact waits only where its host code touches memory kernels use,
  // which today's artifacts never do within a step: this wait is where a
  // kernel's fault shows, named after the last kernel launched, and where
  // the step's timed launches are read.
  synchronize(this);
  // The artifact frees its buffers before returning; after a failure it may
  // not have reached every free. What it freed while the stream captured
  // goes back to the driver now that nothing recorded can still use it.
  releaseAll();
  if (!deferredFrees_.empty())
    (void)device_->makeCurrent();
  for (CUdeviceptr pointer : deferredFrees_)
    (void)device_->driver().memFree(pointer);
  deferredFrees_.clear();
  lastKernel_ = nullptr;
  collectTimes(/*finished=*/false);
  if (error_) {
    // The device may be what failed: start the next step from the driver.
    releasePool();
    return Error(*std::exchange(error_, std::nullopt));
  }
  return true;
}
