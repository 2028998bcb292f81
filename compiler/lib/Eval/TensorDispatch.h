// Dispatch over the element types of eval::Tensor: visit(dtype, fn) calls fn with a value of
// type Tag<S>, S the storage type (float, double, Half, BFloat16, int8_t, ..., bool).
// Compute<S> is the type arithmetic on S is done in (float for Half and BFloat16).
#pragma once

#include <type_traits>

#include "mamba2/Eval/Tensor.h"

namespace mamba2::eval::detail {

template <typename S> struct Tag { using type = S; };

template <typename S> struct ComputeOf { using type = S; };
template <> struct ComputeOf<Half> { using type = float; };
template <> struct ComputeOf<BFloat16> { using type = float; };
template <typename S> using Compute = typename ComputeOf<S>::type;

template <typename S> constexpr bool kFloating = std::is_floating_point_v<Compute<S>>;
template <typename S> constexpr bool kInteger = std::is_integral_v<S> && !std::is_same_v<S, bool>;

template <typename S> inline Compute<S> load(const S *p, int64_t i) { return p[i]; }
template <> inline float load<Half>(const Half *p, int64_t i) { return fromHalf(p[i]); }
template <> inline float load<BFloat16>(const BFloat16 *p, int64_t i) { return fromBFloat16(p[i]); }

template <typename S> inline void store(S *p, int64_t i, Compute<S> v) { p[i] = v; }
template <> inline void store<Half>(Half *p, int64_t i, float v) { p[i] = toHalf(v); }
template <> inline void store<BFloat16>(BFloat16 *p, int64_t i, float v) { p[i] = toBFloat16(v); }

template <typename S> constexpr DType dtypeFor() {
  if constexpr (std::is_same_v<S, float>)
    return DType::F32;
  else if constexpr (std::is_same_v<S, double>)
    return DType::F64;
  else if constexpr (std::is_same_v<S, Half>)
    return DType::F16;
  else if constexpr (std::is_same_v<S, BFloat16>)
    return DType::BF16;
  else if constexpr (std::is_same_v<S, int8_t>)
    return DType::I8;
  else if constexpr (std::is_same_v<S, int16_t>)
    return DType::I16;
  else if constexpr (std::is_same_v<S, int32_t>)
    return DType::I32;
  else if constexpr (std::is_same_v<S, int64_t>)
    return DType::I64;
  else if constexpr (std::is_same_v<S, uint8_t>)
    return DType::U8;
  else if constexpr (std::is_same_v<S, uint16_t>)
    return DType::U16;
  else if constexpr (std::is_same_v<S, uint32_t>)
    return DType::U32;
  else if constexpr (std::is_same_v<S, uint64_t>)
    return DType::U64;
  else
    return DType::Bool;
}

template <typename Fn> decltype(auto) visit(DType t, Fn &&fn) {
  switch (t) {
  case DType::F32:
    return fn(Tag<float>{});
  case DType::F64:
    return fn(Tag<double>{});
  case DType::F16:
    return fn(Tag<Half>{});
  case DType::BF16:
    return fn(Tag<BFloat16>{});
  case DType::I8:
    return fn(Tag<int8_t>{});
  case DType::I16:
    return fn(Tag<int16_t>{});
  case DType::I32:
    return fn(Tag<int32_t>{});
  case DType::I64:
    return fn(Tag<int64_t>{});
  case DType::U8:
    return fn(Tag<uint8_t>{});
  case DType::U16:
    return fn(Tag<uint16_t>{});
  case DType::U32:
    return fn(Tag<uint32_t>{});
  case DType::U64:
    return fn(Tag<uint64_t>{});
  case DType::Bool:
    break;
  }
  return fn(Tag<bool>{});
}

} // namespace mamba2::eval::detail
