//===- Checkpoint.cpp - A Hugging Face checkpoint folder ------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Checkpoint.h"

#include "frontends/huggingface/Json.h"
#include "frontends/huggingface/ModelParameters.h"
#include "frontends/huggingface/Printable.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <dirent.h>
#include <sys/stat.h>

using namespace jikji;
using namespace jikji::hf;

const TensorInfo *Checkpoint::find(std::string_view name) const {
  auto it = tensorIndex.find(name);
  if (it == tensorIndex.end())
    return nullptr;
  return &files[it->second.first].tensors[it->second.second];
}

std::vector<std::string> Checkpoint::tensorNames() const {
  std::vector<std::string> names;
  names.reserve(tensorIndex.size());
  for (const auto &entry : tensorIndex)
    names.push_back(entry.first);
  return names;
}

//===----------------------------------------------------------------------===//
// Opening
//===----------------------------------------------------------------------===//

static bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.substr(text.size() - suffix.size()) == suffix;
}

static std::string joinPath(const std::string &directory,
                            const std::string &name) {
  if (directory.empty() || directory.back() == '/')
    return directory + name;
  return directory + "/" + name;
}

/// True for a regular file, following symbolic links (the Hugging Face cache
/// links snapshot files to blobs).
static bool isRegularFile(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

namespace {
/// Closes a directory stream on every way out of a function.
class ScopedDir {
public:
  explicit ScopedDir(DIR *dir) : dir_(dir) {}
  ScopedDir(const ScopedDir &) = delete;
  ScopedDir &operator=(const ScopedDir &) = delete;
  ~ScopedDir() {
    if (dir_)
      ::closedir(dir_);
  }
  DIR *get() const { return dir_; }

private:
  DIR *dir_;
};
} // namespace

/// The names of the regular files in `directory`, sorted.
static Result<std::vector<std::string>>
listFiles(const std::string &directory) {
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0)
    return Error(directory + ": cannot open the checkpoint folder: " +
                 std::strerror(errno));
  if (!S_ISDIR(info.st_mode))
    return Error(directory + ": expected a checkpoint folder (config.json "
                             "and *.safetensors), found a file");
  ScopedDir dir(::opendir(directory.c_str()));
  if (!dir.get())
    return Error(directory + ": cannot open the checkpoint folder: " +
                 std::strerror(errno));
  std::vector<std::string> names;
  while (const dirent *entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == "..")
      continue;
    if (isRegularFile(joinPath(directory, name)))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// A shard name from the index may only name a file directly inside the
/// checkpoint folder; anything else ("../x", "/etc/x", "sub/x") could make
/// the reader, and later the runtime, open files the user never pointed at.
static bool isPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\\') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

/// Adds every tensor of `checkpoint.files[fileIndex]` to the tensor index.
/// Fails when a tensor name is already taken by another file.
static Result<bool> indexFile(Checkpoint &checkpoint, size_t fileIndex) {
  const SafeTensorsFile &file = checkpoint.files[fileIndex];
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    auto [it, inserted] = checkpoint.tensorIndex.emplace(
        file.tensors[i].name, std::make_pair(fileIndex, i));
    if (!inserted)
      return Error(checkpoint.directory + ": tensor '" +
                   printable(file.tensors[i].name) + "' is in both " +
                   checkpoint.files[it->second.first].path + " and " +
                   file.path);
  }
  return true;
}

