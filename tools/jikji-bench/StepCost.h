//===- StepCost.h - Bytes and FLOPs a forward step must spend ---*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// What a step needs at the least, whatever the code does, so that a
// measured time turns into effective GB/s and GFLOP/s against the machine's
// limits:
//
// - bytes: every non-expert weight once (the output head included), one
//   embedding row per token, each routed expert the step's tokens selected
//   once, and the KV cache rows attention reads;
// - FLOPs: 2 x the activated matrix parameters per token (the k routed
//   experts of each MoE layer, not all of them), attention over the cached
//   positions, and the output head only for the tokens whose logits
//   generation needs (the last of a prefill, every decode token).
//
// The runtime cannot tell which experts the compiled code selected, so the
// routed experts a step reads are the expected number of distinct experts
// for its tokens, assuming each token picks k of E uniformly and
// independently: E (1 - (1 - k/E)^T). Reports say so.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_STEPCOST_H
#define JIKJI_TOOLS_JIKJI_BENCH_STEPCOST_H

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Manifest.h"

#include <cstdint>
#include <vector>

namespace jikji::bench {

/// The bytes and FLOPs of one step.
struct StepWork {
  double bytes = 0;
  double flops = 0;
  StepWork &operator+=(const StepWork &other) {
    bytes += other.bytes;
    flops += other.flops;
    return *this;
  }
};

/// A model's cost figures, from its manifest (what the artifact reads) and
/// its config (heads, experts per token).
class StepCost {
public:
  /// Fails when the manifest lacks an embedding table or the config and the
  /// manifest disagree on the experts.
  static Result<StepCost> create(const runtime::Manifest &manifest,
                                 const hf::ModelConfig &config);

  /// One step of `tokens` new tokens of one sequence at positions
  /// start .. start + tokens - 1 (a prefill from 0, or one decode token).
  /// `headTokens` is how many of them need logits.
  StepWork sequenceStep(int64_t tokens, int64_t start,
                        int64_t headTokens) const;

  /// One decode step of `batch` sequences, one token each, every sequence
  /// at position `position`: the weights are needed once for the batch.
  StepWork batchDecodeStep(int64_t batch, int64_t position) const;

  /// The expected distinct experts `tokens` tokens select in one layer.
  double expectedDistinctExperts(int64_t tokens) const;

  /// Every parameter byte of the model (all experts).
  double totalWeightBytes() const { return totalWeightBytes_; }
  /// Matrix parameters one token activates, the output head excluded.
  double activatedParameters() const { return activatedParameters_; }

private:
  StepCost() = default;
  /// Weights read once per step, whatever the tokens: the non-expert ones.
  double sharedBytes_ = 0;
  double embeddingRowBytes_ = 0;
  /// Per MoE layer, the bytes of one expert (all its tensors).
  std::vector<double> expertBytesPerLayer_;
  int64_t experts_ = 0;
  int64_t expertsPerToken_ = 0;
  /// 2 x matrix parameters per token: non-expert layers, and one expert of
  /// every MoE layer summed over the layers.
  double sharedFlopsPerToken_ = 0;
  double expertFlopsPerToken_ = 0;
  double headFlopsPerToken_ = 0;
  /// Attention FLOPs per (query token, attended position) pair over all
  /// layers, and the cache bytes of one position.
  double attentionFlopsPerPair_ = 0;
  double cacheBytesPerPosition_ = 0;
  double totalWeightBytes_ = 0;
  double activatedParameters_ = 0;
};

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_STEPCOST_H
