// The interpreter of the `onnx` dialect. See OnnxInterpreter.h.
#include "mamba2/Eval/OnnxInterpreter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include "mamba2/Dialect/Onnx/OnnxDialect.h"
#include "mamba2/Dialect/Onnx/ShapeMath.h"

#include "TensorDispatch.h"

using namespace mlir;
namespace ox = mamba2::onnxir;

namespace mamba2::eval {
namespace {

using namespace detail;

/// Thrown by kernels; evaluateOnnxOp turns it into an llvm::Error naming the op.
struct EvalError {
  std::string message;
};

[[noreturn]] void fail(const std::string &msg) { throw EvalError{msg}; }

/// visit() for the kernels of `op` that take no bool tensors: fails on a bool dtype.
template <typename Fn> decltype(auto) visitNumeric(DType t, llvm::StringRef op, Fn &&fn) {
  return visit(t, [&](auto tag) -> decltype(fn(Tag<float>{})) {
    if constexpr (std::is_same_v<typename decltype(tag)::type, bool>)
      fail(op.str() + " does not take bool tensors");
    else
      return fn(tag);
  });
}

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << op->getName() << " at " << op->getLoc();
  return s;
}

//===----------------------------------------------------------------------===//
// Shapes, indices, attributes
//===----------------------------------------------------------------------===//

// The shape arithmetic is the folders' (onnxir::shape), with errors for the interpreter.
Shape stridesOf(const Shape &shape) {
  auto s = onnxir::shape::strides(shape);
  return Shape(s.begin(), s.end());
}

int64_t normAxis(int64_t axis, int64_t rank, const char *what = "axis") {
  auto a = onnxir::shape::normalizeAxis(axis, rank);
  if (!a)
    fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
         std::to_string(rank));
  return *a;
}

/// Multidirectional (numpy) broadcast of two shapes.
Shape broadcast(const Shape &a, const Shape &b) {
  auto out = onnxir::shape::broadcast(a, b);
  if (!out)
    fail("shapes " + formatShape(a) + " and " + formatShape(b) + " do not broadcast");
  return Shape(out->begin(), out->end());
}

/// Strides to read a tensor of shape `in` broadcast to `out` (0 along broadcast dimensions).
Shape broadcastStrides(const Shape &in, const Shape &out) {
  Shape s(out.size(), 0), st = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    s[off + i] = in[i] == 1 ? 0 : st[i];
  return s;
}

/// Calls fn(i, offsets) for every linear index i of `out`, with offsets[k] the element offset
/// of operand k given its strides over `out`'s dimensions.
template <size_t N, typename Fn>
void forEachIndex(const Shape &out, const std::array<Shape, N> &strides, Fn fn,
                  std::array<int64_t, N> base = {}) {
  int64_t total = numElements(out);
  if (total == 0)
    return;
  size_t r = out.size();
  Shape idx(r, 0);
  std::array<int64_t, N> off = base;
  for (int64_t i = 0; i < total; ++i) {
    fn(i, off);
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k)
        off[k] += strides[k][d];
      if (idx[d] < out[d])
        break;
      for (size_t k = 0; k < N; ++k)
        off[k] -= strides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

/// The values of an integer tensor (shape operands: axes, pads, starts, ...).
std::vector<int64_t> toInts(const Tensor &t, const char *what) {
  return visit(t.dtype(), [&](auto tag) -> std::vector<int64_t> {
    using S = typename decltype(tag)::type;
    if constexpr (kInteger<S>) {
      std::vector<int64_t> v(static_cast<size_t>(t.numel()));
      for (int64_t i = 0; i < t.numel(); ++i)
        v[i] = static_cast<int64_t>(t.data<S>()[i]); // NOLINT(bugprone-signed-char-misuse): int8
      return v;
    } else {
      fail(std::string(what) + " must be an integer tensor, not " + dtypeName(t.dtype()));
    }
  });
}

int64_t scalarInt(const Tensor &t, const char *what) {
  if (t.numel() != 1)
    fail(std::string(what) + " must hold one value, not " + std::to_string(t.numel()));
  return toInts(t, what)[0];
}

int64_t intAttr(Operation *op, llvm::StringRef name, int64_t dflt) {
  if (auto a = op->getAttrOfType<IntegerAttr>(name))
    return a.getValue().getSExtValue();
  return dflt;
}

std::optional<std::vector<int64_t>> intsAttr(Operation *op, llvm::StringRef name) {
  auto a = op->getAttrOfType<ArrayAttr>(name);
  if (!a)
    return std::nullopt;
  std::vector<int64_t> v;
  for (Attribute e : a)
    v.push_back(cast<IntegerAttr>(e).getValue().getSExtValue());
  return v;
}

float floatAttr(Operation *op, llvm::StringRef name, float dflt) {
  if (auto a = op->getAttrOfType<FloatAttr>(name))
    return static_cast<float>(a.getValueAsDouble());
  return dflt;
}

std::string strAttr(Operation *op, llvm::StringRef name, const std::string &dflt) {
  if (auto a = op->getAttrOfType<StringAttr>(name))
    return a.str();
  return dflt;
}

const Tensor &need(llvm::ArrayRef<const Tensor *> in, size_t i, const char *what) {
  if (i >= in.size() || !in[i])
    fail(std::string("missing input '") + what + "'");
  return *in[i];
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

/// double -> integer type S as numpy's astype does on x86 for values in range: truncation;
/// NaN -> 0 and saturation outside the range (deterministic where C++ leaves it undefined).
template <typename S> S saturate(double v) {
  if (std::isnan(v))
    return 0;
  double lo = static_cast<double>(std::numeric_limits<S>::lowest());
  double hi = static_cast<double>(std::numeric_limits<S>::max());
  if (v <= lo)
    return std::numeric_limits<S>::lowest();
  if (v >= hi)
    return std::numeric_limits<S>::max();
  return static_cast<S>(v);
}

/// Converts element i of `in` (storage S) into element i of `out` (storage R).
template <typename S, typename R> void convert(const S *in, R *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<R, bool>) {
      out[i] = load<S>(in, i) != 0;
    } else if constexpr (std::is_same_v<S, bool>) {
      store<R>(out, i, in[i] ? 1 : 0);
    } else if constexpr (kFloating<S> && kInteger<R>) {
      out[i] = saturate<R>(static_cast<double>(load<S>(in, i)));
    } else if constexpr (std::is_same_v<R, Half>) {
      out[i] = toHalf(static_cast<double>(load<S>(in, i)));
    } else if constexpr (std::is_same_v<R, BFloat16>) {
      out[i] = toBFloat16(static_cast<float>(load<S>(in, i)));
    } else {
      // NOLINTNEXTLINE(bugprone-signed-char-misuse): int8 elements are signed values
      out[i] = static_cast<R>(load<S>(in, i));
    }
  }
}

