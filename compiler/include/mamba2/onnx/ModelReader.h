// Reads an ONNX model file with the official ONNX library: parse, check, infer shapes, and
// validate external-data references. Every failure is an llvm::Error whose message names the
// file and, where there is one, the node or tensor at fault.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "llvm/Support/Error.h"

#include "mamba2/onnx/OpsetAdapter.h"

namespace mamba2::onnx_import {

struct ReadOptions {
  /// Run onnx::checker::check_model (full check, which includes strict shape inference).
  bool check = true;
  /// Run onnx::shape_inference::InferShapes so that value_info carries every shape it can.
  bool inferShapes = true;
  /// Symbolic dimensions (dim_param) of graph inputs and outputs to make concrete before shape
  /// inference, e.g. {"batch": 1, "sequence": 37}; then the shape arithmetic can fold.
  std::map<std::string, int64_t> dimValues;
  /// A model that imports an older ai.onnx opset is converted to this one with ONNX's version
  /// converter (onnx/version_converter) before the check, so that its nodes follow the operator
  /// definitions of the opsets the library knows (13 to 17; newer ones, up to 21, are rewritten
  /// to 17 by the importer's own per-operator adapters); only a model that passed the
  /// check is converted (needs `check`). 0 leaves every model as it is.
  int64_t minOpset = 13;
  /// Run shape inference in a child process (fork) with bounded memory and CPU time, so that
  /// what Debian's ONNX 1.12 cannot survive is an error naming the node, never a signal in the
  /// caller. The fuzzer turns it off to find such inputs in-process.
  bool isolateShapeInference = true;
};

/// Largest serialized ModelProto read (protobuf's own limit is 2 GiB).
inline constexpr uint64_t kMaxModelFileBytes = (uint64_t(1) << 31) - 1;
/// Limits of the shape-inference child process.
inline constexpr unsigned kShapeInferenceCpuSeconds = 300;
inline constexpr uint64_t kShapeInferenceMemoryBytes = uint64_t(8) << 30;

/// One initializer whose bytes live in a file beside the model.
struct ExternalTensor {
  std::string name;
  std::string location; // relative to the model's folder
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct LoadedModel {
  onnx::ModelProto proto;
  std::string path;
  std::string directory;                // folder that external-data locations are relative to
  std::vector<ExternalTensor> external; // validated: file present, range inside it
  int64_t convertedFromOpset = 0;       // the ai.onnx opset before conversion, 0 if none
  AdaptReport adapted; // a model newer than the ONNX library, rewritten to its opset / IR version
};

/// Parses, checks and shape-infers `path`. External data is validated, not read.
llvm::Expected<LoadedModel> readModel(const std::string &path, const ReadOptions &options = {});

/// Parses an in-memory serialized ModelProto (no external data allowed); `name` is used in
/// messages.
llvm::Expected<LoadedModel> readModelFromBytes(const std::string &bytes, const std::string &name,
                                               const ReadOptions &options = {});

/// Parses a model in ONNX's textual syntax (onnx/defs/parser.h), e.g.
///   <ir_version: 8, opset_import: ["" : 17]> g (float[2] x) => (float[2] y) { y = Relu(x) }
/// then checks and infers shapes as readModel does.
llvm::Expected<LoadedModel> readModelFromText(const std::string &text, const std::string &name,
                                              const ReadOptions &options = {});

/// ONNX shape inference (strict, without then with data propagation) in a forked child with
/// bounded CPU time and memory; the inferred value_info and output types are copied back. What
/// the library cannot survive (a signal, the limits) is an error naming the first node whose
/// inference fails that way (found by bisecting the node list), never a signal here. readModel
/// calls it after validateStructure.
llvm::Error inferShapesIsolated(onnx::ModelProto &proto, const std::string &where);

/// Counts of what a model holds, for `mamba2c --summary` and the tests.
struct ModelSummary {
  int64_t irVersion = 0;
  std::map<std::string, int64_t> opsets; // domain ("" = ai.onnx) -> version
  int64_t convertedFromOpset = 0;        // the file's ai.onnx opset, when converted
  int64_t adaptedFromOpset = 0;          // the file's ai.onnx opset, when above the library's
  int64_t adaptedFromIrVersion = 0;      // the file's IR version, when above the library's
                                         // (irVersion and opsets are the file's)
  std::string libraryGaps;               // which checks the ONNX library could not run
  std::string producer;
  std::vector<std::string> inputs;  // "name: type[dims]"
  std::vector<std::string> outputs; // "name: type[dims]"
  std::map<std::string, int64_t> opCounts;
  int64_t nodes = 0;
  int64_t initializers = 0;
  int64_t parameters = 0; // elements over all initializers
  int64_t parameterBytes = 0;
  int64_t externalBytes = 0; // of which stored in external files
};

ModelSummary summarize(const LoadedModel &model);

/// Human-readable text of a summary (stable, FileCheck-friendly).
std::string formatSummary(const ModelSummary &summary);

/// Bytes per element of an ONNX TensorProto data type, 0 for unknown or non-fixed types.
int64_t elementBytes(int32_t dataType);

} // namespace mamba2::onnx_import
