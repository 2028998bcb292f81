// C-simulation testbench of vector_top: random element-wise, requantisation, sumsq, mulsumsq,
// addsumsq, fwht, conv4, conv4pwl, trn and split16 micro-ops against the isa/ reference, bit for
// bit, and the busy count against the cycle model's loop cycles (hw::uopLoopCycles); on a board
// without the chunked SSD units, trn and split16 refused.
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
  // trn and split16 (the chunked SSD form): bit for bit where the board has their units,
  // refused (kBadOp, the scratchpad untouched) where it is built without them. trn: R or C = 1,
  // pitches beyond the extents, int8 and int32, the form's 32 x 1536 int8 and 64 x 32 int32;
  // split16: int32 extremes (the fill), shifts 0 and 31.
  const target::Board &board = target::boards()[MAMBA2_BOARD];
  const unsigned kBadOp = 7;
  struct Trn {
    unsigned R, C, bytes, sp, dp;
  };
  std::vector<Trn> trns = {{1, 1, 1, 0, 0},     {1, 37, 4, 0, 0},  {37, 1, 1, 0, 0},
                           {32, 1536, 1, 0, 0}, {64, 32, 4, 0, 0}, {9, 17, 4, 40, 11},
                           {17, 9, 1, 9, 300},  {8, 8, 4, 8, 8}};
  for (unsigned t = 0; t < 24; ++t) {
    const unsigned R = 1 + r.u(70), C = 1 + r.u(70);
    trns.push_back({R, C, r.u(2) ? 4u : 1u, r.u(2) ? 0 : C + r.u(9), r.u(2) ? 0 : R + r.u(9)});
  }
  for (const Trn &x : trns) {
    ++trials;
    const isa::UopWord w = tb::word(C::Trn, {{"dst", 262144},
                                             {"src0", 4096},
                                             {"len", x.R},
                                             {"p0", x.C},
                                             {"p1", x.bytes},
                                             {"p2", x.sp},
                                             {"p3", x.dp}});
    std::vector<uint8_t> spad(Cfg::SPAD_BYTES, 0);
    r.fill(spad);
    fails += !tb::agrees(vector_top, w, isa::Slot::Vector, spad,
                         hw::uopLoopCycles(isa::resolveUop(w, isa::RunArgs{}, 0), board, false),
                         !Cfg::CHUNKED_SSD, kBadOp);
  }
  for (unsigned t = 0; t < 20; ++t, ++trials) {
    const int64_t sh = t == 0 ? 0 : t == 1 ? 31 : r.u(32);
    const isa::UopWord w =
        tb::word(C::Split16,
                 {{"dst", 0}, {"src0", 8192}, {"src2", 40000}, {"len", 1 + r.u(300)}, {"p0", sh}});
    std::vector<uint8_t> spad(Cfg::SPAD_BYTES, 0);
    r.fill(spad);
    fails += !tb::agrees(vector_top, w, isa::Slot::Vector, spad,
                         hw::uopLoopCycles(isa::resolveUop(w, isa::RunArgs{}, 0), board, false),
                         !Cfg::CHUNKED_SSD, kBadOp);
  }
  // Parameters outside the micro-op's range: refused on every board (the element size 2, no
  // columns, a pitch below the extent; split16's shift 32).
  const isa::UopWord bad[] = {
      tb::word(C::Trn, {{"dst", 262144}, {"src0", 4096}, {"len", 4}, {"p0", 4}, {"p1", 2}}),
      tb::word(C::Trn, {{"dst", 262144}, {"src0", 4096}, {"len", 4}, {"p0", 0}, {"p1", 1}}),
      tb::word(C::Trn,
               {{"dst", 262144}, {"src0", 4096}, {"len", 4}, {"p0", 4}, {"p1", 1}, {"p2", 3}}),
      tb::word(C::Split16, {{"dst", 0}, {"src0", 8192}, {"src2", 40000}, {"len", 4}, {"p0", 32}})};
  for (const isa::UopWord &w : bad) {
    ++trials;
    std::vector<uint8_t> spad(Cfg::SPAD_BYTES, 0);
    r.fill(spad);
    fails += !tb::agrees(vector_top, w, isa::Slot::Vector, spad, 0, true, kBadOp);
  }
  return tb::report("vector_top", trials, fails);
}
