// Lowering quantised m2 to the overlay dialect (declared in OvlPasses.td).
#pragma once

#include <memory>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/target/Board.h"

namespace mamba2 {

/// One layer's shape as ovl-split-head-groups' cost model reads it (docs/passes.md).
struct HeadGroupShape {
  int64_t heads = 0, headDim = 0, dState = 0, bcGroups = 1;
  int64_t dModel = 0;     // K of in_proj and the rows of out_proj
  int64_t weightBits = 8; // of in_proj and out_proj
};
/// The cost model's cycles of one decode row of a layer split into groups of `headsPerGroup`
/// heads on `board`: the larger of the load unit's stream and the chain around the scans.
double headGroupCost(const target::Board &board, const HeadGroupShape &shape,
                     int64_t headsPerGroup);
/// The heads per group ovl-split-head-groups chooses on `board` (`shape.heads`: no split).
int64_t chooseHeadsPerGroup(const target::Board &board, const HeadGroupShape &shape);

/// Whether one layer's whole SSM state fits the share of `board`'s scratchpad that
/// ovl-split-head-groups' cost model allows a state slice (else it splits for the fit).
bool stateFitsUnsplit(const target::Board &board, const HeadGroupShape &shape);

#define GEN_PASS_DECL
#include "mamba2/Transforms/OvlPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "mamba2/Transforms/OvlPasses.h.inc"

} // namespace mamba2
