// The SSD form's cost model (SsdForm.h; docs/codegen.md "The SSD form per phase").
#include "mamba2/CodeGen/SsdForm.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mamba2::codegen {

namespace {

double ceilDiv(double a, double b) { return std::ceil(a / b); }

double log2Up(double v) {
  double l = 0;
  while (std::exp2(l) < v)
    ++l;
  return l;
}

// A micro-op's pipeline fill (RowBlocks.cpp's kUopFill: two scratchpad latencies, a multiply).
constexpr double kFill = 7;

/// The matrix unit's cycles of one exact int8 product (mm8: no scaling stage): per row of act
/// and N tile, its K tiles (the cycle model's steps), and the pipeline's fill.
double product(const target::Board &b, double m, double K, double N) {
  return m * ceilDiv(N, b.matN) * std::max(1.0, ceilDiv(K, b.matK)) + kFill;
}

/// The vector unit's cycles of one element-wise micro-op over n elements.
double vec(const target::Board &b, double n) { return ceilDiv(n, b.vecLanes) + kFill; }

/// The cycles of one chunk of q rows.
UnitCycles chunk(const target::Board &b, const SsdShape &sh, double q) {
  const double H = double(sh.heads), P = double(sh.headDim), N = double(sh.dState),
               G = double(std::max<int64_t>(1, sh.groups));
  UnitCycles u;
  // Matrix (one act row a cycle against a mat_n x mat_k tile; exact int32 products, each half
  // on its own): C.B^T per group (q rows); per head the intra-chunk part (the mask-scaled
  // C.B^T's two halves against x^T: q rows), the entering state's part (C against the state's
  // two halves: q rows) and the end state (x^T against the scaled B^T's two halves: P rows,
  // once a chunk).
  u.matrix = G * product(b, q, N, q) +
             H * (2 * product(b, q, q, P) + 2 * product(b, q, N, P) + 2 * product(b, P, q, N));
  // Vector: the transposes of decay and dt ([q][H]) and x ([q][HP] int8), once a chunk; per head
  // the mask (C.B^T x D x dt: two multiplies and a split), the state's split, the halves of
  // both y parts joined (hi x 256 + lo: a shift and an add each), the entering state's part
  // times its decay and the add of the two parts, B x the decay to the end x dt (two multiplies,
  // a split, two transposes), the end state's halves joined, the state's decay and the add.
  u.vector = 2 * vec(b, q * H) + vec(b, q * H * P) +
             H * (3 * vec(b, q * q) + vec(b, P * N) + 6 * vec(b, q * P) + 5 * vec(b, q * N) +
                  4 * vec(b, P * N));
  // SSM: one segdecay a head, row by row over q + 1 columns.
  u.ssm = H * (q * ceilDiv(q + 1, b.ssmLanes) + kFill + 4);
  return u;
}

std::string thousands(double v) {
  std::string s = std::to_string(uint64_t(std::llround(v)));
  for (int i = int(s.size()) - 3; i > 0; i -= 3)
    s.insert(size_t(i), ",");
  return s;
}

} // namespace

UnitCycles scanCycles(const target::Board &b, const SsdShape &sh, unsigned rows) {
  // As prefillWork: per row and head one ssmstep over P state rows of ceil(N / lanes) cycles,
  // plus the pipeline's fill.
  UnitCycles u;
  u.ssm = double(rows) * double(sh.heads) *
          (double(sh.headDim) * ceilDiv(double(sh.dState), b.ssmLanes) + kFill + 4 +
           log2Up(b.ssmLanes));
  return u;
}

UnitCycles chunkedCycles(const target::Board &b, const SsdShape &sh, unsigned rows,
                         unsigned chunkRows) {
  UnitCycles u;
  if (rows == 0 || chunkRows == 0)
    return u;
  for (unsigned t0 = 0; t0 < rows; t0 += chunkRows) {
    const UnitCycles c = chunk(b, sh, double(std::min(chunkRows, rows - t0)));
    u.matrix += c.matrix;
    u.vector += c.vector;
    u.ssm += c.ssm;
  }
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
         units(o) + ")";
}

} // namespace mamba2::codegen
