// The hand-written programs of programs/ (all fit the KV260 scratchpad), shared by the overlay
// end-to-end test and the HLS top testbench (test/unit/hw/OverlayTopTest.cpp). Both targets
// define MAMBA2_OVERLAY_PROGRAMS as the programs/ directory.
#pragma once
#include "mamba2/isa/Asm.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace mamba2::test {

inline const char *const kOverlayPrograms[] = {"linear_w8a8.s", "linear_w4a4.s", "rmsnorm.s",
                                               "hadamard.s",    "conv_ssm.s",    "stream_loops.s",
                                               "gmm_w4a4.s",    "gmm_w8a8.s",    "conv_ssm_step.s"};

/// Test name of a program parameter: the file name without its extension.
inline std::string overlayProgramName(const ::testing::TestParamInfo<const char *> &info) {
  std::string n = info.param;
  return n.substr(0, n.find('.'));
}

/// Assembles programs/<name>; the bytes of each region its .data does not initialise are filled
/// with random data from `seed`, so saturation and rounding edges get hit.
inline isa::Program assembleOverlayProgram(const std::string &name, uint32_t seed) {
  std::string path = std::string(MAMBA2_OVERLAY_PROGRAMS) + "/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  isa::Program p = isa::assemble(ss.str(), path);
  std::mt19937 g(seed);
  for (isa::Region &reg : p.regions) {
    size_t given = reg.init.size();
    reg.init.resize(reg.size);
    for (size_t i = given; i < reg.size; ++i)
      reg.init[i] = uint8_t(g());
  }
  return p;
}

} // namespace mamba2::test
