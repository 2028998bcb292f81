// C-simulation testbench of dma_top: random load2d / store2d micro-ops (spans inside stripes and
// beats, rows apart or contiguous) between the scratchpad and a region striped over the board's
// ports (target/Stripes.h) against the isa/ reference, bit for bit, and the busy count against
// the cycle model's schedule (hw::dmaCostAt(...): schedule - conflicts), the bank-conflict
// cycles against its conflicts.
#include "TbCommon.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Overlay.h"
#include "mamba2/target/Board.h"
#include "mamba2/target/KernelArgs.h"
#include "mamba2/target/Stripes.h"

#include "Dma.h"

using namespace mamba2;
using Cfg = hw::BoardCfg<MAMBA2_BOARD>;
using BeatT = hw::Beat<Cfg::AXI_BITS / 8>;

extern "C" unsigned dma_top(uint8_t *spad, const uint8_t *word, int32_t base, int32_t base2,
                            uint32_t region_base, uint32_t *busy, uint32_t *stall,
                            MAMBA2_OVERLAY_PORT_PARAMS(BeatT));

int main() {
  tb::Rng r(14);
  unsigned fails = 0, trials = 0;
  const target::Board &b = target::boards()[MAMBA2_BOARD];
  const uint64_t region = 32 * 1024;
  for (unsigned t = 0; t < 60; ++t, ++trials) {
    const bool store = t % 2;
    const uint64_t rows = 1 + r.u(5), rowb = 1 + r.u(3000);
    const uint64_t stride = r.u(2) ? rowb : rowb + r.u(500);
    const uint64_t dram = r.u(uint32_t(region - ((rows - 1) * stride + rowb) + 1));
    const isa::UopWord w = tb::word(store ? isa::UopCode::Store2d : isa::UopCode::Load2d,
                                    {{"spad", 64 + r.u(64)},
                                     {"region", 1},
                                     {"dram", int64_t(dram)},
                                     {"rows", int64_t(rows)},
                                     {"rowb", int64_t(rowb)},
                                     {"stride", int64_t(stride)}});
    isa::Memory ref;
    ref.spad.assign(Cfg::SPAD_BYTES, 0);
    r.fill(ref.spad);
    for (unsigned g = 0; g < 4; ++g)
      ref.dram[g].assign(g == 1 ? region : 0, 0);
    r.fill(ref.dram[1]);
    std::vector<uint8_t> spad = ref.spad;
    // The io region (1) behind the const region's share, as the XRT backend lays it out.
    const target::StripeMap m = target::stripeMap(b.axiPorts, b.stripeBytes, {4096, region, 0, 0});
    std::vector<std::vector<uint8_t>> ports(b.axiPorts, std::vector<uint8_t>(m.portBytes, 0));
    target::stripeScatter(m, 1, 0, ref.dram[1].data(), region, ports);
    const std::string re = tb::reference(w, store ? isa::Slot::Store : isa::Slot::Load, ref);
    uint8_t bytes[isa::kUopBytes];
    w.toBytes(bytes);
    uint32_t busy = 0, stall = 0;
#define MAMBA2_PORT_ARG(q, name) , reinterpret_cast<BeatT *>(ports[q].data())
    const unsigned e = dma_top(spad.data(), bytes, 0, 0, uint32_t(m.base[1]), &busy,
                               &stall MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_ARG));
#undef MAMBA2_PORT_ARG
    std::vector<uint8_t> io(region);
    target::stripeGather(m, 1, 0, io.data(), region, ports);
    const hw::DmaCost c = hw::dmaCostAt(dram, rows, rowb, stride, b);
    const uint64_t want = c.schedule - c.conflicts;
    if (!re.empty() || e != 0 || spad != ref.spad || io != ref.dram[1] || busy != want ||
        stall != c.conflicts) {
      std::printf("differs: %s (reference '%s', top %u, busy %u vs %llu, stall %u vs %llu)\n",
                  isa::formatUop(w).c_str(), re.c_str(), e, busy, (unsigned long long)want, stall,
                  (unsigned long long)c.conflicts);
      ++fails;
    }
  }
  return tb::report("dma_top", trials, fails);
}
