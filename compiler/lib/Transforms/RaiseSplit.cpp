// raise-onnx-to-m2: splits of the in_proj and conv outputs (Split, tiling Slices) -> m2.split.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::split(ox::SplitOp op) {
  Value x = skipIdentity(op.getInput());
  if (!isF32Ranked(x))
    return false;
  // Recognised: a Split of an activation (an m2 value: in_proj's output, the conv's).
  auto fail = [&](const std::string &why) { return isM2(x) && because(op, "split", why); };
  // The axis counts in the ONNX tensor's rank (a step graph's (b, c) is m2's (b, 1, c)).
  int64_t r = rankOf(op.getResult(0)) > 0 ? rankOf(op.getResult(0)) : rankOf(x);
  int64_t width = ranked(x).getShape().back(), parts = op.getNumResults();
  if (!(op.getAxis() == -1 || op.getAxis() == r - 1))
    return fail("it splits axis " + std::to_string(op.getAxis()) + ", not the last (channel) axis");
  if (ShapedType::isDynamic(width))
    return fail("the width of x " + node(x) + " is not static");
  std::optional<std::vector<int64_t>> sizes;
  if (isa<NoneType>(op.getSplit().getType())) {
    if (width % parts != 0)
      return fail("the width " + std::to_string(width) + " does not split into " +
                  std::to_string(parts) + " equal parts");
    sizes = std::vector<int64_t>(parts, width / parts);
  } else {
    sizes = ints(op.getSplit());
  }
  if (!sizes || static_cast<int64_t>(sizes->size()) != parts)
    return fail("the sizes " + node(skipIdentity(op.getSplit())) + " are not " +
                std::to_string(parts) + " constants");
  int64_t total = 0;
  for (int64_t s : *sizes)
    total += s;
  if (total != width)
    return fail("the sizes add up to " + std::to_string(total) + ", not the width " +
                std::to_string(width));
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
  // Recognised: Slices of the last axis of an m2 value; the reason is given once, at the first.
  auto fail = [&](const std::string &why) {
    for (Operation *u : x.getUsers())
      if (isa<ox::SliceOp>(u) && u->isBeforeInBlock(op) &&
          lastAxisRange(cast<ox::SliceOp>(u), width))
        return false;
    return because(op, "split", "the Slices of " + node(x) + " on the last axis " + why);
  };
  std::map<int64_t, std::pair<int64_t, ox::SliceOp>> pieces; // start -> (end, slice)
  for (Operation *u : x.getUsers()) {
    auto s = dyn_cast<ox::SliceOp>(u);
    if (!s)
      continue;
    auto range = lastAxisRange(s, width);
    if (!range)
      return fail("include " + node(s) +
                  ", which is not a constant range of the last axis "
                  "with step 1");
    if (pieces.count(range->first))
      return fail("overlap: two of them start at " + std::to_string(range->first));
    pieces[range->first] = {range->second, s};
  }
  int64_t at = 0;
  std::vector<int64_t> sizes;
  for (auto &[start, piece] : pieces) {
    if (start != at)
      return fail(start > at
                      ? "leave [" + std::to_string(at) + ", " + std::to_string(start) +
                            ") of its " + std::to_string(width) + " channels out"
                      : "overlap: the one from " + std::to_string(start) + " starts before " +
                            std::to_string(at) + ", where the one before it ends");
    sizes.push_back(piece.first - start);
    at = piece.first;
  }
  if (at != width)
    return fail("end at " + std::to_string(at) + ", not at the width " + std::to_string(width));
  if (sizes.size() < 2)
    return false;
  auto split = makeSplit(op, x, sizes);
  size_t i = 0;
  for (auto &[start, piece] : pieces)
    piece.second.getResult().replaceAllUsesWith(split.getResult(i++));
  return true;
}

} // namespace mamba2::raise
