// A program in memory: what the assembler produces, the container (.m2b) stores and the
// simulator runs. Independent of the file format.
#pragma once
#include "mamba2/isa/Encoding.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::isa {

/// DRAM regions, fixed ids (the `region` field of a DMA slot).
enum class RegionId : uint8_t { Const = 0, Io = 1, State = 2, Scratch = 3 };
constexpr unsigned kNumRegions = 4;
constexpr const char *kRegionNames[kNumRegions] = {"const", "io", "state", "scratch"};
/// Region 0 is read-only: stores into it are invalid.
inline bool regionWritable(unsigned id) { return id != 0; }
/// Region id of `name`, or -1.
int regionByName(const std::string &name);

struct Region {
  uint64_t size = 0;         // bytes
  std::vector<uint8_t> init; // initial contents, init.size() <= size, rest zero
};

/// One channel of an entry point's semaphore map: semaphore `sem` carries tokens from unit `from`
/// to unit `to` (slot indices). In one entry a semaphore has one waiting unit (`to`), maybe
/// several signalling ones; the HLS top routes the semaphore's tokens to that unit
/// (docs/runtime.md "Semaphore maps").
constexpr uint8_t kNoWaiter = 0xFF;
struct SemChannel {
  uint8_t sem = 0, from = 0, to = 0;
  bool operator==(const SemChannel &o) const {
    return sem == o.sem && from == o.from && to == o.to;
  }
};

struct Symbol {
  enum class Kind : uint8_t { Entry = 0, Tensor = 1 };
  Kind kind = Kind::Entry;
  std::string name;
  uint32_t bundle = 0; // Entry: first bundle
  uint8_t region = 0;  // Tensor: where it lives
  uint64_t offset = 0; // Tensor: byte offset in the region
  uint64_t bytes = 0;  // Tensor: size
  std::string dtype;   // Tensor: i8, u8, i16, i32, i4x2
  /// Entry: its semaphore map, every (semaphore, signalling unit, waiting unit) its bundles use
  /// (the loader checks it against them; the top routes tokens by it).
  std::vector<SemChannel> channels;
};

struct Program {
  std::string target; // board name the program was built for
  std::array<Region, kNumRegions> regions;
  std::vector<Bundle> bundles;
  std::vector<UopWord> ucode; // microcode store image, index = store address
  std::vector<Symbol> symbols;
  /// The entry symbol named `name`, or nullptr.
  const Symbol *entry(const std::string &name) const;
  const Symbol *tensor(const std::string &name) const;
  /// The bundle memory and the microcode store as the overlay reads them: each word in its
  /// byte encoding (toBytes), one after the other.
  std::vector<uint8_t> bundleBytes() const;
  std::vector<uint8_t> ucodeBytes() const;
};

/// One past the last bundle an entry starting at `start` can fetch: its first ctrl.halt outside
/// every loop body that starts at or after `start` (no branches: only loops skip bundles), or
/// the end of `bundles`.
size_t entryEnd(const std::vector<Bundle> &bundles, uint32_t start);
/// The semaphore map of the entry starting at `start`, read off its bundles: one channel per
/// (semaphore, signalling unit, waiting unit) its slots use, sorted. A semaphore signalled but
/// never waited on in the entry has the waiting unit kNoWaiter (its tokens are never consumed);
/// one waited on but never signalled has the signalling unit kNoWaiter.
std::vector<SemChannel> entryChannels(const std::vector<Bundle> &bundles, uint32_t start);
/// Sets every entry symbol's map to entryChannels() (the assembler; hand-built programs).
void deriveEntryChannels(Program &p);
/// Each semaphore's waiting unit in `channels` (kNoWaiter for none; the first for two, which
/// the loader refuses).
std::array<uint8_t, kNumSems> semWaiters(const std::vector<SemChannel> &channels);

/// Bytes per element of a tensor dtype (i4x2: one byte holds two), 0 when unknown.
unsigned dtypeBytes(const std::string &dtype);

} // namespace mamba2::isa
