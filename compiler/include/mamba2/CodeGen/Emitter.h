// The emitter: an `ovl` model function -> an overlay program (isa::Program, written as .m2b) that
// implements the compiled-model ABI (docs/codegen.md):
//   const   `model` i32[8], `embedding` i32[vocab][d], matmul weight tiles (+ scales), vectors,
//           tables;
//   io      `x` i32[t_block][d] (the host's embedded rows), `logits` i32[t_block][vocab];
//   state   one tensor per state argument of the function, updated in place;
//   entries `prefill` (t_block rows) and `decode` (row 0 only).
// Scratchpad buffers are allocated by liveness (linear scan over the op order), matmul weights
// stream from DRAM through a ring of tile buffers so loads overlap the matrix unit, every op is
// a micro-op run over rows, and a list scheduler packs the units' instructions into bundles
// ordered by semaphores. An op or size the target cannot run is an error naming the op.
#pragma once

#include "mamba2/isa/Program.h"
#include "mamba2/target/Board.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::codegen {

struct EmitOptions {
  /// Rows of one `prefill` call (the matrix unit's `m` field bounds it: 1..63); 0: the most of
  /// kAutoTBlocks (32, 16, ... 1) whose buffers fit the scratchpad, with a note when not 32.
  unsigned tBlock = 32;
  /// Tile buffers in the weight ring (2: double buffering).
  unsigned weightBuffers = 2;
  /// Each entry grows its ring into the scratchpad space its other buffers leave free, up to
  /// this many tile buffers (at most weightBuffers: no growth), so weight tiles stream ahead
  /// of the conv / SSM / vector work.
  unsigned maxWeightBuffers = 4;
  /// Bytes of one weight tile buffer; 0: an eighth of the scratchpad.
  uint64_t weightBufferBytes = 0;
  /// Pad weight rows to the board's pitch (target::weightRowPitch; zero bytes, the micro-op's
  /// wpitch) and place each tile in its ring buffer (a spare span) so that the rows of a
  /// matrix step and its activations fall in different banks.
  bool padWeightRows = true;
  /// Emit the repeating layers once, inside a ctrl.loop whose iterations move the DRAM offsets
  /// of the layers' constants and states by the per-layer stride (docs/codegen.md "Layer
  /// loops"); false: every layer unrolled.
  bool layerLoop = true;
  /// Channels into one unit whose waits interleave provably share a semaphore when an entry's
  /// channels outnumber the semaphores (before any goes through ctrl.sync).
  bool shareSemaphores = true;
  /// Software pipelining of the layer loop's weight stream (docs/codegen.md "Layer loops"),
  /// in entries emitted op by op: the weight ring runs on across the repeating layers instead
  /// of restarting at each (the loop's iterations are then blocks of ring / gcd(tiles, ring)
  /// layers), so the next layer's first tiles load while the layer's tail computes; the
  /// buffers the load unit fills and the others are reserved longer after their last use; a
  /// layer's loads that follow each other in DRAM and in the scratchpad merge into one DMA.
  /// false: the program of before (the ring restarts at each layer, one DMA per constant).
  bool pipelineLoads = true;
  /// Semaphores an entry may use (at most isa's 16; fewer exercises the sharing and ctrl.sync
  /// paths on small models, in tests).
  unsigned semaphores = 16;
  /// The prefill entry's layers in this many blocks of rows, interleaved so the matrix unit
  /// multiplies one block while the SSM unit scans another (docs/codegen.md "Row blocks");
  /// 1: op after op over all rows. Such an entry has no layer loop. When their micro-ops do
  /// not fit the microcode store, the layers' buffers are allocated alike (their micro-ops
  /// stored once), with a note; when that does not fit either (microcode store, scratchpad)
  /// the prefill is emitted without them, with a note. 0 (kAutoRowBlocks, the default): the
  /// cost model chooses (RowBlocks.h: op by op, or the count it estimates fastest), with a note.
  unsigned prefillRowBlocks = 0;
  /// Microcode words a layer loop's per-iteration micro-ops may bring the program to before
  /// the loop spans fewer layers (0: the store's, isa::kUcodeWords; smaller only to test
  /// that choice on small models).
  size_t loopUcodeWords = 0;
  /// Only lay out the addresses and place each entry's buffers (no weight image, no emission):
  /// emitProgram returns an empty program, or the error a full emission would give for the
  /// buffers (RowsDoNotFitError). Used to find the rows a call that fit (tBlock 0).
  bool probe = false;
};

/// Figures about an emitted program (for reports and tests).
/// The row counts a prefill call tries, most first, when EmitOptions::tBlock is 0.
inline constexpr std::array<unsigned, 6> kAutoTBlocks = {32, 16, 8, 4, 2, 1};

/// emitProgram's error when an entry's buffers at its row count do not fit the scratchpad
/// (the message names the op and the buffer): fewer rows a call may fit.
class RowsDoNotFitError : public llvm::ErrorInfo<RowsDoNotFitError> {
public:
  static char ID;
  explicit RowsDoNotFitError(std::string msg) : msg_(std::move(msg)) {}
  void log(llvm::raw_ostream &os) const override { os << msg_; }
  std::error_code convertToErrorCode() const override { return llvm::inconvertibleErrorCode(); }

private:
  std::string msg_;
};

struct EmitStats {
  struct Entry {
    std::string name;
    std::string function; // the function it lowers (@main, or the decode's own: ovl.entry)
    unsigned rows = 0;
    size_t bundles = 0, instructions = 0, fences = 0;
    uint64_t spadPeak = 0;    // bytes of scratchpad the allocator used (activations + ring)
    unsigned ringBuffers = 0; // weight tile buffers in this entry's ring
    unsigned rowBlocks = 1;   // row blocks of its layers (1: none)
    unsigned semaphores = 0;  // semaphores its map uses (of isa::kNumSems)
    size_t syncs = 0;         // ctrl.sync barriers it holds (channels without a semaphore, a layer
                              // loop's drains; a loop body's counted once)
    /// The layer loop: layers loopFirst .. loopFirst + loopCount * loopLayers - 1, loopLayers
    /// per iteration (loopCount 0: none, every layer unrolled).
    unsigned loopFirst = 0, loopLayers = 0, loopCount = 0;
    /// Micro-op words each iteration keeps for itself (runs whose immediates differ from
    /// layer to layer, through `ureg`; 0: every iteration runs the same words).
    unsigned loopUopWords = 0;
  };
  std::vector<Entry> entries;
  size_t ucodeWords = 0;
  unsigned semaphores = 0; // the most any entry's semaphore map uses
  uint64_t constBytes = 0, weightBytes = 0, stateBytes = 0;
  unsigned layers = 0;
  /// What the layer loop covers and why a layer is unrolled (for --emit=asm comments and
  /// remarks).
  std::vector<std::string> notes;
};

/// Emits `fn` (signature: see compiler/include/mamba2/Ovl/Evaluator.h) for `board`. The program
/// passes runtime::validateProgram. Errors name the op (and its location) and why.
llvm::Expected<isa::Program> emitProgram(mlir::func::FuncOp fn, const target::Board &board,
                                         const EmitOptions &options = {},
                                         EmitStats *stats = nullptr);

} // namespace mamba2::codegen
