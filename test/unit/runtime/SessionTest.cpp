// The session on the ABI's tiny hand-written model (test/lit/runtime/Inputs/toy-model.s, written
// by toy-model.py there): prefill in t_block blocks plus decode calls gives the logits of
// decode-only bit for bit, and those of a direct reference of the model; the state carries over
// calls and reset() restores it; every ABI violation and bad input is an error naming it.
#include "mamba2/runtime/Session.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/runtime/TensorText.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

using namespace mamba2;

namespace {

isa::Program toyModel() {
  const std::string path = std::string(MAMBA2_SOURCE_DIR) + "/test/lit/runtime/Inputs/toy-model.s";
  std::vector<uint8_t> text;
  EXPECT_EQ(runtime::readFile(path, text), "");
  return isa::assemble(std::string(text.begin(), text.end()), path);
}

// The model of toy-model.py, written again here: S = rnd(3 S, 2) + emb(t); h = sat8(S);
// logits[v] = sum_k W[v][k] h[k]; emb = +-4 by the bits of t, W = +-1 by the bits of v - 1.
std::vector<int32_t> reference(const std::vector<int32_t> &ids) {
  int64_t s[8] = {};
  std::vector<int32_t> out;
  for (int32_t t : ids) {
    int32_t h[8];
    for (int k = 0; k < 8; ++k) {
      const int64_t a = 3 * s[k];
      const int64_t r = a >= 0 ? (a + 2) >> 2 : -((-a + 2) >> 2);
      s[k] = r + (((t >> k) & 1) ? 4 : -4);
      h[k] = int32_t(std::clamp<int64_t>(s[k], -128, 127));
    }
    for (int v = 0; v < 256; ++v) {
      int32_t l = 0;
      for (int k = 0; k < 8; ++k)
        l += ((((v + 255) % 256) >> k) & 1 ? 1 : -1) * h[k];
      out.push_back(l);
    }
  }
  return out;
}

struct Fixture {
  explicit Fixture(isa::Program prog, runtime::RunMode mode = runtime::RunMode::Functional,
                   size_t maxPrompt = 4096)
      : p(std::move(prog)), dev(runtime::makeSimulatorDevice(*target::findBoard("kv260"))) {
    EXPECT_EQ(dev->load(p), "");
    runtime::SessionConfig cfg;
    cfg.run.mode = mode;
    cfg.maxPromptTokens = maxPrompt;
    session = std::make_unique<runtime::Session>(*dev, p, cfg);
  }
  isa::Program p;
  std::unique_ptr<runtime::Device> dev;
  std::unique_ptr<runtime::Session> session;
};

const std::vector<int32_t> kIds = {72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108}; // 11

} // namespace

TEST(Session, OpensTheToyModel) {
  Fixture f(toyModel());
  ASSERT_EQ(f.session->open(), "");
  const runtime::ModelInfo &m = f.session->model();
  EXPECT_EQ(m.abiVersion, 1);
  EXPECT_EQ(m.dModel, 8);
  EXPECT_EQ(m.vocab, 256);
  EXPECT_EQ(m.tBlock, 4);
  EXPECT_EQ(m.logitFrac, 4);
  EXPECT_EQ(m.nLayer, 1);
  EXPECT_EQ(f.session->logitScale(), 1.0f / 16);
}

TEST(Session, PrefillBlocksPlusDecodeEqualDecodeOnlyBitForBit) {
  for (runtime::RunMode mode : {runtime::RunMode::Functional, runtime::RunMode::Cycle}) {
    Fixture f(toyModel(), mode);
    ASSERT_EQ(f.session->open(), "");
    ASSERT_EQ(f.session->reset(), "");
    std::vector<int32_t> all, last, one, stepped;
    ASSERT_EQ(f.session->prefill(kIds, runtime::WantLogits::All, all), "");
    ASSERT_EQ(all.size(), kIds.size() * 256);
    // 11 tokens, t_block 4: two prefill calls, then three decode calls.
    ASSERT_EQ(f.session->calls().size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(f.session->calls()[i].prefillEntry, i < 2);
      EXPECT_EQ(f.session->calls()[i].counters.timed, mode == runtime::RunMode::Cycle);
    }
    EXPECT_EQ(all, reference(kIds));
    ASSERT_EQ(f.session->reset(), "");
    for (int32_t t : kIds) {
      ASSERT_EQ(f.session->step(t, one), "");
      stepped.insert(stepped.end(), one.begin(), one.end());
    }
    EXPECT_EQ(stepped, all);
    ASSERT_EQ(f.session->reset(), "");
    ASSERT_EQ(f.session->prefill(kIds, runtime::WantLogits::Last, last), "");
    EXPECT_EQ(last, std::vector<int32_t>(all.end() - 256, all.end()));
    // The state carries over calls: 6 tokens then 5 more equal the 11 at once.
    ASSERT_EQ(f.session->reset(), "");
    std::vector<int32_t> a, b;
    ASSERT_EQ(f.session->prefill({kIds.begin(), kIds.begin() + 6}, runtime::WantLogits::All, a),
              "");
    ASSERT_EQ(f.session->prefill({kIds.begin() + 6, kIds.end()}, runtime::WantLogits::All, b), "");
    a.insert(a.end(), b.begin(), b.end());
    EXPECT_EQ(a, all);
  }
}

