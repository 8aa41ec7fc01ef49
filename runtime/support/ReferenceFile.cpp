//===- ReferenceFile.cpp - Reference outputs and logits files -------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/ReferenceFile.h"

#include "runtime/support/JsonWriter.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;

static std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// safetensors is little-endian; the copies below assume the host is too.
static bool hostIsLittleEndian() {
  uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

Result<TensorFile> TensorFile::read(const std::string &path) {
  if (!hostIsLittleEndian())
    return Error(path + ": safetensors data is little-endian and this host "
                        "is not");
  Result<MappedFile> file = MappedFile::open(path);
  if (!file)
    return Error(file.error());
  std::string_view whole(reinterpret_cast<const char *>(file->data()),
                         static_cast<size_t>(file->size()));
  Result<SafeTensorsFile> header =
      parseSafeTensorsHeader(whole, file->size(), path);
  if (!header)
    return Error(header.error());
  return TensorFile(std::move(*header), std::move(*file));
}

const std::string *TensorFile::metadata(std::string_view key) const {
  for (const auto &[name, value] : header_.metadata)
    if (name == key)
      return &value;
  return nullptr;
}

Result<std::string_view> TensorFile::bytes(std::string_view name, DType dtype,
                                           int rank,
                                           std::vector<int64_t> *shape) const {
  const TensorInfo *info = header_.find(name);
  if (!info)
    return Error(path() + ": no tensor '" + std::string(name) + "'");
  if (info->dtype != dtype)
    return Error(path() + ": tensor '" + info->name + "': expected " +
                 dtypeName(dtype) + ", found " + dtypeName(info->dtype));
  if (rank >= 0 && info->shape.size() != static_cast<size_t>(rank))
    return Error(path() + ": tensor '" + info->name + "': expected " +
                 std::to_string(rank) + " dimensions, found shape " +
                 formatShape(info->shape));
  if (shape)
    *shape = info->shape;
  Result<bool> intact = file_.checkIntact();
  if (!intact)
    return Error(intact.error());
  return std::string_view(reinterpret_cast<const char *>(file_.data()) +
                              info->fileOffset,
                          static_cast<size_t>(info->numBytes()));
}

Result<std::vector<float>>
TensorFile::floats(std::string_view name, int rank,
                   std::vector<int64_t> *shape) const {
  Result<std::string_view> raw = bytes(name, DType::F32, rank, shape);
  if (!raw)
    return Error(raw.error());
  std::vector<float> values(raw->size() / sizeof(float));
  if (!values.empty())
    std::memcpy(values.data(), raw->data(), raw->size());
  return values;
}

Result<std::vector<int64_t>>
TensorFile::int64s(std::string_view name, int rank,
                   std::vector<int64_t> *shape) const {
  Result<std::string_view> raw = bytes(name, DType::I64, rank, shape);
  if (!raw)
    return Error(raw.error());
  std::vector<int64_t> values(raw->size() / sizeof(int64_t));
  if (!values.empty())
    std::memcpy(values.data(), raw->data(), raw->size());
  return values;
}

/// A metadata value that must be a non-negative decimal integer.
static Result<std::optional<int64_t>> metadataInteger(const TensorFile &file,
                                                      const char *key) {
  const std::string *text = file.metadata(key);
  if (!text)
    return std::optional<int64_t>();
  bool valid = !text->empty() && text->size() <= 18;
  for (char c : *text)
    valid = valid && c >= '0' && c <= '9';
  if (!valid)
    return Error(file.path() + ": '__metadata__." + key +
                 "': expected a non-negative integer, found \"" + *text + "\"");
  return std::optional<int64_t>(std::stoll(*text));
}

Result<ReferenceOutputs>
jikji::runtime::readReferenceFile(const std::string &path) {
  Result<TensorFile> file = TensorFile::read(path);
  if (!file)
    return Error(file.error());
  ReferenceOutputs outputs;

  std::vector<int64_t> tokensShape, prefillShape, decodeShape, greedyShape,
      marginsShape;
  Result<std::vector<int64_t>> tokens = file->int64s("tokens", 2, &tokensShape);
  if (!tokens)
    return Error(tokens.error());
  Result<std::vector<float>> prefill =
      file->floats("prefill_logits", 3, &prefillShape);
  if (!prefill)
    return Error(prefill.error());
  Result<std::vector<float>> decode =
      file->floats("decode_logits", 3, &decodeShape);
  if (!decode)
    return Error(decode.error());
  Result<std::vector<int64_t>> greedy =
      file->int64s("greedy_tokens", 2, &greedyShape);
  if (!greedy)
    return Error(greedy.error());
  Result<std::vector<float>> margins =
      file->floats("greedy_margins", 2, &marginsShape);
  if (!margins)
    return Error(margins.error());

  Result<std::optional<int64_t>> promptLen =
      metadataInteger(*file, "prompt_len");
  if (!promptLen)
    return Error(promptLen.error());
  if (!*promptLen)
    return Error(path + ": '__metadata__': missing 'prompt_len' (the number "
                        "of prompt tokens in each row of 'tokens')");
  outputs.batch = prefillShape[0];
  outputs.promptLen = **promptLen;
  outputs.decodeSteps = decodeShape[1];
  outputs.vocabSize = prefillShape[2];

  // Every shape follows from B, P, S and V; check each against them so that
  // the row accessors cannot read out of bounds.
  const int64_t b = outputs.batch, p = outputs.promptLen,
                s = outputs.decodeSteps, v = outputs.vocabSize;
  std::pair<const char *, std::pair<std::vector<int64_t>, std::vector<int64_t>>>
      expectations[] = {
          {"tokens", {tokensShape, {b, p + s}}},
          {"prefill_logits", {prefillShape, {b, p, v}}},
          {"decode_logits", {decodeShape, {b, s, v}}},
          {"greedy_tokens", {greedyShape, {b, s}}},
          {"greedy_margins", {marginsShape, {b, s}}},
      };
  for (const auto &[name, shapes] : expectations)
    if (shapes.first != shapes.second)
      return Error(path + ": tensor '" + name + "': expected shape " +
                   formatShape(shapes.second) + " (batch " + std::to_string(b) +
                   ", prompt_len " + std::to_string(p) + ", decode steps " +
                   std::to_string(s) + ", vocabulary " + std::to_string(v) +
                   "), found " + formatShape(shapes.first));
  for (const auto &[key, value] :
       {std::make_pair("decode_steps", s), std::make_pair("batch", b)}) {
    Result<std::optional<int64_t>> stated = metadataInteger(*file, key);
    if (!stated)
      return Error(stated.error());
    if (*stated && **stated != value)
      return Error(path + ": '__metadata__." + key + "': expected " +
                   std::to_string(value) +
                   " (from the tensors' shapes), found " +
                   std::to_string(**stated));
  }
  for (size_t i = 0; i < tokens->size(); ++i)
    if ((*tokens)[i] < 0 || (*tokens)[i] >= v)
      return Error(path + ": tensor 'tokens': element " + std::to_string(i) +
                   " is " + std::to_string((*tokens)[i]) +
                   ", expected a token id in [0, " + std::to_string(v) + ")");

  outputs.tokens = std::move(*tokens);
  outputs.prefillLogits = std::move(*prefill);
  outputs.decodeLogits = std::move(*decode);
  outputs.greedyTokens = std::move(*greedy);
  outputs.greedyMargins = std::move(*margins);
  return outputs;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void TensorFileWriter::add(std::string name, DType dtype,
                           std::vector<int64_t> shape, const void *values) {
  size_t count = 1;
  for (int64_t dim : shape)
    count *= static_cast<size_t>(dim < 0 ? 0 : dim);
  Entry entry{std::move(name), dtype, std::move(shape), std::string()};
  entry.bytes.assign(static_cast<const char *>(values),
                     count * dtypeSize(dtype));
  tensors_.push_back(std::move(entry));
}

void TensorFileWriter::addFloats(std::string name, std::vector<int64_t> shape,
                                 const float *values) {
  add(std::move(name), DType::F32, std::move(shape), values);
}

void TensorFileWriter::addInt64s(std::string name, std::vector<int64_t> shape,
                                 const int64_t *values) {
  add(std::move(name), DType::I64, std::move(shape), values);
}

void TensorFileWriter::setMetadata(std::string key, std::string value) {
  for (auto &[existing, old] : metadata_)
    if (existing == key) {
      old = std::move(value);
      return;
    }
  metadata_.emplace_back(std::move(key), std::move(value));
}

namespace {
/// Closes a FILE unless already closed.
struct FileCloser {
  void operator()(FILE *file) const { std::fclose(file); }
};
} // namespace

Result<bool> TensorFileWriter::write(const std::string &path) const {
  if (!hostIsLittleEndian())
    return Error(path + ": safetensors data is little-endian and this host "
                        "is not");
  std::set<std::string_view> names;
  for (const Entry &entry : tensors_) {
    if (entry.name.empty() || entry.name.compare(0, 2, "__") == 0)
      return Error(path + ": tensor name \"" + entry.name +
                   "\": expected a non-empty name not starting with \"__\"");
    if (!names.insert(entry.name).second)
      return Error(path + ": tensor '" + entry.name + "' is added twice");
    for (int64_t dim : entry.shape)
      if (dim < 0)
        return Error(path + ": tensor '" + entry.name +
                     "': expected non-negative dimensions, found " +
                     formatShape(entry.shape));
  }

  std::string header = "{";
  if (!metadata_.empty()) {
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata_.size(); ++i)
      header += (i ? "," : "") + quoteJson(metadata_[i].first) + ":" +
                quoteJson(metadata_[i].second);
    header += "}";
  }
  uint64_t offset = 0;
  for (const Entry &entry : tensors_) {
    header += std::string(header.size() > 1 ? "," : "") +
              quoteJson(entry.name) +
              ":{\"dtype\":" + quoteJson(dtypeName(entry.dtype)) +
              ",\"shape\":" + formatJsonIntegers(entry.shape) +
              ",\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + entry.bytes.size()) + "]}";
    offset += entry.bytes.size();
  }
  header += "}";
  // Pad with spaces to a multiple of 8, as the reference writer does, so that
  // the data (and every tensor of 8-byte elements) is 8-byte aligned.
  header.append((8 - (header.size() % 8)) % 8, ' ');

  std::string temporary = path + ".tmp";
  {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(temporary.c_str(), "wb"));
    if (!file)
      return Error(temporary + ": cannot create: " + std::strerror(errno));
    unsigned char length[8];
    uint64_t headerSize = header.size();
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<unsigned char>(headerSize >> (8 * i));
    bool written = std::fwrite(length, 1, 8, file.get()) == 8 &&
                   std::fwrite(header.data(), 1, header.size(), file.get()) ==
                       header.size();
    for (const Entry &entry : tensors_)
      written =
          written && std::fwrite(entry.bytes.data(), 1, entry.bytes.size(),
                                 file.get()) == entry.bytes.size();
    // fclose flushes; its failure is a failed write too.
    written = std::fclose(file.release()) == 0 && written;
    if (!written) {
      std::remove(temporary.c_str());
      return Error(temporary + ": cannot write: " + std::strerror(errno));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    return Error(path + ": cannot move " + temporary +
                 " into place: " + reason);
  }
  return true;
}

double jikji::runtime::relativeError(const float *ours, const float *reference,
                                     size_t count) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < count; ++i) {
    double delta = static_cast<double>(ours[i]) - reference[i];
    difference += delta * delta;
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  if (std::isnan(difference))
    return std::numeric_limits<double>::quiet_NaN();
  if (norm == 0)
    return difference == 0 ? 0 : std::numeric_limits<double>::infinity();
  return std::sqrt(difference) / std::sqrt(norm);
}
