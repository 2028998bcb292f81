// C-simulation testbench of ssm_top: pwl / rsqrt with built tables, ssmupd, ssmout, the fused
// ssmstep and segdecay against the isa/ reference, bit for bit, and the busy count against the
// cycle model's loop cycles (segdecay refused on a board without the chunked SSD units).
#include "TbCommon.h"
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Overlay.h"
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/target/Board.h"

using namespace mamba2;
using Cfg = hw::BoardCfg<MAMBA2_BOARD>;

extern "C" unsigned ssm_top(uint8_t *spad, const uint8_t *word, int32_t base, int32_t base2,
                            uint32_t *busy);

int main() {
  tb::Rng r(13);
  unsigned fails = 0, trials = 0;
  using C = isa::UopCode;
  for (unsigned t = 0; t < 60; ++t, ++trials) {
    isa::Memory ref;
    ref.spad.assign(Cfg::SPAD_BYTES, 0);
    r.fill(ref.spad);
    isa::UopWord w;
    if (t >= 50) { // pwlmulpwl: softplus, the multiply by m, exp; m per element or broadcast
      const std::vector<int32_t> sp = isa::buildPwl("softplus", isa::PwlSpec{});
      const std::vector<int32_t> ex = isa::buildPwl("exp", isa::PwlSpec{});
      const uint32_t len = 1 + r.u(300), p3 = uint32_t(sp.size() * 4) + 4 * r.u(3);
      const uint32_t p4 = p3 + uint32_t(ex.size() * 4);
      std::memcpy(ref.spad.data() + 40000, sp.data(), sp.size() * 4);
      std::memcpy(ref.spad.data() + 40000 + p3, ex.data(), ex.size() * 4);
      w = tb::word(C::Pwlmulpwl, {{"dst", 0},
                                  {"src0", 8192},
                                  {"src1", 40000},
                                  {"src2", t % 2 ? 8192 : 16384},
                                  {"len", len},
                                  {"p0", r.u(40)},
                                  {"p1", r.u(2)},
                                  {"p2", t % 3 ? 0 : 1 + r.u(40)},
                                  {"p3", p3},
                                  {"p4", p4}});
    } else
      switch (t % 5) {
      case 0:
      case 1: {
        const std::vector<int32_t> table =
            t % 5 == 0 ? isa::buildPwl("silu", isa::PwlSpec{}) : isa::buildRsqrtTable(20, 64);
        std::memcpy(ref.spad.data() + 40000, table.data(), table.size() * 4);
        w = tb::word(t % 5 == 0 ? C::Pwl : C::Rsqrt,
                     {{"dst", 0}, {"src0", 8192}, {"src1", 40000}, {"len", 1 + r.u(500)}});
        break;
      }
      case 2:
        w = tb::word(C::Ssmupd, {{"dst", 0},
                                 {"src0", 20000},
                                 {"src1", 30000},
                                 {"src2", 31000},
                                 {"len", 1 + r.u(20)},
                                 {"p0", 1 + r.u(40)},
                                 {"p1", r.u(40)},
                                 {"p2", r.u(20)}});
        break;
      case 3:
        // S at 0, dtx and y at 20000, B at 30000 and C p4 bytes after it, decay at 31000.
        w = tb::word(C::Ssmstep, {{"dst", 0},
                                  {"src0", 20000},
                                  {"src1", 30000},
                                  {"src2", 31000},
                                  {"len", 1 + r.u(20)},
                                  {"p0", 1 + r.u(40)},
                                  {"p1", r.u(40)},
                                  {"p2", r.u(20)},
                                  {"p3", r.u(40)},
                                  {"p4", r.u(900)}});
        break;
      default:
        w = tb::word(C::Ssmout, {{"dst", 32000},
                                 {"src0", 0},
                                 {"src1", 30100},
                                 {"len", 1 + r.u(20)},
                                 {"p0", 1 + r.u(40)},
                                 {"p1", r.u(40)}});
        break;
      }
    std::vector<uint8_t> spad = ref.spad;
    const std::string re = tb::reference(w, isa::Slot::Ssm, ref);
    uint8_t bytes[isa::kUopBytes];
    w.toBytes(bytes);
    uint32_t busy = 0;
    const unsigned e = ssm_top(spad.data(), bytes, 0, 0, &busy);
    const uint64_t want = hw::uopLoopCycles(isa::resolveUop(w, isa::RunArgs{}, 0),
                                            target::boards()[MAMBA2_BOARD], true);
    if (!re.empty() || e != 0 || spad != ref.spad || busy != want) {
      std::printf("differs: %s (reference '%s', top %u, busy %u vs %llu)\n",
                  isa::formatUop(w).c_str(), re.c_str(), e, busy, (unsigned long long)want);
      ++fails;
    }
  }
  // segdecay (the chunked SSD form): bit for bit where the board has the units, refused where
  // it is built without them. Q = 1, 64 and random; shifts 0, 30 and random; a_t = 0, 2^shift
  // (the decay 1.0), values below it, int32 extremes.
  const target::Board &board = target::boards()[MAMBA2_BOARD];
  const unsigned kBadOp = 7;
  for (unsigned t = 0; t < 40; ++t, ++trials) {
    const unsigned Q = t == 0 ? 1 : t == 1 || t == 2 ? 64 : 1 + r.u(64);
    const int sh = t == 1 ? 0 : t == 2 || t == 3 ? 30 : int(r.u(31));
    std::vector<uint8_t> spad(Cfg::SPAD_BYTES, 0);
    r.fill(spad);
    for (unsigned i = 0; i < Q; ++i) {
      int32_t a = r.i32();
      switch (r.u(4)) {
      case 0:
        a = 0;
        break;
      case 1:
        a = int32_t(1) << sh;
        break;
      case 2:
        a = int32_t(r.u(uint32_t(1) << sh));
        break;
      default:
        break;
      }
      std::memcpy(spad.data() + 8192 + 4 * i, &a, 4);
    }
    const isa::UopWord w =
        tb::word(C::Segdecay, {{"dst", 16384}, {"src0", 8192}, {"len", Q}, {"p0", sh}});
    fails += !tb::agrees(ssm_top, w, isa::Slot::Ssm, spad,
                         hw::uopLoopCycles(isa::resolveUop(w, isa::RunArgs{}, 0), board, true),
                         !Cfg::CHUNKED_SSD, kBadOp);
  }
  // Q = 65 and shift 31 (2^31 is no int32): refused on every board.
  const isa::UopWord bad[] = {
      tb::word(C::Segdecay, {{"dst", 16384}, {"src0", 8192}, {"len", 65}, {"p0", 8}}),
      tb::word(C::Segdecay, {{"dst", 16384}, {"src0", 8192}, {"len", 8}, {"p0", 31}})};
  for (const isa::UopWord &w : bad) {
    ++trials;
    std::vector<uint8_t> spad(Cfg::SPAD_BYTES, 0);
    r.fill(spad);
    fails += !tb::agrees(ssm_top, w, isa::Slot::Ssm, spad, 0, true, kBadOp);
  }
  return tb::report("ssm_top", trials, fails);
}
