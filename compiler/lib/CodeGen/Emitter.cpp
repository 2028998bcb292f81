// The emitter: ovl -> overlay program (Emitter.h, docs/codegen.md).
#include "mamba2/CodeGen/Emitter.h"
#include "mamba2/CodeGen/Plan.h"
#include "mamba2/CodeGen/RowBlocks.h"

#include "Schedule.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/SsdChunk.h"
#include "mamba2/isa/Exec.h"
#include "mamba2/isa/Reference.h"
#include "mamba2/runtime/Container.h"
#include "mamba2/target/MatrixBanks.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <tuple>

namespace mamba2::codegen {
namespace {

using namespace mlir;
namespace f = isa::field;
using isa::Slot;
using isa::UopCode;

constexpr uint64_t kAlign = 64;
/// Ops a buffer the load unit fills stays reserved after its last use (see allocate()).
constexpr long kLoadCoolOps = 24;
/// The same with software pipelining (EmitOptions::pipelineLoads, entries emitted op by op):
/// the load unit runs ahead into the next iterations of a layer loop while the vector, SSM
/// and store units lag behind, and a load into a buffer they still read (a state the store
/// unit has yet to write back, a table a late vector op reads) stops the weight stream
/// behind it. The other buffers (activations, matmul outputs) are then reserved for some ops
/// after their last use too: a matmul whose output takes the place of a buffer a late vector
/// op still reads waits for it, and holds its weight tile's ring buffer meanwhile. Measured
/// on the 130M W8A8 decode on the U280 (docs/codegen.md "Layer loops"); allocate() falls
/// back to kLoadCoolOps / 0 and then 0 / 0 where the pools do not fit.
constexpr long kPipelineCoolOps = 64;
constexpr long kPipelineOtherCoolOps = 12;
constexpr uint64_t kMaxRowb = (uint64_t(1) << f::udma::rowb.width) - 1;
constexpr uint64_t kMaxRows = (uint64_t(1) << f::udma::rows.width) - 1;
constexpr uint64_t kMaxDmaStride = (uint64_t(1) << f::udma::stride.width) - 1;
constexpr uint64_t kMaxRunStride = (uint64_t(1) << f::run::sdst.width) - 1;
constexpr uint64_t kMaxIters = (uint64_t(1) << f::run::iters.width) - 1;
constexpr uint64_t kMaxUlen = (uint64_t(1) << f::run::ulen.width) - 1;
constexpr uint64_t kMaxLen = (uint64_t(1) << f::uop::len.width) - 1;

uint64_t alignUp(uint64_t v, uint64_t a = kAlign) { return (v + a - 1) / a * a; }

/// An error that names the op, where it is and why; `rows` when it is that the entry's buffers
/// at its row count do not fit the scratchpad (fewer rows may).
struct EmitError {
  std::string msg;
  bool rows = false;
};
[[noreturn]] void fail(Operation *op, const llvm::Twine &why, bool rows = false) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (op) {
    os << "'" << op->getName() << "' at ";
    op->getLoc().print(os);
    os << ": ";
  }
  os << why;
  throw EmitError{os.str(), rows};
}

/// The integer values of a constant (i8 or i32), row-major.
std::vector<int32_t> constValues(ovl::ConstantOp c) {
  auto type = cast<ShapedType>(c.getValue().getType());
  const int64_t n = type.getNumElements();
  std::vector<int32_t> v;
  v.reserve(size_t(n));
  if (auto d = dyn_cast<DenseIntElementsAttr>(c.getValue())) {
    for (const APInt &x : d.getValues<APInt>())
      v.push_back(int32_t(x.getSExtValue()));
    return v;
  }
  if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob)
      fail(c, "its resource holds no data");
    ArrayRef<char> raw = blob->getData();
    const unsigned es = type.getElementType().isInteger(8) ? 1 : 4;
    if (raw.size() != size_t(n) * es)
      fail(c, "its resource holds " + std::to_string(raw.size()) + " bytes, expected " +
                  std::to_string(size_t(n) * es));
    v.resize(size_t(n));
    if (es == 1) {
      const auto *b = reinterpret_cast<const int8_t *>(raw.data());
      for (int64_t i = 0; i < n; ++i)
        v[size_t(i)] = b[i];
    } else {
      std::memcpy(v.data(), raw.data(), size_t(n) * 4);
    }
    return v;
  }
  fail(c, "value is neither dense integer elements nor a dense resource");
}

unsigned elemBytes(Type t) {
  auto st = cast<ShapedType>(t);
  return st.getElementType().isInteger(8) ? 1 : 4;
}

/// A 2-D view of scratchpad bytes: row r, column c at buffer base + off + r*rstride + c*esize.
struct View {
  int buf = -1;
  uint64_t off = 0;
  uint64_t rstride = 0;
  int64_t rows = 0, cols = 0;
  unsigned esize = 4;
  bool contiguous() const { return rows <= 1 || rstride == uint64_t(cols) * esize; }
};

struct Buffer {
  uint64_t bytes = 0;
  long start = 0, end = 0;
  uint64_t addr = 0;
  bool fixed = false;
  bool loadTarget = false; // filled by the load unit (constants, states, input rows)
  // Placed `followOff` bytes after buffer `follows` (one allocation: ssmstep reads C at a fixed
  // offset after B); `follower` is the buffer placed after this one.
  int follows = -1, follower = -1;
  uint64_t followOff = 0;
};

/// One loop dimension of a run: count and the per-role byte steps (dst, src0, src1, src2).
struct Dim {
  uint64_t n = 1;
  std::array<uint64_t, 4> step{};
};

/// Program-wide state shared by the entry points: DRAM images, microcode.
struct ProgramBuilder {
  isa::Program prog;
  std::map<std::vector<uint64_t>, uint32_t> ucodeIndex;
  /// Addresses only (EmitOptions::probe): put() writes nothing.
  bool dry = false;

  uint64_t alloc(unsigned region, uint64_t bytes) {
    auto &r = prog.regions[region];
    uint64_t at = alignUp(r.size);
    r.size = at + bytes;
    return at;
  }
  void put(uint64_t at, const std::vector<uint8_t> &bytes) {
    if (dry)
      return;
    auto &img = prog.regions[0].init;
    if (img.size() < at + bytes.size())
      img.resize(at + bytes.size());
    std::copy(bytes.begin(), bytes.end(), img.begin() + long(at));
  }
  uint32_t ucode(const std::vector<isa::UopWord> &words) {
    std::vector<uint64_t> key;
    for (const auto &w : words)
      key.insert(key.end(), w.w.begin(), w.w.end());
    auto it = ucodeIndex.find(key);
    if (it != ucodeIndex.end())
      return it->second;
    uint32_t at = uint32_t(prog.ucode.size());
    prog.ucode.insert(prog.ucode.end(), words.begin(), words.end());
    ucodeIndex[key] = at;
    return at;
  }
};

/// Bytes of a constant as the overlay reads it.
std::vector<uint8_t> constBytes(const std::vector<int32_t> &v, unsigned es) {
  std::vector<uint8_t> b(v.size() * es);
  for (size_t i = 0; i < v.size(); ++i)
    for (unsigned k = 0; k < es; ++k)
      b[i * es + k] = uint8_t(uint32_t(v[i]) >> (8 * k));
  return b;
}

/// The DRAM layout of the model, shared by both entries.
struct Layout {
  llvm::DenseMap<Value, uint64_t> constAt; // const region offsets of small constants
  struct Mat {
    uint64_t at = 0;    // tile-interleaved: per tile [nt][Kb] weights then [nt][G] i32 scales
    uint64_t nt = 0;    // rows per tile
    uint64_t kb = 0;    // bytes per weight row
    uint64_t pitch = 0; // bytes from one weight row to the next (padded, see layoutProgram)
    uint64_t g = 0;     // groups
    uint64_t k = 0, group = 0; // the micro-op's K and group
  };
  llvm::DenseMap<Operation *, Mat> mats;
  std::vector<uint64_t> stateAt; // per function argument (0 = ids)
  uint64_t xAt = 0, logitsAt = 0;
  int64_t dModel = 0, vocab = 0;
  FusePlan fuse;          // the groups run fused (recorded by ovl-fuse or computed)
  TilePlan tiles;         // the ring and the matmuls' tiles (recorded by ovl-tile or computed)
  uint64_t ringBytes = 0; // one weight tile buffer
  unsigned ringCount = 2; // the ring's buffers at least
  unsigned ringMax = 2;   // grown into free scratchpad space up to this many
  bool pipeline = true;   // EmitOptions::pipelineLoads
  /// The decode entry's own function (ovl-decode-function's split clone of @main; null: the
  /// decode lowers @main too): its weight ring and its states' offsets, which are @main's
  /// state bytes cut in column order (layoutProgram checks it).
  struct Entry {
    Operation *fn = nullptr;
    std::vector<uint64_t> stateAt;
    uint64_t ringBytes = 0;
    unsigned ringCount = 2, ringMax = 2;
  } decode;
  /// The chunked SSD ops' recipe constants (ssd::Buffer::Const): by op and buffer index, the
  /// const region offset and the values laid out there.
  std::map<std::pair<Operation *, int>, std::pair<uint64_t, std::vector<int32_t>>> ssdConsts;
};

/// The recipe of one call of `rows` rows of a chunked SSD op (ssd::buildRecipe), or an error
/// naming the op when its shifts do not fit the micro-ops.
ssd::Recipe ssdRecipe(ovl::SsdChunkOp o, int64_t rows) {
  auto st = cast<RankedTensorType>(o.getState().getType());
  ssd::ChunkShape s;
  s.heads = st.getDimSize(0);
  s.headDim = st.getDimSize(1);
  s.dState = st.getDimSize(2);
  s.groups = int64_t(o.getNgroups());
  s.rows = rows;
  s.chunk = int64_t(o.getChunk());
  ssd::ChunkShifts sh;
  sh.decay = int(o.getDecayShift());
  sh.gd = int(o.getGdShift());
  sh.md = int(o.getMdShift());
  sh.mSplit = int(o.getMSplit());
  sh.yShift = int(o.getYShift());
  sh.stateSplit = int(o.getStateSplit());
  sh.cShift = int(o.getCShift());
  sh.wShift = int(o.getWShift());
  sh.bwShift = int(o.getBwShift());
  sh.bwSplit = int(o.getBwSplit());
  sh.sShift = int(o.getSShift());
  for (int64_t e : o.getMultExp())
    sh.multExp.push_back(int(e));
  if (std::string e = ssd::checkShifts(s, sh); !e.empty())
    fail(o, "its chunked form does not fit the micro-ops: " + e);
  return ssd::buildRecipe(s, sh);
}

/// Lowers one entry point (rows T): plans buffers, allocates them, emits the instruction list.
class EntryEmitter {
public:
  EntryEmitter(func::FuncOp fn, const target::Board &board, ProgramBuilder &pb, Layout &lay,
               unsigned rows, std::vector<long> layers = {}, unsigned rowBlocks = 1,
               bool blockLayersAlike = false)
      : fn_(fn), board_(board), pb_(pb), lay_(lay), T_(rows), layers_(std::move(layers)),
        alike_(blockLayersAlike) {
    if (lay.decode.fn && fn.getOperation() == lay.decode.fn) { // the decode's own function
      ringBytes_ = lay.decode.ringBytes;
      ringMin_ = lay.decode.ringCount;
      ringMax_ = lay.decode.ringMax;
      stateAt_ = &lay.decode.stateAt;
    }
    planRowBlocks(rowBlocks);
  }
  /// Software pipelining: the ring runs on across the layers where it can (ringRunsOn);
  /// `allowRingRunOn(false)` before run() keeps the restart at each layer.
  void allowRingRunOn(bool on) { runOnAllowed_ = on; }
  bool ringRanOn() const { return ringRunsOn_; }
  /// Whether the entry's layers are emitted in row blocks (planRowBlocks), and how many.
  bool rowBlocked() const { return !order_.empty(); }
  unsigned rowBlocks() const { return unsigned(blockViews_.size()); }

  /// Two walks over the ops: the first (plan) records buffers and their liveness, then the
  /// scratchpad is allocated, and the second walk emits instructions with real addresses.
  /// The planning walk and the buffers' placement (a RowsDoNotFit EmitError when they do not
  /// fit the scratchpad), without the emission.
  void place(uint64_t &spadPeak, unsigned &ringBuffers) {
    plan_ = true;
    walk();
    allocate(spadPeak);
    ringBuffers = ringCount_;
    ringRunsOn_ = ringRunsOn();
  }
  std::vector<Inst> run(uint64_t &spadPeak, unsigned &ringBuffers) {
    place(spadPeak, ringBuffers);
    plan_ = false;
    walk();
    Inst halt;
    halt.unit = Slot::Ctrl;
    halt.word.set(f::none::op, isa::op::ctrl::halt);
    insts_.push_back(halt);
    return std::move(insts_);
  }

private:
  func::FuncOp fn_;
  const target::Board &board_;
  ProgramBuilder &pb_;
  Layout &lay_;
  const unsigned T_;
  /// Op index bounds of the repeating layers (findLayers; empty: no layer loop). Their
  /// buffers are allocated alike (allocate()). In row blocks: the layers' windows of emission
  /// positions (planRowBlocks, layerWindows), so the repeating layers' blocks get the same
  /// addresses and their micro-ops the same words (one copy in the microcode store).
  std::vector<long> layers_;
  /// Row blocks: the layers' buffers allocated alike (layerWindows), so their micro-ops are
  /// stored once; the blocks' constants are not emitted as steps of their own.
  const bool alike_ = false;
  bool layersOff_ = false; // linearScan: no shared units (a buffer outlives its layer)
  bool plan_ = true;
  long opIdx_ = 0;
  std::vector<Buffer> bufs_;
  int nextBuf_ = 0;
  llvm::DenseMap<Value, View> views_;
  llvm::DenseMap<Value, View> consts_; // constants loaded in this entry
  std::map<std::pair<void *, void *>, View> convParams_;
  std::map<std::array<void *, 4>, View> convPwlParams_; // conv4pwl: table, w, bias, multiplier
  std::map<std::array<void *, 3>, View> pwlPairParams_; // pwlmulpwl: table 1, table 2, multiplier
  std::optional<View> normSumsq_; // the last sum of squares of the residual stream (lowerSumsq)
  llvm::DenseMap<Value, int> stateArg_; // buffer's argument index for loaded states
  std::vector<int> ringBufs_;
  unsigned ringNext_ = 0;
  /// Software pipelining (layerRingStart): the repeating layers' weight tiles (counted in the
  /// plan walk), the layer being walked, and whether the ring runs on across the layers.
  std::vector<unsigned> layerTiles_;
  long tileLayer_ = -1;
  bool ringRunsOn_ = false;
  bool runOnAllowed_ = true;
  unsigned ringCount_ = 0; // the ring's buffers in this entry (set by allocate)
  // The ring and the states of this entry's function (Layout: @main's, or the decode's own).
  uint64_t ringBytes_ = lay_.ringBytes;
  unsigned ringMin_ = lay_.ringCount, ringMax_ = lay_.ringMax;
  const std::vector<uint64_t> *stateAt_ = &lay_.stateAt;
  llvm::DenseMap<Operation *, long> opIndex_;
  /// weightTilePlace's answers by everything they depend on (ring buffer, activation address,
  /// pitch, scale bytes, K, group, rows, int4): the search walks every K step at up to
  /// `spadBanks` places, and a layer's tiles repeat these few shapes.
  std::map<std::array<uint64_t, 8>, uint64_t> tilePlaces_;
  std::vector<Inst> insts_;
  Operation *cur_ = nullptr;

  // Row blocks (planRowBlocks): the emission order of (op, block) steps, empty when the entry
  // is emitted op after op over all its rows.
  struct Step {
    Operation *op;
    long idx;                    // the op's index in the body
    int block;                   // -1: all rows
    int64_t r0, n;               // the block's first row and rows
    bool last;                   // the op's last block
    bool shared;                 // a result is read after the blocked ops: one buffer of all T rows
    int64_t sub0 = 0, subN = -1; // a scan's rows [sub0, sub0 + subN) of the block (-1: all)
  };
  std::vector<Step> order_;
  bool windowed_ = false; // lowering one row block of an op
  bool lastBlock_ = true; // ... its last one (states are stored back after it)
  bool sharedOp_ = false; // ... whose results are read after the blocked ops
  int block_ = -1;
  int64_t sub0_ = 0, subN_ = -1; // the scan's rows of the block in this step (-1: all)
  int64_t win0_ = 0, winRows_ = 0;
  long pos_ = 0;            // emission position: buffers' live ranges count in it
  std::vector<long> posOp_; // the op index at each position (messages)
  unsigned freshK_ = 0;     // fresh() calls within the current step
  std::map<std::pair<long, unsigned>, int> winBuf_; // (op, k-th fresh) -> its all-rows buffer
  std::map<std::tuple<long, int, unsigned>, int> scanBuf_; // (scan, block, k-th fresh) -> buffer
  llvm::DenseMap<Value, View> stateViews_;                 // states loaded in a blocked stage
  std::vector<llvm::DenseMap<Value, View>> blockViews_;    // per block: its values' views

  // ---- buffers ----
  int newBuffer(uint64_t bytes) {
    int id = nextBuf_++;
    if (plan_) {
      Buffer b;
      b.bytes = alignUp(std::max<uint64_t>(bytes, 1));
      b.start = b.end = pos_;
      bufs_.push_back(b);
    }
    return id;
  }
  void use(const View &v) {
    if (plan_ && v.buf >= 0)
      bufs_[size_t(v.buf)].end = std::max(bufs_[size_t(v.buf)].end, pos_);
  }
  uint64_t addr(const View &v) const { return bufs_[size_t(v.buf)].addr + v.off; }
  void markLoad(const View &v) {
    if (plan_)
      bufs_[size_t(v.buf)].loadTarget = true;
  }
  /// A new buffer of [rows][cols]. In a row block each block has buffers of its own rows,
  /// except an op whose results are read after the blocked ops: its buffers hold all T rows
  /// (allocated at the op's first block; the later blocks write their rows of it) and the view
  /// is the block's rows. `fixedRows` (constants, states) keeps the rows as given.
  View fresh(int64_t rows, int64_t cols, unsigned es, bool fixedRows = false) {
    View v;
    v.rows = rows;
    v.cols = cols;
    v.esize = es;
    v.rstride = uint64_t(cols) * es;
    if (windowed_ && sub0_ > 0) { // a scan's later rows: the buffers of its first step
      auto it = scanBuf_.find({opIdx_, block_, freshK_++});
      if (it == scanBuf_.end())
        fail(cur_, "internal: a scan's row step without its first");
      v.buf = it->second;
      use(v);
      return v;
    }
    if (windowed_ && subN_ >= 0 && !fixedRows) { // a scan's first rows
      v.buf = newBuffer(uint64_t(rows) * v.rstride);
      scanBuf_[{opIdx_, block_, freshK_++}] = v.buf;
      return v;
    }
    if (windowed_ && sharedOp_ && !fixedRows && rows == winRows_) {
      auto key = std::make_pair(opIdx_, freshK_++);
      auto it = winBuf_.find(key);
      v.buf = it != winBuf_.end() ? it->second : newBuffer(uint64_t(T_) * v.rstride);
      winBuf_[key] = v.buf;
      v.off = uint64_t(win0_) * v.rstride;
      use(v);
      return v;
    }
    v.buf = newBuffer(uint64_t(rows) * v.rstride);
    return v;
  }
  int64_t rowsOf(Value v) const {
    auto t = cast<RankedTensorType>(v.getType());
    return t.isDynamicDim(0) ? (windowed_ ? winRows_ : int64_t(T_)) : t.getDimSize(0);
  }
  static bool rowTensor(Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    return t && t.getRank() == 2 && t.isDynamicDim(0);
  }

