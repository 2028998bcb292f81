// Sections of a markdown report that several benchmarks write (docs/accuracy.md): each bench
// replaces only what it computes and keeps the rest of the file.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace mamba2::bench {

/// The section of docs/accuracy.md that mamba2-eval-bench writes (bench/compiler/eval_bench.sh);
/// mamba2-accuracy-bench writes the rest and keeps this one.
inline const char *const kEvalBenchHeading = "## Evaluator speed against onnxruntime";

/// The whole file, or nothing when it cannot be read.
inline std::optional<std::string> readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return std::nullopt;
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline bool writeFile(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

/// Where the section whose heading line starts with `heading` ("### WikiText-2 test") begins in
/// `doc`, and where it ends: at the next heading of the same or a higher level, or at the end.
/// npos when there is no such heading.
inline std::pair<size_t, size_t> findSection(const std::string &doc, const std::string &heading) {
  size_t at = doc.rfind(heading, 0) == 0 ? 0 : doc.find("\n" + heading);
  if (at == std::string::npos)
    return {at, at};
  if (at != 0)
    ++at;
  const size_t level = heading.find_first_not_of('#');
  size_t end = at;
  while ((end = doc.find("\n#", end + 1)) != std::string::npos) {
    const size_t l = doc.find_first_not_of('#', end + 1) - (end + 1);
    if (l <= level)
      return {at, end + 1};
  }
  return {at, doc.size()};
}

/// Puts `content` in place of the section `heading` of `doc`, or, when there is none, before
/// the section `before` (at the end when that is absent too). False when neither is found
/// and `before` is not empty.
inline bool replaceSection(std::string &doc, const std::string &heading, const std::string &content,
                           const std::string &before = "") {
  auto [at, end] = findSection(doc, heading);
  if (at == std::string::npos) {
    if (before.empty()) {
      at = end = doc.size();
    } else {
      at = end = findSection(doc, before).first;
      if (at == std::string::npos)
        return false;
    }
  }
  doc.replace(at, end - at, content);
  return true;
}

} // namespace mamba2::bench
