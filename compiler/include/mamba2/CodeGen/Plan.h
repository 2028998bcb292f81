// The emitter's fusion and tiling decisions as functions of the `ovl` module (docs/codegen.md
// "Fusion and tiling"), shared by the emitter and by the passes that record them in the IR
// (ovl-fuse, ovl-tile; docs/passes.md). The emitter reads the recorded decisions when the
// function carries them (verifying each: one it cannot honour is an error naming the op and
// why) and computes them with the same functions otherwise, so a program is the same bytes with
// or without the passes.
#pragma once

#include "mamba2/CodeGen/Emitter.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/target/Board.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace mamba2::codegen {

/// An op and why a decision about it fails (an empty why: no failure).
struct PlanError {
  mlir::Operation *op = nullptr;
  std::string why;
};
/// "'ovl.matmul' at LOC: WHY", the emitter's error form.
std::string formatPlanError(const PlanError &e);

// ---- fusion ----

/// The kinds of fusion group the emitter runs as one kernel.
enum class FuseKind {
  /// ovl.ssm: one `ssmstep` run per row and group (state update and output in one pass over
  /// each head's state) writing y over dt·x, with C read at a fixed offset after B. Members:
  /// the scan, the producer of dtx, of B and of C.
  SsmStep,
  /// The lm_head ovl.matmul whose result only becomes the logits through per-channel /
  /// per-tensor constant mul / add, shifts and a slice at offset 0: applied to each weight tile
  /// in place and stored to the logits tile by tile. Members: the matmul and the chain.
  Logits,
  /// ovl.sumsq of an ovl.mul's result (the gating y * silu(z) and the gated norm's sum of
  /// squares), the mul right before it: one `mulsumsq` run at the sumsq writes the product and
  /// its sum of squares in one pass over the data. Members: the mul.
  MulSumsq,
  /// ovl.pwl of an ovl.conv4's output, optionally through an ovl.mul by a [1][C] constant
  /// between (conv1d + SiLU): one `conv4pwl` run at the pwl per row, the conv output and the
  /// product never written. Members: the conv4 and the mul.
  Conv4Pwl,
  /// ovl.pwl of an ovl.mul (by a [1][C] or [1][1] constant) of another ovl.pwl's result, the
  /// three one after the other (softplus(dt), times A, exp): one `pwlmulpwl` run at the second
  /// pwl per row writes the first table's value and the second's, the product never written.
  /// Members: the first pwl and the mul.
  PwlMulPwl,
  /// ovl.sumsq of an ovl.add's result (the residual add and the next RMSNorm's sum of squares),
  /// the add right before it: one `addsumsq` run at the sumsq writes the sum and its sum of
  /// squares in one pass. In a layer loop the add ends one layer and the sumsq starts the next:
  /// the fused run is the next iteration's first (docs/codegen.md). Members: the add.
  AddSumsq,
};
llvm::StringRef fuseKindName(FuseKind k);
std::optional<FuseKind> fuseKindByName(llvm::StringRef name);

struct FuseGroup {
  FuseKind kind = FuseKind::SsmStep;
  mlir::Operation *anchor = nullptr;      ///< the ovl.ssm / ovl.matmul / ovl.sumsq / ovl.pwl
  std::vector<mlir::Operation *> members; ///< the other ops of the group, in operand order
};

/// The group `kind` anchored at `anchor`, or why the emitter cannot run it fused.
std::optional<FuseGroup> matchFuseGroup(mlir::Operation *anchor, FuseKind kind, std::string &why);
/// Every group the emitter can run fused in `fn`, in op order.
std::vector<FuseGroup> findFuseGroups(mlir::func::FuncOp fn);

