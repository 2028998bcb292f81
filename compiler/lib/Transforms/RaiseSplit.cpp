// raise-onnx-to-m2: splits of the in_proj and conv outputs (Split, tiling Slices) -> m2.split.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::split(ox::SplitOp op) {
  Value x = skipIdentity(op.getInput());
  if (!isF32Ranked(x))
    return false;
  // The axis counts in the ONNX tensor's rank (a step graph's (b, c) is m2's (b, 1, c)).
  int64_t r = rankOf(op.getResult(0)) > 0 ? rankOf(op.getResult(0)) : rankOf(x);
  int64_t width = ranked(x).getShape().back(), parts = op.getNumResults();
  if (!(op.getAxis() == -1 || op.getAxis() == r - 1) || ShapedType::isDynamic(width))
    return false;
  std::optional<std::vector<int64_t>> sizes;
  if (isa<NoneType>(op.getSplit().getType())) {
    if (width % parts == 0)
      sizes = std::vector<int64_t>(parts, width / parts);
  } else {
    sizes = ints(op.getSplit());
  }
  if (!sizes || static_cast<int64_t>(sizes->size()) != parts)
    return false;
  int64_t total = 0;
  for (int64_t s : *sizes)
    total += s;
  if (total != width)
    return false;
  auto s = makeSplit(op, x, *sizes);
  for (auto [a, b] : llvm::zip(op.getResults(), s.getResults()))
    a.replaceAllUsesWith(b);
  return true;
}

bool Raiser::sliceSplit(ox::SliceOp op) {
  Value x = op.getData();
  if (!isM2(x) || !isF32Ranked(x))
    return false;
  int64_t width = ranked(x).getShape().back();
  if (ShapedType::isDynamic(width) || !lastAxisRange(op, width))
    return false;
  std::map<int64_t, std::pair<int64_t, ox::SliceOp>> pieces; // start -> (end, slice)
  for (Operation *u : x.getUsers()) {
    auto s = dyn_cast<ox::SliceOp>(u);
    if (!s)
      continue;
    auto range = lastAxisRange(s, width);
    if (!range || pieces.count(range->first))
      return false;
    pieces[range->first] = {range->second, s};
  }
  int64_t at = 0;
  std::vector<int64_t> sizes;
  for (auto &[start, piece] : pieces) {
    if (start != at)
      return false;
    sizes.push_back(piece.first - start);
    at = piece.first;
  }
  if (at != width || sizes.size() < 2)
    return false;
  auto split = makeSplit(op, x, sizes);
  size_t i = 0;
  for (auto &[start, piece] : pieces)
    piece.second.getResult().replaceAllUsesWith(split.getResult(i++));
  return true;
}

} // namespace mamba2::raise
