// The .m2b container: a fixed header, then the payload: a FlatBuffers table (schema/m2b.fbs)
// and the data section that holds the regions' initial contents.
//
//   offset size  field
//   0      4     magic "M2B\x1a"
//   4      2     container version (kContainerVersion), little-endian
//   6      2     ISA version the bundles use
//   8      8     payload bytes (the file is exactly 40 + this)
//   16     4     CRC-32 (IEEE) of the payload
//   20     4     bytes of the FlatBuffers table (< 2 GiB)
//   24     16    board name, NUL-padded
//   40     ...   payload: the table, zero padding to a 64-byte file offset, the data section
//
// The data section holds each region's initial bytes (Region.data_offset / data_bytes), in
// the table's region order, each at a 64-byte aligned offset of the section, zero padding
// between them, nothing after the last.
//
// loadContainer() validates everything before a program is handed to a device: header,
// checksum, the FlatBuffers structure, the target, every bundle's encoding, and a walk of each
// entry point's control flow that checks every DMA range against its region, every scratchpad
// range and every microcode index against the store.
#pragma once
#include "mamba2/isa/Program.h"
#include "mamba2/target/Board.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mamba2::runtime {

constexpr uint8_t kMagic[4] = {'M', '2', 'B', 0x1a};
/// 3: each entry point records its semaphore map (Symbol.channels); a version 2 file (one map
/// program-wide, found by scanning the bundles) is refused, naming the change.
constexpr uint16_t kContainerVersion = 3;
constexpr size_t kDataAlign = 64;
constexpr size_t kHeaderBytes = 40;

uint32_t crc32(const uint8_t *data, size_t n);
/// The CRC-32 of the bytes so far (`crc`, 0 for none) followed by `data`.
uint32_t crc32Update(uint32_t crc, const uint8_t *data, size_t n);

/// Serialises `p` for `board` (its scratchpad and store sizes go into the target section).
std::vector<uint8_t> writeContainer(const isa::Program &p, const target::Board &board);
/// The same, handed to `sink` piece by piece, without a copy of the regions' contents (a
/// large model's file is written straight from the program).
void writeContainer(const isa::Program &p, const target::Board &board,
                    const std::function<void(const uint8_t *, size_t)> &sink);

struct LoadOptions {
  /// The board the program must have been built for; nullptr: the one named in the file.
  const target::Board *board = nullptr;
  /// Longest control-flow walk (bundles) per entry point before the file is refused.
  uint64_t maxWalkBundles = uint64_t(1) << 26;
  /// Walk every entry point's control flow to range-check what each bundle issues; off: decode
  /// and check the encodings and tables only (mamba2-objdump, which runs nothing).
  bool walkControlFlow = true;
  /// Most element operations (MACs, DMA bytes, vector/SSM elements) one entry point may ask
  /// for; 0: what the board's units do in kMaxRunSeconds at their peak (maxProgramWork).
  double maxWork = 0;
  /// Largest sum of DRAM region sizes accepted (the device allocates them).
  uint64_t maxRegionBytes = uint64_t(16) << 30;
  /// Copy the regions' initial bytes into the program. Off: they are checked as always (layout,
  /// padding, checksum) but the program keeps only the regions' sizes (`init` empty), for a
  /// timing-only simulator, which needs no values (a 2.7B program's 2 GB are not copied).
  bool regionData = true;
};

struct LoadResult {
  isa::Program program;
  const target::Board *board = nullptr;
  std::string error; // empty when the file is valid; else "<what is wrong> (<where>)"
  bool ok() const { return error.empty(); }
};

LoadResult loadContainer(const uint8_t *data, size_t size, const LoadOptions &opt = {});
LoadResult loadContainerFile(const std::string &path, const LoadOptions &opt = {});

/// The static checks alone, on a program in memory (the assembler runs them before writing).
std::string validateProgram(const isa::Program &p, const target::Board &board,
                            uint64_t maxWalkBundles, bool walkControlFlow = true,
                            double maxWork = 0);

/// Seconds of the board's peak work one entry point may ask for (the loader refuses more).
constexpr double kMaxRunSeconds = 60;
/// Element operations the board's units do in kMaxRunSeconds at their peak.
double maxProgramWork(const target::Board &board);

} // namespace mamba2::runtime
