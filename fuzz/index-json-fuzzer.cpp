//===- index-json-fuzzer.cpp - Fuzzes model.safetensors.index.json --------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Fuzzes the shard index of a sharded checkpoint. The index is read only by
// jikji::hf::openCheckpoint, from a folder, so the target makes a folder of
// its own once (under $TMPDIR) holding two small valid shards, writes each
// input there as model.safetensors.index.json and opens the folder:
//
//   model-00001-of-00002.safetensors  model.embed_tokens.weight BF16 [4, 2]
//                                     model.norm.weight         BF16 [2]
//   model-00002-of-00002.safetensors  lm_head.weight            BF16 [4, 2]
//
// fuzz/make-seeds.py writes index seeds that name these shards and tensors.
// An opened checkpoint must hold exactly the tensors the index maps, each in
// the shard the index names.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Checkpoint.h"
#include "frontends/huggingface/Json.h"
#include "fuzz/FuzzSupport.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

using namespace jikji;
using namespace jikji::hf;

namespace {
/// The target's checkpoint folder, removed at exit.
std::string folder;
const char *const kShardNames[] = {"model-00001-of-00002.safetensors",
                                   "model-00002-of-00002.safetensors"};

void writeFile(const std::string &path, std::string_view bytes) {
  FILE *file = std::fopen(path.c_str(), "wb");
  JIKJI_FUZZ_CHECK(file, "cannot create a file in the fuzz folder");
  JIKJI_FUZZ_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), file) ==
                       bytes.size(),
                   "cannot write a file in the fuzz folder");
  std::fclose(file);
}

/// A safetensors file: the header's length, the header, `dataBytes` zeros.
std::string safetensors(const std::string &header, size_t dataBytes) {
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + std::string(dataBytes, '\0');
}

void removeFolder() {
  for (const char *name : kShardNames)
    ::unlink((folder + "/" + name).c_str());
  ::unlink((folder + "/" + kSafeTensorsIndexName).c_str());
  ::rmdir(folder.c_str());
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/jikji-index-fuzz-XXXXXX";
  JIKJI_FUZZ_CHECK(::mkdtemp(pattern.data()), "cannot make the fuzz folder");
  folder = pattern;
  std::atexit(removeFolder);
  writeFile(folder + "/" + kShardNames[0],
            safetensors("{\"model.embed_tokens.weight\":{\"dtype\":\"BF16\","
                        "\"shape\":[4,2],\"data_offsets\":[0,16]},"
                        "\"model.norm.weight\":{\"dtype\":\"BF16\","
                        "\"shape\":[2],\"data_offsets\":[16,20]}}",
                        20));
  writeFile(folder + "/" + kShardNames[1],
            safetensors("{\"lm_head.weight\":{\"dtype\":\"BF16\","
                        "\"shape\":[4,2],\"data_offsets\":[0,16]}}",
                        16));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  std::string indexPath = folder + "/" + kSafeTensorsIndexName;
  writeFile(indexPath, text);
  Result<Checkpoint> checkpoint = openCheckpoint(folder);
  if (!checkpoint)
    return 0;

  // Accepted: the index parses, and its weight_map is exactly the tensors.
  Result<JsonValue> index = parseJson(text);
  JIKJI_FUZZ_CHECK(index.ok() && index->isObject(), "accepted a bad index");
  const JsonValue *weightMap = index->find("weight_map");
  JIKJI_FUZZ_CHECK(weightMap && weightMap->isObject(), "no weight_map");
  JIKJI_FUZZ_CHECK(weightMap->asObject().size() ==
                       checkpoint->tensorIndex.size(),
                   "the checkpoint's tensors are not the weight_map's");
  for (const auto &[name, shard] : weightMap->asObject()) {
    const TensorInfo *tensor = checkpoint->find(name);
    JIKJI_FUZZ_CHECK(tensor, "a mapped tensor is missing");
    JIKJI_FUZZ_CHECK(tensor->file == folder + "/" + shard.asString(),
                     "a tensor comes from another shard than the index says");
  }
  return 0;
}
