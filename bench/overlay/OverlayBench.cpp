// Weight-streaming benchmark of the cycle model: a decode-style matrix-vector product streams
// int8, int4 or group-quantised int4 (g4: per-(n, 128-group) int32 scales, the gmm4 micro-op,
// microcoded loads of weights + scales) weight tiles through N buffers (the pattern of
// test/e2e/overlay programs/stream_loops.s) on each board configuration. Prints, per board and
// precision, the modelled DRAM bandwidth against the board's sustained bandwidth (its ports'
// and its DRAM's, target/boards) and against the ports' wires (width x clock x ports), the
// matrix unit's busy share, and how fast the simulator itself runs. The weight rows are laid
// out as the compiler lays them out: `wpitch` bytes apart (target::weightRowPitch, zero
// bytes between rows, streamed with them) and each tile buffer placed so that a K step's words
// and the activations' are on distinct banks (as codegen's weightTilePlace); the useful rate
// counts the weights and scales without that padding. It prints no decode rate:
// a synthetic weight stream is not a model (no SSM, conv, norms, state traffic). Usage:
// mamba2-bench-overlay [MiB of weights per run, default 32] [tile buffers, 4] [rows per tile, 128]
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/target/MatrixBanks.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mamba2;

namespace {

enum class W { Int8, Int4, Group4 };
const char *wName(W w) { return w == W::Int8 ? "int8" : w == W::Int4 ? "int4" : "g4"; }
constexpr unsigned kGroup = 128;

// K = 1024 inputs, tiles of `kN` output channels (128 by default: two passes of a 64-lane matrix
// unit per micro-op, as the compiler's tiles of hundreds of rows have several; the third
// argument sets it): rows of 1 KiB (int8) or 512 bytes (int4), each padded to the board's
// pitch (g4 adds the scales, int32 [kN][1024/128], after each tile) per tile, `nb` tile buffers in
// the scratchpad. Tokens: i = "buffer i filled" (load -> matrix), 8 + i = "buffer i free" (matrix
// -> load, primed by ctrl).
constexpr unsigned kK = 1024;
unsigned kN = 128;
unsigned rowBytes(W w) { return w == W::Int8 ? kK : kK / 2; }
unsigned pitchOf(const hw::BoardConfig &b, W w) {
  return unsigned(target::weightRowPitch(rowBytes(w), b.spadBanks(),
                                         hw::BoardConfig::spadWordBytes(), b.matN, b.matK));
}
unsigned tileBytesOf(const hw::BoardConfig &b, W w) {
  return kN * pitchOf(b, w) + (w == W::Group4 ? kN * (kK / kGroup) * 4 : 0);
}
/// Buffer i's address: after the previous one, moved by whole words until the matmul's K steps
/// (activations at 0) meet no bank conflict.
unsigned bufferAt(const hw::BoardConfig &b, W w, unsigned from) {
  const unsigned word = unsigned(hw::BoardConfig::spadWordBytes()), span = b.spadBanks() * word;
  target::MatmulBankShape s;
  s.pitch = pitchOf(b, w);
  s.m = 1;
  s.k = kK;
  s.n = kN;
  s.int4 = w != W::Int8;
  s.grouped = w == W::Group4;
  s.group = s.grouped ? kGroup : 0;
  for (unsigned d = 0; d < span; d += word) {
    s.wgt = from + d;
    if (target::matmulBankWaits(s, b.spadBanks(), word, b.matN, s.int4 ? b.matKInt4() : b.matK) ==
        0)
      return from + d;
  }
  return from;
}

std::string program(const hw::BoardConfig &b, W w, uint64_t tiles, unsigned nb) {
  const bool int4 = w != W::Int8;
  const unsigned K = kK, N = kN, rowb = pitchOf(b, w), wBytes = N * rowb;
  const unsigned sBytes = w == W::Group4 ? N * (K / kGroup) * 4 : 0, tileBytes = wBytes + sBytes;
  const unsigned span = b.spadBanks() * unsigned(hw::BoardConfig::spadWordBytes());
  std::vector<unsigned> buf(nb);
  for (unsigned i = 0, at = 4096; i < nb; ++i, at = buf[i - 1] + tileBytes)
    buf[i] = bufferAt(b, w, at);
  const unsigned acc = buf[nb - 1] + tileBytes + span;
  const std::string pitch = rowb == rowBytes(w) ? "" : " wpitch=" + std::to_string(rowb);
  std::string s = ".target " + std::string(b.name) + "\n";
  s += ".region const " + std::to_string(tiles * tileBytes) + "\n.region io 8192\n.entry main\n";
  auto n = [](uint64_t v) { return std::to_string(v); };
  // The matrix micro-op of buffer i (a matrix.run of one word: the macro shortcuts have no
  // wpitch).
  for (unsigned i = 0; i < nb && w != W::Group4; ++i)
    s += ".uop " + n(2 * nb + i) + (int4 ? " mm4" : " mm8") + " acc=" + n(acc) +
         " wgt=" + n(buf[i]) + " m=1 k=" + n(K) + " n=" + n(N) + " accum=1" + pitch + "\n";
  if (w == W::Group4)
    for (unsigned i = 0; i < nb; ++i) {
      // Weights and scales of buffer i: one load.run of two 2-D transfers; one gmm4 micro-op.
      s += ".uop " + n(2 * i) + " load2d spad=" + n(buf[i]) + " dram=" + n(i * tileBytes) +
           " rows=" + n(N) + " rowb=" + n(rowb) + " stride=" + n(rowb) + "\n";
      s += ".uop " + n(2 * i + 1) + " load2d spad=" + n(buf[i] + wBytes) +
           " dram=" + n(i * tileBytes + wBytes) + " rows=1 rowb=" + n(sBytes) + "\n";
      s += ".uop " + n(2 * nb + i) + " gmm4 acc=" + n(acc) + " wgt=" + n(buf[i]) +
           " scl=" + n(buf[i] + wBytes) + " m=1 k=" + n(K) + " n=" + n(N) + " group=" + n(kGroup) +
           " shift=8 accum=1" + pitch + "\n";
    }
  s += "{ ctrl.seti rd=1 imm=0 ; load.dma region=io rows=1 rowb=" + n(K) + " }\n";
  for (unsigned i = 0; i < nb; ++i)
    s += "{ ctrl.sync signal=" + n(8 + i) + " }\n";
  s += "{ ctrl.loop count=" + n(tiles / nb) + " body=" + n(2 * nb) + " }\n";
  for (unsigned i = 0; i < nb; ++i)
    s += w == W::Group4
             ? "{ load.run ustart=" + n(2 * i) + " ulen=2 iters=1 breg=1 wait=" + n(8 + i) +
                   " signal=" + n(i) + " }\n"
             : "{ load.dma spad=" + n(buf[i]) + " region=const dreg=1 dram=" + n(i * tileBytes) +
                   " rows=" + n(N) + " rowb=" + n(rowb) + " stride=" + n(rowb) +
                   " wait=" + n(8 + i) + " signal=" + n(i) + " }\n";
  for (unsigned i = 0; i < nb; ++i)
    s += std::string("{ ") +
         (i + 1 == nb ? "ctrl.addi rd=1 rs=1 imm=" + n(nb * tileBytes) + " ; " : "") +
         "matrix.run ustart=" + n(2 * nb + i) + " ulen=1 iters=1" + " wait=" + n(i) +
         " signal=" + n(8 + i) + " }\n";
  s += "{ ctrl.halt ; store.dma spad=" + n(acc) + " region=io rows=1 rowb=" + n(4 * N) + " }\n";
  return s;
}

// Loads only: `chunks` 2-D loads of 64 rows x 4 KiB from the const region into one scratchpad
// buffer, no tokens: the DMA engine alone, streaming over all ports.
std::string loadsOnly(const hw::BoardConfig &b, uint64_t chunks) {
  const uint64_t chunk = 64 * 4096;
  std::string s = ".target " + std::string(b.name) + "\n.region const " +
                  std::to_string(chunks * chunk) + "\n.entry main\n";
  for (uint64_t i = 0; i < chunks; ++i)
    s += "{ load.dma region=const dram=" + std::to_string(i * chunk) +
         " rows=64 rowb=4096 stride=4096 }\n";
  return s + "{ ctrl.halt }\n";
}

/// Assembles and runs `text` in the cycle model; `wall` gets the simulator's seconds. An error
/// is printed naming the board.
hw::SimResult runTimed(const std::string &text, const hw::BoardConfig &b, double &wall) {
  isa::Program p = isa::assemble(text, "bench.s");
  isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
  auto t0 = std::chrono::steady_clock::now();
  hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
  wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.error.empty())
    std::fprintf(stderr, "%s: %s\n", b.name, r.error.c_str());
  return r;
}

} // namespace