  /// The layer (index into layers_) a buffer starts in, or -1.
  long layerOf(const Buffer &b) const {
    if (layers_.size() < 2 || b.start < layers_.front() || b.start >= layers_.back())
      return -1;
    return long(std::upper_bound(layers_.begin(), layers_.end(), b.start) - layers_.begin()) - 1;
  }
  /// The buffers of repeating layers (count, sizes, pool, live ranges relative to the layer's
  /// first op): per buffer, the earlier buffer whose address it takes (-1: its own). Op by op:
  /// the longest run of layers whose buffers all repeat, each taking the first layer's (a
  /// layer loop's iterations). In row blocks (layerWindows), where layers differ a little
  /// (the quantiser's per-layer constants): each layer's buffers matched in order to those of
  /// the earlier layer that has the most of them alike, the matches taking its addresses;
  /// never a buffer in `excluded` (its live range would overlap its template's).
  std::vector<long> repeatingLayers(const std::vector<size_t> &ids,
                                    const std::set<size_t> &excluded) const {
    std::vector<long> alias(bufs_.size(), -1);
    const long reps = layers_.empty() ? 0 : long(layers_.size()) - 1;
    std::vector<std::vector<size_t>> of(size_t(std::max(reps, 0L)));
    for (size_t i : ids)
      if (long r = layerOf(bufs_[i]); r >= 0)
        of[size_t(r)].push_back(i);
    auto key = [&](size_t i, long r) {
      const Buffer &x = bufs_[i];
      const long d = layers_[size_t(r)];
      return std::make_tuple(x.start - d, x.end - d, x.bytes, x.loadTarget);
    };
    auto same = [&](long r, long q) {
      const auto &a = of[size_t(r)], &b = of[size_t(q)];
      if (a.size() != b.size())
        return false;
      for (size_t k = 0; k < a.size(); ++k)
        if (key(a[k], r) != key(b[k], q))
          return false;
      return true;
    };
    if (rowBlocked()) {
      // Buffers of layers r and q alike, matched in order (both lists are by first use).
      auto match = [&](long r, long q, std::vector<std::pair<size_t, size_t>> *out) {
        const auto &a = of[size_t(r)], &b = of[size_t(q)];
        size_t n = 0;
        for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
          const auto ka = key(a[i], r), kb = key(b[j], q);
          if (ka == kb) {
            if (!excluded.count(a[i])) {
              ++n;
              if (out)
                out->push_back({a[i], b[j]});
            }
            ++i;
            ++j;
          } else if (ka < kb) {
            ++i;
          } else {
            ++j;
          }
        }
        return n;
      };
      for (long r = 1; r < reps; ++r) {
        long best = -1;
        size_t most = 0;
        for (long q = 0; q < r; ++q)
          if (size_t n = match(r, q, nullptr); n > most) {
            most = n;
            best = q;
          }
        if (best < 0)
          continue;
        std::vector<std::pair<size_t, size_t>> pairs;
        match(r, best, &pairs);
        for (auto [i, j] : pairs)
          alias[i] = alias[j] >= 0 ? alias[j] : long(j);
      }
      return alias;
    }
    std::pair<long, long> best{0, 0};
    for (long r = 0; r < reps;) {
      long n = 1;
      while (r + n < reps && same(r, r + n))
        ++n;
      if (n > best.second)
        best = {r, n};
      r += n;
    }
    if (best.second > 1)
      for (long r = best.first + 1; r < best.first + best.second; ++r)
        for (size_t k = 0; k < of[size_t(r)].size(); ++k)
          alias[of[size_t(r)][k]] = long(of[size_t(best.first)][k]);
    return alias;
  }

  /// First-fit scan of `ids` (by first op) in [0, limit): a buffer reuses space whose last use
  /// is more than `cool` ops before its first. The buffers of repeating layers (see
  /// repeatingLayers) are one allocation unit with the buffer they repeat: they take its
  /// address, and its live ranges are all of theirs. Returns the index of a buffer that does
  /// not fit (or -1) and the highest address used in `peak`.
  long linearScan(const std::vector<size_t> &ids, uint64_t limit, long cool, uint64_t &peak,
                  const std::set<size_t> &excluded = {}) {
    struct Unit {
      std::vector<size_t> bufs;
      std::vector<std::pair<long, long>> spans; // [first op, last op + cool], ascending
      uint64_t bytes = 0, addr = 0;
    };
    const std::vector<long> alias =
        layersOff_ ? std::vector<long>(bufs_.size(), -1) : repeatingLayers(ids, excluded);
    std::vector<Unit> units;
    std::map<size_t, size_t> unitOf; // buffer -> its unit
    for (size_t i : ids) {
      Buffer &b = bufs_[i];
      const std::pair<long, long> span{b.start, b.end + cool};
      if (alias[i] >= 0) {
        Unit &u = units[unitOf.at(size_t(alias[i]))];
        u.bufs.push_back(i);
        u.spans.push_back(span);
        continue;
      }
      unitOf[i] = units.size();
      Unit u;
      u.bufs.push_back(i);
      u.spans.push_back(span);
      u.bytes = b.bytes;
      units.push_back(std::move(u));
    }
    // A buffer live from one layer into the next cannot share one address with its copy: in
    // row blocks that copy keeps its own address, else no layer shares.
    std::set<size_t> more = excluded;
    for (const Unit &u : units)
      for (size_t m = 0; m + 1 < u.bufs.size(); ++m)
        if (bufs_[u.bufs[m]].end >= bufs_[u.bufs[m + 1]].start) {
          if (rowBlocked()) {
            more.insert(u.bufs[m + 1]);
            continue;
          }
          layersOff_ = true;
          long bad = linearScan(ids, limit, cool, peak);
          layersOff_ = false;
          return bad;
        }
    if (more.size() > excluded.size())
      return linearScan(ids, limit, cool, peak, more);
    auto overlap = [](const Unit &a, const Unit &b) {
      size_t x = 0, y = 0;
      while (x < a.spans.size() && y < b.spans.size()) {
        const auto &p = a.spans[x], &q = b.spans[y];
        if (p.first <= q.second && q.first <= p.second)
          return true;
        if (p.second < q.second)
          ++x;
        else
          ++y;
      }
      return false;
    };
    peak = 0;
    std::vector<size_t> placed; // sorted by address
    for (size_t k = 0; k < units.size(); ++k) {
      Unit &u = units[k];
      uint64_t at = 0;
      for (size_t a : placed) {
        if (!overlap(units[a], u))
          continue;
        if (at + u.bytes <= units[a].addr)
          break;
        at = std::max(at, alignUp(units[a].addr + units[a].bytes));
      }
      if (at + u.bytes > limit)
        return long(u.bufs.front());
      u.addr = at;
      for (size_t i : u.bufs)
        bufs_[i].addr = at;
      peak = std::max(peak, at + u.bytes);
      placed.insert(
          std::upper_bound(placed.begin(), placed.end(), k,
                           [&](size_t x, size_t y) { return units[x].addr < units[y].addr; }),
          k);
    }
    return -1;
  }

  /// Two pools below the weight ring: the buffers the load unit fills (constants, states, the
  /// input rows) at the top, reused only some ops after their last use so a load seldom waits
  /// for a recent reader (the load unit runs its queue in order: one waiting load holds back the
  /// weight tiles behind it); every other buffer first-fit from address 0.
  ///
  /// The weight ring then takes the space the two pools leave free, up to ringMax_ buffers:
  /// the load unit streams tiles of the next matmuls (they do not depend on activations) while
  /// the conv, SSM and vector work of the current layer runs, as far as the ring reaches.
  void allocate(uint64_t &peak) {
    const uint64_t spad = board_.spadBytes();
    uint64_t top = spad - uint64_t(ringMin_) * ringBytes_;
    for (int id : ringBufs_)
      bufs_[size_t(id)].fixed = true;
    // A buffer placed after another is allocated with it: one block over both lifetimes.
    for (Buffer &b : bufs_)
      if (b.follows >= 0) {
        Buffer &h = bufs_[size_t(b.follows)];
        h.start = std::min(h.start, b.start);
        h.end = std::max(h.end, b.end);
        h.bytes = std::max(h.bytes, b.followOff + b.bytes);
      }
    std::vector<size_t> loads, others;
    for (size_t i = 0; i < bufs_.size(); ++i)
      if (!bufs_[i].fixed && bufs_[i].follows < 0)
        (bufs_[i].loadTarget ? loads : others).push_back(i);
    auto byStart = [&](size_t a, size_t b) { return bufs_[a].start < bufs_[b].start; };
    std::stable_sort(loads.begin(), loads.end(), byStart);
    std::stable_sort(others.begin(), others.end(), byStart);
    long bad = -1;
    uint64_t peakB = 0, peakA = 0;
    // Software pipelining (op by op): longer reserves first, in both pools, then as before.
    const bool pipe = lay_.pipeline && order_.empty();
    const std::pair<long, long> tries[] = {
        {pipe ? kPipelineCoolOps : kLoadCoolOps, pipe ? kPipelineOtherCoolOps : 0},
        {kLoadCoolOps, 0},
        {0, 0}};
    for (auto [cool, otherCool] : tries) {
      bad = linearScan(loads, top, cool, peakB);
      if (bad >= 0)
        continue;
      bad = linearScan(others, top - peakB, otherCool, peakA);
      if (bad < 0)
        break;
    }
    if (bad >= 0) {
      const Buffer &b = bufs_[size_t(bad)];
      Operation *op = nullptr;
      long k = 0;
      const long at = size_t(b.start) < posOp_.size() ? posOp_[size_t(b.start)] : b.start;
      fn_.walk([&](Operation *o) {
        if (o->getParentOp() == fn_.getOperation() && k++ == at)
          op = o;
      });
      fail(op,
           llvm::formatv("its {0}-row buffers do not fit the scratchpad of {1}: a buffer of "
                         "{2} bytes, {3} bytes below the weight ring (spilling to the scratch "
                         "region is not implemented)",
                         T_, board_.name, b.bytes, top)
               .str(),
           /*rows=*/true);
    }
    ringCount_ = ringMin_;
    if (ringBytes_ > 0 && ringMax_ > ringCount_) {
      const uint64_t free = top - peakA - peakB;
      ringCount_ = unsigned(std::min<uint64_t>(ringMax_, ringCount_ + free / ringBytes_));
      top = spad - uint64_t(ringCount_) * ringBytes_;
    }
    for (size_t k = 0; k < ringBufs_.size(); ++k)
      bufs_[size_t(ringBufs_[k])].addr =
          top + uint64_t(std::min<size_t>(k, ringCount_ - 1)) * ringBytes_;
    for (size_t i : loads)
      bufs_[i].addr += top - peakB;
    for (Buffer &b : bufs_)
      if (b.follows >= 0)
        b.addr = bufs_[size_t(b.follows)].addr + b.followOff;
    peak = peakA + peakB + uint64_t(ringCount_) * ringBytes_;
  }

  // ---- instructions ----
  static void hull(std::vector<Access> &acc, const std::vector<isa::Extent> &a,
                   const std::vector<isa::Extent> &b) {
    for (size_t i = 0; i < a.size(); ++i) {
      Access x;
      x.space = 0;
      x.lo = uint64_t(std::min(a[i].addr, b[i].addr));
      x.hi = uint64_t(std::max(a[i].addr + int64_t(a[i].bytes), b[i].addr + int64_t(b[i].bytes)));
      x.write = a[i].write;
      if (x.hi > x.lo)
        acc.push_back(x);
    }
  }
  /// The ranges a run touches (first and last iteration hull per operand).
  std::vector<Access> accesses(const std::vector<isa::UopWord> &words, const isa::RunArgs &r,
                               const std::vector<uint64_t> &tableBytes) {
    std::vector<Access> acc;
    for (size_t k = 0; k < words.size(); ++k) {
      isa::UopArgs a = isa::resolveUop(words[k], r, 0),
                   b = isa::resolveUop(words[k], r, r.iters - 1);
      auto ea = isa::uopExtents(a), eb = isa::uopExtents(b);
      if ((a.op == UopCode::Pwl || a.op == UopCode::Rsqrt) && !ea.empty()) {
        ea.back().bytes = tableBytes[k];
        eb.back().bytes = tableBytes[k];
      }
      hull(acc, ea, eb);
      if (a.isDma()) {
        Access d;
        d.space = uint8_t(1 + a.region);
        d.lo = uint64_t(std::min(a.src1, b.src1));
        d.hi = uint64_t(std::max(a.src1, b.src1)) + uint64_t(a.rows - 1) * a.stride + a.rowb;
        d.write = a.op == UopCode::Store2d;
        acc.push_back(d);
      }
    }
    return acc;
  }
  void push(Slot unit, const isa::SlotWord &w, std::vector<Access> acc,
            std::vector<isa::UopWord> uops = {}) {
    if (plan_)
      return;
    Inst in;
    in.unit = unit;
    in.word = w;
    in.access = std::move(acc);
    in.op = opIdx_;
    in.uops = std::move(uops);
    if (cur_)
      in.what = cur_->getName().getStringRef().str();
    insts_.push_back(std::move(in));
  }
  static uint8_t runOp(Slot unit) {
    switch (unit) {
    case Slot::Load:
      return isa::op::load::run;
    case Slot::Store:
      return isa::op::store::run;
    case Slot::Matrix:
      return isa::op::matrix::run;
    case Slot::Vector:
      return isa::op::vector::run;
    default:
      return isa::op::ssm::run;
    }
  }
  /// One run of `words` (each with its base addresses) over `iters` iterations.
  void emitRunWords(Slot unit, const std::vector<isa::UopWord> &words, uint64_t iters,
                    const std::array<uint64_t, 4> &step, const std::vector<uint64_t> &tables) {
    if (plan_ || iters == 0 || words.empty())
      return;
    for (uint64_t s : step)
      if (s > kMaxRunStride)
        fail(cur_, "a run stride of " + std::to_string(s) + " bytes exceeds the ISA's " +
                       std::to_string(kMaxRunStride));
    for (size_t at = 0; at < words.size(); at += kMaxUlen) {
      std::vector<isa::UopWord> part(words.begin() + long(at),
                                     words.begin() + long(std::min(words.size(), at + kMaxUlen)));
      std::vector<uint64_t> ptab;
      if (!tables.empty())
        ptab.assign(tables.begin() + long(at), tables.begin() + long(at + part.size()));
      else
        ptab.assign(part.size(), 0);
      for (uint64_t it0 = 0; it0 < iters; it0 += kMaxIters) {
        uint64_t it = std::min(kMaxIters, iters - it0);
        std::vector<isa::UopWord> ws = part;
        if (it0)
          for (auto &w : ws)
            shiftRoles(w, step, it0);
        isa::RunArgs r;
        r.ulen = uint32_t(ws.size());
        r.iters = uint32_t(it);
        r.sdst = uint32_t(step[0]);
        r.ssrc0 = uint32_t(step[1]);
        r.ssrc1 = uint32_t(step[2]);
        r.ssrc2 = uint32_t(step[3]);
        auto acc = accesses(ws, r, ptab);
        isa::SlotWord w; // ustart: set when the micro-ops are placed (placeMicrocode)
        w.set(f::none::op, runOp(unit));
        w.set(f::run::ulen, int64_t(ws.size()));
        w.set(f::run::iters, int64_t(it));
        w.set(f::run::sdst, int64_t(step[0]));
        w.set(f::run::ssrc0, int64_t(step[1]));
        w.set(f::run::ssrc1, int64_t(step[2]));
        w.set(f::run::ssrc2, int64_t(step[3]));
        push(unit, w, std::move(acc), std::move(ws));
      }
    }
  }
  // Role fields of the three micro-op formats.
  static std::array<isa::BitField, 4> roles(const isa::UopWord &w) {
    auto code = UopCode(w.raw(f::uop::uop));
    if (code == UopCode::Gmm8 || code == UopCode::Gmm4 || code == UopCode::Mm8 ||
        code == UopCode::Mm4)
      return {f::umm::acc, f::umm::act, f::umm::wgt, f::umm::scl};
    if (code == UopCode::Load2d || code == UopCode::Store2d)
      return {f::udma::spad, isa::BitField{0, 0, false}, f::udma::dram, isa::BitField{0, 0, false}};
    return {f::uop::dst, f::uop::src0, f::uop::src1, f::uop::src2};
  }
  static void shiftRoles(isa::UopWord &w, const std::array<uint64_t, 4> &step, uint64_t k) {
    auto r = roles(w);
    for (unsigned i = 0; i < 4; ++i)
      if (r[i].width)
        w.set(r[i], int64_t(w.raw(r[i]) + k * step[i]));
  }
  /// A micro-op over a 2-D iteration space (outer x inner), `base` its iteration-0 word: one
  /// run when one dimension is 1 or the two collapse, else one word per element of the shorter
  /// dimension and the run's iterations over the longer.
  void emit2d(Slot unit, const isa::UopWord &base, Dim outer, Dim inner, uint64_t table = 0) {
    if (outer.n == 0 || inner.n == 0)
      return;
    if (inner.n == 1) {
      emitRunWords(unit, {base}, outer.n, outer.step, {table});
      return;
    }
    if (outer.n == 1) {
      emitRunWords(unit, {base}, inner.n, inner.step, {table});
      return;
    }
    bool collapse = true;
    for (unsigned i = 0; i < 4; ++i)
      collapse &= outer.step[i] == inner.n * inner.step[i];
    if (collapse) {
      emitRunWords(unit, {base}, outer.n * inner.n, inner.step, {table});
      return;
    }
    Dim wd = outer, id = inner;
    if (inner.n < outer.n)
      std::swap(wd, id);
    bool fits = true;
    for (uint64_t s : id.step)
      fits &= s <= kMaxRunStride;
    if (!fits)
      std::swap(wd, id);
    std::vector<isa::UopWord> words;
    for (uint64_t k = 0; k < wd.n; ++k) {
      isa::UopWord w = base;
      shiftRoles(w, wd.step, k);
      words.push_back(w);
    }
    emitRunWords(unit, words, id.n, id.step, std::vector<uint64_t>(words.size(), table));
  }

  /// DMA between a contiguous scratchpad range and DRAM rows (`rows` rows of `rowb` bytes,
  /// `stride` apart in DRAM).
  void dma(Slot unit, unsigned region, uint64_t dram, uint64_t stride, uint64_t spad, uint64_t rows,
           uint64_t rowb) {
    if (plan_ || rows == 0 || rowb == 0)
      return;
    if (stride == rowb) { // contiguous: choose the fewest words
      uint64_t bytes = rows * rowb;
      rows = 1;
      rowb = bytes;
      if (bytes > kMaxRowb) {
        uint64_t best = 0;
        for (uint64_t c = kMaxRowb; c >= 1 && c * kMaxRows >= bytes; --c)
          if (bytes % c == 0) {
            best = c;
            break;
          }
        if (best) {
          rowb = best;
          rows = bytes / best;
        } else {
          rowb = kMaxRowb;
          rows = 0; // split below
        }
      }
      stride = rowb;
      if (rows == 0) {
        std::vector<isa::UopWord> words;
        for (uint64_t at = 0; at < bytes; at += kMaxRowb) {
          uint64_t n = std::min(kMaxRowb, bytes - at);
          words.push_back(dmaWord(unit, region, dram + at, n, spad + at, 1, n));
        }
        emitRunWords(unit, words, 1, {}, {});
        return;
      }
    }
    if (rowb > kMaxRowb)
      fail(cur_, "a DMA row of " + std::to_string(rowb) + " bytes exceeds the ISA's " +
                     std::to_string(kMaxRowb));
    if (stride > kMaxDmaStride)
      fail(cur_, "a DRAM row stride of " + std::to_string(stride) + " bytes exceeds the ISA's " +
                     std::to_string(kMaxDmaStride));
    std::vector<isa::UopWord> words;
    for (uint64_t r = 0; r < rows; r += kMaxRows) {
      uint64_t n = std::min(kMaxRows, rows - r);
      words.push_back(dmaWord(unit, region, dram + r * stride, stride, spad + r * rowb, n, rowb));
    }
    if (words.size() == 1) { // the macro shortcut: no store word
      isa::SlotWord w;
      const isa::UopWord &u = words[0];
      w.set(f::none::op, unit == Slot::Load ? isa::op::load::dma : isa::op::store::dma);
      w.set(f::xfer::spad, int64_t(u.raw(f::udma::spad)));
      w.set(f::xfer::region, int64_t(region));
      w.set(f::xfer::dram, int64_t(u.raw(f::udma::dram)));
      w.set(f::xfer::rows, int64_t(u.raw(f::udma::rows)));
      w.set(f::xfer::rowb, int64_t(u.raw(f::udma::rowb)));
      w.set(f::xfer::stride, int64_t(u.raw(f::udma::stride)));
      isa::RunArgs r;
      r.ulen = r.iters = 1;
      push(unit, w, accesses(words, r, {0}));
      return;
    }
    emitRunWords(unit, words, 1, {}, {});
  }
  static isa::UopWord dmaWord(Slot unit, unsigned region, uint64_t dram, uint64_t stride,
                              uint64_t spad, uint64_t rows, uint64_t rowb) {
    isa::UopWord u;
    u.set(f::udma::uop, int64_t(unit == Slot::Load ? UopCode::Load2d : UopCode::Store2d));
    u.set(f::udma::spad, int64_t(spad));
    u.set(f::udma::region, int64_t(region));
    u.set(f::udma::dram, int64_t(dram));
    u.set(f::udma::rows, int64_t(rows));
    u.set(f::udma::rowb, int64_t(rowb));
    u.set(f::udma::stride, int64_t(stride));
    return u;
  }
  static isa::UopWord uop(UopCode c, uint64_t dst, uint64_t s0, uint64_t s1, uint64_t s2,
                          uint64_t len, int64_t p0 = 0, int64_t p1 = 0, int64_t p2 = 0) {
    isa::UopWord u;
    u.set(f::uop::uop, int64_t(c));
    u.set(f::uop::dst, int64_t(dst));
    u.set(f::uop::src0, int64_t(s0));
    u.set(f::uop::src1, int64_t(s1));
    u.set(f::uop::src2, int64_t(s2));
    u.set(f::uop::len, int64_t(len));
    u.set(f::uop::p0, p0);
    u.set(f::uop::p1, p1);
    u.set(f::uop::p2, p2);
    return u;
  }

  // ---- operands ----
  /// A constant loaded into the scratchpad (once per entry), as a 2-D view.
  View constView(Value v) {
    auto c = v.getDefiningOp<ovl::ConstantOp>();
    auto it = consts_.find(v);
    if (it != consts_.end()) {
      use(it->second);
      return it->second;
    }
    auto t = cast<RankedTensorType>(v.getType());
    const unsigned es = elemBytes(t);
    int64_t rows = t.getRank() == 2 ? t.getDimSize(0) : 1;
    int64_t cols = t.getRank() == 2 ? t.getDimSize(1) : t.getNumElements();
    View view = fresh(rows, cols, es, true);
    markLoad(view);
    if (!plan_)
      dma(Slot::Load, 0, lay_.constAt.lookup(v), uint64_t(rows) * cols * es, addr(view), 1,
          uint64_t(rows) * cols * es);
    (void)c;
    consts_[v] = view;
    return view;
  }
  /// The view of an operand: an activation, a loaded constant or a loaded state.
  View operand(Value v) {
    if (v.getDefiningOp<ovl::ConstantOp>())
      return constView(v);
    if (windowed_)
      if (auto bt = blockViews_[size_t(block_)].find(v); bt != blockViews_[size_t(block_)].end()) {
        use(bt->second);
        return bt->second;
      }
    auto it = views_.find(v);
    if (it == views_.end()) {
      if (auto a = dyn_cast<BlockArgument>(v))
        fail(cur_, "function argument " + std::to_string(a.getArgNumber()) +
                       " is used directly; only ovl.embed reads the ids and only conv4 / ssm "
                       "read a state");
      fail(cur_, "an operand is not produced by an op the emitter handles");
    }
    use(it->second);
    View w = it->second;
    if (windowed_ && rowTensor(v) && w.rows == int64_t(T_)) { // the block's rows
      w.off += uint64_t(win0_) * w.rstride;
      w.rows = winRows_;
    }
    return w;
  }
  /// The row stride of `v` when broadcast against `rows` rows.
  static uint64_t rstep(const View &v, int64_t rows) {
    return v.rows == 1 && rows > 1 ? 0 : v.rstride;
  }

  /// A state argument loaded into the scratchpad, updated in place by its op.
  View stateView(Value v) {
    auto a = dyn_cast<BlockArgument>(v);
    if (!a || a.getOwner()->getParentOp() != fn_.getOperation())
      fail(cur_, "its state operand is not a function argument (states are the function's "
                 "arguments, each updated by one op)");
    if (!a.hasOneUse())
      fail(cur_, "state argument " + std::to_string(a.getArgNumber()) +
                     " has more than one use; it is updated in place");
    if (windowed_) // a later row block: the state its first block loaded
      if (auto it = stateViews_.find(v); it != stateViews_.end()) {
        use(it->second);
        return it->second;
      }
    auto t = cast<RankedTensorType>(v.getType());
    const unsigned es = elemBytes(t);
    uint64_t bytes = uint64_t(t.getNumElements()) * es;
    View view = fresh(1, int64_t(bytes / es), es, true);
    if (windowed_)
      stateViews_[v] = view;
    markLoad(view);
    if (!plan_)
      dma(Slot::Load, 2, (*stateAt_)[a.getArgNumber()], bytes, addr(view), 1, bytes);
    stateArg_[v] = int(a.getArgNumber());
    return view;
  }

  /// Writes an updated state back to its tensor right after the op (its buffer dies there).
  void storeState(Value newState, const View &s) {
    const uint64_t bytes = uint64_t(s.cols) * s.esize;
    if (!plan_ && lastBlock_) // row blocks: after the last one
      dma(Slot::Store, 2, (*stateAt_)[size_t(stateArg_[newState])], bytes, addr(s), 1, bytes);
  }

  // ---- ops ----
  void walk() {
    nextBuf_ = 0;
    opIdx_ = 0;
    pos_ = 0;
    posOp_.clear();
    winBuf_.clear();
    scanBuf_.clear();
    stateViews_.clear();
    for (auto &m : blockViews_)
      m.clear();
    views_.clear();
    consts_.clear();
    convParams_.clear();
    convPwlParams_.clear();
    pwlPairParams_.clear();
    normSumsq_.reset();
    ringNext_ = 0;
    tileLayer_ = -1;
    // The weight ring: buffers 0 .. ringMax-1 (allocate uses the first ringCount_).
    ringBufs_.clear();
    for (unsigned i = 0; i < std::max(ringMin_, ringMax_); ++i) {
      int id = newBuffer(ringBytes_);
      ringBufs_.push_back(id);
    }
    if (!order_.empty()) {
      for (const Step &s : order_) {
        layerRingStart(pos_);
        lowerStep(s);
      }
      cur_ = nullptr;
      windowed_ = false;
      lastBlock_ = true;
      return;
    }
    for (Operation &op : fn_.getBody().front()) {
      cur_ = &op;
      layerRingStart(opIdx_);
      posOp_.push_back(opIdx_);
      lower(op);
      ++opIdx_;
      ++pos_;
    }
    cur_ = nullptr;
  }

  /// Each repeating layer (starting at `at`, an op index, or a position in row blocks) starts
  /// at ring buffer 0, so the ring's position repeats from layer to layer (a layer loop's
  /// iterations load the same buffers; row blocks' layers get the same micro-ops).
  ///
  /// Software pipelining (EmitOptions::pipelineLoads, entries emitted op by op): the ring
  /// runs on across the layers instead. Restarting at buffer 0 puts the next layer's first
  /// tile in the buffer of a tile `ring` or fewer before it (the out_proj's, when the layer's
  /// tiles are not a multiple of the ring), and the load unit, which runs its queue in order,
  /// waits for that tile's matmul, one of the layer's last; running on, every tile's buffer
  /// is the one of the tile `ring` before it. The layers' tiles then take the same buffers
  /// every `ring / gcd(tiles, ring)` layers: foldLayers loops over blocks of that many
  /// layers (130M decode on the U280: 10 tiles a layer, 4 buffers, 12 iterations of 2 layers).
  void layerRingStart(long at) {
    if (layers_.size() > 2 && at >= layers_.front() && at < layers_.back() &&
        std::binary_search(layers_.begin(), layers_.end(), at)) {
      tileLayer_ = long(std::upper_bound(layers_.begin(), layers_.end(), at) - layers_.begin()) - 1;
      if (ringCount_ > 0 && !ringRunsOn_)
        ringNext_ = (ringNext_ + ringCount_ - 1) / ringCount_ * ringCount_;
    } else if (!layers_.empty() && at >= layers_.back()) {
      tileLayer_ = -1;
    }
  }
  /// Whether the ring runs on across the repeating layers (layerRingStart): pipelining on, op
  /// by op, every layer with the same tiles, and their buffers repeating every p =
  /// ring / gcd(tiles, ring) <= 4 layers (foldLayers' blocks), at least two blocks of them;
  /// else each layer restarts the ring (one layer an iteration). emitOnce keeps the restart
  /// where the blocks would loop over fewer layers.
  bool ringRunsOn() const {
    const size_t L = layers_.size() < 3 ? 0 : layers_.size() - 1;
    if (!lay_.pipeline || !runOnAllowed_ || !order_.empty() || L == 0 || ringCount_ == 0 ||
        layerTiles_.size() != L)
      return false;
    const unsigned T = layerTiles_.front();
    for (unsigned t : layerTiles_)
      if (t != T || t == 0)
        return false;
    const unsigned p = ringCount_ / std::gcd(T, ringCount_);
    return p > 1 && p <= 4 && L >= 2 * p;
  }

  /// One step of a row-blocked entry: the op over its block's rows (or all rows). Results that
  /// are row tensors are kept as views of all T rows, so a later step of another block finds
  /// its own rows (operand()).
  void lowerStep(const Step &s) {
    cur_ = s.op;
    opIdx_ = s.idx;
    windowed_ = s.block >= 0;
    lastBlock_ = s.last;
    sharedOp_ = s.shared;
    block_ = s.block;
    sub0_ = s.sub0;
    subN_ = s.subN;
    win0_ = windowed_ ? s.r0 : 0;
    winRows_ = windowed_ ? s.n : int64_t(T_);
    freshK_ = 0;
    posOp_.push_back(opIdx_);
    lower(*s.op);
    if (windowed_) {
      llvm::SmallVector<Value, 4> results(s.op->getResults());
      // A pwlmulpwl group's first pwl: its result is written at the group's second pwl
      // (lowerPwlMulPwl), so it is this step's too.
      if (auto it = lay_.fuse.pwlPairOf.find(s.op); it != lay_.fuse.pwlPairOf.end())
        results.append(it->second.first->result_begin(), it->second.first->result_end());
      for (Value r : results) {
        auto it = views_.find(r);
        if (it == views_.end() || !rowTensor(r) || it->second.rows != winRows_)
          continue;
        if (!sharedOp_) { // the block's own
          blockViews_[size_t(block_)][r] = it->second;
          views_.erase(it);
          continue;
        }
        it->second.off -= uint64_t(win0_) * it->second.rstride;
        it->second.rows = int64_t(T_);
      }
    }
    ++pos_;
  }

  /// The order with 4 or more blocks: blocks in sequence over the scans (g = scan * nb + b),
  /// block g's stages A in period g - 2, B in g - 1, S in g, Q in g + 1. In period g the scan's
  /// rows are emitted one at a time, and after each row one segment of that period's other
  /// stages (A of g + 2, Q of g - 1, B of g + 1, each cut after its ops on the SSM unit), so the
  /// small SSM-unit ops (tables, rsqrt) of those chains run between the scan's rows and their
  /// vector work during the scan. A block's stages keep their order (also across layers, with
  /// nb >= 4: A of the next layer's block comes at least one period after its Q).
  template <class Stage>
  void interleaveRows(const std::vector<Operation *> &ops, const std::vector<Stage> &stages,
                      const llvm::DenseSet<Operation *> &shared, int64_t nb, int64_t bs) {
    const int64_t G = int64_t(stages.size() / 4) * nb; // blocks in sequence: g = scan * nb + b
    auto rowsOfBlock = [&](int64_t g) { return std::min(bs, int64_t(T_) - (g % nb) * bs); };
    auto push = [&](int64_t g, long lo, long hi, int64_t sub0, int64_t subN, bool last) {
      const int64_t b = g % nb;
      for (long i = lo; i < hi; ++i)
        if (!alike_ || !llvm::isa<ovl::ConstantOp>(ops[size_t(i)])) // loaded at their uses
          order_.push_back({ops[size_t(i)], i, int(b), b * bs, rowsOfBlock(g), last,
                            shared.contains(ops[size_t(i)]), sub0, subN});
    };
    struct Seg {
      int64_t g;
      long lo, hi;
    };
    // A stage's ops of block g cut after each op on the SSM unit (pwl, rsqrt).
    auto segs = [&](int64_t g, int kind, std::vector<Seg> &out) {
      if (g < 0 || g >= G)
        return;
      const Stage &st = stages[size_t((g / nb) * 4 + kind)];
      long lo = st.lo;
      for (long i = st.lo; i < st.hi; ++i)
        if (llvm::isa<ovl::PwlOp, ovl::RsqrtOp>(ops[size_t(i)])) {
          out.push_back({g, lo, i + 1});
          lo = i + 1;
        }
      if (lo < st.hi)
        out.push_back({g, lo, st.hi});
    };
    auto emitSeg = [&](const Seg &sg) { push(sg.g, sg.lo, sg.hi, 0, -1, sg.g % nb == nb - 1); };
    std::vector<Seg> pro;
    segs(0, 0, pro);
    segs(1, 0, pro);
    segs(0, 1, pro);
    for (const Seg &sg : pro)
      emitSeg(sg);
    for (int64_t g = 0; g < G; ++g) {
      std::vector<Seg> gap; // (measured: A Q B before Q A B and the others)
      segs(g + 2, 0, gap);
      segs(g - 1, 3, gap);
      segs(g + 1, 1, gap);
      const Stage &sc = stages[size_t((g / nb) * 4 + 2)];
      const int64_t rows = rowsOfBlock(g);
      size_t k = 0;
      if (llvm::isa<ovl::SsdChunkOp>(ops[size_t(sc.lo)])) // the block's chunks in one step
        push(g, sc.lo, sc.hi, 0, -1, g % nb == nb - 1);
      for (int64_t t = 0; t < rows && !llvm::isa<ovl::SsdChunkOp>(ops[size_t(sc.lo)]); ++t) {
        push(g, sc.lo, sc.hi, t, 1, g % nb == nb - 1 && t == rows - 1);
        if (k < gap.size())
          emitSeg(gap[k++]);
      }
      for (; k < gap.size(); ++k)
        emitSeg(gap[k]);
    }
    std::vector<Seg> epi;
    segs(G - 1, 3, epi);
    for (const Seg &sg : epi)
      emitSeg(sg);
  }

  /// Row blocks (prefill, `EmitOptions::prefillRowBlocks`): the ops after the embedding are
  /// cut into stages around each SSM scan: A (up to and including the last matmul before the
  /// scan: residual add, norm, in_proj), B (the rest up to the scan: conv, SiLU, dt), S (the
  /// scan) and Q (after it, up to and including the next matmul: D skip, gated norm,
  /// out_proj). Each stage is emitted once per block of rows, the steps ordered by a key (see
  /// below) so that each unit's in-order queue holds the next block's in_proj and the last
  /// blocks' out_proj while the SSM unit scans, and the next layer's first block follows this
  /// layer's last (a wavefront over layers). Rows are independent in every op but the conv and
  /// the scan, whose blocks run in order, and each block's stages stay in op order, so the
  /// result is the same. Not for a body with ops outside these forms (then op by op).
  void planRowBlocks(unsigned blocks) {
    if (T_ < 2 || blocks < 2)
      return;
    std::vector<Operation *> ops;
    for (Operation &op : fn_.getBody().front())
      ops.push_back(&op);
    std::vector<long> scans;
    int64_t chunkRows = 1; // the chunked SSD ops' chunks: each block whole chunks of each
    for (size_t i = 0; i < ops.size(); ++i) {
      if (llvm::isa<ovl::SsmOp, ovl::SsdChunkOp>(ops[i]))
        scans.push_back(long(i));
      if (auto c = llvm::dyn_cast<ovl::SsdChunkOp>(ops[i]))
        chunkRows = std::lcm(chunkRows, std::max<int64_t>(1, int64_t(c.getChunk())));
    }
    if (scans.empty())
      return;
    long start = 0; // after the embedding
    for (long i = 0; i < scans[0]; ++i)
      if (llvm::isa<ovl::EmbedOp>(ops[size_t(i)]))
        start = i + 1;
    struct Stage {
      long lo, hi; // ops [lo, hi)
      int kind;    // 0 A (up to in_proj), 1 B (to the scan), 2 S (the scan), 3 Q (after it)
      size_t scan;
    };
    std::vector<Stage> stages;
    long lo = start;
    for (size_t i = 0; i < scans.size(); ++i) {
      const long s = scans[i], next = i + 1 < scans.size() ? scans[i + 1] : long(ops.size());
      long in = lo; // A: up to the last matmul before the scan
      for (long k = lo; k < s; ++k)
        if (llvm::isa<ovl::MatmulOp>(ops[size_t(k)]))
          in = k + 1;
      long hi = i + 1 < scans.size() ? next : s + 1;
      for (long k = s + 1; k < next; ++k)
        if (auto mm = llvm::dyn_cast<ovl::MatmulOp>(ops[size_t(k)]); mm && !streamsLogits(mm)) {
          hi = k + 1;
          break;
        }
      stages.push_back({lo, in, 0, i});
      stages.push_back({in, s, 1, i});
      stages.push_back({s, s + 1, 2, i});
      stages.push_back({s + 1, hi, 3, i});
      lo = hi;
    }
    const long end = lo;
    llvm::DenseSet<Operation *> shared; // ops whose results are read after `end`
    for (long i = start; i < end; ++i) {
      Operation *op = ops[size_t(i)];
      if (llvm::isa<ovl::EmbedOp, func::ReturnOp>(op) ||
          (llvm::isa<ovl::MulOp, ovl::AddOp, ovl::ShiftOp, ovl::SliceOp>(op) && inLogitsChain(op)))
        return;
      if (llvm::isa<ovl::ConstantOp>(op))
        continue;
      for (Value r : op->getResults()) {
        if (!rowTensor(r) && llvm::isa<ovl::Conv4Op, ovl::SsmOp, ovl::SsdChunkOp>(op))
          continue; // the new state
        if (!rowTensor(r))
          return; // e.g. a [1][C] result: not a per-row op
        for (Operation *u : r.getUsers()) {
          auto ui = std::find(ops.begin(), ops.end(), u);
          const long at = long(ui - ops.begin());
          if (at >= start && at < end)
            continue;
          if (llvm::isa<ovl::SliceOp, ovl::SsmOp, ovl::SsdChunkOp>(op) || ui == ops.end())
            return; // a view of a block's buffer read after the blocked ops
          shared.insert(op);
        }
      }
    }
    // A pwlmulpwl group writes its first pwl's result at its second: one buffer of all T rows
    // for both where the first's is read after the blocked ops.
    for (auto &[anchor, pair] : lay_.fuse.pwlPairOf)
      if (shared.contains(pair.first))
        shared.insert(anchor);
    // A chunked SSD op's state carries from block to block, its recipe chunks from the block's
    // first row: blocks of whole chunks (the last one may end in the call's last, shorter
    // chunk), so that the chunks are the call's as the evaluator runs them.
    const int64_t bs =
                      ((int64_t(T_) + blocks - 1) / blocks + chunkRows - 1) / chunkRows * chunkRows,
                  nb = (int64_t(T_) + bs - 1) / bs;
    if (nb < 2)
      return;
    struct Item {
      size_t stage;
      int64_t block, key;
    };
    std::vector<Item> items;
    // Keys (block b of the scan's stages, scan i): A 4b - 3, B 4b - 1, S 4b + 2, Q 4b + 4,
    // plus i * max(4 nb, 12), so each block's stages and layers stay in order (Q_i(b) < A_i+1(b))
    // and one layer's scans follow the previous layer's (measured: docs/codegen.md).
    static constexpr int64_t kKindKey[] = {-3, -1, 2, 4};
    const int64_t layerKey = std::max<int64_t>(4 * nb, 12);
    for (size_t k = 0; k < stages.size(); ++k)
      for (int64_t b = 0; b < nb; ++b)
        items.push_back(
            {k, b, int64_t(stages[k].scan) * layerKey + kKindKey[stages[k].kind] + 4 * b});
    std::stable_sort(items.begin(), items.end(), [&](const Item &a, const Item &b) {
      if (a.key != b.key)
        return a.key < b.key;
      return a.block > b.block;
    });
    auto plain = [&](long i) {
      order_.push_back({ops[size_t(i)], i, -1, 0, int64_t(T_), true, false});
    };
    for (long i = 0; i < start; ++i)
      plain(i);
    if (nb >= 4) {
      interleaveRows(ops, stages, shared, nb, bs);
      layerWindows();
      for (long i = end; i < long(ops.size()); ++i)
        plain(i);
      blockViews_.resize(size_t(nb));
      return;
    }
    for (const Item &it : items) {
      const Stage &st = stages[it.stage];
      const int64_t r0 = it.block * bs;
      for (long i = st.lo; i < st.hi; ++i)
        if (!alike_ || !llvm::isa<ovl::ConstantOp>(ops[size_t(i)])) // loaded at their uses
          order_.push_back({ops[size_t(i)], i, int(it.block), r0, std::min(bs, int64_t(T_) - r0),
                            it.block == nb - 1, shared.contains(ops[size_t(i)])});
    }
    layerWindows();
    for (long i = end; i < long(ops.size()); ++i)
      plain(i);
    blockViews_.resize(size_t(nb));
  }

  /// Row blocks: the layers as windows of emission positions, called when the blocked steps
  /// are in order_ (before the ops after them). A layer's window starts at the first row of
  /// block 0 of its first scan (a scan of no head group or of group 0: ovl-split-head-groups'
  /// `ovl.head_group`) and ends where the next layer's starts (the last one: after the blocked
  /// steps). Where the wavefront is steady, two windows hold the same steps a layer apart, so
  /// their buffers repeat (repeatingLayers) and get the same addresses (linearScan), and the
  /// layers' micro-ops are the same words, stored once: with head groups a layer has several
  /// scans, and the 130M prefill's blocks did not fit the microcode store otherwise (9,727
  /// words in 4 blocks).
  void layerWindows() {
    if (!alike_)
      return;
    std::vector<long> win;
    for (size_t p = 0; p < order_.size(); ++p) {
      const Step &s = order_[p];
      if (s.block != 0 || s.sub0 != 0 || !llvm::isa<ovl::SsmOp, ovl::SsdChunkOp>(s.op))
        continue;
      auto g = s.op->getAttrOfType<DenseI64ArrayAttr>("ovl.head_group");
      if (!g || g.empty() || g[0] == 0)
        win.push_back(long(p));
    }
    if (win.size() < 2)
      return;
    win.push_back(long(order_.size()));
    layers_ = std::move(win);
  }

  void lower(Operation &op) {
    if (llvm::isa<ovl::ConstantOp>(op))
      return; // loaded at their uses
    if (auto o = dyn_cast<ovl::EmbedOp>(op))
      return lowerEmbed(o);
    if (auto o = dyn_cast<ovl::MatmulOp>(op))
      return lowerMatmul(o);
    if (llvm::isa<ovl::MulOp, ovl::AddOp, ovl::ShiftOp>(op) && inLogitsChain(&op))
      return; // lowered with the lm_head's tiles
    if (lay_.fuse.convPwlOf.count(&op))
      return; // a conv4pwl group's conv4 / mul: run at its pwl (lowerConv4Pwl)
    if (lay_.fuse.pwlMulPwlOf.count(&op) && !rowBlocked())
      return; // a pwlmulpwl group's first pwl / mul: run at its second pwl (lowerPwlMulPwl)
    if (auto o = dyn_cast<ovl::MulOp>(op))
      return lowerBroadcast(op, UopCode::Mulsh32, o.getX(), o.getY(), int64_t(o.getShift()));
    if (auto o = dyn_cast<ovl::AddOp>(op))
      return lowerBroadcast(op, UopCode::Add32, o.getX(), o.getY(), 0);
    if (auto o = dyn_cast<ovl::ShiftOp>(op))
      return lowerUnary(op, UopCode::Shift32, o.getX(), 4, int64_t(o.getShift()));
    if (auto o = dyn_cast<ovl::SextOp>(op))
      return lowerUnary(op, UopCode::Sext8, o.getX(), 4, int64_t(o.getShift()));
    if (auto o = dyn_cast<ovl::ShrOp>(op))
      return lowerUnary(op, UopCode::Shr8, o.getX(), 1, int64_t(o.getShift()));
    if (auto o = dyn_cast<ovl::RequantOp>(op))
      return lowerRequant(o);
    if (auto o = dyn_cast<ovl::SumsqOp>(op))
      return lowerSumsq(o);
    if (auto o = dyn_cast<ovl::FwhtOp>(op))
      return lowerFwht(o);
    if (auto o = dyn_cast<ovl::PwlOp>(op); o && lay_.fuse.convOf.count(&op))
      return lowerConv4Pwl(o);
    // In row blocks a pwlmulpwl group runs as its three ops: the blocks' order, cut after each
    // SSM-unit op, is tuned with them (fused: the 130M prefill call 7.8 % slower, docs/codegen.md).
    if (auto o = dyn_cast<ovl::PwlOp>(op); o && lay_.fuse.pwlPairOf.count(&op) && !rowBlocked())
      return lowerPwlMulPwl(o);
    if (auto o = dyn_cast<ovl::PwlOp>(op))
      return lowerTable(op, UopCode::Pwl, o.getX(), o.getTable());
    if (auto o = dyn_cast<ovl::RsqrtOp>(op))
      return lowerTable(op, UopCode::Rsqrt, o.getX(), o.getTable());
    if (auto o = dyn_cast<ovl::Conv4Op>(op))
      return lowerConv4(o);
    if (auto o = dyn_cast<ovl::SsmOp>(op))
      return lowerSsm(o);
    if (auto o = dyn_cast<ovl::SsdChunkOp>(op))
      return lowerSsdChunk(o);
    if (auto o = dyn_cast<ovl::SliceOp>(op))
      return lowerSlice(o);
    if (auto o = dyn_cast<ovl::ConcatOp>(op))
      return lowerConcat(o);
    if (auto o = dyn_cast<func::ReturnOp>(op))
      return lowerReturn(o);
    fail(&op, "the overlay has no kernel for this op");
  }

  void lowerEmbed(ovl::EmbedOp o) {
    if (!llvm::isa<BlockArgument>(o.getIds()) ||
        cast<BlockArgument>(o.getIds()).getArgNumber() != 0)
      fail(o, "ids must be the function's first argument");
    auto c = o.getTable().getDefiningOp<ovl::ConstantOp>();
    if (!c)
      fail(o, "the embedding table must be a constant");
    int64_t d = cast<RankedTensorType>(o.getType()).getDimSize(1);
    View v = fresh(T_, d, 4);
    markLoad(v);
    if (!plan_)
      dma(Slot::Load, 1, lay_.xAt, uint64_t(d) * 4, addr(v), T_, uint64_t(d) * 4);
    views_[o.getResult()] = v;
  }

  void lowerSlice(ovl::SliceOp o) {
    if (inLogitsChain(o))
      return; // the logits' columns, stored tile by tile
    View x = operand(o.getX());
    View v = x;
    v.off += uint64_t(o.getOffset()) * x.esize;
    v.cols = int64_t(o.getSize());
    views_[o.getResult()] = v;
  }

  /// Each operand copied (`shift32` by 0) into its columns of one buffer.
  void lowerConcat(ovl::ConcatOp o) {
    if (!cast<RankedTensorType>(o.getType()).getElementType().isInteger(32))
      fail(o, "only i32 operands are concatenated (a shift32 copy)");
    View out = fresh(rowsOf(o.getResult()), cast<RankedTensorType>(o.getType()).getDimSize(1), 4);
    views_[o.getResult()] = out;
    uint64_t col = 0;
    for (Value v : o.getXs()) {
      View x = operand(v);
      View dst = out;
      dst.off += col * 4;
      dst.cols = x.cols;
      elementwise(Slot::Vector, UopCode::Shift32, dst, x, std::nullopt, false, 0, 0);
      col += uint64_t(x.cols);
    }
  }

  /// Elementwise over rows: one micro-op of rows*cols elements when every operand is
  /// contiguous, else one per row. `y` is per element ([rows][C] or [1][C] repeated per row),
  /// or with `yFixed` one address for every element (a table).
  void elementwise(Slot unit, UopCode code, const View &out, const View &x, std::optional<View> y,
                   bool yFixed, int64_t p0, int64_t p1, uint64_t table = 0) {
    const int64_t R = out.rows, C = out.cols;
    bool flat = out.contiguous() && x.contiguous() && uint64_t(R) * C <= kMaxLen;
    if (y && !yFixed)
      flat &= y->contiguous() && y->rows == R;
    if (plan_)
      return;
    uint64_t ya = y ? addr(*y) : 0;
    if (flat || R == 1) {
      if (!flat && uint64_t(C) > kMaxLen)
        fail(cur_, "a row of " + std::to_string(C) + " elements exceeds the ISA's length field");
      uint64_t len = flat ? uint64_t(R) * C : uint64_t(C);
      emit2d(unit, uop(code, addr(out), addr(x), ya, 0, len, p0, p1), Dim{1, {}}, Dim{1, {}},
             table);
      return;
    }
    if (uint64_t(C) > kMaxLen)
      fail(cur_, "a row of " + std::to_string(C) + " elements exceeds the ISA's length field");
    Dim rows{uint64_t(R), {out.rstride, rstep(x, R), y && !yFixed ? rstep(*y, R) : 0, 0}};
    emit2d(unit, uop(code, addr(out), addr(x), ya, 0, uint64_t(C), p0, p1), rows, Dim{1, {}},
           table);
  }

  void lowerUnary(Operation &op, UopCode code, Value xv, unsigned outEs, int64_t p0) {
    View x = operand(xv);
    View out = fresh(rowsOf(op.getResult(0)), x.cols, outEs);
    elementwise(Slot::Vector, code, out, x, std::nullopt, false, p0, 0);
    views_[op.getResult(0)] = out;
  }

  /// The index of `op` in the function body.
  long indexOf(Operation *op) {
    if (opIndex_.empty()) {
      long k = 0;
      for (Operation &o : fn_.getBody().front())
        opIndex_[&o] = k++;
    }
    auto it = opIndex_.find(op);
    return it == opIndex_.end() ? -1 : it->second;
  }
  /// Whether an elementwise op may write its result over its operand `xv` (viewed as `x`): a
  /// whole int32 buffer of the result's shape that nothing reads after this op. The residual
  /// stream then keeps one buffer through every layer, so layers allocate alike (a layer loop
  /// needs each iteration's buffers at the same addresses). Only with repeating layers.
  bool overwritable(Operation &op, Value xv, const View &x) {
    if (layers_.empty() || rowBlocked()) // only for a layer loop: elsewhere the usual placement
      return false; // (bank conflicts: austen W8A8 prefill on kv260 1.77M -> 1.85M cycles)
    Operation *d = xv.getDefiningOp();
    if (!d || llvm::isa<ovl::ConstantOp, ovl::SliceOp>(d) || x.buf < 0 || x.off != 0 ||
        x.esize != 4 || !x.contiguous() || x.rows != rowsOf(op.getResult(0)) ||
        cast<RankedTensorType>(op.getResult(0).getType()).getDimSize(1) != x.cols)
      return false;
    for (int a : ringBufs_)
      if (a == x.buf)
        return false;
    const long me = indexOf(&op);
    for (Operation *u : xv.getUsers())
      if (llvm::isa<ovl::SliceOp>(u) || indexOf(u) > me)
        return false;
    return true;
  }

  void lowerBroadcast(Operation &op, UopCode code, Value xv, Value yv, int64_t shift) {
    View x = operand(xv), y = operand(yv);
    View out =
        y.cols == x.cols && overwritable(op, xv, x) ? x : fresh(rowsOf(op.getResult(0)), x.cols, 4);
    views_[op.getResult(0)] = out;
    if (lay_.fuse.sumsqOf.count(&op))
      return; // a mulsumsq group's product: computed by the run at its sumsq (lowerSumsq)
    const int64_t R = out.rows, C = out.cols, Cy = y.cols;
    if (Cy == C) {
      elementwise(Slot::Vector, code, out, x, y, false, shift, 0);
      return;
    }
    if (plan_)
      return;
    Dim rows{uint64_t(R), {out.rstride, rstep(x, R), rstep(y, R), 0}};
    if (Cy == 1) {
      emit2d(Slot::Vector, uop(code, addr(out), addr(x), addr(y), 0, uint64_t(C), shift, 1), rows,
             Dim{1, {}});
      return;
    }
    const uint64_t P = uint64_t(C / Cy);
    Dim heads{uint64_t(Cy), {4 * P, 4 * P, 4, 0}};
    emit2d(Slot::Vector, uop(code, addr(out), addr(x), addr(y), 0, P, shift, 1), rows, heads);
  }

  void lowerRequant(ovl::RequantOp o) {
    View x = operand(o.getX()), m = operand(o.getMult()), s = operand(o.getShifts());
    View out = fresh(rowsOf(o.getResult()), x.cols, 1);
    views_[o.getResult()] = out;
    const bool bc = m.cols == 1;
    if (plan_)
      return;
    const int64_t R = out.rows, C = out.cols;
    if (bc && out.contiguous() && x.contiguous() && uint64_t(R) * C <= kMaxLen) {
      emit2d(Slot::Vector,
             uop(UopCode::Req8, addr(out), addr(x), addr(m), addr(s), uint64_t(R * C), 0, 1),
             Dim{1, {}}, Dim{1, {}});
      return;
    }
    Dim rows{uint64_t(R), {out.rstride, rstep(x, R), 0, 0}};
    emit2d(Slot::Vector,
           uop(UopCode::Req8, addr(out), addr(x), addr(m), addr(s), uint64_t(C), 0, bc ? 1 : 0),
           rows, Dim{1, {}});
  }

  void lowerSumsq(ovl::SumsqOp o) {
    View x = operand(o.getX());
    const int64_t G = int64_t(o.getGroups());
    // A mulsumsq / addsumsq group (Plan.h: matchFuseGroup): the mul / add right before wrote
    // nothing; one run computes its product / sum into x's buffer and the sum of squares here.
    auto fusedMul = lay_.fuse.mulOf.find(o.getOperation());
    std::optional<View> ma, mb;
    const bool fusedAdd =
        fusedMul != lay_.fuse.mulOf.end() && llvm::isa<ovl::AddOp>(fusedMul->second);
    if (fusedMul != lay_.fuse.mulOf.end()) {
      Operation *m = fusedMul->second;
      ma = operand(m->getOperand(0)); // read by this run: live until here
      mb = operand(m->getOperand(1));
    }
    // The residual stream's sums of squares (the first norm's of the embedding, then each
    // addsumsq's) share one buffer in a layer loop, as the stream does: the loop body rotated
    // for addsumsq (rotateForAddSumsq) then finds the first layer's at the others' address.
    const bool streamNorm =
        !layers_.empty() && !rowBlocked() &&
        (fusedAdd || llvm::isa_and_nonnull<ovl::EmbedOp>(o.getX().getDefiningOp()));
    View out = streamNorm && normSumsq_ && normSumsq_->rows == rowsOf(o.getResult()) &&
                       normSumsq_->cols == G
                   ? *normSumsq_
                   : fresh(rowsOf(o.getResult()), G, 4);
    if (streamNorm) {
      use(out);
      normSumsq_ = out;
    }
    views_[o.getResult()] = out;
    if (plan_)
      return;
    const uint64_t len = uint64_t(x.cols / G);
    if (ma) {
      const int64_t R = out.rows;
      const int64_t mulShift =
          fusedAdd ? 0 : int64_t(cast<ovl::MulOp>(fusedMul->second).getShift());
      Dim rows{uint64_t(R), {x.rstride, rstep(*ma, R), rstep(*mb, R), out.rstride}};
      Dim groups{uint64_t(G), {4 * len, 4 * len, 4 * len, 4}};
      emit2d(Slot::Vector,
             uop(fusedAdd ? UopCode::Addsumsq : UopCode::Mulsumsq, addr(x), addr(*ma), addr(*mb),
                 addr(out), len, mulShift, 0, int64_t(o.getShift())),
             rows, groups);
      return;
    }
    Dim rows{uint64_t(out.rows), {out.rstride, rstep(x, out.rows), 0, 0}};
    Dim groups{uint64_t(G), {4, 4 * len, 0, 0}};
    emit2d(Slot::Vector, uop(UopCode::Sumsq, addr(out), addr(x), 0, 0, len, int64_t(o.getShift())),
           rows, groups);
  }

  void lowerTable(Operation &op, UopCode code, Value xv, Value tv) {
    View x = operand(xv);
    if (!tv.getDefiningOp<ovl::ConstantOp>())
      fail(&op, "its table must be a constant");
    View t = operand(tv);
    View out = fresh(rowsOf(op.getResult(0)), x.cols, 4);
    views_[op.getResult(0)] = out;
    elementwise(Slot::Ssm, code, out, x, t, true, 0, 0, uint64_t(t.cols) * 4);
  }

  void lowerFwht(ovl::FwhtOp o) {
    View x = operand(o.getX());
    View out = fresh(rowsOf(o.getResult()), x.cols, 4);
    views_[o.getResult()] = out;
    elementwise(Slot::Vector, UopCode::Shift32, out, x, std::nullopt, false, 0, 0); // copy
    if (plan_)
      return;
    emit2d(Slot::Vector, uop(UopCode::Fwht, addr(out), 0, 0, 0, uint64_t(out.cols)),
           Dim{uint64_t(out.rows), {out.rstride, 0, 0, 0}}, Dim{1, {}});
  }

  void lowerConv4(ovl::Conv4Op o) {
    View x = operand(o.getX());
    auto wc = o.getWeight().getDefiningOp<ovl::ConstantOp>();
    auto bc = o.getBias().getDefiningOp<ovl::ConstantOp>();
    if (!wc || !bc)
      fail(o, "its weight and bias must be constants");
    const int64_t C = x.cols;
    // conv4 reads the int32 bias right after the [C][4] weights: one buffer, two loads.
    auto key = std::make_pair(o.getWeight().getAsOpaquePointer(), o.getBias().getAsOpaquePointer());
    View wb;
    auto it = convParams_.find(key);
    if (it != convParams_.end()) {
      wb = it->second;
      use(wb);
    } else {
      wb = fresh(1, 8 * C, 1);
      markLoad(wb);
      if (!plan_) {
        dma(Slot::Load, 0, lay_.constAt.lookup(o.getWeight()), uint64_t(4 * C), addr(wb), 1,
            uint64_t(4 * C));
        dma(Slot::Load, 0, lay_.constAt.lookup(o.getBias()), uint64_t(4 * C), addr(wb) + 4 * C, 1,
            uint64_t(4 * C));
      }
      convParams_[key] = wb;
    }
    View st = stateView(o.getState());
    View y = fresh(rowsOf(o.getY()), C, 4);
    views_[o.getY()] = y;
    views_[o.getNewState()] = st;
    stateArg_[o.getNewState()] = stateArg_[o.getState()];
    if (plan_)
      return;
    Dim rows{uint64_t(y.rows), {y.rstride, rstep(x, y.rows), 0, 0}};
    emit2d(Slot::Vector, uop(UopCode::Conv4, addr(y), addr(x), addr(wb), addr(st), uint64_t(C)),
           rows, Dim{1, {}});
    storeState(o.getNewState(), st);
  }

  /// A conv4pwl group (Plan.h: matchFuseGroup): the conv4, the multiply by a [1][C] constant (if
  /// any) and the pwl as one conv4pwl run over the rows at the pwl. Its parameters are one
  /// buffer: the table, then (p4 bytes after it) the conv weights, bias and multiplier, four
  /// loads; the state is loaded here and stored back after the run.
  void lowerConv4Pwl(ovl::PwlOp p) {
    auto [convOp, mulOp] = lay_.fuse.convOf.lookup(p.getOperation());
    auto o = cast<ovl::Conv4Op>(convOp);
    View x = operand(o.getX());
    auto wc = o.getWeight().getDefiningOp<ovl::ConstantOp>();
    auto bc = o.getBias().getDefiningOp<ovl::ConstantOp>();
    auto tc = p.getTable().getDefiningOp<ovl::ConstantOp>();
    if (!wc || !bc)
      fail(o, "its weight and bias must be constants");
    if (!tc)
      fail(p, "its table must be a constant");
    Value mult = mulOp ? cast<ovl::MulOp>(mulOp).getY() : Value();
    const int64_t mulShift = mulOp ? int64_t(cast<ovl::MulOp>(mulOp).getShift()) : 0;
    const int64_t C = x.cols;
    const uint64_t tableBytes =
        uint64_t(cast<RankedTensorType>(p.getTable().getType()).getNumElements()) * 4;
    std::array<void *, 4> key = {
        p.getTable().getAsOpaquePointer(), o.getWeight().getAsOpaquePointer(),
        o.getBias().getAsOpaquePointer(), mult ? mult.getAsOpaquePointer() : nullptr};
    View prm;
    if (auto it = convPwlParams_.find(key); it != convPwlParams_.end()) {
      prm = it->second;
      use(prm);
    } else {
      prm = fresh(1, int64_t(tableBytes + 12 * uint64_t(C)), 1);
      markLoad(prm);
      if (!plan_) {
        const uint64_t at = addr(prm), cb = 4 * uint64_t(C);
        dma(Slot::Load, 0, lay_.constAt.lookup(p.getTable()), tableBytes, at, 1, tableBytes);
        dma(Slot::Load, 0, lay_.constAt.lookup(o.getWeight()), cb, at + tableBytes, 1, cb);
        dma(Slot::Load, 0, lay_.constAt.lookup(o.getBias()), cb, at + tableBytes + cb, 1, cb);
        if (mult)
          dma(Slot::Load, 0, lay_.constAt.lookup(mult), cb, at + tableBytes + 2 * cb, 1, cb);
      }
      convPwlParams_[key] = prm;
    }
    View st = stateView(o.getState());
    View y = fresh(rowsOf(p.getResult()), C, 4);
    views_[p.getResult()] = y;
    views_[o.getNewState()] = st;
    stateArg_[o.getNewState()] = stateArg_[o.getState()];
    if (plan_)
      return;
    isa::UopWord w = uop(UopCode::Conv4pwl, addr(y), addr(x), addr(prm), addr(st), uint64_t(C),
                         mulShift, 0, mult ? 1 : 0);
    w.set(f::uop::p4, int64_t(tableBytes));
    Dim rows{uint64_t(y.rows), {y.rstride, rstep(x, y.rows), 0, 0}};
    emit2d(Slot::Vector, w, rows, Dim{1, {}});
    storeState(o.getNewState(), st);
  }

  /// A pwlmulpwl group (Plan.h: matchFuseGroup): the first pwl, the multiply by a [1][C] or
  /// [1][1] constant and this pwl as one pwlmulpwl run over the rows (softplus(dt), times A,
  /// exp). Its parameters are one buffer: the first table, the second p3 bytes on, the
  /// multipliers p4 bytes on (three loads, once per entry). The first pwl's result is written
  /// (its readers follow), the product never is.
  void lowerPwlMulPwl(ovl::PwlOp p2) {
    auto [first, mulOp] = lay_.fuse.pwlPairOf.lookup(p2.getOperation());
    auto p1 = cast<ovl::PwlOp>(first);
    auto m = cast<ovl::MulOp>(mulOp);
    View x = operand(p1.getX());
    auto bytesOf = [](Value v) {
      return uint64_t(cast<RankedTensorType>(v.getType()).getNumElements()) * 4;
    };
    const uint64_t t1 = bytesOf(p1.getTable()), t2 = bytesOf(p2.getTable()), mb = bytesOf(m.getY());
    std::array<void *, 3> key = {p1.getTable().getAsOpaquePointer(),
                                 p2.getTable().getAsOpaquePointer(), m.getY().getAsOpaquePointer()};
    View prm;
    if (auto it = pwlPairParams_.find(key); it != pwlPairParams_.end()) {
      prm = it->second;
      use(prm);
    } else {
      prm = fresh(1, int64_t(t1 + t2 + mb), 1, true);
      markLoad(prm);
      if (!plan_) {
        const uint64_t at = addr(prm);
        dma(Slot::Load, 0, lay_.constAt.lookup(p1.getTable()), t1, at, 1, t1);
        dma(Slot::Load, 0, lay_.constAt.lookup(p2.getTable()), t2, at + t1, 1, t2);
        dma(Slot::Load, 0, lay_.constAt.lookup(m.getY()), mb, at + t1 + t2, 1, mb);
      }
      pwlPairParams_[key] = prm;
    }
    const int64_t C = x.cols;
    View s = fresh(rowsOf(p1.getResult()), C, 4);
    views_[p1.getResult()] = s;
    View y = fresh(rowsOf(p2.getResult()), C, 4);
    views_[p2.getResult()] = y;
    if (plan_)
      return;
    const bool bc = mb == 4 && C != 1;
    // Rows one after the other in x, s and y: one micro-op over all of them, the multipliers
    // repeating every C elements (p2), one pipeline fill; else a run over the rows.
    const int64_t R = y.rows;
    const bool flat =
        R > 1 && x.contiguous() && s.contiguous() && y.contiguous() && uint64_t(R * C) <= kMaxLen;
    isa::UopWord w =
        uop(UopCode::Pwlmulpwl, addr(y), addr(x), addr(prm), addr(s), uint64_t(flat ? R * C : C),
            int64_t(m.getShift()), bc ? 1 : 0, flat && !bc ? C : 0);
    w.set(f::uop::p3, int64_t(t1));
    w.set(f::uop::p4, int64_t(t1 + t2));
    Dim rows{uint64_t(flat ? 1 : R), {y.rstride, rstep(x, R), 0, s.rstride}};
    emit2d(Slot::Ssm, w, rows, Dim{1, {}});
  }

  /// ovl.ssm writes y over dtx when dtx dies at this op in a buffer of its own (one use,
  /// produced by a compute op: not a constant, a state or a slice of another value) with y's
  /// rows: row t's dtx is dead once row t's update ran.
  bool ssmYOverDtx(ovl::SsmOp o, const View &dtx, int64_t rows) const {
    Operation *def = o.getDtx().getDefiningOp();
    if (!def || !o.getDtx().hasOneUse() || llvm::isa<ovl::ConstantOp, ovl::SliceOp>(def))
      return false;
    auto yt = cast<RankedTensorType>(o.getY().getType());
    return dtx.rows == rows && dtx.cols == yt.getDimSize(1) && dtx.esize == 4;
  }

  /// ssmstep reads C at a fixed offset after B. B and C in buffers of their own (the
  /// requantised slices of the conv output) are placed one after the other: C's buffer follows
  /// B's (plan walk; allocate() places them).
  void placeCAfterB(const View &B, const View &Cv) {
    if (!plan_ || B.buf < 0 || Cv.buf < 0 || B.buf == Cv.buf)
      return;
    Buffer &b = bufs_[size_t(B.buf)], &c = bufs_[size_t(Cv.buf)];
    if (c.follows == B.buf || b.fixed || c.fixed || b.loadTarget || c.loadTarget ||
        b.follows >= 0 || b.follower >= 0 || c.follows >= 0 || c.follower >= 0)
      return;
    c.follows = B.buf;
    c.followOff = b.bytes;
    b.follower = Cv.buf;
  }

  void lowerSsm(ovl::SsmOp o) {
    View dtx = operand(o.getDtx()), decay = operand(o.getDecay()), B = operand(o.getB()),
         Cv = operand(o.getC());
    auto st = cast<RankedTensorType>(o.getState().getType());
    const int64_t H = st.getDimSize(0), P = st.getDimSize(1), N = st.getDimSize(2);
    const int64_t G = int64_t(o.getNgroups());
    if (G < 1 || H % G)
      fail(o,
           "ngroups " + std::to_string(G) + " does not divide the " + std::to_string(H) + " heads");
    View S = stateView(o.getState());
    const int64_t rows = rowsOf(o.getY());
    // An ssmstep group (Plan.h: matchFuseGroup) writes y over dtx and places C after B.
    const bool group = lay_.fuse.fusedScan(o);
    const bool inPlace = group && ssmYOverDtx(o, dtx, rows);
    if (inPlace)
      placeCAfterB(B, Cv);
    View y = inPlace ? dtx : fresh(rows, H * P, 4);
    views_[o.getY()] = y;
    views_[o.getNewState()] = S;
    stateArg_[o.getNewState()] = stateArg_[o.getState()];
    if (plan_)
      return;
    const int64_t hg = H / G;
    const uint64_t sHead = uint64_t(P * N * 4);
    // ssmstep when y goes over dtx and C sits at the same offset 0..32767 after B in every row
    // (its p4).
    const int64_t cOff = int64_t(addr(Cv)) - int64_t(addr(B));
    const bool fused = inPlace && rstep(B, y.rows) == rstep(Cv, y.rows) && cOff >= 0 &&
                       cOff <= int64_t(std::numeric_limits<int16_t>::max());
    if (group && !fused && lay_.fuse.recorded)
      fail(o, !inPlace
                  ? "its recorded ssmstep group cannot run fused: y cannot be written over "
                    "dtx here (a view of another buffer or other rows)"
                  : "its recorded ssmstep group cannot run fused: C lies " + std::to_string(cOff) +
                        " bytes after B" +
                        (rstep(B, y.rows) == rstep(Cv, y.rows) ? "" : " at another row stride") +
                        " (ssmstep reads C 0..32767 bytes after B)");
    // Row by row in order (the state carries). One word per group, the run's iterations over
    // the group's heads. Fused: one ssmstep run (update and output in one pass over each
    // head's state); else all heads' ssmupd, then all heads' ssmout.
    const int64_t tLo = subN_ >= 0 ? sub0_ : 0, tHi = subN_ >= 0 ? sub0_ + subN_ : y.rows;
    for (int64_t t = tLo; t < tHi; ++t) {
      std::vector<isa::UopWord> upd, out;
      for (int64_t g = 0; g < G; ++g) {
        const uint64_t h0 = uint64_t(g * hg);
        const uint64_t sAt = addr(S) + h0 * sHead,
                       xAt = addr(dtx) + t * rstep(dtx, y.rows) + h0 * P * 4,
                       bAt = addr(B) + t * rstep(B, y.rows) + uint64_t(g * N),
                       dAt = addr(decay) + t * rstep(decay, y.rows) + h0 * 4;
        if (fused) {
          isa::UopWord w = uop(UopCode::Ssmstep, sAt, xAt, bAt, dAt, uint64_t(P), N,
                               int64_t(o.getDecayShift()), int64_t(o.getInShift()));
          w.set(f::uop::p3, int64_t(o.getOutShift()));
          w.set(f::uop::p4, cOff);
          upd.push_back(w);
          continue;
        }
        upd.push_back(uop(UopCode::Ssmupd, sAt, xAt, bAt, dAt, uint64_t(P), N,
                          int64_t(o.getDecayShift()), int64_t(o.getInShift())));
        out.push_back(uop(UopCode::Ssmout, addr(y) + t * y.rstride + h0 * P * 4,
                          addr(S) + h0 * sHead, addr(Cv) + t * rstep(Cv, y.rows) + uint64_t(g * N),
                          0, uint64_t(P), N, int64_t(o.getOutShift())));
      }
      emitRunWords(Slot::Ssm, upd, uint64_t(hg), {sHead, uint64_t(P * 4), 0, 4}, {});
      emitRunWords(Slot::Ssm, out, uint64_t(hg), {uint64_t(P * 4), sHead, 0, 0}, {});
    }
    storeState(o.getNewState(), S);
  }

  /// The chunked SSD form (ovl.ssd_chunk): the recipe of the call's rows (ssd::buildRecipe, the
  /// one definition the ovl evaluator executes too), each step one micro-op run on its unit.
  /// The recipe's buffers: the operands (each In a contiguous [rows][cols] view: a strided
  /// one, e.g. a slice of the conv output, copied first by `trn` row by row), the state loaded
  /// and stored back as lowerSsm does, y a fresh view, the temporaries fresh buffers live only
  /// during the op, the constants loaded from the const region (layoutProgram). The scheduler
  /// orders the runs by their scratchpad accesses, so the matrix, vector and SSM steps
  /// interleave as their data allow.
  void lowerSsdChunk(ovl::SsdChunkOp o) {
    if (!board_.chunkedSsd)
      fail(o, std::string("the ") + board_.name +
                  " is built without the chunked SSD form's micro-ops (trn, split16, segdecay: "
                  "its board file's [units] chunked_ssd = false); compile it with --ssd-form scan");
    if (subN_ >= 0)
      fail(o, "internal: a chunked SSD op cut into row steps");
    const int64_t rows = rowsOf(o.getY());
    const ssd::Recipe r = ssdRecipe(o, rows);
    std::vector<View> at(r.buffers.size());
    std::vector<unsigned> es(r.buffers.size());
    std::vector<std::pair<View, View>> copies; // strided operand -> its contiguous copy
    auto input = [&](int b, Value v) {
      if (b < 0)
        fail(o, "internal: the recipe lacks an operand buffer");
      View w = operand(v);
      const ssd::Buffer &rb = r.buffers[size_t(b)];
      if (w.rows != rows || int64_t(w.rows) * w.cols != rb.elems || w.esize != es[size_t(b)])
        fail(o, "its operand '" + rb.name + "' is a " + std::to_string(w.rows) + " x " +
                    std::to_string(w.cols) + " view, not the recipe's " + std::to_string(rb.elems) +
                    " elements of " + std::to_string(rows) + " rows");
      if (w.contiguous())
        return w;
      View c = fresh(1, rb.elems, w.esize, true);
      c.rows = w.rows;
      c.cols = w.cols;
      c.rstride = uint64_t(w.cols) * w.esize;
      copies.push_back({w, c});
      return c;
    };
    for (size_t b = 0; b < r.buffers.size(); ++b)
      es[b] = r.buffers[b].i8 ? 1 : 4;
    at[size_t(r.x)] = input(r.x, o.getX());
    at[size_t(r.d)] = input(r.d, o.getD());
    at[size_t(r.decay)] = input(r.decay, o.getDecay());
    at[size_t(r.B)] = input(r.B, o.getB());
    at[size_t(r.C)] = input(r.C, o.getC());
    View S = stateView(o.getState());
    at[size_t(r.state)] = S;
    View y = fresh(rows, int64_t(r.buffers[size_t(r.y)].elems / std::max<int64_t>(rows, 1)), 4);
    at[size_t(r.y)] = y;
    views_[o.getY()] = y;
    views_[o.getNewState()] = S;
    stateArg_[o.getNewState()] = stateArg_[o.getState()];
    std::vector<int> consts;
    for (size_t b = 0; b < r.buffers.size(); ++b) {
      const ssd::Buffer &rb = r.buffers[b];
      if (rb.role != ssd::Buffer::Temp && rb.role != ssd::Buffer::Const)
        continue;
      at[b] = fresh(1, rb.elems, es[b], true);
      if (rb.role == ssd::Buffer::Const) {
        markLoad(at[b]);
        consts.push_back(int(b));
      }
    }
    if (plan_)
      return;
    for (int b : consts) {
      auto it = lay_.ssdConsts.find({o.getOperation(), b});
      if (it == lay_.ssdConsts.end() || it->second.second != r.buffers[size_t(b)].init)
        fail(o, "internal: the recipe's constant '" + r.buffers[size_t(b)].name + "' at " +
                    std::to_string(rows) + " rows is not the one laid out");
      const uint64_t bytes = uint64_t(r.buffers[size_t(b)].elems) * es[size_t(b)];
      dma(Slot::Load, 0, it->second.first, bytes, addr(at[size_t(b)]), 1, bytes);
    }
    for (auto &[w, c] : copies) { // one trn of one row (a copy) per row
      isa::UopWord t = uop(UopCode::Trn, addr(c), addr(w), 0, 0, 1, w.cols, w.esize);
      emitRunWords(Slot::Vector, {t}, uint64_t(w.rows), {c.rstride, w.rstride, 0, 0}, {});
    }
    for (size_t i = 0; i < r.steps.size(); ++i)
      emitSsdStep(o, r, i, at, es);
    storeState(o.getNewState(), S);
  }
  /// Step `i` of recipe `r` as one micro-op run (iterations and strides as the step says).
  void emitSsdStep(ovl::SsdChunkOp o, const ssd::Recipe &r, size_t i, const std::vector<View> &at,
                   const std::vector<unsigned> &es) {
    const ssd::Step &s = r.steps[i];
    auto why = [&](const std::string &what) {
      llvm::SmallVector<llvm::StringRef> lines;
      const std::string all = r.describe();
      llvm::StringRef(all).split(lines, '\n');
      fail(o, "step " + std::to_string(i) + " of its recipe (" +
                  (i < lines.size() ? lines[i].str() : std::string("?")) + "): " + what);
    };
    auto ad = [&](const ssd::Ref &ref) -> int64_t {
      if (ref.buf < 0)
        return 0;
      return int64_t(addr(at[size_t(ref.buf)]) + uint64_t(ref.off) * es[size_t(ref.buf)]);
    };
    auto esz = [&](const ssd::Ref &ref) -> int64_t {
      return ref.buf < 0 ? 0 : int64_t(es[size_t(ref.buf)]);
    };
    isa::UopWord w;
    auto put = [&](isa::BitField f, int64_t v, const char *name) {
      if (!isa::fits(f, v))
        why(std::string(name) + " = " + std::to_string(v) + " does not fit its " +
            std::to_string(f.width) + "-bit field");
      w.set(f, v);
    };
    // Strides in bytes per role (dst, src0, src1, src2).
    std::array<int64_t, 4> stride = {s.sdst * esz(s.dst), s.ssrc0 * esz(s.src0),
                                     s.ssrc1 * esz(s.src1), s.ssrc2 * esz(s.src2)};
    UopCode code = UopCode::Unop;
    switch (s.kind) {
    case ssd::Kind::Gmm8:
      code = UopCode::Gmm8;
      put(f::umm::uop, int64_t(code), "uop");
      put(f::umm::acc, ad(s.dst), "acc");
      put(f::umm::act, ad(s.src0), "act");
      put(f::umm::wgt, ad(s.src1), "wgt");
      put(f::umm::scl, ad(s.src2), "scl");
      put(f::umm::m, s.m, "m");
      put(f::umm::k, s.k, "k");
      put(f::umm::n, s.n, "n");
      put(f::umm::group, s.k, "group");
      put(f::umm::shift, s.shift, "shift");
      put(f::umm::accum, s.accum ? 1 : 0, "accum");
      put(f::umm::wpitch, s.wpitch == s.k ? 0 : s.wpitch, "wpitch");
      break;
    case ssd::Kind::Trn:
    case ssd::Kind::SegDecay:
    case ssd::Kind::Split16:
    case ssd::Kind::Mulsh32:
    case ssd::Kind::Sext8: {
      int64_t len = s.len, p0 = s.shift, p1 = 0, p2 = 0, p3 = 0, src1 = ad(s.src1), src2 = 0;
      switch (s.kind) {
      case ssd::Kind::Trn:
        code = UopCode::Trn;
        len = s.rows, p0 = s.cols, p1 = s.bytes, p2 = s.srcPitch, p3 = s.dstPitch;
        break;
      case ssd::Kind::SegDecay:
        code = UopCode::Segdecay;
        break;
      case ssd::Kind::Split16: // the lo half: the recipe's src1, the micro-op's src2
        code = UopCode::Split16;
        src2 = src1, src1 = 0;
        stride[3] = stride[2], stride[2] = 0;
        break;
      case ssd::Kind::Mulsh32:
        code = UopCode::Mulsh32;
        p1 = s.bcast ? 1 : 0;
        break;
      default:
        code = UopCode::Sext8;
        break;
      }
      put(f::uop::uop, int64_t(code), "uop");
      put(f::uop::dst, ad(s.dst), "dst");
      put(f::uop::src0, ad(s.src0), "src0");
      put(f::uop::src1, src1, "src1");
      put(f::uop::src2, src2, "src2");
      put(f::uop::len, len, "len");
      put(f::uop::p0, p0, "p0");
      put(f::uop::p1, p1, "p1");
      put(f::uop::p2, p2, "p2");
      put(f::uop::p3, p3, "p3");
      break;
    }
    }
    std::array<uint64_t, 4> step{};
    for (unsigned k = 0; k < 4; ++k) {
      if (s.iters > 1 && (stride[k] < 0 || uint64_t(stride[k]) > kMaxRunStride))
        why("a run stride of " + std::to_string(stride[k]) + " bytes is outside the ISA's 0.." +
            std::to_string(kMaxRunStride));
      step[k] = s.iters > 1 ? uint64_t(stride[k]) : 0;
    }
    if (s.iters < 1)
      why("no iterations");
    emitRunWords(unitOf(code), {w}, uint64_t(s.iters), step, {});
  }
  /// The unit whose sequencer runs micro-op `code` (isa.toml's `unit`).
  static Slot unitOf(UopCode code) {
    for (const isa::UopInfo &u : isa::kUops)
      if (u.code == uint8_t(code))
        for (Slot s : {Slot::Matrix, Slot::Vector, Slot::Ssm})
          if (u.runsOn(s))
            return s;
    return Slot::Vector;
  }

  /// When `o` is the lm_head whose output only becomes the logits (a Logits fusion group,
  /// Plan.h: matchFuseGroup), the ops in between (applied to each tile in place). Then its tiles
  /// go straight to the io tensor and the whole [rows][N] output never sits in the scratchpad.
  std::optional<std::vector<Operation *>> logitsChain(ovl::MatmulOp o) const {
    auto it = lay_.fuse.logits.find(o.getOperation());
    if (it == lay_.fuse.logits.end())
      return std::nullopt;
    return it->second;
  }
  bool streamsLogits(ovl::MatmulOp o) const { return lay_.fuse.logits.count(o.getOperation()); }
  /// Whether `op` is part of a streamed lm_head's chain (lowered with the matmul).
  bool inLogitsChain(Operation *op) const { return lay_.fuse.chainOf.count(op); }

  /// The index of the first op that reads columns [lo, hi) of `v` (through slices).
  long firstRead(Value v, uint64_t lo, uint64_t hi) {
    long first = std::numeric_limits<long>::max();
    for (Operation *u : v.getUsers()) {
      if (auto sl = llvm::dyn_cast<ovl::SliceOp>(u)) {
        const uint64_t a = uint64_t(sl.getOffset()), b = a + uint64_t(sl.getSize());
        if (a < hi && lo < b)
          first =
              std::min(first, firstRead(sl.getResult(), lo > a ? lo - a : 0, std::min(hi, b) - a));
        continue;
      }
      if (opIndex_.empty()) {
        long k = 0;
        for (Operation &op : fn_.getBody().front())
          opIndex_[&op] = k++;
      }
      auto it = opIndex_.find(u);
      first = std::min(first, it == opIndex_.end() ? 0L : it->second);
    }
    return first;
  }

  /// Where in its ring buffer (at `buf`) a weight tile of `nj` rows goes: the first place,
  /// in steps of a bank word within the buffer's spare bytes (at most the banks' span), at
  /// which the matmul's K steps meet no bank conflict with the activations at `act`
  /// (target/MatrixBanks.h, the cycle model's walk; checked for the first activation row),
  /// else the place with the fewest waits.
  uint64_t weightTilePlace(uint64_t buf, uint64_t act, const Layout::Mat &m, uint64_t nj,
                           ovl::MatmulOp o) {
    const std::array<uint64_t, 8> key{buf, act,     m.pitch, m.g,
                                      m.k, m.group, nj,      uint64_t(o.getBits())};
    if (auto it = tilePlaces_.find(key); it != tilePlaces_.end())
      return it->second;
    const uint64_t W = target::Board::spadWordBytes();
    const uint64_t span = uint64_t(board_.spadBanks()) * W;
    const uint64_t used = nj * (m.pitch + 4 * m.g), spare = ringBytes_ - used;
    target::MatmulBankShape s;
    s.act = act;
    s.pitch = m.pitch;
    s.m = 1;
    s.k = uint32_t(m.k);
    s.n = uint32_t(nj);
    s.int4 = o.getBits() == 4;
    s.grouped = true;
    s.group = uint32_t(m.group);
    const unsigned lk = s.int4 ? board_.matKInt4() : board_.matK;
    uint64_t best = buf, bestWaits = ~uint64_t(0);
    target::MatmulBankShape first = s; // the first N tile: a quick test before the whole walk
    first.n = uint32_t(std::min<uint64_t>(nj, board_.matN));
    for (uint64_t d = 0; d <= spare && d < span; d += W) {
      s.wgt = first.wgt = buf + d;
      if (bestWaits != ~uint64_t(0) &&
          target::matmulBankWaits(first, board_.spadBanks(), unsigned(W), board_.matN, lk) != 0)
        continue;
      const uint64_t waits =
          target::matmulBankWaits(s, board_.spadBanks(), unsigned(W), board_.matN, lk);
      if (waits < bestWaits)
        best = buf + d, bestWaits = waits;
      if (waits == 0)
        break;
    }
    tilePlaces_.emplace(key, best);
    return best;
  }

  void lowerMatmul(ovl::MatmulOp o) {
    View act = operand(o.getAct());
    const Layout::Mat &m = lay_.mats.find(o.getOperation())->second;
    auto wt = cast<RankedTensorType>(o.getWeight().getType());
    const uint64_t N = uint64_t(wt.getDimSize(0)), K = uint64_t(wt.getDimSize(1));
    const int64_t R = rowsOf(o.getResult());
    if (!act.contiguous())
      fail(o, "its activation is a strided slice; the matrix unit reads [rows][K] row-major");
    if (R > 63)
      fail(o, std::to_string(R) + " rows exceed the matrix unit's m field (63)");
    const auto chain = logitsChain(o);
    const bool stream = chain.has_value();
    View out;
    std::array<View, 2> tiles;
    std::vector<std::optional<View>> chainY; // the constants of the chain's mul / add
    if (stream) {
      for (auto &t : tiles)
        t = fresh(R, int64_t(m.nt), 4);
      for (Operation *op : *chain)
        chainY.push_back(llvm::isa<ovl::MulOp, ovl::AddOp>(op)
                             ? std::optional<View>(operand(op->getOperand(1)))
                             : std::nullopt);
    } else {
      out = fresh(R, int64_t(N), 4);
      views_[o.getResult()] = out;
      if (R > 1 && N * 4 > kMaxRunStride)
        fail(o, std::to_string(N) + " output channels make a row stride beyond the ISA's " +
                    std::to_string(kMaxRunStride) + " bytes");
    }
    if (plan_) { // the layer's weight tiles (ringRunsOn)
      if (tileLayer_ >= 0) {
        if (layerTiles_.size() <= size_t(tileLayer_))
          layerTiles_.resize(size_t(tileLayer_) + 1, 0);
        layerTiles_[size_t(tileLayer_)] += unsigned((N + m.nt - 1) / m.nt);
      }
      return;
    }
    const UopCode code = o.getBits() == 4 ? UopCode::Gmm4 : UopCode::Gmm8;
    const uint64_t rowB = m.pitch + 4 * m.g;
    // The tiles in DRAM order, then (a result kept in the scratchpad) in the order their
    // columns are first read: in_proj's x/B/C and dt tiles before z's, so the conv and the
    // SSM scan wait only for theirs and z's tiles stream and multiply while the scan runs.
    struct Tile {
      uint64_t j, n0, nj, dram;
      long first;
    };
    std::vector<Tile> order;
    for (uint64_t j = 0, n0 = 0, d = m.at; n0 < N; ++j, n0 += m.nt) {
      const uint64_t nj = std::min(m.nt, N - n0);
      order.push_back({j, n0, nj, d, stream ? 0 : firstRead(o.getResult(), n0, n0 + nj)});
      d += alignUp(nj * rowB);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const Tile &a, const Tile &b) { return a.first < b.first; });
    for (const Tile &tl : order) {
      const uint64_t j = tl.j, n0 = tl.n0, nj = tl.nj, dram = tl.dram;
      const uint64_t ring = weightTilePlace(bufs_[size_t(ringBufs_[ringNext_++ % ringCount_])].addr,
                                            addr(act), m, nj, o);
      dma(Slot::Load, 0, dram, nj * rowB, ring, 1, nj * rowB);
      isa::UopWord w;
      w.set(f::umm::uop, int64_t(code));
      w.set(f::umm::act, int64_t(addr(act)));
      w.set(f::umm::wgt, int64_t(ring));
      w.set(f::umm::scl, int64_t(ring + nj * m.pitch));
      w.set(f::umm::wpitch, int64_t(m.pitch == m.kb ? 0 : m.pitch));
      w.set(f::umm::k, int64_t(m.k));
      w.set(f::umm::n, int64_t(nj));
      w.set(f::umm::group, int64_t(m.group));
      w.set(f::umm::shift, int64_t(o.getShift()));
      if (stream) {
        const View &t = tiles[j % 2];
        w.set(f::umm::acc, int64_t(addr(t)));
        w.set(f::umm::m, R);
        emitRunWords(Slot::Matrix, {w}, 1, {}, {});
        // The chain in place on the tile: one micro-op per row, or over the whole tile.
        for (size_t c = 0; c < chain->size(); ++c) {
          Operation *op = (*chain)[c];
          if (llvm::isa<ovl::SliceOp>(op))
            continue;
          const uint64_t flat = uint64_t(R) * nj;
          if (auto sh = llvm::dyn_cast<ovl::ShiftOp>(op)) {
            emitRunWords(Slot::Vector,
                         {uop(UopCode::Shift32, addr(t), addr(t), 0, 0, flat, sh.getShift())}, 1,
                         {}, {});
            continue;
          }
          const View &y = *chainY[c];
          const bool bc = y.cols == 1;
          const UopCode uc = llvm::isa<ovl::MulOp>(op) ? UopCode::Mulsh32 : UopCode::Add32;
          const int64_t shift =
              llvm::isa<ovl::MulOp>(op) ? int64_t(llvm::cast<ovl::MulOp>(op).getShift()) : 0;
          const uint64_t ya = addr(y) + (bc ? 0 : n0 * 4);
          if (bc)
            emitRunWords(Slot::Vector, {uop(uc, addr(t), addr(t), ya, 0, flat, shift, 1)}, 1, {},
                         {});
          else
            emitRunWords(Slot::Vector, {uop(uc, addr(t), addr(t), ya, 0, nj, shift, 0)},
                         uint64_t(R), {nj * 4, nj * 4, 0, 0}, {});
        }
        const uint64_t V = uint64_t(lay_.vocab);
        // A padded vocabulary's extra columns are not stored (then row by row: the
        // scratchpad side of a DMA is contiguous rows).
        const uint64_t cols = n0 < V ? std::min(nj, V - n0) : 0;
        if (cols == nj)
          dma(Slot::Store, 1, lay_.logitsAt + n0 * 4, V * 4, addr(t), uint64_t(R), nj * 4);
        else if (cols > 0)
          for (int64_t r = 0; r < R; ++r)
            dma(Slot::Store, 1, lay_.logitsAt + (uint64_t(r) * V + n0) * 4, V * 4,
                addr(t) + uint64_t(r) * nj * 4, 1, cols * 4);
      } else {
        w.set(f::umm::acc, int64_t(addr(out) + n0 * 4));
        w.set(f::umm::m, 1);
        emitRunWords(Slot::Matrix, {w}, uint64_t(R), {N * 4, K, 0, 0}, {});
      }
    }
  }

  void lowerReturn(func::ReturnOp o) {
    auto args = fn_.getArguments();
    for (unsigned i = 0; i < o.getNumOperands(); ++i) {
      Value v = o.getOperand(i);
      if (i == 0) {
        if (Operation *d = v.getDefiningOp()) {
          auto mm = llvm::dyn_cast<ovl::MatmulOp>(d);
          if ((mm && streamsLogits(mm)) || (!mm && inLogitsChain(d)))
            continue; // stored tile by tile
        }
        View l = operand(v);
        if (!l.contiguous() || l.esize != 4)
          fail(o, "the logits are a strided slice; store them from a whole buffer");
        if (!plan_)
          dma(Slot::Store, 1, lay_.logitsAt, uint64_t(lay_.vocab) * 4, addr(l), uint64_t(l.rows),
              uint64_t(l.cols) * 4);
        continue;
      }
      if (v == args[i])
        continue; // state passed through unchanged
      auto it = stateArg_.find(v);
      if (it == stateArg_.end() || it->second != int(i))
        fail(o, "result " + std::to_string(i) + " is not the updated state of argument " +
                    std::to_string(i));
      // stored by the op that updated it
    }
  }
};