Tensor castTo(const Tensor &x, DType to) {
  if (x.dtype() == to)
    return x;
  Tensor out = Tensor::empty(to, x.shape());
  visit(x.dtype(), [&](auto st) {
    using S = typename decltype(st)::type;
    visit(to, [&](auto rt) {
      using R = typename decltype(rt)::type;
      convert<S, R>(x.data<S>(), out.mutableData<R>(), x.numel());
    });
  });
  return out;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <typename S> using U = std::make_unsigned_t<S>;

/// Applies fn(Compute<S>) -> Compute<S> to every element.
template <typename S, typename Fn> Tensor mapUnary(const Tensor &x, Fn fn) {
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const S *p = x.data<S>();
  S *o = out.mutableData<S>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    store<S>(o, i, fn(load<S>(p, i)));
  return out;
}

Tensor unary(Operation *op, const Tensor &x) {
  llvm::StringRef name = op->getName().stripDialect();
  if (name == "Not") {
    if (x.dtype() != DType::Bool)
      fail("Not needs a bool tensor");
    return mapUnary<bool>(x, [](bool v) { return !v; });
  }
  return visitNumeric(x.dtype(), name, [&](auto tag) -> Tensor {
    using S = typename decltype(tag)::type;
    using C = Compute<S>;
    if (name == "Neg") {
      if constexpr (kInteger<S>) {
        if constexpr (std::is_unsigned_v<S>)
          fail("Neg does not take unsigned tensors");
        else
          return mapUnary<S>(x, [](C v) { return static_cast<C>(U<S>(0) - U<S>(v)); });
      } else {
        return mapUnary<S>(x, [](C v) { return -v; });
      }
    }
    if (name == "Relu")
      return mapUnary<S>(x, [](C v) { return v > C(0) ? v : C(0); });
    if constexpr (!kFloating<S>) {
      fail(name.str() + " needs a floating-point tensor, not " + dtypeName(x.dtype()));
    } else {
      if (name == "Exp")
        return mapUnary<S>(x, [](C v) { return std::exp(v); });
      if (name == "Log")
        return mapUnary<S>(x, [](C v) { return std::log(v); });
      if (name == "Sqrt")
        return mapUnary<S>(x, [](C v) { return std::sqrt(v); });
      if (name == "Reciprocal")
        return mapUnary<S>(x, [](C v) { return C(1) / v; });
      if (name == "Tanh")
        return mapUnary<S>(x, [](C v) { return std::tanh(v); });
      if (name == "Sigmoid")
        return mapUnary<S>(x, [](C v) {
          if (v >= C(0))
            return C(1) / (C(1) + std::exp(-v));
          C e = std::exp(v);
          return e / (C(1) + e);
        });
      if (name == "Softplus") // log(1 + exp(x)) without overflow
        return mapUnary<S>(x, [](C v) {
          return v > C(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
        });
      fail("no unary kernel for " + name.str());
    }
  });
}

/// out = fn(a, b) with broadcasting; S the operands' storage type, R the result's.
template <typename S, typename R, typename Fn>
Tensor mapBinary(const Tensor &a, const Tensor &b, Fn fn) {
  Shape shape = broadcast(a.shape(), b.shape());
  Tensor out = Tensor::empty(dtypeFor<R>(), shape);
  const S *pa = a.data<S>(), *pb = b.data<S>();
  R *o = out.mutableData<R>();
  if (a.shape() == b.shape()) {
    for (int64_t i = 0, n = out.numel(); i < n; ++i)
      store<R>(o, i, fn(load<S>(pa, i), load<S>(pb, i)));
    return out;
  }
  forEachIndex<2>(shape, {broadcastStrides(a.shape(), shape), broadcastStrides(b.shape(), shape)},
                  [&](int64_t i, const std::array<int64_t, 2> &off) {
                    store<R>(o, i, fn(load<S>(pa, off[0]), load<S>(pb, off[1])));
                  });
  return out;
}

void sameType(const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype())
    fail(std::string("operands of types ") + dtypeName(a.dtype()) + " and " + dtypeName(b.dtype()) +
         " differ");
}

template <typename C> C fmax(C x, C y) {
  if constexpr (std::is_floating_point_v<C>)
    if (std::isnan(x) || std::isnan(y))
      return std::numeric_limits<C>::quiet_NaN();
  return x < y ? y : x;
}
template <typename C> C fmin(C x, C y) {
  if constexpr (std::is_floating_point_v<C>)
    if (std::isnan(x) || std::isnan(y))
      return std::numeric_limits<C>::quiet_NaN();
  return y < x ? y : x;
}

Tensor binary(llvm::StringRef name, const Tensor &a, const Tensor &b, int64_t fmod = 0) {
  sameType(a, b);
  return visit(a.dtype(), [&](auto tag) -> Tensor {
    using S = typename decltype(tag)::type;
    using C = Compute<S>;
    if (name == "Equal")
      return mapBinary<S, bool>(a, b, [](C x, C y) { return x == y; });
    if constexpr (std::is_same_v<S, bool>) {
      fail(name.str() + " does not take bool tensors");
    } else {
      if (name == "Less")
        return mapBinary<S, bool>(a, b, [](C x, C y) { return x < y; });
      if (name == "Greater")
        return mapBinary<S, bool>(a, b, [](C x, C y) { return x > y; });
      if (name == "Max")
        return mapBinary<S, S>(a, b, [](C x, C y) { return fmax(x, y); });
      if (name == "Min")
        return mapBinary<S, S>(a, b, [](C x, C y) { return fmin(x, y); });
      if constexpr (kInteger<S>) {
        // Two's-complement wrap-around, without C++'s undefined signed overflow.
        if (name == "Add")
          return mapBinary<S, S>(a, b, [](C x, C y) { return C(U<S>(x) + U<S>(y)); });
        if (name == "Sub")
          return mapBinary<S, S>(a, b, [](C x, C y) { return C(U<S>(x) - U<S>(y)); });
        if (name == "Mul")
          return mapBinary<S, S>(a, b, [](C x, C y) { return C(U<S>(x) * U<S>(y)); });
        if (name == "Div")
          return mapBinary<S, S>(a, b, [](C x, C y) {
            if (y == 0)
              fail("integer division by zero");
            if constexpr (std::is_signed_v<S>)
              if (y == C(-1))
                return C(U<S>(0) - U<S>(x));
            return C(x / y); // truncates toward zero
          });
        if (name == "Mod")
          return mapBinary<S, S>(a, b, [fmod](C x, C y) {
            if (y == 0)
              fail("integer modulo by zero");
            if constexpr (std::is_signed_v<S>) {
              if (y == C(-1))
                return C(0);
              C r = C(x % y); // sign of the dividend (C fmod)
              if (!fmod && r != 0 && ((r < 0) != (y < 0)))
                r = C(r + y); // sign of the divisor (Python %)
              return r;
            } else {
              return C(x % y);
            }
          });
      } else {
        if (name == "Add")
          return mapBinary<S, S>(a, b, [](C x, C y) { return x + y; });
        if (name == "Sub")
          return mapBinary<S, S>(a, b, [](C x, C y) { return x - y; });
        if (name == "Mul")
          return mapBinary<S, S>(a, b, [](C x, C y) { return x * y; });
        if (name == "Div")
          return mapBinary<S, S>(a, b, [](C x, C y) { return x / y; });
        if (name == "Mod") {
          if (!fmod)
            fail("Mod of floating-point tensors needs fmod = 1");
          return mapBinary<S, S>(a, b, [](C x, C y) { return std::fmod(x, y); });
        }
      }
      fail("no binary kernel for " + name.str());
    }
  });
}

/// Pow: the base's type T, any numeric exponent type; computed in double, then converted.
Tensor power(const Tensor &a, const Tensor &b) {
  if (a.dtype() == DType::Bool || b.dtype() == DType::Bool)
    fail("Pow does not take bool tensors");
  if (a.dtype() == DType::F32) // as numpy: float32 ** float32 in float32
    return mapBinary<float, float>(a, castTo(b, DType::F32),
                                   [](float u, float v) { return std::pow(u, v); });
  Tensor r = mapBinary<double, double>(castTo(a, DType::F64), castTo(b, DType::F64),
                                       [](double u, double v) { return std::pow(u, v); });
  return castTo(r, a.dtype());
}

Tensor where(const Tensor &c, const Tensor &x, const Tensor &y) {
  if (c.dtype() != DType::Bool)
    fail("Where's condition must be bool");
  sameType(x, y);
  Shape shape = broadcast(broadcast(c.shape(), x.shape()), y.shape());
  Tensor out = Tensor::empty(x.dtype(), shape);
  int64_t eb = dtypeBytes(x.dtype());
  const bool *pc = c.data<bool>();
  const char *px = x.data<char>(), *py = y.data<char>();
  char *o = out.mutableData<char>();
  forEachIndex<3>(shape,
                  {broadcastStrides(c.shape(), shape), broadcastStrides(x.shape(), shape),
                   broadcastStrides(y.shape(), shape)},
                  [&](int64_t i, const std::array<int64_t, 3> &off) {
                    const char *src = pc[off[0]] ? px + off[1] * eb : py + off[2] * eb;
                    std::memcpy(o + i * eb, src, eb);
                  });
  return out;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// Copies elements: out[i] = in[offset(i)], offsets walked over `outShape` with `strides`.
Tensor gatherStrided(const Tensor &in, const Shape &outShape, const Shape &strides, int64_t base) {
  Tensor out = Tensor::empty(in.dtype(), outShape);
  auto copy = [&](auto word) { // element-sized words, not a memcpy call per element
    using W = decltype(word);
    const W *p = in.data<W>();
    W *o = out.mutableData<W>();
    forEachIndex<1>(outShape, {strides},
                    [&](int64_t i, const std::array<int64_t, 1> &off) { o[i] = p[off[0]]; },
                    {base});
  };
  switch (dtypeBytes(in.dtype())) {
  case 1:
    copy(uint8_t{});
    break;
  case 2:
    copy(uint16_t{});
    break;
  case 4:
    copy(uint32_t{});
    break;
  default:
    copy(uint64_t{});
    break;
  }
  return out;
}

Tensor transpose(const Tensor &x, std::optional<std::vector<int64_t>> perm) {
  int64_t r = x.rank();
  std::vector<int64_t> p(r);
  if (perm) {
    if (static_cast<int64_t>(perm->size()) != r)
      fail("perm has " + std::to_string(perm->size()) + " entries for rank " + std::to_string(r));
    p = *perm;
  } else {
    for (int64_t i = 0; i < r; ++i)
      p[i] = r - 1 - i;
  }
  Shape st = stridesOf(x.shape()), outShape(r), strides(r);
  std::vector<bool> seen(r, false);
  for (int64_t i = 0; i < r; ++i) {
    if (p[i] < 0 || p[i] >= r || seen[p[i]])
      fail("perm is not a permutation");
    seen[p[i]] = true;
    outShape[i] = x.shape()[p[i]];
    strides[i] = st[p[i]];
  }
  return gatherStrided(x, outShape, strides, 0);
}

Tensor expandTo(const Tensor &x, const Shape &shape) {
  return gatherStrided(x, shape, broadcastStrides(x.shape(), shape), 0);
}

Tensor slice(const Tensor &x, llvm::ArrayRef<const Tensor *> in) {
  std::vector<int64_t> starts = toInts(need(in, 1, "starts"), "starts");
  std::vector<int64_t> ends = toInts(need(in, 2, "ends"), "ends");
  size_t n = starts.size();
  if (ends.size() != n)
    fail("starts and ends have different lengths");
  std::vector<int64_t> axes(n), steps(n, 1);
  if (in.size() > 3 && in[3]) {
    axes = toInts(*in[3], "axes");
    if (axes.size() != n)
      fail("axes and starts have different lengths");
  } else {
    for (size_t i = 0; i < n; ++i)
      axes[i] = static_cast<int64_t>(i);
  }
  if (in.size() > 4 && in[4]) {
    steps = toInts(*in[4], "steps");
    if (steps.size() != n)
      fail("steps and starts have different lengths");
  }
  int64_t r = x.rank();
  Shape st = stridesOf(x.shape()), outShape = x.shape(), strides = st;
  std::vector<bool> seen(r, false);
  int64_t base = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t a = normAxis(axes[i], r);
    if (seen[a])
      fail("axis " + std::to_string(a) + " is sliced twice");
    seen[a] = true;
    int64_t dim = x.shape()[a], step = steps[i], s = starts[i], e = ends[i];
    if (step == 0 || step == std::numeric_limits<int64_t>::min())
      fail("slice step " + std::to_string(step) + " is not supported");
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    int64_t len;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    outShape[a] = len;
    base += s * st[a];
    strides[a] = st[a] * step;
  }
  return gatherStrided(x, outShape, strides, numElements(outShape) ? base : 0);
}

Tensor concat(llvm::ArrayRef<const Tensor *> in, int64_t axisAttr) {
  const Tensor &first = *in[0];
  int64_t r = first.rank(), axis = normAxis(axisAttr, r);
  Shape shape = first.shape();
  shape[axis] = 0;
  for (const Tensor *t : in) {
    if (t->dtype() != first.dtype() || t->rank() != r)
      fail("Concat inputs differ in type or rank");
    for (int64_t d = 0; d < r; ++d)
      if (d != axis && t->shape()[d] != first.shape()[d])
        fail("Concat input of shape " + formatShape(t->shape()) + " does not fit " +
             formatShape(first.shape()) + " along axis " + std::to_string(axis));
    shape[axis] += t->shape()[axis];
  }
  Tensor out = Tensor::empty(first.dtype(), shape);
  int64_t eb = dtypeBytes(first.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < r; ++d)
    inner *= shape[d];
  char *o = out.mutableData<char>();
  int64_t rowOut = shape[axis] * inner * eb, off = 0;
  for (const Tensor *t : in) {
    int64_t row = t->shape()[axis] * inner * eb;
    for (int64_t i = 0; i < outer; ++i)
      std::memcpy(o + i * rowOut + off, t->data<char>() + i * row, row);
    off += row;
  }
  return out;
}

std::vector<Tensor> split(Operation *op, const Tensor &x, const Tensor *sizesIn) {
  int64_t axis = normAxis(intAttr(op, "axis", 0), x.rank());
  int64_t parts = op->getNumResults(), dim = x.shape()[axis];
  std::vector<int64_t> sizes;
  if (sizesIn) {
    sizes = toInts(*sizesIn, "split");
    if (static_cast<int64_t>(sizes.size()) != parts)
      fail(std::to_string(sizes.size()) + " split sizes for " + std::to_string(parts) + " outputs");
  } else {
    if (dim % parts != 0)
      fail("dimension " + std::to_string(dim) + " does not split into " + std::to_string(parts) +
           " equal parts");
    sizes.assign(parts, dim / parts);
  }
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      fail("negative split size");
    sum += s;
  }
  if (sum != dim)
    fail("split sizes add up to " + std::to_string(sum) + ", not the dimension " +
         std::to_string(dim));
  std::vector<Tensor> outs;
  Shape st = stridesOf(x.shape());
  int64_t start = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape();
    shape[axis] = s;
    outs.push_back(gatherStrided(x, shape, st, s ? start * st[axis] : 0));
    start += s;
  }
  return outs;
}

