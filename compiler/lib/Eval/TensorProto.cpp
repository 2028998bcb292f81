// ONNX TensorProto files -> eval::Tensor. See TensorProto.h.
#include "mamba2/Eval/TensorProto.h"

#include <fstream>
#include <sstream>

#include "llvm/ADT/Twine.h"

#include "TensorDispatch.h"

namespace mamba2::eval {
namespace {

llvm::Error fail(const std::string &where, const llvm::Twine &msg) {
  return llvm::createStringError(where + ": " + msg);
}

llvm::Expected<DType> dtypeOfProto(int32_t t, const std::string &where) {
  using T = onnx::TensorProto;
  switch (t) {
  case T::FLOAT:
    return DType::F32;
  case T::DOUBLE:
    return DType::F64;
  case T::FLOAT16:
    return DType::F16;
  case T::BFLOAT16:
    return DType::BF16;
  case T::INT8:
    return DType::I8;
  case T::INT16:
    return DType::I16;
  case T::INT32:
    return DType::I32;
  case T::INT64:
    return DType::I64;
  case T::UINT8:
    return DType::U8;
  case T::UINT16:
    return DType::U16;
  case T::UINT32:
    return DType::U32;
  case T::UINT64:
    return DType::U64;
  case T::BOOL:
    return DType::Bool;
  default:
    return fail(where, "element type " +
                           onnx::TensorProto_DataType_Name(static_cast<T::DataType>(t)) +
                           " is not supported");
  }
}

/// Copies n typed values into the tensor's storage, converting each to the storage type.
template <typename Field> void fill(Tensor &t, const Field &values) {
  detail::visit(t.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    S *o = t.mutableData<S>();
    int64_t i = 0;
    for (auto v : values) {
      if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>)
        o[i++] = S{static_cast<uint16_t>(v)}; // the 16-bit pattern, as ONNX stores it
      else
        o[i++] = static_cast<S>(v);
    }
  });
}

} // namespace

llvm::Expected<Tensor> tensorFromProto(const onnx::TensorProto &p, const std::string &where) {
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return fail(where, "external data is not supported here");
  auto dt = dtypeOfProto(p.data_type(), where);
  if (!dt)
    return dt.takeError();
  Shape shape;
  for (int64_t d : p.dims()) {
    if (d < 0)
      return fail(where, "negative dimension " + llvm::Twine(d));
    shape.push_back(d);
  }
  Tensor t = Tensor::zeros(*dt, shape);
  int64_t n = t.numel();
  if (p.has_raw_data()) {
    if (static_cast<int64_t>(p.raw_data().size()) != t.bytes())
      return fail(where, "raw_data holds " + llvm::Twine(p.raw_data().size()) +
                             " bytes, but shape " + formatShape(shape) + " of " + dtypeName(*dt) +
                             " needs " + llvm::Twine(t.bytes()));
    std::memcpy(t.mutableData<char>(), p.raw_data().data(), p.raw_data().size());
    if (*dt == DType::Bool)
      for (int64_t i = 0; i < n; ++i)
        t.mutableData<bool>()[i] = t.data<uint8_t>()[i] != 0;
    return t;
  }
  using T = onnx::TensorProto;
  int64_t have;
  switch (p.data_type()) {
  case T::FLOAT:
    have = p.float_data_size();
    break;
  case T::DOUBLE:
    have = p.double_data_size();
    break;
  case T::INT64:
    have = p.int64_data_size();
    break;
  case T::UINT32:
  case T::UINT64:
    have = p.uint64_data_size();
    break;
  default: // int32_data: (u)int8/16, int32, bool, float16 and bfloat16 bit patterns
    have = p.int32_data_size();
    break;
  }
  if (have != n)
    return fail(where, "holds " + llvm::Twine(have) + " values, but shape " + formatShape(shape) +
                           " needs " + llvm::Twine(n));
  switch (p.data_type()) {
  case T::FLOAT:
    fill(t, p.float_data());
    break;
  case T::DOUBLE:
    fill(t, p.double_data());
    break;
  case T::INT64:
    fill(t, p.int64_data());
    break;
  case T::UINT32:
  case T::UINT64:
    fill(t, p.uint64_data());
    break;
  default:
    fill(t, p.int32_data());
    break;
  }
  return t;
}

llvm::Expected<Tensor> readTensorProto(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(path, "cannot be read");
  std::stringstream bytes;
  bytes << in.rdbuf();
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes.str()))
    return fail(path, "not a valid ONNX TensorProto (parse failed)");
  return tensorFromProto(p, path);
}

Tensor asDeclared(const Tensor &t, DType declared) {
  if (declared == DType::BF16 && t.dtype() == DType::U16)
    return t.bitcast(DType::BF16);
  return t;
}

} // namespace mamba2::eval