std::vector<long> findLayers(func::FuncOp fn);

/// The signature both entries' functions have: (ids, states...) -> (logits, states...).
void checkSignature(func::FuncOp fn) {
  if (fn.getBody().getBlocks().size() != 1)
    fail(fn, "the function must have one block");
  auto ft = fn.getFunctionType();
  if (ft.getNumInputs() < 1 || ft.getNumResults() != ft.getNumInputs())
    fail(fn, "expected (ids, states...) -> (logits, states...)");
  auto ids = dyn_cast<RankedTensorType>(ft.getInput(0));
  if (!ids || ids.getRank() != 1 || !ids.getElementType().isInteger(32))
    fail(fn, "argument 0 must be the ids, tensor<?xi32>");
  auto logits = dyn_cast<RankedTensorType>(ft.getResult(0));
  if (!logits || logits.getRank() != 2 || logits.isDynamicDim(1) ||
      !logits.getElementType().isInteger(32))
    fail(fn, "result 0 must be the logits, tensor<?xVxi32>");
  for (unsigned i = 1; i < ft.getNumInputs(); ++i) {
    auto t = dyn_cast<RankedTensorType>(ft.getInput(i));
    if (!t || !t.hasStaticShape() || ft.getResult(i) != ft.getInput(i))
      fail(fn, "state argument " + std::to_string(i) +
                   " must be statically shaped and returned with the same type");
  }
}

