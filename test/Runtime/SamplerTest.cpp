//===- SamplerTest.cpp - Tests of token selection -------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/sampler/Sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;

// Tests the generator against xoshiro256** seeded by splitmix64, values
// computed by an independent implementation of the published algorithms
// (Blackman and Vigna), so that a seed means the same on every platform.
TEST(SamplerTest, RandomMatchesPublishedAlgorithm) {
  Random zero(0);
  EXPECT_EQ(zero.next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(zero.next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(zero.next(), 0x1a5f849d4933e6e0ULL);
  EXPECT_EQ(zero.next(), 0x6aa594f1262d2d2cULL);
  Random answer(42);
  EXPECT_EQ(answer.next(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(answer.next(), 0x6104d9866d113a7eULL);
  Random unit(7);
  for (int i = 0; i < 1000; ++i) {
    double u = unit.nextUnit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

// Tests greedy picking, ties going to the lower id.
TEST(SamplerTest, GreedyPicksArgmax) {
  std::vector<float> logits = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f};
  Result<int64_t> token = pickGreedy(logits.data(), 5);
  ASSERT_TRUE(token.ok()) << token.error();
  EXPECT_EQ(*token, 1);
  Sampler sampler(SamplingOptions{});
  EXPECT_EQ(*sampler.sample(logits.data(), 5), 1);
  std::vector<float> negative = {-5.0f, -7.0f, -5.0f};
  EXPECT_EQ(*pickGreedy(negative.data(), 3), 0);
}

// Tests that NaN and infinite logits are refused with their index.
TEST(SamplerTest, RefusesNonFiniteLogits) {
  std::vector<float> logits = {0.5f, 1.0f, std::nanf(""), 2.0f};
  Result<int64_t> token = pickGreedy(logits.data(), 4);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error(), "logits[2] is NaN; expected finite logits");

  logits[2] = 0;
  logits[3] = -std::numeric_limits<float>::infinity();
  Sampler sampler(SamplingOptions{1.0, 0, 1.0, 3});
  token = sampler.sample(logits.data(), 4);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error(), "logits[3] is infinite; expected finite logits");

  token = pickGreedy(logits.data(), 0);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error(), "logits: expected at least one entry, found 0");
}

// Tests that the options are checked, naming the field.
TEST(SamplerTest, ValidatesOptions) {
  EXPECT_TRUE(validateSamplingOptions({}).ok());
  EXPECT_TRUE(validateSamplingOptions({0.7, 40, 0.95, 1}).ok());
  Result<bool> bad = validateSamplingOptions({-1.0, 0, 1.0, 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "sampling 'temperature': expected a finite number "
                         ">= 0, found -1.000000");
  bad = validateSamplingOptions({1.0, -2, 1.0, 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "sampling 'top_k': expected an integer >= 0 (0 keeps "
                         "every token), found -2");
  bad = validateSamplingOptions({1.0, 0, 0.0, 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(),
            "sampling 'top_p': expected a number in (0, 1], found 0.000000");
  bad = validateSamplingOptions({1.0, 0, std::nan(""), 0});
  EXPECT_FALSE(bad.ok());
}

/// `count` draws from a fresh sampler with `options`.
static std::vector<int64_t> draw(const SamplingOptions &options,
                                 const std::vector<float> &logits, int count) {
  Sampler sampler(options);
  std::vector<int64_t> tokens;
  for (int i = 0; i < count; ++i) {
    Result<int64_t> token =
        sampler.sample(logits.data(), static_cast<int64_t>(logits.size()));
    EXPECT_TRUE(token.ok()) << token.error();
    tokens.push_back(token.ok() ? *token : -1);
  }
  return tokens;
}

// Tests that one seed gives one sequence and another seed another.
TEST(SamplerTest, SeedsAreReproducible) {
  std::vector<float> logits(64);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = std::sin(static_cast<float>(i));
  SamplingOptions options{1.0, 0, 1.0, 1234};
  std::vector<int64_t> first = draw(options, logits, 200);
  EXPECT_EQ(draw(options, logits, 200), first);
  options.seed = 1235;
  EXPECT_NE(draw(options, logits, 200), first);
  options.topK = 10;
  options.topP = 0.8;
  EXPECT_EQ(draw(options, logits, 200), draw(options, logits, 200));
}

// Tests that temperature sampling follows the softmax distribution.
TEST(SamplerTest, FollowsSoftmax) {
  std::vector<float> logits = {std::log(0.1f), std::log(0.2f), std::log(0.7f)};
  const int draws = 20000;
  std::vector<int64_t> tokens = draw({1.0, 0, 1.0, 99}, logits, draws);
  std::vector<int> counts(3);
  for (int64_t token : tokens)
    ++counts[token];
  EXPECT_NEAR(counts[0] / double(draws), 0.1, 0.01);
  EXPECT_NEAR(counts[1] / double(draws), 0.2, 0.01);
  EXPECT_NEAR(counts[2] / double(draws), 0.7, 0.01);

  // Temperature 2 takes square roots of the probabilities: weights
  // sqrt(.1), sqrt(.2), sqrt(.7).
  tokens = draw({2.0, 0, 1.0, 5}, logits, draws);
  counts.assign(3, 0);
  for (int64_t token : tokens)
    ++counts[token];
  double total = std::sqrt(0.1) + std::sqrt(0.2) + std::sqrt(0.7);
  EXPECT_NEAR(counts[0] / double(draws), std::sqrt(0.1) / total, 0.01);
  EXPECT_NEAR(counts[2] / double(draws), std::sqrt(0.7) / total, 0.01);
}

// Tests that top-k and top-p keep exactly the tokens they should.
TEST(SamplerTest, FiltersTopKAndTopP) {
  // Probabilities 0.05, 0.4, 0.1, 0.3, 0.15 for ids 0..4.
  std::vector<float> logits = {std::log(0.05f), std::log(0.4f), std::log(0.1f),
                               std::log(0.3f), std::log(0.15f)};
  auto kept = [&](const SamplingOptions &options) {
    std::vector<int64_t> tokens = draw(options, logits, 3000);
    return std::set<int64_t>(tokens.begin(), tokens.end());
  };
  EXPECT_EQ(kept({1.0, 1, 1.0, 1}), (std::set<int64_t>{1}));
  EXPECT_EQ(kept({1.0, 2, 1.0, 2}), (std::set<int64_t>{1, 3}));
  EXPECT_EQ(kept({1.0, 3, 1.0, 3}), (std::set<int64_t>{1, 3, 4}));
  EXPECT_EQ(kept({1.0, 0, 1.0, 4}), (std::set<int64_t>{0, 1, 2, 3, 4}));
  // The nucleus is the smallest prefix reaching top_p: 0.4 + 0.3 = 0.7
  // (thresholds kept away from 0.7 itself, where rounding decides).
  EXPECT_EQ(kept({1.0, 0, 0.69, 5}), (std::set<int64_t>{1, 3}));
  EXPECT_EQ(kept({1.0, 0, 0.71, 6}), (std::set<int64_t>{1, 3, 4}));
  EXPECT_EQ(kept({1.0, 0, 0.01, 7}), (std::set<int64_t>{1}));
  // Both: top-k first, then the nucleus of what is left (renormalised:
  // 0.4 / 0.85 < 0.5).
  EXPECT_EQ(kept({1.0, 3, 0.5, 8}), (std::set<int64_t>{1, 3}));
}

// Tests that a very low temperature behaves greedily without overflow, and
// that ties stay deterministic under top-k.
TEST(SamplerTest, ExtremeTemperaturesAndTies) {
  std::vector<float> logits = {1.0f, 5.0f, 4.999f, -3.0f};
  std::vector<int64_t> tokens = draw({1e-6, 0, 1.0, 11}, logits, 100);
  EXPECT_EQ(std::set<int64_t>(tokens.begin(), tokens.end()),
            (std::set<int64_t>{1}));
  std::vector<float> tied = {2.0f, 7.0f, 7.0f, 7.0f};
  tokens = draw({1.0, 2, 1.0, 12}, tied, 500);
  EXPECT_EQ(std::set<int64_t>(tokens.begin(), tokens.end()),
            (std::set<int64_t>{1, 2}));
}