TEST(Session, ResetRestoresTheStateAndGenerateIsGreedy) {
  Fixture f(toyModel());
  ASSERT_EQ(f.session->open(), "");
  runtime::Sampler greedy({});
  std::vector<int32_t> out, again, logits, first;
  ASSERT_EQ(f.session->generate({65}, 5, greedy, out), "");
  EXPECT_EQ(out, (std::vector<int32_t>{66, 67, 68, 65, 66})); // toy-model.py greedy 5 65
  // The prompt is one decode call, then four steps (the last token is not fed back).
  EXPECT_EQ(f.session->calls().size(), 5u);
  ASSERT_EQ(f.session->generate({65}, 5, greedy, again), ""); // generate resets first
  EXPECT_EQ(again, out);
  ASSERT_EQ(f.session->reset(), "");
  ASSERT_EQ(f.session->prefill({65, 66}, runtime::WantLogits::Last, first), "");
  ASSERT_EQ(f.session->prefill({67}, runtime::WantLogits::Last, logits), "");
  ASSERT_EQ(f.session->reset(), "");
  ASSERT_EQ(f.session->prefill({65, 66}, runtime::WantLogits::Last, logits), "");
  EXPECT_EQ(logits, first);
}

TEST(Session, TimingModeTimesTheCallsWithoutValues) {
  Fixture timing(toyModel(), runtime::RunMode::Timing), cycle(toyModel(), runtime::RunMode::Cycle);
  ASSERT_EQ(timing.session->open(), "");
  ASSERT_EQ(cycle.session->open(), "");
  runtime::Sampler greedy({});
  std::vector<int32_t> out;
  ASSERT_EQ(timing.session->generate(kIds, 3, greedy, out), "");
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(cycle.session->generate(kIds, 3, greedy, out), "");
  ASSERT_EQ(timing.session->calls().size(), 7u); // 2 prefill + 3 decode + 2 steps
  ASSERT_EQ(cycle.session->calls().size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_GT(timing.session->calls()[i].counters.cycles, 0u);
    EXPECT_EQ(timing.session->calls()[i].counters.cycles,
              cycle.session->calls()[i].counters.cycles);
  }
}

TEST(Session, BadInputsAreErrors) {
  Fixture f(toyModel(), runtime::RunMode::Functional, 8);
  std::vector<int32_t> logits;
  EXPECT_EQ(f.session->prefill({1}, runtime::WantLogits::Last, logits),
            "prefill: the session is not open");
  ASSERT_EQ(f.session->open(), "");
  EXPECT_EQ(f.session->prefill({1, 2, 3, 4, 5, 300}, runtime::WantLogits::Last, logits),
            "token id 300 at position 5 is outside the vocabulary 0..255");
  EXPECT_EQ(f.session->prefill({1, -1}, runtime::WantLogits::Last, logits),
            "token id -1 at position 1 is outside the vocabulary 0..255");
  EXPECT_EQ(f.session->step(256, logits), "step: token id 256 is outside the vocabulary 0..255");
  EXPECT_EQ(f.session->prefill(std::vector<int32_t>(9, 1), runtime::WantLogits::Last, logits),
            "a prompt of 9 tokens is longer than the configured maximum of 8");
  EXPECT_EQ(f.session->prefill({}, runtime::WantLogits::Last, logits), "prefill: no tokens");
  runtime::Sampler greedy({});
  std::vector<int32_t> out;
  EXPECT_EQ(f.session->generate({}, 2, greedy, out), "generation needs at least one prompt token");
  // A maximum of 0 is no limit.
  Fixture unlimited(toyModel(), runtime::RunMode::Functional, 0);
  ASSERT_EQ(unlimited.session->open(), "");
  EXPECT_EQ(
      unlimited.session->prefill(std::vector<int32_t>(5000, 1), runtime::WantLogits::Last, logits),
      "");
  EXPECT_EQ(logits.size(), 256u);
}