Tensor gather(const Tensor &data, const Tensor &indices, int64_t axisAttr) {
  int64_t r = data.rank(), axis = normAxis(axisAttr, r), dim = data.shape()[axis];
  std::vector<int64_t> idx = toInts(indices, "indices");
  Shape shape(data.shape().begin(), data.shape().begin() + axis);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), data.shape().begin() + axis + 1, data.shape().end());
  Tensor out = Tensor::empty(data.dtype(), shape);
  int64_t eb = dtypeBytes(data.dtype()), outer = 1, inner = eb;
  for (int64_t d = 0; d < axis; ++d)
    outer *= data.shape()[d];
  for (int64_t d = axis + 1; d < r; ++d)
    inner *= data.shape()[d];
  const char *p = data.data<char>();
  char *o = out.mutableData<char>();
  int64_t n = static_cast<int64_t>(idx.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = idx[i];
    if (k < -dim || k >= dim)
      fail("index " + std::to_string(k) + " is out of range for axis " + std::to_string(axis) +
           " of size " + std::to_string(dim));
    if (k < 0)
      idx[i] = k + dim;
  }
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(o + (a * n + i) * inner, p + (a * dim + idx[i]) * inner, inner);
  return out;
}

Tensor reshape(const Tensor &x, const Tensor &shapeT, bool allowZero) {
  std::vector<int64_t> s = toInts(shapeT, "shape");
  Shape shape(s.size());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0)
        fail("more than one -1 in the new shape");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (s[i] < -1)
      fail("invalid dimension " + std::to_string(s[i]) + " in the new shape");
    if (s[i] == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= x.rank())
        fail("0 in the new shape copies a dimension the input lacks");
      shape[i] = x.shape()[i];
    } else {
      shape[i] = s[i];
    }
    known *= shape[i];
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail("cannot infer -1 reshaping " + formatShape(x.shape()));
    shape[infer] = x.numel() / known;
  }
  if (numElements(shape) != x.numel())
    fail("cannot reshape " + formatShape(x.shape()) + " to " + formatShape(shape));
  return x.reshaped(shape);
}

Tensor pad(Operation *op, const Tensor &x, llvm::ArrayRef<const Tensor *> in) {
  std::vector<int64_t> pads = toInts(need(in, 1, "pads"), "pads");
  int64_t r = x.rank();
  if (static_cast<int64_t>(pads.size()) != 2 * r)
    fail("pads has " + std::to_string(pads.size()) + " values for rank " + std::to_string(r));
  std::string mode = strAttr(op, "mode", "constant");
  Shape shape(r);
  for (int64_t d = 0; d < r; ++d) {
    shape[d] = x.shape()[d] + pads[d] + pads[r + d];
    if (shape[d] < 0)
      fail("pads make dimension " + std::to_string(d) + " negative");
    if (mode != "constant" && x.shape()[d] == 0 && shape[d] > 0)
      fail(mode + " padding of an empty dimension");
    if (mode == "reflect" && (pads[d] >= x.shape()[d] || pads[r + d] >= x.shape()[d]) &&
        x.shape()[d] > 1)
      fail("reflect pads must be smaller than the dimension");
  }
  Tensor out = Tensor::empty(x.dtype(), shape);
  int64_t eb = dtypeBytes(x.dtype());
  std::vector<char> fill(eb, 0);
  if (mode == "constant" && in.size() > 2 && in[2]) {
    if (in[2]->dtype() != x.dtype() || in[2]->numel() != 1)
      fail("constant_value must be one value of the input's type");
    std::memcpy(fill.data(), in[2]->raw(), eb);
  }
  Shape st = stridesOf(x.shape());
  const char *p = x.data<char>();
  char *o = out.mutableData<char>();
  Shape idx(r, 0);
  for (int64_t i = 0, n = out.numel(); i < n; ++i) {
    int64_t off = 0;
    bool inside = true;
    for (int64_t d = 0; d < r; ++d) {
      int64_t dim = x.shape()[d], s = idx[d] - pads[d];
      if (s < 0 || s >= dim) {
        if (mode == "constant") {
          inside = false;
          break;
        }
        if (mode == "edge" || dim == 1) {
          s = std::clamp<int64_t>(s, 0, dim - 1);
        } else { // reflect, without repeating the edge
          int64_t period = 2 * (dim - 1);
          s = ((s % period) + period) % period;
          if (s >= dim)
            s = period - s;
        }
      }
      off += s * st[d];
    }
    std::memcpy(o + i * eb, inside ? p + off * eb : fill.data(), eb);
    for (int64_t d = r; d-- > 0;) {
      if (++idx[d] < shape[d])
        break;
      idx[d] = 0;
    }
  }
  return out;
}

