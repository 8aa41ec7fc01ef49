//===- BenchDriver.cpp - jikji-bench's command line and report ------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The order of a run: check the load (--quiet-check), measure the machine
// (its buffers are freed before any model loads, so that they do not count
// in the model's resident memory), then per model: make the checkpoint if
// the cache lacks it, compile it, and per thread count load it and time the
// phases. The report comes last, as a table or as JSON lines.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/BenchDriver.h"

#include "runtime/session/Model.h"
#include "tools/jikji-bench/BenchModels.h"
#include "tools/jikji-bench/BenchReport.h"
#include "tools/jikji-bench/CompileTime.h"
#include "tools/jikji-bench/HostInfo.h"
#include "tools/jikji-bench/OpenBlasSgemm.h"
#include "tools/jikji-bench/PhaseRunner.h"
#include "tools/jikji-bench/ReadBandwidth.h"
#include "tools/jikji-bench/StepCost.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

using namespace jikji;
using namespace jikji::bench;
using namespace jikji::runtime;

namespace {

constexpr const char *kUsage = R"(usage:
  jikji-bench [--models=bench-v2-lite,bench-v3] [--model-dir=DIR ...]
              [--phases=decode,prefill] [--batches=1,16] [--threads=1,all]
              [--runs=3] [--prompt-tokens=128] [--decode-steps=64]
              [--prefill-tokens=512] [--precisions=f32]
              [--json] [--quiet-check[=LOAD]]
  jikji-bench --compile-time [--compile-config=CONFIG] [--compile-layers=4]
              [--targets=cpu] [--runs=3] [--json]

Measures the machine (read bandwidth; OpenBLAS sgemm) and compiled models in
one run, and reports each model phase against those limits.

Models
  --models=LIST        built-in bench checkpoints, generated once into the
                       cache folder by utils/make-tiny-model.py:
                       bench-v2-lite (V2-Lite layer shapes, 4 layers, 4.5 GB),
                       bench-v3 (V3 layer shapes, 2 layers, 8.2 GB) and
                       bench-v3-fp8 (bench-v3 as V3 is released: the linears
                       FP8 with 128x128 block scales, 6 GB); default
                       bench-v2-lite,bench-v3
  --model-dir=DIR      also bench the checkpoint in DIR (repeatable); with
                       --model-dir and no --models, only those run
  --cache-dir=DIR      where checkpoints and artifacts go (default
                       $XDG_CACHE_HOME/jikji-bench or ~/.cache/jikji-bench)
Phases
  --phases=LIST        decode, prefill (default both)
  --batches=LIST       decode batch sizes (default 1,16)
  --threads=LIST       thread counts; `all` is every CPU this process may
                       use (default 1,all). The count in effect is reported:
                       an artifact without jikji_set_num_threads runs 1.
  --runs=N             runs per phase; the median is reported (default 3)
  --prompt-tokens=N    prompt before decoding (default 128)
  --decode-steps=N     decode steps per run (default 64)
  --prefill-tokens=N   prefill length (default 512)
  --precisions=LIST    how each model is compiled: f32 (exact: float32
                       activations, the default) and bf16-dot
                       (jikji-compile --cpu-bf16-dot: products over BF16
                       weights take BF16-rounded activations and vdpbf16ps);
                       rows of bf16-dot show the model as NAME/bf16
Machine
  --bandwidth-mib=N    the read-bandwidth buffer (default 1024)
  --sgemm-size=N       sgemm of N x N by N x N (default 2048)
  --quiet-check[=L]    fail when the 1-minute load average is above L
                       (default 0.5): another job would distort the ratios
Compile time
  --compile-time       time jikji-compile on CONFIG as is and with each
                       --compile-layers count (default 4), per --targets
                       (default cpu); reports wall time and peak memory
Output
  --json               one JSON object per line instead of the table
  --json-out=FILE      also write the JSON lines to FILE as they come
  --generator=PATH     utils/make-tiny-model.py to use
  --compiler=PATH      jikji-compile to use (default: beside jikji-bench)

Exit codes: 0 success; 1 failure (generating, compiling, running, or a busy
machine under --quiet-check); 2 bad input.
)";

/// A failure with its exit code.
struct Failure {
  int exitCode;
  std::string message;
};
using Status = std::optional<Failure>;