/// The groups the emitter runs fused: anchors of ssmstep scans, per streamed lm_head the ops
/// of its chain, and the mul / sumsq pairs run as one mulsumsq.
struct FusePlan {
  bool recorded = false; ///< read from ovl-fuse's attributes (else computed)
  llvm::DenseMap<mlir::Operation *, bool> ssmStep;
  llvm::DenseMap<mlir::Operation *, std::vector<mlir::Operation *>> logits;
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> chainOf; ///< chain op -> its matmul
  /// mulsumsq / addsumsq: the sumsq -> its mul or add; the mul or add -> its sumsq.
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> mulOf;
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> sumsqOf;
  /// conv4pwl: the pwl -> its conv4 and mul (null: none); the conv4 and mul -> their pwl.
  llvm::DenseMap<mlir::Operation *, std::pair<mlir::Operation *, mlir::Operation *>> convOf;
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> convPwlOf;
  /// pwlmulpwl: the second pwl -> the first pwl and the mul; the first pwl and mul -> the second.
  llvm::DenseMap<mlir::Operation *, std::pair<mlir::Operation *, mlir::Operation *>> pwlPairOf;
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> pwlMulPwlOf;
  bool fusedScan(mlir::Operation *op) const { return ssmStep.count(op) != 0; }
  /// Adds the groups of `o` (another function's: the maps are by op), every kind.
  void merge(const FusePlan &o);
};

/// Attribute names (docs/passes.md "ovl-fuse"): on the function, the number of groups (its
/// presence: the groups are recorded); on each anchor {group, kind}; on each other member the
/// groups it belongs to (B and C of head-group scans serve several).
inline constexpr llvm::StringLiteral kFuseGroupsAttr = "ovl.fuse_groups";
inline constexpr llvm::StringLiteral kFuseAttr = "ovl.fuse";
inline constexpr llvm::StringLiteral kFuseOfAttr = "ovl.fuse_of";

/// Writes `groups` as attributes of `fn` and its ops (replacing any there).
void recordFuseGroups(mlir::func::FuncOp fn, const std::vector<FuseGroup> &groups);
/// The recorded groups of `fn`, each verified against matchFuseGroup, or computed ones when
/// `fn` has none recorded.
std::optional<PlanError> fusePlan(mlir::func::FuncOp fn, FusePlan &plan);

// ---- tiling ----

/// The weight ring: the tile buffers matmul weights stream through.
struct RingPlan {
  uint64_t bytes = 0; ///< one tile buffer
  uint64_t slack = 0; ///< spare bytes per buffer a tile moves in (bank placement)
  unsigned count = 2; ///< buffers at least
  unsigned max = 2;   ///< grown into free scratchpad space up to this many
};
/// One matmul's tiling and DRAM layout.
struct MatTile {
  uint64_t n = 0, k = 0; ///< output channels, K
  uint64_t kb = 0;       ///< bytes of one weight row (K, or K / 2 for 4-bit weights)
  uint64_t g = 0;        ///< scale groups per row (K / group)
  uint64_t group = 0;    ///< K per scale group
  uint64_t pitch = 0;    ///< bytes from one weight row to the next in a tile (>= kb)
  uint64_t nt = 0;       ///< rows per tile
  uint64_t rowBytes() const { return pitch + 4 * g; }
  uint64_t tiles() const { return nt ? (n + nt - 1) / nt : 0; }
};
struct TilePlan {
  bool recorded = false; ///< read from ovl-tile's attributes (else computed)
  RingPlan ring;
  llvm::MapVector<mlir::Operation *, MatTile> mats;
};

inline constexpr llvm::StringLiteral kTilingAttr = "ovl.tiling";
inline constexpr llvm::StringLiteral kTileAttr = "ovl.tile";

/// The ring and every matmul's tile as the emitter computes them for `board` and `opt`.
std::optional<PlanError> computeTiles(mlir::func::FuncOp fn, const target::Board &board,
                                      const EmitOptions &opt, TilePlan &plan);
/// Writes `plan` as attributes of `fn` (the ring, the board) and of each matmul (its tile, its
/// DRAM bytes and the ports its tiles' loads spread over).
void recordTiles(mlir::func::FuncOp fn, const target::Board &board, const TilePlan &plan);
/// The recorded tiles of `fn` for `board`, each checked to fit the board's buffers, or the
/// computed ones when `fn` has none recorded.
std::optional<PlanError> tilePlan(mlir::func::FuncOp fn, const target::Board &board,
                                  const EmitOptions &opt, TilePlan &plan);

/// One line per pass of what `fn` has recorded (for mamba2c --report): "ovl-fuse: 7 groups (6
/// ssmstep, 1 logits)", "ovl-tile: u280, a ring of 2..4 buffers of 379968 bytes, 13 matmuls in
/// 13 tiles"; none for what is not recorded.
std::vector<std::string> describeRecorded(mlir::func::FuncOp fn);

} // namespace mamba2::codegen
