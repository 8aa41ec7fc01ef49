//===- WeightStore.cpp - A checkpoint's tensors, memory-mapped ------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/weights/WeightStore.h"

#include "frontends/huggingface/Printable.h"
#include <cstring>
#include <utility>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;

int64_t TensorView::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

static std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

Result<WeightStore> WeightStore::open(const std::string &directory) {
  Result<Checkpoint> checkpoint = openCheckpoint(directory);
  if (!checkpoint)
    return Error(checkpoint.error());
  return fromCheckpoint(std::move(*checkpoint));
}

Result<WeightStore> WeightStore::fromCheckpoint(Checkpoint checkpoint) {
  std::vector<MappedFile> mappings;
  for (const SafeTensorsFile &file : checkpoint.files) {
    Result<MappedFile> mapped = MappedFile::open(file.path);
    if (!mapped)
      return Error(mapped.error());
    // The header was validated against the size the file had when it was
    // read; the file may have changed since (a download still running, a
    // copy interrupted). Tensor pointers are only safe if it has not.
    uint64_t declared = file.fileSize - file.dataOffset;
    uint64_t found =
        mapped->size() > file.dataOffset ? mapped->size() - file.dataOffset : 0;
    if (found < declared)
      return Error(file.path + ": truncated: header declares " +
                   std::to_string(declared) +
                   " bytes of tensor data, file has " + std::to_string(found));
    if (found > declared)
      return Error(file.path + ": header declares " + std::to_string(declared) +
                   " bytes of tensor data, file has " + std::to_string(found) +
                   " (it changed after its header was read)");
    mappings.push_back(std::move(*mapped));
  }
  return WeightStore(std::move(checkpoint), std::move(mappings));
}

Result<TensorView> WeightStore::tensor(std::string_view name) const {
  auto found = checkpoint_.tensorIndex.find(name);
  if (found == checkpoint_.tensorIndex.end())
    return Error(checkpoint_.directory + ": no tensor '" + printable(name) +
                 "' in the checkpoint");
  auto [fileIndex, tensorIndex] = found->second;
  const TensorInfo &info = checkpoint_.files[fileIndex].tensors[tensorIndex];
  TensorView view;
  view.data = mappings_[fileIndex].data() + info.fileOffset;
  view.dtype = info.dtype;
  view.shape = info.shape;
  view.numBytes = info.numBytes();
  view.file = checkpoint_.files[fileIndex].path;
  return view;
}

Result<std::vector<const void *>>
WeightStore::bindParameters(const Manifest &manifest) const {
  std::vector<const void *> pointers;
  pointers.reserve(static_cast<size_t>(manifest.numParameterPointers()));
  // Binds one checkpoint tensor; `role` says which manifest entry asked for
  // it, for the message.
  auto bind = [&](const std::string &name, DType dtype,
                  const std::vector<int64_t> &shape,
                  const std::string &role) -> Result<bool> {
    Result<TensorView> view = tensor(name);
    if (!view)
      return Error(checkpoint_.directory + ": tensor '" + printable(name) +
                   "' (" + role + "): not in the checkpoint");
    if (view->dtype != dtype || view->shape != shape)
      return Error(view->file + ": tensor '" + printable(name) + "' (" + role +
                   "): expected " + dtypeName(dtype) + " " +
                   formatShape(shape) + ", found " + dtypeName(view->dtype) +
                   " " + formatShape(view->shape));
    pointers.push_back(view->data);
    return true;
  };
  for (size_t i = 0; i < manifest.parameters.size(); ++i) {
    const ManifestParameter &parameter = manifest.parameters[i];
    std::string role = "manifest parameter " + std::to_string(i);
    if (!parameter.isStacked()) {
      Result<bool> bound =
          bind(parameter.name, parameter.dtype, parameter.shape, role);
      if (!bound)
        return Error(bound.error());
      continue;
    }
    std::vector<int64_t> expertShape = parameter.expertShape();
    for (int64_t expert = 0; expert < parameter.experts; ++expert) {
      Result<bool> bound =
          bind(parameter.expertName(expert), parameter.dtype, expertShape,
               "expert " + std::to_string(expert) + " of " + role + " '" +
                   printable(parameter.name) + "'");
      if (!bound)
        return Error(bound.error());
    }
  }
  return pointers;
}

