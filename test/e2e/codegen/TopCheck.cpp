// mamba2-top-check: a compiled program (.m2b, `mamba2c M.onnx --quant Q --target T -o X.m2b`)
// run through the C simulation of the HLS top (hw/top/overlay_top.cpp compiled as C++, called
// as XRT would: the DRAM regions striped over the board's ports, the ports kept between calls
// so the state carries), a prompt as prefill calls then greedy decode steps, each next id the
// argmax of the top's own logits. The ovl integer evaluator (on the same model's ovl module,
// `mamba2c M.onnx --quant Q --emit=ovl --print-weights`) generates greedily on its own, and
// isa's functional interpreter runs the evaluator's calls: the logits of every position, the
// states after the last call and the generated text must be the same in all three, bit for
// bit. Every call's cycles and stall counters (C simulation's clocks) must also equal the cycle
// model's in its sourceCycles mode (docs/overlay.md "Performance counters"). Exit status 0 only
// when everything agrees.
#include "Harness.h"

#include "mamba2/hw/Overlay.h"
#include "mamba2/target/KernelArgs.h"
#include "mamba2/target/Stripes.h"

#include "Dma.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <map>

// The tops linked into this tool (Mamba2OverlayTopCsim, Mamba2OverlayTopCsimU280), with the
// signature of target/KernelArgs.h and the board's ports (as test/unit/hw/OverlayTopTest.cpp).
#define MAMBA2_TOP_PARAMS(BEAT, PORTS)                                                             \
  const uint8_t *bundles, const uint8_t *ucode, uint32_t num_bundles, uint32_t ucode_words,        \
      uint32_t entry, uint32_t waiters_lo, uint32_t waiters_hi, uint32_t base_const,               \
      uint32_t base_io, uint32_t base_state, uint32_t base_scratch, uint32_t *status,              \
      uint32_t *counters, PORTS(BEAT)
extern "C" void mamba2_overlay(MAMBA2_TOP_PARAMS(mamba2::hw::Beat<16>,
                                                 MAMBA2_TARGET_PORT_PARAMS_3));
extern "C" void mamba2_overlay_u280(MAMBA2_TOP_PARAMS(mamba2::hw::Beat<64>,
                                                      MAMBA2_TARGET_PORT_PARAMS_2));

using namespace mamba2;
using namespace mamba2::codegen::test;

