// libFuzzer target: any bytes given to the .m2b loader are rejected with a message or load a
// program that then runs (functional mode, bounded) without an out-of-range access. Built with
// clang++-14 -fsanitize=fuzzer,address,undefined (see CMakeLists.txt).
#include "mamba2/hw/Overlay.h"
#include "mamba2/runtime/Container.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace mamba2;
  runtime::LoadOptions opt;
  opt.maxWalkBundles = 20000;
  opt.maxRegionBytes = 1 << 20;
  runtime::LoadResult r = runtime::loadContainer(data, size, opt);
  if (!r.ok()) {
    if (r.error.empty())
      std::abort(); // a rejection must say why
    return 0;
  }
  isa::Memory m = isa::Memory::forProgram(r.program, r.board->spadBytes());
  hw::SimResult s = hw::simulate(r.program, r.program.symbols.front().name, m, *r.board,
                                 {hw::SimMode::Functional, false, 20000});
  (void)s;
  return 0;
}
