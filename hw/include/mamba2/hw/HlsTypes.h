// Arbitrary-width integers and streams for the HLS sources. With Xilinx's ap_int.h (Vitis HLS)
// they are ap_int / ap_uint; without it (this machine's C simulation) the smallest standard type
// that holds the width. The kernels only use widths whose values fit, and cast explicitly, so both
// mappings compute the same numbers. Likewise hls::stream is Xilinx's hls_stream.h when present,
// else an unbounded FIFO with the same interface, as Vitis C simulation models a stream.
#pragma once
#include <cstdint>

#if __has_include(<ap_int.h>) && !defined(MAMBA2_NO_AP_INT)
#include <ap_int.h>
#define MAMBA2_HAVE_AP_INT 1
namespace mamba2::hw {
template <int W> using sint = ap_int<W>;
template <int W> using uint = ap_uint<W>;
} // namespace mamba2::hw
#else
#define MAMBA2_HAVE_AP_INT 0
namespace mamba2::hw {
namespace detail {
template <int W> struct S {
  static_assert(W >= 1 && W <= 64, "widths 1..64");
  using type = typename S<(W <= 8 ? 8 : W <= 16 ? 16 : W <= 32 ? 32 : 64)>::type;
};
template <> struct S<8> { using type = int8_t; };
template <> struct S<16> { using type = int16_t; };
template <> struct S<32> { using type = int32_t; };
template <> struct S<64> { using type = int64_t; };
template <int W> struct U {
  static_assert(W >= 1 && W <= 64, "widths 1..64");
  using type = typename U<(W <= 8 ? 8 : W <= 16 ? 16 : W <= 32 ? 32 : 64)>::type;
};
template <> struct U<8> { using type = uint8_t; };
template <> struct U<16> { using type = uint16_t; };
template <> struct U<32> { using type = uint32_t; };
template <> struct U<64> { using type = uint64_t; };
} // namespace detail
template <int W> using sint = typename detail::S<W>::type;
template <int W> using uint = typename detail::U<W>::type;
} // namespace mamba2::hw
#endif

namespace mamba2::hw {
using byte_t = uint<8>; // scratchpad byte
using i8 = sint<8>;
using i32 = sint<32>;
using u32 = uint<32>;
using i64 = sint<64>;
using u64 = uint<64>;
} // namespace mamba2::hw

#if __has_include(<hls_stream.h>) && !defined(MAMBA2_NO_AP_INT)
#include <hls_stream.h>
#define MAMBA2_HAVE_HLS_STREAM 1
#else
#define MAMBA2_HAVE_HLS_STREAM 0
#include <cstdio>
#include <cstdlib>
#include <deque>
namespace hls {
/// The subset of hls::stream the overlay uses. Reading an empty stream is a design error (the
/// units test empty() first); it stops the simulation rather than returning garbage.
template <class T> class stream {
public:
  stream() = default;
  explicit stream(const char *) {}
  bool empty() const { return q_.empty(); }
  bool full() const { return false; }
  size_t size() const { return q_.size(); }
  T read() {
    if (q_.empty()) {
      std::fprintf(stderr, "hls::stream: read from an empty stream\n");
      std::abort();
    }
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  void read(T &v) { v = read(); }
  void write(const T &v) { q_.push_back(v); }
  bool read_nb(T &v) {
    if (q_.empty())
      return false;
    v = read();
    return true;
  }
  bool write_nb(const T &v) {
    write(v);
    return true;
  }

private:
  std::deque<T> q_;
};
} // namespace hls
#endif
