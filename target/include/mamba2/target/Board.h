// The target descriptions (target/boards/*.toml, one file per board) for host code: the
// compiler's cost model, the cycle model, the resource estimator, the runtime. No simulator
// here; HLS code reads the same generated constants through mamba2/hw/HlsConfig.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::target {

/// DSP slice kinds (BOARDS.md section 4).
enum class DspKind : unsigned { DSP48E1 = 1, DSP48E2 = 2, DSP58 = 3 };

/// Operand widths of a multiply-accumulate.
enum class MacKind {
  W8A8, ///< int8 weight x int8 activation
  W4A8, ///< int4 weight x int8 activation (the matrix unit's int4 mode: activations stay int8)
  W4A4, ///< int4 x int4, four products packed per DSP48E2 with the correction term
};

/// Exact multiply-accumulates one DSP slice does per cycle, shared operand as the matrix unit
/// has it (one activation times several weights), BOARDS.md section 4:
/// - DSP48E2: two int8 products sharing an operand (WP486). int4 x int8 does not pack further
///   (its 12-bit products need the same spacing as int8's 16-bit ones in the 48-bit result),
///   so W4A8 is two, not four. Four 4x4-bit products (DSP-Packing) are exact only with the
///   correction of the cross terms, which W4A4 pays for in LUTs (lutsPerW4A4Correction).
/// - DSP48E1: 25x18 multiplier; WP486-style sharing is unverified there, so one of any kind.
/// - DSP58: the three-element int8 dot product; int4 uses the same mode (three).
/// The resource estimator and the cycle model both read this one table.
constexpr unsigned macsPerDsp(DspKind d, MacKind m) {
  switch (d) {
  case DspKind::DSP48E1:
    return 1;
  case DspKind::DSP48E2:
    return m == MacKind::W4A4 ? 4 : 2;
  case DspKind::DSP58:
    return 3;
  }
  return 1;
}

struct Board {
  unsigned id;
  const char *name;
  const char *part;
  const char *doc;
  // budgets (whole part)
  unsigned dsp, bram36, uram, lut;
  unsigned dspKind; // DspKind
  double clockMhz;
  // memory system
  const char *memKind;
  unsigned memChannels, memStacks;
  double dramPeakGBps, dramAchievableGBps, dramLatencyNs, crossStackFraction;
  // the overlay's m_axi ports
  unsigned axiPorts, axiBits;
  double portAchievableGBps;
  unsigned portOutstanding;
  unsigned stripeBytes; // bytes dealt to one port before the next: one burst
  // units
  unsigned matK, matN, vecLanes, ssmLanes;
  unsigned spadKiB, queueDepth;
  /// The chunked SSD form's units (trn, split16 on the vector unit, segdecay on the SSM unit;
  /// `[units] chunked_ssd` of the board file): a board built without them refuses their
  /// micro-ops when a program loads.
  bool chunkedSsd;

  /// Whether the overlay of this board has the units of optional feature `f` (a micro-op's
  /// isa::UopInfo::feature; "" is none, always present).
  bool hasFeature(const char *f) const {
    return !f || !*f || (std::string(f) == "chunked_ssd" && chunkedSsd);
  }
  /// Empty when this board has feature `f`, else why micro-op `uop` (which needs it) cannot
  /// run here: the message the loader and the simulator give.
  std::string missingFeature(const char *uop, const char *f) const {
    if (hasFeature(f))
      return "";
    return std::string("micro-op '") + uop + "' needs the board feature '" + f + "', which the " +
           name + " overlay is built without (target/boards/" + name + ".toml [units] " + f + ")";
  }

  /// The matrix unit's int4-weight products per dot product per cycle (two nibbles per int8
  /// lane, each its own int4 x int8 product): the cycle model's rate and the DSPs the resource
  /// estimator charges for it (macsPerDsp(W4A8)).
  unsigned matKInt4() const { return 2 * matK; }