Failure badInput(std::string message) {
  return Failure{kBenchBadInput, std::move(message)};
}
Failure failure(std::string message) {
  return Failure{kBenchFailed, std::move(message)};
}

/// The command line.
struct BenchOptions {
  std::vector<std::string> models;
  bool modelsGiven = false;
  std::vector<std::string> modelDirs;
  std::string cacheDir;
  bool decode = true, prefill = true;
  std::vector<int64_t> batches = {1, 16};
  /// "f32", "bf16-dot": one compiled artifact per model and entry.
  std::vector<std::string> precisions = {"f32"};
  /// 0 stands for `all`.
  std::vector<int64_t> threads = {1, 0};
  PhasePlan plan;
  int64_t bandwidthMiB = 1024;
  int64_t sgemmSize = 2048;
  std::optional<double> quietLoad;
  bool compileTime = false;
  std::string compileConfig;
  std::vector<int64_t> compileLayers = {4};
  std::vector<std::string> targets = {"cpu"};
  bool json = false;
  std::string jsonOut;
  bool help = false;
  ToolPaths tools;
};

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

std::vector<std::string> splitList(const std::string &text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos)
      return parts;
    start = comma + 1;
  }
}

Status parseCount(const std::string &flag, const std::string &text,
                  int64_t minimum, int64_t &value) {
  errno = 0;
  char *end = nullptr;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
      !(text[0] >= '0' && text[0] <= '9') || parsed < minimum)
    return badInput(flag + ": expected an integer >= " +
                    std::to_string(minimum) + ", found '" + text + "'");
  value = parsed;
  return std::nullopt;
}

Status parseCountList(const std::string &flag, const std::string &text,
                      int64_t minimum, bool allowAll,
                      std::vector<int64_t> &values) {
  values.clear();
  for (const std::string &part : splitList(text)) {
    if (allowAll && part == "all") {
      values.push_back(0);
      continue;
    }
    int64_t value = 0;
    if (Status bad = parseCount(flag, part, minimum, value))
      return bad;
    values.push_back(value);
  }
  return std::nullopt;
}

/// The folder of the running executable (jikji-compile lives beside it).
std::string executableFolder() {
  char path[4096];
  ssize_t length = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0)
    return ".";
  std::string text(path, static_cast<size_t>(length));
  size_t slash = text.rfind('/');
  return slash == std::string::npos ? "." : text.substr(0, slash);
}

std::string defaultCacheDir() {
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/jikji-bench";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/jikji-bench";
  return "/tmp/jikji-bench";
}

