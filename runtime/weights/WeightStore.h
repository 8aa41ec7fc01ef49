//===- WeightStore.h - A checkpoint's tensors, memory-mapped ----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Weights never enter the artifact (DESIGN.md, decision 2): the runtime maps
// each safetensors file of the checkpoint once and binds the compiled entry
// point's parameters to pointers into the mappings, by name. Everything the
// artifact will read is checked here first, so that a wrong checkpoint is a
// message naming the tensor instead of a wrong answer or a crash.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_WEIGHTS_WEIGHTSTORE_H
#define JIKJI_RUNTIME_WEIGHTS_WEIGHTSTORE_H

#include "frontends/huggingface/Checkpoint.h"
#include "frontends/huggingface/Result.h"
#include "frontends/huggingface/SafeTensors.h"
#include "runtime/artifact/Manifest.h"
#include "runtime/support/MappedFile.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jikji::runtime {

/// One tensor inside a mapping; valid while its WeightStore lives.
struct TensorView {
  const void *data = nullptr;
  hf::DType dtype = hf::DType::F32;
  std::vector<int64_t> shape;
  uint64_t numBytes = 0;
  /// The safetensors file that holds it.
  std::string file;

  int64_t numElements() const;
};

/// The memory-mapped tensors of one checkpoint. Move-only (it owns the
/// mappings).
class WeightStore {
public:
  /// Opens the checkpoint folder with hf::openCheckpoint (which validates
  /// every header against its file) and maps its files.
  static Result<WeightStore> open(const std::string &directory);

  /// Maps the files of an already opened checkpoint. Each file must still be
  /// the size its header declares: "<file>: truncated: header declares N
  /// bytes of tensor data, file has M".
  static Result<WeightStore> fromCheckpoint(hf::Checkpoint checkpoint);

  const hf::Checkpoint &checkpoint() const { return checkpoint_; }

  /// The tensor named `name`, or "<folder>: no tensor '<name>' in the
  /// checkpoint".
  Result<TensorView> tensor(std::string_view name) const;

  /// The entry point's `params` array for `manifest`: one pointer per
  /// parameter in manifest order, a stacked expert parameter expanding to
  /// one pointer per expert. Refuses the first parameter whose tensor is
  /// missing or has another dtype or shape than the manifest states.
  Result<std::vector<const void *>>
  bindParameters(const Manifest &manifest) const;

  /// Scans every floating-point tensor (F32, F16, BF16, F8_E4M3, F8_E5M2)
  /// for NaN and infinity and names the first bad element. Reads every
  /// byte, so it is opt-in (`jikji-run --check-weights`).
  Result<bool> checkFinite() const;

  /// Checks that no mapped file has shrunk since it was mapped (reading a
  /// shrunk file's mapping past its new end raises SIGBUS).
  Result<bool> checkIntact() const;

private:
  WeightStore(hf::Checkpoint checkpoint, std::vector<MappedFile> mappings)
      : checkpoint_(std::move(checkpoint)), mappings_(std::move(mappings)) {}

  hf::Checkpoint checkpoint_;
  /// One per checkpoint_.files entry, same order.
  std::vector<MappedFile> mappings_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_WEIGHTS_WEIGHTSTORE_H
