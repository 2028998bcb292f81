// Per-operator version handling for models newer than the ONNX library: the library (ONNX 1.12)
// knows ai.onnx opsets up to 17 and IR versions up to 8, current exporters write opsets 18 to 21
// and IR version 10. `adaptToLibraryOpset` rewrites the nodes whose definition changed after
// opset 17 into their opset-17 form (ReduceMean's `axes` input back to an attribute, Split's
// `num_outputs`, Pad's `axes`, Cast's `saturate`, ...) where that form computes the same
// function, refuses with a message naming the node where it does not, and then lets the
// library's checker and shape inference run on the result.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "llvm/Support/Error.h"

namespace mamba2::onnx_import {

/// The newest ai.onnx opset and IR version the importer reads.
constexpr int64_t kMaxOpset = 21;
constexpr int64_t kMaxIrVersion = 10;

/// The newest ai.onnx opset and IR version the linked ONNX library defines.
int64_t libraryMaxOpset();
int64_t libraryMaxIrVersion();

/// What the adaptation did, for the summary and for the message about the library's checks.
struct AdaptReport {
  int64_t fromOpset = 0;     // the file's ai.onnx opset, 0 when nothing was adapted
  int64_t fromIrVersion = 0; // the file's IR version, 0 when it was not lowered
  /// Rewritten nodes per operator and change, e.g. "ReduceMean (axes input -> attribute)": 7.
  std::map<std::string, int64_t> rewrites;
  /// One line on which checks the ONNX library could not run for this model.
  std::string libraryGaps;
};

/// When `model` imports an ai.onnx opset above the library's (up to kMaxOpset) or an IR version
/// above the library's (up to kMaxIrVersion), rewrites it in place to the library's newest opset
/// and IR version. `where` prefixes messages. A model the library knows is left as it is.
llvm::Error adaptToLibraryOpset(onnx::ModelProto &model, const std::string &where,
                                AdaptReport &report);

} // namespace mamba2::onnx_import
