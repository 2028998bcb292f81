// Glue between decoded issues and the HLS datapaths (hw/units), with the range checks that
// make every access safe before a datapath runs.
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Overlay.h"

#include "../units/Dma.h"
#include "../units/Matrix.h"
#include "../units/VectorUnit.h"

namespace mamba2::hw {

namespace {

UopOperands operands(const isa::UopArgs &u) {
  return UopOperands{unsigned(u.op), u64(u.dst), u64(u.src0), u64(u.src1), u64(u.src2),
                     u.len,          u.p0,       u.p1,        u.p2};
}

uint64_t uopOps(const isa::UopArgs &u) {
  if (u.op == isa::UopCode::Ssmupd || u.op == isa::UopCode::Ssmout)
    return uint64_t(u.len) * uint64_t(u.p0 < 0 ? 0 : u.p0);
  return u.len;
}

template <class Cfg>
std::string run(const isa::Issue &is, isa::Memory &mem, const std::vector<isa::UopWord> &ucode,
                uint64_t &bytes, uint64_t &ops) {
  byte_t *spad = mem.spad.data();
  switch (is.slot) {
  case isa::Slot::Load:
  case isa::Slot::Store: {
    DmaArgs a{u64(is.x.spad), u64(is.x.dram), is.x.rows, is.x.rowb, is.x.stride};
    if (is.slot == isa::Slot::Load)
      dma_load(spad, mem.dram[is.x.region].data(), a);
    else
      dma_store(spad, mem.dram[is.x.region].data(), a);
    bytes += uint64_t(is.x.rows) * is.x.rowb;
    return "";
  }
  case isa::Slot::Matrix: {
    const isa::MmArgs &m = is.mm;
    matrix_unit<Cfg>(
        spad, MatmulArgs{u64(m.act), u64(m.wgt), u64(m.acc), m.m, m.k, m.n, m.accum, m.int4});
    ops += uint64_t(m.m) * m.n * m.k;
    bytes += m.int4 ? uint64_t(m.n) * (m.k / 2) : uint64_t(m.n) * m.k;
    return "";
  }
  case isa::Slot::Vector:
  case isa::Slot::Ssm:
    for (uint32_t it = 0; it < is.run.iters; ++it)
      for (uint32_t i = 0; i < is.run.ulen; ++i) {
        isa::UopArgs u = isa::resolveUop(ucode[is.run.ustart + i], is.run, it);
        std::string e = isa::checkUopRanges(u, mem.spad.size());
        if (e.empty() && (u.op == isa::UopCode::Pwl || u.op == isa::UopCode::Rsqrt) && u.len) {
          PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
          e = isa::checkPwlTable(u, 4 * (4 + 2 * uint64_t(h.n)), mem.spad.size());
        }
        if (e.empty() && u.op == isa::UopCode::Fwht && u.len && !fwht_factor(u.len))
          e = "fwht length " + std::to_string(u.len) + " is not h*2^k with h in {1,12,40}";
        if (!e.empty())
          return "microcode word " + std::to_string(is.run.ustart + i) + ", iteration " +
                 std::to_string(it) + ": " + e;
        if (is.slot == isa::Slot::Vector)
          vector_datapath<Cfg>(spad, operands(u));
        else
          ssm_datapath<Cfg>(spad, operands(u));
        ops += uopOps(u);
      }
    return "";
  case isa::Slot::Ctrl:
    return "";
  }
  return "";
}

} // namespace

std::string executeIssue(const isa::Issue &is, isa::Memory &mem,
                         const std::vector<isa::UopWord> &ucode, const BoardConfig &board,
                         uint64_t *bytes, uint64_t *ops) {
  std::string e = isa::checkIssue(is, mem.limits(), ucode);
  if (!e.empty())
    return e;
  uint64_t b = 0, o = 0;
  switch (board.id) {
  case 0:
    e = run<BoardCfg<0>>(is, mem, ucode, b, o);
    break;
  case 1:
    e = run<BoardCfg<1>>(is, mem, ucode, b, o);
    break;
  case 2:
    e = run<BoardCfg<2>>(is, mem, ucode, b, o);
    break;
  case 3:
    e = run<BoardCfg<3>>(is, mem, ucode, b, o);
    break;
  default:
    return "no HLS configuration for board id " + std::to_string(board.id);
  }
  if (bytes)
    *bytes += b;
  if (ops)
    *ops += o;
  return e;
}

} // namespace mamba2::hw