Status parseCommandLine(int argc, char **argv, BenchOptions &options) {
  options.models = {"bench-v2-lite", "bench-v3"};
  options.cacheDir = defaultCacheDir();
  options.tools.compiler = executableFolder() + "/jikji-compile";
  options.tools.generator =
      std::string(JIKJI_SOURCE_DIR) + "/utils/make-tiny-model.py";
  options.tools.configEditor =
      std::string(JIKJI_SOURCE_DIR) + "/utils/make-config.py";
  options.compileConfig =
      std::string(JIKJI_SHARED_DIR) + "/configs/deepseek-v3.json";

  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    std::string flag = argument, value;
    bool hasValue = false;
    if (size_t equals = argument.find('='); equals != std::string::npos) {
      flag = argument.substr(0, equals);
      value = argument.substr(equals + 1);
      hasValue = true;
    }
    // Flags without a value.
    if (flag == "--json" || flag == "--compile-time" || flag == "--help" ||
        flag == "-help") {
      if (hasValue)
        return badInput(flag + ": takes no value, found '" + value + "'");
      if (flag == "--json")
        options.json = true;
      else if (flag == "--compile-time")
        options.compileTime = true;
      else
        options.help = true;
      continue;
    }
    if (flag == "--quiet-check") {
      double limit = 0.5;
      if (hasValue) {
        char *end = nullptr;
        limit = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() ||
            !std::isfinite(limit) || limit < 0)
          return badInput(flag + ": expected a load average >= 0, found '" +
                          value + "'");
      }
      options.quietLoad = limit;
      continue;
    }
    static const char *const kValueFlags[] = {
        "--models",         "--model-dir",      "--cache-dir",
        "--phases",         "--batches",        "--threads",
        "--runs",           "--prompt-tokens",  "--decode-steps",
        "--prefill-tokens", "--bandwidth-mib",  "--sgemm-size",
        "--compile-config", "--compile-layers", "--targets",
        "--generator",      "--compiler",       "--json-out",
        "--precisions"};
    bool known = false;
    for (const char *name : kValueFlags)
      known = known || flag == name;
    if (!known)
      return badInput("unknown option '" + argument + "'");
    if (!hasValue) {
      if (i + 1 >= argc)
        return badInput(flag + ": expected a value, found the end of the "
                               "command line");
      value = argv[++i];
    }

    if (flag == "--models") {
      options.models = splitList(value);
      options.modelsGiven = true;
      for (const std::string &name : options.models)
        if (!findBenchModel(name))
          return badInput("--models: unknown model '" + name +
                          "'; expected " + benchModelNames() +
                          " (or --model-dir=DIR)");
    } else if (flag == "--model-dir") {
      options.modelDirs.push_back(value);
    } else if (flag == "--cache-dir") {
      options.cacheDir = value;
    } else if (flag == "--phases") {
      options.decode = options.prefill = false;
      for (const std::string &phase : splitList(value)) {
        if (phase == "decode")
          options.decode = true;
        else if (phase == "prefill")
          options.prefill = true;
        else
          return badInput("--phases: unknown phase '" + phase +
                          "'; expected decode or prefill");
      }
    } else if (flag == "--batches") {
      if (Status bad = parseCountList(flag, value, 1, false, options.batches))
        return bad;
    } else if (flag == "--threads") {
      if (Status bad = parseCountList(flag, value, 1, true, options.threads))
        return bad;
    } else if (flag == "--runs") {
      int64_t runs = 0;
      if (Status bad = parseCount(flag, value, 1, runs))
        return bad;
      options.plan.runs = static_cast<int>(std::min<int64_t>(runs, 1000));
    } else if (flag == "--prompt-tokens") {
      if (Status bad = parseCount(flag, value, 0, options.plan.promptTokens))
        return bad;
    } else if (flag == "--decode-steps") {
      if (Status bad = parseCount(flag, value, 1, options.plan.decodeSteps))
        return bad;
    } else if (flag == "--prefill-tokens") {
      if (Status bad = parseCount(flag, value, 1, options.plan.prefillTokens))
        return bad;
    } else if (flag == "--bandwidth-mib") {
      if (Status bad = parseCount(flag, value, 1, options.bandwidthMiB))
        return bad;
    } else if (flag == "--sgemm-size") {
      if (Status bad = parseCount(flag, value, 1, options.sgemmSize))
        return bad;
    } else if (flag == "--compile-config") {
      options.compileConfig = value;
    } else if (flag == "--compile-layers") {
      if (Status bad =
              parseCountList(flag, value, 1, false, options.compileLayers))
        return bad;
    } else if (flag == "--targets") {
      options.targets = splitList(value);
      for (const std::string &target : options.targets)
        if (target != "cpu" && target != "cuda")
          return badInput("--targets: unknown target '" + target +
                          "'; expected cpu or cuda");
    } else if (flag == "--precisions") {
      options.precisions = splitList(value);
      for (const std::string &precision : options.precisions)
        if (precision != "f32" && precision != "bf16-dot")
          return badInput("--precisions: unknown precision '" + precision +
                          "'; expected f32 or bf16-dot");
    } else if (flag == "--generator") {
      options.tools.generator = value;
    } else if (flag == "--compiler") {
      options.tools.compiler = value;
    } else if (flag == "--json-out") {
      options.jsonOut = value;
    }
  }
  if (!options.modelDirs.empty() && !options.modelsGiven)
    options.models.clear();
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Report
//===----------------------------------------------------------------------===//

/// The host line: CPU, CPUs, load.
void reportHost(Report &report, const char *when) {
  std::optional<double> load = loadAverage1Minute();
  JsonLine line;
  line.add("kind", "machine")
      .add("measurement", "host")
      .add("when", when)
      .add("cpu", cpuModelName())
      .add("cpus", availableCpus())
      .add("load_average_1m", load ? *load : NAN);
  report.line(line, format("host (%s): %s, %d CPUs, 1-minute load average "
                           "%.2f",
                           when, cpuModelName().c_str(), availableCpus(),
                           load ? *load : NAN));
}

