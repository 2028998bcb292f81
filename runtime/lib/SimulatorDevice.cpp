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
  SimulatorDevice(const target::Board &b, const SimulatorOptions &o) : board_(b), opt_(o) {}
  std::string describe() const override {
    return std::string("simulator (") + board_.name + (opt_.timingOnly ? ", timing only)" : ")");
  }
  const target::Board &board() const override { return board_; }

  std::string load(const isa::Program &p) override {
    if (p.target != board_.name)
      return "program is built for '" + p.target + "', this simulator models '" + board_.name + "'";
    if (opt_.timingOnly) {
      // The code and the sizes; the regions' bytes stay with the caller.
      prog_.target = p.target;
      prog_.bundles = p.bundles;
      prog_.ucode = p.ucode;
      prog_.symbols = p.symbols;
      for (unsigned r = 0; r < isa::kNumRegions; ++r) {
        prog_.regions[r].size = p.regions[r].size;
        prog_.regions[r].init.clear();
        lim_.regionBytes[r] = p.regions[r].size;
      }
      lim_.spadBytes = board_.spadBytes();
    } else {
      prog_ = p;
      mem_ = isa::Memory::forProgram(p, board_.spadBytes());
    }
    loaded_ = true;
    return "";
  }

  std::string writeTensor(const std::string &name, const std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = find(name);
    if (!s)
      return "no tensor named '" + name + "'";
    if (opt_.timingOnly)
      return "tensor '" + name +
             "' cannot be written: this simulator runs timing only and holds "
             "no memory";
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
    if (opt_.timingOnly)
      return "tensor '" + name +
             "' cannot be read: this simulator runs timing only and holds "
             "no memory";
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
    const hw::SimMode mode = opt.mode == RunMode::Functional ? hw::SimMode::Functional
                             : opt.mode == RunMode::Cycle    ? hw::SimMode::Cycle
                                                             : hw::SimMode::Timing;
    if (opt_.timingOnly && mode != hw::SimMode::Timing) {
      r.error = "this simulator runs timing only (it holds no memory to compute values in)";
      return r;
    }
    auto t0 = std::chrono::steady_clock::now();
    const hw::SimOptions so{mode, opt.trace, opt.maxBundles};
    hw::SimResult s = opt_.timingOnly ? hw::simulateTiming(prog_, entry, lim_, board_, so)
                                      : hw::simulate(prog_, entry, mem_, board_, so);
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
  SimulatorOptions opt_;
  isa::Program prog_;
  isa::Memory mem_;
  isa::Limits lim_; // timingOnly: the memory's sizes
  bool loaded_ = false;
};

} // namespace

std::unique_ptr<Device> makeSimulatorDevice(const target::Board &board,
                                            const SimulatorOptions &opt) {
  return std::make_unique<SimulatorDevice>(board, opt);
}

} // namespace mamba2::runtime
