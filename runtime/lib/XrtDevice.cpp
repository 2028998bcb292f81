// The FPGA backend through XRT (Debian's libxrt-dev). The kernel is the HLS top
// `mamba2_overlay` (hw/top/overlay_top.cpp); its name and argument order come from
// target/KernelArgs.h, which the HLS top declares itself with.
#include "mamba2/runtime/Device.h"
#include "mamba2/target/KernelArgs.h"

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

  std::string load(const isa::Program &p) override {
    prog_ = p;
    std::vector<uint8_t> bundles = p.bundleBytes(), ucode = p.ucodeBytes();
    try {
      bos_.clear();
      bos_.push_back(upload(bundles, target::kArgBundles));
      bos_.push_back(upload(ucode, target::kArgUcode));
      for (unsigned r = 0; r < isa::kNumRegions; ++r) {
        std::vector<uint8_t> img(std::max<uint64_t>(p.regions[r].size, 64), 0);
        std::copy(p.regions[r].init.begin(), p.regions[r].init.end(), img.begin());
        bos_.push_back(upload(img, int(target::kArgConst + r)));
      }
      status_ = xrt::bo(dev_, 64, kernel_.group_id(target::kArgStatus));
    } catch (const std::exception &e) {
      return std::string("XRT buffer setup failed: ") + e.what();
    }
    return "";
  }

  std::string writeTensor(const std::string &name, const std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = prog_.tensor(name);
    if (!s || bytes.size() != s->bytes)
      return "no tensor '" + name + "' of " + std::to_string(bytes.size()) + " bytes";
    bos_[2 + s->region].write(bytes.data(), bytes.size(), s->offset);
    bos_[2 + s->region].sync(XCL_BO_SYNC_BO_TO_DEVICE, bytes.size(), s->offset);
    return "";
  }

  std::string readTensor(const std::string &name, std::vector<uint8_t> &bytes) override {
    const isa::Symbol *s = prog_.tensor(name);
    if (!s)
      return "no tensor named '" + name + "'";
    bytes.resize(s->bytes);
    bos_[2 + s->region].sync(XCL_BO_SYNC_BO_FROM_DEVICE, s->bytes, s->offset);
    bos_[2 + s->region].read(bytes.data(), s->bytes, s->offset);
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
      run.set_arg(target::kArgBundles, bos_[0]);
      run.set_arg(target::kArgUcode, bos_[1]);
      for (unsigned r = 0; r < isa::kNumRegions; ++r)
        run.set_arg(int(target::kArgConst + r), bos_[2 + r]);
      run.set_arg(target::kArgNumBundles, uint32_t(prog_.bundles.size()));
      run.set_arg(target::kArgUcodeWords, uint32_t(prog_.ucode.size()));
      run.set_arg(target::kArgEntry, uint32_t(e->bundle));
      run.set_arg(target::kArgStatus, status_);
      run.start();
      run.wait();
      uint32_t st = 0;
      status_.sync(XCL_BO_SYNC_BO_FROM_DEVICE, 4, 0);
      status_.read(&st, 4, 0);
      if (st)
        r.error = "overlay fault code " + std::to_string(st >> 24) + " at bundle " +
                  std::to_string(st & 0xFFFFFF);
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
  std::vector<xrt::bo> bos_;
  xrt::bo status_;
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