Tensor trilu(const Tensor &x, const Tensor *kIn, bool upper) {
  if (x.rank() < 2)
    fail("Trilu needs rank 2 or more");
  int64_t k = kIn ? scalarInt(*kIn, "k") : 0;
  Tensor out = Tensor::zeros(x.dtype(), x.shape());
  int64_t R = x.shape()[x.rank() - 2], C = x.shape()[x.rank() - 1], eb = dtypeBytes(x.dtype());
  int64_t mats = (R && C) ? x.numel() / (R * C) : 0;
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < C; ++j) {
        bool keep = upper ? j - i >= k : j - i <= k;
        if (keep) {
          int64_t e = (m * R + i) * C + j;
          std::memcpy(out.mutableData<char>() + e * eb, x.data<char>() + e * eb, eb);
        }
      }
  return out;
}

//===----------------------------------------------------------------------===//
// Reductions and scans
//===----------------------------------------------------------------------===//

/// Sum (or mean) over `axes` (all when empty); every output sums its inputs in index order.
Tensor reduce(const Tensor &x, const std::vector<int64_t> &axes, bool keepdims, bool mean) {
  int64_t r = x.rank();
  std::vector<bool> red(r, axes.empty());
  for (int64_t a : axes) {
    int64_t n = normAxis(a, r);
    if (red[n] && !axes.empty())
      fail("axis " + std::to_string(a) + " is reduced twice");
    red[n] = true;
  }
  Shape kept(r), outShape;
  for (int64_t d = 0; d < r; ++d) {
    kept[d] = red[d] ? 1 : x.shape()[d];
    if (!red[d] || keepdims)
      outShape.push_back(kept[d]);
  }
  int64_t outN = numElements(kept), count = 1;
  for (int64_t d = 0; d < r; ++d)
    if (red[d])
      count *= x.shape()[d];
  Shape strides = broadcastStrides(kept, x.shape());
  return visit(x.dtype(), [&](auto tag) -> Tensor {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_same_v<S, bool>) {
      fail("reductions do not take bool tensors");
    } else {
      using Acc = std::conditional_t<kFloating<S>, double, Compute<S>>;
      std::vector<Acc> acc(static_cast<size_t>(outN), Acc(0));
      const S *p = x.data<S>();
      forEachIndex<1>(x.shape(), {strides}, [&](int64_t i, const std::array<int64_t, 1> &off) {
        if constexpr (kInteger<S>)
          acc[off[0]] = Acc(U<S>(acc[off[0]]) + U<S>(load<S>(p, i)));
        else
          acc[off[0]] += static_cast<Acc>(load<S>(p, i));
      });
      Tensor out = Tensor::empty(x.dtype(), outShape);
      S *o = out.mutableData<S>();
      for (int64_t i = 0; i < outN; ++i) {
        if (mean) {
          double m = static_cast<double>(acc[i]) / static_cast<double>(count);
          if constexpr (kInteger<S>)
            o[i] = saturate<S>(m);
          else
            store<S>(o, i, static_cast<Compute<S>>(m));
        } else {
          store<S>(o, i, static_cast<Compute<S>>(acc[i]));
        }
      }
      return out;
    }
  });
}

Tensor cumsum(const Tensor &x, const Tensor &axisT, bool exclusive, bool reverse) {
  int64_t axis = normAxis(scalarInt(axisT, "axis"), x.rank());
  int64_t outer = 1, inner = 1, dim = x.shape()[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape()[d];
  return visitNumeric(x.dtype(), "CumSum", [&](auto tag) -> Tensor {
    using S = typename decltype(tag)::type;
    using Acc = std::conditional_t<kFloating<S>, double, Compute<S>>;
    Tensor out = Tensor::empty(x.dtype(), x.shape());
    const S *p = x.data<S>();
    S *o = out.mutableData<S>();
    for (int64_t a = 0; a < outer; ++a)
      for (int64_t b = 0; b < inner; ++b) {
        Acc acc = 0;
        for (int64_t t = 0; t < dim; ++t) {
          int64_t k = reverse ? dim - 1 - t : t;
          int64_t e = (a * dim + k) * inner + b;
          Acc v = static_cast<Acc>(load<S>(p, e));
          if (exclusive)
            store<S>(o, e, static_cast<Compute<S>>(acc));
          if constexpr (kInteger<S>)
            acc = Acc(U<S>(acc) + U<S>(v));
          else
            acc += v;
          if (!exclusive)
            store<S>(o, e, static_cast<Compute<S>>(acc));
        }
      }
    return out;
  });
}

//===----------------------------------------------------------------------===//
// Contractions and convolution
//===----------------------------------------------------------------------===//

/// Multiply-accumulate type: unsigned (wrapping) for integers, the compute type for floats.
template <typename S, bool = kInteger<S>> struct MacOf { using type = Compute<S>; };
template <typename S> struct MacOf<S, true> { using type = std::make_unsigned_t<S>; };
template <typename S> using Mac = typename MacOf<S>::type;

Tensor matmul(const Tensor &a0, const Tensor &b0, ThreadPool &pool) {
  sameType(a0, b0);
  if (a0.rank() == 0 || b0.rank() == 0)
    fail("MatMul does not take scalars");
  Tensor a = a0.rank() == 1 ? a0.reshaped({1, a0.shape()[0]}) : a0;
  Tensor b = b0.rank() == 1 ? b0.reshaped({b0.shape()[0], 1}) : b0;
  int64_t M = a.shape()[a.rank() - 2], K = a.shape()[a.rank() - 1];
  int64_t K2 = b.shape()[b.rank() - 2], N = b.shape()[b.rank() - 1];
  if (K != K2)
    fail("MatMul of " + formatShape(a0.shape()) + " and " + formatShape(b0.shape()) +
         ": inner dimensions differ");
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast(ba, bb);
  Shape sa = broadcastStrides(ba, batch), sb = broadcastStrides(bb, batch);
  int64_t nb = numElements(batch);
  std::vector<int64_t> offA(nb), offB(nb);
  forEachIndex<2>(batch, {sa, sb}, [&](int64_t i, const std::array<int64_t, 2> &o) {
    offA[i] = o[0] * M * K;
    offB[i] = o[1] * K * N;
  });
  if (batch.empty()) {
    offA.assign(1, 0);
    offB.assign(1, 0);
    nb = 1;
  }
  Shape outShape = batch;
  if (a0.rank() > 1)
    outShape.push_back(M);
  if (b0.rank() > 1)
    outShape.push_back(N);
  Tensor out = Tensor::empty(a.dtype(), outShape);
  visitNumeric(a.dtype(), "MatMul", [&](auto tag) {
    using S = typename decltype(tag)::type;
    using A = Mac<S>;
    const S *pa = a.data<S>(), *pb = b.data<S>();
    S *po = out.mutableData<S>();
    // One task per output row: y[r, :] = sum_k x[r, k] * w[k, :], k in order.
    pool.parallelFor(nb * M, [&](int64_t r0, int64_t r1) {
      std::vector<A> acc(static_cast<size_t>(N));
      for (int64_t r = r0; r < r1; ++r) {
        int64_t bi = r / M, m = r % M;
        std::fill(acc.begin(), acc.end(), A(0));
        const S *x = pa + offA[bi] + m * K;
        const S *w = pb + offB[bi];
        for (int64_t k = 0; k < K; ++k) {
          A xv = static_cast<A>(load<S>(x, k));
          const S *wr = w + k * N;
          for (int64_t n = 0; n < N; ++n)
            acc[n] += xv * static_cast<A>(load<S>(wr, n));
        }
        for (int64_t n = 0; n < N; ++n)
          store<S>(po, (bi * M + m) * N + n, static_cast<Compute<S>>(acc[n]));
      }
    });
  });
  return out;
}

Tensor gemm(Operation *op, llvm::ArrayRef<const Tensor *> in) {
  const Tensor &a = need(in, 0, "A"), &b = need(in, 1, "B");
  const Tensor *c = in.size() > 2 ? in[2] : nullptr;
  sameType(a, b);
  if (a.rank() != 2 || b.rank() != 2)
    fail("Gemm needs 2-D A and B");
  bool ta = intAttr(op, "transA", 0), tb = intAttr(op, "transB", 0);
  float alpha = floatAttr(op, "alpha", 1.0f), beta = floatAttr(op, "beta", 1.0f);
  int64_t M = a.shape()[ta ? 1 : 0], K = a.shape()[ta ? 0 : 1];
  int64_t Kb = b.shape()[tb ? 1 : 0], N = b.shape()[tb ? 0 : 1];
  if (K != Kb)
    fail("Gemm inner dimensions differ: " + std::to_string(K) + " and " + std::to_string(Kb));
  Shape shape{M, N};
  Tensor cb;
  if (c) {
    sameType(a, *c);
    if (broadcast(c->shape(), shape) != shape)
      fail("C of shape " + formatShape(c->shape()) + " does not broadcast to " +
           formatShape(shape));
    cb = expandTo(*c, shape);
  }
  Tensor out = Tensor::empty(a.dtype(), shape);
  visitNumeric(a.dtype(), "Gemm", [&](auto tag) {
    using S = typename decltype(tag)::type;
    using C = Compute<S>;
    const S *pa = a.data<S>(), *pb = b.data<S>();
    S *po = out.mutableData<S>();
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        Mac<S> acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += static_cast<Mac<S>>(load<S>(pa, ta ? k * M + m : m * K + k)) *
                 static_cast<Mac<S>>(load<S>(pb, tb ? n * K + k : k * N + n));
        C v = static_cast<C>(static_cast<C>(alpha) * static_cast<C>(acc));
        if (c)
          v = static_cast<C>(v + static_cast<C>(beta) * load<S>(cb.data<S>(), m * N + n));
        store<S>(po, m * N + n, v);
      }
  });
  return out;
}

