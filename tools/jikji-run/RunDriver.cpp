//===- RunDriver.cpp - jikji-run's command line and modes -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Three modes share the loading:
//
//   generation:       --prompt-ids 0,3,17 | --batch-file FILE, --max-new-tokens
//   teacher forcing:  --tokens FILE [--logits-out OUT] [--check-greedy]
//                     [--max-relative-error E]
//   timing:           --time-decode B | --time-prefill T [--context L]
//                     [--steps N] [--warmup W] (TimingMode.h)
//
// Every argument is checked before the model runs, so that bad input exits
// with code 2 and a message, and nothing the user passes can crash the
// process.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-run/RunDriver.h"
#include "tools/jikji-run/TimingMode.h"

#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"
#include "runtime/session/Session.h"
#include "runtime/support/BusErrorReport.h"
#include "runtime/support/ReferenceFile.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;

namespace {

constexpr const char *kUsage = R"(usage:
  jikji-run MODEL.so --weights DIR --prompt-ids 0,3,17 --max-new-tokens N
            [--temperature T] [--top-k K] [--top-p P] [--seed S]
            [--ignore-eos] [--stats] [--kernel-times] [--check-weights]
  jikji-run MODEL.so --weights DIR --batch-file FILE --max-new-tokens N [...]
  jikji-run MODEL.so --weights DIR --tokens FILE [--logits-out OUT]
            [--check-greedy] [--max-relative-error E] [--stats]
  jikji-run MODEL.so --weights DIR --time-decode B | --time-prefill T
            [--context L] [--steps N] [--warmup W] [--seed S]
            [--kernel-times]
  jikji-run --list-devices

Runs a model compiled by jikji-compile with the checkpoint in DIR.

