// The row blocks' cost model (RowBlocks.h; docs/codegen.md "Row blocks").
#include "mamba2/CodeGen/RowBlocks.h"

#include "Estimate.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h"

#include <algorithm>
#include <cmath>

namespace mamba2::codegen {

namespace {

using namespace mlir;
using namespace estimate;

/// The columns of an op's widest row tensor operand or result (its work per row).
double widest(Operation *op) {
  double cols = 0;
  auto take = [&](Type t) {
    if (auto r = llvm::dyn_cast<RankedTensorType>(t); r && r.getRank() == 2 && r.getDimSize(1) > 0)
      cols = std::max(cols, double(r.getDimSize(1)));
  };
  for (Value v : op->getOperands())
    take(v.getType());
  for (Value v : op->getResults())
    take(v.getType());
  return cols;
}

} // namespace

PrefillWork prefillWork(func::FuncOp fn, const target::Board &board, unsigned rows) {
  PrefillWork blocked; // the blocked ops' work (and the scans, rows)
  blocked.rows = rows;
  std::vector<Operation *> ops;
  for (Operation &op : fn.getBody().front())
    ops.push_back(&op);
  // The blocked range as planRowBlocks cuts it: after the embedding, up to the first matmul
  // after the last scan (its out_proj).
  size_t start = 0, end = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (llvm::isa<ovl::SsmOp>(ops[i])) {
      ++blocked.scans;
      end = i + 1;
    } else if (llvm::isa<ovl::EmbedOp>(ops[i]) && blocked.scans == 0) {
      start = i + 1;
    }
  }
  if (blocked.scans == 0)
    return blocked;
  while (end < ops.size() && !llvm::isa<ovl::MatmulOp>(ops[end]))
    ++end;
  end = std::min(end + 1, ops.size());
  const double T = rows;
  PrefillWork after; // the work of the ops after the blocked ones
  for (size_t i = start; i < ops.size(); ++i) {
    Operation *op = ops[i];
    PrefillWork &w = i < end ? blocked : after;
    if (auto mm = llvm::dyn_cast<ovl::MatmulOp>(op)) {
      // The cycle model's steps (matmulStepsOf): per row and N tile, per K group of the scales
      // ceil(group / lanes) K tiles, the scaling of a group overlapping the next group's tiles.
      auto wt = llvm::cast<RankedTensorType>(mm.getWeight().getType());
      const double N = double(wt.getDimSize(0)), K = double(wt.getDimSize(1));
      const bool int4 = mm.getBits() == 4;
      const double group = mm.getGroup() > 0 ? double(mm.getGroup()) : K;
      const double groups = std::max(1.0, std::floor(K / group));
      const double lk = int4 ? board.matKInt4() : board.matK;
      const double tg = ceilDiv(group, lk), c = ceilDiv(board.matN, board.scaleLanes());
      w.matrix += T * ceilDiv(N, board.matN) * (tg + (groups - 1) * std::max(tg, c) + c);
      w.weightBytes += N * (std::ceil(K * (int4 ? 4 : 8) / 8.0) + 4 * groups);
    } else if (auto s = llvm::dyn_cast<ovl::SsmOp>(op)) {
      // Per row and head one ssmstep over P state rows of ceil(N / lanes) cycles, plus the
      // pipeline's fill (the update, the output's multiply and adder tree).
      auto st = llvm::cast<RankedTensorType>(s.getState().getType());
      const double H = double(st.getDimSize(0)), P = double(st.getDimSize(1)),
                   Ns = double(st.getDimSize(2));
      w.scan += T * H * (P * ceilDiv(Ns, board.ssmLanes) + kUopFill + 4 + log2Up(board.ssmLanes));
    } else if (llvm::isa<ovl::PwlOp, ovl::RsqrtOp>(op)) { // the SSM unit's tables
      w.scan += T * (ceilDiv(widest(op), board.ssmLanes) + kUopFill);
    } else if (llvm::isa<ovl::FwhtOp>(op)) {
      // The butterfly stages over the vector lanes.
      const double C = widest(op);
      w.vector += T * (ceilDiv(C / 2, board.vecLanes) * log2Up(C) + kUopFill);
    } else if (!llvm::isa<ovl::ConstantOp, ovl::SliceOp, func::ReturnOp>(op)) {
      w.vector += T * (ceilDiv(widest(op), board.vecLanes) + kUopFill);
    }
    if (!llvm::isa<ovl::ConstantOp, ovl::SliceOp, func::ReturnOp>(op))
      ++w.ops;
  }
  const double bw = board.dramBytesPerCycle();
  blocked.stream = blocked.weightBytes / bw;
  blocked.outside = std::max(after.matrix, after.weightBytes / bw) + after.scan + after.vector;
  return blocked;
}

