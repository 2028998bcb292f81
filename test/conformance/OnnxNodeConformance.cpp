// ONNX node conformance: runs ONNX's own node tests (libonnx-testdata: model.onnx and
// test_data_set_*/input_*.pb, output_*.pb per test) through the importer and the onnx
// interpreter, and compares the outputs as ONNX's backend tests do (rtol 1e-3, atol 1e-7,
// exact for integers and bools).
//
// The tests run are every test whose nodes all have an operator type the importer accepts
// (import::supportedOpTypes: one per op of the onnx dialect), so adding an op to the dialect
// pulls its tests in. Each is
//   passed    imported, evaluated, every output within tolerance; and every expected output,
//             perturbed, is then reported as a mismatch (the comparison can fail);
//   refused   the reader or importer gave an error;
//   bad data  the test's inputs contradict its own model (a shape or type the model does not
//             declare), found by the interpreter's argument check;
//   failed    anything else (an evaluation error, a mismatch, ...).
// Refused and bad-data tests must be on the expectations list (a file of
// "test_name  refused|bad-data  reason" lines), and every listed test must have the listed
// outcome: a listed test that passes, or that fails otherwise, or that is not run, fails the run.
// Prints one line per test that is not a plain pass (all with --verbose), a table per operator
// type, and exits 1 on any failure.
//
// usage: mamba2-onnx-conformance DATA_DIR EXPECTATIONS_FILE [--verbose] [--filter TEXT]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "mamba2/Eval/OnnxInterpreter.h"
#include "mamba2/Eval/TensorProto.h"
#include "mamba2/Import/Importer.h"

namespace fs = std::filesystem;
using namespace mamba2;

namespace {

struct Outcome {
  enum Kind { Passed, Refused, BadData, Failed } kind = Failed;
  std::string message;
};

const char *kindName(Outcome::Kind k) {
  switch (k) {
  case Outcome::Passed:
    return "passed";
  case Outcome::Refused:
    return "refused";
  case Outcome::BadData:
    return "bad-data";
  case Outcome::Failed:
    break;
  }
  return "failed";
}

/// The expected output with one element changed (or, when empty, its shape): a comparison that
/// accepts this would accept anything.
eval::Tensor perturb(const eval::Tensor &t) {
  if (t.numel() == 0) {
    eval::Shape s = t.shape();
    s.push_back(1);
    return t.reshaped(s);
  }
  eval::Tensor p = eval::Tensor::zeros(t.dtype(), t.shape());
  std::memcpy(p.mutableData<char>(), t.raw(), static_cast<size_t>(t.bytes()));
  double v = eval::elementAsDouble(t, 0);
  double w = std::isfinite(v) ? v + std::max(std::fabs(v) * 0.05, 1e-2) : 0.0;
  switch (t.dtype()) {
  case eval::DType::F32:
    p.mutableData<float>()[0] = static_cast<float>(w);
    break;
  case eval::DType::F64:
    p.mutableData<double>()[0] = w;
    break;
  case eval::DType::F16:
    p.mutableData<eval::Half>()[0] = eval::toHalf(w);
    break;
  case eval::DType::BF16:
    p.mutableData<eval::BFloat16>()[0] = eval::toBFloat16(static_cast<float>(w));
    break;
  case eval::DType::Bool:
    p.mutableData<bool>()[0] = !t.data<bool>()[0];
    break;
  default: // integers: flip the lowest bit
    p.mutableData<uint8_t>()[0] ^= 1;
    break;
  }
  return p;
}

std::vector<std::string> numbered(const fs::path &dir, const std::string &prefix) {
  std::vector<std::string> files;
  for (int i = 0;; ++i) {
    fs::path f = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(f))
      break;
    files.push_back(f.string());
  }
  return files;
}

struct Counts {
  int run = 0, passed = 0, refused = 0, badData = 0, failed = 0;
};