  --device D            cpu (the default) runs an artifact compiled with
                        --target=cpu; cuda runs one compiled with
                        --target=cuda on the first GPU, through the CUDA
                        driver loaded at run time (libcuda.so.1, or the
                        library JIKJI_CUDA_DRIVER names)
  --cuda-graphs on|off  with --device=cuda: capture each step and launch it
                        as one CUDA graph, updated from step to step (on,
                        the default), or launch kernel by kernel (off);
                        --kernel-times launches kernel by kernel
  --list-devices        print the devices this machine offers and exit

Generation prints the new token ids of each prompt, comma-separated, one line
per prompt. --batch-file holds one comma-separated prompt per line; the
prompts run one after another, each with its own cache.
  --max-new-tokens N    new tokens per prompt (>= 0); stops early at the
                        model's end-of-sequence token unless --ignore-eos
  --temperature T       0 (the default) picks greedily; > 0 samples
  --top-k K             keep the K most likely tokens (0, the default: all)
  --top-p P             keep the smallest set reaching probability P, in
                        (0, 1] (1, the default: all)
  --seed S              the sampler's seed (0 to 2^64-1, default 0)

Teacher forcing reads FILE (safetensors, as ../shared/reference/*/
reference.safetensors): I64 'tokens' [B, P+S] and '__metadata__.prompt_len' P.
For each row it prefills the P prompt tokens on a fresh cache, then feeds the
S others one step each.
  --logits-out OUT      write F32 'prefill_logits' [B, P, V] and
                        'decode_logits' [B, S, V] to OUT
  When FILE has 'prefill_logits' and 'decode_logits', prints each one's
  relative error ||ours - reference|| / ||reference||.
  --max-relative-error E  exit with 1 when either error exceeds E
  --check-greedy        also decode S tokens greedily from each prompt and
                        compare with 'greedy_tokens' where 'greedy_margins'
                        > 1e-2; exit with 1 on a mismatch

Timing runs one step shape with pseudo-random token ids (--seed) and prints
its median time to stdout. The context is assumed, not computed: each
sequence starts with L positions whose cache rows hold pseudo-random values
(a step's time does not depend on them), so the logits mean nothing.
  --time-decode B       decode steps of B sequences, one token each (one
                        call per step when the artifact exports
                        jikji_forward_batch)
  --time-prefill T      a prefill of T tokens in one sequence, last logits
  --context L           positions each sequence holds first (default 0)
  --steps N             timed decode steps or prefill runs (default 16)
  --warmup W            untimed steps or runs before them (default 2);
                        --kernel-times counts the timed ones only

  --threads N           threads the compiled code may use (1 to 1024,
                        default 1); an artifact compiled without threads
                        runs on one, with a warning
  --stats               print timings, threads, weight and cache bytes to
                        stderr
  --kernel-times        with --device=cuda: time every kernel launch on the
                        GPU (CUDA events) and print the kernels by total
                        time to stderr at the end
  --check-weights       refuse weights with NaN or infinite values (reads
                        every byte)

Exit codes: 0 success; 1 failure (loading, running, writing, a failed check);
2 bad input (flags, token ids, lengths, weights that do not match).
)";

/// The margin below which the reference's greedy choice was a near tie
/// (../shared/reference/README.md): a correct implementation may pick the
/// other token there.
constexpr float kGreedyMarginTolerance = 1e-2f;

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A failure with the exit code it leads to.
struct Failure {
  int exitCode;
  std::string message;
};

/// Either nothing (success) or a Failure.
using Status = std::optional<Failure>;

Failure badInput(std::string message) {
  return Failure{kRunBadInput, std::move(message)};
}
Failure failure(std::string message) {
  return Failure{kRunFailed, std::move(message)};
}

/// What the command line asks for.
struct RunOptions {
  std::string artifactPath;
  std::string weightsDir;
  // Generation.
  std::optional<std::string> promptIds;
  std::optional<std::string> batchFile;
  std::optional<int64_t> maxNewTokens;
  SamplingOptions sampling;
  bool ignoreEos = false;
  // Teacher forcing.
  std::optional<std::string> tokensFile;
  std::optional<std::string> logitsOut;
  bool checkGreedy = false;
  std::optional<double> maxRelativeError;
  // Timing.
  TimingPlan timing;
  bool timingFlagGiven = false;
  // All.
  ModelOptions model;
  bool stats = false;
  bool kernelTimes = false;
  /// --cuda-graphs, when given.
  std::optional<bool> cudaGraphs;
  bool checkWeights = false;
  bool help = false;
  bool listDevices = false;
};

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

/// A whole-string signed decimal integer; `what` names it for the message.
std::optional<Failure> parseInteger(std::string_view text,
                                    const std::string &what, int64_t &value) {
  std::string copy(text);
  errno = 0;
  char *end = nullptr;
  long long parsed = std::strtoll(copy.c_str(), &end, 10);
  if (copy.empty() || end != copy.c_str() + copy.size() ||
      !(copy[0] == '-' || (copy[0] >= '0' && copy[0] <= '9')))
    return badInput(what + ": expected an integer, found '" + copy + "'");
  if (errno == ERANGE)
    return badInput(what + ": expected an integer that fits 64 bits, found '" +
                    copy + "'");
  value = parsed;
  return std::nullopt;
}

/// A whole-string finite decimal number.
std::optional<Failure> parseNumber(std::string_view text,
                                   const std::string &what, double &value) {
  std::string copy(text);
  errno = 0;
  char *end = nullptr;
  double parsed = std::strtod(copy.c_str(), &end);
  // strtod accepts "inf", "nan" and hexadecimal; the first character check
  // and isfinite keep to plain decimals.
  bool plain = !copy.empty() &&
               (copy[0] == '-' || copy[0] == '.' ||
                (copy[0] >= '0' && copy[0] <= '9')) &&
               copy.find_first_of("xX") == std::string::npos;
  if (!plain || end != copy.c_str() + copy.size() || !std::isfinite(parsed))
    return badInput(what + ": expected a finite number, found '" + copy + "'");
  value = parsed;
  return std::nullopt;
}

/// Comma-separated token ids: "0, 3,17". Ids are range-checked against the
/// model later.
Status parseTokenList(std::string_view text, const std::string &what,
                      std::vector<int64_t> &tokens) {
  tokens.clear();
  auto trim = [](std::string_view part) {
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t'))
      part.remove_prefix(1);
    while (!part.empty() &&
           (part.back() == ' ' || part.back() == '\t' || part.back() == '\r'))
      part.remove_suffix(1);
    return part;
  };
  if (trim(text).empty())
    return badInput(what + ": the prompt is empty; expected at least one "
                           "token id");
  size_t start = 0;
  for (size_t index = 0;; ++index) {
    size_t comma = text.find(',', start);
    std::string_view part = trim(text.substr(start, comma - start));
    int64_t token = 0;
    if (Status bad = parseInteger(
            part, what + ": element " + std::to_string(index), token))
      return bad;
    tokens.push_back(token);
    if (comma == std::string_view::npos)
      return std::nullopt;
    start = comma + 1;
  }
}

/// Reads a whole file.
Status readWholeFile(const std::string &path, std::string &contents) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return badInput(path + ": cannot open: " + std::strerror(errno));
  contents.clear();
  char buffer[65536];
  size_t count;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    contents.append(buffer, count);
  bool failed = std::ferror(file);
  std::fclose(file);
  if (failed)
    return badInput(path + ": cannot read: " + std::strerror(errno));
  return std::nullopt;
}

Status parseCommandLine(int argc, char **argv, RunOptions &options) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument.size() < 2 || argument.compare(0, 2, "--") != 0 ||
        argument == "--") {
      positional.push_back(argument);
      continue;
    }
    std::string flag = argument, value;
    bool hasInlineValue = false;
    if (size_t equals = argument.find('='); equals != std::string::npos) {
      flag = argument.substr(0, equals);
      value = argument.substr(equals + 1);
      hasInlineValue = true;
    }

    // Flags without a value.
    bool *toggle = nullptr;
    if (flag == "--stats")
      toggle = &options.stats;
    else if (flag == "--kernel-times")
      toggle = &options.kernelTimes;
    else if (flag == "--check-weights")
      toggle = &options.checkWeights;
    else if (flag == "--check-greedy")
      toggle = &options.checkGreedy;
    else if (flag == "--ignore-eos")
      toggle = &options.ignoreEos;
    else if (flag == "--help" || flag == "-help")
      toggle = &options.help;
    else if (flag == "--list-devices")
      toggle = &options.listDevices;
    if (toggle) {
      if (hasInlineValue)
        return badInput(flag + ": takes no value, found '" + value + "'");
      *toggle = true;
      continue;
    }

    static const char *const kValueFlags[] = {"--weights",
                                              "--prompt-ids",
                                              "--batch-file",
                                              "--max-new-tokens",
                                              "--temperature",
                                              "--top-k",
                                              "--top-p",
                                              "--seed",
                                              "--tokens",
                                              "--logits-out",
                                              "--max-relative-error",
                                              "--threads",
                                              "--device",
                                              "--cuda-graphs",
                                              "--time-decode",
                                              "--time-prefill",
                                              "--context",
                                              "--steps",
                                              "--warmup"};
    bool known = false;
    for (const char *name : kValueFlags)
      known = known || flag == name;
    if (!known)
      return badInput("unknown option '" + flag + "'");
    if (!hasInlineValue) {
      if (i + 1 >= argc)
        return badInput(flag + ": expected a value, found the end of the "
                               "command line");
      value = argv[++i];
    }

    if (flag == "--weights") {
      options.weightsDir = value;
    } else if (flag == "--prompt-ids") {
      options.promptIds = value;
    } else if (flag == "--batch-file") {
      options.batchFile = value;
    } else if (flag == "--tokens") {
      options.tokensFile = value;
    } else if (flag == "--logits-out") {
      options.logitsOut = value;
    } else if (flag == "--max-new-tokens") {
      int64_t count = 0;
      if (Status bad = parseInteger(value, flag, count))
        return bad;
      if (count < 0)
        return badInput(flag + ": expected a number >= 0, found " + value);
      options.maxNewTokens = count;
    } else if (flag == "--top-k") {
      if (Status bad = parseInteger(value, flag, options.sampling.topK))
        return bad;
      if (options.sampling.topK < 0)
        return badInput(flag +
                        ": expected a number >= 0 (0 keeps every "
                        "token), found " +
                        value);
    } else if (flag == "--temperature") {
      if (Status bad = parseNumber(value, flag, options.sampling.temperature))
        return bad;
      if (options.sampling.temperature < 0)
        return badInput(flag + ": expected a number >= 0, found " + value);
    } else if (flag == "--top-p") {
      if (Status bad = parseNumber(value, flag, options.sampling.topP))
        return bad;
      if (!(options.sampling.topP > 0 && options.sampling.topP <= 1))
        return badInput(flag + ": expected a number in (0, 1], found " + value);
    } else if (flag == "--seed") {
      errno = 0;
      char *end = nullptr;
      unsigned long long seed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || value[0] < '0' || value[0] > '9' ||
          end != value.c_str() + value.size() || errno == ERANGE)
        return badInput(flag +
                        ": expected an integer from 0 to 2^64-1, "
                        "found '" +
                        value + "'");
      options.sampling.seed = seed;
    } else if (flag == "--threads") {
      int64_t count = 0;
      if (Status bad = parseInteger(value, flag, count))
        return bad;
      if (count < 1 || count > Model::kMaxThreads)
        return badInput(flag + ": expected a count from 1 to " +
                        std::to_string(Model::kMaxThreads) + ", found " +
                        value);
      options.model.threads = static_cast<int32_t>(count);
    } else if (flag == "--device") {
      if (value == "cpu")
        options.model.device = Device::Cpu;
      else if (value == "cuda")
        options.model.device = Device::Cuda;
      else
        return badInput(flag + ": expected cpu or cuda, found '" + value +
                        "'");
    } else if (flag == "--cuda-graphs") {
      if (value != "on" && value != "off")
        return badInput(flag + ": expected on or off, found '" + value + "'");
      options.cudaGraphs = value == "on";
    } else if (flag == "--time-decode" || flag == "--time-prefill" ||
               flag == "--context" || flag == "--steps" ||
               flag == "--warmup") {
      int64_t count = 0;
      if (Status bad = parseInteger(value, flag, count))
        return bad;
      // The context and the warmup may be empty; the rest may not.
      int64_t least = flag == "--context" || flag == "--warmup" ? 0 : 1;
      if (count < least)
        return badInput(flag + ": expected a number >= " +
                        std::to_string(least) + ", found " + value);
      TimingPlan &plan = options.timing;
      int64_t &field = flag == "--time-decode"    ? plan.decodeBatch
                       : flag == "--time-prefill" ? plan.prefillTokens
                       : flag == "--context"      ? plan.context
                       : flag == "--steps"        ? plan.steps
                                                  : plan.warmup;
      field = count;
      if (flag != "--time-decode" && flag != "--time-prefill")
        options.timingFlagGiven = true;
    } else if (flag == "--max-relative-error") {
      double tolerance = 0;
      if (Status bad = parseNumber(value, flag, tolerance))
        return bad;
      if (tolerance < 0)
        return badInput(flag + ": expected a number >= 0, found " + value);
      options.maxRelativeError = tolerance;
    }
  }
  if (options.help)
    return std::nullopt;
  if (options.listDevices) {
    if (!positional.empty())
      return badInput("--list-devices takes no model, found " +
                      std::to_string(positional.size()) + " arguments");
    return std::nullopt;
  }

  if (positional.size() != 1)
    return badInput("expected one compiled model (a .so written by "
                    "jikji-compile), found " +
                    std::to_string(positional.size()) + " arguments");
  options.artifactPath = positional[0];
  if (options.weightsDir.empty())
    return badInput("missing --weights DIR (the checkpoint folder: "
                    "config.json and *.safetensors)");

  if (options.kernelTimes && options.model.device != Device::Cuda)
    return badInput("--kernel-times times GPU kernels: it needs "
                    "--device=cuda");
  if (options.cudaGraphs && options.model.device != Device::Cuda)
    return badInput("--cuda-graphs captures GPU steps: it needs "
                    "--device=cuda");
  if (options.kernelTimes && options.cudaGraphs.value_or(false))
    return badInput("--kernel-times and --cuda-graphs=on: timing launches "
                    "kernel by kernel (events between kernels); expected "
                    "one of them");
  options.model.cudaGraphs = options.cudaGraphs.value_or(true);

  bool generation = options.promptIds || options.batchFile;
  bool timing = options.timing.decodeBatch || options.timing.prefillTokens;
  if (options.timing.decodeBatch && options.timing.prefillTokens)
    return badInput("--time-decode and --time-prefill: expected one of them, "
                    "found both");
  if (options.timingFlagGiven && !timing)
    return badInput("--context, --steps and --warmup shape a timing run: "
                    "they need --time-decode or --time-prefill");
  if (timing) {
    if (generation || options.tokensFile || options.maxNewTokens ||
        options.logitsOut || options.checkGreedy || options.maxRelativeError)
      return badInput(std::string(options.timing.decodeBatch
                                      ? "--time-decode"
                                      : "--time-prefill") +
                      " runs pseudo-random tokens: it cannot be combined "
                      "with a prompt, --tokens or their options");
    options.timing.seed = options.sampling.seed;
    return std::nullopt;
  }
  if (options.promptIds && options.batchFile)
    return badInput("--prompt-ids and --batch-file: expected one of them, "
                    "found both");
  if (generation && options.tokensFile)
    return badInput("--tokens (teacher forcing) cannot be combined with "
                    "--prompt-ids or --batch-file (generation)");
  if (!generation && !options.tokensFile)
    return badInput("nothing to run: expected --prompt-ids, --batch-file, "
                    "--tokens, --time-decode or --time-prefill");
  if (generation) {
    if (!options.maxNewTokens)
      return badInput("missing --max-new-tokens N (the new tokens per "
                      "prompt)");
    for (const char *flag :
         {"--logits-out", "--check-greedy", "--max-relative-error"}) {
      bool given =
          (std::string(flag) == "--logits-out" && options.logitsOut) ||
          (std::string(flag) == "--check-greedy" && options.checkGreedy) ||
          (std::string(flag) == "--max-relative-error" &&
           options.maxRelativeError);
      if (given)
        return badInput(std::string(flag) + ": needs --tokens (teacher "
                                            "forcing)");
    }
  } else if (options.maxNewTokens) {
    return badInput("--max-new-tokens: not used with --tokens, which decodes "
                    "the file's tokens");
  }
  return std::nullopt;
}

/// The prompts of --prompt-ids or --batch-file.
Status readPrompts(const RunOptions &options,
                   std::vector<std::vector<int64_t>> &prompts) {
  if (options.promptIds) {
    prompts.emplace_back();
    return parseTokenList(*options.promptIds, "--prompt-ids", prompts.back());
  }
  std::string contents;
  if (Status bad = readWholeFile(*options.batchFile, contents))
    return bad;
  std::vector<std::string_view> lines;
  std::string_view rest = contents;
  while (!rest.empty()) {
    size_t newline = rest.find('\n');
    lines.push_back(rest.substr(0, newline));
    if (newline == std::string_view::npos)
      break;
    rest.remove_prefix(newline + 1);
  }
  if (lines.empty())
    return badInput(*options.batchFile +
                    ": no prompts; expected one comma-separated prompt per "
                    "line");
  for (size_t line = 0; line < lines.size(); ++line) {
    prompts.emplace_back();
    if (Status bad = parseTokenList(lines[line],
                                    *options.batchFile + ": line " +
                                        std::to_string(line + 1),
                                    prompts.back()))
      return bad;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

/// Loads the model. Weights that do not fit the artifact are bad input;
/// files that cannot be opened are failures.
Status loadModel(const RunOptions &options, std::optional<Model> &model) {
  Result<Artifact> artifact = Artifact::open(options.artifactPath);
  if (!artifact)
    return failure(artifact.error());
  Result<bool> supported = Model::checkSupported(
      artifact->manifest(), artifact->path(), options.model.device);
  if (!supported)
    return failure(supported.error());
  Result<WeightStore> weights = WeightStore::open(options.weightsDir);
  if (!weights)
    return failure(weights.error());
  // Weights that do not fit are the user's input; what fails after that
  // check (the CUDA driver, the GPU, its memory) is a failure.
  Result<bool> fits = Model::checkWeights(artifact->manifest(),
                                          artifact->path(), *weights);
  if (!fits)
    return badInput(fits.error());
  Result<Model> bound =
      Model::create(std::move(*artifact), std::move(*weights), options.model);
  if (!bound)
    return failure(bound.error());
  if (bound->threads() < bound->requestedThreads())
    std::fprintf(stderr,
                 "jikji-run: warning: --threads %d: %s was compiled without "
                 "threads (it exports no jikji_set_num_threads); running on "
                 "%d\n",
                 bound->requestedThreads(), options.artifactPath.c_str(),
                 bound->threads());
  if (options.checkWeights) {
    Result<bool> finite = bound->weights().checkFinite();
    if (!finite)
      return badInput(finite.error());
  }
  model.emplace(std::move(*bound));
  return std::nullopt;
}

void printWeightStats(const Model &model, double loadSeconds) {
  const WeightStats &weights = model.weightStats();
  std::fprintf(stderr, "jikji-run: load: %.3f s\n", loadSeconds);
  std::fprintf(stderr, "jikji-run: threads: %d\n", model.threads());
  if (const cuda::CudaModel *gpu = model.cudaModel()) {
    const cuda::CudaDeviceInfo &info = gpu->device()->info();
    const cuda::LaunchCounts &launches = gpu->launchCounts();
    std::fprintf(stderr,
                 "jikji-run: device: cuda:%d %s (%s, %llu bytes), driver "
                 "%s\n",
                 info.ordinal, info.name.c_str(), info.arch().c_str(),
                 static_cast<unsigned long long>(info.totalBytes),
                 gpu->device()->driver().library().c_str());
    std::fprintf(stderr, "jikji-run: kernels: %s\n",
                 gpu->module().describeImage().c_str());
    std::fprintf(stderr,
                 "jikji-run: weights uploaded: %llu bytes of managed memory\n",
                 static_cast<unsigned long long>(gpu->uploadedBytes()));
    std::fprintf(stderr,
                 "jikji-run: launches: %lld, %lld empty ones skipped, %lld "
                 "allocations (%lld reused freed buffers)\n",
                 static_cast<long long>(launches.launches),
                 static_cast<long long>(launches.skippedEmpty),
                 static_cast<long long>(launches.allocations),
                 static_cast<long long>(launches.reused));
    if (launches.graphLaunches || gpu->capturesGraphs())
      std::fprintf(
          stderr,
          "jikji-run: cuda graphs: %lld launched, %lld updated, %lld "
          "instantiated (%lld updates refused)\n",
          static_cast<long long>(launches.graphLaunches),
          static_cast<long long>(launches.graphUpdates),
          static_cast<long long>(launches.graphInstantiations),
          static_cast<long long>(launches.graphUpdatesRefused));
    else
      std::fprintf(stderr, "jikji-run: cuda graphs: off\n");
  } else {
    std::fprintf(stderr, "jikji-run: device: cpu\n");
  }
  std::fprintf(stderr,
               "jikji-run: weights: %llu bytes mapped (%llu read in place), "
               "%llu bytes copied (%lld parameters)\n",
               static_cast<unsigned long long>(weights.mappedFileBytes),
               static_cast<unsigned long long>(weights.boundInPlaceBytes),
               static_cast<unsigned long long>(weights.copiedBytes),
               static_cast<long long>(weights.copiedParameters));
}

void printThroughput(const char *phase, int64_t tokens, double seconds) {
  std::fprintf(stderr, "jikji-run: %s: %lld tokens in %.6f s, %.1f tokens/s\n",
               phase, static_cast<long long>(tokens), seconds,
               seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0);
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

/// How a batch's decode steps ran, for --stats.
const char *describeDecodeCalls(const Model &model,
                                const BatchGeneration &batch) {
  if (batch.decodedInOneCall)
    return "one call for all sequences still generating "
           "(jikji_forward_batch)";
  if (model.hasBatchedDecode())
    return "one call each (no step had two sequences still generating)";
  return "one call per sequence (the artifact exports no "
         "jikji_forward_batch)";
}

Status runGeneration(const RunOptions &options,
                     const std::vector<std::vector<int64_t>> &prompts,
                     const Model &model, double loadSeconds) {
  Session session(model);
  Result<bool> valid =
      session.checkBatch(prompts, *options.maxNewTokens, options.sampling);
  if (!valid)
    return badInput(valid.error());
  std::optional<int64_t> eos =
      options.ignoreEos ? std::nullopt : model.eosTokenId();
  Result<BatchGeneration> batch = session.generateBatch(
      prompts, *options.maxNewTokens, options.sampling, eos);
  if (!batch)
    return failure(batch.error());

  for (const Generation &generation : batch->sequences) {
    std::string line;
    for (size_t i = 0; i < generation.tokens.size(); ++i)
      line += (i ? "," : "") + std::to_string(generation.tokens[i]);
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);

  if (options.stats) {
    GenerationStats total;
    double firstTokenSum = 0;
    int64_t withFirstToken = 0;
    for (const Generation &generation : batch->sequences) {
      const GenerationStats &stats = generation.stats;
      total.prefillTokens += stats.prefillTokens;
      total.prefillSeconds += stats.prefillSeconds;
      total.decodeTokens += stats.decodeTokens;
      if (!generation.tokens.empty()) {
        firstTokenSum += stats.firstTokenSeconds;
        ++withFirstToken;
      }
    }
    printWeightStats(model, loadSeconds);
    std::fprintf(stderr,
                 "jikji-run: KV cache: %llu bytes per position, %llu bytes "
                 "for %zu sequence%s of %lld positions, held at once\n",
                 static_cast<unsigned long long>(model.cacheBytesPerToken()),
                 static_cast<unsigned long long>(batch->peakCacheBytes),
                 batch->sequences.size(),
                 batch->sequences.size() == 1 ? "" : "s",
                 static_cast<long long>(batch->slotCapacity));
    printThroughput("prefill", total.prefillTokens, total.prefillSeconds);
    // The sequences decode together: the steps' wall time, not the sum of
    // each sequence's.
    printThroughput("decode", total.decodeTokens, batch->decodeSeconds);
    if (batch->sequences.size() > 1)
      std::fprintf(stderr, "jikji-run: decode: %lld steps, %s\n",
                   static_cast<long long>(batch->decodeSteps),
                   describeDecodeCalls(model, *batch));
    if (withFirstToken)
      std::fprintf(stderr,
                   "jikji-run: time to first token: %.3f ms (mean over %lld "
                   "sequences)\n",
                   1e3 * firstTokenSum / static_cast<double>(withFirstToken),
                   static_cast<long long>(withFirstToken));
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Teacher forcing
//===----------------------------------------------------------------------===//

/// The token file and, when present, the reference outputs in it.
struct TokenFile {
  int64_t batch = 0, promptLen = 0, decodeSteps = 0;
  std::vector<int64_t> tokens;
  std::optional<std::vector<float>> prefillLogits, decodeLogits;
  std::optional<std::vector<int64_t>> greedyTokens;
  std::optional<std::vector<float>> greedyMargins;
};

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Reads --tokens FILE and checks it against the model: ids in [0, vocab),
/// P + S positions within the context limit, reference tensors of the
/// shapes B, P, S and the vocabulary give.
Status readTokenFile(const RunOptions &options, const Model &model,
                     TokenFile &out) {
  const std::string &path = *options.tokensFile;
  Result<TensorFile> file = TensorFile::read(path);
  if (!file)
    return badInput(file.error());
  std::vector<int64_t> shape;
  Result<std::vector<int64_t>> tokens = file->int64s("tokens", 2, &shape);
  if (!tokens)
    return badInput(tokens.error());
  const std::string *promptText = file->metadata("prompt_len");
  if (!promptText)
    return badInput(path + ": '__metadata__': missing 'prompt_len' (the "
                           "number of prompt tokens in each row of 'tokens')");
  int64_t promptLen = 0;
  if (Status bad = parseInteger(
          *promptText, path + ": '__metadata__.prompt_len'", promptLen))
    return bad;
  if (promptLen < 1 || promptLen > shape[1])
    return badInput(path + ": '__metadata__.prompt_len': expected 1 to " +
                    std::to_string(shape[1]) +
                    " (the row length of 'tokens'), found " + *promptText);
  out.batch = shape[0];
  out.promptLen = promptLen;
  out.decodeSteps = shape[1] - promptLen;
  out.tokens = std::move(*tokens);
  if (out.batch < 1)
    return badInput(path +
                    ": tensor 'tokens': expected at least one row, "
                    "found shape " +
                    formatShape(shape));

  int64_t vocab = model.vocabSize();
  for (int64_t row = 0; row < out.batch; ++row) {
    const int64_t *sequence = out.tokens.data() + row * shape[1];
    Result<bool> ids = checkTokenIds(model, sequence, shape[1], 0);
    if (!ids)
      return badInput(path + ": tensor 'tokens' row " + std::to_string(row) +
                      ": " + ids.error());
  }
  if (shape[1] > model.maxPositions())
    return badInput(path + ": " + std::to_string(promptLen) +
                    " prompt tokens + " + std::to_string(out.decodeSteps) +
                    " decode steps = " + std::to_string(shape[1]) +
                    " positions, beyond the model's context limit of " +
                    std::to_string(model.maxPositions()));

  const hf::SafeTensorsFile &header = file->header();
  auto readFloats = [&](const char *name, std::vector<int64_t> expected,
                        std::optional<std::vector<float>> &into) -> Status {
    if (!header.find(name))
      return std::nullopt;
    std::vector<int64_t> found;
    Result<std::vector<float>> values =
        file->floats(name, static_cast<int>(expected.size()), &found);
    if (!values)
      return badInput(values.error());
    if (found != expected)
      return badInput(path + ": tensor '" + name + "': expected shape " +
                      formatShape(expected) +
                      " (batch, prompt_len or decode "
                      "steps, and the model's "
                      "vocabulary), found " +
                      formatShape(found));
    into = std::move(*values);
    return std::nullopt;
  };
  const int64_t b = out.batch, p = out.promptLen, s = out.decodeSteps;
  if (Status bad =
          readFloats("prefill_logits", {b, p, vocab}, out.prefillLogits))
    return bad;
  if (Status bad = readFloats("decode_logits", {b, s, vocab}, out.decodeLogits))
    return bad;
  if (Status bad = readFloats("greedy_margins", {b, s}, out.greedyMargins))
    return bad;
  if (header.find("greedy_tokens")) {
    std::vector<int64_t> found;
    Result<std::vector<int64_t>> greedy =
        file->int64s("greedy_tokens", 2, &found);
    if (!greedy)
      return badInput(greedy.error());
    if (found != std::vector<int64_t>{b, s})
      return badInput(path + ": tensor 'greedy_tokens': expected shape " +
                      formatShape({b, s}) + ", found " + formatShape(found));
    out.greedyTokens = std::move(*greedy);
  }

  if (options.checkGreedy && (!out.greedyTokens || !out.greedyMargins))
    return badInput(path + ": --check-greedy needs the tensors "
                           "'greedy_tokens' and 'greedy_margins', which the "
                           "file does not have");
  if (options.maxRelativeError && !out.prefillLogits && !out.decodeLogits)
    return badInput(path + ": --max-relative-error needs reference logits "
                           "('prefill_logits' or 'decode_logits'), which the "
                           "file does not have");
  return std::nullopt;
}

/// Compares greedy decoding from each prompt with the reference's, up to
/// the first divergence in each row (after it the prefixes differ). A
/// divergence where the reference's margin exceeds kGreedyMarginTolerance
/// is a mismatch.
Status checkGreedy(const Model &model, const TokenFile &file) {
  int64_t compared = 0, matched = 0, mismatches = 0, nearTies = 0;
  const int64_t p = file.promptLen, s = file.decodeSteps;
  SamplingOptions greedy;
  for (int64_t row = 0; row < file.batch; ++row) {
    Result<Sequence> sequence = Sequence::create(model, p + s);
    if (!sequence)
      return failure(sequence.error());
    const int64_t *prompt = file.tokens.data() + row * (p + s);
    Result<Generation> generation =
        sequence->generate(prompt, p, s, greedy, std::nullopt);
    if (!generation)
      return failure("greedy decoding of row " + std::to_string(row) + ": " +
                     generation.error());
    for (int64_t step = 0; step < s; ++step) {
      int64_t expected = (*file.greedyTokens)[row * s + step];
      float margin = (*file.greedyMargins)[row * s + step];
      int64_t found = generation->tokens[step];
      ++compared;
      if (found == expected) {
        ++matched;
        continue;
      }
      if (margin > kGreedyMarginTolerance) {
        ++mismatches;
        std::printf("greedy mismatch: row %lld step %lld: expected %lld, "
                    "found %lld (reference margin %.4g)\n",
                    static_cast<long long>(row), static_cast<long long>(step),
                    static_cast<long long>(expected),
                    static_cast<long long>(found), margin);
      } else {
        ++nearTies;
        std::printf("greedy near tie: row %lld step %lld: reference took "
                    "%lld, found %lld (reference margin %.4g); later steps "
                    "not compared\n",
                    static_cast<long long>(row), static_cast<long long>(step),
                    static_cast<long long>(expected),
                    static_cast<long long>(found), margin);
      }
      break;
    }
  }
  std::printf("greedy tokens: %lld of %lld compared steps match, %lld "
              "mismatches, %lld near ties\n",
              static_cast<long long>(matched), static_cast<long long>(compared),
              static_cast<long long>(mismatches),
              static_cast<long long>(nearTies));
  if (mismatches)
    return failure(std::to_string(mismatches) +
                   " greedy tokens differ from the reference where its "
                   "margin exceeds 1e-2");
  return std::nullopt;
}

Status runTeacherForcing(const RunOptions &options, const Model &model,
                         double loadSeconds) {
  TokenFile file;
  if (Status bad = readTokenFile(options, model, file))
    return bad;
  const int64_t b = file.batch, p = file.promptLen, s = file.decodeSteps;
  const int64_t vocab = model.vocabSize();
  std::vector<float> prefill(static_cast<size_t>(b * p * vocab));
  std::vector<float> decode(static_cast<size_t>(b * s * vocab));
  double prefillSeconds = 0, decodeSeconds = 0;
  // Each row in its own slot, as the reference ran them: prefilled alone,
  // then decoded together, one step for all rows (jikji_forward_batch when
  // the artifact has it), so that the reference checks the batched step.
  Result<SequenceBatch> rows = SequenceBatch::create(model, b, p + s);
  if (!rows)
    return failure(rows.error());
  for (int64_t row = 0; row < b; ++row) {
    const int64_t *tokens = file.tokens.data() + row * (p + s);
    Clock::time_point start = Clock::now();
    Result<bool> prefilled = rows->forwardInto(
        row, tokens, p, prefill.data() + row * p * vocab, /*logitRows=*/p);
    if (!prefilled)
      return failure("prefill of row " + std::to_string(row) + ": " +
                     prefilled.error());
    prefillSeconds += secondsSince(start);
  }
  std::vector<int64_t> stepTokens(static_cast<size_t>(b));
  std::vector<float> stepLogits(static_cast<size_t>(b * vocab));
  Clock::time_point decodeStart = Clock::now();
  for (int64_t step = 0; step < s; ++step) {
    for (int64_t row = 0; row < b; ++row)
      stepTokens[static_cast<size_t>(row)] =
          file.tokens[static_cast<size_t>(row * (p + s) + p + step)];
    Result<bool> decoded =
        rows->decodeInto(stepTokens.data(), stepLogits.data());
    if (!decoded)
      return failure("decode step " + std::to_string(step) + ": " +
                     decoded.error());
    // The reference's layout is [row, step, vocab].
    for (int64_t row = 0; row < b; ++row)
      std::copy(stepLogits.begin() + row * vocab,
                stepLogits.begin() + (row + 1) * vocab,
                decode.begin() + (row * s + step) * vocab);
  }
  decodeSeconds = secondsSince(decodeStart);

  if (options.logitsOut) {
    TensorFileWriter writer;
    writer.addInt64s("tokens", {b, p + s}, file.tokens.data());
    writer.addFloats("prefill_logits", {b, p, vocab}, prefill.data());
    writer.addFloats("decode_logits", {b, s, vocab}, decode.data());
    writer.setMetadata("prompt_len", std::to_string(p));
    writer.setMetadata("decode_steps", std::to_string(s));
    writer.setMetadata("batch", std::to_string(b));
    Result<bool> written = writer.write(*options.logitsOut);
    if (!written)
      return failure(written.error());
  }

  std::optional<Failure> toleranceFailure;
  auto report = [&](const char *name,
                    const std::optional<std::vector<float>> &reference,
                    const std::vector<float> &ours) {
    if (!reference)
      return;
    double error =
        relativeError(ours.data(), reference->data(), reference->size());
    std::printf("%s relative error: %.4e\n", name, error);
    // `!(error <= tolerance)` so that a NaN error fails too.
    if (options.maxRelativeError && !(error <= *options.maxRelativeError) &&
        !toleranceFailure) {
      char message[160];
      std::snprintf(message, sizeof(message),
                    "%s relative error %.4e exceeds --max-relative-error "
                    "%.4g",
                    name, error, *options.maxRelativeError);
      toleranceFailure = failure(message);
    }
  };
  report("prefill_logits", file.prefillLogits, prefill);
  report("decode_logits", file.decodeLogits, decode);
  std::fflush(stdout);

  Status greedyFailure;
  if (options.checkGreedy)
    greedyFailure = checkGreedy(model, file);
  std::fflush(stdout);

  if (options.stats) {
    printWeightStats(model, loadSeconds);
    std::fprintf(stderr,
                 "jikji-run: KV cache: %llu bytes per position, %llu bytes "
                 "for %lld rows of %lld positions, held at once\n",
                 static_cast<unsigned long long>(model.cacheBytesPerToken()),
                 static_cast<unsigned long long>(rows->cacheBytes()),
                 static_cast<long long>(b), static_cast<long long>(p + s));
    std::fprintf(stderr, "jikji-run: decode: %lld steps of %lld rows, %s\n",
                 static_cast<long long>(s), static_cast<long long>(b),
                 b > 1 && rows->decodesInOneCall()
                     ? "one call each (jikji_forward_batch)"
                     : "one call per row and step");
    printThroughput("prefill", b * p, prefillSeconds);
    printThroughput("decode", b * s, decodeSeconds);
  }
  if (toleranceFailure)
    return toleranceFailure;
  return greedyFailure;
}