namespace {

std::string openError(const std::function<void(isa::Program &)> &edit) {
  isa::Program p = toyModel();
  edit(p);
  Fixture f(std::move(p));
  return f.session->open();
}

isa::Symbol &sym(isa::Program &p, const std::string &name) {
  for (isa::Symbol &s : p.symbols)
    if (s.name == name)
      return s;
  throw std::runtime_error("no symbol " + name);
}

void setModelField(isa::Program &p, unsigned i, int32_t v) {
  std::memcpy(p.regions[0].init.data() + sym(p, "model").offset + 4 * i, &v, 4);
}

void drop(isa::Program &p, const std::string &name) {
  p.symbols.erase(std::remove_if(p.symbols.begin(), p.symbols.end(),
                                 [&](const isa::Symbol &s) { return s.name == name; }),
                  p.symbols.end());
}

} // namespace

TEST(Session, EveryAbiViolationIsNamed) {
  EXPECT_EQ(openError([](isa::Program &p) { drop(p, "prefill"); }),
            "program has no entry point 'prefill'");
  EXPECT_EQ(openError([](isa::Program &p) { drop(p, "decode"); }),
            "program has no entry point 'decode'");
  EXPECT_EQ(openError([](isa::Program &p) { drop(p, "model"); }),
            "program has no tensor 'model' (i32 [8] in region const)");
  EXPECT_EQ(openError([](isa::Program &p) { drop(p, "embedding"); }),
            "program has no tensor 'embedding' (i32 [vocab 256][d_model 8] in region const)");
  EXPECT_EQ(openError([](isa::Program &p) { drop(p, "x"); }),
            "program has no tensor 'x' (i32 [t_block 4][d_model 8] in region io)");
  EXPECT_EQ(openError([](isa::Program &p) { drop(p, "logits"); }),
            "program has no tensor 'logits' (i32 [t_block 4][vocab 256] in region io)");
  EXPECT_EQ(openError([](isa::Program &p) { sym(p, "model").bytes = 16; }),
            "tensor 'model' (i32, 16 bytes in const) must be i32 [8] = 32 bytes");
  EXPECT_EQ(openError([](isa::Program &p) { setModelField(p, 0, 2); }),
            "tensor 'model': abi_version is 2, this runtime reads version 1");
  EXPECT_EQ(openError([](isa::Program &p) { setModelField(p, 1, 0); }),
            "tensor 'model': d_model is 0, not in 1..1048576");
  EXPECT_EQ(openError([](isa::Program &p) { setModelField(p, 3, -4); }),
            "tensor 'model': t_block is -4, not in 1..65536");
  EXPECT_EQ(openError([](isa::Program &p) { setModelField(p, 4, 40); }),
            "tensor 'model': logit_frac is 40, not in 0..31");
  EXPECT_EQ(openError([](isa::Program &p) { setModelField(p, 2, 16); }),
            "tensor 'embedding' (i32, 8192 bytes in const) must be i32 [vocab 16][d_model 8] = "
            "512 bytes");
  EXPECT_EQ(openError([](isa::Program &p) { setModelField(p, 3, 2); }),
            "tensor 'x' (i32, 128 bytes in io) must be i32 [t_block 2][d_model 8] = 64 bytes");
  EXPECT_EQ(openError([](isa::Program &p) { sym(p, "logits").bytes -= 4; }),
            "tensor 'logits' (i32, 4092 bytes in io) must be i32 [t_block 4][vocab 256] = 4096 "
            "bytes");
  EXPECT_EQ(openError([](isa::Program &p) { sym(p, "x").region = 2; }),
            "tensor 'x' (i32, 128 bytes in state) must be in region io");
  EXPECT_EQ(openError([](isa::Program &p) { sym(p, "embedding").dtype = "i16"; }),
            "tensor 'embedding' (i16, 8192 bytes in const) must be i32");
}
