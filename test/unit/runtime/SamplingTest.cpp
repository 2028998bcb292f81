// Sampling rules and the byte tokenizer.
#include "mamba2/runtime/Sampling.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mamba2::runtime;

TEST(Sampler, GreedyTakesTheLowestIndexOnTies) {
  Sampler s({});
  EXPECT_EQ(s.sample(std::vector<float>{1, 3, 3, 2}), 1);
  EXPECT_EQ(s.sample(std::vector<int32_t>{-5, -2, -9}, 0.5f), 1);
}

TEST(Sampler, TopKOneIsGreedy) {
  Sampler s({1.0f, 1, 1.0f, 7});
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(s.sample(std::vector<float>{0.1f, 0.3f, 0.2f}), 1);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  Sampler s({1.0f, 0, 1.0f, 42});
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(5.0f)}; // p = 1/8, 2/8, 5/8
  int counts[3] = {};
  const int n = 16000;
  for (int i = 0; i < n; ++i)
    ++counts[s.sample(logits)];
  EXPECT_NEAR(counts[0] / double(n), 0.125, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 0.25, 0.02);
  EXPECT_NEAR(counts[2] / double(n), 0.625, 0.02);
}

TEST(Sampler, TopPDropsTheTail) {
  Sampler s({1.0f, 0, 0.7f, 3});
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(5.0f)}; // 5/8 < 0.7 <= 7/8
  for (int i = 0; i < 2000; ++i)
    EXPECT_NE(s.sample(logits), 0);
}

TEST(Sampler, SameSeedSameSequence) {
  Sampler a({0.8f, 0, 1.0f, 9}), b({0.8f, 0, 1.0f, 9});
  std::vector<float> logits = {0.5f, 0.1f, 0.9f, 0.3f};
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(a.sample(logits), b.sample(logits));
}

TEST(Sampler, BadInputsAreErrors) {
  Sampler s({});
  EXPECT_THROW(s.sample(std::vector<float>{}), std::invalid_argument);
  EXPECT_THROW(s.sample(std::vector<float>{1.0f, NAN}), std::invalid_argument);
  EXPECT_THROW(Sampler({-1.0f, 0, 1.0f, 0}), std::invalid_argument);
  EXPECT_THROW(Sampler({1.0f, 0, 0.0f, 0}), std::invalid_argument);
}

TEST(ByteTokenizer, RoundTripsAnyBytes) {
  std::string text("Emma\0\xff\x80 Woodhouse", 16);
  std::vector<int32_t> ids = byteEncode(text);
  ASSERT_EQ(ids.size(), 16u);
  EXPECT_EQ(ids[5], 255);
  std::string back;
  EXPECT_EQ(byteDecode(ids, back), "");
  EXPECT_EQ(back, text);
  EXPECT_EQ(byteDecode({65, 256}, back),
            "token 256 at position 1 is outside the byte vocabulary (0..255)");
}