/// The decode function's states as @main's state bytes cut in order: for each of its state
/// arguments, @main's state argument that holds it and its byte offset there. Empty, with
/// `why`, where a piece straddles two of @main's states, ends off the 64-byte alignment, or
/// the states do not cover the same bytes (the entries could not share them).
std::vector<std::pair<unsigned, uint64_t>> decodeStatePieces(func::FuncOp main, func::FuncOp dec,
                                                             std::string &why) {
  auto bytesOf = [](Type t) {
    auto r = cast<RankedTensorType>(t);
    return uint64_t(r.getNumElements()) * elemBytes(r);
  };
  auto mt = main.getFunctionType(), dt = dec.getFunctionType();
  if (dt.getInput(0) != mt.getInput(0) || dt.getResult(0) != mt.getResult(0)) {
    why = "its ids and logits differ from @main's";
    return {};
  }
  std::vector<std::pair<unsigned, uint64_t>> at(dt.getNumInputs(), {0, 0});
  unsigned m = 1;    // @main's state being cut
  uint64_t used = 0; // its bytes taken so far
  for (unsigned i = 1; i < dt.getNumInputs(); ++i) {
    const uint64_t b = bytesOf(dt.getInput(i));
    if (m >= mt.getNumInputs() || used + b > bytesOf(mt.getInput(m)) ||
        elemBytes(dt.getInput(i)) != elemBytes(mt.getInput(m))) {
      why = "its state argument " + std::to_string(i) + " (" + std::to_string(b) +
            " bytes) is not the next piece of @main's state argument " + std::to_string(m);
      return {};
    }
    at[i] = {m, used};
    used += b;
    if (used == bytesOf(mt.getInput(m))) {
      ++m;
      used = 0;
    } else if (used % kAlign) {
      why = "its state argument " + std::to_string(i) + " ends " + std::to_string(used) +
            " bytes into @main's state argument " + std::to_string(m) + ", not on a " +
            std::to_string(kAlign) + "-byte boundary";
      return {};
    }
  }
  if (m != mt.getNumInputs()) {
    why = "its states cover @main's first " + std::to_string(m - 1) + " of " +
          std::to_string(mt.getNumInputs() - 1) + " state arguments only";
    return {};
  }
  return at;
}

