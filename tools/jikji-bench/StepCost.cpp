//===- StepCost.cpp - Bytes and FLOPs a forward step must spend -----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/StepCost.h"

#include <cmath>
#include <map>
#include <string>

using namespace jikji;
using namespace jikji::bench;

namespace {

bool endsWith(const std::string &text, const char *suffix) {
  std::string tail(suffix);
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

double product(const std::vector<int64_t> &shape) {
  double count = 1;
  for (int64_t dim : shape)
    count *= static_cast<double>(dim);
  return count;
}

/// A weight matrix a token is multiplied with; FP8 block scales and norm
/// vectors cost bytes but no products.
bool isMatrix(const std::string &name, size_t rank) {
  return rank == 2 && !endsWith(name, "_scale_inv");
}

} // namespace

Result<StepCost> StepCost::create(const runtime::Manifest &manifest,
                                  const hf::ModelConfig &config) {
  StepCost cost;
  cost.experts_ = config.nRoutedExperts;
  cost.expertsPerToken_ = config.numExpertsPerTok;
  bool hasEmbedding = false, hasHead = false;
  std::map<std::string, double> expertBytesByLayer;
  for (const runtime::ManifestParameter &parameter : manifest.parameters) {
    double elementBytes = static_cast<double>(hf::dtypeSize(parameter.dtype));
    if (parameter.isStacked()) {
      if (parameter.experts != config.nRoutedExperts)
        return Error("parameter '" + parameter.name + "' stacks " +
                     std::to_string(parameter.experts) +
                     " experts; config.json has n_routed_experts " +
                     std::to_string(config.nRoutedExperts));
      std::vector<int64_t> shape = parameter.expertShape();
      double elements = product(shape);
      // The layer: the name up to the '*' component.
      std::string layer = parameter.name.substr(0, parameter.name.find('*'));
      expertBytesByLayer[layer] += elements * elementBytes;
      cost.totalWeightBytes_ += elements * elementBytes * parameter.experts;
      if (isMatrix(parameter.name, shape.size()))
        cost.expertFlopsPerToken_ +=
            2 * elements * static_cast<double>(config.numExpertsPerTok);
      continue;
    }
    double elements = product(parameter.shape);
    double bytes = elements * elementBytes;
    cost.totalWeightBytes_ += bytes;
    if (parameter.name == "model.embed_tokens.weight" &&
        parameter.shape.size() == 2) {
      hasEmbedding = true;
      cost.embeddingRowBytes_ =
          static_cast<double>(parameter.shape[1]) * elementBytes;
      if (config.tieWordEmbeddings) {
        // The table is the output head too: read whole every step.
        hasHead = true;
        cost.sharedBytes_ += bytes;
        cost.headFlopsPerToken_ = 2 * elements;
      }
      continue;
    }
    cost.sharedBytes_ += bytes;
    if (parameter.name == "lm_head.weight") {
      hasHead = true;
      cost.headFlopsPerToken_ = 2 * elements;
      continue;
    }
    if (isMatrix(parameter.name, parameter.shape.size()))
      cost.sharedFlopsPerToken_ += 2 * elements;
  }
  if (!hasEmbedding)
    return Error("the manifest has no 'model.embed_tokens.weight' [vocab, "
                 "hidden]");
  if (!hasHead)
    return Error("the manifest has no 'lm_head.weight' and config.json does "
                 "not tie the embeddings");
  for (const auto &[layer, bytes] : expertBytesByLayer)
    cost.expertBytesPerLayer_.push_back(bytes);

  // Attention per (query, attended position) pair: scores over the key
  // width and the weighted sum over the value width, for every head. With
  // MLA absorbed (a 'latent' cache) both run in the latent space.
  bool absorbed = false;
  for (const runtime::KvCacheTensor &tensor : manifest.kvCache.tensors)
    absorbed = absorbed || tensor.name == "latent";
  double heads = static_cast<double>(config.numAttentionHeads);
  double keyWidth = absorbed ? config.kvLoraRank + config.qkRopeHeadDim
                             : config.qkNopeHeadDim + config.qkRopeHeadDim;
  double valueWidth = absorbed ? config.kvLoraRank : config.vHeadDim;
  cost.attentionFlopsPerPair_ = 2 * heads * (keyWidth + valueWidth) *
                                static_cast<double>(manifest.kvCache.layers);
  cost.cacheBytesPerPosition_ =
      static_cast<double>(manifest.kvCache.bytesPerToken);
  cost.activatedParameters_ =
      (cost.sharedFlopsPerToken_ + cost.expertFlopsPerToken_) / 2;
  return Result<StepCost>(std::move(cost));
}

double StepCost::expectedDistinctExperts(int64_t tokens) const {
  if (experts_ <= 0 || expertsPerToken_ <= 0 || tokens <= 0)
    return 0;
  double e = static_cast<double>(experts_);
  double missed = std::pow(1.0 - static_cast<double>(expertsPerToken_) / e,
                           static_cast<double>(tokens));
  return e * (1.0 - missed);
}

StepWork StepCost::sequenceStep(int64_t tokens, int64_t start,
                                int64_t headTokens) const {
  double t = static_cast<double>(tokens), s = static_cast<double>(start);
  double distinct = expectedDistinctExperts(tokens);
  StepWork work;
  work.bytes =
      sharedBytes_ + t * embeddingRowBytes_ + cacheBytesPerPosition_ * (s + t);
  for (double expertBytes : expertBytesPerLayer_)
    work.bytes += distinct * expertBytes;
  // Query i (0-based) attends positions 0 .. start + i.
  double pairs = t * s + t * (t + 1) / 2;
  work.flops = t * (sharedFlopsPerToken_ + expertFlopsPerToken_) +
               static_cast<double>(headTokens) * headFlopsPerToken_ +
               pairs * attentionFlopsPerPair_;
  return work;
}

StepWork StepCost::batchDecodeStep(int64_t batch, int64_t position) const {
  double b = static_cast<double>(batch);
  double attended = static_cast<double>(position) + 1;
  double distinct = expectedDistinctExperts(batch);
  StepWork work;
  work.bytes = sharedBytes_ + b * embeddingRowBytes_ +
               b * cacheBytesPerPosition_ * attended;
  for (double expertBytes : expertBytesPerLayer_)
    work.bytes += distinct * expertBytes;
  work.flops = b * (sharedFlopsPerToken_ + expertFlopsPerToken_ +
                    headFlopsPerToken_ + attended * attentionFlopsPerPair_);
  return work;
}
