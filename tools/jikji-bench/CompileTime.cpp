//===- CompileTime.cpp - Timing jikji-compile itself ----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/CompileTime.h"

#include "tools/jikji-bench/Subprocess.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

using namespace jikji;
using namespace jikji::bench;

static double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle]
                           : (values[middle - 1] + values[middle]) / 2;
}

Result<bool> jikji::bench::timeCompiles(const CompileTimePlan &plan,
                                        const ToolPaths &tools,
                                        Report &report) {
  Result<bool> made = makeDirectories(plan.workDir);
  if (!made)
    return Error(made.error());
  // The config as is, then with each layer count.
  const int64_t ownLayers = plan.config.numHiddenLayers;
  std::vector<std::pair<int64_t, std::string>> configs = {
      {ownLayers, plan.configPath}};
  for (int64_t layers : plan.layers) {
    std::string path = plan.workDir + "/compile-time-" +
                       std::to_string(layers) + "-layers.json";
    std::vector<std::string> command = {tools.python,
                                        tools.configEditor,
                                        plan.configPath,
                                        "--set",
                                        "num_hidden_layers=" +
                                            std::to_string(layers),
                                        "-o",
                                        path};
    Result<ProcessRun> run = runProcess(command);
    if (!run)
      return Error(run.error());
    if (run->exitCode != 0)
      return Error("deriving a config failed: " + commandLine(command));
    configs.emplace_back(layers, path);
  }

  bool allCompiled = true;
  std::string output = plan.workDir + "/compile-time.so";
  for (const std::string &target : plan.targets) {
    std::map<int64_t, double> secondsByLayers;
    for (const auto &[layers, path] : configs) {
      std::vector<double> seconds;
      uint64_t peak = 0;
      std::optional<std::string> error;
      for (int run = 0; run < plan.runs && !error; ++run) {
        std::fprintf(stderr, "jikji-bench: compiling %s (%lld layers) for %s\n",
                     path.c_str(), static_cast<long long>(layers),
                     target.c_str());
        Result<ProcessRun> compiled = compileModel(tools, path, target, output);
        if (!compiled) {
          error = compiled.error();
          break;
        }
        seconds.push_back(compiled->wallSeconds);
        peak = std::max(peak, compiled->peakResidentBytes);
      }
      JsonLine line;
      line.add("kind", "compile")
          .add("config", path)
          .add("layers", layers)
          .add("target", target);
      if (error) {
        line.add("ok", false).add("error", *error);
        report.line(line, format("compile %s, %lld layers, --target=%s: "
                                 "FAILED: %s",
                                 path.c_str(), static_cast<long long>(layers),
                                 target.c_str(), error->c_str()));
        allCompiled = false;
        // The other sizes would fail the same way.
        break;
      }
      double time = median(seconds);
      secondsByLayers[layers] = time;
      line.add("ok", true)
          .add("seconds", time)
          .add("peak_mib", peak / kMiB)
          .add("runs", plan.runs);
      report.line(line, format("compile %s, %lld layers, --target=%s: %.2f s "
                               "(median of %d), %.0f MiB peak",
                               path.c_str(), static_cast<long long>(layers),
                               target.c_str(), time, plan.runs, peak / kMiB));
    }
    if (!secondsByLayers.count(ownLayers))
      continue;
    for (int64_t layers : plan.layers)
      if (layers != ownLayers && secondsByLayers.count(layers))
        report.notes.push_back(format(
            "--target=%s: %lld layers take %.2fx the time of %lld layers",
            target.c_str(), static_cast<long long>(ownLayers),
            secondsByLayers[ownLayers] / secondsByLayers[layers],
            static_cast<long long>(layers)));
  }
  return allCompiled;
}
