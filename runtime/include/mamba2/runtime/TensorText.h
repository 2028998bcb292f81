// Printing tensors by dtype (mamba2-run --print) and reading raw input files.
#pragma once
#include "mamba2/isa/Program.h"

#include <string>
#include <vector>

namespace mamba2::runtime {

/// "name: i32[4] = 1 -2 3 4" (i4x2 prints both nibbles, low first).
std::string formatTensor(const isa::Symbol &s, const std::vector<uint8_t> &bytes);
/// Largest file the tools read whole (programs, assembly, tensor inputs).
inline constexpr uint64_t kMaxReadBytes = uint64_t(1) << 30;
/// Reads a whole file of at most `maxBytes` bytes; empty error on success. A directory, an
/// unreadable file or a longer input (/dev/zero) is an error naming the path.
std::string readFile(const std::string &path, std::vector<uint8_t> &out,
                     uint64_t maxBytes = kMaxReadBytes);
std::string writeFile(const std::string &path, const std::vector<uint8_t> &bytes);

} // namespace mamba2::runtime
