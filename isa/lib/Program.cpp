#include "mamba2/isa/Program.h"

namespace mamba2::isa {

int regionByName(const std::string &name) {
  for (unsigned i = 0; i < kNumRegions; ++i)
    if (name == kRegionNames[i])
      return static_cast<int>(i);
  return -1;
}

const Symbol *Program::entry(const std::string &name) const {
  for (const Symbol &s : symbols)
    if (s.kind == Symbol::Kind::Entry && s.name == name)
      return &s;
  return nullptr;
}

const Symbol *Program::tensor(const std::string &name) const {
  for (const Symbol &s : symbols)
    if (s.kind == Symbol::Kind::Tensor && s.name == name)
      return &s;
  return nullptr;
}

std::vector<uint8_t> Program::bundleBytes() const {
  std::vector<uint8_t> out(bundles.size() * kBundleBytes);
  for (size_t i = 0; i < bundles.size(); ++i)
    bundles[i].toBytes(out.data() + i * kBundleBytes);
  return out;
}

std::vector<uint8_t> Program::ucodeBytes() const {
  std::vector<uint8_t> out(ucode.size() * kUopBytes);
  for (size_t i = 0; i < ucode.size(); ++i)
    ucode[i].toBytes(out.data() + i * kUopBytes);
  return out;
}

unsigned dtypeBytes(const std::string &dtype) {
  if (dtype == "i8" || dtype == "u8" || dtype == "i4x2")
    return 1;
  if (dtype == "i16")
    return 2;
  if (dtype == "i32")
    return 4;
  return 0;
}

} // namespace mamba2::isa
