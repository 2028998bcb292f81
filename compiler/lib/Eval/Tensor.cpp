// Tensors of the onnx-dialect interpreter. See Tensor.h.
#include "mamba2/Eval/Tensor.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/Twine.h"

#include "TensorDispatch.h"

namespace mamba2::eval {

using namespace detail;

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "float32";
  case DType::F64:
    return "float64";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::I8:
    return "int8";
  case DType::I16:
    return "int16";
  case DType::I32:
    return "int32";
  case DType::I64:
    return "int64";
  case DType::U8:
    return "uint8";
  case DType::U16:
    return "uint16";
  case DType::U32:
    return "uint32";
  case DType::U64:
    return "uint64";
  case DType::Bool:
    return "bool";
  }
  return "?";
}

int64_t dtypeBytes(DType t) {
  return visit(t, [](auto tag) -> int64_t { return sizeof(typename decltype(tag)::type); });
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16;
}

llvm::Expected<DType> dtypeOf(mlir::Type t) {
  if (t.isF32())
    return DType::F32;
  if (t.isF64())
    return DType::F64;
  if (t.isF16())
    return DType::F16;
  if (t.isBF16())
    return DType::BF16;
  if (auto i = mlir::dyn_cast<mlir::IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 1:
      return DType::Bool;
    case 8:
      return u ? DType::U8 : DType::I8;
    case 16:
      return u ? DType::U16 : DType::I16;
    case 32:
      return u ? DType::U32 : DType::I32;
    case 64:
      return u ? DType::U64 : DType::I64;
    default:
      break;
    }
  }
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return llvm::createStringError("element type " + s + " is not supported by the interpreter");
}

Half toHalf(double v) {
  llvm::APFloat f(v);
  bool losesInfo = false;
  f.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return Half{static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue())};
}

float fromHalf(Half h) {
  uint32_t sign = (h.bits & 0x8000u) << 16, exp = (h.bits >> 10) & 0x1f, man = h.bits & 0x3ff;
  uint32_t u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (man << 13); // inf or NaN
  } else if (exp != 0) {
    u = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    u = sign;
  } else { // subnormal: normalise
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while (!(man & 0x400));
    u = sign | ((112 - e) << 23) | ((man & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

BFloat16 toBFloat16(float v) {
  if (std::isnan(v))
    return BFloat16{static_cast<uint16_t>(std::signbit(v) ? 0xffc0 : 0x7fc0)};
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string formatShape(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Tensor Tensor::empty(DType dtype, Shape shape) {
  // Sizes a kernel computed from untrusted shapes: refuse negative ones and overflow (beyond
  // 2^48 bytes) before allocating.
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 48) / d))
      throw std::length_error("a tensor of shape " + formatShape(shape) + " is too large");
    n *= d;
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  size_t words = std::max<size_t>(static_cast<size_t>((t.bytes() + 7) / 8), 1);
  t.owned_ = std::shared_ptr<uint64_t[]>(new uint64_t[words]);
  t.data_ = t.owned_.get();
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.owned_.get(), 0, static_cast<size_t>(std::max<int64_t>(t.bytes(), 1)));
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, const void *data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::bitcast(DType dtype) const {
  Tensor t = *this;
  t.dtype_ = dtype;
  return t;
}

double elementAsDouble(const Tensor &t, int64_t i) {
  return visit(t.dtype(), [&](auto tag) -> double {
    using S = typename decltype(tag)::type;
    return static_cast<double>(load<S>(t.data<S>(), i));
  });
}

namespace {

std::string formatValue(const Tensor &t, int64_t i) {
  std::ostringstream os;
  os.precision(9);
  os << elementAsDouble(t, i);
  return os.str();
}

/// "[1, 2, 3]" multi-index of linear index `i` in `shape`.
std::string formatIndex(const Shape &shape, int64_t i) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
  return formatShape(idx);
}

} // namespace

Comparison compare(const Tensor &actual, const Tensor &expected, double rtol, double atol) {
  Comparison c;
  if (actual.dtype() != expected.dtype()) {
    c.message = std::string("element type ") + dtypeName(actual.dtype()) + ", expected " +
                dtypeName(expected.dtype());
    return c;
  }
  if (actual.shape() != expected.shape()) {
    c.message =
        "shape " + formatShape(actual.shape()) + ", expected " + formatShape(expected.shape());
    return c;
  }
  bool floating = isFloat(actual.dtype());
  int64_t first = -1;
  for (int64_t i = 0, n = actual.numel(); i < n; ++i) {
    bool same;
    if (floating) {
      double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
      if (std::isnan(a) || std::isnan(e)) {
        same = std::isnan(a) && std::isnan(e);
      } else if (std::isinf(a) || std::isinf(e)) {
        same = a == e;
      } else {
        double diff = std::fabs(a - e);
        c.maxAbsError = std::max(c.maxAbsError, diff);
        same = diff <= atol + rtol * std::fabs(e);
      }
    } else {
      int64_t b = dtypeBytes(actual.dtype());
      same = std::memcmp(static_cast<const char *>(actual.raw()) + i * b,
                         static_cast<const char *>(expected.raw()) + i * b, b) == 0;
      if (!same)
        c.maxAbsError = std::max(
            c.maxAbsError, std::fabs(elementAsDouble(actual, i) - elementAsDouble(expected, i)));
    }
    if (!same) {
      ++c.mismatches;
      if (first < 0)
        first = i;
    }
  }
  if (c.mismatches == 0) {
    c.ok = true;
    return c;
  }
  std::ostringstream os;
  os << c.mismatches << " of " << actual.numel() << " elements differ; first at "
     << formatIndex(actual.shape(), first) << ": " << formatValue(actual, first) << ", expected "
     << formatValue(expected, first);
  if (floating)
    os << " (rtol " << rtol << ", atol " << atol << ")";
  c.message = os.str();
  return c;
}

} // namespace mamba2::eval
