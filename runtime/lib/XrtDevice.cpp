// The FPGA backend through XRT (Debian's libxrt-dev). The kernel is the HLS top
// `mamba2_overlay` (hw/top/overlay_top.cpp); its name and argument order come from
// target/KernelArgs.h, which the HLS top declares itself with; the regions are striped over the
// board's DRAM ports as target/Stripes.h says; status and performance counters are read over
// AXI-lite.
#include "mamba2/runtime/Device.h"
#include "mamba2/target/KernelArgs.h"
#include "mamba2/target/Stripes.h"

#ifdef MAMBA2_HAVE_XRT
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>
#endif

#include <chrono>

namespace mamba2::runtime {

#ifdef MAMBA2_HAVE_XRT
namespace {

class XrtDevice : public Device {
public:
  XrtDevice(const target::Board &b, xrt::device dev, const xrt::uuid &uuid, unsigned index)
      : board_(b), dev_(std::move(dev)), kernel_(dev_, uuid, MAMBA2_KERNEL_NAME), index_(index) {}
  std::string describe() const override {
    return "xrt:" + std::to_string(index_) + " (" + board_.name + ")";
  }
  const target::Board &board() const override { return board_; }

  // The four regions are striped over the board's DRAM ports (target/Stripes.h): one buffer per
  // port (on U280 each in its own HBM pseudo-channel, hw/scripts/link.cfg), each region at the
  // same port-local base on every port.
  std::string load(const isa::Program &p) override {
    prog_ = p;
    std::vector<uint8_t> bundles = p.bundleBytes(), ucode = p.ucodeBytes();
    try {
      std::array<uint64_t, 4> sizes{};
      for (unsigned r = 0; r < isa::kNumRegions; ++r)
        sizes[r] = p.regions[r].size;
      map_ = target::stripeMap(board_.axiPorts, board_.stripeBytes, sizes);
      std::vector<std::vector<uint8_t>> img(board_.axiPorts,
                                            std::vector<uint8_t>(map_.portBytes, 0));
      for (unsigned r = 0; r < isa::kNumRegions; ++r)
        target::stripeScatter(map_, r, 0, p.regions[r].init.data(), p.regions[r].init.size(), img);
      program_.clear();
      program_.push_back(upload(bundles, target::kArgBundles));
      program_.push_back(upload(ucode, target::kArgUcode));
      ports_.clear();
      for (unsigned q = 0; q < board_.axiPorts; ++q)
        ports_.push_back(upload(img[q], int(target::kArgPort0 + q)));
      images_ = std::move(img);
    } catch (const std::exception &e) {
      return std::string("XRT buffer setup failed: ") + e.what();
    }
    return "";
  }

  std::string writeTensor(const std::string &name, const std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = prog_.tensor(name);
    if (!s || bytes.size() != s->bytes)
      return "no tensor '" + name + "' of " + std::to_string(bytes.size()) + " bytes";
    target::stripeScatter(map_, s->region, s->offset, bytes.data(), bytes.size(), images_);
    for (unsigned q = 0; q < ports_.size(); ++q) {
      ports_[q].write(images_[q].data(), images_[q].size(), 0);
      ports_[q].sync(XCL_BO_SYNC_BO_TO_DEVICE);
    }
    return "";
  }

  std::string readTensor(const std::string &name, std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = prog_.tensor(name);
    if (!s)
      return "no tensor named '" + name + "'";
    bytes.resize(s->bytes);
    for (unsigned q = 0; q < ports_.size(); ++q) {
      ports_[q].sync(XCL_BO_SYNC_BO_FROM_DEVICE);
      ports_[q].read(images_[q].data(), images_[q].size(), 0);
    }
    target::stripeGather(map_, s->region, s->offset, bytes.data(), s->bytes, images_);
    return "";
  }

