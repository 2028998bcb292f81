// ONNX TensorProto <-> eval::Tensor, for running graphs on the inputs and expected outputs that
// ONNX's test data stores as serialized TensorProtos (input_0.pb, output_0.pb, ...).
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "llvm/Support/Error.h"

#include "mamba2/Eval/Tensor.h"

namespace mamba2::eval {

/// The tensor a TensorProto holds (raw_data or the typed repeated fields; not external data or
/// strings). `where` names it in messages.
llvm::Expected<Tensor> tensorFromProto(const onnx::TensorProto &proto, const std::string &where);

/// Parses a serialized TensorProto file.
llvm::Expected<Tensor> readTensorProto(const std::string &path);

/// ONNX up to 1.13 stores bfloat16 test tensors as uint16 bit patterns: such a tensor is
/// reinterpreted as bfloat16 where bfloat16 is what the graph declares. Other tensors are
/// returned as they are.
Tensor asDeclared(const Tensor &t, DType declared);

} // namespace mamba2::eval
