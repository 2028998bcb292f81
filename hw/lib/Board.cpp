#include "mamba2/hw/Board.h"

namespace mamba2::hw {

const std::vector<BoardConfig> &boards() {
  static const std::vector<BoardConfig> all = {
#define BOARD(id, name, part, dsp, bram, uram, lut, kind, mhz, peak, ach, lat, ports, bits, mk,    \
              mn, vl, sl, spad, qd)                                                                \
  BoardConfig{id,  name, part,  dsp,  bram, uram, lut, kind, mhz,  peak,                           \
              ach, lat,  ports, bits, mk,   mn,   vl,  sl,   spad, qd},
#include "../config/boards.def"
#undef BOARD
  };
  return all;
}

const BoardConfig *findBoard(const std::string &name) {
  for (const BoardConfig &b : boards())
    if (name == b.name)
      return &b;
  return nullptr;
}

std::string boardNames() {
  std::string s;
  for (const BoardConfig &b : boards())
    s += (s.empty() ? "" : ", ") + std::string(b.name);
  return s;
}

} // namespace mamba2::hw
