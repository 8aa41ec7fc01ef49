//===- Soak.cpp - Many interleaved generations through one model ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-runtime-soak serves random requests through one model loaded with
// the C API for a fixed time, as a server would: several sequences in
// flight at once, each advanced one step at a time in random order, so that
// they start and finish at different times; sequences freed or reset and
// reused when done; and THREADS threads doing so at once on the one model
// (runtime.h lets sequences on several threads share a model). It checks
// that
//
//  - every request's logits and greedy tokens equal those of the same
//    request run alone on a fresh sequence, bit for bit (a sequence reads no
//    other's cache and nothing carries over from a sequence's earlier use);
//    requests prefilled in one step also match jikji_sequence_generate;
//  - requests the sequence has no room for are refused and change nothing;
//  - the resident memory after warm-up stays flat (not under AddressSanitizer,
//    whose quarantine holds freed memory on purpose; there LeakSanitizer
//    checks at exit that nothing leaked).
//
//   jikji-runtime-soak MODEL.so WEIGHTS_DIR SECONDS [SEED [THREADS]]
//
// Exits 0 with a summary line, or 1 naming the first difference.
//
//===----------------------------------------------------------------------===//

#include "jikji/runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JIKJI_SOAK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define JIKJI_SOAK_ASAN 1
#endif

