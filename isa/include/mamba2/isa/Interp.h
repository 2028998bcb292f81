// The reference interpreter: runs a program serially (bundles in order, slots in slot order)
// with the reference semantics of Reference.h. The golden model the overlay is compared with.
#pragma once
#include "mamba2/isa/Exec.h"
#include "mamba2/isa/Program.h"

#include <array>
#include <functional>
#include <string>
#include <vector>

namespace mamba2::isa {

/// Memories an executor works on: the scratchpad and the four DRAM regions.
struct Memory {
  std::vector<uint8_t> spad;
  std::array<std::vector<uint8_t>, kNumRegions> dram;
  /// Sizes regions from `p` (initial contents copied, the rest zero) and the scratchpad.
  static Memory forProgram(const Program &p, uint64_t spadBytes);
  Limits limits() const;
};

/// Runs one issue's data path with the reference semantics. Empty on success, else the problem
/// (a range outside its memory; checked before anything is written).
std::string refExecute(const Issue &is, Memory &mem, const std::vector<UopWord> &ucode);

struct InterpResult {
  std::string error; // empty when the program halted normally
  uint64_t bundles = 0;
  std::array<uint64_t, kNumSlots> issued{};
};
/// Runs one issue's data path; empty on success, else the problem.
using Executor = std::function<std::string(const Issue &, Memory &)>;
/// Runs entry `entry` of `p` serially on `mem`, each issue through `exec` (default: the
/// reference data path). Stops with an error after `maxBundles` bundles.
InterpResult interpret(const Program &p, const std::string &entry, Memory &mem,
                       uint64_t maxBundles = uint64_t(1) << 32, const Executor &exec = nullptr);

} // namespace mamba2::isa
