/*===- FakeCudaDriver.c - A CUDA driver without a GPU -------------*- C -*-===*\
|*                                                                            *|
|* Part of Jikji, a compiler for DeepSeek models.                             *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Built as libcuda.so.1 in a folder of its own (never on the library search  *|
|* path), and loaded by the runtime only when a test points                   *|
|* JIKJI_CUDA_DRIVER at it. It implements the driver entry points the         *|
|* runtime's CUDA device calls, with managed memory from malloc and kernels   *|
|* that are looked up and checked but never run, so that the device's        *|
|* loading, error paths and teardown can be tested on a machine with no GPU.  *|
|*                                                                            *|
|* It checks what a real driver checks where the runtime could get it        *|
|* wrong: cuInit first, a current context for every context-bound call,       *|
|* kernel names present in the loaded image, PTX not newer than the GPU,      *|
|* positive launch sizes (a grid of 0 is refused, as CUDA refuses it),        *|
|* frees only of live allocations. A kernel whose name starts with            *|
|* "fake_check_managed_N" fails with CUDA_ERROR_ILLEGAL_ADDRESS unless each   *|
|* of its N arguments is a pointer into managed memory. Events time the      *|
|* host between their records.                                                *|
|*                                                                            *|
|* Stream capture and graphs: between cuStreamBeginCapture and                *|
|* cuStreamEndCapture the stream records its launches and memsets, checked    *|
|* as when they run (a kernel's pointer arguments are copied, as a real       *|
|* driver copies kernelParams), and runs nothing; a graph's launch runs its   *|
|* nodes in order as ordinary launches and memsets run, and so fails as they  *|
|* would on memory freed since the capture. While capturing, synchronizing    *|
|* the stream or recording an event on it fails with                          *|
|* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidates the capture (its     *|
|* end then returns CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and no graph), as   *|
|* does cuMemAllocManaged unless the capture is in relaxed mode;              *|
|* cuMemFree is allowed and counted ("frees_while_capturing"). An update      *|
|* of an executable graph is refused (CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE)   *|
|* when the node count or a node's kind differs, the documented topology      *|
|* rules; kernels, grids and arguments may change. An injected failure of     *|
|* cuStreamEndCapture ends the capture too, without a graph.                  *|
|*                                                                            *|
|* Environment (read at every call, so a test may change it mid-run):         *|
|*   JIKJI_FAKE_CUDA_FAIL=CALL[:N[:CODE]]  the N-th call (default 1; 0: every *|
|*       call) of entry point CALL, counted from when the variable last       *|
|*       changed, returns CODE (default 999, CUDA_ERROR_UNKNOWN)              *|
|*   JIKJI_FAKE_CUDA_DEVICES=N             GPUs (default 1)                   *|
|*   JIKJI_FAKE_CUDA_CC=MAJORMINOR         compute capability (default 90)    *|
|*   JIKJI_FAKE_CUDA_FREE_BYTES=N          free memory (default 16 GiB)       *|
|*   JIKJI_FAKE_CUDA_COUNT_LIVE=1          free memory is N less the bytes    *|
|*       allocated and not freed (by default it stays N)                     *|
|*   JIKJI_FAKE_CUDA_MANAGED=0             a GPU without managed memory       *|
|*   JIKJI_FAKE_CUDA_REPORT=1              print what is still live to        *|
|*       stderr when the library is unloaded (at exit: the runtime keeps the  *|
|*       driver loaded)                                                       *|
|* jikji_fake_cuda_state(NAME) returns the counters for tests that dlopen     *|
|* the same file.                                                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The driver's types, as cuda.h declares them: a function is called
 * through a pointer of exactly its type (UBSan checks it). */
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphNode_st *CUgraphNode;
typedef struct CUgraphExec_st *CUgraphExec;
typedef struct CUgraphExecUpdateResultInfo_st {
  int result;
  CUgraphNode errorNode;
  CUgraphNode errorFromNode;
} CUgraphExecUpdateResultInfo;