namespace {

using Clock = std::chrono::steady_clock;

/// Sequences in flight at once.
constexpr int kSlots = 4;
/// The longest prompt and the most new tokens of a request.
constexpr int64_t kMaxPrompt = 24;
constexpr int64_t kMaxNewTokens = 24;
/// The first part of the run, whose memory growth (allocator pools, page
/// cache of the weights, first-touch of code) is not counted.
constexpr double kWarmUpFraction = 0.25;
/// Allowed growth of the resident set after warm-up.
constexpr long kMaxRssGrowthKb = 2048;

/// The resident set size in KB, from /proc/self/statm.
long residentKb() {
  FILE *file = std::fopen("/proc/self/statm", "r");
  if (!file)
    return -1;
  long pages = 0, resident = 0;
  int read = std::fscanf(file, "%ld %ld", &pages, &resident);
  std::fclose(file);
  if (read != 2)
    return -1;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

/// One request: its prompt, how the prompt is split into prefill steps, and
/// how many tokens to generate greedily.
struct Request {
  std::vector<int64_t> prompt;
  std::vector<int64_t> chunks;
  int64_t maxNewTokens = 0;
};

/// What a request produced: every step's logits, back to back, and the
/// greedy tokens.
struct Outcome {
  std::vector<float> logits;
  std::vector<int64_t> tokens;
};

/// The lowest index of the largest logit, as the runtime's greedy sampler.
int64_t argmax(const float *logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

/// A request in flight on a sequence, advanced one step per call.
class Run {
public:
  Run(jikji_sequence *sequence, Request request, int64_t vocab, int64_t eos)
      : sequence_(sequence), request_(std::move(request)), vocab_(vocab),
        eos_(eos) {}

  jikji_sequence *sequence() const { return sequence_; }
  const Request &request() const { return request_; }
  const Outcome &outcome() const { return outcome_; }
  bool done() const { return done_; }

  /// Runs the next step. False (with `error` set) when a call fails.
  bool step(std::string &error) {
    std::vector<int64_t> tokens;
    if (chunk_ < request_.chunks.size()) {
      int64_t count = request_.chunks[chunk_++];
      tokens.assign(request_.prompt.begin() + fed_,
                    request_.prompt.begin() + fed_ + count);
      fed_ += count;
    } else {
      tokens.push_back(outcome_.tokens.back());
    }
    std::vector<float> logits(tokens.size() * static_cast<size_t>(vocab_));
    jikji_status status = jikji_sequence_forward(
        sequence_, tokens.data(), static_cast<int64_t>(tokens.size()),
        logits.data());
    if (status != JIKJI_OK) {
      error =
          std::string(jikji_status_name(status)) + ": " + jikji_last_error();
      return false;
    }
    outcome_.logits.insert(outcome_.logits.end(), logits.begin(), logits.end());
    if (chunk_ < request_.chunks.size())
      return true;
    // The prompt is in: pick from the last row, as generate does, and stop
    // at the budget or after the end-of-sequence token.
    if (request_.maxNewTokens == 0) {
      done_ = true;
      return true;
    }
    int64_t token = argmax(logits.data() + logits.size() - vocab_, vocab_);
    outcome_.tokens.push_back(token);
    done_ = token == eos_ || static_cast<int64_t>(outcome_.tokens.size()) ==
                                 request_.maxNewTokens;
    return true;
  }

private:
  jikji_sequence *sequence_;
  Request request_;
  int64_t vocab_;
  int64_t eos_;
  size_t chunk_ = 0;
  int64_t fed_ = 0;
  Outcome outcome_;
  bool done_ = false;
};

/// Positions a request needs: its prompt and all new tokens but the last.
int64_t positionsNeeded(const Request &request) {
  int64_t positions = static_cast<int64_t>(request.prompt.size());
  if (request.maxNewTokens > 1)
    positions += request.maxNewTokens - 1;
  return positions;
}

/// Positions jikji_sequence_generate asks room for: the prompt and every
/// new token.
int64_t positionsForGenerate(const Request &request) {
  return static_cast<int64_t>(request.prompt.size()) + request.maxNewTokens;
}

/// What one thread's soak did, or the first thing that went wrong.
struct Totals {
  int64_t requests = 0, steps = 0, tokens = 0;
  int64_t generateChecks = 0, refusals = 0;
  std::string error;
};

/// The resident set after warm-up and its peak afterwards.
struct Memory {
  long warm = -1;
  long peak = 0;
};

class Soak {
public:
  Soak(jikji_model *model, uint64_t seed)
      : model_(model), random_(seed), vocab_(jikji_model_vocab_size(model)),
        maxPositions_(jikji_model_max_positions(model)),
        eos_(jikji_model_eos_token_id(model)) {}

  /// Serves requests for `seconds`; measures `memory` when given.
  Totals run(double seconds, Memory *memory);

private:
  int64_t uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(random_);
  }

  Request randomRequest() {
    Request request;
    int64_t promptLength = uniform(1, std::min(kMaxPrompt, maxPositions_));
    for (int64_t i = 0; i < promptLength; ++i)
      request.prompt.push_back(uniform(0, vocab_ - 1));
    // Half the prompts in one step, the others in random pieces.
    for (int64_t left = promptLength; left > 0;) {
      int64_t piece = uniform(0, 1) ? left : uniform(1, left);
      request.chunks.push_back(piece);
      left -= piece;
    }
    // Room for the prompt and every new token, so that generate (which
    // asks for that much) can run it too.
    request.maxNewTokens =
        uniform(0, std::min(kMaxNewTokens, maxPositions_ - promptLength));
    return request;
  }

  /// A sequence with room for `request`: a spare one reset, or a new one
  /// of the capacity needed or more.
  jikji_sequence *sequenceFor(const Request &request, std::string &error) {
    int64_t needed = positionsNeeded(request);
    for (size_t i = 0; i < spares_.size(); ++i)
      if (jikji_sequence_capacity(spares_[i]) >= needed) {
        jikji_sequence *sequence = spares_[i];
        spares_.erase(spares_.begin() + static_cast<long>(i));
        jikji_sequence_reset(sequence);
        return sequence;
      }
    int64_t capacity =
        std::min(maxPositions_, needed + uniform(0, 1) * uniform(0, 16));
    jikji_sequence *sequence = nullptr;
    jikji_status status = jikji_sequence_create(model_, capacity, &sequence);
    if (status != JIKJI_OK) {
      error = std::string("jikji_sequence_create: ") + jikji_last_error();
      return nullptr;
    }
    return sequence;
  }

  /// Asks a full sequence for more than it holds and checks the refusal.
  bool checkRefusal(jikji_sequence *sequence, std::string &error) {
    int64_t length = jikji_sequence_length(sequence);
    int64_t room = jikji_sequence_capacity(sequence) - length;
    std::vector<int64_t> tokens(static_cast<size_t>(room + 1), 0);
    std::vector<float> logits(tokens.size() * static_cast<size_t>(vocab_));
    jikji_status status = jikji_sequence_forward(sequence, tokens.data(),
                                                 room + 1, logits.data());
    int64_t bad = vocab_;
    jikji_status badToken =
        jikji_sequence_forward(sequence, &bad, 1, logits.data());
    if (status != JIKJI_INVALID_ARGUMENT ||
        badToken != JIKJI_INVALID_ARGUMENT ||
        jikji_sequence_length(sequence) != length) {
      error = "a step past the capacity or with token " + std::to_string(bad) +
              " was not refused, or changed the sequence";
      return false;
    }
    ++refusals_;
    return true;
  }

  /// Runs `request` alone on a fresh sequence, step for step.
  bool runAlone(const Request &request, Outcome &outcome, std::string &error) {
    jikji_sequence *sequence = nullptr;
    if (jikji_sequence_create(model_, positionsForGenerate(request),
                              &sequence) != JIKJI_OK) {
      error = std::string("jikji_sequence_create: ") + jikji_last_error();
      return false;
    }
    std::unique_ptr<jikji_sequence, void (*)(jikji_sequence *)> owner(
        sequence, jikji_sequence_free);
    Run run(sequence, request, vocab_, eos_);
    while (!run.done())
      if (!run.step(error))
        return false;
    outcome = run.outcome();
    // A prompt prefilled in one step is what generate does.
    if (request.chunks.size() != 1 || request.maxNewTokens == 0)
      return true;
    jikji_sequence_reset(sequence);
    std::vector<int64_t> generated(static_cast<size_t>(request.maxNewTokens));
    int64_t count = 0;
    if (jikji_sequence_generate(sequence, request.prompt.data(),
                                static_cast<int64_t>(request.prompt.size()),
                                request.maxNewTokens, 0.0, 0, 1.0, 0,
                                generated.data(), &count) != JIKJI_OK) {
      error = std::string("jikji_sequence_generate: ") + jikji_last_error();
      return false;
    }
    generated.resize(static_cast<size_t>(count));
    if (generated != outcome.tokens) {
      error = "jikji_sequence_generate picked other tokens than the same "
              "steps run one by one";
      return false;
    }
    ++generateChecks_;
    return true;
  }

  jikji_model *model_;
  std::mt19937_64 random_;
  int64_t vocab_, maxPositions_, eos_;
  std::vector<jikji_sequence *> spares_;
  int64_t refusals_ = 0, generateChecks_ = 0;
};

Totals Soak::run(double seconds, Memory *memory) {
  Clock::time_point start = Clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  std::vector<std::unique_ptr<Run>> slots(kSlots);
  Totals totals;
  int64_t &requests = totals.requests, &steps = totals.steps,
          &tokens = totals.tokens;
  std::string error;
  auto failWith = [&](const std::string &message) {
    totals.error = message;
    for (std::unique_ptr<Run> &slot : slots)
      if (slot)
        jikji_sequence_free(slot->sequence());
    for (jikji_sequence *sequence : spares_)
      jikji_sequence_free(sequence);
    spares_.clear();
    return totals;
  };

  while (true) {
    bool accepting = elapsed() < seconds;
    if (memory && memory->warm < 0 && elapsed() >= kWarmUpFraction * seconds)
      memory->warm = residentKb();
    if (memory && memory->warm >= 0)
      memory->peak = std::max(memory->peak, residentKb());
    // Fill the empty slots while there is time.
    bool active = false;
    for (std::unique_ptr<Run> &slot : slots) {
      if (!slot && accepting) {
        Request request = randomRequest();
        jikji_sequence *sequence = sequenceFor(request, error);
        if (!sequence)
          return failWith(error);
        slot =
            std::make_unique<Run>(sequence, std::move(request), vocab_, eos_);
      }
      active = active || slot;
    }
    if (!active)
      break;
    // Advance one request in flight, chosen at random.
    size_t pick = static_cast<size_t>(uniform(0, kSlots - 1));
    while (!slots[pick])
      pick = (pick + 1) % kSlots;
    Run &run = *slots[pick];
    if (!run.step(error))
      return failWith("request " + std::to_string(requests) + ": " + error);
    ++steps;
    if (!run.done())
      continue;

    Outcome alone;
    if (!runAlone(run.request(), alone, error))
      return failWith("request " + std::to_string(requests) +
                      " run alone: " + error);
    const Outcome &served = run.outcome();
    if (alone.tokens != served.tokens ||
        alone.logits.size() != served.logits.size() ||
        std::memcmp(alone.logits.data(), served.logits.data(),
                    alone.logits.size() * sizeof(float)) != 0)
      return failWith("request " + std::to_string(requests) + " (" +
                      std::to_string(run.request().prompt.size()) +
                      " prompt tokens in " +
                      std::to_string(run.request().chunks.size()) + " steps, " +
                      std::to_string(served.tokens.size()) +
                      " new tokens): its logits or tokens differ from the "
                      "same request run alone");
    tokens += static_cast<int64_t>(served.tokens.size());
    ++requests;
    if (uniform(0, 3) == 0 && !checkRefusal(run.sequence(), error))
      return failWith("request " + std::to_string(requests) + ": " + error);
    // Keep a few finished sequences for reuse, free the others.
    if (spares_.size() < 2 && uniform(0, 1))
      spares_.push_back(run.sequence());
    else
      jikji_sequence_free(run.sequence());
    slots[pick].reset();
  }
  for (jikji_sequence *sequence : spares_)
    jikji_sequence_free(sequence);
  spares_.clear();
  totals.generateChecks = generateChecks_;
  totals.refusals = refusals_;
  if (memory)
    memory->peak = std::max(memory->peak, residentKb());
  return totals;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4 || argc > 6) {
    std::fprintf(stderr, "usage: jikji-runtime-soak MODEL.so WEIGHTS_DIR "
                         "SECONDS [SEED [THREADS]]\n");
    return 2;
  }
  double seconds = std::atof(argv[3]);
  uint64_t seed = argc >= 5 ? std::strtoull(argv[4], nullptr, 10) : 1;
  int threads = argc >= 6 ? std::atoi(argv[5]) : 1;
  if (!(seconds > 0) || threads < 1 || threads > 64) {
    std::fprintf(stderr,
                 "jikji-runtime-soak: expected SECONDS > 0 and 1 to "
                 "64 THREADS, found '%s' and %d\n",
                 argv[3], threads);
    return 2;
  }
  jikji_model *model = nullptr;
  if (jikji_model_load(argv[1], argv[2], &model) != JIKJI_OK) {
    std::fprintf(stderr, "jikji-runtime-soak: error: %s\n", jikji_last_error());
    return 1;
  }

  // Each thread its own requests (its own seed) and sequences; the model is
  // shared. Thread 0 watches the process's memory.
  std::vector<Totals> results(static_cast<size_t>(threads));
  Memory memory;
  std::vector<std::thread> workers;
  Clock::time_point start = Clock::now();
  for (int i = 0; i < threads; ++i)
    workers.emplace_back([&, i] {
      results[static_cast<size_t>(i)] =
          Soak(model, seed + static_cast<uint64_t>(i))
              .run(seconds, i == 0 ? &memory : nullptr);
    });
  for (std::thread &worker : workers)
    worker.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  jikji_model_free(model);

  Totals total;
  for (size_t i = 0; i < results.size(); ++i) {
    const Totals &result = results[i];
    if (!result.error.empty()) {
      std::fprintf(stderr, "jikji-runtime-soak: error: thread %zu: %s\n", i,
                   result.error.c_str());
      return 1;
    }
    total.requests += result.requests;
    total.steps += result.steps;
    total.tokens += result.tokens;
    total.generateChecks += result.generateChecks;
    total.refusals += result.refusals;
  }
  long growth = memory.peak - memory.warm;
  std::printf("jikji-runtime-soak: %lld requests (%lld steps, %lld new "
              "tokens) in %.1f s, %d thread(s) with %d in flight each; "
              "every result equals its run alone (%lld also through "
              "generate); %lld over-long or bad steps refused\n",
              static_cast<long long>(total.requests),
              static_cast<long long>(total.steps),
              static_cast<long long>(total.tokens), elapsed, threads, kSlots,
              static_cast<long long>(total.generateChecks),
              static_cast<long long>(total.refusals));
  std::printf("jikji-runtime-soak: resident memory after warm-up %ld KB, "
              "peak after %ld KB (growth %ld KB)\n",
              memory.warm, memory.peak, growth);
#ifdef JIKJI_SOAK_ASAN
  std::printf("jikji-runtime-soak: AddressSanitizer build: memory growth not "
              "checked (its quarantine keeps freed memory); LeakSanitizer "
              "checks at exit\n");
#else
  if (memory.warm < 0 || growth > kMaxRssGrowthKb) {
    std::fprintf(stderr,
                 "jikji-runtime-soak: error: resident memory grew by "
                 "%ld KB after warm-up; expected at most %ld KB\n",
                 growth, kMaxRssGrowthKb);
    return 1;
  }
#endif
  if (total.requests < 10 * threads) {
    std::fprintf(stderr,
                 "jikji-runtime-soak: error: only %lld requests ran; "
                 "expected at least %d\n",
                 static_cast<long long>(total.requests), 10 * threads);
    return 1;
  }
  return 0;
}
