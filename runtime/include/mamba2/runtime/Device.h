// One device interface, two backends: the overlay's C simulation (functional or cycle mode) and
// an FPGA board through XRT. A device holds one loaded program and its DRAM regions.
#pragma once
#include "mamba2/runtime/Container.h"
#include "mamba2/runtime/Counters.h"

#include <memory>
#include <string>
#include <vector>

namespace mamba2::runtime {

struct RunOptions {
  RunMode mode = RunMode::Functional; // simulator only
  bool trace = false;                 // simulator cycle mode: keep unit activity
  uint64_t maxBundles = uint64_t(1) << 32;
};

struct RunReport {
  std::string error;    // empty on success
  RunCounters counters; // per-unit counters and trace
  double wallSeconds = 0;
};

class Device {
public:
  virtual ~Device() = default;
  /// "simulator (kv260, cycle model)", "xrt:0 (xilinx_u280...)"
  virtual std::string describe() const = 0;
  virtual const target::Board &board() const = 0;
  /// Takes a validated program (LoadResult::ok()); region images are copied to the device.
  virtual std::string load(const isa::Program &p) = 0;
  /// Copies bytes into / out of a tensor symbol of the loaded program.
  virtual std::string writeTensor(const std::string &name, const std::vector<uint8_t> &bytes) = 0;
  virtual std::string readTensor(const std::string &name, std::vector<uint8_t> &bytes) = 0;
  virtual RunReport run(const std::string &entry, const RunOptions &opt) = 0;
};

struct SimulatorOptions {
  /// Runs in timing mode only and holds no DRAM or scratchpad: load() keeps the program's code
  /// and the regions' sizes, not their bytes (a 2.7B program's constants are not copied);
  /// tensors cannot be written or read, functional and cycle runs are refused.
  bool timingOnly = false;
};
std::unique_ptr<Device> makeSimulatorDevice(const target::Board &board,
                                            const SimulatorOptions &opt = {});

/// Opens XRT device `index` with `xclbin`. Returns nullptr and sets `error` (clearly saying when
/// no board is present, or when this build has no XRT) on failure.
std::unique_ptr<Device> makeXrtDevice(const target::Board &board, const std::string &xclbin,
                                      unsigned index, std::string &error);

} // namespace mamba2::runtime
