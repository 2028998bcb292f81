// The SSD form's cost model (SsdForm.h; docs/codegen.md "The SSD form per phase").
#include "mamba2/CodeGen/SsdForm.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/SsdChunk.h"

#include "Estimate.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mamba2::codegen {

namespace {

using namespace estimate;

// segdecay's least cycles a row (units/Ssm.h: each row needs the previous row's products).
constexpr double kSegDecayRow = 4;

/// trn's tile loop (units/Transpose.h): tiles of L x L, per tile row max(its rows, the previous
/// tile's columns) and L for each next tile, then the last tile's columns.
double transposeLoop(double R, double C, double L) {
  const double tileCols = ceilDiv(C, L), lastCols = C - (tileCols - 1) * L;
  double cycles = 0, prevCols = 0;
  for (double r0 = 0; r0 < R; r0 += L) {
    cycles += std::max(std::min(L, R - r0), prevCols) + (tileCols - 1) * L;
    prevCols = lastCols;
  }
  return cycles + lastCols;
}

/// One step's cycles on its unit, as the cycle model counts the micro-op (without the matrix
/// unit's bank waits), times its iterations; adds them to its unit in `u`.
void addStep(const target::Board &b, const ssd::Step &st, UnitCycles &u) {
  const double it = double(std::max<int64_t>(1, st.iters));
  switch (st.kind) {
  case ssd::Kind::Gmm8: { // one group of k: its K tiles, then the group's scaling
    const double T = ceilDiv(double(st.k), b.matK), C = ceilDiv(b.matN, b.scaleLanes());
    const double fill = 2 * kSpadLatency + kMulDepth + log2Up(b.matK);
    u.matrix += it * (double(st.m) * ceilDiv(double(st.n), b.matN) * (T + C) + fill + kMulDepth);
    return;
  }
  case ssd::Kind::Trn:
    u.vector +=
        it * (transposeLoop(double(st.rows), double(st.cols), b.vecLanes) + 2 * kSpadLatency + 2);
    return;
  case ssd::Kind::SegDecay:
    u.ssm +=
        it * (double(st.len) * std::max(ceilDiv(double(st.len) + 1, b.ssmLanes), kSegDecayRow) +
              kUopFill);
    return;
  case ssd::Kind::Split16:
  case ssd::Kind::Mulsh32:
  case ssd::Kind::Sext8:
    u.vector += it * (ceilDiv(double(st.len), b.vecLanes) + kUopFill);
    return;
  }
}

} // namespace

UnitCycles scanCycles(const target::Board &b, const SsdShape &sh, unsigned rows) {
  // As prefillWork: per row and head one ssmstep over P state rows of ceil(N / lanes) cycles,
  // plus the pipeline's fill.
  UnitCycles u;
  u.ssm = double(rows) * double(sh.heads) *
          (double(sh.headDim) * ceilDiv(double(sh.dState), b.ssmLanes) + kUopFill + 4 +
           log2Up(b.ssmLanes));
  return u;
}

UnitCycles chunkedCycles(const target::Board &b, const SsdShape &sh, unsigned rows,
                         unsigned chunkRows) {
  UnitCycles u;
  if (rows == 0 || chunkRows == 0 || chunkRows > kMaxSsdChunk)
    return u;
  // The recipe the emitter runs (ovl/SsdChunk.h): its steps do not depend on the shifts.
  ssd::ChunkShape cs;
  cs.heads = sh.heads, cs.headDim = sh.headDim, cs.groups = std::max<int64_t>(1, sh.groups);
  cs.dState = sh.dState, cs.rows = rows, cs.chunk = chunkRows;
  ssd::ChunkShifts shifts;
  shifts.decay = 15;
  shifts.multExp.assign(size_t(sh.heads), 0);
  if (!ssd::checkShifts(cs, shifts).empty())
    return u;
  for (const ssd::Step &st : ssd::buildRecipe(cs, shifts).steps)
    addStep(b, st, u);
  return u;
}

