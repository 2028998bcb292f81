// libFuzzer target: any bytes given to the .m2b loader are rejected with a message or load a
// program that then runs (functional mode, bounded) without an out-of-range access. Built with
// clang++-14 -fsanitize=fuzzer,address,undefined (see CMakeLists.txt).
#include "mamba2/hw/Overlay.h"
#include "mamba2/runtime/Container.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

void loadAndRun(const uint8_t *data, size_t size) {
  using namespace mamba2;
  runtime::LoadOptions opt;
  opt.maxWalkBundles = 20000;
  opt.maxRegionBytes = 1 << 20;
  opt.maxWork = 4e6; // a fuzzer-made bundle ran fwht 16,257 times: bound what a run may ask
  runtime::LoadResult r = runtime::loadContainer(data, size, opt);
  if (!r.ok()) {
    if (r.error.empty())
      std::abort(); // a rejection must say why
    return;
  }
  isa::Memory m = isa::Memory::forProgram(r.program, r.board->spadBytes());
  hw::SimResult s = hw::simulate(r.program, r.program.symbols.front().name, m, *r.board,
                                 {hw::SimMode::Functional, false, 20000});
  (void)s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  loadAndRun(data, size);
  // Mutations almost never keep the checksum right: also try the input with its header's length
  // and CRC repaired, so the fuzzer reaches the FlatBuffers, target, encoding and range checks.
  if (size >= mamba2::runtime::kHeaderBytes) {
    std::vector<uint8_t> f(data, data + size);
    uint64_t payload = size - mamba2::runtime::kHeaderBytes;
    for (int i = 0; i < 8; ++i)
      f[8 + i] = uint8_t(payload >> (8 * i));
    uint32_t c = mamba2::runtime::crc32(f.data() + mamba2::runtime::kHeaderBytes, payload);
    for (int i = 0; i < 4; ++i)
      f[16 + i] = uint8_t(c >> (8 * i));
    loadAndRun(f.data(), f.size());
  }
  return 0;
}