/// --kernel-times: the kernels by GPU time, the longest first; the 40
/// longest by name, the rest summed.
void printKernelTimes(std::vector<cuda::KernelTime> times) {
  constexpr size_t kListed = 40;
  double totalMs = 0;
  int64_t launches = 0;
  for (const cuda::KernelTime &time : times) {
    totalMs += time.milliseconds;
    launches += time.launches;
  }
  std::fprintf(stderr,
               "jikji-run: kernel times: %lld launches of %zu kernels, %.3f ms "
               "on the GPU\n",
               static_cast<long long>(launches), times.size(), totalMs);
  std::fprintf(stderr, "jikji-run: %10s %6s %9s %10s  %s\n", "ms", "share",
               "launches", "us/launch", "kernel");
  double restMs = 0;
  int64_t restLaunches = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    const cuda::KernelTime &time = times[i];
    if (i >= kListed) {
      restMs += time.milliseconds;
      restLaunches += time.launches;
      continue;
    }
    std::fprintf(stderr, "jikji-run: %10.3f %5.1f%% %9lld %10.1f  %s\n",
                 time.milliseconds,
                 totalMs > 0 ? 100 * time.milliseconds / totalMs : 0.0,
                 static_cast<long long>(time.launches),
                 1e3 * time.milliseconds / static_cast<double>(time.launches),
                 time.kernel.c_str());
  }
  if (times.size() > kListed)
    std::fprintf(stderr,
                 "jikji-run: %10.3f %5.1f%% %9lld %10s  (%zu more kernels)\n",
                 restMs, totalMs > 0 ? 100 * restMs / totalMs : 0.0,
                 static_cast<long long>(restLaunches), "",
                 times.size() - kListed);
}

