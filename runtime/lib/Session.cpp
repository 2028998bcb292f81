#include "mamba2/runtime/Session.h"

#include <cstring>

namespace mamba2::runtime {

Session::Session(Device &device, const isa::Program &program, SessionConfig cfg)
    : dev_(device), prog_(program), cfg_(std::move(cfg)) {}

std::string Session::check() const {
  if (!prog_.entry(cfg_.decodeEntry))
    return "program has no entry point '" + cfg_.decodeEntry + "'";
  const isa::Symbol *t = prog_.tensor(cfg_.tokenTensor), *l = prog_.tensor(cfg_.logitsTensor);
  if (!t || t->dtype != "i32" || t->bytes != 4)
    return "program has no i32 [1] tensor '" + cfg_.tokenTensor + "'";
  if (!l || l->dtype != "i32" || l->bytes == 0)
    return "program has no i32 tensor '" + cfg_.logitsTensor + "'";
  return "";
}

std::string Session::reset() {
  for (const isa::Symbol &s : prog_.symbols) {
    if (s.kind != isa::Symbol::Kind::Tensor || s.region != uint8_t(isa::RegionId::State))
      continue;
    const std::vector<uint8_t> &init = prog_.regions[s.region].init;
    std::vector<uint8_t> bytes(s.bytes, 0);
    for (uint64_t i = 0; i < s.bytes && s.offset + i < init.size(); ++i)
      bytes[i] = init[s.offset + i];
    std::string e = dev_.writeTensor(s.name, bytes);
    if (!e.empty())
      return "reset: " + e;
  }
  return "";
}

std::string Session::step(int32_t token, std::vector<int32_t> &logits) {
  std::vector<uint8_t> t(4);
  std::memcpy(t.data(), &token, 4);
  std::string e = dev_.writeTensor(cfg_.tokenTensor, t);
  if (!e.empty())
    return e;
  RunReport r = dev_.run(cfg_.decodeEntry, cfg_.run);
  if (!r.error.empty())
    return "decode: " + r.error;
  std::vector<uint8_t> bytes;
  if (!(e = dev_.readTensor(cfg_.logitsTensor, bytes)).empty())
    return e;
  logits.resize(bytes.size() / 4);
  std::memcpy(logits.data(), bytes.data(), logits.size() * 4);
  return "";
}

std::string Session::generate(const std::vector<int32_t> &prompt, unsigned n, Sampler &sampler,
                              std::vector<int32_t> &out) {
  std::string e = check();
  if (!e.empty())
    return e;
  if (prompt.empty())
    return "generation needs at least one prompt token";
  std::vector<int32_t> logits;
  for (int32_t tok : prompt)
    if (!(e = step(tok, logits)).empty())
      return e;
  out.clear();
  for (unsigned i = 0; i < n; ++i) {
    int32_t next = sampler.sample(logits, cfg_.logitScale);
    out.push_back(next);
    if (i + 1 < n && !(e = step(next, logits)).empty())
      return e;
  }
  return "";
}

} // namespace mamba2::runtime