namespace {

/// The program's DRAM as the XRT backend lays it out over the board's ports (target/Stripes.h),
/// kept between calls of the top.
class TopDevice {
public:
  TopDevice(const isa::Program &p, const target::Board &b) : p_(p), b_(b) {
    bundles_ = p.bundleBytes();
    ucode_ = p.ucodeBytes();
    ucode_.push_back(0); // a valid pointer even without microcode
    std::array<uint64_t, 4> sizes{};
    for (unsigned r = 0; r < 4; ++r)
      sizes[r] = p.regions[r].size;
    m_ = target::stripeMap(b.axiPorts, b.stripeBytes, sizes);
    ports_.assign(b.axiPorts, std::vector<uint8_t>(m_.portBytes, 0));
    for (unsigned r = 0; r < 4; ++r)
      target::stripeScatter(m_, r, 0, p.regions[r].init.data(), p.regions[r].init.size(), ports_);
  }
  void write(unsigned region, uint64_t offset, const std::vector<uint8_t> &bytes) {
    target::stripeScatter(m_, region, offset, bytes.data(), bytes.size(), ports_);
  }
  std::vector<uint8_t> read(unsigned region, uint64_t offset, uint64_t n) const {
    std::vector<uint8_t> v(n);
    target::stripeGather(m_, region, offset, v.data(), n, ports_);
    return v;
  }
  /// Runs entry `name`; the status word (0: halted cleanly), or an error.
  std::string run(const std::string &name) {
    const isa::Symbol *e = p_.entry(name);
    if (!e)
      return "no entry " + name;
    uint32_t status = 0xFFFFFFFF, ctr[target::kNumCounterWords] = {};
    const uint32_t nb = uint32_t(p_.bundles.size()), nw = uint32_t(p_.ucode.size());
    const uint32_t bc = uint32_t(m_.base[0]), bi = uint32_t(m_.base[1]), bs = uint32_t(m_.base[2]),
                   bx = uint32_t(m_.base[3]);
    // The entry's semaphore map from the container, as the XRT backend passes it.
    const auto waiters = isa::semWaiters(e->channels);
    const uint32_t wl = target::waiterWord(waiters, 0), wh = target::waiterWord(waiters, 1);
#define MAMBA2_PORT_ARG16(q, name) , reinterpret_cast<hw::Beat<16> *>(ports_[q].data())
#define MAMBA2_PORT_ARG64(q, name) , reinterpret_cast<hw::Beat<64> *>(ports_[q].data())
    if (b_.name == std::string("kv260"))
      mamba2_overlay(bundles_.data(), ucode_.data(), nb, nw, e->bundle, wl, wh, bc, bi, bs, bx,
                     &status, ctr MAMBA2_TARGET_FOR_PORTS_3(MAMBA2_PORT_ARG16));
    else if (b_.name == std::string("u280"))
      mamba2_overlay_u280(bundles_.data(), ucode_.data(), nb, nw, e->bundle, wl, wh, bc, bi, bs, bx,
                          &status, ctr MAMBA2_TARGET_FOR_PORTS_2(MAMBA2_PORT_ARG64));
    else
      return std::string("no HLS top linked for ") + b_.name;
#undef MAMBA2_PORT_ARG16
#undef MAMBA2_PORT_ARG64
    cycles = uint64_t(ctr[0]) | (uint64_t(ctr[1]) << 32);
    if (status)
      return "status 0x" + llvm::utohexstr(status) + " (fault " + std::to_string(status >> 24) +
             " at bundle " + std::to_string(status & 0xFFFFFF) + ")";
    // C simulation's clocks against the cycle model charging only what the source counts. Its
    // timing mode computes no values (no control depends on data), so one run per entry serves
    // every call of it.
    auto it = model_.find(name);
    if (it == model_.end()) {
      hw::SimOptions o;
      o.mode = hw::SimMode::Timing;
      o.sourceCycles = true;
      isa::Memory mem = isa::Memory::forProgram(p_, b_.spadBytes());
      it = model_.emplace(name, hw::simulate(p_, name, mem, b_, o)).first;
    }
    const hw::SimResult &r = it->second;
    if (!r.error.empty())
      return "cycle model (sourceCycles): " + r.error;
    auto word = [&](unsigned w) { return uint64_t(ctr[w]) | (uint64_t(ctr[w + 1]) << 32); };
    std::string diff;
    if (r.cycles != cycles)
      diff += " cycles " + std::to_string(cycles) + " vs " + std::to_string(r.cycles);
    for (unsigned u = 0; u < isa::kNumSlots; ++u) {
      const uint64_t tok = word(target::counterWord(u, target::kCtrStallToken));
      const uint64_t mem2 = word(target::counterWord(u, target::kCtrStallMemory));
      if (tok != r.units[u].stallToken || mem2 != r.units[u].stallMemory)
        diff += std::string(" ") + isa::kSlotNames[u] + " stalls " + std::to_string(tok) + "/" +
                std::to_string(mem2) + " vs " + std::to_string(r.units[u].stallToken) + "/" +
                std::to_string(r.units[u].stallMemory);
    }
    if (!diff.empty())
      return "C simulation's counters differ from the cycle model's sourceCycles mode:" + diff;
    return "";
  }
  uint64_t cycles = 0;

private:
  const isa::Program &p_;
  const target::Board &b_;
  std::vector<uint8_t> bundles_, ucode_;
  target::StripeMap m_;
  std::vector<std::vector<uint8_t>> ports_;
  std::map<std::string, hw::SimResult> model_; // per entry: the cycle model's sourceCycles run
};

std::string printable(const std::vector<int32_t> &ids) {
  std::string s;
  for (int32_t id : ids)
    s += (id >= 32 && id < 127) ? char(id) : '.';
  return s;
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-top-check: a compiled program through the HLS top's C simulation"};
  std::string model, container;
  unsigned prompt = 64, decode = 8;
  app.add_option("model", model, "ovl module (.mlir) the program was compiled from")->required();
  app.add_option("program", container, "compiled program (.m2b)")->required();
  app.add_option("--prompt", prompt, "prompt bytes (ids) before the decode steps");
  app.add_option("--decode", decode, "greedy decode steps after the prompt");
  CLI11_PARSE(app, argc, argv);

  auto loaded = runtime::loadContainerFile(container);
  if (!loaded.ok()) {
    std::cerr << container << ": " << loaded.error << "\n";
    return 1;
  }
  const isa::Program &prog = loaded.program;
  const target::Board &board = *loaded.board;
  ParsedFile parsed = parseFile(model);
  if (!parsed.module)
    return 2;

  int32_t d, vocab;
  std::memcpy(&d, prog.regions[0].init.data() + prog.tensor("model")->offset + 4, 4);
  std::memcpy(&vocab, prog.regions[0].init.data() + prog.tensor("model")->offset + 8, 4);
  const isa::Symbol *x = prog.tensor("x"), *lg = prog.tensor("logits");
  const unsigned tBlock = unsigned(x->bytes / (uint64_t(d) * 4));
  std::cout << container << " (" << board.name << "): " << prog.bundles.size() << " bundles, "
            << prog.ucode.size() << " microcode words, " << board.axiPorts
            << " DRAM ports; t_block " << tBlock << ", d_model " << d << ", vocab " << vocab
            << "\n";

  const std::vector<int32_t> pre = textIds(prompt, vocab);

  // The HLS top: prompt calls, then greedy decode from its own logits.
  auto t0 = std::chrono::steady_clock::now();
  TopDevice top(prog, board);
  Outcome got;
  std::vector<int32_t> topText;
  uint64_t prefillCycles = 0, decodeCycles = 0;
  auto topCall = [&](const Call &c) -> bool {
    std::vector<uint8_t> xb(x->bytes, 0), rows = rowsOf(prog, c.ids);
    std::copy(rows.begin(), rows.end(), xb.begin());
    top.write(1, x->offset, xb);
    if (std::string e = top.run(c.entry); !e.empty()) {
      got.error = c.entry + " (call " + std::to_string(got.logits.size()) + "): " + e;
      return false;
    }
    (c.entry == "prefill" ? prefillCycles : decodeCycles) = top.cycles;
    got.logits.push_back(asI32(top.read(1, lg->offset, c.ids.size() * size_t(vocab) * 4),
                               c.ids.size() * size_t(vocab)));
    return true;
  };
  bool ok = true;
  for (const Call &c : promptCalls(pre, tBlock, {}))
    if (!(ok = topCall(c)))
      break;
  for (unsigned s = 0; ok && s < decode; ++s) {
    topText.push_back(argmaxLast(got.logits.back(), vocab));
    ok = topCall({"decode", {topText.back()}});
  }
  if (ok)
    for (const auto &name : stateNames(prog)) {
      const isa::Symbol *s = prog.tensor(name);
      got.states.push_back(top.read(2, s->offset, s->bytes));
    }
  const double topSeconds = seconds(t0);

  // The evaluator, generating on its own; its calls then run in isa's interpreter.
  t0 = std::chrono::steady_clock::now();
  std::vector<Call> calls = promptCalls(pre, tBlock, {});
  std::vector<int32_t> evalText;
  Outcome want = runEvaluatorGreedy(*parsed.module, calls, decode, vocab, evalText);
  const double evalSeconds = seconds(t0);
  t0 = std::chrono::steady_clock::now();
  Outcome functional = runProgram(prog, board, false, calls, vocab);
  const double interpSeconds = seconds(t0);

  int status = 0;
  auto report = [&](const char *what, const std::string &diff) {
    std::cout << what << ": " << (diff.empty() ? "equal bit for bit" : "MISMATCH: " + diff) << "\n";
    if (!diff.empty())
      status = 1;
  };
  const size_t positions = prompt + decode;
  std::cout << "HLS top C simulation: " << got.logits.size() << " calls, " << positions
            << " positions (" << prompt << " prompt, " << decode << " decode steps) in "
            << topSeconds
            << " s; cycles (C simulation's clocks, equal to the cycle model's "
               "sourceCycles mode on every call) of the last prefill call "
            << prefillCycles << ", of the last decode call " << decodeCycles << "\n";
  std::cout << "evaluator " << evalSeconds << " s, functional interpreter " << interpSeconds
            << " s\n";
  report("top vs evaluator (logits of every position, states)", compare(want, got));
  report("functional interpreter vs evaluator", compare(want, functional));
  report("top vs functional interpreter", compare(functional, got));
  report("generated text (top vs evaluator)",
         topText == evalText ? ""
                             : "'" + printable(topText) + "' vs '" + printable(evalText) + "'");
  std::cout << "prompt '" << printable(pre) << "' -> '" << printable(topText) << "'\n";
  return status;
}
