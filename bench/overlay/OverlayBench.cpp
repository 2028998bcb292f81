// Weight-streaming benchmark of the cycle model: a decode-style matrix-vector product streams
// int8 or int4 weight tiles through a double buffer (the pattern of test/e2e/overlay
// programs/stream_loops.s) on each board configuration. Prints, per board and precision, the
// modelled DRAM bandwidth and its share of the achievable bandwidth, the matrix unit's busy
// share, the decode rate this implies for the 2.7B model's weights, and how fast the simulator
// itself runs. Usage: mamba2-bench-overlay [MiB of weights per run, default 32]
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/Asm.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mamba2;

namespace {

// K = 1024 inputs, tiles of 64 output channels: 64 KiB (int8) or 32 KiB (int4) per tile.
std::string program(const hw::BoardConfig &b, bool int4, uint64_t tiles) {
  const unsigned K = 1024, N = 64, rowb = int4 ? K / 2 : K, tileBytes = N * rowb;
  const unsigned A = 4096, B = A + tileBytes, acc = B + tileBytes;
  std::string s = ".target " + std::string(b.name) + "\n";
  s += ".region const " + std::to_string(tiles * tileBytes) + "\n.region io 8192\n.entry main\n";
  const std::string mm = int4 ? "matrix.mm4" : "matrix.mm8";
  auto mmline = [&](unsigned w, unsigned wait, unsigned sig) {
    return mm + " wgt=" + std::to_string(w) + " acc=" + std::to_string(acc) + " m=1 k=" + std::to_string(K) +
           " n=" + std::to_string(N) + " accum=1 wait=" + std::to_string(wait) + " signal=" + std::to_string(sig);
  };
  auto ld = [&](unsigned spad, unsigned dram, unsigned wait, unsigned sig) {
    return "load.dma spad=" + std::to_string(spad) + " region=const dreg=1 dram=" + std::to_string(dram) +
           " rows=" + std::to_string(N) + " rowb=" + std::to_string(rowb) + " stride=" + std::to_string(rowb) +
           " wait=" + std::to_string(wait) + " signal=" + std::to_string(sig);
  };
  s += "{ ctrl.seti rd=1 imm=0 ; load.dma region=io rows=1 rowb=" + std::to_string(K) + " }\n";
  s += "{ ctrl.sync signal=2 }\n{ ctrl.sync signal=3 }\n";
  s += "{ ctrl.loop count=" + std::to_string(tiles / 2) + " body=4 }\n";
  s += "{ " + ld(A, 0, 2, 0) + " }\n";
  s += "{ " + ld(B, tileBytes, 3, 1) + " }\n";
  s += "{ " + mmline(A, 0, 2) + " }\n";
  s += "{ ctrl.addi rd=1 rs=1 imm=" + std::to_string(2 * tileBytes) + " ; " + mmline(B, 1, 3) + " }\n";
  s += "{ ctrl.halt ; store.dma spad=" + std::to_string(acc) + " region=io rows=1 rowb=" + std::to_string(4 * N) + " }\n";
  return s;
}

} // namespace

int main(int argc, char **argv) {
  uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 32;
  if (mib == 0 || mib > 1024) {
    std::fprintf(stderr, "usage: %s [MiB of weights, 1..1024]\n", argv[0]);
    return 2;
  }
  std::printf("Decode weight streaming, cycle model: %llu MiB of weights per run, tiles [64][1024]\n\n",
              (unsigned long long)mib);
  std::printf("%-7s %-5s %12s %10s %10s %9s %9s %14s %12s %12s\n", "board", "W", "cycles", "GB/s", "achievable",
              "DRAM%", "matrix%", "2.7B tok/s", "sim Mbund/s", "sim MB/s");
  for (const hw::BoardConfig &b : hw::boards()) {
    for (bool int4 : {false, true}) {
      uint64_t tileBytes = int4 ? 32768 : 65536;
      uint64_t tiles = (mib << 20) / tileBytes;
      tiles -= tiles % 2;
      isa::Program p = isa::assemble(program(b, int4, tiles), "bench.s");
      isa::Memory m = isa::Memory::forProgram(p, b.spadBytes());
      auto t0 = std::chrono::steady_clock::now();
      hw::SimResult r = hw::simulate(p, "main", m, b, {hw::SimMode::Cycle});
      double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!r.error.empty()) {
        std::fprintf(stderr, "%s: %s\n", b.name, r.error.c_str());
        return 1;
      }
      double seconds = double(r.cycles) / (b.clockMhz * 1e6);
      double bytes = double(r.units[unsigned(isa::Slot::Load)].bytes);
      double gbps = bytes / seconds / 1e9;
      double matrixBusy = 100.0 * double(r.units[unsigned(isa::Slot::Matrix)].busy) / double(r.cycles);
      double tokPerS = gbps * 1e9 / (2.7e9 * (int4 ? 0.5 : 1.0)); // weights dominate a decode step
      std::printf("%-7s %-5s %12llu %10.1f %10.1f %8.1f%% %8.1f%% %14.1f %12.2f %12.1f\n", b.name,
                  int4 ? "int4" : "int8", (unsigned long long)r.cycles, gbps, b.dramAchievableGBps,
                  100.0 * gbps / b.dramAchievableGBps, matrixBusy, tokPerS, double(r.bundles) / wall / 1e6,
                  bytes / wall / 1e6);
    }
  }
  std::printf("\n2.7B tok/s = modelled weight bandwidth / weight bytes per token (2.7 GB int8, 1.35 GB int4);\n"
              "it ignores the non-linear layers, which the design hides under the weight stream.\n");
  return 0;
}
