// Structural validation of an ONNX model before the ONNX library (checker, version converter,
// shape inference) or the importer sees it. Debian's ONNX 1.12 trusts what it reads: a Constant
// whose raw data is shorter than its shape overflows a buffer, a Conv with stride 0 divides by
// zero, a Transpose with a repeated perm or a Mod by a zero constant crashes shape inference, and
// a ConstantOfShape([2^40]) makes it build 2^40 dimensions. validateStructure checks everything
// the library would trust, for ai.onnx opsets 13 to 21, and names the node or tensor at fault.
#pragma once

#include <cstdint>
#include <string>

#include <onnx/onnx_pb.h>

#include "llvm/Support/Error.h"

namespace mamba2::onnx_import {

/// Bounds on what a model may ask anyone to materialise.
inline constexpr int64_t kMaxTensorElements = int64_t(1) << 32; // any one tensor or shape
inline constexpr int64_t kMaxRank = 64;                         // dims of any one tensor
inline constexpr int64_t kMaxAttrExtent = int64_t(1) << 31;     // strides, pads, kernel sizes

/// Checks, for the model and every subgraph: each node input is defined before it (graph
/// input, initializer or an earlier node's output: topological order), tensors (initializers,
/// Constant values, tensor attributes) have non-negative dims, a bounded element count computed
/// without overflow and exactly the data their shape and type need, graph inputs and outputs
/// have non-negative bounded dims, attribute kinds match the operator schema, and the attributes
/// and constant inputs of the operators whose shape inference trusts them are in range
/// (Transpose perm, Split sizes, Conv/pool strides/dilations/pads/group, Reshape/Expand/
/// ConstantOfShape/Tile sizes, Mod/Div by a zero integer constant, CumSum axis, Range step,
/// Slice steps, Cast targets), and external-data references are well formed (location without
/// NUL bytes, absolute paths or `..`; offset and length decimal numbers). The error reads
/// "WHERE: node 'NAME' (OP): what is wrong" or "WHERE: tensor 'NAME': ...".
llvm::Error validateStructure(const onnx::ModelProto &model, const std::string &where);

} // namespace mamba2::onnx_import
