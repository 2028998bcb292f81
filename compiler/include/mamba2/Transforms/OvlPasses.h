// Lowering quantised m2 to the overlay dialect (declared in OvlPasses.td).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "mamba2/CodeGen/SsdForm.h"
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

/// ovl-decode-function's work: @main cloned into @decode (ovl.entry = "decode"), inserted after
/// @main. Null, with `error` set (and `*at` the decode function found, when given), where the
/// module has no @main or has a decode function already.
mlir::func::FuncOp cloneDecodeFunction(mlir::ModuleOp module, std::string &error,
                                       mlir::Operation **at = nullptr);

/// ovl-ssd-form{form=auto}'s question: the SSD form's cost model (codegen::chooseSsdForm) for a
/// prefill call of `rows` rows of the module's @main on the board `targetName`, told in a remark on
/// the module. Nullopt, with `error` set, for an unknown target, rows outside 1..64 or no @main.
std::optional<codegen::SsdFormChoice> chooseModuleSsdForm(mlir::ModuleOp module,
                                                          llvm::StringRef targetName, int64_t rows,
                                                          std::string &error);

/// ovl-ssd-form's reading of an ovl.ssm's dtx as x8 (i8 [rows][H*P]) * d (i32 [rows][H]) *
/// 2^multExp[h]; false with `why` where it is not such a product.
struct SsmDtxForm {
  mlir::Value x8, d;
  std::vector<int> multExp;
};
bool readSsmDtx(mlir::Operation *ssm, SsmDtxForm &out, std::string &why);
/// What a calibration saw of an ovl.ssm (integer attributes of it): the largest |d|, |C_t . B_s|
/// of rows at most a chunk apart, and |state|. ovl-ssd-form bounds each by twice it where that
/// is below the proven bound (the table's largest output, N * 128^2, 2^(state bits - 1)).
inline constexpr const char *kSsmDAbsmaxAttr = "calib.d_absmax";
inline constexpr const char *kSsmCBAbsmaxAttr = "calib.cb_absmax";
inline constexpr const char *kSsmStateAbsmaxAttr = "calib.state_absmax";

#define GEN_PASS_DECL
#include "mamba2/Transforms/OvlPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "mamba2/Transforms/OvlPasses.h.inc"

} // namespace mamba2