enum {
  SUCCESS = 0,
  INVALID_VALUE = 1,
  OUT_OF_MEMORY = 2,
  NOT_INITIALIZED = 3,
  NO_DEVICE = 100,
  INVALID_DEVICE = 101,
  INVALID_IMAGE = 200,
  INVALID_CONTEXT = 201,
  INVALID_PTX = 218,
  INVALID_HANDLE = 400,
  ILLEGAL_STATE = 401,
  NOT_FOUND = 500,
  NOT_READY = 600,
  ILLEGAL_ADDRESS = 700,
  LAUNCH_FAILED = 719,
  CAPTURE_UNSUPPORTED = 900,
  CAPTURE_INVALIDATED = 901,
  GRAPH_EXEC_UPDATE_FAILURE = 910,
  UNKNOWN = 999
};

/* One context, stream, module and function object's identity: the fake
 * hands out addresses of these. */
static int contextObject, streamObject;

struct Allocation {
  char *data;
  size_t size;
};
struct Module {
  char *image;
  size_t size;
  int isCubin;
};
struct Function {
  struct Module *module;
  char name[256];
};

static int initialized;
static struct Allocation *allocations;
static size_t allocationCount, allocationCapacity;
static int64_t contexts, streams, modules, launches, badFrees, imageIsCubin;
static int64_t events;
/* Every cuMemAllocManaged that succeeded, freed or not. */
static int64_t allocationsMade;
static struct Function *functions[1024];
static size_t functionCount;
static __thread void *currentContext;

/* A recorded launch or memset: what it needs to run later. */
enum { KERNEL_NODE = 1, MEMSET_NODE = 2 };
#define MAX_CHECKED_POINTERS 16
struct Node {
  int kind;
  struct Function *function;
  unsigned grid[3], block[3], sharedBytes;
  /* fake_check_managed_N's arguments, copied at the launch's call. */
  CUdeviceptr pointers[MAX_CHECKED_POINTERS];
  size_t pointerCount;
  CUdeviceptr target;
  unsigned char value;
  size_t count;
};
/* A graph and an executable graph alike: nodes in stream order. */
struct Graph {
  struct Node *nodes;
  size_t count, capacity;
};
static int capturing, captureRelaxed, captureInvalidated;
static struct Graph *captured;
static int64_t graphs, graphExecs, captures, graphLaunches, instantiations,
    updates, updatesRefused, freesWhileCapturing;
/* The grid (x) of the last kernel run, replayed or not. */
static int64_t lastGridX;

/* Failure injection: the variable's last value and the calls counted since. */
static char failSpec[256];
static int64_t failCalls;

static int64_t envInteger(const char *name, int64_t fallback) {
  const char *text = getenv(name);
  return text && *text ? strtoll(text, NULL, 10) : fallback;
}

/* The code `call` must fail with now, or 0. */
static CUresult injected(const char *call) {
  const char *spec = getenv("JIKJI_FAKE_CUDA_FAIL");
  char name[128];
  long long nth = 1, code = UNKNOWN;
  const char *colon;
  size_t length;
  if (!spec)
    spec = "";
  if (strncmp(spec, failSpec, sizeof(failSpec)) != 0) {
    strncpy(failSpec, spec, sizeof(failSpec) - 1);
    failCalls = 0;
  }
  if (!*spec)
    return SUCCESS;
  colon = strchr(spec, ':');
  length = colon ? (size_t)(colon - spec) : strlen(spec);
  if (length >= sizeof(name))
    return SUCCESS;
  memcpy(name, spec, length);
  name[length] = 0;
  if (strcmp(name, call) != 0)
    return SUCCESS;
  if (colon)
    sscanf(colon + 1, "%lld:%lld", &nth, &code);
  ++failCalls;
  return nth == 0 || failCalls == nth ? (CUresult)code : SUCCESS;
}

/* Every entry point starts so: an injected failure, then cuInit's. */
#define ENTER(call)                                                            \
  do {                                                                         \
    CUresult forced = injected(call);                                          \
    if (forced)                                                                \
      return forced;                                                           \
    if (!initialized)                                                          \
      return NOT_INITIALIZED;                                                  \
  } while (0)
#define NEEDS_CONTEXT()                                                        \
  do {                                                                         \
    if (currentContext != &contextObject)                                      \
      return INVALID_CONTEXT;                                                  \
  } while (0)

static struct Allocation *findAllocation(CUdeviceptr pointer, size_t *index) {
  size_t i;
  for (i = 0; i < allocationCount; ++i) {
    uintptr_t start = (uintptr_t)allocations[i].data;
    if (pointer >= start && pointer < start + allocations[i].size) {
      if (index)
        *index = i;
      return &allocations[i];
    }
  }
  return NULL;
}