  RunReport run(const std::string &entry, const RunOptions &) override {
    RunReport r;
    const isa::Symbol *e = prog_.entry(entry);
    if (!e) {
      r.error = "no entry point named '" + entry + "'";
      return r;
    }
    auto t0 = std::chrono::steady_clock::now();
    try {
      // Arguments by index (target/KernelArgs.h), not by position in a call.
      xrt::run run(kernel_);
      run.set_arg(target::kArgBundles, program_[0]);
      run.set_arg(target::kArgUcode, program_[1]);
      run.set_arg(target::kArgNumBundles, uint32_t(prog_.bundles.size()));
      run.set_arg(target::kArgUcodeWords, uint32_t(prog_.ucode.size()));
      run.set_arg(target::kArgEntry, uint32_t(e->bundle));
      // The entry's semaphore map: where the top routes each semaphore's tokens.
      const auto waiters = isa::semWaiters(e->channels);
      run.set_arg(target::kArgWaitersLo, uint32_t(target::waiterWord(waiters, 0)));
      run.set_arg(target::kArgWaitersHi, uint32_t(target::waiterWord(waiters, 1)));
      for (unsigned g = 0; g < isa::kNumRegions; ++g)
        run.set_arg(int(target::kArgBaseConst + g), uint32_t(map_.base[g]));
      for (unsigned q = 0; q < ports_.size(); ++q)
        run.set_arg(int(target::kArgPort0 + q), ports_[q]);
      run.start();
      run.wait();
      // status and the counters are AXI-lite registers of the kernel.
      const uint32_t st = kernel_.read_register(kernel_.offset(target::kArgStatus));
      if (st)
        r.error = "overlay fault code " + std::to_string(st >> 24) + " at bundle " +
                  std::to_string(st & 0xFFFFFF);
      const uint32_t base = kernel_.offset(target::kArgCounters);
      auto word64 = [&](unsigned w) {
        return uint64_t(kernel_.read_register(base + 4 * w)) |
               (uint64_t(kernel_.read_register(base + 4 * (w + 1))) << 32);
      };
      RunCounters &c = r.counters;
      c.timed = true;
      c.cycles = word64(0);
      c.bundles = word64(target::counterWord(0, target::kCtrInstructions));
      for (unsigned u = 0; u < isa::kNumSlots; ++u) {
        UnitCounters &k = c.units[u];
        k.instructions = word64(target::counterWord(u, target::kCtrInstructions));
        k.busy = word64(target::counterWord(u, target::kCtrBusy));
        k.stallToken = word64(target::counterWord(u, target::kCtrStallToken));
        k.stallMemory = word64(target::counterWord(u, target::kCtrStallMemory));
        k.bytes = word64(target::counterWord(u, target::kCtrBytes));
        k.ops = word64(target::counterWord(u, target::kCtrOps));
      }
    } catch (const std::exception &ex) {
      r.error = std::string("XRT run failed: ") + ex.what();
    }
    r.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

private:
  xrt::bo upload(const std::vector<uint8_t> &bytes, int arg) {
    xrt::bo bo(dev_, std::max<size_t>(bytes.size(), 64), kernel_.group_id(arg));
    bo.write(bytes.data(), bytes.size(), 0);
    bo.sync(XCL_BO_SYNC_BO_TO_DEVICE);
    return bo;
  }
  target::Board board_;
  xrt::device dev_;
  xrt::kernel kernel_;
  unsigned index_;
  isa::Program prog_;
  std::vector<xrt::bo> program_, ports_; // bundles + microcode; one buffer per DRAM port
  target::StripeMap map_;
  std::vector<std::vector<uint8_t>> images_; // host copies of the port buffers
};
} // namespace

std::unique_ptr<Device> makeXrtDevice(const target::Board &board, const std::string &xclbin,
                                      unsigned index, std::string &error) {
  try {
    xrt::device dev(index);
    xrt::uuid uuid = dev.load_xclbin(xclbin);
    return std::make_unique<XrtDevice>(board, std::move(dev), uuid, index);
  } catch (const std::exception &e) {
    error = "no usable FPGA board at XRT device index " + std::to_string(index) +
            " (XRT says: " + e.what() +
            "); use the simulator backend (--device sim) on machines without a board";
    return nullptr;
  }
}

#else

std::unique_ptr<Device> makeXrtDevice(const target::Board &, const std::string &, unsigned,
                                      std::string &error) {
  error = "this build has no XRT support (libxrt-dev was not found at configure time); use "
          "--device sim";
  return nullptr;
}

#endif

} // namespace mamba2::runtime
