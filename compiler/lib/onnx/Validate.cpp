#include "mamba2/onnx/Validate.h"

#include <set>

#include "mamba2/onnx/ModelReader.h"

namespace mamba2::onnx_import {
namespace {

llvm::Error fail(const std::string &where, const std::string &what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s: %s", where.c_str(),
                                 what.c_str());
}

std::string nodeName(const onnx::NodeProto &n, int index) {
  std::string name = n.name().empty() ? n.op_type() + "#" + std::to_string(index) : n.name();
  return "node '" + name + "' (" + n.op_type() + ")";
}

/// Element types of ONNX 1.12's TensorProto (FLOAT .. BFLOAT16) other than UNDEFINED.
bool knownElementType(int32_t t) { return t >= 1 && t <= onnx::TensorProto::BFLOAT16; }

llvm::Error checkType(const onnx::TypeProto &type, const std::string &what,
                      const std::string &where) {
  if (type.has_tensor_type() && type.tensor_type().elem_type() != 0 &&
      !knownElementType(type.tensor_type().elem_type()))
    return fail(where, what + " has element type " +
                           std::to_string(type.tensor_type().elem_type()) +
                           ", which the importer does not know (float8, int4 and uint4 are "
                           "not supported)");
  return llvm::Error::success();
}

llvm::Error checkInitializer(const onnx::TensorProto &t, const std::string &where) {
  if (!knownElementType(t.data_type()))
    return fail(where, "initializer '" + t.name() + "' has element type " +
                           std::to_string(t.data_type()) + ", which the importer does not know");
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0)
      return fail(where,
                  "initializer '" + t.name() + "' has negative dimension " + std::to_string(d));
    if (d > 0 && n > INT64_MAX / d)
      return fail(where, "initializer '" + t.name() + "' has too many elements");
    n *= d;
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL ||
      t.data_type() == onnx::TensorProto::STRING)
    return llvm::Error::success(); // external ranges are checked against the file later
  int64_t bytes = elementBytes(t.data_type());
  if (t.has_raw_data()) {
    if (bytes > 0 &&
        (n > INT64_MAX / bytes || static_cast<int64_t>(t.raw_data().size()) != n * bytes))
      return fail(where, "tensor '" + t.name() + "' holds " + std::to_string(t.raw_data().size()) +
                             " bytes of data, but its shape and type need " +
                             std::to_string(n * bytes));
    return llvm::Error::success();
  }
  int64_t have = t.float_data_size() + t.int32_data_size() + t.int64_data_size() +
                 t.double_data_size() + t.uint64_data_size();
  if (t.data_type() == onnx::TensorProto::COMPLEX64 ||
      t.data_type() == onnx::TensorProto::COMPLEX128)
    have /= 2;
  if (have != n)
    return fail(where, "tensor '" + t.name() + "' holds " + std::to_string(have) +
                           " elements, but its shape needs " + std::to_string(n));
  return llvm::Error::success();
}

} // namespace

llvm::Error validateStructure(const onnx::ModelProto &model, const std::string &where) {
  const auto &g = model.graph();
  std::set<std::string> defined;
  for (const auto &t : g.initializer()) {
    if (auto err = checkInitializer(t, where))
      return err;
    defined.insert(t.name());
  }
  for (const auto &v : g.input()) {
    if (auto err = checkType(v.type(), "graph input '" + v.name() + "'", where))
      return err;
    defined.insert(v.name());
  }
  for (const auto &v : g.value_info())
    if (auto err = checkType(v.type(), "value '" + v.name() + "'", where))
      return err;
  for (const auto &v : g.output())
    if (auto err = checkType(v.type(), "graph output '" + v.name() + "'", where))
      return err;
  int index = 0;
  for (const auto &n : g.node()) {
    for (const auto &in : n.input())
      if (!in.empty() && !defined.count(in))
        return fail(where, nodeName(n, index) + ": input '" + in +
                               "' is not a graph input, an initializer or an output of an "
                               "earlier node (the graph must be topologically sorted)");
    for (const auto &a : n.attribute())
      if (a.has_t())
        if (auto err = checkInitializer(a.t(), where))
          return err;
    for (const auto &out : n.output()) {
      if (out.empty())
        continue;
      if (!defined.insert(out).second)
        return fail(where, nodeName(n, index) + ": output '" + out +
                               "' is already defined by an input, initializer or earlier node");
    }
    ++index;
  }
  for (const auto &v : g.output())
    if (!defined.count(v.name()))
      return fail(where, "graph output '" + v.name() + "' is never produced");
  return llvm::Error::success();
}

} // namespace mamba2::onnx_import