Tensor conv(Operation *op, llvm::ArrayRef<const Tensor *> in, ThreadPool &pool) {
  const Tensor &x = need(in, 0, "X"), &w = need(in, 1, "W");
  const Tensor *bias = in.size() > 2 ? in[2] : nullptr;
  sameType(x, w);
  int64_t r = x.rank(), sp = r - 2;
  if (r < 3 || w.rank() != r)
    fail("Conv needs X and W of the same rank, 3 or more");
  int64_t Nb = x.shape()[0], C = x.shape()[1], M = w.shape()[0], Cg = w.shape()[1];
  int64_t group = intAttr(op, "group", 1);
  if (group < 1 || C % group || M % group || C / group != Cg)
    fail("channels " + std::to_string(C) + " and weight " + formatShape(w.shape()) +
         " do not fit group " + std::to_string(group));
  Shape kernel(w.shape().begin() + 2, w.shape().end());
  if (auto ks = intsAttr(op, "kernel_shape"))
    if (Shape(ks->begin(), ks->end()) != kernel)
      fail("kernel_shape does not match the weight's shape " + formatShape(w.shape()));
  auto getOr = [&](llvm::StringRef name, int64_t n, int64_t dflt) {
    auto v = intsAttr(op, name);
    if (v && static_cast<int64_t>(v->size()) != n)
      fail(name.str() + " has " + std::to_string(v->size()) + " values, not " + std::to_string(n));
    return v ? *v : std::vector<int64_t>(n, dflt);
  };
  std::vector<int64_t> strides = getOr("strides", sp, 1), dil = getOr("dilations", sp, 1);
  std::vector<int64_t> pads = getOr("pads", 2 * sp, 0);
  std::string autoPad = strAttr(op, "auto_pad", "NOTSET");
  Shape outShape{Nb, M};
  for (int64_t d = 0; d < sp; ++d) {
    int64_t len = x.shape()[2 + d], k = dil[d] * (kernel[d] - 1) + 1;
    if (strides[d] < 1 || dil[d] < 1)
      fail("strides and dilations must be positive");
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t o = (len + strides[d] - 1) / strides[d];
      int64_t total = std::max<int64_t>(0, (o - 1) * strides[d] + k - len);
      pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[sp + d] = total - pads[d];
    } else if (autoPad == "VALID") {
      pads[d] = pads[sp + d] = 0;
    } else if (autoPad != "NOTSET") {
      fail("unknown auto_pad '" + autoPad + "'");
    }
    int64_t span = len + pads[d] + pads[sp + d] - k;
    if (span < 0)
      fail("the kernel is larger than the padded input along spatial axis " + std::to_string(d));
    outShape.push_back(span / strides[d] + 1);
  }
  if (bias && (bias->dtype() != x.dtype() || bias->numel() != M))
    fail("B must hold one value per output channel");
  Shape outSp(outShape.begin() + 2, outShape.end());
  int64_t P = numElements(outSp), Q = numElements(kernel), inSp = 1;
  for (int64_t d = 0; d < sp; ++d)
    inSp *= x.shape()[2 + d];
  // Kernel offsets as multi-indices (fixed order: row-major over the kernel).
  std::vector<int64_t> kIdx(static_cast<size_t>(Q * sp));
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t d = sp, rem = q; d-- > 0;) {
      kIdx[q * sp + d] = rem % kernel[d];
      rem /= kernel[d];
    }
  Shape xSt = stridesOf(Shape(x.shape().begin() + 2, x.shape().end()));
  Tensor out = Tensor::empty(x.dtype(), outShape);
  visit(x.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    if constexpr (!kFloating<S>) {
      fail("Conv needs floating-point tensors");
    } else {
      using A = Compute<S>;
      const S *px = x.data<S>(), *pw = w.data<S>();
      S *po = out.mutableData<S>();
      int64_t Mg = M / group;
      pool.parallelFor(Nb * M, [&](int64_t t0, int64_t t1) {
        std::vector<int64_t> o(sp), pos(sp);
        for (int64_t t = t0; t < t1; ++t) {
          int64_t n = t / M, m = t % M, g = m / Mg;
          for (int64_t p = 0; p < P; ++p) {
            for (int64_t d = sp, rem = p; d-- > 0;) {
              o[d] = rem % outSp[d];
              rem /= outSp[d];
            }
            A acc = bias ? load<S>(bias->data<S>(), m) : A(0);
            for (int64_t c = 0; c < Cg; ++c) {
              const S *xc = px + (n * C + g * Cg + c) * inSp;
              const S *wc = pw + (m * Cg + c) * Q;
              for (int64_t q = 0; q < Q; ++q) {
                int64_t off = 0;
                bool inside = true;
                for (int64_t d = 0; d < sp; ++d) {
                  int64_t i = o[d] * strides[d] - pads[d] + kIdx[q * sp + d] * dil[d];
                  if (i < 0 || i >= x.shape()[2 + d]) {
                    inside = false;
                    break;
                  }
                  off += i * xSt[d];
                }
                if (inside)
                  acc += load<S>(xc, off) * load<S>(wc, q);
              }
            }
            store<S>(po, t * P + p, acc);
          }
        }
      });
    }
  });
  return out;
}

/// An operand of a float32 Einsum as a batched matrix product sees it: its tensor and one
/// subscript label per dimension.
struct Labelled {
  Tensor t;
  std::vector<int> labels;
};

