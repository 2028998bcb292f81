// Board configurations (from config/boards.def) for the host side: cycle model, resource
// estimator, runtime. HLS code reads the same file through HlsConfig.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::hw {

struct BoardConfig {
  unsigned id;
  const char *name;
  const char *part;
  // budgets
  unsigned dsp, bram36, uram, lut;
  unsigned dspKind; // 1 DSP48E1, 2 DSP48E2, 3 DSP58
  double clockMhz;
  // memory system
  double dramPeakGBps, dramAchievableGBps, dramLatencyNs;
  unsigned axiPorts, axiBits;
  // units
  unsigned matK, matN, vecLanes, ssmLanes;
  unsigned spadKiB, queueDepth;

  uint64_t spadBytes() const { return uint64_t(spadKiB) * 1024; }
  /// Achievable DRAM bytes per overlay clock cycle.
  double dramBytesPerCycle() const { return dramAchievableGBps * 1e3 / clockMhz; }
  /// int8 multiply-accumulates per DSP slice (WP486 packing on DSP48E2, 3-way dot on DSP58).
  unsigned int8MacsPerDsp() const { return dspKind == 1 ? 1 : dspKind == 2 ? 2 : 3; }
  /// Group-scale multipliers of the matrix unit (gmm8 / gmm4): enough to scale a tile's matN
  /// partial sums while it runs the K tiles of the next int4 group of 128, matN * 2 matK / 128,
  /// clamped to 1..matN (HlsConfig.h: SCALE_LANES, the same formula).
  unsigned scaleLanes() const {
    unsigned s = matN * 2 * matK / 128;
    return s < 1 ? 1 : s > matN ? matN : s;
  }
};

/// All boards, in boards.def order.
const std::vector<BoardConfig> &boards();
/// The board called `name`, or nullptr.
const BoardConfig *findBoard(const std::string &name);
/// "vc709, vck190, u280, kv260" (for messages).
std::string boardNames();

} // namespace mamba2::hw
