//===- CodeGenPasses.td - the emitter's decisions as passes ------------------===//
//
// ovl-fuse and ovl-tile record in the IR the fusion groups and the tiles the emitter uses
// (compiler/include/mamba2/CodeGen/Plan.h; docs/passes.md). The emitter reads them when present.
//
//===----------------------------------------------------------------------===//

#ifndef MAMBA2_CODEGEN_PASSES
#define MAMBA2_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def OvlFuse : Pass<"ovl-fuse", "::mlir::func::FuncOp"> {
  let summary = "records the groups of ops the emitter runs as one kernel";
  let description = [{
    Finds, by their operands' producers and uses (not the ops' order), each group the emitter
    runs fused: `ssmstep` (an ovl.ssm whose y goes over dt·x, the scan its only reader, and
    whose C lies at a fixed offset after B: one ssmstep pass per row updates and reads each
    head's state) and `logits` (the lm_head ovl.matmul whose result only becomes the logits
    through constant mul / add, shifts and a slice at offset 0: each weight tile is finished
    in place and stored, the [rows][vocab] result never sits in the scratchpad). Records them
    as `ovl.fuse = {group, kind}` on the anchor, `ovl.fuse_of = array<i64: groups>` on the
    other members and `ovl.fuse_groups = N` on the function; the emitter then runs exactly
    these groups fused. Groups already recorded (e.g. written by hand) are verified and kept;
    one the emitter cannot run fused is refused naming the op and why.
  }];
  let dependentDialects = ["::mamba2::ovl::OvlDialect"];
}

def OvlTile : Pass<"ovl-tile", "::mlir::func::FuncOp"> {
  let summary = "records the weight ring and each matmul's tiles for a board";
  let description = [{
    For the board `target`: the weight ring (`ovl.tiling` on the function: bytes of one tile
    buffer, its spare bytes for bank placement, buffers at least and at most) and per
    ovl.matmul (`ovl.tile`) the rows per tile, K, the bytes of a weight row and its padded
    pitch, the scale groups, and the DRAM layout the emitter writes (tiles, bytes of one tile
    and of all, the m_axi ports a tile's load spreads over). Computed by the emitter's own
    functions; the emitter then uses these tiles. Refused: an unknown target, a matmul one of
    whose weight rows does not fit a tile buffer, tiles already recorded that do not fit the
    board's buffers or were recorded for another board.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"kv260\"",
           "board whose scratchpad, banks and ports the tiles are for">,
    Option<"weightBuffers", "weight-buffers", "unsigned", /*default=*/"2",
           "tile buffers of the weight ring at least (2: double buffering)">,
    Option<"maxWeightBuffers", "max-weight-buffers", "unsigned", /*default=*/"4",
           "tile buffers the ring may grow to in free scratchpad space">,
    Option<"weightBufferBytes", "weight-buffer-bytes", "uint64_t", /*default=*/"0",
           "bytes of one tile buffer (0: an eighth of the scratchpad)">,
    Option<"padWeightRows", "pad-weight-rows", "bool", /*default=*/"true",
           "pad weight rows to the board's bank-friendly pitch">
  ];
  let dependentDialects = ["::mamba2::ovl::OvlDialect"];
}

#endif // MAMBA2_CODEGEN_PASSES