int main(int argc, char **argv) {
  uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 32;
  unsigned nb = argc > 2 ? unsigned(std::strtoul(argv[2], nullptr, 10)) : 4;
  kN = argc > 3 ? unsigned(std::strtoul(argv[3], nullptr, 10)) : 128;
  if (mib == 0 || mib > 1024 || nb < 2 || nb > 8 || kN < 1 || kN > 256) {
    std::fprintf(stderr,
                 "usage: %s [MiB of weights, 1..1024] [tile buffers, 2..8] [rows per tile, "
                 "1..256]\n",
                 argv[0]);
    return 2;
  }
  std::printf("Decode weight streaming, cycle model: %llu MiB of weights per run, tiles "
              "[%u][1024], %u buffers\n\n",
              (unsigned long long)mib, kN, nb);
  std::printf("%-7s %-5s %12s %10s %10s %10s %9s %10s %9s %9s %12s %12s\n", "board", "W", "cycles",
              "GB/s", "useful", "sustained", "of it", "wires", "matrix%", "mat mem%", "sim wall s",
              "sim MB/s");
  for (const hw::BoardConfig &b : hw::boards()) {
    double wall = 0;
    hw::SimResult r = runTimed(loadsOnly(b, (mib << 20) / (64 * 4096)), b, wall);
    if (!r.error.empty())
      return 1;
    double bytes = double(r.units[unsigned(isa::Slot::Load)].bytes);
    double gbps = bytes / (double(r.cycles) / (b.clockMhz * 1e6)) / 1e9;
    std::printf("%-7s %-5s %12llu %10.1f %10.1f %10.1f %8.1f%% %10.1f %9s %9s %12.3f %12.1f\n",
                b.name, "load", (unsigned long long)r.cycles, gbps, gbps, b.streamGBps(),
                100.0 * gbps / b.streamGBps(), b.axiPorts * b.portWidthGBps(), "-", "-", wall,
                bytes / wall / 1e6);
  }
  for (const hw::BoardConfig &b : hw::boards()) {
    for (W w : {W::Int8, W::Int4, W::Group4}) {
      // Weights (and g4's scales) of a tile without the rows' pad: the useful bytes.
      const uint64_t useful = uint64_t(kN) * (w == W::Int8   ? kK
                                              : w == W::Int4 ? kK / 2
                                                             : kK / 2 + (kK / kGroup) * 4);
      uint64_t tiles = (mib << 20) / useful;
      tiles -= tiles % nb;
      double wall = 0;
      hw::SimResult r = runTimed(program(b, w, tiles, nb), b, wall);
      if (!r.error.empty())
        return 1;
      double seconds = double(r.cycles) / (b.clockMhz * 1e6);
      double bytes = double(r.units[unsigned(isa::Slot::Load)].bytes);
      double gbps = bytes / seconds / 1e9, ugbps = double(tiles * useful) / seconds / 1e9;
      if (bytes != double(tiles * tileBytesOf(b, w)) + 1024) { // the tiles and the activations
        std::fprintf(stderr, "%s %s: loaded %.0f bytes\n", b.name, wName(w), bytes);
        return 1;
      }
      // Busy: the matrix unit's steps and fill; stalled on memory: its bank conflicts.
      const hw::UnitCounters &mu = r.units[unsigned(isa::Slot::Matrix)];
      double matrixBusy = 100.0 * double(mu.busy) / double(r.cycles);
      double matrixMem = 100.0 * double(mu.stallMemory) / double(r.cycles);
      std::printf(
          "%-7s %-5s %12llu %10.1f %10.1f %10.1f %8.1f%% %10.1f %8.1f%% %8.1f%% %12.3f %12.1f\n",
          b.name, wName(w), (unsigned long long)r.cycles, gbps, ugbps, b.streamGBps(),
          100.0 * ugbps / b.streamGBps(), b.axiPorts * b.portWidthGBps(), matrixBusy, matrixMem,
          wall, bytes / wall / 1e6);
    }
  }
  std::printf("\nGB/s: DRAM bytes loaded (weight rows with their pad); useful: without the pad "
              "(of it: useful / sustained); sustained = min(ports x one port's achievable, DRAM "
              "achievable); wires = ports x width x clock.\n");
  return 0;
}
