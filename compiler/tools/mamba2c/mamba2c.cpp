// mamba2c: the Mamba2 compiler driver. Today it reads and validates an ONNX model with the
// official ONNX library and prints what it holds; the pipeline stages join as they land.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "mamba2/onnx/ModelReader.h"

int main(int argc, char **argv) {
  CLI::App app{"mamba2c: compile a Mamba2 ONNX model for the Mamba2 overlay"};
  std::string model;
  bool noCheck = false;
  bool noShapes = false;
  app.add_option("model", model, "ONNX model file (.onnx; external data beside it)")
      ->required();
  app.add_flag("--no-check", noCheck, "skip the ONNX checker");
  app.add_flag("--no-shape-inference", noShapes, "skip ONNX shape inference");
  std::string emit = "summary";
  app.add_option("--emit", emit, "what to print")->check(CLI::IsMember({"summary"}));
  CLI11_PARSE(app, argc, argv);

  mamba2::onnx_import::ReadOptions options;
  options.check = !noCheck;
  options.inferShapes = !noShapes;
  auto loaded = mamba2::onnx_import::readModel(model, options);
  if (!loaded) {
    std::cerr << "mamba2c: error: " << llvm::toString(loaded.takeError()) << "\n";
    return 1;
  }
  std::cout << mamba2::onnx_import::formatSummary(mamba2::onnx_import::summarize(*loaded));
  return 0;
}
