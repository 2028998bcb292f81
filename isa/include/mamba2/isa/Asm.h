// Text form of a program: assembler (text -> Program) and disassembler (Program -> text).
// disassemble() prints the canonical form; assemble(disassemble(p)) == p for every valid p.
//
//   .target kv260
//   .region io 256                     # DRAM region size in bytes
//   .data const 0 i8 1 -2 3            # initial bytes: i8 u8 i16 i32 values, or `x` hex string
//   .tensor y io 64 64 i32             # name region offset bytes dtype
//   .entry main                        # entry point at the next bundle (or `.entry main 3`)
//   .uop 0 add32 dst=64 src0=0 src1=32 len=8
//   { load.dma spad=0 region=io rows=1 rowb=32 signal=0 ; ctrl.halt }
//
// A bundle lists its non-NOP slots as `slot.op field=value ...` separated by `;`; omitted
// fields are 0; `wait=S` / `signal=S` set the token fields.
#pragma once
#include "mamba2/isa/Program.h"

#include <stdexcept>
#include <string>

namespace mamba2::isa {

/// A user-input error with its location ("file:line: message").
struct AsmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses assembly; throws AsmError naming file, line and the problem.
Program assemble(const std::string &text, const std::string &fileName = "<input>");
/// Canonical text of a program.
std::string disassemble(const Program &p);
/// One bundle / one micro-op in canonical text (no newline).
std::string formatBundle(const Bundle &b);
std::string formatUop(const UopWord &u);

} // namespace mamba2::isa