/* The bytes of the live allocations. */
static size_t liveBytes(void) {
  size_t i, total = 0;
  for (i = 0; i < allocationCount; ++i)
    total += allocations[i].size;
  return total;
}

CUresult cuInit(unsigned flags) {
  CUresult forced = injected("cuInit");
  if (forced)
    return forced;
  if (flags != 0)
    return INVALID_VALUE;
  initialized = 1;
  return SUCCESS;
}

CUresult cuGetErrorName(CUresult error, const char **name) {
  switch (error) {
  case SUCCESS:
    *name = "CUDA_SUCCESS";
    return SUCCESS;
  case INVALID_VALUE:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return SUCCESS;
  case OUT_OF_MEMORY:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return SUCCESS;
  case NOT_INITIALIZED:
    *name = "CUDA_ERROR_NOT_INITIALIZED";
    return SUCCESS;
  case NO_DEVICE:
    *name = "CUDA_ERROR_NO_DEVICE";
    return SUCCESS;
  case INVALID_DEVICE:
    *name = "CUDA_ERROR_INVALID_DEVICE";
    return SUCCESS;
  case INVALID_IMAGE:
    *name = "CUDA_ERROR_INVALID_IMAGE";
    return SUCCESS;
  case INVALID_CONTEXT:
    *name = "CUDA_ERROR_INVALID_CONTEXT";
    return SUCCESS;
  case INVALID_PTX:
    *name = "CUDA_ERROR_INVALID_PTX";
    return SUCCESS;
  case INVALID_HANDLE:
    *name = "CUDA_ERROR_INVALID_HANDLE";
    return SUCCESS;
  case NOT_FOUND:
    *name = "CUDA_ERROR_NOT_FOUND";
    return SUCCESS;
  case ILLEGAL_ADDRESS:
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return SUCCESS;
  case LAUNCH_FAILED:
    *name = "CUDA_ERROR_LAUNCH_FAILED";
    return SUCCESS;
  case NOT_READY:
    *name = "CUDA_ERROR_NOT_READY";
    return SUCCESS;
  case ILLEGAL_STATE:
    *name = "CUDA_ERROR_ILLEGAL_STATE";
    return SUCCESS;
  case CAPTURE_UNSUPPORTED:
    *name = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
    return SUCCESS;
  case CAPTURE_INVALIDATED:
    *name = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
    return SUCCESS;
  case GRAPH_EXEC_UPDATE_FAILURE:
    *name = "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE";
    return SUCCESS;
  case UNKNOWN:
    *name = "CUDA_ERROR_UNKNOWN";
    return SUCCESS;
  }
  /* The real driver answers so for a code it does not know. */
  *name = NULL;
  return INVALID_VALUE;
}

CUresult cuDeviceGetCount(int *count) {
  ENTER("cuDeviceGetCount");
  *count = (int)envInteger("JIKJI_FAKE_CUDA_DEVICES", 1);
  return SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  ENTER("cuDeviceGet");
  if (ordinal < 0 || ordinal >= envInteger("JIKJI_FAKE_CUDA_DEVICES", 1))
    return INVALID_DEVICE;
  *device = ordinal;
  return SUCCESS;
}

CUresult cuDeviceGetName(char *name, int length, int device) {
  ENTER("cuDeviceGetName");
  (void)device;
  snprintf(name, (size_t)length, "Jikji fake GPU");
  return SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  int64_t capability = envInteger("JIKJI_FAKE_CUDA_CC", 90);
  ENTER("cuDeviceGetAttribute");
  (void)device;
  if (attribute == 75)
    *value = (int)(capability / 10);
  else if (attribute == 76)
    *value = (int)(capability % 10);
  else if (attribute == 83)
    *value = (int)envInteger("JIKJI_FAKE_CUDA_MANAGED", 1);
  else
    return INVALID_VALUE;
  return SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, int device) {
  ENTER("cuDeviceTotalMem_v2");
  (void)device;
  *bytes = (size_t)(2 * envInteger("JIKJI_FAKE_CUDA_FREE_BYTES", 1LL << 34));
  return SUCCESS;
}