/// Checks the signatures and lays out the DRAM regions (shared by the entries): `fn` (@main)
/// and, where the module has one, the decode entry's own function (ovl.entry = "decode").
void layoutProgram(func::FuncOp fn, const target::Board &board, const EmitOptions &opt,
                   ProgramBuilder &pb, Layout &lay, EmitStats &st) {
  checkSignature(fn);
  auto ft = fn.getFunctionType();
  auto logits = cast<RankedTensorType>(ft.getResult(0));
  // The decode entry's own function (ovl-decode-function), if the module has one.
  func::FuncOp dec;
  if (auto *d = ovl::entryFunction(fn->getParentOp(), "decode"); d && d != fn.getOperation()) {
    dec = dyn_cast<func::FuncOp>(d);
    if (!dec)
      fail(d, "marked ovl.entry = \"decode\" but not a function");
    checkSignature(dec);
  }
  std::vector<std::pair<unsigned, uint64_t>> decStates;
  if (dec) {
    std::string why;
    decStates = decodeStatePieces(fn, dec, why);
    if (decStates.empty()) { // the decode lowers @main, said in a note
      st.notes.push_back("entry decode: lowers @main, not @" + dec.getSymName().str() + " (" + why +
                         ": the entries would not share the state)");
      dec = {};
    }
  }
  std::vector<func::FuncOp> fns = {fn};
  if (dec)
    fns.push_back(dec);
  if (opt.tBlock < 1 || opt.tBlock > 63)
    fail(fn, "t_block " + std::to_string(opt.tBlock) + " is outside 1..63 (the matmul m field)");
  if (opt.semaphores < 1 || opt.semaphores > isa::kNumSems)
    fail(fn, "semaphores " + std::to_string(opt.semaphores) + " is outside 1.." +
                 std::to_string(isa::kNumSems));
  lay.vocab = logits.getDimSize(1);

  // The embedding table, the model header and the weights.
  ovl::ConstantOp table;
  unsigned layers = 0;
  for (Operation &op : fn.getBody().front()) {
    if (auto e = dyn_cast<ovl::EmbedOp>(op)) {
      if (table)
        fail(&op, "more than one embedding");
      table = e.getTable().getDefiningOp<ovl::ConstantOp>();
      if (!table)
        fail(&op, "the embedding table must be a constant");
      lay.dModel = cast<RankedTensorType>(table.getType()).getDimSize(1);
    }
    // A scan split into head groups (ovl-split-head-groups) counts once, at group 0.
    if (llvm::isa<ovl::SsmOp, ovl::SsdChunkOp>(op)) {
      auto g = op.getAttrOfType<DenseI64ArrayAttr>("ovl.head_group");
      layers += !g || g.empty() || g[0] == 0;
    }
  }
  if (!table)
    fail(fn, "no ovl.embed: the program's input rows come from the embedding table");
  st.layers = layers;
  int logitFrac = 0;
  if (auto a = fn->getAttrOfType<IntegerAttr>("ovl.logit_frac"))
    logitFrac = int(a.getInt());

  auto tensor = [&](const std::string &name, unsigned region, uint64_t off, uint64_t bytes,
                    const std::string &dtype) {
    isa::Symbol s;
    s.kind = isa::Symbol::Kind::Tensor;
    s.name = name;
    s.region = uint8_t(region);
    s.offset = off;
    s.bytes = bytes;
    s.dtype = dtype;
    pb.prog.symbols.push_back(s);
  };
  // The const region's bytes are known closely before they are laid out: at most every
  // constant's elements (4-bit weights take half of what their i8 type says) plus each weight
  // row's pad and each piece's alignment. Reserved once, the image is never reallocated (growing
  // by doubling, a 1.4 GB image of a 2.7B model would hold up to twice that, and both copies
  // while it moves).
  {
    uint64_t bound = 64;
    for (func::FuncOp f : fns) {
      f.walk([&](ovl::ConstantOp c) {
        auto t = cast<ShapedType>(c.getValue().getType());
        bound += uint64_t(t.getNumElements()) * (t.getElementType().isInteger(8) ? 1 : 4) + kAlign;
      });
      f.walk([&](ovl::MatmulOp o) {
        bound += uint64_t(cast<ShapedType>(o.getWeight().getType()).getDimSize(0)) * 16 + kAlign;
      });
      f.walk([&](ovl::SsdChunkOp o) {
        for (const ssd::Buffer &b : ssdRecipe(o, opt.tBlock).buffers)
          if (b.role == ssd::Buffer::Const)
            bound += uint64_t(b.elems) * (b.i8 ? 1 : 4) + kAlign;
      });
    }
    if (!pb.dry)
      pb.prog.regions[0].init.reserve(bound);
  }
  std::vector<int32_t> header = {1,
                                 int32_t(lay.dModel),
                                 int32_t(lay.vocab),
                                 int32_t(opt.tBlock),
                                 logitFrac,
                                 int32_t(layers),
                                 0,
                                 0};
  uint64_t at = pb.alloc(0, 32);
  pb.put(at, constBytes(header, 4));
  tensor("model", 0, at, 32, "i32");
  {
    const uint64_t bytes =
        uint64_t(cast<ShapedType>(table.getValue().getType()).getNumElements()) * 4;
    at = pb.alloc(0, bytes);
    if (!pb.dry)
      pb.put(at, constBytes(constValues(table), 4));
    tensor("embedding", 0, at, bytes, "i32");
  }

  // The groups run fused and the tiles (Plan.h): recorded by ovl-fuse / ovl-tile, or computed.
  if (auto e = fusePlan(fn, lay.fuse))
    throw EmitError{formatPlanError(*e)};
  if (auto e = tilePlan(fn, board, opt, lay.tiles))
    throw EmitError{formatPlanError(*e)};
  lay.ringBytes = lay.tiles.ring.bytes;
  lay.ringCount = lay.tiles.ring.count;
  lay.ringMax = lay.tiles.ring.max;
  lay.pipeline = opt.pipelineLoads;
  if (dec) { // its groups and tiles beside @main's (the maps are by op), its own ring
    FusePlan fp;
    if (auto e = fusePlan(dec, fp))
      throw EmitError{formatPlanError(*e)};
    lay.fuse.merge(fp); // every kind (the decode ran only ssmstep / logits fused before)
    TilePlan tp;
    if (auto e = tilePlan(dec, board, opt, tp))
      throw EmitError{formatPlanError(*e)};
    for (auto &kv : tp.mats)
      lay.tiles.mats.insert(kv);
    lay.decode.fn = dec.getOperation();
    lay.decode.ringBytes = tp.ring.bytes;
    lay.decode.ringCount = tp.ring.count;
    lay.decode.ringMax = tp.ring.max;
  }

  // The decode function's constants that @main's same layer has too (its clone's unsplit
  // matmuls, per-channel vectors: the same blobs) are @main's bytes, laid out once. The two
  // functions' constants are laid out layer by layer (@main's layer r, then the decode's), so that
  // each function's layers lie a fixed stride apart, as a layer loop needs.
  std::map<std::array<const void *, 6>, Layout::Mat> matOf; // weights, scales, tile -> layout
  llvm::DenseMap<Attribute, uint64_t> constOf;              // @main's small constants
  llvm::SmallPtrSet<Operation *, 2> tables = {table};       // the host embeds (x): no bytes
  struct Segment {
    func::FuncOp f;
    long lo, hi; // its ops [lo, hi)
  };
  std::vector<Segment> segments;
  auto opCount = [](func::FuncOp f) { return long(f.getBody().front().getOperations().size()); };
  if (dec) {
    dec.walk([&](ovl::EmbedOp e) { tables.insert(e.getTable().getDefiningOp()); });
    const std::vector<long> bm = findLayers(fn), bd = findLayers(dec);
    if (bm.size() >= 2 && bm.size() == bd.size()) {
      std::vector<long> cm = {0}, cd = {0}; // cuts: before the layers, between, after
      cm.insert(cm.end(), bm.begin(), bm.end());
      cd.insert(cd.end(), bd.begin(), bd.end());
      cm.push_back(opCount(fn));
      cd.push_back(opCount(dec));
      for (size_t k = 0; k + 1 < cm.size(); ++k) {
        segments.push_back({fn, cm[k], cm[k + 1]});
        segments.push_back({dec, cd[k], cd[k + 1]});
      }
    }
  }
  if (segments.empty())
    for (func::FuncOp f : fns)
      segments.push_back({f, 0, opCount(f)});
  std::vector<Operation *> segOps;
  for (Segment &sg : segments) {
    const bool isDec = sg.f != fn;
    if (!isDec) { // the decode's next segment shares this one's constants only
      matOf.clear();
      constOf.clear();
    }
    segOps.clear();
    for (Operation &op : sg.f.getBody().front())
      segOps.push_back(&op);
    for (long i = sg.lo; i < sg.hi; ++i) {
      Operation &op = *segOps[size_t(i)];
      if (auto o = dyn_cast<ovl::MatmulOp>(op)) {
        auto wt = cast<RankedTensorType>(o.getWeight().getType());
        const uint64_t N = uint64_t(wt.getDimSize(0)), K = uint64_t(wt.getDimSize(1));
        auto wc = o.getWeight().getDefiningOp<ovl::ConstantOp>();
        auto sc = o.getScales().getDefiningOp<ovl::ConstantOp>();
        if (!wc || !sc)
          fail(&op, "its weights and scales must be constants (they stream from DRAM)");
        const MatTile &tile = lay.tiles.mats.find(&op)->second;
        const std::array<const void *, 6> key = {
            wc.getValue().getAsOpaquePointer(),
            sc.getValue().getAsOpaquePointer(),
            reinterpret_cast<const void *>(uintptr_t(tile.nt)),
            reinterpret_cast<const void *>(uintptr_t(tile.pitch)),
            reinterpret_cast<const void *>(uintptr_t(tile.k)),
            reinterpret_cast<const void *>(uintptr_t(o.getBits()))};
        if (auto it = matOf.find(key); isDec && it != matOf.end()) {
          lay.mats[&op] = it->second;
          continue;
        }
        Layout::Mat m;
        m.kb = tile.kb;
        m.g = tile.g;
        m.k = tile.k;
        m.group = tile.group;
        m.pitch = tile.pitch;
        m.nt = tile.nt;
        // Tile-interleaved: tile j = its rows' weights then their scales, one DMA per tile.
        if (pb.dry) { // its size only
          uint64_t bytes = 0;
          for (uint64_t n0 = 0; n0 < N; n0 += m.nt) {
            const uint64_t nj = std::min(m.nt, N - n0);
            bytes = alignUp(bytes + nj * m.pitch + nj * m.g * 4);
          }
          m.at = pb.alloc(0, bytes);
          lay.mats[&op] = m;
          if (!isDec)
            matOf.insert({key, m});
          continue;
        }
        auto w = constValues(wc), s = constValues(sc);
        std::vector<uint8_t> img;
        img.reserve(N * (m.kb + 4 * m.g) + (N / m.nt + 1) * kAlign);
        for (uint64_t n0 = 0; n0 < N; n0 += m.nt) {
          const uint64_t nj = std::min(m.nt, N - n0);
          for (uint64_t r = n0; r < n0 + nj; ++r) {
            if (o.getBits() == 4) {
              for (uint64_t k = 0; k < K; k += 2) {
                int32_t lo = w[r * K + k], hi = w[r * K + k + 1];
                if (lo < -8 || lo > 7 || hi < -8 || hi > 7)
                  fail(&op, "a 4-bit weight is outside -8..7");
                img.push_back(uint8_t((lo & 0xF) | ((hi & 0xF) << 4)));
              }
            } else {
              for (uint64_t k = 0; k < K; ++k)
                img.push_back(uint8_t(int8_t(w[r * K + k])));
            }
            img.resize(img.size() + (m.pitch - m.kb), 0); // the zero pad
          }
          for (uint64_t r = n0; r < n0 + nj; ++r)
            for (uint64_t g = 0; g < m.g; ++g) {
              auto b = constBytes({s[r * m.g + g]}, 4);
              img.insert(img.end(), b.begin(), b.end());
            }
          img.resize(alignUp(img.size()));
        }
        m.at = pb.alloc(0, img.size());
        pb.put(m.at, img);
        st.weightBytes += img.size();
        lay.mats[&op] = m;
        if (!isDec)
          matOf.insert({key, m});
        continue;
      }
      // A chunked SSD op's recipe constants (built at the prefill's rows: lowerSsdChunk checks
      // that each call's recipe has the same), after the op's layer's other constants.
      if (auto o = dyn_cast<ovl::SsdChunkOp>(op)) {
        const ssd::Recipe r = ssdRecipe(o, opt.tBlock);
        for (size_t b = 0; b < r.buffers.size(); ++b) {
          const ssd::Buffer &rb = r.buffers[b];
          if (rb.role != ssd::Buffer::Const)
            continue;
          const unsigned es = rb.i8 ? 1 : 4;
          const uint64_t a = pb.alloc(0, uint64_t(rb.elems) * es);
          std::vector<int32_t> v = rb.init;
          v.resize(size_t(rb.elems), 0);
          pb.put(a, constBytes(v, es));
          lay.ssdConsts[{&op, int(b)}] = {a, rb.init};
        }
      }
      // Every other constant operand: raw little-endian bytes.
      for (Value v : op.getOperands()) {
        auto c = v.getDefiningOp<ovl::ConstantOp>();
        if (!c || tables.contains(c) || lay.constAt.count(v))
          continue;
        // (Only a blob of its own is the same constant: a dense value, e.g. a splat 0, may be
        // another op's in some layers and not in others, which would break the stride.)
        if (auto it = constOf.find(c.getValue()); isDec && it != constOf.end()) {
          lay.constAt[v] = it->second;
          continue;
        }
        const uint64_t size =
            uint64_t(cast<ShapedType>(c.getType()).getNumElements()) * elemBytes(c.getType());
        uint64_t a = pb.alloc(0, size);
        if (!pb.dry)
          pb.put(a, constBytes(constValues(c), elemBytes(c.getType())));
        lay.constAt[v] = a;
        if (!isDec && llvm::isa<DenseResourceElementsAttr>(c.getValue()))
          constOf.insert({c.getValue(), a});
        if (auto name = c.getName(); name && !isDec)
          tensor(name->str(), 0, a, size, elemBytes(c.getType()) == 1 ? "i8" : "i32");
      }
    }
  }

  // io: x then logits.
  lay.xAt = pb.alloc(1, uint64_t(opt.tBlock) * uint64_t(lay.dModel) * 4);
  tensor("x", 1, lay.xAt, uint64_t(opt.tBlock) * uint64_t(lay.dModel) * 4, "i32");
  lay.logitsAt = pb.alloc(1, uint64_t(opt.tBlock) * uint64_t(lay.vocab) * 4);
  tensor("logits", 1, lay.logitsAt, uint64_t(opt.tBlock) * uint64_t(lay.vocab) * 4, "i32");
  // state: one tensor per state argument, zeros.
  lay.stateAt.assign(ft.getNumInputs(), 0);
  for (unsigned i = 1; i < ft.getNumInputs(); ++i) {
    auto t = cast<RankedTensorType>(ft.getInput(i));
    const unsigned es = elemBytes(t);
    uint64_t bytes = uint64_t(t.getNumElements()) * es;
    lay.stateAt[i] = pb.alloc(2, bytes);
    tensor("state" + std::to_string(i), 2, lay.stateAt[i], bytes, es == 1 ? "i8" : "i32");
    st.stateBytes += bytes;
  }
  if (dec) // its states: the bytes of @main's that hold them
    for (auto [m, off] : decStates)
      lay.decode.stateAt.push_back(lay.stateAt[m] + off);
  pb.prog.regions[0].size = std::max<uint64_t>(pb.prog.regions[0].size, 1);
  if (!pb.dry)
    pb.prog.regions[0].init.resize(pb.prog.regions[0].size);
  st.constBytes = pb.prog.regions[0].size;
}

