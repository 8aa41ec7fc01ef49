//===- Manifest.cpp - The artifact's self-description ---------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/artifact/Manifest.h"

#include "frontends/huggingface/Json.h"
#include "runtime/support/JsonWriter.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;

/// Splits a dotted tensor name into its components.
static std::vector<std::string_view> splitComponents(std::string_view name) {
  std::vector<std::string_view> components;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    components.push_back(name.substr(start, dot - start));
    if (dot == std::string_view::npos)
      return components;
    start = dot + 1;
  }
}

std::string ManifestParameter::expertName(int64_t expert) const {
  std::string result;
  for (std::string_view component : splitComponents(name)) {
    if (!result.empty())
      result += '.';
    result +=
        component == "*" ? std::to_string(expert) : std::string(component);
  }
  return result;
}

std::vector<int64_t> ManifestParameter::expertShape() const {
  if (shape.empty())
    return {};
  return std::vector<int64_t>(shape.begin() + 1, shape.end());
}

int64_t Manifest::numParameterPointers() const {
  int64_t count = 0;
  for (const ManifestParameter &parameter : parameters)
    count += parameter.numPointers();
  return count;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// Dimensions are capped so that no product of a shape (and no byte count)
/// can overflow int64: 2^31 per dimension, 2^56 elements in all.
constexpr int64_t kMaxDimension = int64_t(1) << 31;
constexpr int64_t kMaxElements = int64_t(1) << 56;

/// Reads typed fields out of the manifest's JSON objects and keeps the first
/// failure. Later reads after a failure return placeholders, so that the
/// parser can run straight through and check failed() at the end of each
/// section instead of testing every read.
class ManifestReader {
public:
  explicit ManifestReader(std::string source) : source_(std::move(source)) {}

  bool failed() const { return error_.has_value(); }
  Error takeError() { return Error(*error_); }

  void fail(const std::string &field, const std::string &expected,
            const std::string &found) {
    if (!error_)
      error_ = source_ + ": manifest '" + field + "': expected " + expected +
               ", found " + found;
  }
  void failWith(const std::string &message) {
    if (!error_)
      error_ = source_ + ": manifest" + message;
  }

  /// The member `key` of `object` (whose own path is `prefix`), or nullptr
  /// after recording a missing-field failure.
  const JsonValue *member(const JsonValue &object, const std::string &prefix,
                          const char *key, const char *expected) {
    const JsonValue *value = object.find(key);
    if (!value)
      failWith(": missing field '" + prefix + key + "' (expected " + expected +
               ")");
    return value;
  }

  std::string string(const JsonValue &object, const std::string &prefix,
                     const char *key) {
    const JsonValue *value = member(object, prefix, key, "a string");
    if (!value)
      return {};
    if (!value->isString() || value->asString().empty()) {
      fail(prefix + key, "a non-empty string", value->describe());
      return {};
    }
    return value->asString();
  }

  int64_t integer(const JsonValue &value, const std::string &field, int64_t min,
                  int64_t max) {
    if (!value.isInteger() || value.asInt() < min || value.asInt() > max) {
      fail(field,
           "an integer in [" + std::to_string(min) + ", " +
               std::to_string(max) + "]",
           value.describe());
      return min;
    }
    return value.asInt();
  }

  int64_t integer(const JsonValue &object, const std::string &prefix,
                  const char *key, int64_t min, int64_t max) {
    const JsonValue *value = member(object, prefix, key, "an integer");
    return value ? integer(*value, prefix + key, min, max) : min;
  }

  DType dtype(const JsonValue &object, const std::string &prefix,
              const char *key) {
    const JsonValue *value = member(object, prefix, key, "a dtype");
    if (!value)
      return DType::F32;
    std::optional<DType> parsed;
    if (value->isString())
      parsed = parseDType(value->asString());
    if (!parsed) {
      fail(prefix + key, "a safetensors dtype (\"BF16\", \"F32\", ...)",
           value->describe());
      return DType::F32;
    }
    return *parsed;
  }

  /// A non-empty array of positive dimensions whose product stays under
  /// kMaxElements.
  std::vector<int64_t> shape(const JsonValue &object, const std::string &prefix,
                             const char *key) {
    const JsonValue *value = member(object, prefix, key, "a shape");
    if (!value)
      return {};
    std::string field = prefix + key;
    if (!value->isArray() || value->asArray().empty()) {
      fail(field, "a non-empty array of positive integers", value->describe());
      return {};
    }
    std::vector<int64_t> dims;
    int64_t elements = 1;
    for (size_t i = 0; i < value->asArray().size(); ++i) {
      int64_t dim =
          integer(value->asArray()[i], field + "[" + std::to_string(i) + "]", 1,
                  kMaxDimension);
      if (failed())
        return {};
      if (elements > kMaxElements / dim) {
        fail(field, "at most 2^56 elements", value->describe());
        return {};
      }
      elements *= dim;
      dims.push_back(dim);
    }
    return dims;
  }

  const JsonValue *object(const JsonValue &parent, const std::string &prefix,
                          const char *key) {
    const JsonValue *value = member(parent, prefix, key, "an object");
    if (value && !value->isObject()) {
      fail(prefix + key, "an object", value->describe());
      return nullptr;
    }
    return value;
  }

  const std::vector<JsonValue> *
  array(const JsonValue &parent, const std::string &prefix, const char *key) {
    const JsonValue *value = member(parent, prefix, key, "an array");
    if (!value)
      return nullptr;
    if (!value->isArray()) {
      fail(prefix + key, "an array", value->describe());
      return nullptr;
    }
    return &value->asArray();
  }

private:
  std::string source_;
  std::optional<std::string> error_;
};

} // namespace

