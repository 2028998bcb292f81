// libFuzzer target for mamba2-run's tensor inputs: the bytes a user feeds with --input NAME=FILE
// go through the simulator device's writeTensor (any name, any length), the program runs in the
// functional or the cycle simulator, and the output tensor is read back and printed as
// mamba2-run --print does. A wrong name or size is refused with a message; nothing reads or
// writes out of bounds. Built with clang++-14 -fsanitize=fuzzer,address,undefined.
#include "mamba2/isa/Asm.h"
#include "mamba2/runtime/Device.h"
#include "mamba2/runtime/TensorText.h"

#include <cstdlib>
#include <string>

namespace {

// The loader fuzzer's seed program with an input tensor x: every unit reads what x holds.
const char *kProgram = R"(.target kv260
.region const 256
.region io 256
.data const 0 i32 0 4 2 8 100 3 200 -2
.tensor x io 0 64 i8
.tensor y io 128 16 i32
.tensor z io 192 64 i4x2
.entry main
.uop 0 sext8 dst=4096 src0=0 len=16 p0=2
.uop 1 fwht dst=4096 len=16
.uop 2 pwl dst=8192 src0=4096 src1=2048 len=16
{ ctrl.seti rd=1 imm=16 ; load.dma spad=2048 region=const rows=1 rowb=32 }
{ load.dma region=io rows=1 rowb=64 signal=0 }
{ matrix.mm8 wgt=32 acc=1024 m=1 k=16 n=1 wait=0 signal=1 }
{ ctrl.loop count=2 body=1 ; vector.run ulen=2 iters=1 wait=1 signal=2 }
{ ssm.run ustart=2 ulen=1 iters=1 }
{ ssm.run ustart=2 ulen=1 iters=1 wait=2 signal=3 }
{ ctrl.halt ; store.dma spad=8192 region=io dram=128 rows=1 rowb=16 wait=3 }
)";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace mamba2;
  static const isa::Program program = isa::assemble(kProgram, "run-input.s");
  static const target::Board *board = target::findBoard(program.target);
  if (size < 2)
    return 0;
  const char *names[] = {"x", "y", "z", "nope", ""};
  std::string name = names[data[0] % 5];
  runtime::RunOptions opt;
  opt.mode = data[1] & 1 ? runtime::RunMode::Cycle : runtime::RunMode::Functional;
  opt.maxBundles = 20000;
  std::vector<uint8_t> bytes(data + 2, data + size);
  auto dev = runtime::makeSimulatorDevice(*board);
  if (!dev->load(program).empty())
    std::abort();
  std::string err = dev->writeTensor(name, bytes);
  if (!err.empty())
    return 0; // refused with a message
  runtime::RunReport rep = dev->run("main", opt);
  if (!rep.error.empty())
    return 0;
  for (const char *out : {"x", "y", "z"}) {
    std::vector<uint8_t> got;
    if (!dev->readTensor(out, got).empty())
      std::abort();
    (void)runtime::formatTensor(*program.tensor(out), got);
  }
  return 0;
}