Outcome runCase(const fs::path &dir, int &perturbed, int &perturbDetected) {
  mlir::MLIRContext context;
  std::string diags;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      diags += (diags.empty() ? "" : "; ") + d.str();
    return mlir::success();
  });
  auto loaded = onnx_import::readModel((dir / "model.onnx").string());
  if (!loaded)
    return {Outcome::Refused, llvm::toString(loaded.takeError())};
  import::WeightStorage storage;
  auto module = import::importModel(context, *loaded, storage);
  if (!module)
    return {Outcome::Refused, diags.empty() ? "import failed" : diags};
  auto func = module->lookupSymbol<mlir::func::FuncOp>("main");
  eval::ThreadPool pool(1);
  std::vector<fs::path> sets;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty())
    return {Outcome::Failed, "no test_data_set_* folder"};
  for (const fs::path &set : sets) {
    std::string where = set.filename().string();
    std::vector<std::string> ins = numbered(set, "input_"), outs = numbered(set, "output_");
    if (ins.size() != func.getNumArguments() || outs.size() != func.getNumResults())
      return {Outcome::Failed, where + ": " + std::to_string(ins.size()) + " inputs and " +
                                   std::to_string(outs.size()) + " outputs for a graph of " +
                                   std::to_string(func.getNumArguments()) + " and " +
                                   std::to_string(func.getNumResults())};
    std::vector<eval::Tensor> args;
    for (size_t i = 0; i < ins.size(); ++i) {
      auto t = eval::readTensorProto(ins[i]);
      if (!t)
        return {Outcome::Failed, llvm::toString(t.takeError())};
      auto dt =
          eval::dtypeOf(mlir::cast<mlir::TensorType>(func.getArgumentTypes()[i]).getElementType());
      if (!dt)
        return {Outcome::Failed, llvm::toString(dt.takeError())};
      args.push_back(eval::asDeclared(*t, *dt));
    }
    auto results = eval::runOnnxFunction(func, args, pool);
    if (!results) {
      std::string msg = llvm::toString(results.takeError());
      // The argument check's messages start with "input '<name>'" (or "input #<i>").
      bool badData = llvm::StringRef(msg).starts_with("input ");
      return {badData ? Outcome::BadData : Outcome::Failed, where + ": " + msg};
    }
    for (size_t i = 0; i < outs.size(); ++i) {
      auto e = eval::readTensorProto(outs[i]);
      if (!e)
        return {Outcome::Failed, llvm::toString(e.takeError())};
      eval::Tensor expected = eval::asDeclared(*e, (*results)[i].dtype());
      eval::Comparison c = eval::compare((*results)[i], expected);
      if (!c.ok)
        return {Outcome::Failed, where + ": output " + std::to_string(i) + ": " + c.message};
      ++perturbed;
      if (!eval::compare((*results)[i], perturb(expected)).ok)
        ++perturbDetected;
      else
        return {Outcome::Failed,
                where + ": output " + std::to_string(i) + " also matches a perturbed expectation"};
    }
  }
  return {Outcome::Passed, ""};
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR EXPECTATIONS_FILE [--verbose] [--filter TEXT]\n",
                 argv[0]);
    return 2;
  }
  fs::path data = argv[1];
  std::string expectationsPath = argv[2], filter;
  bool verbose = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose")
      verbose = true;
    else if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else {
      std::fprintf(stderr, "error: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (!fs::is_directory(data)) {
    std::fprintf(stderr,
                 "error: %s is not a folder of ONNX node tests; install the Debian package "
                 "libonnx-testdata (scripts/setup.sh)\n",
                 data.c_str());
    return 1;
  }
  // The expectations: "test_name  refused|bad-data  reason", '#' starts a comment.
  std::map<std::string, std::pair<std::string, std::string>> listed; // name -> (kind, reason)
  {
    std::ifstream in(expectationsPath);
    if (!in) {
      std::fprintf(stderr, "error: cannot read %s\n", expectationsPath.c_str());
      return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
      line = line.substr(0, line.find('#'));
      std::istringstream ls(line);
      std::string name, kind, reason;
      if (!(ls >> name))
        continue;
      ls >> kind;
      std::getline(ls, reason);
      if (kind != "refused" && kind != "bad-data") {
        std::fprintf(stderr, "error: %s: '%s' must be followed by refused or bad-data\n",
                     expectationsPath.c_str(), name.c_str());
        return 1;
      }
      listed[name] = {kind, llvm::StringRef(reason).trim().str()};
    }
  }

  mlir::MLIRContext context;
  std::vector<std::string> accepted = import::supportedOpTypes(context);
  std::set<std::string> supported(accepted.begin(), accepted.end());

  std::vector<fs::path> tests;
  for (const auto &e : fs::directory_iterator(data))
    if (e.is_directory() && e.path().filename().string().rfind("test_", 0) == 0)
      tests.push_back(e.path());
  std::sort(tests.begin(), tests.end());

  auto start = std::chrono::steady_clock::now();
  std::map<std::string, Counts> perOp;
  Counts total;
  int failures = 0, perturbed = 0, perturbDetected = 0, notSelected = 0;
  std::set<std::string> seen;
  for (const fs::path &dir : tests) {
    std::string name = dir.filename().string();
    if (!filter.empty() && name.find(filter) == std::string::npos)
      continue;
    // Which operator types does the test use? (Parsed only; the reader checks it later.)
    onnx::ModelProto proto;
    std::ifstream in(dir / "model.onnx", std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!proto.ParseFromString(bytes.str()))
      continue;
    std::set<std::string> ops;
    bool selected = proto.graph().node_size() > 0;
    for (const auto &n : proto.graph().node()) {
      bool defaultDomain = n.domain().empty() || n.domain() == "ai.onnx";
      selected = selected && defaultDomain && supported.count(n.op_type());
      ops.insert(n.op_type());
    }
    if (!selected) {
      ++notSelected;
      continue;
    }
    seen.insert(name);
    std::string label = ops.size() == 1 ? *ops.begin() : "(expanded functions)";
    Outcome o = runCase(dir, perturbed, perturbDetected);
    auto entry = listed.find(name);
    std::string verdict;
    if (entry == listed.end() && (o.kind == Outcome::Refused || o.kind == Outcome::BadData)) {
      o.message =
          std::string(kindName(o.kind)) + ", but not on the expectations list: " + o.message;
      o.kind = Outcome::Failed;
    } else if (entry != listed.end() && entry->second.first != kindName(o.kind)) {
      o.message = std::string(kindName(o.kind)) + ", but listed as " + entry->second.first +
                  (o.message.empty() ? "" : ": " + o.message);
      o.kind = Outcome::Failed;
    }
    Counts &c = perOp[label];
    ++c.run;
    ++total.run;
    switch (o.kind) {
    case Outcome::Passed:
      ++c.passed;
      ++total.passed;
      verdict = "PASS";
      break;
    case Outcome::Refused:
      ++c.refused;
      ++total.refused;
      verdict = "REFUSED as listed (" + entry->second.second + ")";
      break;
    case Outcome::BadData:
      ++c.badData;
      ++total.badData;
      verdict = "BAD DATA as listed (" + entry->second.second + ")";
      break;
    case Outcome::Failed:
      ++c.failed;
      ++total.failed;
      ++failures;
      verdict = "FAIL";
      break;
    }
    if (verbose || o.kind != Outcome::Passed)
      std::printf("%-52s %s%s%s\n", name.c_str(), verdict.c_str(), o.message.empty() ? "" : ": ",
                  o.message.c_str());
  }
  for (const auto &[name, expectation] : listed)
    if (!seen.count(name) && filter.empty()) {
      std::printf("%-52s FAIL: on the expectations list, but not among the tests run\n",
                  name.c_str());
      ++failures;
    }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("\n%-22s %5s %7s %8s %9s %7s\n", "operator", "run", "passed", "refused", "bad data",
              "failed");
  auto row = [](const std::string &label, const Counts &c) {
    std::printf("%-22s %5d %7d %8d %9d %7d\n", label.c_str(), c.run, c.passed, c.refused, c.badData,
                c.failed);
  };
  for (const auto &[op, c] : perOp)
    row(op, c);
  row("total", total);
  std::printf("\n%zu operator types accepted; %zu node tests in %s, %d run, %d not run (they "
              "use other operators)\n",
              accepted.size(), tests.size(), data.c_str(), total.run, notSelected);
  std::printf("perturbed expected outputs detected: %d of %d\n", perturbDetected, perturbed);
  std::printf("%s in %.1f s\n", failures ? "FAIL" : "PASS", seconds);
  return failures ? 1 : 0;
}