unsigned formedRowBlocks(unsigned rows, unsigned blocks) {
  if (rows < 2 || blocks < 2)
    return 1;
  const unsigned bs = (rows + blocks - 1) / blocks;
  return (rows + bs - 1) / bs;
}

double rowBlockCycles(const PrefillWork &w, unsigned blocks) {
  const double n = w.ops;
  if (blocks <= 1)
    return w.outside + std::max(w.matrix, w.stream) + w.scan + w.vector + n * kOpHandoff;
  const double busiest = std::max({w.scan, w.vector, w.matrix});
  const double others = w.scan + w.vector + w.matrix - busiest;
  const double b = blocks;
  const double share = blocks >= 4 ? 1.0 / b : 0.5;
  return w.outside + std::max(b * w.stream, busiest + others * share + b * n * kStepIssue);
}

RowBlockChoice chooseRowBlocks(const PrefillWork &w) {
  RowBlockChoice c;
  c.cycles = rowBlockCycles(w, 1);
  c.estimates.push_back({1, c.cycles});
  if (w.scans == 0 || w.rows < 2)
    return c;
  unsigned last = 1;
  for (unsigned b = 2; b <= kMaxAutoRowBlocks; ++b) {
    const unsigned nb = formedRowBlocks(w.rows, b);
    if (nb <= last)
      continue;
    last = nb;
    const double est = rowBlockCycles(w, nb);
    c.estimates.push_back({nb, est});
    if (est <= c.cycles && (c.blocks > 1 || est < c.cycles)) {
      c.blocks = nb;
      c.cycles = est;
    }
  }
  return c;
}

std::string describeRowBlockChoice(const PrefillWork &w, const RowBlockChoice &c) {
  std::string s = c.blocks > 1 ? std::to_string(c.blocks) + " row blocks" : "no row blocks";
  s += " by the cost model: estimated " + thousands(c.cycles) + " cycles a call (";
  bool first = true;
  for (const auto &[b, est] : c.estimates) {
    if (b == c.blocks)
      continue;
    s += first ? "" : ", ";
    first = false;
    s += (b > 1 ? std::to_string(b) + " blocks " : std::string("op by op ")) + thousands(est);
  }
  s += std::string(first ? "" : "; ") + "matrix " + thousands(w.matrix) + ", weight stream " +
       thousands(w.stream) + " (" + thousands(w.weightBytes) + " B), SSM " + thousands(w.scan) +
       ", vector " + thousands(w.vector) + "; after them " + thousands(w.outside) + ")";
  return s;
}

bool parseRowBlocks(const std::string &text, unsigned &blocks, std::string &error) {
  if (text == "auto") {
    blocks = kAutoRowBlocks;
    return true;
  }
  unsigned long v = 0;
  size_t used = 0;
  bool ok = !text.empty() &&
            std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (ok) {
    try {
      v = std::stoul(text, &used);
    } catch (...) {
      ok = false;
    }
  }
  if (!ok || used != text.size() || v < 1 || v > kMaxRowBlocks) {
    error =
        "'" + text + "' is neither auto nor a block count in 1.." + std::to_string(kMaxRowBlocks);
    return false;
  }
  blocks = unsigned(v);
  return true;
}

} // namespace mamba2::codegen
