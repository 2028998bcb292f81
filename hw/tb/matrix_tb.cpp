// C-simulation testbench of matrix_top: random mm8 / mm4 / gmm8 / gmm4 micro-ops against the
// isa/ reference, bit for bit, and the busy and bank-stall counts against the cycle model's
// matmulSteps and matmulConflictCycles (weight rows dense or `wpitch` apart, some of them on
// shared banks).
#include "TbCommon.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Overlay.h"
#include "mamba2/target/Board.h"

using namespace mamba2;
using Cfg = hw::BoardCfg<MAMBA2_BOARD>;

extern "C" unsigned matrix_top(uint8_t *spad, const uint8_t *word, int32_t base, int32_t base2,
                               uint32_t *busy, uint32_t *stall);

int main() {
  tb::Rng r(11);
  unsigned fails = 0, trials = 0;
  uint64_t stalls = 0;
  const target::Board &b = target::boards()[MAMBA2_BOARD];
  const isa::UopCode ops[] = {isa::UopCode::Mm8, isa::UopCode::Mm4, isa::UopCode::Gmm8,
                              isa::UopCode::Gmm4};
  for (unsigned t = 0; t < 48; ++t, ++trials) {
    const isa::UopCode op = ops[t % 4];
    const bool grouped = op == isa::UopCode::Gmm8 || op == isa::UopCode::Gmm4;
    const uint32_t group = grouped ? 2 * (1 + r.u(40)) : 0, m = 1 + r.u(3), n = 1 + r.u(40);
    const uint32_t k = grouped ? group * (1 + r.u(4)) : 2 * r.u(100);
    const bool int4 = op == isa::UopCode::Mm4 || op == isa::UopCode::Gmm4;
    // Every third micro-op with padded weight rows; a pitch of the banks' span puts all rows
    // of a K step in the same banks.
    const uint32_t span = b.spadBanks() * uint32_t(target::Board::spadWordBytes());
    const uint32_t rowb = int4 ? k / 2 : k;
    const uint32_t wpitch = t % 3 == 1 ? rowb + 8 * r.u(4) : t % 3 == 2 && rowb <= span ? span : 0;
    const isa::UopWord w = tb::word(op, {{"acc", 0},
                                         {"act", 20000},
                                         {"wgt", 30000},
                                         {"scl", 50000},
                                         {"m", m},
                                         {"k", k},
                                         {"n", n},
                                         {"group", group},
                                         {"shift", grouped ? r.u(40) : 0},
                                         {"accum", r.u(2)},
                                         {"wpitch", wpitch}});
    isa::Memory ref;
    ref.spad.assign(Cfg::SPAD_BYTES, 0);
    r.fill(ref.spad);
    std::vector<uint8_t> spad = ref.spad;
    const std::string re = tb::reference(w, isa::Slot::Matrix, ref);
    uint8_t bytes[isa::kUopBytes];
    w.toBytes(bytes);
    uint32_t busy = 0, stall = 0;
    const unsigned e = matrix_top(spad.data(), bytes, 0, 0, &busy, &stall);
    const isa::UopArgs u = isa::resolveUop(w, isa::RunArgs{}, 0);
    if (!re.empty() || e != 0 || spad != ref.spad || busy != hw::matmulSteps(u, b) ||
        stall != hw::matmulConflictCycles(u, b)) {
      std::printf("differs: %s (reference '%s', top %u, busy %u vs %llu, stall %u vs %llu)\n",
                  isa::formatUop(w).c_str(), re.c_str(), e, busy,
                  (unsigned long long)hw::matmulSteps(u, b), stall,
                  (unsigned long long)hw::matmulConflictCycles(u, b));
      ++fails;
    }
    stalls += stall;
  }
  if (stalls == 0) { // the trials must include steps on shared banks
    std::printf("no trial met a bank conflict\n");
    ++fails;
  }
  return tb::report("matrix_top", trials, fails);
}
