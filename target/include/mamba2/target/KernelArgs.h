// The overlay kernel's interface: its name, argument order and performance-counter layout, in
// one place for the HLS top (hw/top/overlay_top.cpp declares itself with
// MAMBA2_OVERLAY_SIGNATURE) and the XRT backend (runtime/lib/XrtDevice.cpp sets arguments by
// KernelArg and reads the counters by counterWord). HLS-safe: macros, enums and constexpr only.
// The DRAM ports are the board's (target/boards/<name>.toml [ports], generated into
// Boards.gen.h): port p is argument kArgPort0 + p. hw/scripts/check_scripts.py checks that the
// enum and the signature list the same names in the same order, and that link.cfg / the Vivado
// script connect those ports.
#pragma once
#include "mamba2/target/Boards.gen.h"

#define MAMBA2_KERNEL_NAME "mamba2_overlay"

#define MAMBA2_KERNEL_CAT2(a, b) a##b
#define MAMBA2_KERNEL_CAT(a, b) MAMBA2_KERNEL_CAT2(a, b)
/// The DRAM port parameters of board MAMBA2_BOARD (the HLS build's board id).
#define MAMBA2_OVERLAY_PORT_PARAMS(T) MAMBA2_KERNEL_CAT(MAMBA2_TARGET_PORT_PARAMS_, MAMBA2_BOARD)(T)
#define MAMBA2_OVERLAY_PORT_ARGS MAMBA2_KERNEL_CAT(MAMBA2_TARGET_PORT_ARGS_, MAMBA2_BOARD)
#define MAMBA2_OVERLAY_FOR_PORTS(X) MAMBA2_KERNEL_CAT(MAMBA2_TARGET_FOR_PORTS_, MAMBA2_BOARD)(X)
#define MAMBA2_OVERLAY_PORT_PRAGMAS MAMBA2_KERNEL_CAT(MAMBA2_TARGET_PORT_PRAGMAS_, MAMBA2_BOARD)

/// The top's parameter list, with the HLS byte, beat and 32-bit types passed in. The regions
/// (const, io, state, scratch) are striped over the ports (target/Stripes.h); base_* is each
/// region's port-local byte, the same on every port. status and counters are AXI-lite.
/// waiters_lo / waiters_hi: the entry's semaphore map as the top routes tokens (waiterWord).
#define MAMBA2_OVERLAY_SIGNATURE(BYTE, BEAT, U32)                                                  \
  mamba2_overlay(const BYTE *bundles, const BYTE *ucode, U32 num_bundles, U32 ucode_words,         \
                 U32 entry, U32 waiters_lo, U32 waiters_hi, U32 base_const, U32 base_io,           \
                 U32 base_state, U32 base_scratch, U32 *status,                                    \
                 U32 counters[::mamba2::target::kNumCounterWords],                                 \
                 MAMBA2_OVERLAY_PORT_PARAMS(BEAT))

namespace mamba2::target {

/// Argument indices of MAMBA2_OVERLAY_SIGNATURE, in its order.
enum KernelArg : unsigned {
  kArgBundles,     // bundles: the bundle memory
  kArgUcode,       // ucode: the microcode store image
  kArgNumBundles,  // num_bundles
  kArgUcodeWords,  // ucode_words
  kArgEntry,       // entry: the entry bundle
  kArgWaitersLo,   // waiters_lo: semaphores 0..7's waiting units (waiterWord)
  kArgWaitersHi,   // waiters_hi: semaphores 8..15's
  kArgBaseConst,   // base_const: port-local byte of region const (weights)
  kArgBaseIo,      // base_io: region io
  kArgBaseState,   // base_state: region state
  kArgBaseScratch, // base_scratch: region scratch
  kArgStatus,      // status: 0 halted normally, else fault code << 24 | bundle (AXI-lite)
  kArgCounters,    // counters: the performance counters (AXI-lite, counterWord)
  kArgPort0,       // port0: the first DRAM port; port p is kArgPort0 + p
};

/// The entry's semaphore map as the top reads it: semaphore s's waiting unit (slot index, or
/// kWaiterNone) in bits 4 * (s % 8) .. +3 of word s / 8 (waiters_lo, waiters_hi). The runtime
/// packs it from the container's Symbol.channels of the entry it runs (isa::semWaiters).
constexpr unsigned kWaiterBits = 4;
constexpr unsigned kWaiterNone = 0xF;
constexpr unsigned kWaitersPerWord = 32 / kWaiterBits;
constexpr unsigned waiterOf(unsigned lo, unsigned hi, unsigned sem) {
  return ((sem < kWaitersPerWord ? lo : hi) >> (kWaiterBits * (sem % kWaitersPerWord))) &
         kWaiterNone;
}
/// Word `word` (0: waiters_lo, 1: waiters_hi) of the map `waiter` (16 entries, indexable: the
/// waiting slot of each semaphore, anything above 15 for none; isa::semWaiters' array).
template <class A> constexpr unsigned waiterWord(const A &waiter, unsigned word) {
  unsigned w = 0;
  for (unsigned k = 0; k < kWaitersPerWord; ++k) {
    const unsigned u = unsigned(waiter[word * kWaitersPerWord + k]);
    w |= (u < kWaiterNone ? u : kWaiterNone) << (kWaiterBits * k);
  }
  return w;
}

/// Per-process performance counters (process 0 is fetch, 1..5 the units in slot order), the
/// fields of runtime::UnitCounters.
enum CounterField : unsigned {
  kCtrInstructions, // instructions run (fetch: bundles issued)
  kCtrBusy,         // iterations of the unit's II = 1 loops (DMA: beat cycles of its waves)
  kCtrStallToken,   // process-loop iterations with an instruction waiting for a token
  kCtrStallMemory,  // loop iterations waiting for the memory system the source serialises: a
                    // DMA wave's bank phases after the first (docs/overlay.md "Performance
                    // counters"; the ports' back-pressure is not observable in the source)
  kCtrBytes,        // bytes moved (DMA), weight bytes read (matrix)
  kCtrOps,          // MACs (matrix), element operations (vector, SSM)
  kCtrFields
};
constexpr unsigned kCounterProcs = 6;
/// 64-bit counters as two AXI-lite words each (low first): word 0 the kernel's cycles (fetch's
/// loop iterations), then per process and field.
constexpr unsigned counterWord(unsigned proc, unsigned field) {
  return 2 + 2 * (proc * kCtrFields + field);
}
constexpr unsigned kNumCounterWords = 2 + 2 * kCounterProcs * kCtrFields;

} // namespace mamba2::target