// ---- per-layer hardware loops ----

/// The repeating part of the function body: layer r is ops [bounds[r], bounds[r+1]) (indices
/// among all ops of the body, constants included). Layers are found by their op sequence
/// (names, types, which earlier op or what kind of value each operand is), never by a fixed op
/// list; attributes may differ (the instructions they give are compared later).
std::vector<long> findLayers(func::FuncOp fn) {
  std::vector<long> full;    // non-constant op -> its index in the body
  std::vector<uint64_t> sig; // its signature
  llvm::DenseMap<Operation *, long> ordinal;
  long k = 0;
  for (Operation &op : fn.getBody().front()) {
    const long idx = k++;
    if (llvm::isa<ovl::ConstantOp>(op))
      continue;
    const long me = long(full.size());
    ordinal[&op] = me;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << op.getName() << "(";
    for (Value v : op.getOperands()) {
      if (auto a = dyn_cast<BlockArgument>(v))
        os << "a" << v.getType();
      else if (llvm::isa<ovl::ConstantOp>(v.getDefiningOp()))
        os << "c" << v.getType();
      else
        os << "d" << (me - ordinal.lookup(v.getDefiningOp())) << "."
           << cast<OpResult>(v).getResultNumber();
      os << ",";
    }
    os << ")->";
    for (Type t : op.getResultTypes())
      os << t << ",";
    full.push_back(idx);
    sig.push_back(llvm::hash_value(os.str()));
  }
  const size_t n = sig.size();
  size_t bestP = 0, bestStart = 0, bestSpan = 0;
  for (size_t p = 1; 2 * p <= n; ++p) {
    size_t run = 0, start = 0;
    for (size_t i = 0; i + p < n; ++i) {
      if (sig[i] == sig[i + p]) {
        if (run == 0)
          start = i;
        ++run;
        if (run + p > bestSpan && run + p >= 2 * p) {
          bestSpan = run + p;
          bestP = p;
          bestStart = start;
        }
      } else {
        run = 0;
      }
    }
  }
  std::vector<long> bounds;
  if (bestP == 0)
    return bounds;
  const size_t reps = bestSpan / bestP;
  for (size_t r = 0; r <= reps; ++r) {
    const size_t at = bestStart + r * bestP;
    bounds.push_back(at < n ? full[at] : k);
  }
  return bounds;
}

