// libFuzzer target for the assembler: any text is either refused with an AsmError naming the
// line, or assembles to a program whose canonical disassembly assembles back to the same text;
// a program for a known board then goes through the loader's static checks and the container
// round trip. Built with clang++-14 -fsanitize=fuzzer,address,undefined (see CMakeLists.txt).
#include "mamba2/isa/Asm.h"
#include "mamba2/runtime/Container.h"

#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace mamba2;
  std::string text(reinterpret_cast<const char *>(data), size);
  isa::Program p;
  try {
    p = isa::assemble(text, "fuzz.s");
  } catch (const isa::AsmError &e) {
    if (std::string(e.what()).empty())
      std::abort(); // a rejection must say why
    return 0;
  }
  const target::Board *b = target::findBoard(p.target);
  if (!b || !runtime::validateProgram(p, *b, 20000).empty())
    return 0;
  // The identity holds for programs the assembler accepts for a known board (an unknown
  // .target such as `kv5(0` is refused by mamba2-as before it is printed).
  std::string canon = isa::disassemble(p);
  std::string again;
  try {
    again = isa::disassemble(isa::assemble(canon, "canonical.s"));
  } catch (const isa::AsmError &) {
    std::abort(); // the canonical form must assemble
  }
  if (again != canon)
    std::abort(); // assemble(disassemble(p)) must be p
  std::vector<uint8_t> bytes = runtime::writeContainer(p, *b);
  runtime::LoadOptions opt;
  opt.maxWalkBundles = 20000;
  runtime::LoadResult r = runtime::loadContainer(bytes.data(), bytes.size(), opt);
  if (!r.ok() || isa::disassemble(r.program) != canon)
    std::abort(); // what the assembler validated, the loader loads unchanged
  return 0;
}
