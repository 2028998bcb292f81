// The simulator backend: the HLS datapaths in C simulation, serial or with the cycle model.
#include "mamba2/hw/Overlay.h"
#include "mamba2/runtime/Device.h"

#include <chrono>

namespace mamba2::runtime {

namespace {

// The simulator's result in the device interface's terms.
RunCounters counters(const hw::SimResult &s, bool timed) {
  RunCounters c;
  c.timed = timed;
  c.cycles = s.cycles;
  c.bundles = s.bundles;
  for (unsigned u = 0; u < isa::kNumSlots; ++u) {
    const hw::UnitCounters &h = s.units[u];
    c.units[u] = {h.instructions, h.busy, h.stallToken, h.stallMemory, h.bytes, h.ops};
  }
  for (const hw::TraceEvent &e : s.trace)
    c.trace.push_back({e.unit, e.start, e.end, e.bundle, e.name});
  return c;
}

class SimulatorDevice : public Device {
public:
  explicit SimulatorDevice(const target::Board &b) : board_(b) {}
  std::string describe() const override { return std::string("simulator (") + board_.name + ")"; }
  const target::Board &board() const override { return board_; }

  std::string load(const isa::Program &p) override {
    if (p.target != board_.name)
      return "program is built for '" + p.target + "', this simulator models '" + board_.name + "'";
    prog_ = p;
    mem_ = isa::Memory::forProgram(p, board_.spadBytes());
    loaded_ = true;
    return "";
  }

  std::string writeTensor(const std::string &name, const std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = find(name);
    if (!s)
      return "no tensor named '" + name + "'";
    if (bytes.size() != s->bytes)
      return "tensor '" + name + "' is " + std::to_string(s->bytes) + " bytes, got " +
             std::to_string(bytes.size());
    std::copy(bytes.begin(), bytes.end(), mem_.dram[s->region].begin() + long(s->offset));
    return "";
  }

  std::string readTensor(const std::string &name, std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = find(name);
    if (!s)
      return "no tensor named '" + name + "'";
    bytes.assign(mem_.dram[s->region].begin() + long(s->offset),
                 mem_.dram[s->region].begin() + long(s->offset + s->bytes));
    return "";
  }

  RunReport run(const std::string &entry, const RunOptions &opt) override {
    RunReport r;
    if (!loaded_) {
      r.error = "no program loaded";
      return r;
    }
    auto t0 = std::chrono::steady_clock::now();
    const hw::SimMode mode = opt.mode == RunMode::Functional ? hw::SimMode::Functional
                             : opt.mode == RunMode::Cycle    ? hw::SimMode::Cycle
                                                             : hw::SimMode::Timing;
    hw::SimResult s = hw::simulate(prog_, entry, mem_, board_, {mode, opt.trace, opt.maxBundles});
    r.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.error = s.error;
    r.counters = counters(s, mode != hw::SimMode::Functional);
    return r;
  }

private:
  const isa::Symbol *find(const std::string &name) const {
    return loaded_ ? prog_.tensor(name) : nullptr;
  }
  target::Board board_;
  isa::Program prog_;
  isa::Memory mem_;
  bool loaded_ = false;
};

} // namespace

std::unique_ptr<Device> makeSimulatorDevice(const target::Board &board) {
  return std::make_unique<SimulatorDevice>(board);
}

} // namespace mamba2::runtime