/// Opens the shards listed by the index at `indexPath`.
static Result<Checkpoint> openShardedCheckpoint(const std::string &directory,
                                                const std::string &indexPath) {
  Result<std::string> text = readTextFile(indexPath);
  if (!text)
    return Error(text.error());
  Result<JsonValue> parsed = parseJson(*text);
  if (!parsed)
    return Error(indexPath + ": " + parsed.error());
  const JsonValue &root = *parsed;
  if (!root.isObject())
    return Error(indexPath + ": expected a JSON object, found " +
                 root.describe());
  const JsonValue *weightMap = root.find("weight_map");
  if (!weightMap || !weightMap->isObject())
    return Error(indexPath +
                 ": 'weight_map': expected an object mapping tensor names to "
                 "shard files, found " +
                 (weightMap ? weightMap->describe() : "nothing"));

  // Shards in file-name order, each with the tensors the index puts there,
  // and the reverse map (a V3 index has 90k entries, too many to search).
  std::map<std::string, std::vector<std::string>> shards;
  std::map<std::string_view, std::string_view> shardOf;
  for (const auto &[tensor, shard] : weightMap->asObject()) {
    std::string field = "'weight_map." + printable(tensor) + "'";
    if (!shard.isString())
      return Error(indexPath + ": " + field +
                   ": expected a shard file name, found " + shard.describe());
    if (!isPlainFileName(shard.asString()))
      return Error(indexPath + ": " + field +
                   ": expected the name of a file inside the checkpoint "
                   "folder, found " +
                   shard.describe());
    shards[shard.asString()].push_back(tensor);
    shardOf[tensor] = shard.asString();
  }
  if (shards.empty())
    return Error(indexPath + ": 'weight_map': expected at least one tensor, "
                             "found {}");

  // A missing shard is the likeliest problem (an interrupted download), so it
  // is reported before anything a present shard might say.
  for (const auto &[shard, tensors] : shards)
    if (!isRegularFile(joinPath(directory, shard)))
      return Error(indexPath + ": shard '" + printable(shard) +
                   "' (for tensor '" + printable(tensors.front()) +
                   "') does not exist: no file " + joinPath(directory, shard));

  Checkpoint checkpoint;
  checkpoint.directory = directory;
  for (const auto &[shard, tensors] : shards) {
    std::string path = joinPath(directory, shard);
    Result<SafeTensorsFile> file = readSafeTensorsFile(path);
    if (!file)
      return Error(file.error());
    for (const std::string &tensor : tensors)
      if (!file->find(tensor))
        return Error(indexPath + ": tensor '" + printable(tensor) +
                     "' is mapped to '" + printable(shard) +
                     "', which has no such tensor");
    // A tensor the index does not list for this shard would be invisible to
    // tools that trust the index, and might shadow the listed one.
    for (const TensorInfo &info : file->tensors) {
      auto mapped = shardOf.find(info.name);
      if (mapped == shardOf.end())
        return Error(path + ": tensor '" + printable(info.name) +
                     "' is not in the weight_map of " + indexPath);
      if (mapped->second != shard)
        return Error(path + ": tensor '" + printable(info.name) +
                     "' is in this shard, " + "but " + indexPath +
                     " maps it to '" + printable(mapped->second) + "'");
    }
    checkpoint.files.push_back(std::move(*file));
    Result<bool> indexed = indexFile(checkpoint, checkpoint.files.size() - 1);
    if (!indexed)
      return Error(indexed.error());
  }
  return checkpoint;
}

Result<Checkpoint> jikji::hf::openCheckpoint(const std::string &directory) {
  Result<std::vector<std::string>> names = listFiles(directory);
  if (!names)
    return Error(names.error());

  std::vector<std::string> safetensors, pickles;
  bool hasSingleFile = false, hasIndex = false;
  for (const std::string &name : *names) {
    if (name == "model.safetensors")
      hasSingleFile = true;
    if (name == kSafeTensorsIndexName)
      hasIndex = true;
    if (endsWith(name, ".safetensors"))
      safetensors.push_back(name);
    if (endsWith(name, ".bin") || endsWith(name, ".pt") ||
        endsWith(name, ".pth"))
      pickles.push_back(name);
  }

  // Hugging Face's order: the single file, then the index. Other
  // *.safetensors beside them (reference outputs, say) are not weights.
  if (hasSingleFile)
    safetensors = {"model.safetensors"};
  else if (hasIndex)
    return openShardedCheckpoint(directory,
                                 joinPath(directory, kSafeTensorsIndexName));

  if (safetensors.empty()) {
    if (!pickles.empty())
      return Error(directory + ": found " + pickles.front() +
                   " but no *.safetensors: pickle checkpoints can execute "
                   "code when loaded; convert to safetensors");
    return Error(directory + ": expected model.safetensors, " +
                 kSafeTensorsIndexName +
                 " or other *.safetensors files, found none");
  }

  Checkpoint checkpoint;
  checkpoint.directory = directory;
  for (const std::string &name : safetensors) {
    Result<SafeTensorsFile> file =
        readSafeTensorsFile(joinPath(directory, name));
    if (!file)
      return Error(file.error());
    checkpoint.files.push_back(std::move(*file));
    Result<bool> indexed = indexFile(checkpoint, checkpoint.files.size() - 1);
    if (!indexed)
      return Error(indexed.error());
  }
  return checkpoint;
}

//===----------------------------------------------------------------------===//
// Checking against a config
//===----------------------------------------------------------------------===//

static std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Where a tensor's messages start: its file, or the folder when it is
/// missing.
static std::string tensorSource(const Checkpoint &checkpoint,
                                const TensorInfo *tensor) {
  return tensor ? tensor->file : checkpoint.directory;
}

