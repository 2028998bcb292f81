// Glue between decoded issues and the HLS datapaths (hw/units), with the range checks that
// make every access safe before a datapath runs.
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/Overlay.h"

#include "../units/Dma.h"
#include "../units/Matrix.h"
#include "../units/VectorUnit.h"

namespace mamba2::hw {

namespace {

uint64_t uopOps(const isa::UopArgs &u) {
  if (u.op == isa::UopCode::Ssmupd || u.op == isa::UopCode::Ssmout)
    return uint64_t(u.len) * uint64_t(u.p0 < 0 ? 0 : u.p0);
  if (u.op == isa::UopCode::Ssmstep) // an update and an output per state element
    return 2 * uint64_t(u.len) * uint64_t(u.p0 < 0 ? 0 : u.p0);
  if (u.isMatrix())
    return uint64_t(u.m) * u.n * u.k;
  if (u.isDma())
    return 0;
  if (u.op == isa::UopCode::Trn) // R x C elements moved
    return uint64_t(u.len) * uint64_t(u.p0 < 0 ? 0 : u.p0);
  if (u.op == isa::UopCode::Segdecay) // Q x (Q + 1) outputs
    return uint64_t(u.len) * (uint64_t(u.len) + 1);
  return u.len;
}

// `mem` is read and written only when `Compute` (timing mode has no memory: `lim` alone).
template <class Cfg, bool Compute>
std::string run(const isa::Issue &is, isa::Memory *mem, const isa::Limits &lim,
                const std::vector<isa::UopWord> &ucode, uint64_t &bytes, uint64_t &ops) {
  byte_t *spad = Compute ? mem->spad.data() : nullptr;
  // The sequencer every unit shares: iterations x micro-ops, addresses by operand role.
  for (uint32_t it = 0; it < is.run.iters; ++it)
    for (uint32_t i = 0; i < is.run.ulen; ++i) {
      isa::UopArgs u = isa::resolveUop(is.word(ucode, i), is.run, it);
      std::string e = isa::checkUopRanges(u, lim);
      if (Compute && e.empty() && (u.op == isa::UopCode::Pwl || u.op == isa::UopCode::Rsqrt) &&
          u.len) {
        PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
        e = isa::checkPwlTable(u, 4 * (4 + 2 * uint64_t(h.n)), lim.spadBytes);
      }
      if (Compute && e.empty() && u.op == isa::UopCode::Conv4pwl && u.len) {
        PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
        if (16 + 8 * uint64_t(h.n) > uint64_t(u.p4 < 0 ? 0 : u.p4))
          e = "conv4pwl: its table (" + std::to_string(16 + 8 * uint64_t(h.n)) +
              " bytes) runs into the conv parameters p4 = " + std::to_string(u.p4) +
              " bytes after it";
      }
      if (Compute && e.empty() && u.op == isa::UopCode::Pwlmulpwl && u.len) {
        PwlTableHeader h1 = read_pwl_header(spad, u64(u.src1));
        PwlTableHeader h2 = read_pwl_header(spad, u64(u.src1) + u64(u.p3 < 0 ? 0 : u.p3));
        e = isa::checkPwlMulPwlTables(u, 16 + 8 * uint64_t(h1.n), 16 + 8 * uint64_t(h2.n));
      }
      if (e.empty() && u.op == isa::UopCode::Fwht && u.len && !fwht_factor(u.len))
        e = "fwht length " + std::to_string(u.len) + " is not h*2^k with h in {1,12,40}";
      if (!e.empty())
        return is.inlineUop ? e : is.where(i) + ", iteration " + std::to_string(it) + ": " + e;
      if constexpr (!Compute) {
        if (u.isDma())
          bytes += uint64_t(u.rows) * u.rowb;
        else if (u.isMatrix())
          bytes += u.isInt4() ? uint64_t(u.n) * (u.k / 2) : uint64_t(u.n) * u.k;
        ops += uopOps(u);
        continue;
      }
      const UopOperands &o = u;
      switch (is.slot) {
      case isa::Slot::Load:
      case isa::Slot::Store: {
        DmaArgs a{u64(o.dst), u64(o.src1), o.rows, o.rowb, o.stride};
        // The region as the HLS top's ports reach it (stripes dealt to the ports).
        FlatRegionPorts<Cfg> ports{mem->dram[u.region].data(), mem->dram[u.region].size()};
        if (u.op == isa::UopCode::Load2d)
          dma_load<Cfg>(spad, ports, 0, a);
        else if (u.op == isa::UopCode::Store2d)
          dma_store<Cfg>(spad, ports, 0, a);
        bytes += uint64_t(u.rows) * u.rowb;
        break;
      }
      case isa::Slot::Matrix:
        if (u.isMatrix()) {
          matrix_unit<Cfg>(spad, matmul_args(o));
          bytes += u.isInt4() ? uint64_t(u.n) * (u.k / 2) : uint64_t(u.n) * u.k;
        }
        break;
      case isa::Slot::Vector:
        vector_datapath<Cfg>(spad, o);
        break;
      case isa::Slot::Ssm:
        ssm_datapath<Cfg>(spad, o);
        break;
      case isa::Slot::Ctrl:
        break;
      }
      ops += uopOps(u);
    }
  return "";
}

} // namespace

std::string executeIssue(const isa::Issue &is, isa::Memory &mem,
                         const std::vector<isa::UopWord> &ucode, const BoardConfig &board,
                         uint64_t *bytes, uint64_t *ops) {
  const isa::Limits lim = mem.limits();
  std::string e = isa::checkIssue(is, lim, ucode);
  if (!e.empty())
    return e;
  if (is.slot != isa::Slot::Ctrl)
    for (uint32_t i = 0; i < is.run.ulen; ++i)
      if (const isa::UopInfo *info =
              isa::findUop(unsigned(is.word(ucode, i).raw(isa::field::uop::uop))))
        if (!(e = board.missingFeature(info->name, info->feature)).empty())
          return is.where(i) + ": " + e;
  uint64_t b = 0, o = 0;
  // One case per board description (target/boards/*.toml): each its own unit sizes.
  switch (board.id) {
#define MAMBA2_BOARD_CASE(id, B)                                                                   \
  case id:                                                                                         \
    e = run<BoardCfg<id>, true>(is, &mem, lim, ucode, b, o);                                       \
    break;
    MAMBA2_TARGET_BOARDS(MAMBA2_BOARD_CASE)
#undef MAMBA2_BOARD_CASE
  default:
    return "no HLS configuration for board id " + std::to_string(board.id);
  }
  if (bytes)
    *bytes += b;
  if (ops)
    *ops += o;
  return e;
}

std::string countIssue(const isa::Issue &is, const isa::Limits &lim,
                       const std::vector<isa::UopWord> &ucode, uint64_t *bytes, uint64_t *ops) {
  std::string e = isa::checkIssue(is, lim, ucode);
  if (!e.empty())
    return e;
  uint64_t b = 0, o = 0;
  // No datapath runs and no memory is touched (its sizes alone); any board's sizes serve the
  // sequencer.
  e = run<BoardCfg<0>, false>(is, nullptr, lim, ucode, b, o);
  if (bytes)
    *bytes += b;
  if (ops)
    *ops += o;
  return e;
}

} // namespace mamba2::hw
