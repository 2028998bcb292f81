#include "mamba2/runtime/Session.h"

#include <cmath>
#include <cstring>

namespace mamba2::runtime {

namespace {

std::string describe(const isa::Symbol &s) {
  return "tensor '" + s.name + "' (" + s.dtype + ", " + std::to_string(s.bytes) + " bytes in " +
         isa::kRegionNames[s.region] + ")";
}

// The ABI's tensor `name`: in region `region`, i32, `bytes` long (what the model says).
std::string checkTensor(const isa::Program &p, const std::string &name, isa::RegionId region,
                        uint64_t bytes, const std::string &shape) {
  const isa::Symbol *s = p.tensor(name);
  if (!s)
    return "program has no tensor '" + name + "' (i32 " + shape + " in region " +
           isa::kRegionNames[unsigned(region)] + ")";
  if (s->region != uint8_t(region))
    return describe(*s) + " must be in region " + isa::kRegionNames[unsigned(region)];
  if (s->dtype != "i32")
    return describe(*s) + " must be i32";
  if (s->bytes != bytes)
    return describe(*s) + " must be i32 " + shape + " = " + std::to_string(bytes) + " bytes";
  return "";
}

} // namespace

Session::Session(Device &device, const isa::Program &program, SessionConfig cfg)
    : dev_(device), prog_(program), cfg_(std::move(cfg)) {}

float Session::logitScale() const { return std::ldexp(1.0f, -info_.logitFrac); }

std::string Session::open() {
  open_ = false;
  for (const char *e : {"prefill", "decode"})
    if (!prog_.entry(e))
      return std::string("program has no entry point '") + e + "'";
  std::string err = checkTensor(prog_, "model", isa::RegionId::Const, 32, "[8]");
  if (!err.empty())
    return err;
  const isa::Symbol *m = prog_.tensor("model");
  const std::vector<uint8_t> &image = prog_.regions[m->region].init;
  int32_t v[8] = {};
  for (unsigned i = 0; i < 32; ++i)
    if (m->offset + i < image.size())
      reinterpret_cast<uint8_t *>(v)[i] = image[m->offset + i];
  info_ = {v[0], v[1], v[2], v[3], v[4], v[5]};
  if (info_.abiVersion != kModelAbiVersion)
    return "tensor 'model': abi_version is " + std::to_string(info_.abiVersion) +
           ", this runtime reads version " + std::to_string(kModelAbiVersion);
  const struct {
    const char *name;
    int32_t value, lo, hi;
  } fields[] = {{"d_model", info_.dModel, 1, 1 << 20},
                {"vocab", info_.vocab, 1, 1 << 24},
                {"t_block", info_.tBlock, 1, 1 << 16},
                {"logit_frac", info_.logitFrac, 0, 31},
                {"n_layer", info_.nLayer, 0, 1 << 16}};
  for (const auto &f : fields)
    if (f.value < f.lo || f.value > f.hi)
      return std::string("tensor 'model': ") + f.name + " is " + std::to_string(f.value) +
             ", not in " + std::to_string(f.lo) + ".." + std::to_string(f.hi);
  const uint64_t d = uint64_t(info_.dModel), vocab = uint64_t(info_.vocab),
                 tb = uint64_t(info_.tBlock);
  auto shape = [](uint64_t a, const char *an, uint64_t b, const char *bn) {
    return "[" + std::string(an) + " " + std::to_string(a) + "][" + bn + " " + std::to_string(b) +
           "]";
  };
  if (!(err = checkTensor(prog_, "embedding", isa::RegionId::Const, vocab * d * 4,
                          shape(vocab, "vocab", d, "d_model")))
           .empty() ||
      !(err = checkTensor(prog_, "x", isa::RegionId::Io, tb * d * 4,
                          shape(tb, "t_block", d, "d_model")))
           .empty() ||
      !(err = checkTensor(prog_, "logits", isa::RegionId::Io, tb * vocab * 4,
                          shape(tb, "t_block", vocab, "vocab")))
           .empty())
    return err;
  embedding_ = prog_.tensor("embedding");
  open_ = true;
  return "";
}

std::string Session::reset() {
  if (!open_)
    return "reset: the session is not open";
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

std::string Session::call(bool prefillEntry, SessionCall::Phase phase,
                          const std::vector<int32_t> &ids, size_t first, size_t rows,
                          bool readLogits) {
  const size_t rowBytes = size_t(info_.dModel) * 4;
  const std::vector<uint8_t> &image = prog_.regions[embedding_->region].init;
  xBytes_.assign(size_t(info_.tBlock) * rowBytes, 0);
  for (size_t r = 0; r < rows; ++r) {
    const int32_t id = ids[first + r];
    if (id < 0 || id >= info_.vocab)
      return "token id " + std::to_string(id) + " at position " + std::to_string(first + r) +
             " is outside the vocabulary 0.." + std::to_string(info_.vocab - 1);
    const uint64_t at = embedding_->offset + uint64_t(id) * rowBytes;
    for (size_t i = 0; i < rowBytes && at + i < image.size(); ++i)
      xBytes_[r * rowBytes + i] = image[at + i];
  }
  std::string e = dev_.writeTensor("x", xBytes_);
  if (!e.empty())
    return e;
  const char *entry = prefillEntry ? "prefill" : "decode";
  RunReport rep = dev_.run(entry, cfg_.run);
  if (!rep.error.empty())
    return std::string("entry '") + entry + "' (tokens " + std::to_string(first) + ".." +
           std::to_string(first + rows - 1) + "): " + rep.error;
  calls_.push_back({phase, prefillEntry, std::move(rep.counters)});
  if (!readLogits)
    return "";
  if (!(e = dev_.readTensor("logits", logitBytes_)).empty())
    return e;
  rows_.resize(rows * size_t(info_.vocab));
  std::memcpy(rows_.data(), logitBytes_.data(), rows_.size() * 4);
  return "";
}

std::string Session::feed(const std::vector<int32_t> &ids, bool lastOnly, const LogitRow &row) {
  if (!open_)
    return "prefill: the session is not open";
  if (ids.empty())
    return "prefill: no tokens";
  if (cfg_.maxPromptTokens && ids.size() > cfg_.maxPromptTokens)
    return "a prompt of " + std::to_string(ids.size()) +
           " tokens is longer than the configured maximum of " +
           std::to_string(cfg_.maxPromptTokens);
  const size_t n = ids.size(), tb = size_t(info_.tBlock), vocab = size_t(info_.vocab);
  for (size_t first = 0; first < n;) {
    const bool block = n - first >= tb;
    const size_t rows = block ? tb : 1;
    const bool read = !lastOnly || first + rows == n;
    std::string e = call(block, SessionCall::Phase::Prompt, ids, first, rows, read);
    for (size_t r = 0; e.empty() && read && r < rows; ++r)
      if (!lastOnly || first + r + 1 == n)
        e = row(first + r, rows_.data() + r * vocab);
    if (!e.empty())
      return e;
    first += rows;
  }
  return "";
}

std::string Session::prefill(const std::vector<int32_t> &ids, WantLogits want,
                             std::vector<int32_t> &logits) {
  logits.clear();
  const size_t vocab = size_t(info_.vocab);
  return feed(ids, want == WantLogits::Last, [&](size_t, const int32_t *q) {
    logits.insert(logits.end(), q, q + vocab);
    return std::string();
  });
}

std::string Session::prefill(const std::vector<int32_t> &ids, const LogitRow &row) {
  return feed(ids, false, row);
}

std::string Session::step(int32_t token, std::vector<int32_t> &logits) {
  logits.clear();
  if (!open_)
    return "step: the session is not open";
  if (token < 0 || token >= info_.vocab)
    return "step: token id " + std::to_string(token) + " is outside the vocabulary 0.." +
           std::to_string(info_.vocab - 1);
  std::string e = call(false, SessionCall::Phase::Decode, {token}, 0, 1, true);
  if (e.empty())
    logits = rows_;
  return e;
}

std::string Session::generate(const std::vector<int32_t> &prompt, unsigned n, Sampler &sampler,
                              std::vector<int32_t> &out) {
  out.clear();
  if (!open_)
    return "generate: the session is not open";
  if (prompt.empty())
    return "generation needs at least one prompt token";
  std::string e = reset();
  std::vector<int32_t> logits;
  if (!e.empty() || !(e = prefill(prompt, WantLogits::Last, logits)).empty())
    return e;
  const bool values = cfg_.run.mode != RunMode::Timing;
  for (unsigned i = 0; i < n; ++i) {
    // Timing mode computes no values: the steps are timed with token 0 (the program has no
    // data-dependent address, so what is fed does not change the counts).
    const int32_t next = values ? sampler.sample(logits, logitScale()) : 0;
    if (values)
      out.push_back(next);
    if (i + 1 < n && !(e = step(next, logits)).empty())
      return e;
  }
  return "";
}

} // namespace mamba2::runtime