/// The kernel times of `after` less those already in `before` (a snapshot
/// of the same model's times), the longest first: what the launches
/// between the two snapshots took.
std::vector<cuda::KernelTime>
kernelTimesSince(const std::vector<cuda::KernelTime> &before,
                 std::vector<cuda::KernelTime> after) {
  for (cuda::KernelTime &time : after)
    for (const cuda::KernelTime &earlier : before)
      if (earlier.kernel == time.kernel) {
        time.launches -= earlier.launches;
        time.milliseconds -= earlier.milliseconds;
      }
  after.erase(std::remove_if(after.begin(), after.end(),
                             [](const cuda::KernelTime &time) {
                               return time.launches == 0;
                             }),
              after.end());
  cuda::sortByTime(after);
  return after;
}

/// --time-decode / --time-prefill.
Status runTimingMode(const RunOptions &options, const Model &model,
                     double loadSeconds,
                     std::vector<cuda::KernelTime> &warmupKernelTimes) {
  Result<bool> valid = checkTimingPlan(model, options.timing);
  if (!valid)
    return badInput(valid.error());
  Result<bool> timed = runTiming(model, options.timing, [&] {
    if (options.kernelTimes)
      warmupKernelTimes = model.cudaModel()->kernelTimes();
  });
  std::fflush(stdout);
  if (!timed)
    return failure(timed.error());
  if (options.stats)
    printWeightStats(model, loadSeconds);
  return std::nullopt;
}