Result<CheckpointReport>
jikji::hf::checkCheckpoint(const ModelConfig &config,
                           const Checkpoint &checkpoint) {
  std::set<std::string, std::less<>> used;
  for (const ParameterSpec &spec :
       listModelParameters(config, /*includeMultiTokenPrediction=*/false)) {
    const TensorInfo *tensor = checkpoint.find(spec.name);
    bool isRouterBias = endsWith(spec.name, ".e_score_correction_bias");
    std::string expectedDType = spec.quantized ? "F8_E4M3"
                                : isRouterBias ? "F32 or BF16"
                                               : "BF16, F16 or F32";
    std::string where =
        tensorSource(checkpoint, tensor) + ": tensor '" + spec.name + "'";
    if (!tensor)
      return Error(where + ": expected " + expectedDType + " of shape " +
                   formatShape(spec.shape) + ", found no such tensor");
    if (tensor->shape != spec.shape)
      return Error(where + ": expected shape " + formatShape(spec.shape) +
                   ", found " + formatShape(tensor->shape));
    DType dtype = tensor->dtype;
    if (dtype == DType::F8E4M3 && !config.fp8)
      return Error(where + " is F8_E4M3 but config.json has no "
                           "quantization_config");
    bool dtypeOk;
    std::string why;
    if (spec.quantized) {
      dtypeOk = dtype == DType::F8E4M3;
      why = " (config.json declares FP8 quantization)";
    } else if (isRouterBias) {
      dtypeOk = dtype == DType::F32 || dtype == DType::BF16;
    } else {
      dtypeOk =
          dtype == DType::BF16 || dtype == DType::F16 || dtype == DType::F32;
      if (dtype == DType::F8E4M3)
        why = " (this weight is never quantized)";
    }
    if (!dtypeOk)
      return Error(where + ": expected " + expectedDType + why + ", found " +
                   dtypeName(dtype));
    used.insert(spec.name);

    if (!spec.quantized)
      continue;
    std::string scaleName = spec.name + "_scale_inv";
    const TensorInfo *scale = checkpoint.find(scaleName);
    std::vector<int64_t> scaleShape = {
        ceilDiv(spec.shape[0], config.fp8->blockRows),
        ceilDiv(spec.shape[1], config.fp8->blockCols)};
    std::string scaleWhere =
        tensorSource(checkpoint, scale) + ": tensor '" + scaleName + "'";
    if (!scale)
      return Error(scaleWhere + ": expected F32 of shape " +
                   formatShape(scaleShape) +
                   " (the block scales of the F8_E4M3 '" + spec.name +
                   "'), found no such tensor");
    if (scale->shape != scaleShape)
      return Error(scaleWhere + ": expected shape " + formatShape(scaleShape) +
                   " (ceil(" + formatShape(spec.shape) + " / 128)), found " +
                   formatShape(scale->shape));
    if (scale->dtype != DType::F32)
      return Error(scaleWhere + ": expected F32, found " +
                   dtypeName(scale->dtype));
    used.insert(scaleName);
  }

  CheckpointReport report;
  for (const auto &entry : checkpoint.tensorIndex)
    if (!used.count(entry.first))
      report.unusedTensors.push_back(entry.first);

  // Summarise: the multi-token-prediction layers are expected to be unused,
  // anything else is worth a look.
  size_t unusedMtp = 0;
  std::vector<std::string> others;
  for (const std::string &name : report.unusedTensors) {
    bool isMtp = false;
    for (int64_t j = 0; j < config.numNextnPredictLayers && !isMtp; ++j) {
      std::string prefix =
          "model.layers." + std::to_string(config.numHiddenLayers + j) + ".";
      isMtp = name.compare(0, prefix.size(), prefix) == 0;
    }
    if (isMtp)
      ++unusedMtp;
    else
      others.push_back(name);
  }
  if (unusedMtp > 0) {
    std::string layers =
        "model.layers." + std::to_string(config.numHiddenLayers) + ".*";
    if (config.numNextnPredictLayers > 1)
      layers += " to model.layers." +
                std::to_string(config.numHiddenLayers +
                               config.numNextnPredictLayers - 1) +
                ".*";
    report.notes.push_back(std::to_string(unusedMtp) +
                           " tensors of the multi-token-prediction module (" +
                           layers + ") are not used by the compiled model");
  }
  if (!others.empty()) {
    std::string note = std::to_string(others.size()) +
                       " other tensors are not used by the model: " +
                       printable(others.front());
    if (others.size() > 1)
      note += ", ...";
    report.notes.push_back(note);
  }
  return report;
}
