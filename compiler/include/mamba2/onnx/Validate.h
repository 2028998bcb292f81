// Structural checks of an ONNX model that run before the ONNX library sees it, so that they
// hold for every model, also for those of opsets and IR versions the library does not know.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "llvm/Support/Error.h"

namespace mamba2::onnx_import {

/// Every node input is a graph input, an initializer or an output of an earlier node
/// (topological order); no value is produced twice; initializer data fits its shape and type;
/// every element type is one the importer knows. `where` prefixes the message.
llvm::Error validateStructure(const onnx::ModelProto &model, const std::string &where);

} // namespace mamba2::onnx_import