/// The layer loop's body rotated by one op for the addsumsq groups (Plan.h): where every layer
/// but the first opens with the sumsq of an addsumsq group (the previous layer's residual add
/// fused with this layer's norm) and the op right after the last layer is one too (the final
/// norm's), each layer's bound moves past that sumsq: a layer is then [its norm's rsqrt ..
/// its residual add + the next norm's sum of squares], all alike, and the first layer's sumsq of
/// the embedding comes before the loop. Otherwise the bounds stay (the first layer, which then
/// differs, is unrolled).
std::vector<long> rotateForAddSumsq(std::vector<long> bounds, const std::vector<Operation *> &ops,
                                    const FusePlan &fuse) {
  if (bounds.size() < 2)
    return bounds;
  auto fusedSumsqAt = [&](long i) {
    if (i < 0 || i >= long(ops.size()) || !llvm::isa<ovl::SumsqOp>(ops[size_t(i)]))
      return false;
    auto it = fuse.mulOf.find(ops[size_t(i)]);
    return it != fuse.mulOf.end() && llvm::isa<ovl::AddOp>(it->second);
  };
  if (bounds.front() >= long(ops.size()) || !llvm::isa<ovl::SumsqOp>(ops[size_t(bounds.front())]))
    return bounds;
  for (size_t r = 1; r < bounds.size(); ++r)
    if (!fusedSumsqAt(bounds[r]))
      return bounds;
  for (long &b : bounds)
    ++b;
  return bounds;
}

/// Fields of the micro-op and slot formats, for saying which one differs.
std::vector<std::pair<const char *, isa::BitField>> uopFields(const isa::UopWord &w) {
  auto code = UopCode(w.raw(f::uop::uop));
  if (code == UopCode::Gmm8 || code == UopCode::Gmm4 || code == UopCode::Mm8 ||
      code == UopCode::Mm4)
    return {{"acc", f::umm::acc},    {"act", f::umm::act},     {"wgt", f::umm::wgt},
            {"scl", f::umm::scl},    {"m", f::umm::m},         {"k", f::umm::k},
            {"n", f::umm::n},        {"group", f::umm::group}, {"shift", f::umm::shift},
            {"accum", f::umm::accum}};
  if (code == UopCode::Load2d || code == UopCode::Store2d)
    return {{"spad", f::udma::spad},
            {"region", f::udma::region},
            {"rows", f::udma::rows},
            {"rowb", f::udma::rowb},
            {"stride", f::udma::stride}};
  return {{"dst", f::uop::dst},   {"src0", f::uop::src0}, {"src1", f::uop::src1},
          {"src2", f::uop::src2}, {"len", f::uop::len},   {"p0", f::uop::p0},
          {"p1", f::uop::p1},     {"p2", f::uop::p2}};
}

bool isXfer(const Inst &in) {
  const auto op = in.word.raw(f::none::op);
  return (in.unit == Slot::Load && op == isa::op::load::dma) ||
         (in.unit == Slot::Store && op == isa::op::store::dma);
}

/// Fewer DMAs for the weight stream (EmitOptions::pipelineLoads): a `load.dma` of one
/// contiguous span and the next instruction of the load unit's queue, another such load from
/// the same region whose span follows it at the same distance in DRAM and in the scratchpad
/// (the first buffer's alignment padding between them, if any), become one load, unless an
/// instruction between them touches the second's bytes. A small DMA costs the engine its
/// schedule's fixed cycles and reaches few ports (hw::dmaCostAt): a layer's constants (norm
/// weights, tables, conv parameters, per-channel scales), laid out one after the other in
/// the const region and loaded one after the other into the load pool, are a few loads
/// instead of dozens. Loads of different layers (`bounds`, findLayers) stay apart, so the
/// layers' instruction lists still repeat (foldLayers). Returns the loads merged away.
size_t mergeLoads(std::vector<Inst> &insts, const std::vector<long> &bounds) {
  auto layerOf = [&](long op) {
    return long(std::upper_bound(bounds.begin(), bounds.end(), op) - bounds.begin());
  };
  auto plain = [](const Inst &in) {
    return in.unit == Slot::Load && in.word.raw(f::none::op) == isa::op::load::dma &&
           in.word.raw(f::xfer::rows) == 1 &&
           in.word.raw(f::xfer::stride) == in.word.raw(f::xfer::rowb) &&
           in.word.raw(f::xfer::sreg) == 0 && in.word.raw(f::xfer::dreg) == 0 &&
           !in.word.raw(f::none::wen) && !in.word.raw(f::none::sen);
  };
  auto touches = [](const Inst &a, const Inst &b) {
    for (const Access &x : a.access)
      for (const Access &y : b.access)
        if (x.space == y.space && (x.write || y.write) && x.lo < y.hi && y.lo < x.hi)
          return true;
    return false;
  };
  // Greedy chains: into[j] = the load j is merged into (-1: none), for loads j `allowed`.
  auto chains = [&](const std::vector<bool> &allowed) {
    std::vector<long> into(insts.size(), -1);
    for (size_t i = 0; i < insts.size(); ++i) {
      if (into[i] >= 0 || !plain(insts[i]))
        continue;
      const uint64_t sa = insts[i].word.raw(f::xfer::spad), da = insts[i].word.raw(f::xfer::dram);
      uint64_t na = insts[i].word.raw(f::xfer::rowb);
      for (size_t j = i + 1; j < insts.size(); ++j) {
        if (insts[j].unit != Slot::Load)
          continue;
        const Inst &b = insts[j];
        if (!allowed[j] || !plain(b))
          break;
        const uint64_t sb = b.word.raw(f::xfer::spad), db = b.word.raw(f::xfer::dram);
        const uint64_t nb = b.word.raw(f::xfer::rowb);
        if (layerOf(insts[i].op) != layerOf(b.op) ||
            insts[i].word.raw(f::xfer::region) != b.word.raw(f::xfer::region) || sb < sa ||
            db < da || sb - sa != db - da || sb - sa < na || sb - sa > alignUp(na) ||
            sb - sa + nb > kMaxRowb)
          break;
        bool clear = true;
        for (size_t k = i + 1; k < j && clear; ++k)
          clear = into[k] >= 0 || !touches(insts[k], b);
        if (!clear)
          break;
        into[j] = long(i);
        na = sb - sa + nb;
      }
    }
    return into;
  };
  std::vector<bool> allowed(insts.size(), true);
  std::vector<long> into = chains(allowed);
  // Repeating layers merge alike: a load merges only where it does so in every layer (where
  // the layers have as many instructions; the layers' lists then still repeat). Fewer merges
  // keep the others valid: a chain that starts later has fewer instructions between.
  const size_t reps = bounds.size() < 3 ? 0 : bounds.size() - 1;
  std::vector<size_t> lo(reps + 1, insts.size());
  for (size_t r = 0, i = 0; r <= reps && reps; ++r) {
    while (i < insts.size() && insts[i].op >= 0 && insts[i].op < bounds[r])
      ++i;
    lo[r] = i;
  }
  if (reps >= 2) {
    const size_t n = lo[1] - lo[0];
    bool same = true;
    for (size_t r = 1; r < reps && same; ++r)
      same = lo[r + 1] - lo[r] == n;
    for (size_t k = 0; same && k < n; ++k) {
      bool all = true;
      for (size_t r = 0; r < reps && all; ++r)
        all = into[lo[r] + k] >= 0;
      for (size_t r = 0; r < reps && !all; ++r)
        allowed[lo[r] + k] = false;
    }
    into = chains(allowed);
  }
  size_t merged = 0;
  for (size_t j = 0; j < insts.size(); ++j) {
    if (into[j] < 0)
      continue;
    Inst &a = insts[size_t(into[j])];
    const Inst &b = insts[j];
    const uint64_t len =
        b.word.raw(f::xfer::spad) + b.word.raw(f::xfer::rowb) - a.word.raw(f::xfer::spad);
    a.word.set(f::xfer::rowb, int64_t(len));
    a.word.set(f::xfer::stride, int64_t(len));
    for (Access &x : a.access)
      for (const Access &y : b.access)
        if (x.space == y.space) {
          x.lo = std::min(x.lo, y.lo);
          x.hi = std::max(x.hi, y.hi);
        }
    ++merged;
  }
  size_t o = 0;
  for (size_t i = 0; i < insts.size(); ++i)
    if (into[i] < 0) {
      if (o != i)
        insts[o] = std::move(insts[i]);
      ++o;
    }
  insts.resize(o);
  return merged;
}

/// Whether `b` is `a` with its DRAM offsets moved by one amount (returned in `delta`); else
/// why not (in `why`, when given). With `perLayer`, a run whose micro-ops differ from `a`'s
/// only in immediates (no scratchpad address, same ranges) matches too, and sets *perLayer:
/// a layer loop keeps its micro-ops per iteration (`ureg`).
bool sameButDram(const Inst &a, const Inst &b, int64_t &delta, std::string *why,
                 bool *perLayer = nullptr) {
  auto no = [&](const std::string &w) {
    if (why)
      *why = w;
    return false;
  };
  if (a.unit != b.unit || a.uops.size() != b.uops.size() || a.access.size() != b.access.size())
    return no("a different instruction");
  std::optional<int64_t> d;
  auto dram = [&](int64_t x, int64_t y) {
    if (!d)
      d = y - x;
    return *d == y - x;
  };
  isa::SlotWord wa = a.word, wb = b.word;
  if (isXfer(a)) {
    if (!dram(int64_t(wa.raw(f::xfer::dram)), int64_t(wb.raw(f::xfer::dram))))
      return no("DRAM offsets that move by different amounts");
    wa.set(f::xfer::dram, 0);
    wb.set(f::xfer::dram, 0);
    if (wa.raw(f::xfer::spad) != wb.raw(f::xfer::spad))
      return no("a DMA's scratchpad address (" + std::to_string(wa.raw(f::xfer::spad)) + " vs " +
                std::to_string(wb.raw(f::xfer::spad)) + "): buffers placed differently");
  }
  if (!(wa == wb)) {
    return no("a different run (iterations, strides or micro-op count)");
  }
  for (size_t k = 0; k < a.uops.size(); ++k) {
    isa::UopWord ua = a.uops[k], ub = b.uops[k];
    const auto code = UopCode(ua.raw(f::uop::uop));
    if (code != UopCode(ub.raw(f::uop::uop)))
      return no("a different micro-op");
    if (code == UopCode::Load2d || code == UopCode::Store2d) {
      if (!dram(int64_t(ua.raw(f::udma::dram)), int64_t(ub.raw(f::udma::dram))))
        return no("DRAM offsets that move by different amounts");
      ua.set(f::udma::dram, 0);
      ub.set(f::udma::dram, 0);
    }
    if (!(ua == ub)) {
      std::string imm; // the first immediate that differs
      for (auto &[name, fld] : uopFields(ua))
        if (ua.raw(fld) != ub.raw(fld)) {
          const std::string nm = name;
          const bool address = nm == "dst" || nm == "src0" || nm == "src1" || nm == "src2" ||
                               nm == "acc" || nm == "act" || nm == "wgt" || nm == "scl" ||
                               nm == "spad";
          const std::string what = std::string("micro-op field ") + name + " (" +
                                   std::to_string(ua.get(fld)) + " vs " +
                                   std::to_string(ub.get(fld));
          if (address)
            return no(what + "): a scratchpad address, buffers placed differently");
          if (imm.empty())
            imm = what + "): an immediate";
        }
      if (!perLayer)
        return no(imm.empty() ? "a different micro-op" : imm);
      *perLayer = true; // only immediates differ (the ranges are compared below)
    }
  }
  const int64_t dd = d.value_or(0);
  for (size_t k = 0; k < a.access.size(); ++k) {
    const Access &x = a.access[k], &y = b.access[k];
    const int64_t s = x.space ? dd : 0;
    if (x.space != y.space || x.write != y.write || int64_t(y.lo) - int64_t(x.lo) != s ||
        int64_t(y.hi) - int64_t(x.hi) != s)
      return no("different memory ranges");
  }
  if (dd < 0)
    return no("DRAM offsets that decrease");
  delta = dd;
  return true;
}

/// An entry's instruction list with its layers folded into one hardware loop where they repeat.
struct Folded {
  std::vector<Inst> insts;
  LoopPlan plan; // count 0: no loop
  unsigned first = 0, per = 0;
  std::vector<std::string> notes;
  /// With plan.ustride: the per-iteration micro-ops, count blocks of ustride words.
  std::vector<isa::UopWord> iterUops;
};

/// `perLayerUops`: runs whose micro-ops differ only in immediates from layer to layer may be in
/// the loop (their micro-ops kept per iteration, `ureg`); else such a layer is unrolled.
Folded foldLayers(std::vector<Inst> insts, const std::vector<long> &bounds,
                  const std::vector<Operation *> &ops, const std::string &entry,
                  bool perLayerUops) {
  Folded fo;
  const size_t reps = bounds.empty() ? 0 : bounds.size() - 1;
  if (reps < 2) { // nothing repeats: nothing to loop over
    fo.insts = std::move(insts);
    return fo;
  }
  // lo[r]: first instruction of layer r (lo[reps]: first after the layers).
  std::vector<size_t> lo(reps + 1, insts.size());
  for (size_t r = 0, i = 0; r <= reps; ++r) {
    while (i < insts.size() && insts[i].op >= 0 && insts[i].op < bounds[r])
      ++i;
    lo[r] = i;
  }
  auto where = [&](const Inst &in) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "'" << in.what << "'";
    if (in.op >= 0 && size_t(in.op) < ops.size()) {
      os << " at ";
      ops[size_t(in.op)]->getLoc().print(os);
    }
    return os.str();
  };
  // Blocks of q layers from layer r: whether the block at r+q is the one at r moved in DRAM.
  // `vary` (when given): the body positions whose micro-ops differ (immediates only).
  auto match = [&](size_t r, size_t q, std::vector<int64_t> &d, std::string *why,
                   std::vector<uint8_t> *vary = nullptr) {
    const size_t a0 = lo[r], a1 = lo[r + q], b0 = lo[r + q], b1 = lo[r + 2 * q];
    if (a1 - a0 != b1 - b0) {
      if (why)
        *why = "layer " + std::to_string(r + q) + " has " + std::to_string(b1 - b0) +
               " instructions, layer " + std::to_string(r) + " " + std::to_string(a1 - a0);
      return false;
    }
    d.assign(a1 - a0, 0);
    if (vary)
      vary->assign(a1 - a0, 0);
    for (size_t i = 0; i < a1 - a0; ++i) {
      std::string w;
      bool pl = false;
      if (!sameButDram(insts[a0 + i], insts[b0 + i], d[i], why ? &w : nullptr,
                       perLayerUops ? &pl : nullptr)) {
        if (why)
          *why = "layer " + std::to_string(r + q) + " differs from layer " + std::to_string(r) +
                 " in " + where(insts[b0 + i]) + ": " + w;
        return false;
      }
      if (vary)
        (*vary)[i] = pl;
    }
    return true;
  };
  size_t bestA = 0, bestQ = 0, bestN = 0;
  std::vector<int64_t> bestD;
  std::vector<uint8_t> bestV;
  for (size_t q = 1; 2 * q <= reps && q <= 4; ++q)
    for (size_t a = 0; a + 2 * q <= reps; ++a) {
      std::vector<int64_t> d0, d;
      std::vector<uint8_t> v0, v;
      if (!match(a, q, d0, nullptr, &v0))
        continue;
      size_t n = 2;
      while (a + (n + 1) * q <= reps && match(a + (n - 1) * q, q, d, nullptr, &v) && d == d0) {
        for (size_t i = 0; i < v.size(); ++i)
          v0[i] |= v[i];
        ++n;
      }
      if (n * q > bestN * bestQ) {
        bestA = a;
        bestQ = q;
        bestN = n;
        bestD = d0;
        bestV = v0;
      }
    }
  // Why a layer is not in the loop: how it differs from its neighbour.
  auto neighbour = [&](size_t r) {
    std::string why;
    std::vector<int64_t> d;
    if (r < bestA && r + 1 < reps && !match(r, 1, d, &why))
      return why;
    if (r >= bestQ && r + bestQ <= reps && !match(r - bestQ, bestQ, d, &why))
      return why;
    return std::string("its DRAM offsets do not move with the loop's");
  };
  if (bestN < 2) {
    fo.notes.push_back("entry " + entry + ": no layer loop, every layer unrolled");
    for (size_t r = 0; r + 1 < reps; ++r) {
      std::string why;
      std::vector<int64_t> d;
      if (!match(r, 1, d, &why))
        fo.notes.push_back("entry " + entry + ": " + why);
    }
    fo.insts = std::move(insts);
    return fo;
  }
  const size_t end = bestA + bestN * bestQ;
  fo.notes.push_back("entry " + entry + ": layers " + std::to_string(bestA) + ".." +
                     std::to_string(end - 1) + " in a hardware loop (" + std::to_string(bestN) +
                     " iterations of " + std::to_string(bestQ) + " layer" + (bestQ > 1 ? "s" : "") +
                     ")");
  for (size_t r = 0; r < reps; ++r)
    if (r < bestA || r >= end)
      fo.notes.push_back("entry " + entry + ": layer " + std::to_string(r) +
                         " unrolled: " + neighbour(r));
  fo.first = unsigned(bestA);
  fo.per = unsigned(bestQ);
  fo.plan.begin = lo[bestA];
  fo.plan.end = lo[bestA + bestQ];
  fo.plan.count = unsigned(bestN);
  fo.plan.delta = bestD;
  // Runs whose immediates differ: iteration k's micro-ops in block k (DMA offsets as in
  // iteration 0: the DRAM registers move them).
  const size_t nb = fo.plan.end - fo.plan.begin;
  fo.plan.uoff.assign(nb, -1);
  size_t runs = 0;
  for (size_t i = 0; i < nb; ++i)
    if (bestV[i]) {
      fo.plan.uoff[i] = int32_t(fo.plan.ustride);
      fo.plan.ustride += uint32_t(insts[fo.plan.begin + i].uops.size());
      ++runs;
    }
  for (size_t k = 0; k < bestN && fo.plan.ustride; ++k)
    for (size_t i = 0; i < nb; ++i) {
      if (!bestV[i])
        continue;
      const std::vector<isa::UopWord> &first = insts[fo.plan.begin + i].uops;
      for (size_t j = 0; j < first.size(); ++j) {
        isa::UopWord w = insts[lo[bestA + k * bestQ] + i].uops[j];
        const auto code = UopCode(w.raw(f::uop::uop));
        if (code == UopCode::Load2d || code == UopCode::Store2d)
          w.set(f::udma::dram, first[j].raw(f::udma::dram));
        fo.iterUops.push_back(w);
      }
    }
  if (runs)
    fo.notes.push_back("entry " + entry +
                       ": per-iteration micro-ops (ureg): " + std::to_string(runs) +
                       " run(s) whose immediates differ from layer to "
                       "layer, " +
                       std::to_string(fo.plan.ustride) + " word(s) per iteration");
  fo.insts.assign(insts.begin(), insts.begin() + long(lo[bestA + bestQ]));
  fo.insts.insert(fo.insts.end(), insts.begin() + long(lo[end]), insts.end());
  return fo;
}