  /// Scratchpad bytes each unit reads + writes per cycle at its initiation interval of 1
  /// (HlsConfig.h *_DEMAND, the same formulas): the matrix unit mat_n x mat_k weight bytes
  /// (int8, or 2 mat_k int4) and 2 mat_k int8 activations (int4 mode); the vector unit two
  /// int32 operands read and one written per lane; the SSM unit three read and one written.
  unsigned loadSpadDemand() const { return axiPorts * axiBits / 8; } // a beat per port
  unsigned matrixSpadDemand() const { return matN * matK + 2 * matK; }
  unsigned vectorSpadDemand() const { return 12 * vecLanes; }
  unsigned ssmSpadDemand() const { return 16 * ssmLanes; }
  /// Bytes of one scratchpad bank word: a URAM / BRAM36 word (72 bits, 64 of data).
  static constexpr unsigned spadWordBytes() { return 8; }
  /// The scratchpad's banks (HlsConfig.h SPAD_BANKS, the same formula): as many one-primitive
  /// banks (URAM 32 KiB, BRAM36 4 KiB) as the capacity needs, at least as many as the widest
  /// unit needs with both ports of every bank, rounded up to a power of two. Word-interleaved:
  /// byte a is in bank (a / spadWordBytes()) % spadBanks().
  unsigned spadBanks() const {
    const uint64_t prim = uram > 0 ? 32768 : 4096;
    const uint64_t cap = (spadBytes() + prim - 1) / prim;
    unsigned need = matrixSpadDemand();
    need = need > vectorSpadDemand() ? need : vectorSpadDemand();
    need = need > ssmSpadDemand() ? need : ssmSpadDemand();
    const uint64_t width = (need + 2 * spadWordBytes() - 1) / (2 * spadWordBytes());
    uint64_t p = 1;
    while (p < cap || p < width)
      p *= 2;
    return unsigned(p);
  }
  /// Bytes per cycle the banks serve: both ports of every bank, one word each.
  unsigned spadBytesPerCycle() const { return 2 * spadBanks() * spadWordBytes(); }

  uint64_t spadBytes() const { return uint64_t(spadKiB) * 1024; }
  /// One port's width x clock, GB/s: what its wires carry at one beat per cycle.
  double portWidthGBps() const { return axiBits / 8.0 * clockMhz / 1e3; }
  /// Sustained bandwidth of all ports together: each port at most its achievable figure, all
  /// together at most the DRAM's achievable bandwidth.
  double streamGBps() const {
    double ports = axiPorts * portAchievableGBps;
    return ports < dramAchievableGBps ? ports : dramAchievableGBps;
  }
  /// Sustained bytes per overlay clock cycle over all ports (streamGBps() per cycle).
  double dramBytesPerCycle() const { return streamGBps() * 1e3 / clockMhz; }
  /// Multiply-accumulates of kind m per DSP slice of this board (macsPerDsp).
  unsigned macsPerDsp(MacKind m) const { return target::macsPerDsp(DspKind(dspKind), m); }
  /// int8 multiply-accumulates per DSP slice (WP486 packing on DSP48E2, 3-way dot on DSP58).
  unsigned int8MacsPerDsp() const { return macsPerDsp(MacKind::W8A8); }
  /// Group-scale multipliers of the matrix unit (gmm8 / gmm4): enough to scale a tile's matN
  /// partial sums while it runs the K tiles of the next int4 group of 128, matN * 2 matK / 128,
  /// clamped to 1..matN (HlsConfig.h: SCALE_LANES, the same formula).
  unsigned scaleLanes() const {
    unsigned s = matN * 2 * matK / 128;
    return s < 1 ? 1 : s > matN ? matN : s;
  }
};

/// All boards, in id order (id == index).
const std::vector<Board> &boards();
/// The board called `name`, or nullptr.
const Board *findBoard(const std::string &name);
/// The boards' names in id order (e.g. for a command line's choices).
std::vector<std::string> boardNameList();
/// "vc709, vck190, u280, kv260" (for messages).
std::string boardNames();

} // namespace mamba2::target