CUresult cuMemGetInfo_v2(size_t *freeBytes, size_t *totalBytes) {
  ENTER("cuMemGetInfo_v2");
  NEEDS_CONTEXT();
  *freeBytes = (size_t)envInteger("JIKJI_FAKE_CUDA_FREE_BYTES", 1LL << 34);
  *totalBytes = 2 * *freeBytes;
  if (envInteger("JIKJI_FAKE_CUDA_COUNT_LIVE", 0)) {
    size_t live = liveBytes();
    *freeBytes = *freeBytes > live ? *freeBytes - live : 0;
  }
  return SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device) {
  ENTER("cuDevicePrimaryCtxRetain");
  (void)device;
  ++contexts;
  *context = (CUcontext)&contextObject;
  return SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  ENTER("cuDevicePrimaryCtxRelease_v2");
  (void)device;
  if (contexts == 0)
    return INVALID_CONTEXT;
  --contexts;
  return SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext context) {
  ENTER("cuCtxSetCurrent");
  if (context && ((void *)context != &contextObject || contexts == 0))
    return INVALID_CONTEXT;
  currentContext = context;
  return SUCCESS;
}

CUresult cuStreamCreate(CUstream *stream, unsigned flags) {
  ENTER("cuStreamCreate");
  NEEDS_CONTEXT();
  (void)flags;
  ++streams;
  *stream = (CUstream)&streamObject;
  return SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream stream) {
  ENTER("cuStreamDestroy_v2");
  NEEDS_CONTEXT();
  if ((void *)stream != &streamObject || streams == 0)
    return INVALID_HANDLE;
  --streams;
  return SUCCESS;
}

/* A call a capturing stream does not allow: it ends the capture's use. */
static CUresult refuseWhileCapturing(void) {
  captureInvalidated = 1;
  return CAPTURE_UNSUPPORTED;
}

CUresult cuStreamSynchronize(CUstream stream) {
  ENTER("cuStreamSynchronize");
  NEEDS_CONTEXT();
  if ((void *)stream != &streamObject)
    return INVALID_HANDLE;
  return capturing ? refuseWhileCapturing() : SUCCESS;
}

/* An event holds the time it was recorded at: kernels run when launched
 * (that is, not at all), so the time between two records is the host's. */
struct Event {
  double recordedMs;
  int recorded;
};