namespace {
/// How a floating-point element is bad, if it is.
enum class NonFinite { None, NaN, Infinity };

template <typename Bits> Bits loadBits(const uint8_t *bytes) {
  // Tensors start wherever the header put them, so reads may be unaligned.
  Bits bits;
  std::memcpy(&bits, bytes, sizeof(Bits));
  return bits;
}

/// Classifies an IEEE-style element from its exponent and mantissa masks.
template <typename Bits>
NonFinite classify(Bits bits, Bits exponentMask, Bits mantissaMask) {
  if ((bits & exponentMask) != exponentMask)
    return NonFinite::None;
  return (bits & mantissaMask) ? NonFinite::NaN : NonFinite::Infinity;
}

NonFinite classifyElement(DType dtype, const uint8_t *bytes) {
  switch (dtype) {
  case DType::F64:
    return classify<uint64_t>(loadBits<uint64_t>(bytes), 0x7FF0000000000000ULL,
                              0x000FFFFFFFFFFFFFULL);
  case DType::F32:
    return classify<uint32_t>(loadBits<uint32_t>(bytes), 0x7F800000u,
                              0x007FFFFFu);
  case DType::F16:
    return classify<uint16_t>(loadBits<uint16_t>(bytes), 0x7C00, 0x03FF);
  case DType::BF16:
    return classify<uint16_t>(loadBits<uint16_t>(bytes), 0x7F80, 0x007F);
  case DType::F8E5M2:
    return classify<uint8_t>(bytes[0], 0x7C, 0x03);
  case DType::F8E4M3:
    // E4M3 "fn" has no infinity; only S.1111.111 is NaN.
    return (bytes[0] & 0x7F) == 0x7F ? NonFinite::NaN : NonFinite::None;
  default:
    return NonFinite::None;
  }
}

bool isFloatingPoint(DType dtype) {
  switch (dtype) {
  case DType::F64:
  case DType::F32:
  case DType::F16:
  case DType::BF16:
  case DType::F8E5M2:
  case DType::F8E4M3:
    return true;
  default:
    return false;
  }
}
} // namespace

Result<bool> WeightStore::checkFinite() const {
  Result<bool> intact = checkIntact();
  if (!intact)
    return intact;
  for (size_t fileIndex = 0; fileIndex < checkpoint_.files.size();
       ++fileIndex) {
    const SafeTensorsFile &file = checkpoint_.files[fileIndex];
    for (const TensorInfo &info : file.tensors) {
      if (!isFloatingPoint(info.dtype))
        continue;
      const uint8_t *data = mappings_[fileIndex].data() + info.fileOffset;
      size_t elementBytes = dtypeSize(info.dtype);
      uint64_t count = info.numBytes() / elementBytes;
      for (uint64_t element = 0; element < count; ++element) {
        NonFinite kind =
            classifyElement(info.dtype, data + element * elementBytes);
        if (kind != NonFinite::None)
          return Error(file.path + ": tensor '" + printable(info.name) + "' (" +
                       dtypeName(info.dtype) + " " + formatShape(info.shape) +
                       "): element " + std::to_string(element) + " is " +
                       (kind == NonFinite::NaN ? "NaN" : "infinite") +
                       "; expected finite weights");
      }
    }
  }
  return true;
}

Result<bool> WeightStore::checkIntact() const {
  for (const MappedFile &mapping : mappings_) {
    Result<bool> intact = mapping.checkIntact();
    if (!intact)
      return intact;
  }
  return true;
}
