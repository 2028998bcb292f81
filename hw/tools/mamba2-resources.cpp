// mamba2-resources: prints the resource estimate of each board's overlay configuration (or of
// one board with unit sizes overridden) and exits non-zero when a configuration does not fit.
#include "mamba2/hw/Resources.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>

using namespace mamba2::hw;

static bool report(const BoardConfig &c) {
  ResourceEstimate e = estimateResources(c);
  std::printf("%s (%s) mat %ux%u vec %u ssm %u spad %u KiB @ %.0f MHz%s\n", c.name, c.part, c.matK,
              c.matN, c.vecLanes, c.ssmLanes, c.spadKiB, c.clockMhz,
              c.chunkedSsd ? ", chunked SSD units" : "");
  std::printf("  %-26s %8s %8s %8s %10s\n", "part", "DSP", "BRAM36", "URAM", "LUT");
  for (const ResourceLine &l : e.lines)
    std::printf("  %-26s %8.0f %8.0f %8.0f %10.0f\n", l.part.c_str(), l.dsp, l.bram36, l.uram,
                l.lut);
  std::printf("  %-26s %8.0f %8.0f %8.0f %10.0f\n", "total", e.total.dsp, e.total.bram36,
              e.total.uram, e.total.lut);
  std::printf("  %-26s %8u %8u %8u %10u\n", "board", c.dsp, c.bram36, c.uram, c.lut);
  for (const std::string &o : e.overBudget)
    std::printf("  DOES NOT FIT: %s\n", o.c_str());
  std::printf("  %s\n\n", e.fits() ? "fits" : "refused");
  return e.fits();
}

int main(int argc, char **argv) {
  CLI::App app{"Resource estimate of the Mamba2 overlay per board"};
  std::string board;
  unsigned matK = 0, matN = 0, vec = 0, ssm = 0, spad = 0;
  app.add_option("--board", board, "one board (" + boardNames() + "); default: all");
  app.add_option("--mat-k", matK, "override the matrix unit's dot-product length");
  app.add_option("--mat-n", matN, "override the matrix unit's number of dot products");
  app.add_option("--vec-lanes", vec, "override the vector lanes");
  app.add_option("--ssm-lanes", ssm, "override the SSM lanes");
  app.add_option("--spad-kib", spad, "override the scratchpad size (KiB)");
  std::string chunked;
  app.add_option("--chunked-ssd", chunked,
                 "override the board's chunked SSD units (trn, split16, segdecay)")
      ->check(CLI::IsMember({"on", "off"}));
  bool demand = false;
  app.add_flag("--demand", demand,
               "print each unit's scratchpad bytes per cycle against what the banks serve "
               "(markdown rows, docs/overlay.md)");
  CLI11_PARSE(app, argc, argv);
  if (demand) {
    for (const BoardConfig &b : boards()) {
      if (!board.empty() && board != b.name)
        continue;
      std::string up = b.name;
      for (char &ch : up)
        ch = char(std::toupper(static_cast<unsigned char>(ch)));
      std::printf("| %s | %u x %u B, %.0f B/cycle |", up.c_str(), b.spadBanks(),
                  BoardConfig::spadWordBytes(), spadSupply(b));
      for (const SpadDemand &d : spadDemand(b))
        std::printf(" %.0f%s |", d.bytesPerCycle,
                    d.bytesPerCycle <= spadSupply(b) ? "" : " (over)");
      std::printf(" %u x %u B, %.0f B/cycle |\n", b.axiPorts, b.axiBits / 8, b.dramBytesPerCycle());
    }
    return 0;
  }
  bool overrides = matK || matN || vec || ssm || spad || !chunked.empty();
  if (overrides && board.empty()) {
    std::fprintf(stderr, "mamba2-resources: error: overrides need --board\n");
    return 2;
  }
  bool ok = true;
  for (const BoardConfig &b : boards()) {
    if (!board.empty() && board != b.name)
      continue;
    BoardConfig c = b;
    if (matK)
      c.matK = matK;
    if (matN)
      c.matN = matN;
    if (vec)
      c.vecLanes = vec;
    if (ssm)
      c.ssmLanes = ssm;
    if (spad)
      c.spadKiB = spad;
    if (!chunked.empty())
      c.chunkedSsd = chunked == "on";
    ok = report(c) && ok;
  }
  if (!board.empty() && !findBoard(board)) {
    std::fprintf(stderr, "mamba2-resources: error: unknown board '%s' (%s)\n", board.c_str(),
                 boardNames().c_str());
    return 2;
  }
  return ok ? 0 : 1;
}