/// Contracts two float32 operands as one batched MatMul: subscripts of both that `keep` holds
/// are batch dimensions, of both that it lacks are summed (K), the others are rows (M) or columns
/// (N). Subscripts of one operand that neither the other nor `keep` holds are summed first.
Labelled contractByMatMul(Labelled a, Labelled b, const std::vector<int> &keep, ThreadPool &pool) {
  auto has = [](const std::vector<int> &v, int l) { return llvm::is_contained(v, l); };
  auto sumAlone = [&](Labelled &x, const Labelled &other) {
    std::vector<int64_t> axes;
    std::vector<int> rest;
    for (size_t d = 0; d < x.labels.size(); ++d) {
      if (!has(other.labels, x.labels[d]) && !has(keep, x.labels[d]))
        axes.push_back(static_cast<int64_t>(d));
      else
        rest.push_back(x.labels[d]);
    }
    if (!axes.empty()) {
      x.t = reduce(x.t, axes, /*keepdims=*/false, /*mean=*/false);
      x.labels = rest;
    }
  };
  sumAlone(a, b);
  sumAlone(b, a);
  auto dim = [](const Labelled &x, int l) {
    return x.t.shape()[std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin()];
  };
  std::vector<int> batch, m, k, n;
  for (int l : a.labels)
    (has(b.labels, l) ? (has(keep, l) ? batch : k) : m).push_back(l);
  for (int l : b.labels)
    if (!has(a.labels, l))
      n.push_back(l);
  auto permute = [&](const Labelled &x, std::initializer_list<const std::vector<int> *> groups,
                     const Shape &flat) {
    std::vector<int64_t> perm;
    for (const auto *g : groups)
      for (int l : *g)
        perm.push_back(std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin());
    return transpose(x.t, perm).reshaped(flat);
  };
  int64_t B = 1, M = 1, K = 1, N = 1;
  Shape outShape;
  for (int l : batch) {
    B *= dim(a, l);
    outShape.push_back(dim(a, l));
  }
  for (int l : m) {
    M *= dim(a, l);
    outShape.push_back(dim(a, l));
  }
  for (int l : k)
    K *= dim(a, l);
  for (int l : n) {
    N *= dim(b, l);
    outShape.push_back(dim(b, l));
  }
  Tensor y = matmul(permute(a, {&batch, &m, &k}, {B, M, K}),
                    permute(b, {&batch, &k, &n}, {B, K, N}), pool);
  std::vector<int> labels = batch;
  labels.insert(labels.end(), m.begin(), m.end());
  labels.insert(labels.end(), n.begin(), n.end());
  return {y.reshaped(outShape), labels};
}

/// Einsum: explicit ("ij,jk->ik") and implicit ("ij,jk") forms, "..." broadcasting, repeated
/// subscripts in one operand (diagonals). float32 contractions of two or three operands run as
/// batched MatMuls; the others sum every output element over the contracted subscripts in
/// row-major order, in double.
Tensor einsum(llvm::StringRef equation, llvm::ArrayRef<const Tensor *> in, ThreadPool &pool) {
  std::string eq;
  for (char c : equation)
    if (c != ' ')
      eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  llvm::SmallVector<llvm::StringRef> terms;
  llvm::StringRef(lhs).split(terms, ',');
  if (terms.size() != in.size())
    fail("equation names " + std::to_string(terms.size()) + " operands, " +
         std::to_string(in.size()) + " given");
  for (const Tensor *t : in)
    sameType(*in[0], *t);
  constexpr int kEll = 52; // labels 0..51 are letters, 52.. the dimensions "..." stands for
  auto letter = [&](char c) -> int {
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    fail(std::string("'") + c + "' is not a subscript letter");
  };
  // Each operand's labels; ellipsis dimensions right-aligned across operands.
  std::vector<std::vector<int>> labels(in.size());
  std::vector<int64_t> ellCount(in.size(), 0);
  int64_t E = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    std::string t = terms[k].str();
    size_t dots = t.find("...");
    int64_t letters = static_cast<int64_t>(t.size()) - (dots == std::string::npos ? 0 : 3);
    if (dots == std::string::npos ? letters != in[k]->rank() : letters > in[k]->rank())
      fail("term '" + t + "' does not fit operand " + std::to_string(k) + " of shape " +
           formatShape(in[k]->shape()));
    ellCount[k] = dots == std::string::npos ? 0 : in[k]->rank() - letters;
    E = std::max(E, ellCount[k]);
  }
  std::map<int, int64_t> size;
  std::map<int, int> occurrences;
  for (size_t k = 0; k < in.size(); ++k) {
    std::string t = terms[k].str();
    for (size_t i = 0; i < t.size(); ++i) {
      if (t.compare(i, 3, "...") == 0) {
        for (int64_t e = 0; e < ellCount[k]; ++e)
          labels[k].push_back(kEll + static_cast<int>(E - ellCount[k] + e));
        i += 2;
      } else {
        int l = letter(t[i]);
        labels[k].push_back(l);
        ++occurrences[l];
      }
    }
    for (size_t d = 0; d < labels[k].size(); ++d) {
      int l = labels[k][d];
      int64_t s = in[k]->shape()[d];
      auto [it, fresh] = size.emplace(l, s);
      if (!fresh && it->second != s) {
        if (l >= kEll && (it->second == 1 || s == 1))
          it->second = std::max(it->second, s);
        else
          fail("subscript of operand " + std::to_string(k) + " has size " + std::to_string(s) +
               " but " + std::to_string(it->second) + " elsewhere");
      }
    }
  }
  std::vector<int> outLabels;
  if (arrow != std::string::npos) {
    std::string rhs = eq.substr(arrow + 2);
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs.compare(i, 3, "...") == 0) {
        for (int64_t e = 0; e < E; ++e)
          outLabels.push_back(kEll + static_cast<int>(e));
        i += 2;
      } else {
        int l = letter(rhs[i]);
        if (!size.count(l))
          fail(std::string("output subscript '") + rhs[i] + "' names no input dimension");
        if (llvm::is_contained(outLabels, l))
          fail(std::string("output subscript '") + rhs[i] + "' appears twice");
        outLabels.push_back(l);
      }
    }
  } else {
    for (int64_t e = 0; e < E; ++e)
      outLabels.push_back(kEll + static_cast<int>(e));
    for (auto [l, n] : occurrences) // in ASCII order: upper case first
      if (n == 1)
        outLabels.push_back(l);
  }
  std::vector<int> sumLabels;
  for (const auto &entry : size)
    if (!llvm::is_contained(outLabels, entry.first))
      sumLabels.push_back(entry.first);
  // float32 with two or three operands, no diagonal and no broadcast "...": batched matrix
  // products (pairwise, left to right), then a transpose to the output's order.
  bool byMatMul = in[0]->dtype() == DType::F32 && (in.size() == 2 || in.size() == 3);
  for (size_t k = 0; byMatMul && k < in.size(); ++k)
    for (size_t d = 0; byMatMul && d < labels[k].size(); ++d)
      byMatMul =
          llvm::count(labels[k], labels[k][d]) == 1 && in[k]->shape()[d] == size[labels[k][d]];
  if (byMatMul) {
    Labelled acc{*in[0], labels[0]};
    for (size_t k = 1; k < in.size(); ++k) {
      std::vector<int> keep = outLabels;
      for (size_t j = k + 1; j < in.size(); ++j)
        keep.insert(keep.end(), labels[j].begin(), labels[j].end());
      acc = contractByMatMul(acc, {*in[k], labels[k]}, keep, pool);
    }
    std::vector<int64_t> perm;
    perm.reserve(outLabels.size());
    for (int l : outLabels)
      perm.push_back(std::find(acc.labels.begin(), acc.labels.end(), l) - acc.labels.begin());
    return transpose(acc.t, perm);
  }
  // Per-operand stride of each label (summed over repeated subscripts: diagonals).
  auto strideOf = [&](size_t k, int l) {
    Shape st = stridesOf(in[k]->shape());
    int64_t s = 0;
    for (size_t d = 0; d < labels[k].size(); ++d)
      if (labels[k][d] == l && in[k]->shape()[d] != 1)
        s += st[d];
    return s;
  };
  size_t nIn = in.size();
  Shape outShape, sumShape;
  std::vector<Shape> outStrides(nIn), sumStrides(nIn);
  for (int l : outLabels)
    outShape.push_back(size[l]);
  for (int l : sumLabels)
    sumShape.push_back(size[l]);
  for (size_t k = 0; k < nIn; ++k) {
    for (int l : outLabels)
      outStrides[k].push_back(strideOf(k, l));
    for (int l : sumLabels)
      sumStrides[k].push_back(strideOf(k, l));
  }
  int64_t P = numElements(outShape);
  auto offsets = [nIn](const Shape &shape, const std::vector<Shape> &strides) {
    int64_t n = numElements(shape);
    std::vector<int64_t> offs(static_cast<size_t>(n) * nIn, 0);
    Shape idx(shape.size(), 0);
    for (int64_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < nIn; ++k) {
        int64_t o = 0;
        for (size_t d = 0; d < shape.size(); ++d)
          o += idx[d] * strides[k][d];
        offs[i * nIn + k] = o;
      }
      for (size_t d = shape.size(); d-- > 0;) {
        if (++idx[d] < shape[d])
          break;
        idx[d] = 0;
      }
    }
    return offs;
  };
  // The last contracted subscript runs innermost with plain strides, the others from a table.
  int64_t inner = sumShape.empty() ? 1 : sumShape.back();
  std::vector<int64_t> innerSt(nIn, 0);
  if (!sumShape.empty()) {
    sumShape.pop_back();
    for (size_t k = 0; k < nIn; ++k) {
      innerSt[k] = sumStrides[k].back();
      sumStrides[k].pop_back();
    }
  }
  int64_t Qo = numElements(sumShape);
  std::vector<int64_t> outOff = offsets(outShape, outStrides);
  std::vector<int64_t> sumOff = offsets(sumShape, sumStrides);
  Tensor out = Tensor::empty(in[0]->dtype(), outShape);
  visitNumeric(in[0]->dtype(), "Einsum", [&](auto tag) {
    using S = typename decltype(tag)::type;
    using A = std::conditional_t<kFloating<S>, double, Mac<S>>;
    std::vector<const S *> ptr(nIn);
    for (size_t k = 0; k < nIn; ++k)
      ptr[k] = in[k]->data<S>();
    S *po = out.mutableData<S>();
    auto ld = [](const S *x, int64_t i) { return static_cast<A>(load<S>(x, i)); };
    pool.parallelFor(P, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        A acc = 0;
        const int64_t *o = sumOff.data(), *base = outOff.data() + p * nIn;
        if (nIn == 2) { // the common cases without a loop over the operands
          int64_t sx = innerSt[0], sy = innerSt[1];
          for (int64_t q = 0; q < Qo; ++q, o += 2) {
            const S *x = ptr[0] + base[0] + o[0], *y = ptr[1] + base[1] + o[1];
            for (int64_t i = 0; i < inner; ++i)
              acc += ld(x, i * sx) * ld(y, i * sy);
          }
        } else if (nIn == 3) {
          int64_t sx = innerSt[0], sy = innerSt[1], sz = innerSt[2];
          for (int64_t q = 0; q < Qo; ++q, o += 3) {
            const S *x = ptr[0] + base[0] + o[0], *y = ptr[1] + base[1] + o[1],
                    *z = ptr[2] + base[2] + o[2];
            for (int64_t i = 0; i < inner; ++i)
              acc += ld(x, i * sx) * ld(y, i * sy) * ld(z, i * sz);
          }
        } else {
          for (int64_t q = 0; q < Qo; ++q, o += nIn)
            for (int64_t i = 0; i < inner; ++i) {
              A prod = 1;
              for (size_t k = 0; k < nIn; ++k)
                prod *= ld(ptr[k], base[k] + o[k] + i * innerSt[k]);
              acc += prod;
            }
        }
        store<S>(po, p, static_cast<Compute<S>>(acc));
      }
    });
  });
  return out;
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

