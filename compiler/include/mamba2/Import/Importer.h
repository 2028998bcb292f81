// Imports an ONNX ModelProto (read and checked by ModelReader) into an MLIR module of `onnx`
// dialect ops: one func.func @main whose arguments are the graph inputs (initializers excluded)
// and whose results are the graph outputs.
//
// Weights: initializers above ImportOptions::denseLimitBytes become `dense_resource` constants
// that point at the model's bytes without a copy: into the ModelProto's raw_data, or into a
// memory-mapped external-data file held by WeightStorage. Both the LoadedModel and the
// WeightStorage must therefore outlive the module.
//
// Errors (unsupported operators, malformed tensors, missing values) are emitted as MLIR
// diagnostics located at the node or tensor at fault; the result is then null.
#pragma once

#include <memory>
#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include "mamba2/onnx/ModelReader.h"

namespace mamba2::import {

struct ImportOptions {
  /// Initializers of more bytes than this are imported without a copy (dense_resource).
  int64_t denseLimitBytes = 256 * 1024;
  /// Name of the function that holds the graph.
  std::string functionName = "main";
};

/// Memory-mapped external-data files that imported constants point into.
class WeightStorage {
public:
  /// The bytes [offset, offset + length) of `path`, mapped read-only; null data on failure
  /// with `error` set.
  llvm::ArrayRef<char> map(const std::string &path, uint64_t offset, uint64_t length,
                           std::string &error);

private:
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers_;
};

/// Registers the dialects an imported module uses (func, onnx).
void registerImportDialects(mlir::MLIRContext &context);

/// Whether the importer accepts nodes of this ai.onnx operator type: the `onnx` dialect has an
/// op of that name (NoValue, the dialect's absent input, is no ONNX operator).
bool isSupportedOpType(mlir::MLIRContext &context, llvm::StringRef opType);

/// Every ai.onnx operator type the importer accepts, sorted.
std::vector<std::string> supportedOpTypes(mlir::MLIRContext &context);

mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              const onnx_import::LoadedModel &model,
                                              WeightStorage &storage,
                                              const ImportOptions &options = {});

} // namespace mamba2::import
