#include "mamba2/target/Board.h"

#include "mamba2/target/Boards.gen.h"

namespace mamba2::target {

namespace {

template <class B> Board fromDescription() {
  return Board{B::ID,
               B::NAME,
               B::PART,
               B::DOC,
               B::BUDGET_DSP,
               B::BUDGET_BRAM36,
               B::BUDGET_URAM,
               B::BUDGET_LUT,
               B::DSP_KIND,
               double(B::CLOCK_MHZ),
               B::MEMORY_KIND,
               B::MEMORY_CHANNELS,
               B::MEMORY_STACKS,
               B::MEMORY_PEAK_GBPS,
               B::MEMORY_ACHIEVABLE_GBPS,
               double(B::MEMORY_LATENCY_NS),
               B::MEMORY_CROSS_STACK_FRACTION,
               B::PORTS_COUNT,
               B::PORTS_BITS,
               B::PORTS_ACHIEVABLE_GBPS,
               B::PORTS_OUTSTANDING,
               B::PORTS_STRIPE_BYTES,
               B::MAT_K,
               B::MAT_N,
               B::VEC_LANES,
               B::SSM_LANES,
               B::SPAD_KIB,
               B::QUEUE_DEPTH,
               B::CHUNKED_SSD};
}

} // namespace

const std::vector<Board> &boards() {
  static const std::vector<Board> all = {
#define MAMBA2_BOARD_ENTRY(id, B) fromDescription<B>(),
      MAMBA2_TARGET_BOARDS(MAMBA2_BOARD_ENTRY)
#undef MAMBA2_BOARD_ENTRY
  };
  return all;
}

const Board *findBoard(const std::string &name) {
  for (const Board &b : boards())
    if (name == b.name)
      return &b;
  return nullptr;
}

std::vector<std::string> boardNameList() {
  std::vector<std::string> names;
  for (const Board &b : boards())
    names.push_back(b.name);
  return names;
}

std::string boardNames() {
  std::string s;
  for (const std::string &n : boardNameList())
    s += (s.empty() ? "" : ", ") + n;
  return s;
}

} // namespace mamba2::target