static int64_t product(const std::vector<int64_t> &shape) {
  int64_t result = 1;
  for (int64_t dim : shape)
    result *= dim;
  return result;
}

static bool isIdentifier(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

static bool isDigest(std::string_view digest) {
  constexpr std::string_view prefix = "fnv1a64:";
  if (digest.size() != prefix.size() + 16 ||
      digest.substr(0, prefix.size()) != prefix)
    return false;
  for (char c : digest.substr(prefix.size()))
    if (!std::isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f'))
      return false;
  return true;
}

/// `block_size` and `scale`: required of an F8_E4M3 parameter, whose values
/// mean nothing without its scales (a weight of another dtype has neither).
/// The scale's own entry is checked once every parameter is read
/// (checkScaleLinks), as a stacked weight's scales come after it.
static void readBlockScaling(ManifestReader &reader, const JsonValue &entry,
                             const std::string &prefix,
                             ManifestParameter &parameter) {
  if (parameter.dtype != DType::F8E4M3) {
    for (const char *key : {"block_size", "scale"})
      if (entry.find(key))
        reader.fail(prefix + key,
                    std::string("no '") + key + "' on a parameter of dtype " +
                        dtypeName(parameter.dtype) +
                        " (only F8_E4M3 weights are block-scaled)",
                    entry.find(key)->describe());
    return;
  }
  size_t rank = parameter.isStacked() ? 3 : 2;
  if (parameter.shape.size() != rank) {
    reader.fail(prefix + "shape",
                std::string(parameter.isStacked() ? "[experts, rows, columns]"
                                                  : "[rows, columns]") +
                    " for an F8_E4M3 parameter",
                formatJsonIntegers(parameter.shape));
    return;
  }
  if (!entry.find("block_size")) {
    reader.failWith(": missing field '" + prefix +
                    "block_size' (expected the [rows, columns] of weight "
                    "that one scale covers, for an F8_E4M3 parameter)");
    return;
  }
  parameter.blockSize = reader.shape(entry, prefix, "block_size");
  if (!reader.failed() && parameter.blockSize.size() != 2)
    reader.fail(prefix + "block_size", "[rows, columns]",
                formatJsonIntegers(parameter.blockSize));
  if (!reader.failed() && !entry.find("scale")) {
    reader.failWith(": missing field '" + prefix +
                    "scale' (expected the name of the parameter holding the "
                    "block scales, for an F8_E4M3 parameter)");
    return;
  }
  parameter.scale = reader.string(entry, prefix, "scale");
}

/// Each block-scaled parameter's `scale` names another parameter: F32, as
/// many experts, one value per block of the weight.
static void checkScaleLinks(ManifestReader &reader, const Manifest &manifest) {
  std::map<std::string, const ManifestParameter *> byName;
  for (const ManifestParameter &parameter : manifest.parameters)
    byName[parameter.name] = &parameter;
  for (size_t i = 0; i < manifest.parameters.size(); ++i) {
    const ManifestParameter &weight = manifest.parameters[i];
    if (!weight.isBlockScaled())
      continue;
    std::vector<int64_t> expected;
    if (weight.isStacked())
      expected.push_back(weight.experts);
    size_t rows = weight.shape.size() - 2;
    for (size_t dim = 0; dim < 2; ++dim)
      expected.push_back(
          (weight.shape[rows + dim] + weight.blockSize[dim] - 1) /
          weight.blockSize[dim]);
    std::string field = "parameters[" + std::to_string(i) + "].scale";
    std::string wanted = "a parameter of F32 " + formatJsonIntegers(expected) +
                         " (one scale per " +
                         formatJsonIntegers(weight.blockSize) + " block of " +
                         formatJsonIntegers(weight.shape) + ")";
    auto scale = byName.find(weight.scale);
    if (scale == byName.end()) {
      reader.fail(field, wanted, quoteJson(weight.scale) + ", not a parameter");
      return;
    }
    const ManifestParameter &scales = *scale->second;
    if (scales.dtype != DType::F32 || scales.shape != expected ||
        scales.experts != weight.experts) {
      reader.fail(field, wanted,
                  quoteJson(weight.scale) + " of " + dtypeName(scales.dtype) +
                      " " + formatJsonIntegers(scales.shape));
      return;
    }
  }
}

static void readParameter(ManifestReader &reader, const JsonValue &entry,
                          size_t index, Manifest &manifest) {
  std::string prefix = "parameters[" + std::to_string(index) + "].";
  if (!entry.isObject()) {
    reader.fail(prefix.substr(0, prefix.size() - 1), "an object",
                entry.describe());
    return;
  }
  ManifestParameter parameter;
  parameter.name = reader.string(entry, prefix, "name");
  parameter.dtype = reader.dtype(entry, prefix, "dtype");
  parameter.shape = reader.shape(entry, prefix, "shape");
  if (const JsonValue *experts = entry.find("experts"))
    parameter.experts =
        reader.integer(*experts, prefix + "experts", 1, kMaxDimension);
  if (reader.failed())
    return;
  readBlockScaling(reader, entry, prefix, parameter);
  if (reader.failed())
    return;

  size_t stars = 0;
  bool starIsComponent = true;
  for (std::string_view component : splitComponents(parameter.name)) {
    size_t inComponent = 0;
    for (char c : component)
      inComponent += c == '*';
    stars += inComponent;
    starIsComponent = starIsComponent && (!inComponent || component == "*");
  }
  const std::string quoted = quoteJson(parameter.name);
  if (parameter.isStacked()) {
    if (stars != 1 || !starIsComponent)
      reader.fail(prefix + "name",
                  "a name with exactly one '*' component for a stacked "
                  "expert parameter",
                  quoted);
    else if (parameter.shape.size() < 2 ||
             parameter.shape[0] != parameter.experts)
      reader.fail(prefix + "shape",
                  "[" + std::to_string(parameter.experts) +
                      ", ...] (experts first, then one expert's shape)",
                  formatJsonIntegers(parameter.shape));
  } else if (stars != 0) {
    reader.fail(prefix + "name",
                "no '*' in a parameter without 'experts' (a stacked expert "
                "parameter states its expert count)",
                quoted);
  }
  manifest.parameters.push_back(std::move(parameter));
}

/// A CPU or feature name as LLVM spells them ("skylake-avx512",
/// "sse4.2"): lower-case letters, digits, '-', '.' and '_'. Names reach
/// error messages, so nothing else is let through.
static bool isCpuName(std::string_view name) {
  if (name.empty())
    return false;
  for (char c : name)
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '.' &&
        c != '_')
      return false;
  return true;
}

/// The optional `cpu` object: the CPU the code was compiled for and the
/// features it needs (whether this CPU has them is the loader's check,
/// runtime/artifact/CpuRequirements.h).
static void readCpu(ManifestReader &reader, const JsonValue &root,
                    Manifest &manifest) {
  if (!root.find("cpu"))
    return;
  const JsonValue *cpu = reader.object(root, "", "cpu");
  if (!cpu)
    return;
  ManifestCpu result;
  result.name = reader.string(*cpu, "cpu.", "name");
  if (!reader.failed() && !isCpuName(result.name)) {
    reader.fail("cpu.name",
                "an LLVM CPU name (lower-case letters, digits, '-', '.', '_')",
                quoteJson(result.name));
    return;
  }
  const std::vector<JsonValue> *features =
      reader.array(*cpu, "cpu.", "features");
  if (reader.failed())
    return;
  std::set<std::string> seen;
  for (size_t i = 0; i < features->size(); ++i) {
    const JsonValue &feature = (*features)[i];
    std::string field = "cpu.features[" + std::to_string(i) + "]";
    if (!feature.isString() || !isCpuName(feature.asString())) {
      reader.fail(field,
                  "an LLVM feature name (lower-case letters, digits, '-', "
                  "'.', '_')",
                  feature.describe());
      return;
    }
    if (!seen.insert(feature.asString()).second) {
      reader.fail(field, "a feature not listed before",
                  quoteJson(feature.asString()));
      return;
    }
    result.features.push_back(feature.asString());
  }
  manifest.cpu = std::move(result);
}

static void readKvCache(ManifestReader &reader, const JsonValue &root,
                        Manifest &manifest) {
  const JsonValue *cache = reader.object(root, "", "kv_cache");
  if (!cache)
    return;
  const std::string prefix = "kv_cache.";
  KvCacheLayout &layout = manifest.kvCache;
  layout.layers = reader.integer(*cache, prefix, "layers", 1, kMaxDimension);
  layout.dtype = reader.dtype(*cache, prefix, "dtype");
  const std::vector<JsonValue> *tensors =
      reader.array(*cache, prefix, "tensors");
  if (reader.failed())
    return;
  if (tensors->empty()) {
    reader.fail(prefix + "tensors", "at least one cache tensor", "[]");
    return;
  }
  std::set<std::string> names;
  int64_t values = 0;
  for (size_t i = 0; i < tensors->size(); ++i) {
    std::string tensorPrefix = prefix + "tensors[" + std::to_string(i) + "].";
    const JsonValue &entry = (*tensors)[i];
    if (!entry.isObject()) {
      reader.fail(tensorPrefix.substr(0, tensorPrefix.size() - 1), "an object",
                  entry.describe());
      return;
    }
    KvCacheTensor tensor;
    tensor.name = reader.string(entry, tensorPrefix, "name");
    tensor.perTokenShape = reader.shape(entry, tensorPrefix, "per_token_shape");
    if (reader.failed())
      return;
    if (!names.insert(tensor.name).second) {
      reader.fail(tensorPrefix + "name", "a name not used by another tensor",
                  quoteJson(tensor.name));
      return;
    }
    values += product(tensor.perTokenShape);
    if (values > kMaxElements) {
      reader.fail(tensorPrefix + "per_token_shape",
                  "at most 2^56 values per token in all",
                  formatJsonIntegers(tensor.perTokenShape));
      return;
    }
    layout.tensors.push_back(std::move(tensor));
  }

  // The two totals are redundant on purpose: the compiler states what it
  // assumed, and a disagreement means the two sides read the layout
  // differently.
  layout.valuesPerTokenPerLayer = reader.integer(
      *cache, prefix, "values_per_token_per_layer", 1, kMaxElements);
  layout.bytesPerToken =
      reader.integer(*cache, prefix, "bytes_per_token", 1, INT64_MAX);
  if (reader.failed())
    return;
  if (layout.valuesPerTokenPerLayer != values) {
    reader.fail(prefix + "values_per_token_per_layer",
                std::to_string(values) +
                    " (the sum of the tensors' per-token sizes)",
                std::to_string(layout.valuesPerTokenPerLayer));
    return;
  }
  int64_t elementBytes = static_cast<int64_t>(dtypeSize(layout.dtype));
  if (values > INT64_MAX / elementBytes / layout.layers) {
    reader.fail(prefix + "layers", "a cache whose bytes per token fit int64",
                std::to_string(layout.layers));
    return;
  }
  int64_t bytes = layout.layers * values * elementBytes;
  if (layout.bytesPerToken != bytes)
    reader.fail(prefix + "bytes_per_token",
                std::to_string(bytes) + " (" + std::to_string(layout.layers) +
                    " layers x " + std::to_string(values) + " values x " +
                    std::to_string(elementBytes) + " bytes of " +
                    dtypeName(layout.dtype) + ")",
                std::to_string(layout.bytesPerToken));
}

Result<Manifest> jikji::runtime::parseManifest(std::string_view jsonText,
                                               const std::string &sourceName) {
  Result<JsonValue> parsed = parseJson(jsonText);
  if (!parsed)
    return Error(sourceName +
                 ": manifest is not valid JSON: " + parsed.error());
  const JsonValue &root = *parsed;
  ManifestReader reader(sourceName);
  if (!root.isObject()) {
    reader.failWith(": expected a JSON object, found " + root.describe());
    return reader.takeError();
  }

  // The format and its version come first: a newer manifest may lack fields
  // this runtime requires, and "too new" is then the message that helps.
  Manifest manifest;
  std::string format = reader.string(root, "", "format");
  if (!reader.failed() && format != kManifestFormat)
    reader.fail("format", quoteJson(kManifestFormat), quoteJson(format));
  manifest.formatVersion =
      reader.integer(root, "", "format_version", 1, INT64_MAX);
  if (reader.failed())
    return reader.takeError();
  if (manifest.formatVersion > kManifestFormatVersion)
    return Error(sourceName + ": built by a newer jikji (format " +
                 std::to_string(manifest.formatVersion) +
                 "); this runtime reads format " +
                 std::to_string(kManifestFormatVersion));

  manifest.generator = reader.string(root, "", "generator");
  manifest.target = reader.string(root, "", "target");
  if (!reader.failed() && manifest.target != "cpu" && manifest.target != "cuda")
    reader.fail("target", "\"cpu\" or \"cuda\"", quoteJson(manifest.target));
  manifest.configDigest = reader.string(root, "", "config_digest");
  if (!reader.failed() && !isDigest(manifest.configDigest))
    reader.fail("config_digest", "\"fnv1a64:\" and 16 lowercase hex digits",
                quoteJson(manifest.configDigest));
  manifest.modelType = reader.string(root, "", "model_type");
  if (!reader.failed() && manifest.modelType != "deepseek_v2" &&
      manifest.modelType != "deepseek_v3")
    reader.fail("model_type", "\"deepseek_v2\" or \"deepseek_v3\"",
                quoteJson(manifest.modelType));
  manifest.vocabSize = reader.integer(root, "", "vocab_size", 1, kMaxDimension);
  manifest.hiddenSize =
      reader.integer(root, "", "hidden_size", 1, kMaxDimension);
  manifest.numLayers = reader.integer(root, "", "num_layers", 1, 1 << 20);
  manifest.maxPositionEmbeddings =
      reader.integer(root, "", "max_position_embeddings", 1, kMaxDimension);
  if (const JsonValue *eos = root.find("eos_token_id"); eos && !eos->isNull())
    manifest.eosTokenId = reader.integer(
        *eos, "eos_token_id", 0, std::max<int64_t>(manifest.vocabSize - 1, 0));
  if (const JsonValue *entryPoints = reader.object(root, "", "entry_points")) {
    manifest.forwardEntryPoint =
        reader.string(*entryPoints, "entry_points.", "forward");
    if (!reader.failed() && !isIdentifier(manifest.forwardEntryPoint))
      reader.fail("entry_points.forward", "a C identifier",
                  quoteJson(manifest.forwardEntryPoint));
  }
  readCpu(reader, root, manifest);
  if (reader.failed())
    return reader.takeError();

  const std::vector<JsonValue> *parameters =
      reader.array(root, "", "parameters");
  if (reader.failed())
    return reader.takeError();
  std::set<std::string> names;
  for (size_t i = 0; i < parameters->size(); ++i) {
    readParameter(reader, (*parameters)[i], i, manifest);
    if (reader.failed())
      return reader.takeError();
    if (!names.insert(manifest.parameters.back().name).second) {
      reader.fail("parameters[" + std::to_string(i) + "].name",
                  "a name not used by an earlier parameter",
                  quoteJson(manifest.parameters.back().name));
      return reader.takeError();
    }
  }

  checkScaleLinks(reader, manifest);
  if (reader.failed())
    return reader.takeError();

  readKvCache(reader, root, manifest);
  if (reader.failed())
    return reader.takeError();
  return manifest;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

std::string jikji::runtime::writeManifestJson(const Manifest &manifest) {
  std::string json = "{\n";
  auto field = [&](const char *key, const std::string &value) {
    json += "  " + quoteJson(key) + ": " + value + ",\n";
  };
  field("format", quoteJson(kManifestFormat));
  field("format_version", std::to_string(manifest.formatVersion));
  field("generator", quoteJson(manifest.generator));
  field("target", quoteJson(manifest.target));
  field("config_digest", quoteJson(manifest.configDigest));
  field("model_type", quoteJson(manifest.modelType));
  field("vocab_size", std::to_string(manifest.vocabSize));
  field("hidden_size", std::to_string(manifest.hiddenSize));
  field("num_layers", std::to_string(manifest.numLayers));
  field("max_position_embeddings",
        std::to_string(manifest.maxPositionEmbeddings));
  if (manifest.eosTokenId)
    field("eos_token_id", std::to_string(*manifest.eosTokenId));
  field("entry_points",
        "{ \"forward\": " + quoteJson(manifest.forwardEntryPoint) + " }");
  if (manifest.cpu) {
    std::string features;
    for (const std::string &feature : manifest.cpu->features)
      features += (features.empty() ? "" : ", ") + quoteJson(feature);
    field("cpu", "{ \"name\": " + quoteJson(manifest.cpu->name) +
                     ", \"features\": [" + features + "] }");
  }

  json += "  \"parameters\": [";
  for (size_t i = 0; i < manifest.parameters.size(); ++i) {
    const ManifestParameter &parameter = manifest.parameters[i];
    json += std::string(i ? "," : "") +
            "\n    { \"name\": " + quoteJson(parameter.name) +
            ", \"dtype\": " + quoteJson(dtypeName(parameter.dtype)) +
            ", \"shape\": " + formatJsonIntegers(parameter.shape);
    if (parameter.isStacked())
      json += ", \"experts\": " + std::to_string(parameter.experts);
    if (parameter.isBlockScaled())
      json += ", \"block_size\": " + formatJsonIntegers(parameter.blockSize) +
              ", \"scale\": " + quoteJson(parameter.scale);
    json += " }";
  }
  json += manifest.parameters.empty() ? "],\n" : "\n  ],\n";

  const KvCacheLayout &cache = manifest.kvCache;
  json += "  \"kv_cache\": {\n";
  json += "    \"layers\": " + std::to_string(cache.layers) + ",\n";
  json += "    \"dtype\": " + quoteJson(dtypeName(cache.dtype)) + ",\n";
  json += "    \"tensors\": [";
  for (size_t i = 0; i < cache.tensors.size(); ++i)
    json += std::string(i ? "," : "") +
            "\n      { \"name\": " + quoteJson(cache.tensors[i].name) +
            ", \"per_token_shape\": " +
            formatJsonIntegers(cache.tensors[i].perTokenShape) + " }";
  json += cache.tensors.empty() ? "],\n" : "\n    ],\n";
  json += "    \"values_per_token_per_layer\": " +
          std::to_string(cache.valuesPerTokenPerLayer) + ",\n";
  json += "    \"bytes_per_token\": " + std::to_string(cache.bytesPerToken) +
          "\n  }\n}\n";
  return json;
}