SsdFormChoice chooseSsdForm(mlir::func::FuncOp fn, const target::Board &board, unsigned rows,
                            unsigned maxChunk) {
  SsdFormChoice c;
  c.rows = rows;
  c.boardName = board.name;
  c.scanWork = prefillWork(fn, board, rows);
  c.scan = chooseRowBlocks(c.scanWork);
  std::vector<SsdShape> shapes;
  fn.walk([&](ovl::SsmOp op) {
    auto st = llvm::cast<mlir::RankedTensorType>(op.getState().getType());
    shapes.push_back(
        {st.getDimSize(0), st.getDimSize(1), st.getDimSize(2), int64_t(op.getNgroups())});
  });
  // The chunked form with each block count the row blocks' model considers: a block is one
  // chunk (its scan stage runs once the block's rows are in), so the chunk is the block's rows.
  // A board built without the form's micro-ops (trn, split16, segdecay) has the scan only.
  c.available = board.hasFeature("chunked_ssd");
  bool any = false;
  for (const auto &[blocks, est] : chooseRowBlocks(c.scanWork).estimates) {
    (void)est;
    const unsigned q = (rows + blocks - 1) / blocks;
    if (!c.available || q == 0 || q > maxChunk)
      continue;
    PrefillWork w = c.scanWork;
    for (const SsdShape &sh : shapes) {
      const UnitCycles s = scanCycles(board, sh, rows), k = chunkedCycles(board, sh, rows, q);
      w.scan += k.ssm - s.ssm;
      w.matrix += k.matrix;
      w.vector += k.vector;
    }
    const double cycles = rowBlockCycles(w, blocks);
    if (!any || cycles < c.chunked.cycles) {
      any = true;
      c.chunkedWork = w;
      c.chunk = q;
      c.chunked.blocks = blocks;
      c.chunked.cycles = cycles;
    }
    c.chunked.estimates.push_back({blocks, cycles});
  }
  c.form = any && c.chunked.cycles < c.scan.cycles ? SsdForm::Chunked : SsdForm::Scan;
  return c;
}

std::string describeSsdFormChoice(const SsdFormChoice &c) {
  const bool ch = c.form == SsdForm::Chunked;
  const RowBlockChoice &win = ch ? c.chunked : c.scan, &lose = ch ? c.scan : c.chunked;
  const PrefillWork &w = ch ? c.chunkedWork : c.scanWork, &o = ch ? c.scanWork : c.chunkedWork;
  auto units = [](const PrefillWork &p) {
    return "matrix " + thousands(p.matrix) + ", SSM " + thousands(p.scan) + ", vector " +
           thousands(p.vector);
  };
  auto blocks = [](const RowBlockChoice &r) {
    return r.blocks > 1 ? ", " + std::to_string(r.blocks) + " row blocks" : std::string();
  };
  if (!c.available)
    return "the recurrent scan for " + std::to_string(c.rows) + "-row calls: the " + c.boardName +
           " overlay is built without the chunked form's micro-ops (board feature "
           "chunked_ssd)";
  if (c.chunk == 0)
    return "the recurrent scan for " + std::to_string(c.rows) +
           "-row calls: no chunk of the chunked form fits (estimated " + thousands(c.scan.cycles) +
           " cycles a call" + blocks(c.scan) + ")";
  return std::string(ch ? "the chunked form" : "the recurrent scan") + " for " +
         std::to_string(c.rows) + "-row calls" +
         (ch ? " (chunks of " + std::to_string(c.chunk) + " rows" + blocks(win) + ")"
             : blocks(win)) +
         " by the cost model: estimated " + thousands(win.cycles) + " cycles a call (" + units(w) +
         "); " + (ch ? "the scan " : "the chunked form ") + thousands(lose.cycles) + " (" +
         units(o) +
         (ch ? blocks(lose) : ", chunks of " + std::to_string(c.chunk) + " rows" + blocks(lose)) +
         ")";
}

} // namespace mamba2::codegen