//===----------------------------------------------------------------------===//
// The machine's limits
//===----------------------------------------------------------------------===//

/// The limits measured at each thread count.
struct MachineLimits {
  std::map<int, double> bytesPerSecond;
  std::map<int, double> flopsPerSecond;
};

Status measureMachine(const BenchOptions &options,
                      const std::vector<int> &threadCounts, Report &report,
                      MachineLimits &limits) {
  {
    std::fprintf(stderr, "jikji-bench: measuring read bandwidth (%lld MiB)\n",
                 static_cast<long long>(options.bandwidthMiB));
    Result<BandwidthBuffer> buffer = BandwidthBuffer::allocate(
        static_cast<uint64_t>(options.bandwidthMiB) << 20);
    if (!buffer)
      return failure(buffer.error());
    for (int threads : threadCounts) {
      double rate = buffer->measure(threads, 10);
      limits.bytesPerSecond[threads] = rate;
      JsonLine line;
      line.add("kind", "machine")
          .add("measurement", "read_bandwidth")
          .add("threads", threads)
          .add("buffer_bytes", static_cast<int64_t>(buffer->bytes()))
          .add("gb_per_s", rate / 1e9);
      report.line(line, format("read bandwidth, %d thread%s, %lld MiB "
                               "buffer: %.1f GB/s",
                               threads, threads == 1 ? "" : "s",
                               static_cast<long long>(options.bandwidthMiB),
                               rate / 1e9));
    }
  } // The buffer is freed before any model loads.

  std::fprintf(stderr, "jikji-bench: measuring OpenBLAS sgemm %lld^3\n",
               static_cast<long long>(options.sgemmSize));
  Result<OpenBlas> blas = OpenBlas::load();
  if (!blas) {
    JsonLine line;
    line.add("kind", "machine")
        .add("measurement", "sgemm")
        .add("available", false)
        .add("error", blas.error());
    report.line(line, "sgemm: not measured: " + blas.error());
    report.notes.push_back("flops_fraction is null: " + blas.error());
    return std::nullopt;
  }
  for (int threads : threadCounts) {
    double rate =
        blas->measureSgemm(static_cast<int>(options.sgemmSize), threads, 5);
    limits.flopsPerSecond[threads] = rate;
    JsonLine line;
    line.add("kind", "machine")
        .add("measurement", "sgemm")
        .add("available", true)
        .add("threads", threads)
        .add("size", options.sgemmSize)
        .add("gflop_per_s", rate / 1e9)
        .add("openblas_config", blas->config())
        .add("openblas_core", blas->coreName());
    report.line(line, format("sgemm %lld^3, %d thread%s: %.1f GFLOP/s "
                             "(%s)",
                             static_cast<long long>(options.sgemmSize), threads,
                             threads == 1 ? "" : "s", rate / 1e9,
                             blas->config().c_str()));
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// A model to bench: its name and checkpoint folder, and how it is compiled.
struct BenchTarget {
  std::string name;
  std::string checkpoint;
  std::string precision = "f32";

  bool bf16Dot() const { return precision == "bf16-dot"; }
  /// The name in the table: the model, marked when its activations are
  /// rounded.
  std::string label() const { return bf16Dot() ? name + "/bf16" : name; }
  /// The compiled artifact's file name.
  std::string artifactName() const {
    return bf16Dot() ? name + "-bf16-dot.so" : name + ".so";
  }
  std::vector<std::string> compileFlags() const {
    if (bf16Dot())
      return {"--cpu-bf16-dot"};
    return {};
  }
};

std::string tableHeader() {
  return format("%-18s %-8s %5s %7s %10s %9s %7s %6s %9s %7s", "model", "phase",
                "batch", "threads", "tokens/s", "ms/step", "GB/s", "of bw",
                "GFLOP/s", "of mm");
}

/// Times every phase of one model at one thread count.
Status benchPhases(const BenchOptions &options, const BenchTarget &target,
                   const Model &model, const StepCost &cost,
                   const MachineLimits &limits, Report &report,
                   uint64_t &peakCacheBytes) {
  std::string name = target.label();
  auto record = [&](const char *phase, int64_t batch, const PhaseTiming &timing,
                    int64_t stepsPerRun) {
    int threads = model.threads();
    double bandwidth = limits.bytesPerSecond.count(threads)
                           ? limits.bytesPerSecond.at(threads)
                           : NAN;
    double matmul = limits.flopsPerSecond.count(threads)
                        ? limits.flopsPerSecond.at(threads)
                        : NAN;
    double tokensPerSecond = timing.tokens / timing.seconds;
    double bytesPerSecond = timing.work.bytes / timing.seconds;
    double flopsPerSecond = timing.work.flops / timing.seconds;
    peakCacheBytes = std::max(peakCacheBytes, timing.cacheBytes);
    JsonLine line;
    line.add("kind", "run")
        .add("model", target.name)
        .add("precision", target.precision)
        .add("phase", phase)
        .add("batch", batch)
        .add("threads", threads)
        .add("threads_requested", model.requestedThreads())
        .add("tokens", timing.tokens)
        .add("seconds", timing.seconds)
        .add("tokens_per_s", tokensPerSecond)
        .add("gb_per_s", bytesPerSecond / 1e9)
        .add("bandwidth_fraction", bytesPerSecond / bandwidth)
        .add("gflop_per_s", flopsPerSecond / 1e9)
        .add("flops_fraction", flopsPerSecond / matmul)
        .add("bytes", timing.work.bytes)
        .add("flops", timing.work.flops)
        .add("routed_experts", "expected")
        .add("runs", options.plan.runs);
    if (std::string(phase) == "decode")
      line.add("prompt_tokens", options.plan.promptTokens)
          .add("first_position", timing.firstPosition)
          .add("one_call_per_step", timing.oneCallPerStep);
    report.line(line,
                format("%-18s %-8s %5lld %7d %10.2f %9.2f %7.2f %6.3f %9.2f "
                       "%7.3f",
                       target.label().c_str(), phase,
                       static_cast<long long>(batch),
                       threads, tokensPerSecond,
                       timing.seconds / static_cast<double>(stepsPerRun) * 1e3,
                       bytesPerSecond / 1e9, bytesPerSecond / bandwidth,
                       flopsPerSecond / 1e9, flopsPerSecond / matmul));
    std::fprintf(stderr, "jikji-bench: %s\n", report.table.back().c_str());
  };

  if (options.decode) {
    for (int64_t batch : options.batches) {
      std::fprintf(stderr, "jikji-bench: %s: decode, batch %lld, %d thread%s\n",
                   name.c_str(), static_cast<long long>(batch), model.threads(),
                   model.threads() == 1 ? "" : "s");
      Result<PhaseTiming> timing = timeDecode(model, cost, options.plan, batch);
      if (!timing)
        return failure(name + ": " + timing.error());
      record("decode", batch, *timing, options.plan.decodeSteps);
      std::string perSequence =
          format("%s: decode batches run one sequence per call (the artifact "
                 "exports no jikji_forward_batch), while their bytes count the "
                 "weights once per batch step",
                 name.c_str());
      if (!timing->oneCallPerStep &&
          std::find(report.notes.begin(), report.notes.end(), perSequence) ==
              report.notes.end())
        report.notes.push_back(perSequence);
    }
  }
  if (options.prefill) {
    std::fprintf(stderr, "jikji-bench: %s: prefill %lld tokens, %d thread%s\n",
                 name.c_str(),
                 static_cast<long long>(options.plan.prefillTokens),
                 model.threads(), model.threads() == 1 ? "" : "s");
    Result<PhaseTiming> timing = timePrefill(model, cost, options.plan);
    if (!timing)
      return failure(name + ": " + timing.error());
    record("prefill", 1, *timing, 1);
  }
  return std::nullopt;
}

/// Compiles and benches one model at every thread count.
Status benchModel(const BenchOptions &options, const BenchTarget &target,
                  const std::vector<int> &threadCounts,
                  const MachineLimits &limits, Report &compileReport,
                  Report &runReport, Report &memoryReport) {
  std::string artifact = options.cacheDir + "/" + target.artifactName();
  std::string name = target.label();
  std::fprintf(stderr, "jikji-bench: compiling %s\n", name.c_str());
  Result<ProcessRun> compiled = compileModel(
      options.tools, target.checkpoint, "cpu", artifact, target.compileFlags());
  if (!compiled)
    return failure(name + ": " + compiled.error());
  JsonLine compileLine;
  compileLine.add("kind", "compile")
      .add("model", target.name)
      .add("precision", target.precision)
      .add("target", "cpu")
      .add("seconds", compiled->wallSeconds)
      .add("peak_mib", compiled->peakResidentBytes / kMiB);
  compileReport.line(compileLine,
                     format("compile %s --target=cpu%s: %.1f s, %.0f MiB peak",
                            target.name.c_str(),
                            target.bf16Dot() ? " --cpu-bf16-dot" : "",
                            compiled->wallSeconds,
                            compiled->peakResidentBytes / kMiB));

  Result<hf::ModelConfig> config =
      hf::loadModelConfig(target.checkpoint + "/config.json");
  if (!config)
    return failure(config.error());

  bool peakReset = resetPeakResident();
  uint64_t peakCacheBytes = 0, weightBytes = 0;
  std::vector<int> effectiveDone;
  for (int requested : threadCounts) {
    ModelOptions modelOptions;
    modelOptions.threads = requested;
    Result<Model> model =
        Model::load(artifact, target.checkpoint, modelOptions);
    if (!model)
      return failure(model.error());
    weightBytes = model->weightStats().mappedFileBytes;
    Result<StepCost> cost = StepCost::create(model->manifest(), *config);
    if (!cost)
      return failure(name + ": " + cost.error());
    int threads = model->threads();
    if (threads < requested)
      std::fprintf(stderr,
                   "jikji-bench: warning: %s: %d threads requested, %d in "
                   "effect (the artifact exports no jikji_set_num_threads)\n",
                   name.c_str(), requested, threads);
    if (std::find(effectiveDone.begin(), effectiveDone.end(), threads) !=
        effectiveDone.end()) {
      runReport.notes.push_back(format(
          "%s: %d threads requested, %d in effect: already measured, not "
          "repeated",
          name.c_str(), requested, threads));
      continue;
    }
    effectiveDone.push_back(threads);
    if (Status failed = benchPhases(options, target, *model, *cost, limits,
                                    runReport, peakCacheBytes))
      return failed;
  }

  // The bound the issue sets: the weight file, the cache, and 500 MB for
  // everything else (code, logits, activations).
  uint64_t peak = peakResidentBytes();
  double limit = static_cast<double>(weightBytes + peakCacheBytes) + 500e6;
  JsonLine memoryLine;
  memoryLine.add("kind", "memory")
      .add("model", target.name)
      .add("precision", target.precision)
      .add("peak_resident_mib", peak / kMiB)
      .add("peak_covers_model_only", peakReset)
      .add("weights_mib", weightBytes / kMiB)
      .add("cache_mib", peakCacheBytes / kMiB)
      .add("limit_mib", limit / kMiB)
      .add("within_limit", static_cast<double>(peak) <= limit);
  memoryReport.line(
      memoryLine,
      format("memory %s: peak resident %.0f MiB; weights %.0f MiB + cache "
             "%.0f MiB + 500 MB = %.0f MiB: %s%s",
             name.c_str(), peak / kMiB, weightBytes / kMiB,
             peakCacheBytes / kMiB, limit / kMiB,
             static_cast<double>(peak) <= limit ? "within" : "OVER",
             peakReset ? "" : " (peak of the whole process)"));
  return std::nullopt;
}

int reportFailure(const Failure &failure) {
  std::fprintf(stderr, "jikji-bench: error: %s\n", failure.message.c_str());
  return failure.exitCode;
}

} // namespace

int jikji::runBenchDriver(int argc, char **argv) {
  BenchOptions options;
  if (Status bad = parseCommandLine(argc, argv, options)) {
    reportFailure(*bad);
    std::fprintf(stderr, "jikji-bench: see jikji-bench --help\n");
    return bad->exitCode;
  }
  if (options.help) {
    std::fputs(kUsage, stdout);
    return kBenchSucceeded;
  }

  // --json-out gets every line as it is measured.
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> jsonOut(nullptr,
                                                           &std::fclose);
  if (!options.jsonOut.empty()) {
    jsonOut.reset(std::fopen(options.jsonOut.c_str(), "w"));
    if (!jsonOut)
      return reportFailure(
          failure(options.jsonOut + ": cannot write: " + std::strerror(errno)));
  }
  Report report;
  report.stream = jsonOut.get();
  reportHost(report, "start");
  if (options.quietLoad) {
    std::optional<double> load = loadAverage1Minute();
    if (load && *load > *options.quietLoad)
      return reportFailure(failure(
          format("the machine is busy: 1-minute load average %.2f, above %.2f "
                 "(--quiet-check); other work would distort the ratios",
                 *load, *options.quietLoad)));
  }

  if (options.compileTime) {
    CompileTimePlan plan;
    plan.configPath = options.compileConfig;
    Result<hf::ModelConfig> config = hf::loadModelConfig(plan.configPath);
    if (!config)
      return reportFailure(badInput(config.error()));
    plan.config = *config;
    plan.layers = options.compileLayers;
    plan.targets = options.targets;
    plan.runs = options.plan.runs;
    plan.workDir = options.cacheDir;
    Result<bool> allCompiled = timeCompiles(plan, options.tools, report);
    if (!allCompiled)
      return reportFailure(failure(allCompiled.error()));
    reportHost(report, "end");
    report.print(options.json);
    return *allCompiled ? kBenchSucceeded : kBenchFailed;
  }

  // The checkpoints first: a bad --model-dir fails before anything is timed.
  std::vector<BenchTarget> targets;
  for (const std::string &name : options.models) {
    Result<std::string> folder = ensureCheckpoint(
        *findBenchModel(name), options.cacheDir, options.tools);
    if (!folder)
      return reportFailure(failure(folder.error()));
    targets.push_back({name, *folder});
  }
  for (std::string dir : options.modelDirs) {
    while (dir.size() > 1 && dir.back() == '/')
      dir.pop_back();
    size_t slash = dir.rfind('/');
    targets.push_back(
        {slash == std::string::npos ? dir : dir.substr(slash + 1), dir});
  }
  if (targets.empty())
    return reportFailure(badInput("no model to bench: --models and "
                                  "--model-dir are both empty"));
  if (Result<bool> made = makeDirectories(options.cacheDir); !made)
    return reportFailure(failure(made.error()));

  std::vector<int> threadCounts;
  for (int64_t count : options.threads) {
    int threads =
        count == 0
            ? availableCpus()
            : static_cast<int>(std::min<int64_t>(count, Model::kMaxThreads));
    if (std::find(threadCounts.begin(), threadCounts.end(), threads) ==
        threadCounts.end())
      threadCounts.push_back(threads);
  }

  // One thread is measured too: an artifact without threads runs one,
  // whatever was asked.
  std::vector<int> machineThreadCounts = threadCounts;
  if (std::find(threadCounts.begin(), threadCounts.end(), 1) ==
      threadCounts.end())
    machineThreadCounts.insert(machineThreadCounts.begin(), 1);
  MachineLimits limits;
  if (Status failed =
          measureMachine(options, machineThreadCounts, report, limits))
    return reportFailure(*failed);

  Report compileReport, runReport, memoryReport;
  compileReport.stream = runReport.stream = memoryReport.stream = jsonOut.get();
  runReport.table.push_back(tableHeader());
  runReport.json.clear();
  for (const BenchTarget &model : targets)
    for (const std::string &precision : options.precisions) {
      BenchTarget target = model;
      target.precision = precision;
      if (Status failed = benchModel(options, target, threadCounts, limits,
                                     compileReport, runReport, memoryReport))
        return reportFailure(*failed);
    }
  reportHost(memoryReport, "end");

  for (const Report *part : {&compileReport, &runReport, &memoryReport})
    report.append(*part);
  report.notes.push_back(
      "bytes count the non-expert weights once per step, the expected "
      "distinct routed experts (the runtime cannot see the routing), and the "
      "cache rows read; 'of bw' and 'of mm' compare with the read bandwidth "
      "and sgemm rate measured above at the thread count in effect");
  report.print(options.json);
  return kBenchSucceeded;
}