/// Places every run's micro-ops in the microcode store (identical sequences once) and sets
/// their ustart.
void placeMicrocode(ProgramBuilder &pb, std::vector<Inst> &insts,
                    const std::vector<Operation *> &ops, const Folded *fo = nullptr) {
  // A layer loop's runs with per-iteration micro-ops: placed after the others, all
  // iterations' blocks in one piece.
  const bool perIter = fo && fo->plan.count && fo->plan.ustride;
  auto iterRun = [&](size_t idx) {
    return perIter && idx >= fo->plan.begin && idx < fo->plan.end &&
           fo->plan.uoff[idx - fo->plan.begin] >= 0;
  };
  for (size_t idx = 0; idx < insts.size(); ++idx) {
    Inst &in = insts[idx];
    if (in.uops.empty() || iterRun(idx))
      continue;
    uint32_t start = pb.ucode(in.uops);
    if (start + in.uops.size() > isa::kUcodeWords)
      fail(in.op >= 0 && size_t(in.op) < ops.size() ? ops[size_t(in.op)] : nullptr,
           "the microcode store (" + std::to_string(isa::kUcodeWords) + " words) is full");
    in.word.set(f::run::ustart, start);
  }
  if (!perIter)
    return;
  const uint32_t base = pb.ucode(fo->iterUops);
  if (base + fo->iterUops.size() > isa::kUcodeWords)
    fail(nullptr, "the microcode store (" + std::to_string(isa::kUcodeWords) +
                      " words) is full (the layer loop's per-iteration micro-ops)");
  for (size_t idx = fo->plan.begin; idx < fo->plan.end; ++idx)
    if (iterRun(idx))
      insts[idx].word.set(f::run::ustart, base + uint32_t(fo->plan.uoff[idx - fo->plan.begin]));
}

/// The microcode words placeMicrocode would use for `folded` (identical sequences once).
size_t ucodeWordsOf(const ProgramBuilder &pb, const std::vector<Folded> &folded) {
  std::set<std::vector<uint64_t>> seqs;
  size_t words = pb.prog.ucode.size();
  auto add = [&](const std::vector<isa::UopWord> &uops) {
    std::vector<uint64_t> key;
    for (const auto &w : uops)
      key.insert(key.end(), w.w.begin(), w.w.end());
    if (!uops.empty() && !pb.ucodeIndex.count(key) && seqs.insert(key).second)
      words += uops.size();
  };
  for (const Folded &fo : folded) {
    const bool perIter = fo.plan.count && fo.plan.ustride;
    if (perIter)
      add(fo.iterUops);
    for (size_t i = 0; i < fo.insts.size(); ++i)
      if (!perIter || i < fo.plan.begin || i >= fo.plan.end || fo.plan.uoff[i - fo.plan.begin] < 0)
        add(fo.insts[i].uops);
  }
  return words;
}

} // namespace

namespace {
llvm::Expected<isa::Program> emitOnce(func::FuncOp fn, const target::Board &board,
                                      const EmitOptions &options, EmitStats *stats,
                                      bool blockLayersAlike = false, bool *storeFull = nullptr) {
  EmitStats local;
  EmitStats &st = stats ? *stats : local;
  st = EmitStats{};
  ProgramBuilder pb;
  pb.prog.target = board.name;
  pb.dry = options.probe;
  Layout lay;
  try {
    layoutProgram(fn, board, options, pb, lay, st);
    // Each entry lowers its function: the decode the module's decode function where
    // ovl-decode-function made one (head groups per phase), else @main like the prefill.
    func::FuncOp decFn =
        lay.decode.fn ? cast<func::FuncOp>(lay.decode.fn) : fn; // layoutProgram found it
    std::tuple<const char *, unsigned, func::FuncOp> entries[] = {{"prefill", options.tBlock, fn},
                                                                  {"decode", 1, decFn}};
    std::vector<std::vector<Operation *>> opsOf; // per entry: its function's body
    std::vector<std::vector<long>> boundsOf;     // per entry: its layers (findLayers)
    for (auto &[name, rows, efn] : entries) {
      (void)name;
      (void)rows;
      opsOf.emplace_back();
      for (Operation &op : efn.getBody().front())
        opsOf.back().push_back(&op);
      boundsOf.push_back(options.layerLoop
                             ? rotateForAddSumsq(findLayers(efn), opsOf.back(), lay.fuse)
                             : std::vector<long>{});
    }
    std::vector<std::vector<Inst>> lists;
    std::vector<Folded> folded;
    std::vector<bool> blocked; // emitted in row blocks: unrolled, no layer loop
    for (auto &[name, rows, efn] : entries) {
      const std::vector<long> &bounds = boundsOf[lists.size()];
      EmitStats::Entry es;
      es.name = name;
      es.function = efn.getSymName().str();
      es.rows = rows;
      const unsigned rb = rows > 1 ? options.prefillRowBlocks : 1;
      const bool blk = EntryEmitter(efn, board, pb, lay, rows, {}, rb).rowBlocked();
      EntryEmitter ee(efn, board, pb, lay, rows, blk ? std::vector<long>{} : bounds, blk ? rb : 1,
                      blk && blockLayersAlike);
      blocked.push_back(blk);
      if (options.probe) { // its buffers placed, nothing emitted
        ee.place(es.spadPeak, es.ringBuffers);
        st.entries.push_back(es);
        continue;
      }
      lists.push_back(ee.run(es.spadPeak, es.ringBuffers));
      if (options.pipelineLoads && !ee.rowBlocked()) // op by op, as the rest of the pipelining
        mergeLoads(lists.back(), bounds);
      // A ring running on across the layers loops over blocks of layers; where a layer is
      // unrolled anyway (layer 0, fed by the embedding) the blocks may then not fit in what
      // is left: keep the restart at each layer where its loop covers more layers.
      if (ee.ringRanOn() && bounds.size() > 2) {
        const size_t e = lists.size() - 1;
        const Folded a = foldLayers(lists[e], bounds, opsOf[e], name, true);
        if (size_t(a.plan.count) * a.per < bounds.size() - 1) {
          EntryEmitter re(efn, board, pb, lay, rows, bounds, 1);
          re.allowRingRunOn(false);
          EmitStats::Entry es2 = es;
          std::vector<Inst> l2 = re.run(es2.spadPeak, es2.ringBuffers);
          mergeLoads(l2, bounds);
          const Folded b = foldLayers(l2, bounds, opsOf[e], name, true);
          if (size_t(b.plan.count) * b.per > size_t(a.plan.count) * a.per) {
            lists[e] = std::move(l2);
            es = es2;
            st.notes.push_back(
                std::string("entry ") + name +
                ": the weight ring restarts at each layer (running on across the layers, its "
                "loop would cover " +
                std::to_string(size_t(a.plan.count) * a.per) + " of " +
                std::to_string(bounds.size() - 1) + " layers, restarting " +
                std::to_string(size_t(b.plan.count) * b.per) + ")");
          }
        }
      }
      es.rowBlocks = ee.rowBlocked() ? ee.rowBlocks() : 1;
      st.entries.push_back(es);
    }
    if (options.probe)
      return isa::Program{};
    // An entry's channels planned on its unfolded list `list` (semaphores shared where the
    // waits interleave provably, unless the options say not to or the schedule of `insts` finds
    // the sharing unproven on its own analysis: then planned again without), then scheduled.
    auto planAndSchedule =
        [&](const std::vector<Inst> &list, const std::vector<Inst> &insts, const LoopPlan *plan,
            const std::vector<std::pair<unsigned, unsigned>> &required, SemTable &sems) {
          // A channel whose sharing the schedule cannot prove is kept alone in the next try.
          bool noShare[isa::kNumSlots][isa::kNumSlots] = {};
          for (unsigned tries = 0;
               options.shareSemaphores && tries < isa::kNumSlots * isa::kNumSlots; ++tries) {
            sems = SemTable();
            sems.limit = options.semaphores;
            std::memcpy(sems.noShare, noShare, sizeof noShare);
            planChannels({&list}, sems, required, {}, true);
            ScheduleResult sr = schedule(insts, sems, plan);
            if (sr.error.empty())
              return sr;
            if (sr.unshare.first < 0)
              break;
            noShare[sr.unshare.first][sr.unshare.second] = true;
          }
          sems = SemTable();
          sems.limit = options.semaphores;
          planChannels({&list}, sems, required);
          return schedule(insts, sems, plan);
        };
    // Layer loops: fold, and keep a loop only if it schedules (with the channels it needs).
    std::vector<std::vector<std::pair<unsigned, unsigned>>> loopChs(lists.size());
    struct Aligned {
      size_t e;
      std::vector<Inst> insts;
      EmitStats::Entry es;
    };
    std::vector<Aligned> aligned; // entries without a loop, as emitted for one
    // Per-iteration micro-ops (ureg) unless the entries' microcode would then overflow the
    // store (each iteration keeps its own words; unrolled layers share the words they agree
    // on): then the loop spans the first layers only, as many as fit (the others unrolled),
    // and where not even two fit, layers whose immediates differ are unrolled instead.
    bool perLayerUops = true;
    std::vector<std::vector<long>> spanOf = boundsOf; // the layers a loop may cover
    const size_t store = options.loopUcodeWords ? options.loopUcodeWords : isa::kUcodeWords;
    size_t all = 0; // the layers every entry's function has
    for (const std::vector<long> &b : boundsOf)
      if (!b.empty())
        all = all ? std::min(all, b.size() - 1) : b.size() - 1;
    if (options.layerLoop && all > 0) {
      auto first = [&](size_t e, size_t layers) {
        const std::vector<long> &b = boundsOf[e];
        return b.empty() ? b : std::vector<long>(b.begin(), b.begin() + long(layers) + 1);
      };
      auto wordsOver = [&](size_t layers) {
        std::vector<Folded> trial;
        for (size_t e = 0; e < lists.size(); ++e)
          trial.push_back(
              foldLayers(lists[e], first(e, layers), opsOf[e], st.entries[e].name, true));
        return ucodeWordsOf(pb, trial);
      };
      for (size_t e = 0; e < spanOf.size(); ++e)
        spanOf[e] = first(e, all);
      const size_t words = wordsOver(all);
      if (words > store) {
        size_t fit = 1, over = all; // the most layers known to fit, the fewest known not to
        while (over - fit > 1) {
          const size_t mid = (fit + over) / 2;
          (wordsOver(mid) <= store ? fit : over) = mid;
        }
        const std::string need = "with per-iteration micro-ops over all " + std::to_string(all) +
                                 " layers the program needs " + std::to_string(words) +
                                 " microcode words, more than the " + std::to_string(store) +
                                 " of the store";
        if (fit >= 2) {
          for (size_t e = 0; e < spanOf.size(); ++e)
            spanOf[e] = first(e, fit);
          st.notes.push_back("layer loop over layers 0.." + std::to_string(fit - 1) +
                             " at most: " + need);
        } else {
          perLayerUops = false;
          st.notes.push_back("layer loops without per-iteration micro-ops: " + need);
        }
      }
    }
    for (size_t e = 0; e < lists.size(); ++e) {
      if (!options.layerLoop || blocked[e]) {
        Folded fo;
        fo.insts = lists[e];
        folded.push_back(std::move(fo));
        continue;
      }
      Folded fo = foldLayers(lists[e], spanOf[e], opsOf[e], st.entries[e].name, perLayerUops);
      if (fo.plan.count) {
        SemTable trial;
        ScheduleResult sr =
            planAndSchedule(lists[e], fo.insts, &fo.plan, loopChannels(fo.insts, fo.plan), trial);
        if (!sr.error.empty()) {
          Folded un;
          un.insts = lists[e];
          un.notes.push_back("entry " + st.entries[e].name +
                             ": no layer loop, every layer unrolled (" + sr.error + ")");
          fo = std::move(un);
        }
      }
      if (fo.plan.count) {
        loopChs[e] = loopChannels(fo.insts, fo.plan);
      } else if (!boundsOf[e].empty()) {
        // No loop after all: the entry emitted again with the allocator's and the ring's own
        // choices, kept below unless it needs more microcode than the store holds (layers
        // allocated alike share their micro-ops where their immediates agree too).
        EmitStats::Entry es = st.entries[e];
        EntryEmitter ee(std::get<2>(entries[e]), board, pb, lay, es.rows);
        std::vector<Inst> natural = ee.run(es.spadPeak, es.ringBuffers);
        if (options.pipelineLoads)
          mergeLoads(natural, boundsOf[e]);
        aligned.push_back({e, std::move(lists[e]), st.entries[e]});
        lists[e] = std::move(natural);
        st.entries[e] = es;
        fo.insts = lists[e];
      }
      folded.push_back(std::move(fo));
    }
    if (!aligned.empty()) {
      const size_t words = ucodeWordsOf(pb, folded);
      if (words > isa::kUcodeWords)
        for (auto &[e, insts, es] : aligned) {
          lists[e] = std::move(insts);
          st.entries[e] = es;
          folded[e].insts = lists[e];
          folded[e].notes.push_back("entry " + es.name + ": layers allocated alike (" +
                                    std::to_string(words) +
                                    " microcode words otherwise, more than the store's " +
                                    std::to_string(isa::kUcodeWords) + ")");
        }
    }
    if (const size_t words = ucodeWordsOf(pb, folded); words > isa::kUcodeWords) {
      if (storeFull)
        *storeFull = true;
      fail(fn, "the microcode store (" + std::to_string(isa::kUcodeWords) +
                   " words) is full: the program needs " + std::to_string(words));
    }
    // Each entry its own semaphore map (the container records it per entry, the loader checks
    // it and the top routes tokens by it): an entry's channels never compete with another's.
    for (size_t e = 0; e < lists.size(); ++e) {
      Folded &fo = folded[e];
      SemTable sems;
      placeMicrocode(pb, fo.insts, opsOf[e], &fo);
      ScheduleResult sr =
          planAndSchedule(lists[e], fo.insts, fo.plan.count ? &fo.plan : nullptr, loopChs[e], sems);
      if (!sr.error.empty())
        fail(fn, "entry " + st.entries[e].name + ": " + sr.error);
      isa::Symbol sym;
      sym.kind = isa::Symbol::Kind::Entry;
      sym.name = st.entries[e].name;
      sym.bundle = uint32_t(pb.prog.bundles.size());
      sym.channels = sems.channels();
      pb.prog.symbols.push_back(sym);
      pb.prog.bundles.insert(pb.prog.bundles.end(), sr.bundles.begin(), sr.bundles.end());
      st.entries[e].bundles = sr.bundles.size();
      st.entries[e].instructions = sr.instructions;
      st.entries[e].fences = sr.fences;
      st.entries[e].semaphores = sems.used;
      st.entries[e].syncs = sr.syncs;
      st.entries[e].loopFirst = fo.first;
      st.entries[e].loopLayers = fo.per;
      st.entries[e].loopCount = fo.plan.count;
      st.entries[e].loopUopWords = fo.plan.count ? fo.plan.ustride : 0;
      st.notes.insert(st.notes.end(), fo.notes.begin(), fo.notes.end());
      st.semaphores = std::max(st.semaphores, sems.used);
    }
  } catch (const EmitError &e) {
    if (e.rows)
      return llvm::make_error<RowsDoNotFitError>(e.msg);
    return llvm::createStringError(llvm::inconvertibleErrorCode(), e.msg);
  }
  st.ucodeWords = pb.prog.ucode.size();
  std::string err = runtime::validateProgram(pb.prog, board, uint64_t(1) << 26);
  if (!err.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the emitted program fails validation: " + err);
  return std::move(pb.prog);
}
} // namespace

char RowsDoNotFitError::ID = 0;

namespace {
/// `tBlock` 0: the prefill's rows a call chosen as the most of kAutoTBlocks whose buffers fit
/// the scratchpad (a halving per try; any other error ends the search). The first that fits
/// is the program: a model that fits 32 rows gets the same program as `tBlock` 32.
llvm::Expected<isa::Program> emitLargestTBlock(func::FuncOp fn, const target::Board &board,
                                               const EmitOptions &options, EmitStats *stats) {
  std::string tried; // the row counts that did not fit
  for (unsigned rows : kAutoTBlocks) {
    EmitOptions one = options;
    one.tBlock = rows;
    // A probe first (addresses, the buffers' placement: no weight image, no emission), so a
    // row count that does not fit costs little (2.7B: a few seconds, not a whole emission).
    if (rows != kAutoTBlocks.back()) {
      EmitOptions dry = one;
      dry.probe = true;
      EmitStats ignored;
      auto fits = emitProgram(fn, board, dry, &ignored);
      if (!fits && fits.errorIsA<RowsDoNotFitError>()) {
        llvm::consumeError(fits.takeError());
        tried += (tried.empty() ? "" : ", ") + std::to_string(rows);
        continue;
      }
      llvm::consumeError(fits.takeError()); // another error: the emission below reports it
    }
    auto prog = emitProgram(fn, board, one, stats);
    if (prog) {
      if (stats && !tried.empty())
        stats->notes.push_back("entry prefill: " + std::to_string(rows) +
                               " rows a call, the most whose buffers fit the scratchpad of " +
                               board.name + " (not " + tried + ")");
      return prog;
    }
    if (!prog.errorIsA<RowsDoNotFitError>())
      return prog;
    std::string why = llvm::toString(prog.takeError());
    if (rows == kAutoTBlocks.back())
      return llvm::make_error<RowsDoNotFitError>(why + " (nor do those of " + tried +
                                                 " rows a call)");
    tried += (tried.empty() ? "" : ", ") + std::to_string(rows);
  }
  llvm_unreachable("the last candidate returns");
}
} // namespace

llvm::Expected<isa::Program> emitProgram(func::FuncOp fn, const target::Board &board,
                                         const EmitOptions &requested, EmitStats *stats) {
  if (requested.tBlock == 0)
    return emitLargestTBlock(fn, board, requested, stats);
  // Row blocks left to the cost model (RowBlocks.h): the count it estimates fastest, said in
  // a note (the notes start again with each try below, so it is added at the end).
  EmitOptions options = requested;
  std::string choice;
  if (options.prefillRowBlocks == kAutoRowBlocks) {
    const PrefillWork work = prefillWork(fn, board, options.tBlock);
    const RowBlockChoice c = chooseRowBlocks(work);
    options.prefillRowBlocks = c.blocks;
    if (work.scans && options.tBlock > 1)
      choice = "entry prefill: " + describeRowBlockChoice(work, c);
  }
  auto withChoice = [&](llvm::Expected<isa::Program> p) {
    if (p && stats && !choice.empty())
      stats->notes.insert(stats->notes.begin(), choice);
    return p;
  };
  bool storeFull = false;
  auto prog = emitOnce(fn, board, options, stats, false, &storeFull);
  if (prog || options.prefillRowBlocks <= 1)
    return withChoice(std::move(prog));
  // Row blocks need more microcode words (each block's micro-ops have their own addresses)
  // and scratchpad (several blocks' buffers live at once). Where the store is full: the
  // layers' buffers allocated alike (their micro-ops stored once; more scratchpad, so not
  // first: 130M without head groups 1,974,456 -> 2,001,725 cycles a call). Else, or if that
  // does not fit either: without row blocks, with a note.
  std::string why = llvm::toString(prog.takeError());
  if (storeFull) {
    auto alike = emitOnce(fn, board, options, stats, true);
    if (alike) {
      if (stats)
        stats->notes.push_back("entry prefill: row blocks with the layers' buffers allocated "
                               "alike (" +
                               why + ")");
      return withChoice(std::move(alike));
    }
    why += "; with the layers' buffers allocated alike: " + llvm::toString(alike.takeError());
  }
  EmitOptions one = options;
  one.prefillRowBlocks = 1;
  auto plain = emitOnce(fn, board, one, stats);
  if (plain && stats)
    stats->notes.push_back("entry prefill: no row blocks (" + why + ")");
  return withChoice(std::move(plain));
}

} // namespace mamba2::codegen