/// --list-devices: the CPU always, then each GPU the CUDA driver sees, or
/// why there is none ("cuda: none (no CUDA driver found: ...)"). Having no
/// GPU is an answer, not a failure.
int listDevices() {
  std::printf("cpu\n");
  Result<std::vector<cuda::CudaDeviceInfo>> gpus = cuda::listCudaDevices();
  if (!gpus)
    std::printf("cuda: none (%s)\n", gpus.error().c_str());
  else if (gpus->empty())
    std::printf("cuda: none (the driver sees no GPU)\n");
  else
    for (const cuda::CudaDeviceInfo &gpu : *gpus)
      std::printf("cuda:%d %s (%s, %llu bytes)\n", gpu.ordinal,
                  gpu.name.c_str(), gpu.arch().c_str(),
                  static_cast<unsigned long long>(gpu.totalBytes));
  return kRunSucceeded;
}

int report(const Failure &failure) {
  std::fprintf(stderr, "jikji-run: error: %s\n", failure.message.c_str());
  return failure.exitCode;
}

} // namespace

int jikji::runRunDriver(int argc, char **argv) {
  RunOptions options;
  if (Status bad = parseCommandLine(argc, argv, options)) {
    report(*bad);
    std::fprintf(stderr, "jikji-run: see jikji-run --help\n");
    return bad->exitCode;
  }
  if (options.help) {
    std::fputs(kUsage, stdout);
    return kRunSucceeded;
  }
  if (options.listDevices)
    return listDevices();

  // The prompts are read first, so that a typo in them is reported before
  // the model loads.
  std::vector<std::vector<int64_t>> prompts;
  bool timing = options.timing.decodeBatch || options.timing.prefillTokens;
  if (!options.tokensFile && !timing)
    if (Status bad = readPrompts(options, prompts))
      return report(*bad);

  // Every step first checks that no weights file has shrunk; one cut while
  // a step reads it raises SIGBUS, which becomes this message rather than a
  // core dump.
  reportBusErrorsAndExit(
      "jikji-run: error: SIGBUS: a memory-mapped file (a weights file or the "
      "artifact) was cut short while the model was reading it; nothing "
      "after the last line printed was computed\n",
      kRunFailed);

  Clock::time_point start = Clock::now();
  std::optional<Model> model;
  if (Status failed = loadModel(options, model))
    return report(*failed);
  double loadSeconds = secondsSince(start);
  if (options.kernelTimes)
    model->cudaModel()->timeKernels(true);

  std::vector<cuda::KernelTime> untimedKernelTimes;
  Status result =
      timing ? runTimingMode(options, *model, loadSeconds, untimedKernelTimes)
      : options.tokensFile
          ? runTeacherForcing(options, *model, loadSeconds)
          : runGeneration(options, prompts, *model, loadSeconds);
  if (options.kernelTimes)
    printKernelTimes(kernelTimesSince(untimedKernelTimes,
                                      model->cudaModel()->kernelTimes()));
  if (result)
    return report(*result);
  return kRunSucceeded;
}
