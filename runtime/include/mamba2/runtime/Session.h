// A generation session on a device: the program's `state` region holds the conv and SSM state
// caches between steps. Program ABI (what the compiler emits for a model):
//   entry `decode`            one token step: reads tensor `token` (i32 [1]) and the state,
//                             writes tensor `logits` (i32 [vocab], real = value * logitScale)
//                             and the new state
//   tensors in region state   the caches; reset() restores their initial contents
#pragma once
#include "mamba2/runtime/Device.h"
#include "mamba2/runtime/Sampling.h"

#include <string>
#include <vector>

namespace mamba2::runtime {

struct SessionConfig {
  std::string decodeEntry = "decode";
  std::string tokenTensor = "token";
  std::string logitsTensor = "logits";
  float logitScale = 1.0f;
  RunOptions run;
};

class Session {
public:
  /// `device` must already hold `program` (Device::load).
  Session(Device &device, const isa::Program &program, SessionConfig cfg = {});
  /// Empty when the program has the ABI above, else what is missing.
  std::string check() const;
  /// Restores every state tensor to its initial contents (a new sequence).
  std::string reset();
  /// Feeds one token, returns the logits of the next.
  std::string step(int32_t token, std::vector<int32_t> &logits);
  /// Feeds `prompt` token by token, then samples `n` tokens (each fed back).
  std::string generate(const std::vector<int32_t> &prompt, unsigned n, Sampler &sampler,
                       std::vector<int32_t> &out);

private:
  Device &dev_;
  const isa::Program &prog_;
  SessionConfig cfg_;
};

} // namespace mamba2::runtime
