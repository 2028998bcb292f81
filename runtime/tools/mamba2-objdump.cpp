// mamba2-objdump: decodes a .m2b program (container, tables and encodings checked; the
// control flow is not walked) and prints it as canonical assembly (which
// mamba2-as turns back into the same file).
#include "mamba2/isa/Asm.h"
#include "mamba2/runtime/Container.h"

#include <CLI/CLI.hpp>

#include <cstdio>

using namespace mamba2;

int main(int argc, char **argv) {
  CLI::App app{"Disassemble a Mamba2 overlay program (.m2b)"};
  std::string input;
  bool header = false;
  app.add_option("input", input, "program file")->required();
  app.add_flag("--header", header,
               "print the container header, section sizes and each entry's semaphore map as # "
               "comments first");
  CLI11_PARSE(app, argc, argv);
  // Decoding needs no walk of the control flow (mamba2-run's loader does that before it runs).
  runtime::LoadOptions lo;
  lo.walkControlFlow = false;
  runtime::LoadResult r = runtime::loadContainerFile(input, lo);
  if (!r.ok()) {
    std::fprintf(stderr, "mamba2-objdump: error: %s\n", r.error.c_str());
    return 1;
  }
  const isa::Program &p = r.program;
  if (header) {
    size_t constBytes = 0;
    for (const isa::Region &reg : p.regions)
      constBytes += reg.init.size();
    std::printf("# board %s (%s), ISA v%u, scratchpad %llu bytes\n", r.board->name, r.board->part,
                isa::kIsaVersion, (unsigned long long)r.board->spadBytes());
    std::printf(
        "# bundles %zu (%zu bytes), microcode %zu words, constants %zu bytes, symbols %zu\n",
        p.bundles.size(), p.bundles.size() * isa::kBundleBytes, p.ucode.size(), constBytes,
        p.symbols.size());
    // Each entry's semaphore map (container Symbol.channels): semaphore:from>to.
    for (const isa::Symbol &s : p.symbols) {
      if (s.kind != isa::Symbol::Kind::Entry)
        continue;
      std::printf("# entry %s: semaphore map", s.name.c_str());
      for (const isa::SemChannel &c : s.channels)
        std::printf(" %u:%s>%s", unsigned(c.sem),
                    c.from < isa::kNumSlots ? isa::kSlotNames[c.from] : "-",
                    c.to < isa::kNumSlots ? isa::kSlotNames[c.to] : "-");
      std::printf("\n");
    }
  }
  std::fputs(isa::disassemble(p).c_str(), stdout);
  return 0;
}
