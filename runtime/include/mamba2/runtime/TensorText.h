// Printing tensors by dtype (mamba2-run --print) and reading raw input files.
#pragma once
#include "mamba2/isa/Program.h"

#include <string>
#include <vector>

namespace mamba2::runtime {

/// "name: i32[4] = 1 -2 3 4" (i4x2 prints both nibbles, low first).
std::string formatTensor(const isa::Symbol &s, const std::vector<uint8_t> &bytes);
/// Reads a whole file; empty error on success.
std::string readFile(const std::string &path, std::vector<uint8_t> &out);
std::string writeFile(const std::string &path, const std::vector<uint8_t> &bytes);

} // namespace mamba2::runtime
