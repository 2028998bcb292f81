// The cost model that chooses the prefill's row blocks (EmitOptions::prefillRowBlocks = auto;
// docs/codegen.md "Row blocks", "The cost model"): from the ovl function's work (matmul rows x K
// x N, the scans' heads x P x N, the blocked stages' weight bytes) and the board description
// (MACs a cycle, int4 twice per step, achievable DRAM bytes a cycle, the SSM unit's lanes), an
// estimate of one prefill call op by op and in each candidate count of blocks; the cheapest wins.
#pragma once

#include "mamba2/target/Board.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace mamba2::codegen {

/// EmitOptions::prefillRowBlocks: choose by the cost model (chooseRowBlocks).
constexpr unsigned kAutoRowBlocks = 0;
/// The explicit counts `--row-blocks N` accepts.
constexpr unsigned kMaxRowBlocks = 64;
/// The most blocks the cost model considers: more measured slower on every program tried
/// (docs/codegen.md: 130M on the U280, 5 / 6 / 8 blocks against 4), for reasons it does not
/// model (the interleaved order's four periods a block; the per-block issue of every stage).
constexpr unsigned kMaxAutoRowBlocks = 4;

/// One prefill call's work in the ops row blocks cover (after the embedding, up to and
/// including the last scan's out_proj), each unit's cycles at its rate without stalls; and the
/// ops after them (the final norm, the lm_head), which run over all rows either way.
struct PrefillWork {
  unsigned rows = 0;      ///< t_block
  unsigned scans = 0;     ///< ovl.ssm ops (one a layer, or one a head group)
  unsigned ops = 0;       ///< ops that run (not constants, slices: views)
  double matrix = 0;      ///< M: the matmuls' steps (the cycle model's per row and N tile)
  double weightBytes = 0; ///< one pass over their weight tiles and group scales, in DRAM bytes
  double stream = 0;      ///< D: weightBytes at the board's achievable DRAM bytes a cycle
  double scan = 0;        ///< S: the SSM unit's cycles (the scans, its tables: pwl, rsqrt)
  double vector = 0;      ///< V: the vector unit's cycles (element-wise ops, sums, conv, fwht)
  /// The ops after the blocked ones, the same in every estimate: max(their matmuls, their
  /// weights' stream) + their other units' cycles (so an estimate is of the whole call).
  double outside = 0;
};

/// The work of `fn`'s prefill of `rows` rows on `board` (scans 0: nothing to block).
PrefillWork prefillWork(mlir::func::FuncOp fn, const target::Board &board, unsigned rows);

/// The blocks the emitter forms when asked for `blocks` over `rows` rows (blocks of
/// ceil(rows / blocks) rows: 4 rows asked in 3 are 2 blocks of 2).
unsigned formedRowBlocks(unsigned rows, unsigned blocks);

/// Cycles each op of an op-by-op prefill adds to the call beyond its work: it waits for the op
/// before it over all rows (the semaphore's hand-over, the pipelines' drain and fill). Fitted
/// (docs/codegen.md "The cost model"), like kStepIssue.
constexpr double kOpHandoff = 40;
/// Cycles each op adds per row block it is emitted in (each block issues it again).
constexpr double kStepIssue = 10;

/// Estimated cycles of one prefill call in `blocks` row blocks (1: op by op), n ops:
///   op by op  outside + max(M, D) + S + V + n kOpHandoff
///             (the load unit streams the weights while the matmuls run; the units take turns,
///             each op waiting for the one before over all rows)
///   b blocks  outside + max(b D, busiest + others x share + b n kStepIssue)
///             busiest = max(S, V, M), others = S + V + M - busiest
///             share = 1 / b for 4 or more blocks (the interleaved order: the units overlap but
///             for about one block's share of the other units' work), 1 / 2 for 2 or 3 blocks
///             (the key order hides half of it)
/// Each block streams the blocked stages' weights again (b D), while the compute units work.
/// Fitted to 9 programs x 3 or 4 counts (the default model on four boards, two layers of the
/// 2.7B shape on three; docs/codegen.md), where it picks the measured best of each.
double rowBlockCycles(const PrefillWork &w, unsigned blocks);

struct RowBlockChoice {
  unsigned blocks = 1; ///< the choice (1: op by op)
  /// (blocks, estimated cycles): op by op first, then each candidate count formed (2 ..
  /// kMaxAutoRowBlocks, at most rows).
  std::vector<std::pair<unsigned, double>> estimates;
  double cycles = 0; ///< the choice's estimate
};

/// The cheapest of op by op and the candidate counts (a tie: op by op, else more blocks).
RowBlockChoice chooseRowBlocks(const PrefillWork &w);

/// "4 row blocks, estimated 1,969,000 cycles a call (op by op 3,310,000; 2 blocks ...; M ...,
/// D ..., S ..., V ...)" for the emitter's note.
std::string describeRowBlockChoice(const PrefillWork &w, const RowBlockChoice &c);

/// `--row-blocks` text: "auto" (kAutoRowBlocks) or a count 1..kMaxRowBlocks; else false and
/// `error` says why.
bool parseRowBlocks(const std::string &text, unsigned &blocks, std::string &error);

} // namespace mamba2::codegen
