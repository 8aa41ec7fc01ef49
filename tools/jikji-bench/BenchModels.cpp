//===- BenchModels.cpp - The checkpoints jikji-bench runs -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/BenchModels.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace jikji;
using namespace jikji::bench;

// V3's layer shapes with 2 layers and 32 of its 256 routed experts (8 groups
// of 4, top-4 groups, top-8 experts), so that the file (about 8 GB in BF16)
// fits the development machines. The positional encoding is the released
// model's YaRN.
static const char *const kBenchV3Override =
    R"({"hidden_size": 7168, "num_attention_heads": 128, )"
    R"("num_key_value_heads": 128, "q_lora_rank": 1536, )"
    R"("kv_lora_rank": 512, "qk_nope_head_dim": 128, )"
    R"("qk_rope_head_dim": 64, "v_head_dim": 128, )"
    R"("n_routed_experts": 32, "num_experts_per_tok": 8, "n_group": 8, )"
    R"("topk_group": 4, "topk_method": "noaux_tc", )"
    R"("scoring_func": "sigmoid", "routed_scaling_factor": 2.5, )"
    R"("n_shared_experts": 1, "moe_intermediate_size": 2048, )"
    R"("intermediate_size": 18432, "first_k_dense_replace": 1, )"
    R"("vocab_size": 129280, "max_position_embeddings": 163840, )"
    R"("rope_scaling": {"type": "yarn", "factor": 40, )"
    R"("original_max_position_embeddings": 4096, "beta_fast": 32, )"
    R"("beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}})";

const std::vector<BenchModelSpec> &jikji::bench::builtInBenchModels() {
  // DeepSeek-V2-Lite's layer shapes (../shared/configs/deepseek-v2-lite.json)
  // with 4 layers, the first dense; bench-v3 as above; and bench-v3-fp8,
  // bench-v3 as DeepSeek releases V3: the linears FP8 with 128x128 block
  // scales (the block quantization of bench-v3's weights), the embeddings,
  // lm_head, router and norms BF16.
  static const std::vector<BenchModelSpec> models = {
      {"bench-v2-lite", "v2-lite", 4,
       R"({"hidden_size": 2048, "num_attention_heads": 16, )"
       R"("num_key_value_heads": 16, "q_lora_rank": null, )"
       R"("kv_lora_rank": 512, "qk_nope_head_dim": 128, )"
       R"("qk_rope_head_dim": 64, "v_head_dim": 128, )"
       R"("n_routed_experts": 64, "num_experts_per_tok": 6, )"
       R"("n_shared_experts": 2, "moe_intermediate_size": 1408, )"
       R"("intermediate_size": 10944, "first_k_dense_replace": 1, )"
       R"("vocab_size": 102400, "max_position_embeddings": 163840, )"
       R"("rope_scaling": {"type": "yarn", "factor": 40, )"
       R"("original_max_position_embeddings": 4096, "beta_fast": 32, )"
       R"("beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707}})",
       {}},
      {"bench-v3", "v3", 2, kBenchV3Override, {}},
      {"bench-v3-fp8", "v3", 2, kBenchV3Override, {"--fp8"}},
  };
  return models;
}

std::string jikji::bench::benchModelNames() {
  std::string names;
  const std::vector<BenchModelSpec> &models = builtInBenchModels();
  for (size_t i = 0; i < models.size(); ++i)
    names += (i == 0 ? "" : i + 1 == models.size() ? " or " : ", ") +
             models[i].name;
  return names;
}

const BenchModelSpec *jikji::bench::findBenchModel(const std::string &name) {
  for (const BenchModelSpec &spec : builtInBenchModels())
    if (spec.name == name)
      return &spec;
  return nullptr;
}

Result<bool> jikji::bench::makeDirectories(const std::string &path) {
  for (size_t slash = 0; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    std::string prefix = path.substr(0, slash);
    if (prefix.empty())
      continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return Error(prefix +
                   ": cannot create the folder: " + std::strerror(errno));
  }
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return Error(path + ": not a folder");
  return true;
}

/// The whole text of `path`, or "" when it cannot be read.
static std::string readText(const std::string &path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

Result<std::string> jikji::bench::ensureCheckpoint(const BenchModelSpec &spec,
                                                   const std::string &cacheDir,
                                                   const ToolPaths &tools) {
  std::string folder = cacheDir + "/" + spec.name;
  // The stamp: the generator's arguments (the folder aside), written once
  // the checkpoint is complete.
  std::vector<std::string> arguments = {
      "--variant",      spec.variant,
      "--layers",       std::to_string(spec.layers),
      "--fast-random",  "--override",
      spec.overrideJson};
  arguments.insert(arguments.end(), spec.extraArguments.begin(),
                   spec.extraArguments.end());
  std::string stamp = commandLine(arguments) + "\n";
  std::string stampPath = folder + "/jikji-bench-stamp.txt";
  if (readText(stampPath) == stamp)
    return folder;

  Result<bool> made = makeDirectories(cacheDir);
  if (!made)
    return Error(made.error());
  std::fprintf(stderr, "jikji-bench: generating %s in %s (once; several GB)\n",
               spec.name.c_str(), folder.c_str());
  std::remove(stampPath.c_str());
  std::vector<std::string> command = {tools.python, tools.generator, folder};
  command.insert(command.end(), arguments.begin(), arguments.end());
  Result<ProcessRun> run = runProcess(command);
  if (!run)
    return Error(run.error());
  if (run->exitCode != 0)
    return Error("generating " + spec.name + " failed (exit " +
                 std::to_string(run->exitCode) + "): " + commandLine(command));
  std::fprintf(stderr, "jikji-bench: generated %s in %.1f s\n",
               spec.name.c_str(), run->wallSeconds);
  std::ofstream out(stampPath);
  out << stamp;
  if (!out)
    return Error(stampPath + ": cannot write the stamp");
  return folder;
}

Result<ProcessRun> jikji::bench::compileModel(const ToolPaths &tools,
                                              const std::string &input,
                                              const std::string &target,
                                              const std::string &output,
                                              const std::vector<std::string> &flags) {
  std::vector<std::string> command = {tools.compiler, input,
                                      "--target=" + target, "-o", output};
  command.insert(command.end(), flags.begin(), flags.end());
  Result<ProcessRun> run = runProcess(command);
  if (!run)
    return Error(run.error());
  if (run->exitCode != 0)
    return Error("compiling failed (exit " + std::to_string(run->exitCode) +
                 "): " + commandLine(command));
  return run;
}