std::vector<Tensor> evaluate(Operation *op, llvm::ArrayRef<const Tensor *> in, ThreadPool &pool) {
  llvm::StringRef name = op->getName().stripDialect();
  auto one = [](Tensor t) { return std::vector<Tensor>{std::move(t)}; };
  if (auto c = dyn_cast<ox::ConstantOp>(op)) {
    auto t = tensorFromAttr(c.getValue());
    if (!t)
      fail(llvm::toString(t.takeError()));
    return one(*t);
  }
  if (isa<ox::ExpOp, ox::LogOp, ox::SqrtOp, ox::ReciprocalOp, ox::NegOp, ox::SigmoidOp,
          ox::SoftplusOp, ox::TanhOp, ox::ReluOp, ox::NotOp>(op))
    return one(unary(op, need(in, 0, "input")));
  if (isa<ox::IdentityOp>(op))
    return one(need(in, 0, "input"));
  if (isa<ox::AddOp, ox::SubOp, ox::MulOp, ox::DivOp, ox::EqualOp, ox::LessOp, ox::GreaterOp>(op))
    return one(binary(name, need(in, 0, "A"), need(in, 1, "B")));
  if (isa<ox::ModOp>(op))
    return one(binary(name, need(in, 0, "A"), need(in, 1, "B"), intAttr(op, "fmod", 0)));
  if (isa<ox::MaxOp, ox::MinOp>(op)) {
    Tensor acc = need(in, 0, "data_0");
    for (size_t i = 1; i < in.size(); ++i)
      acc = binary(name, acc, need(in, i, "data_i"));
    return one(acc);
  }
  if (isa<ox::ClipOp>(op)) {
    // min(max(x, lo), hi): a NaN stays NaN, and lo > hi gives hi, as ONNX's reference.
    Tensor acc = need(in, 0, "input");
    for (auto [i, fn] : {std::pair<size_t, llvm::StringRef>{1, "Max"}, {2, "Min"}})
      if (i < in.size() && in[i]) {
        if (in[i]->numel() != 1)
          fail("Clip bounds must be scalars");
        acc = binary(fn, acc, *in[i]);
      }
    return one(acc);
  }
  if (isa<ox::PowOp>(op))
    return one(power(need(in, 0, "X"), need(in, 1, "Y")));
  if (isa<ox::WhereOp>(op))
    return one(where(need(in, 0, "condition"), need(in, 1, "X"), need(in, 2, "Y")));
  if (auto c = dyn_cast<ox::CastOp>(op)) {
    auto to = dtypeOf(c.getTo());
    if (!to)
      fail(llvm::toString(to.takeError()));
    return one(castTo(need(in, 0, "input"), *to));
  }
  if (auto c = dyn_cast<ox::ConstantOfShapeOp>(op)) {
    std::vector<int64_t> dims = toInts(need(in, 0, "input"), "shape");
    for (int64_t d : dims)
      if (d < 0)
        fail("negative dimension " + std::to_string(d));
    Tensor fill = Tensor::zeros(DType::F32, {1});
    if (auto v = c.getValueAttr()) {
      auto t = tensorFromAttr(v);
      if (!t)
        fail(llvm::toString(t.takeError()));
      if (t->numel() != 1)
        fail("value must hold one element");
      fill = *t;
    }
    Tensor out = Tensor::empty(fill.dtype(), Shape(dims.begin(), dims.end()));
    int64_t eb = dtypeBytes(fill.dtype());
    for (int64_t i = 0; i < out.numel(); ++i)
      std::memcpy(out.mutableData<char>() + i * eb, fill.raw(), eb);
    return one(out);
  }
  if (isa<ox::ShapeOp>(op)) {
    const Tensor &x = need(in, 0, "data");
    int64_t r = x.rank();
    int64_t s = intAttr(op, "start", 0), e = intAttr(op, "end", r);
    s = std::clamp<int64_t>(s < 0 ? s + r : s, 0, r);
    e = std::clamp<int64_t>(e < 0 ? e + r : e, 0, r);
    int64_t n = std::max<int64_t>(0, e - s);
    Tensor out = Tensor::zeros(DType::I64, {n});
    for (int64_t i = 0; i < n; ++i)
      out.mutableData<int64_t>()[i] = x.shape()[s + i];
    return one(out);
  }
  if (isa<ox::GatherOp>(op))
    return one(gather(need(in, 0, "data"), need(in, 1, "indices"), intAttr(op, "axis", 0)));
  if (isa<ox::UnsqueezeOp>(op)) {
    const Tensor &x = need(in, 0, "data");
    std::vector<int64_t> axes = toInts(need(in, 1, "axes"), "axes");
    int64_t r = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> ins(r, false);
    for (int64_t a : axes) {
      int64_t n = normAxis(a, r);
      if (ins[n])
        fail("axis " + std::to_string(a) + " appears twice");
      ins[n] = true;
    }
    Shape shape;
    size_t j = 0;
    for (int64_t d = 0; d < r; ++d)
      shape.push_back(ins[d] ? 1 : x.shape()[j++]);
    return one(x.reshaped(shape));
  }
  if (isa<ox::SqueezeOp>(op)) {
    const Tensor &x = need(in, 0, "data");
    int64_t r = x.rank();
    std::vector<bool> drop(r, false);
    if (in.size() > 1 && in[1]) {
      for (int64_t a : toInts(*in[1], "axes")) {
        int64_t n = normAxis(a, r);
        if (x.shape()[n] != 1)
          fail("cannot squeeze axis " + std::to_string(a) + " of size " +
               std::to_string(x.shape()[n]));
        drop[n] = true;
      }
    } else {
      for (int64_t d = 0; d < r; ++d)
        drop[d] = x.shape()[d] == 1;
    }
    Shape shape;
    for (int64_t d = 0; d < r; ++d)
      if (!drop[d])
        shape.push_back(x.shape()[d]);
    return one(x.reshaped(shape));
  }
  if (isa<ox::ConcatOp>(op)) {
    for (size_t i = 0; i < in.size(); ++i)
      need(in, i, "inputs");
    return one(concat(in, intAttr(op, "axis", 0)));
  }
  if (isa<ox::ReshapeOp>(op))
    return one(reshape(need(in, 0, "data"), need(in, 1, "shape"), intAttr(op, "allowzero", 0)));
  if (isa<ox::ExpandOp>(op)) {
    const Tensor &x = need(in, 0, "input");
    std::vector<int64_t> s = toInts(need(in, 1, "shape"), "shape");
    return one(expandTo(x, broadcast(x.shape(), Shape(s.begin(), s.end()))));
  }
  if (isa<ox::SliceOp>(op))
    return one(slice(need(in, 0, "data"), in));
  if (isa<ox::SplitOp>(op))
    return split(op, need(in, 0, "input"), in.size() > 1 ? in[1] : nullptr);
  if (isa<ox::TransposeOp>(op))
    return one(transpose(need(in, 0, "data"), intsAttr(op, "perm")));
  if (isa<ox::PadOp>(op))
    return one(pad(op, need(in, 0, "data"), in));
  if (isa<ox::TriluOp>(op))
    return one(
        trilu(need(in, 0, "input"), in.size() > 1 ? in[1] : nullptr, intAttr(op, "upper", 1) != 0));
  if (isa<ox::CumSumOp>(op))
    return one(cumsum(need(in, 0, "x"), need(in, 1, "axis"), intAttr(op, "exclusive", 0) != 0,
                      intAttr(op, "reverse", 0) != 0));
  if (isa<ox::ReduceMeanOp>(op))
    return one(reduce(need(in, 0, "data"), intsAttr(op, "axes").value_or(std::vector<int64_t>{}),
                      intAttr(op, "keepdims", 1) != 0, /*mean=*/true));
  if (isa<ox::ReduceSumOp>(op)) {
    const Tensor &x = need(in, 0, "data");
    std::vector<int64_t> axes;
    if (in.size() > 1 && in[1])
      axes = toInts(*in[1], "axes");
    if (axes.empty() && intAttr(op, "noop_with_empty_axes", 0))
      return one(x);
    return one(reduce(x, axes, intAttr(op, "keepdims", 1) != 0, /*mean=*/false));
  }
  if (isa<ox::MatMulOp>(op))
    return one(matmul(need(in, 0, "A"), need(in, 1, "B"), pool));
  if (isa<ox::GemmOp>(op))
    return one(gemm(op, in));
  if (auto e = dyn_cast<ox::EinsumOp>(op)) {
    for (size_t i = 0; i < in.size(); ++i)
      need(in, i, "Inputs");
    return one(einsum(e.getEquation(), in, pool));
  }
  if (isa<ox::ConvOp>(op))
    return one(conv(op, in, pool));
  fail("the interpreter has no kernel for this op");
}

