// The emitter's end of the compiler driver: an `ovl` module -> a .m2b file or its assembly.
#pragma once

#include "mamba2/CodeGen/Emitter.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mamba2 {
class PhaseReport;
} // namespace mamba2

namespace mamba2::codegen {

/// The model function of an ovl module: `@main`, else the module's only function; nullptr and
/// `error` set when there is none.
mlir::func::FuncOp modelFunction(mlir::ModuleOp module, std::string &error);

/// Emits the model function of `module` for the board named `target` and writes the program
/// to `outPath` as a .m2b container (or, with `assembly`, as isa assembly; "-" is stdout).
/// Returns 0, or 1 after printing "mamba2c: error: ..." to `err`. With `report`, emitting the
/// program and writing the file are rows of it.
int emitModule(mlir::ModuleOp module, const std::string &target, const EmitOptions &options,
               const std::string &outPath, bool assembly, llvm::raw_ostream &err,
               PhaseReport *report = nullptr);

} // namespace mamba2::codegen
