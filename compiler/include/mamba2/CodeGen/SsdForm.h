// The cost model that chooses the SSM's form per phase (`ovl-ssd-form{form=auto}`,
// docs/codegen.md "The SSD form per phase"): the recurrent scan (ovl.ssm: one `ssmstep` a row
// and head on the SSM unit) or the chunked (matrix) form (ovl.ssd_chunk: per chunk of Q rows,
// products of the matrix unit, element-wise steps of the vector unit and one `segdecay` a head
// on the SSM unit). Each form's work per unit comes from the board description (the matrix
// unit's mat_k x mat_n and scale lanes, the vector and SSM lanes) with the cycle model's step
// counts, the chunked form's from the steps of its recipe; a prefill call is then estimated by the
// row blocks' cost model (RowBlocks.h), scans replaced by the chunked form's work, and the cheaper
// form wins.
#pragma once

#include "mamba2/CodeGen/RowBlocks.h"
#include "mamba2/target/Board.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>

namespace mamba2::codegen {

/// One SSM op's shape: H heads of P channels, G groups of B/C of N (the state [H][P][N]).
struct SsdShape {
  int64_t heads = 0, headDim = 0, dState = 0, groups = 1;
};

/// Each unit's cycles at its rate, without stalls.
struct UnitCycles {
  double matrix = 0, vector = 0, ssm = 0;
  double total() const { return matrix + vector + ssm; }
};

/// The recurrent scan over `rows` rows (the row blocks' model's S of one ovl.ssm).
UnitCycles scanCycles(const target::Board &board, const SsdShape &sh, unsigned rows);
/// The chunked form over `rows` rows in chunks of `chunk` (the last one shorter): the steps of
/// the recipe the emitter runs (ovl/SsdChunk.h: ssd::buildRecipe), each micro-op's cycles as
/// the cycle model counts them (hw/lib/CycleModel.cpp; the matrix unit's bank waits aside) on
/// its unit: the products on the matrix unit, the transposes, splits and multiplies on the
/// vector unit, `segdecay` on the SSM unit.
UnitCycles chunkedCycles(const target::Board &board, const SsdShape &sh, unsigned rows,
                         unsigned chunk);

enum class SsdForm { Scan, Chunked };

struct SsdFormChoice {
  SsdForm form = SsdForm::Scan;
  unsigned rows = 0;
  unsigned chunk = 0;    ///< the chunked form's best chunk (0: none of at most maxChunk rows)
  bool available = true; ///< the board has the chunked form's micro-ops (chunked_ssd)
  std::string boardName;
  /// The row blocks' cost model's estimate of one call with each form and its best block
  /// count (the chunked form's estimates: one per block count, a block one chunk).
  RowBlockChoice scan, chunked;
  PrefillWork scanWork, chunkedWork;
};

/// The most rows a chunk may have (segdecay's Q; the matrix micro-op's 6-bit M).
constexpr unsigned kMaxSsdChunk = 64;

/// The form for a call of `rows` rows of `fn` on `board`: the scan with the row blocks' model's
/// best count, against the chunked form with each count it considers, a block being one chunk
/// of at most `maxChunk` rows (so chunk = ceil(rows / blocks)); the cheaper estimate, the scan
/// on a tie. Every ovl.ssm of `fn` is costed with its own shape.
SsdFormChoice chooseSsdForm(mlir::func::FuncOp fn, const target::Board &board, unsigned rows,
                            unsigned maxChunk = kMaxSsdChunk);

/// "chunked: estimated 1,500,000 cycles a call (scan 1,970,000; ...)" for the pass's remark.
std::string describeSsdFormChoice(const SsdFormChoice &c);

} // namespace mamba2::codegen
