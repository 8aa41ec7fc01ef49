//===- safetensors-header-fuzzer.cpp - Fuzzes safetensors headers ---------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Fuzzes jikji::hf::parseSafeTensorsHeader. The input is an 8-byte
// little-endian count of data bytes that the file has beyond the input,
// followed by the start of the file (its 8-byte header length, the JSON
// header, possibly some data); the file size the parser is told is the sum.
// So a seed made from a real checkpoint's first 8 + N bytes is accepted, and
// the fuzzer can still try absurd file sizes.
//
// An accepted header is then checked for what the runtime trusts when it maps
// the data: each tensor's bytes are its element count times its dtype size,
// lie inside the file, and the tensors, sorted by offset, tile the data
// section exactly; the tensors are sorted by name and find() finds each one.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/SafeTensors.h"
#include "fuzz/FuzzSupport.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

using namespace jikji;
using namespace jikji::hf;

static void checkAccepted(const SafeTensorsFile &file, uint64_t fileSize) {
  JIKJI_FUZZ_CHECK(file.fileSize == fileSize, "fileSize not kept");
  JIKJI_FUZZ_CHECK(file.dataOffset >= 8 && file.dataOffset <= fileSize,
                   "data section outside the file");
  uint64_t dataSize = fileSize - file.dataOffset;
  std::vector<const TensorInfo *> byOffset;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const TensorInfo &tensor = file.tensors[i];
    if (i > 0)
      JIKJI_FUZZ_CHECK(file.tensors[i - 1].name < tensor.name,
                       "tensors not sorted by name, or a name repeated");
    JIKJI_FUZZ_CHECK(file.find(tensor.name) == &tensor, "find() misses");
    JIKJI_FUZZ_CHECK(tensor.begin <= tensor.end && tensor.end <= dataSize,
                     "a tensor outside the data section");
    JIKJI_FUZZ_CHECK(tensor.fileOffset == file.dataOffset + tensor.begin,
                     "fileOffset disagrees with begin");
    // The element count, computed without wrapping.
    uint64_t bytes = dtypeSize(tensor.dtype);
    for (int64_t dim : tensor.shape) {
      JIKJI_FUZZ_CHECK(dim >= 0, "a negative dimension");
      JIKJI_FUZZ_CHECK(
          !__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes),
          "a byte size that wraps was accepted");
    }
    JIKJI_FUZZ_CHECK(bytes == tensor.numBytes(),
                     "byte range disagrees with dtype and shape");
    if (bytes > 0)
      JIKJI_FUZZ_CHECK(static_cast<uint64_t>(tensor.numElements()) *
                               dtypeSize(tensor.dtype) ==
                           bytes,
                       "numElements() disagrees with the byte size");
    byOffset.push_back(&tensor);
  }
  std::sort(byOffset.begin(), byOffset.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              return a->begin != b->begin ? a->begin < b->begin
                                          : a->end < b->end;
            });
  uint64_t cursor = 0;
  for (const TensorInfo *tensor : byOffset) {
    JIKJI_FUZZ_CHECK(tensor->begin == cursor, "tensors overlap or leave holes");
    cursor = tensor->end;
  }
  JIKJI_FUZZ_CHECK(cursor == dataSize, "bytes after the last tensor");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8)
    return 0;
  uint64_t extra = 0;
  for (int i = 7; i >= 0; --i)
    extra = (extra << 8) | data[i];
  std::string_view prefix(reinterpret_cast<const char *>(data) + 8, size - 8);
  uint64_t fileSize = prefix.size() + extra;
  if (fileSize < extra) // Wrapped: the largest size there is.
    fileSize = UINT64_MAX;

  Result<SafeTensorsFile> file =
      parseSafeTensorsHeader(prefix, fileSize, "fuzz.safetensors");
  if (!file) {
    JIKJI_FUZZ_CHECK(file.error().rfind("fuzz.safetensors: ", 0) == 0,
                     "an error that does not start with the path");
    return 0;
  }
  checkAccepted(*file, fileSize);
  return 0;
}
