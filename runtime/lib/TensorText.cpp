#include "mamba2/runtime/TensorText.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace mamba2::runtime {

std::string formatTensor(const isa::Symbol &s, const std::vector<uint8_t> &b) {
  unsigned eb = isa::dtypeBytes(s.dtype);
  size_t n = eb ? b.size() / eb : 0;
  std::string out =
      s.name + ": " + s.dtype + "[" + std::to_string(s.dtype == "i4x2" ? 2 * n : n) + "] =";
  for (size_t i = 0; i < n; ++i) {
    const uint8_t *p = b.data() + i * eb;
    if (s.dtype == "i8") {
      out += " " + std::to_string(int(int8_t(p[0])));
    } else if (s.dtype == "u8") {
      out += " " + std::to_string(int(p[0]));
    } else if (s.dtype == "i16") {
      int16_t v;
      std::memcpy(&v, p, 2);
      out += " " + std::to_string(v);
    } else if (s.dtype == "i32") {
      int32_t v;
      std::memcpy(&v, p, 4);
      out += " " + std::to_string(v);
    } else if (s.dtype == "i4x2") {
      for (int h = 0; h < 2; ++h) {
        int v = h ? p[0] >> 4 : p[0] & 15;
        out += " " + std::to_string(v >= 8 ? v - 16 : v);
      }
    }
  }
  return out;
}

std::string readFile(const std::string &path, std::vector<uint8_t> &out, uint64_t maxBytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return "'" + path + "' is a directory, not a file";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "cannot open '" + path + "'";
  // Read in pieces up to the bound, so that an endless input (/dev/zero, a pipe) is refused
  // instead of read forever.
  out.clear();
  std::vector<char> buf(1 << 16);
  while (true) {
    in.read(buf.data(), std::streamsize(buf.size()));
    std::streamsize got = in.gcount();
    if (uint64_t(got) > maxBytes - out.size())
      return "'" + path + "' is larger than " + std::to_string(maxBytes) + " bytes";
    out.insert(out.end(), buf.begin(), buf.begin() + got);
    if (!in) {
      if (in.bad())
        return "cannot read '" + path + "'";
      break;
    }
  }
  return "";
}

std::string writeFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream o(path, std::ios::binary);
  if (!o)
    return "cannot write '" + path + "'";
  o.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
  return o ? "" : "cannot write '" + path + "'";
}

} // namespace mamba2::runtime