/// The computed result must agree with the op's result type (element type, rank, static
/// dimensions): shape inference and the interpreter check each other.
void checkResult(Value v, const Tensor &t) {
  auto type = dyn_cast<TensorType>(v.getType());
  if (!type)
    fail("result is not a tensor");
  auto dt = dtypeOf(type.getElementType());
  if (!dt)
    fail(llvm::toString(dt.takeError()));
  if (*dt != t.dtype())
    fail(std::string("computed a ") + dtypeName(t.dtype()) + " tensor for a result of type " +
         dtypeName(*dt));
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return;
  bool ok = ranked.getRank() == t.rank();
  for (int64_t d = 0; ok && d < t.rank(); ++d)
    ok = ranked.isDynamicDim(d) || ranked.getDimSize(d) == t.shape()[d];
  if (!ok) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << ranked;
    fail("computed shape " + formatShape(t.shape()) + " does not match the result type " + s);
  }
}

} // namespace

llvm::Expected<Tensor> tensorFromAttr(ElementsAttr value) {
  auto type = cast<ShapedType>(value.getType());
  auto dt = dtypeOf(type.getElementType());
  if (!dt)
    return dt.takeError();
  Shape shape(type.getShape().begin(), type.getShape().end());
  if (auto r = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob)
      return llvm::createStringError("dense_resource constant has no data");
    llvm::ArrayRef<char> data = blob->getData();
    if (static_cast<int64_t>(data.size()) != numElements(shape) * dtypeBytes(*dt))
      return llvm::createStringError("dense_resource constant holds " + llvm::Twine(data.size()) +
                                     " bytes, not as its type needs");
    return Tensor::view(*dt, shape, data.data());
  }
  auto d = dyn_cast<DenseElementsAttr>(value);
  if (!d || isa<DenseStringElementsAttr>(value))
    return llvm::createStringError("constant is neither dense nor dense_resource numbers");
  if (*dt == DType::Bool) {
    Tensor t = Tensor::zeros(DType::Bool, shape);
    int64_t i = 0;
    for (bool b : d.getValues<bool>())
      t.mutableData<bool>()[i++] = b;
    return t;
  }
  llvm::ArrayRef<char> raw = d.getRawData();
  if (d.isSplat()) {
    Tensor t = Tensor::empty(*dt, shape);
    int64_t eb = dtypeBytes(*dt);
    for (int64_t i = 0; i < t.numel(); ++i)
      std::memcpy(t.mutableData<char>() + i * eb, raw.data(), eb);
    return t;
  }
  return Tensor::view(*dt, shape, raw.data());
}

llvm::Expected<std::vector<Tensor>>
evaluateOnnxOp(Operation *op, llvm::ArrayRef<const Tensor *> operands, ThreadPool &pool) {
  try {
    std::vector<Tensor> results = evaluate(op, operands, pool);
    if (results.size() != op->getNumResults())
      fail("computed " + std::to_string(results.size()) + " results for " +
           std::to_string(op->getNumResults()));
    for (auto [v, t] : llvm::zip(op->getResults(), results))
      checkResult(v, t);
    return results;
  } catch (const EvalError &e) {
    return llvm::createStringError(describe(op) + ": " + e.message);
  } catch (const std::exception &e) { // too large a result (length_error, bad_alloc)
    return llvm::createStringError(describe(op) + ": " + e.what());
  }
}

llvm::Expected<std::vector<Tensor>> runOnnxFunction(func::FuncOp func, llvm::ArrayRef<Tensor> args,
                                                    ThreadPool &pool) {
  auto fail = [](const llvm::Twine &msg) { return llvm::createStringError(msg); };
  auto type = func.getFunctionType();
  if (args.size() != type.getNumInputs())
    return fail("@" + func.getName() + " takes " + llvm::Twine(type.getNumInputs()) + " inputs, " +
                llvm::Twine(args.size()) + " given");
  struct ValueHash {
    size_t operator()(Value v) const { return hash_value(v); }
  };
  std::unordered_map<Value, Tensor, ValueHash> values;
  Block &body = func.getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    std::string name = "input #" + std::to_string(i);
    if (auto n = func.getArgAttrOfType<StringAttr>(i, "onnx.name"))
      name = "input '" + n.str() + "'";
    auto t = cast<TensorType>(arg.getType());
    auto dt = dtypeOf(t.getElementType());
    if (!dt)
      return fail(name + ": " + llvm::toString(dt.takeError()));
    if (*dt != args[i].dtype())
      return fail(name + " must be " + dtypeName(*dt) + ", not " + dtypeName(args[i].dtype()));
    if (auto r = dyn_cast<RankedTensorType>(t)) {
      bool ok = r.getRank() == args[i].rank();
      for (int64_t d = 0; ok && d < r.getRank(); ++d)
        ok = r.isDynamicDim(d) || r.getDimSize(d) == args[i].shape()[d];
      if (!ok) {
        std::string s;
        llvm::raw_string_ostream os(s);
        os << r;
        return fail(name + " has shape " + formatShape(args[i].shape()) + ", which does not fit " +
                    s);
      }
    }
    values[arg] = args[i];
  }
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<Tensor> results;
      for (Value v : ret.getOperands())
        results.push_back(values.at(v));
      return results;
    }
    if (isa<ox::NoValueOp>(op))
      continue;
    if (!isa<ox::OnnxDialect>(op.getDialect()))
      return fail("the onnx interpreter runs onnx ops only, not " + describe(&op));
    std::vector<const Tensor *> in;
    for (Value v : op.getOperands()) {
      if (isa<NoneType>(v.getType())) {
        in.push_back(nullptr);
        continue;
      }
      auto it = values.find(v);
      if (it == values.end())
        return fail("an operand of " + describe(&op) + " has no value");
      in.push_back(&it->second);
    }
    auto out = evaluateOnnxOp(&op, in, pool);
    if (!out)
      return out.takeError();
    for (auto [v, t] : llvm::zip(op.getResults(), *out))
      values[v] = std::move(t);
  }
  return fail("@" + func.getName() + " has no return");
}

} // namespace mamba2::eval
