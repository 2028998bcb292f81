// mamba2-as: assembles overlay assembly into a validated .m2b program.
#include "mamba2/isa/Asm.h"
#include "mamba2/runtime/Container.h"
#include "mamba2/runtime/TensorText.h"

#include <CLI/CLI.hpp>

#include <cstdio>

using namespace mamba2;

/// Largest assembly file read (an endless input such as /dev/zero is refused at this size).
static constexpr uint64_t kMaxAssemblyBytes = uint64_t(256) << 20;

int main(int argc, char **argv) {
  CLI::App app{"Assemble Mamba2 overlay assembly (.s) into a program file (.m2b)"};
  std::string input, output;
  app.add_option("input", input, "assembly file")->required();
  app.add_option("-o,--output", output, "program file to write")->required();
  CLI11_PARSE(app, argc, argv);
  std::vector<uint8_t> text;
  std::string err = runtime::readFile(input, text, kMaxAssemblyBytes);
  if (!err.empty()) {
    std::fprintf(stderr, "mamba2-as: error: %s\n", err.c_str());
    return 1;
  }
  try {
    isa::Program p = isa::assemble(std::string(text.begin(), text.end()), input);
    const target::Board *b = target::findBoard(p.target);
    if (!b) {
      std::fprintf(stderr, "mamba2-as: error: %s: unknown .target '%s' (known: %s)\n",
                   input.c_str(), p.target.c_str(), target::boardNames().c_str());
      return 1;
    }
    err = runtime::validateProgram(p, *b, uint64_t(1) << 26);
    if (!err.empty()) {
      std::fprintf(stderr, "mamba2-as: error: %s: %s\n", input.c_str(), err.c_str());
      return 1;
    }
    err = runtime::writeFile(output, runtime::writeContainer(p, *b));
    if (!err.empty()) {
      std::fprintf(stderr, "mamba2-as: error: %s\n", err.c_str());
      return 1;
    }
  } catch (const isa::AsmError &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
