//===- ReferenceFile.h - Reference outputs and logits files -----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// End-to-end tests compare the compiled model with the outputs of DeepSeek's
// reference implementation (../shared/reference/*/reference.safetensors), and
// `jikji-run --logits-out` writes the model's logits in the same format so
// that the two can be compared outside the runtime too. Both are small
// safetensors files; headers go through the checkpoint reader's validation.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_REFERENCEFILE_H
#define JIKJI_RUNTIME_SUPPORT_REFERENCEFILE_H

#include "frontends/huggingface/Result.h"
#include "frontends/huggingface/SafeTensors.h"
#include "runtime/support/MappedFile.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jikji::runtime {

/// A safetensors file of outputs, mapped; its tensors are copied out on
/// request (they are small, and copying sidesteps unaligned data).
class TensorFile {
public:
  /// Reads and validates `path`.
  static Result<TensorFile> read(const std::string &path);

  const std::string &path() const { return header_.path; }
  /// The header: tensor names, dtypes, shapes.
  const hf::SafeTensorsFile &header() const { return header_; }
  /// The `__metadata__` value for `key`, or nullptr.
  const std::string *metadata(std::string_view key) const;

  /// The F32 tensor `name`, checked to have `rank` dimensions (-1: any);
  /// its shape is stored in `shape` when given.
  Result<std::vector<float>>
  floats(std::string_view name, int rank = -1,
         std::vector<int64_t> *shape = nullptr) const;
  /// The I64 tensor `name`, likewise.
  Result<std::vector<int64_t>>
  int64s(std::string_view name, int rank = -1,
         std::vector<int64_t> *shape = nullptr) const;

private:
  TensorFile(hf::SafeTensorsFile header, MappedFile file)
      : header_(std::move(header)), file_(std::move(file)) {}
  /// The raw bytes of `name` after checking its dtype and rank.
  Result<std::string_view> bytes(std::string_view name, hf::DType dtype,
                                 int rank, std::vector<int64_t> *shape) const;

  hf::SafeTensorsFile header_;
  MappedFile file_;
};

/// The reference outputs of one case (see ../shared/reference/README.md),
/// with B = batch, P = promptLen, S = decodeSteps, V = vocabSize.
struct ReferenceOutputs {
  int64_t batch = 0, promptLen = 0, decodeSteps = 0, vocabSize = 0;
  /// [B, P + S]
  std::vector<int64_t> tokens;
  /// [B, P, V]: the logits of one forward pass over each prompt.
  std::vector<float> prefillLogits;
  /// [B, S, V]: the logits of each teacher-forced decode step.
  std::vector<float> decodeLogits;
  /// [B, S]: greedy decoding from each prompt.
  std::vector<int64_t> greedyTokens;
  /// [B, S]: the gap between the two largest logits at each greedy step.
  std::vector<float> greedyMargins;

  /// The token ids of sequence `b`, P + S of them.
  const int64_t *sequence(int64_t b) const {
    return tokens.data() + b * (promptLen + decodeSteps);
  }
  /// The V prefill logits of sequence `b` at prompt position `p`.
  const float *prefillRow(int64_t b, int64_t p) const {
    return prefillLogits.data() + (b * promptLen + p) * vocabSize;
  }
  /// The V logits of sequence `b` at decode step `s`.
  const float *decodeRow(int64_t b, int64_t s) const {
    return decodeLogits.data() + (b * decodeSteps + s) * vocabSize;
  }
};

/// Reads a reference.safetensors: the five tensors with consistent shapes,
/// `prompt_len` from `__metadata__` (and `decode_steps`, `batch` when
/// present, which must agree with the shapes).
Result<ReferenceOutputs> readReferenceFile(const std::string &path);

/// Collects named F32 and I64 tensors and metadata, then writes them as one
/// safetensors file.
class TensorFileWriter {
public:
  /// Adds a tensor; `values` holds the product of `shape` elements.
  void addFloats(std::string name, std::vector<int64_t> shape,
                 const float *values);
  void addInt64s(std::string name, std::vector<int64_t> shape,
                 const int64_t *values);
  void setMetadata(std::string key, std::string value);

  /// Writes the file (through a temporary beside it, renamed into place, so
  /// that a failed write leaves no half file). Refuses empty or repeated
  /// tensor names and names starting with "__".
  Result<bool> write(const std::string &path) const;

private:
  struct Entry {
    std::string name;
    hf::DType dtype;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  void add(std::string name, hf::DType dtype, std::vector<int64_t> shape,
           const void *values);

  std::vector<Entry> tensors_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

/// ||ours - reference|| / ||reference|| (Euclidean norms over `count`
/// elements, in double), the measure ../shared/reference/README.md states
/// its tolerances in. 0 when both are zero, infinity when only the reference
/// is; NaN when `ours` has a NaN, so that `error < tolerance` fails.
double relativeError(const float *ours, const float *reference, size_t count);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_REFERENCEFILE_H