static double nowMs(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

CUresult cuEventCreate(CUevent *event, unsigned flags) {
  struct Event *created;
  ENTER("cuEventCreate");
  NEEDS_CONTEXT();
  if (flags != 0)
    return INVALID_VALUE;
  created = (struct Event *)calloc(1, sizeof(struct Event));
  if (!created)
    return OUT_OF_MEMORY;
  ++events;
  *event = (CUevent)created;
  return SUCCESS;
}

CUresult cuEventDestroy_v2(CUevent event) {
  ENTER("cuEventDestroy_v2");
  if (!event || events == 0)
    return INVALID_HANDLE;
  free(event);
  --events;
  return SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream stream) {
  struct Event *recorded = (struct Event *)event;
  ENTER("cuEventRecord");
  NEEDS_CONTEXT();
  if (!recorded || (void *)stream != &streamObject)
    return INVALID_HANDLE;
  if (capturing)
    return refuseWhileCapturing();
  recorded->recordedMs = nowMs();
  recorded->recorded = 1;
  return SUCCESS;
}

CUresult cuEventSynchronize(CUevent event) {
  ENTER("cuEventSynchronize");
  return event ? SUCCESS : INVALID_HANDLE;
}

CUresult cuEventElapsedTime(float *milliseconds, CUevent start, CUevent end) {
  const struct Event *first = (const struct Event *)start;
  const struct Event *last = (const struct Event *)end;
  ENTER("cuEventElapsedTime");
  if (!milliseconds || !first || !last)
    return INVALID_HANDLE;
  if (!first->recorded || !last->recorded)
    return NOT_READY;
  *milliseconds = (float)(last->recordedMs - first->recordedMs);
  return SUCCESS;
}

/* The size of an ELF image: its section header table ends it. */
static size_t elfSize(const unsigned char *image) {
  uint64_t offset;
  uint16_t entrySize, entries;
  memcpy(&offset, image + 0x28, 8);
  memcpy(&entrySize, image + 0x3A, 2);
  memcpy(&entries, image + 0x3C, 2);
  return (size_t)(offset + (uint64_t)entrySize * entries);
}

CUresult cuModuleLoadData(CUmodule *module, const void *image) {
  const unsigned char *bytes = (const unsigned char *)image;
  struct Module *loaded;
  ENTER("cuModuleLoadData");
  NEEDS_CONTEXT();
  loaded = (struct Module *)calloc(1, sizeof(struct Module));
  if (!loaded)
    return OUT_OF_MEMORY;
  if (memcmp(bytes, "\177ELF", 4) == 0) {
    loaded->isCubin = 1;
    loaded->size = elfSize(bytes);
  } else {
    /* PTX: text with a .version and a .target no newer than the GPU. */
    const char *text = (const char *)image;
    const char *target = strstr(text, ".target sm_");
    if (!strstr(text, ".version") || !target) {
      free(loaded);
      return INVALID_IMAGE;
    }
    if (atoi(target + strlen(".target sm_")) >
        envInteger("JIKJI_FAKE_CUDA_CC", 90)) {
      free(loaded);
      return INVALID_PTX;
    }
    loaded->size = strlen(text);
  }
  loaded->image = (char *)malloc(loaded->size + 1);
  if (!loaded->image) {
    free(loaded);
    return OUT_OF_MEMORY;
  }
  memcpy(loaded->image, image, loaded->size);
  loaded->image[loaded->size] = 0;
  imageIsCubin = loaded->isCubin;
  ++modules;
  *module = (CUmodule)loaded;
  return SUCCESS;
}

CUresult cuModuleUnload(CUmodule module) {
  struct Module *loaded = (struct Module *)module;
  size_t i, kept = 0;
  ENTER("cuModuleUnload");
  NEEDS_CONTEXT();
  if (!loaded || modules == 0)
    return INVALID_HANDLE;
  for (i = 0; i < functionCount; ++i) {
    if (functions[i]->module == loaded)
      free(functions[i]);
    else
      functions[kept++] = functions[i];
  }
  functionCount = kept;
  free(loaded->image);
  free(loaded);
  --modules;
  return SUCCESS;
}

/* True when `name` is a kernel of the image: an .entry of the PTX, a
 * NUL-terminated string of the cubin (its symbol table holds the names). */
static int hasKernel(const struct Module *module, const char *name) {
  size_t length = strlen(name), i;
  if (!module->isCubin) {
    char pattern[300];
    snprintf(pattern, sizeof(pattern), ".entry %s(", name);
    return strstr(module->image, pattern) != NULL;
  }
  for (i = 0; i + length < module->size; ++i)
    if (memcmp(module->image + i, name, length + 1) == 0 &&
        (i == 0 || module->image[i - 1] == 0))
      return 1;
  return 0;
}

CUresult cuModuleGetFunction(CUfunction *function, CUmodule module,
                             const char *name) {
  struct Function *found;
  ENTER("cuModuleGetFunction");
  NEEDS_CONTEXT();
  if (!module || !name || strlen(name) >= sizeof(found->name))
    return INVALID_VALUE;
  if (!hasKernel((struct Module *)module, name))
    return NOT_FOUND;
  if (functionCount == sizeof(functions) / sizeof(functions[0]))
    return OUT_OF_MEMORY;
  found = (struct Function *)calloc(1, sizeof(struct Function));
  if (!found)
    return OUT_OF_MEMORY;
  found->module = (struct Module *)module;
  strcpy(found->name, name);
  functions[functionCount++] = found;
  *function = (CUfunction)found;
  return SUCCESS;
}

/* Appends a copy of `node` to `graph`. */
static CUresult appendNode(struct Graph *graph, const struct Node *node) {
  if (graph->count == graph->capacity) {
    size_t capacity = graph->capacity ? 2 * graph->capacity : 16;
    struct Node *grown =
        (struct Node *)realloc(graph->nodes, capacity * sizeof(struct Node));
    if (!grown)
      return OUT_OF_MEMORY;
    graph->nodes = grown;
    graph->capacity = capacity;
  }
  graph->nodes[graph->count++] = *node;
  return SUCCESS;
}

/* A memset's range lies in one live allocation. */
static int memsetInBounds(CUdeviceptr pointer, size_t count) {
  struct Allocation *allocation = findAllocation(pointer, NULL);
  return allocation &&
         pointer + count <= (uintptr_t)allocation->data + allocation->size;
}

/* Runs a recorded kernel: fake_check_managed_N checks its arguments. */
static CUresult runKernel(const struct Node *node) {
  size_t i;
  for (i = 0; i < node->pointerCount; ++i)
    if (!findAllocation(node->pointers[i], NULL))
      return ILLEGAL_ADDRESS;
  ++launches;
  lastGridX = node->grid[0];
  return SUCCESS;
}

static CUresult runMemset(const struct Node *node) {
  /* Memory freed since the memset was recorded faults on a GPU. */
  if (!memsetInBounds(node->target, node->count))
    return ILLEGAL_ADDRESS;
  memset((void *)(uintptr_t)node->target, node->value, node->count);
  return SUCCESS;
}

CUresult cuLaunchKernel(CUfunction function, unsigned gridX, unsigned gridY,
                        unsigned gridZ, unsigned blockX, unsigned blockY,
                        unsigned blockZ, unsigned sharedBytes, CUstream stream,
                        void **params, void **extra) {
  struct Function *kernel = (struct Function *)function;
  struct Node node;
  size_t i;
  int known = 0;
  ENTER("cuLaunchKernel");
  NEEDS_CONTEXT();
  for (i = 0; i < functionCount; ++i)
    known = known || functions[i] == kernel;
  if (!known || (void *)stream != &streamObject)
    return INVALID_HANDLE;
  if (!gridX || !gridY || !gridZ || !blockX || !blockY || !blockZ ||
      (uint64_t)blockX * blockY * blockZ > 1024 || sharedBytes > 49152 || extra)
    return INVALID_VALUE;
  memset(&node, 0, sizeof(node));
  node.kind = KERNEL_NODE;
  node.function = kernel;
  node.grid[0] = gridX;
  node.grid[1] = gridY;
  node.grid[2] = gridZ;
  node.block[0] = blockX;
  node.block[1] = blockY;
  node.block[2] = blockZ;
  node.sharedBytes = sharedBytes;
  if (strncmp(kernel->name, "fake_check_managed_", 19) == 0) {
    /* fake_check_managed_N takes N arguments, every one a pointer. */
    long count = strtol(kernel->name + 19, NULL, 10);
    if (count < 0 || count > MAX_CHECKED_POINTERS)
      return INVALID_VALUE;
    for (i = 0; params && i < (size_t)count; ++i)
      memcpy(&node.pointers[i], params[i], sizeof(CUdeviceptr));
    node.pointerCount = params ? (size_t)count : 0;
  }
  if (capturing)
    return appendNode(captured, &node);
  return runKernel(&node);
}

CUresult cuMemAllocManaged(CUdeviceptr *pointer, size_t bytes, unsigned flags) {
  char *data;
  ENTER("cuMemAllocManaged");
  NEEDS_CONTEXT();
  if (bytes == 0 || (flags != 1 && flags != 2))
    return INVALID_VALUE;
  /* A call that is not stream work: only a relaxed capture allows it. */
  if (capturing && !captureRelaxed)
    return refuseWhileCapturing();
  if (allocationCount == allocationCapacity) {
    size_t capacity = allocationCapacity ? 2 * allocationCapacity : 64;
    struct Allocation *grown = (struct Allocation *)realloc(
        allocations, capacity * sizeof(struct Allocation));
    if (!grown)
      return OUT_OF_MEMORY;
    allocations = grown;
    allocationCapacity = capacity;
  }
  /* Not zeroed, as a real allocation is not: the runtime must clear it. */
  data = (char *)malloc(bytes);
  if (!data)
    return OUT_OF_MEMORY;
  memset(data, 0xA5, bytes);
  allocations[allocationCount].data = data;
  allocations[allocationCount].size = bytes;
  ++allocationCount;
  ++allocationsMade;
  *pointer = (CUdeviceptr)(uintptr_t)data;
  return SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr pointer) {
  size_t index;
  struct Allocation *allocation;
  ENTER("cuMemFree_v2");
  NEEDS_CONTEXT();
  allocation = findAllocation(pointer, &index);
  if (!allocation || (uintptr_t)allocation->data != pointer) {
    ++badFrees;
    return INVALID_VALUE;
  }
  if (capturing)
    ++freesWhileCapturing;
  free(allocation->data);
  allocations[index] = allocations[--allocationCount];
  return SUCCESS;
}

CUresult cuMemsetD8Async(CUdeviceptr pointer, unsigned char value, size_t count,
                         CUstream stream) {
  struct Node node;
  ENTER("cuMemsetD8Async");
  NEEDS_CONTEXT();
  if ((void *)stream != &streamObject || !memsetInBounds(pointer, count))
    return INVALID_VALUE;
  memset(&node, 0, sizeof(node));
  node.kind = MEMSET_NODE;
  node.target = pointer;
  node.value = value;
  node.count = count;
  if (capturing)
    return appendNode(captured, &node);
  return runMemset(&node);
}

static struct Graph *newGraph(void) {
  return (struct Graph *)calloc(1, sizeof(struct Graph));
}

static void freeGraph(struct Graph *graph) {
  if (graph)
    free(graph->nodes);
  free(graph);
}

CUresult cuStreamBeginCapture_v2(CUstream stream, int mode) {
  ENTER("cuStreamBeginCapture_v2");
  NEEDS_CONTEXT();
  if ((void *)stream != &streamObject)
    return INVALID_HANDLE;
  if (mode < 0 || mode > 2)
    return INVALID_VALUE;
  if (capturing)
    return ILLEGAL_STATE;
  captured = newGraph();
  if (!captured)
    return OUT_OF_MEMORY;
  capturing = 1;
  captureRelaxed = mode == 2;
  captureInvalidated = 0;
  ++captures;
  return SUCCESS;
}

CUresult cuStreamEndCapture(CUstream stream, CUgraph *graph) {
  CUresult forced = injected("cuStreamEndCapture");
  /* An injected failure ends the capture without a graph, as the real
   * driver's end of an invalidated capture does. */
  if (forced) {
    if (capturing) {
      capturing = 0;
      freeGraph(captured);
      captured = NULL;
    }
    return forced;
  }
  if (!initialized)
    return NOT_INITIALIZED;
  NEEDS_CONTEXT();
  if ((void *)stream != &streamObject || !graph)
    return INVALID_HANDLE;
  if (!capturing)
    return ILLEGAL_STATE;
  capturing = 0;
  if (captureInvalidated) {
    freeGraph(captured);
    captured = NULL;
    *graph = NULL;
    return CAPTURE_INVALIDATED;
  }
  ++graphs;
  *graph = (CUgraph)captured;
  captured = NULL;
  return SUCCESS;
}

CUresult cuGraphDestroy(CUgraph graph) {
  ENTER("cuGraphDestroy");
  if (!graph || graphs == 0)
    return INVALID_VALUE;
  freeGraph((struct Graph *)graph);
  --graphs;
  return SUCCESS;
}

/* Makes `to` hold a copy of `from`'s nodes. */
static CUresult copyNodes(struct Graph *to, const struct Graph *from) {
  size_t i;
  to->count = 0;
  for (i = 0; i < from->count; ++i)
    if (appendNode(to, &from->nodes[i]) != SUCCESS)
      return OUT_OF_MEMORY;
  return SUCCESS;
}

CUresult cuGraphInstantiateWithFlags(CUgraphExec *executable, CUgraph graph,
                                     unsigned long long flags) {
  struct Graph *made;
  ENTER("cuGraphInstantiateWithFlags");
  NEEDS_CONTEXT();
  if (!executable || !graph || flags != 0)
    return INVALID_VALUE;
  made = newGraph();
  if (!made || copyNodes(made, (const struct Graph *)graph) != SUCCESS) {
    freeGraph(made);
    return OUT_OF_MEMORY;
  }
  ++graphExecs;
  ++instantiations;
  *executable = (CUgraphExec)made;
  return SUCCESS;
}

CUresult cuGraphExecUpdate_v2(CUgraphExec executable, CUgraph graph,
                              CUgraphExecUpdateResultInfo *info) {
  struct Graph *target = (struct Graph *)executable;
  const struct Graph *source = (const struct Graph *)graph;
  size_t i;
  ENTER("cuGraphExecUpdate_v2");
  NEEDS_CONTEXT();
  if (!target || !source || !info)
    return INVALID_VALUE;
  memset(info, 0, sizeof(*info));
  if (target->count != source->count) {
    info->result = 2; /* CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED */
    ++updatesRefused;
    return GRAPH_EXEC_UPDATE_FAILURE;
  }
  for (i = 0; i < source->count; ++i)
    if (target->nodes[i].kind != source->nodes[i].kind) {
      info->result = 3; /* CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED */
      ++updatesRefused;
      return GRAPH_EXEC_UPDATE_FAILURE;
    }
  /* Same topology: every node takes the new parameters. */
  memcpy(target->nodes, source->nodes, source->count * sizeof(struct Node));
  ++updates;
  return SUCCESS;
}

CUresult cuGraphLaunch(CUgraphExec executable, CUstream stream) {
  const struct Graph *graph = (const struct Graph *)executable;
  size_t i;
  ENTER("cuGraphLaunch");
  NEEDS_CONTEXT();
  if (!graph || (void *)stream != &streamObject)
    return INVALID_HANDLE;
  /* A graph launched into a capture would become a child graph; the
   * runtime never does that, and the fake does not model it. */
  if (capturing)
    return refuseWhileCapturing();
  ++graphLaunches;
  for (i = 0; i < graph->count; ++i) {
    CUresult result = graph->nodes[i].kind == KERNEL_NODE
                          ? runKernel(&graph->nodes[i])
                          : runMemset(&graph->nodes[i]);
    if (result != SUCCESS)
      return result;
  }
  return SUCCESS;
}

CUresult cuGraphExecDestroy(CUgraphExec executable) {
  ENTER("cuGraphExecDestroy");
  if (!executable || graphExecs == 0)
    return INVALID_VALUE;
  freeGraph((struct Graph *)executable);
  --graphExecs;
  return SUCCESS;
}

/* The counters, by name, for tests: -1 for an unknown name. "allocations"
 * counts the live ones, "allocations_made" every one since loading;
 * "graphs" and "graph_execs" the live graphs and executable graphs;
 * "last_grid_x" is the grid of the last kernel run, "live_bytes" the bytes
 * of the live allocations. */
int64_t jikji_fake_cuda_state(const char *name) {
  if (strcmp(name, "allocations") == 0)
    return (int64_t)allocationCount;
  if (strcmp(name, "allocations_made") == 0)
    return allocationsMade;
  if (strcmp(name, "contexts") == 0)
    return contexts;
  if (strcmp(name, "streams") == 0)
    return streams;
  if (strcmp(name, "modules") == 0)
    return modules;
  if (strcmp(name, "events") == 0)
    return events;
  if (strcmp(name, "launches") == 0)
    return launches;
  if (strcmp(name, "bad_frees") == 0)
    return badFrees;
  if (strcmp(name, "image_is_cubin") == 0)
    return imageIsCubin;
  if (strcmp(name, "capturing") == 0)
    return capturing;
  if (strcmp(name, "captures") == 0)
    return captures;
  if (strcmp(name, "graphs") == 0)
    return graphs;
  if (strcmp(name, "graph_execs") == 0)
    return graphExecs;
  if (strcmp(name, "graph_launches") == 0)
    return graphLaunches;
  if (strcmp(name, "instantiations") == 0)
    return instantiations;
  if (strcmp(name, "updates") == 0)
    return updates;
  if (strcmp(name, "updates_refused") == 0)
    return updatesRefused;
  if (strcmp(name, "frees_while_capturing") == 0)
    return freesWhileCapturing;
  if (strcmp(name, "last_grid_x") == 0)
    return lastGridX;
  if (strcmp(name, "live_bytes") == 0)
    return (int64_t)liveBytes();
  return -1;
}

__attribute__((destructor)) static void reportOnUnload(void) {
  size_t i;
  if (envInteger("JIKJI_FAKE_CUDA_REPORT", 0))
    fprintf(stderr,
            "fake cuda: at unload %zu allocations, %lld contexts, %lld "
            "streams, %lld modules live; %lld bad frees; %lld launches; "
            "graphs: %lld graphs and %lld executable graphs live, %lld "
            "launched, %lld instantiated, %lld updated, %lld updates "
            "refused, %lld frees while capturing\n",
            allocationCount, (long long)contexts, (long long)streams,
            (long long)modules, (long long)badFrees, (long long)launches,
            (long long)graphs, (long long)graphExecs,
            (long long)graphLaunches, (long long)instantiations,
            (long long)updates, (long long)updatesRefused,
            (long long)freesWhileCapturing);
  for (i = 0; i < functionCount; ++i)
    free(functions[i]);
  for (i = 0; i < allocationCount; ++i)
    free(allocations[i].data);
  free(allocations);
  freeGraph(captured);
}
