// The emitter's end of the compiler driver (Driver.h).
#include "mamba2/CodeGen/Driver.h"

#include "mamba2/Support/PhaseReport.h"
#include "mamba2/isa/Asm.h"
#include "mamba2/runtime/Container.h"

#include "llvm/Support/FileSystem.h"

#include <fstream>
#include <optional>

namespace mamba2::codegen {

mlir::func::FuncOp modelFunction(mlir::ModuleOp module, std::string &error) {
  if (auto fn = module.lookupSymbol<mlir::func::FuncOp>("main"))
    return fn;
  mlir::func::FuncOp only;
  unsigned count = 0;
  for (auto fn : module.getOps<mlir::func::FuncOp>()) {
    only = fn;
    ++count;
  }
  if (count == 1)
    return only;
  error = count == 0 ? "the module has no function"
                     : "the module has " + std::to_string(count) + " functions and no @main";
  return nullptr;
}

int emitModule(mlir::ModuleOp module, const std::string &target, const EmitOptions &options,
               const std::string &outPath, bool assembly, llvm::raw_ostream &err,
               PhaseReport *report) {
  const target::Board *board = target::findBoard(target);
  if (!board) {
    err << "mamba2c: error: unknown target '" << target << "' (" << target::boardNames() << ")\n";
    return 1;
  }
  std::string why;
  mlir::func::FuncOp fn = modelFunction(module, why);
  if (!fn) {
    err << "mamba2c: error: " << why << "\n";
    return 1;
  }
  EmitStats stats;
  std::optional<ScopedPhase> phase;
  phase.emplace(report, "emit the program");
  auto prog = emitProgram(fn, *board, options, &stats);
  phase.reset();
  if (!prog) {
    err << "mamba2c: error: " << llvm::toString(prog.takeError()) << "\n";
    return 1;
  }
  // Layers the loop could not take are said, never silently unrolled.
  for (const std::string &n : stats.notes)
    if (n.find("in a hardware loop") == std::string::npos)
      err << "mamba2c: remark: " << n << "\n";
  ScopedPhase write(report, assembly ? "write the assembly" : "write the container");
  std::error_code ec;
  llvm::raw_fd_ostream os(outPath, ec, assembly ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
  if (ec) {
    err << "mamba2c: error: " << outPath << ": " << ec.message() << "\n";
    return 1;
  }
  if (assembly) {
    for (const std::string &n : stats.notes)
      os << "# " << n << "\n";
    os << isa::disassemble(*prog);
  } else {
    runtime::writeContainer(*prog, *board, [&](const uint8_t *d, size_t n) {
      os.write(reinterpret_cast<const char *>(d), n);
    });
  }
  os.flush();
  if (os.has_error()) {
    err << "mamba2c: error: " << outPath << ": write failed\n";
    os.clear_error();
    return 1;
  }
  return 0;
}

} // namespace mamba2::codegen
