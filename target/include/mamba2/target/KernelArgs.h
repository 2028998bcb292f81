// The overlay kernel's interface: its name and argument order, in one place for the HLS top
// (hw/top/overlay_top.cpp declares itself with MAMBA2_OVERLAY_SIGNATURE) and the XRT backend
// (runtime/lib/XrtDevice.cpp sets arguments by KernelArg). HLS-safe: macros and an enum only.
// hw/scripts/check_scripts.py checks that the enum and the signature list the same names in
// the same order, and that link.cfg / the Vivado script connect those ports.
#pragma once

#define MAMBA2_KERNEL_NAME "mamba2_overlay"

/// The top's parameter list, with the HLS byte and 32-bit types passed in.
#define MAMBA2_OVERLAY_SIGNATURE(BYTE, U32)                                                        \
  mamba2_overlay(const BYTE *bundles, const BYTE *ucode, BYTE *r_const, BYTE *r_io, BYTE *r_state, \
                 BYTE *r_scratch, U32 num_bundles, U32 ucode_words, U32 entry, U32 *status)

namespace mamba2::target {

/// Argument indices of MAMBA2_OVERLAY_SIGNATURE, in its order.
enum KernelArg : unsigned {
  kArgBundles,    // bundles: the bundle memory
  kArgUcode,      // ucode: the microcode store image
  kArgConst,      // r_const: DRAM region const (weights)
  kArgIo,         // r_io: DRAM region io
  kArgState,      // r_state: DRAM region state
  kArgScratch,    // r_scratch: DRAM region scratch
  kArgNumBundles, // num_bundles
  kArgUcodeWords, // ucode_words
  kArgEntry,      // entry: the entry bundle
  kArgStatus,     // status: 0 halted normally, else fault code << 24 | bundle
  kNumKernelArgs
};

} // namespace mamba2::target
