//===- CudaDriverTypes.h - The few CUDA driver declarations used -*- C++
//-*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The runtime builds and runs on machines without CUDA (DESIGN.md, decision
// 7), so it cannot include cuda.h. These are the types, constants and
// function signatures of the driver API it calls, as cuda.h declares them;
// the driver's ABI keeps them stable. Only what the runtime uses is here.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_CUDADRIVERTYPES_H
#define JIKJI_RUNTIME_CUDA_CUDADRIVERTYPES_H

#include <cstddef>

// The driver's opaque handle types, at global scope as cuda.h declares
// them, so that the function types below are the driver's own (a function
// called through a pointer of another type is undefined behaviour, and
// UBSan's -fsanitize=function checks it against the tests' fake driver).
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphNode_st;
struct CUgraphExec_st;

/// cuGraphExecUpdate's account of a refused update, cuda.h's
/// CUgraphExecUpdateResultInfo under its tag (`result` is a
/// CUgraphExecUpdateResult, an enum of int size).
struct CUgraphExecUpdateResultInfo_st {
  int result;
  CUgraphNode_st *errorNode;
  CUgraphNode_st *errorFromNode;
};

namespace jikji::runtime::cuda {

/// cuda.h's CUresult: 0 is success; cuGetErrorName names the others.
using CUresult = int;
using CUdevice = int;
/// A device address; with managed memory it is also a host address.
using CUdeviceptr = unsigned long long;
using CUcontext = ::CUctx_st *;
using CUmodule = ::CUmod_st *;
using CUfunction = ::CUfunc_st *;
using CUstream = ::CUstream_st *;
using CUevent = ::CUevent_st *;
using CUgraph = ::CUgraph_st *;
using CUgraphNode = ::CUgraphNode_st *;
using CUgraphExec = ::CUgraphExec_st *;
using CUgraphExecUpdateResultInfo = ::CUgraphExecUpdateResultInfo_st;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY = 83;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 0x1;
constexpr unsigned CU_STREAM_NON_BLOCKING = 0x1;
constexpr unsigned CU_EVENT_DEFAULT = 0x0;
/// cuStreamBeginCapture's mode that lets the capturing thread make calls
/// that are not stream work, cuMemAllocManaged among them.
constexpr int CU_STREAM_CAPTURE_MODE_RELAXED = 2;
/// cuGraphExecUpdate's answer when the graph differs from the executable
/// one in a way an update cannot carry (another topology).
constexpr CUresult CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE = 910;

/// The entry points, under the names libcuda.so.1 exports them (cuda.h maps
/// some public names to versioned ones: cuMemFree is cuMemFree_v2, ...).
using cuInit_t = CUresult (*)(unsigned flags);
using cuDeviceGetCount_t = CUresult (*)(int *count);
using cuDeviceGet_t = CUresult (*)(CUdevice *device, int ordinal);
using cuDeviceGetAttribute_t = CUresult (*)(int *value, int attribute,
                                            CUdevice device);
using cuDeviceGetName_t = CUresult (*)(char *name, int length, CUdevice device);
using cuDeviceTotalMem_t = CUresult (*)(size_t *bytes, CUdevice device);
using cuDevicePrimaryCtxRetain_t = CUresult (*)(CUcontext *context,
                                                CUdevice device);
using cuDevicePrimaryCtxRelease_t = CUresult (*)(CUdevice device);
using cuCtxSetCurrent_t = CUresult (*)(CUcontext context);
using cuStreamCreate_t = CUresult (*)(CUstream *stream, unsigned flags);
using cuStreamDestroy_t = CUresult (*)(CUstream stream);
using cuStreamSynchronize_t = CUresult (*)(CUstream stream);
using cuModuleLoadData_t = CUresult (*)(CUmodule *module, const void *image);
using cuModuleUnload_t = CUresult (*)(CUmodule module);
using cuModuleGetFunction_t = CUresult (*)(CUfunction *function,
                                           CUmodule module, const char *name);
using cuLaunchKernel_t = CUresult (*)(CUfunction function, unsigned gridX,
                                      unsigned gridY, unsigned gridZ,
                                      unsigned blockX, unsigned blockY,
                                      unsigned blockZ, unsigned sharedBytes,
                                      CUstream stream, void **kernelParams,
                                      void **extra);
using cuMemAllocManaged_t = CUresult (*)(CUdeviceptr *pointer, size_t bytes,
                                         unsigned flags);
using cuMemFree_t = CUresult (*)(CUdeviceptr pointer);
using cuMemGetInfo_t = CUresult (*)(size_t *freeBytes, size_t *totalBytes);
using cuMemsetD8Async_t = CUresult (*)(CUdeviceptr pointer, unsigned char value,
                                       size_t count, CUstream stream);
using cuEventCreate_t = CUresult (*)(CUevent *event, unsigned flags);
using cuEventDestroy_t = CUresult (*)(CUevent event);
using cuEventRecord_t = CUresult (*)(CUevent event, CUstream stream);
using cuEventSynchronize_t = CUresult (*)(CUevent event);
using cuEventElapsedTime_t = CUresult (*)(float *milliseconds, CUevent start,
                                          CUevent end);
using cuStreamBeginCapture_t = CUresult (*)(CUstream stream, int mode);
using cuStreamEndCapture_t = CUresult (*)(CUstream stream, CUgraph *graph);
using cuGraphInstantiateWithFlags_t = CUresult (*)(CUgraphExec *executable,
                                                   CUgraph graph,
                                                   unsigned long long flags);
using cuGraphExecUpdate_t = CUresult (*)(CUgraphExec executable, CUgraph graph,
                                         CUgraphExecUpdateResultInfo *info);
using cuGraphLaunch_t = CUresult (*)(CUgraphExec executable, CUstream stream);
using cuGraphDestroy_t = CUresult (*)(CUgraph graph);
using cuGraphExecDestroy_t = CUresult (*)(CUgraphExec executable);
using cuGetErrorName_t = CUresult (*)(CUresult error, const char **name);

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_CUDADRIVERTYPES_H
