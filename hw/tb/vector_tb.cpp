// C-simulation testbench of vector_top: random element-wise, requantisation, sumsq, mulsumsq,
// addsumsq, fwht, conv4 and conv4pwl micro-ops against the isa/ reference, bit for bit, and the
// busy count against the cycle model's loop cycles (hw::uopLoopCycles).
#include "TbCommon.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/target/Board.h"

using namespace mamba2;
using Cfg = hw::BoardCfg<MAMBA2_BOARD>;

extern "C" unsigned vector_top(uint8_t *spad, const uint8_t *word, int32_t base, int32_t base2,
                               uint32_t *busy);

int main() {
  tb::Rng r(12);
  unsigned fails = 0, trials = 0;
  using C = isa::UopCode;
  const C ops[] = {C::Add32, C::Mulsh32, C::Shift32, C::Sext8,    C::Req8,    C::Shr8,
                   C::Sumsq, C::Fwht,    C::Conv4,   C::Mulsumsq, C::Addsumsq};
  constexpr unsigned kOps = sizeof(ops) / sizeof(ops[0]);
  const unsigned fwhtLens[] = {1, 2, 64, 12, 96, 40, 320};
  for (unsigned t = 0; t < 10 * kOps; ++t, ++trials) {
    const C op = ops[t % kOps];
    uint32_t len = 1 + r.u(300);
    int64_t p0 = r.u(40), p1 = r.u(2), p2 = op == C::Mulsumsq || op == C::Addsumsq ? r.u(64) : 0;
    if (op == C::Shift32)
      p0 = int64_t(r.u(95)) - 31;
    if (op == C::Sext8)
      p0 = r.u(24);
    if (op == C::Fwht)
      len = fwhtLens[r.u(7)];
    const isa::UopWord w = tb::word(op, {{"dst", 0},
                                         {"src0", 8192},
                                         {"src1", 16384},
                                         {"src2", 24576},
                                         {"len", len},
                                         {"p0", p0},
                                         {"p1", p1},
                                         {"p2", p2}});
    isa::Memory ref;
    ref.spad.assign(Cfg::SPAD_BYTES, 0);
    r.fill(ref.spad);
    std::vector<uint8_t> spad = ref.spad;
    const std::string re = tb::reference(w, isa::Slot::Vector, ref);
    uint8_t bytes[isa::kUopBytes];
    w.toBytes(bytes);
    uint32_t busy = 0;
    const unsigned e = vector_top(spad.data(), bytes, 0, 0, &busy);
    const uint64_t want = hw::uopLoopCycles(isa::resolveUop(w, isa::RunArgs{}, 0),
                                            target::boards()[MAMBA2_BOARD], false);
    if (!re.empty() || e != 0 || spad != ref.spad || busy != want) {
      std::printf("differs: %s (reference '%s', top %u, busy %u vs %llu)\n",
                  isa::formatUop(w).c_str(), re.c_str(), e, busy, (unsigned long long)want);
      ++fails;
    }
  }
  // conv4pwl: the SiLU table at src1, the conv parameters p4 bytes after it.
  const std::vector<int32_t> silu = isa::buildPwl("silu", isa::PwlSpec{});
  for (unsigned t = 0; t < 20; ++t, ++trials) {
    const uint32_t len = 1 + r.u(300);
    const int64_t p4 = int64_t(4 * silu.size()) + 8 * r.u(4);
    const isa::UopWord w = tb::word(C::Conv4pwl, {{"dst", 0},
                                                  {"src0", 8192},
                                                  {"src1", 16384},
                                                  {"src2", 40960},
                                                  {"len", len},
                                                  {"p0", r.u(40)},
                                                  {"p2", r.u(2)},
                                                  {"p4", p4}});
    isa::Memory ref;
    ref.spad.assign(Cfg::SPAD_BYTES, 0);
    r.fill(ref.spad);
    std::memcpy(&ref.spad[16384], silu.data(), 4 * silu.size());
    std::vector<uint8_t> spad = ref.spad;
    const std::string re = tb::reference(w, isa::Slot::Vector, ref);
    uint8_t bytes[isa::kUopBytes];
    w.toBytes(bytes);
    uint32_t busy = 0;
    const unsigned e = vector_top(spad.data(), bytes, 0, 0, &busy);
    const uint64_t want = hw::uopLoopCycles(isa::resolveUop(w, isa::RunArgs{}, 0),
                                            target::boards()[MAMBA2_BOARD], false);
    if (!re.empty() || e != 0 || spad != ref.spad || busy != want) {
      std::printf("differs: %s (reference '%s', top %u, busy %u vs %llu)\n",
                  isa::formatUop(w).c_str(), re.c_str(), e, busy, (unsigned long long)want);
      ++fails;
    }
  }
  return tb::report("vector_top", trials, fails);
}
