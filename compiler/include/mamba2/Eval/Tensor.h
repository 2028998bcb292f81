// An N-D tensor of one of ONNX's fixed-size element types, for the interpreter of the `onnx`
// dialect (OnnxInterpreter.h): row-major data, either owned or a read-only view of bytes that
// outlive it (a constant's attribute, a mapped weight file).
//
// float16 and bfloat16 elements are stored as their 16-bit patterns (Half, BFloat16) and
// computed in float; bool is one byte (0 or 1).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mlir/IR/Types.h"
#include "llvm/Support/Error.h"

namespace mamba2::eval {

enum class DType : uint8_t { F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool };

/// "float32", "int64", ... (ONNX's names in lower case).
const char *dtypeName(DType t);
/// Bytes per element.
int64_t dtypeBytes(DType t);
bool isFloat(DType t);
/// The element type of an MLIR tensor type (f32, i64, ui8, i1, ...), or an error naming it.
llvm::Expected<DType> dtypeOf(mlir::Type elementType);

/// IEEE binary16 bits.
struct Half {
  uint16_t bits = 0;
};
/// bfloat16 bits (the upper half of a float).
struct BFloat16 {
  uint16_t bits = 0;
};
/// Round to nearest even (from double, so that a float64 -> float16 cast rounds once).
Half toHalf(double v);
float fromHalf(Half h);
/// Truncation of the float's low 16 bits, as ONNX's reference Cast (and its test data) does up
/// to ONNX 1.13; NaN stays a quiet NaN.
BFloat16 toBFloat16(float v);
inline float fromBFloat16(BFloat16 b) {
  uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

using Shape = std::vector<int64_t>;

int64_t numElements(const Shape &shape);
/// "[2, 3, 4]".
std::string formatShape(const Shape &shape);

class Tensor {
public:
  Tensor() = default;
  /// A zero-filled tensor that owns its data.
  static Tensor zeros(DType dtype, Shape shape);
  /// A tensor that owns uninitialised data, for kernels that write every element.
  static Tensor empty(DType dtype, Shape shape);
  /// A view of `data`, which must outlive the tensor and every copy of it.
  static Tensor view(DType dtype, Shape shape, const void *data);

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numElements(shape_); }
  int64_t bytes() const { return numel() * dtypeBytes(dtype_); }
  bool valid() const { return data_ != nullptr || numel() == 0; }

  const void *raw() const { return data_; }
  template <typename T> const T *data() const { return static_cast<const T *>(data_); }
  /// Writable data: a tensor made by zeros() or empty() (copies share their data).
  template <typename T> T *mutableData() { return static_cast<T *>(const_cast<void *>(data_)); }

  /// The same data with another shape of as many elements.
  Tensor reshaped(Shape shape) const;
  /// The same bytes read as another element type of the same size.
  Tensor bitcast(DType dtype) const;

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<uint64_t[]> owned_;
  const void *data_ = nullptr;
};

/// Outcome of comparing a computed tensor with an expected one.
struct Comparison {
  bool ok = false;
  int64_t mismatches = 0;
  double maxAbsError = 0;
  /// Empty when ok; else what differs: type, shape, or the first mismatching element.
  std::string message;
};

/// ONNX backend-test criterion: same element type and shape; floating elements within
/// |actual - expected| <= atol + rtol * |expected| (NaN matches NaN, infinities must be equal);
/// integers and bools exactly equal.
Comparison compare(const Tensor &actual, const Tensor &expected, double rtol = 1e-3,
                   double atol = 1e-7);

/// Element `i` as a double (for messages and tests).
double elementAsDouble(const Tensor &t, int64_t i);

} // namespace mamba2::eval
