// HLS top of the overlay: `mamba2_overlay`, one kernel with the board's DRAM ports (one m_axi
// bundle per port of target/boards/<name>.toml [ports]; the four regions striped over them,
// target/Stripes.h), an m_axi bundle for the program, and an AXI-lite control interface with
// the status word and the performance counters. Compiled for one board: -DMAMBA2_BOARD=<id>.
//
// Decoupled units, VTA-style. Six processes: fetch (control: registers, hardware loops, halt,
// the ctrl slot's tokens) and the load, store, matrix, vector and SSM units. Fetch binds each
// non-NOP slot's registers and writes it into that unit's instruction stream (`insn[u]`,
// QUEUE_DEPTH deep); each unit consumes its stream in order and runs it through its micro-op
// sequencer (a `run` from the microcode store, a macro shortcut as its one inline micro-op,
// isa/Macro.h). Tokens: in an entry each semaphore has one waiting unit (the entry's semaphore
// map, which the loader checks and the host passes in waiters_lo / waiters_hi), so a token is a
// message `tok[from][to]` carrying the semaphore id from the signalling unit to that waiter
// (the map is per entry: two entries may give one semaphore different waiters); each unit counts
// the tokens it is sent and waits on its own counters. When a unit has run its last instruction it
// sends an end marker to every other unit and stops once it has received theirs, so every token
// stream is empty when the kernel returns.
//
// Synthesis (__SYNTHESIS__ or MAMBA2_HLS_DATAFLOW): the processes are free-running loops in a
// DATAFLOW region sharing the scratchpad (SHARED + STABLE: the tokens order its accesses, as the
// ISA's ordering contract requires). C simulation runs dataflow processes one after another,
// which would block on the first token flowing backwards, so there the same step functions are
// called by a round-robin scheduler (as VTA's simulation driver does): each step runs at most
// one instruction and never blocks; no progress in a whole round is a deadlock. For a
// well-formed program both give exactly the serial order's result. The loader has already
// checked every DMA and micro-op range; the checks here keep a bad program from touching memory
// it should not and report it in `status` (fault << 24 | bundle).
#include "mamba2/hw/HlsConfig.h"
#include "mamba2/hw/HlsTypes.h"
#include "mamba2/isa/Encoding.h"
#include "mamba2/isa/Macro.h"
#include "mamba2/target/KernelArgs.h"
#include "mamba2/target/Stripes.h"

#include "Dma.h"
#include "Matrix.h"
#include "VectorUnit.h"

#ifndef MAMBA2_BOARD
#define MAMBA2_BOARD 3
#endif
#if defined(__SYNTHESIS__) && !defined(MAMBA2_HLS_DATAFLOW)
#define MAMBA2_HLS_DATAFLOW 1
#endif
#if !MAMBA2_HLS_DATAFLOW
#include <deque>
#include <set>
#endif

namespace mamba2::hw {

using Cfg = BoardCfg<MAMBA2_BOARD>;
namespace f = isa::field;
using BeatT = Beat<Cfg::AXI_BITS / 8>;
using target::CounterField;

/// The DRAM ports as the DMA engines reach them (hw/units/Dma.h): beat i of port q. After the
/// engines' port loop is unrolled, q is a constant and each access names one m_axi bundle.
struct TopPorts {
#define MAMBA2_PORT_MEMBER(q, name) BeatT *name;
  MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_MEMBER)
#undef MAMBA2_PORT_MEMBER
  BeatT read(unsigned q, u64 i) const {
#pragma HLS INLINE
    switch (q) {
#define MAMBA2_PORT_READ(q, name)                                                                  \
  case q:                                                                                          \
    return name[i];
      MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_READ)
#undef MAMBA2_PORT_READ
    default:
      return port0[i];
    }
  }
  void write(unsigned q, u64 i, const BeatT &x) {
#pragma HLS INLINE
    switch (q) {
#define MAMBA2_PORT_WRITE(q, name)                                                                 \
  case q:                                                                                          \
    name[i] = x;                                                                                   \
    break;
      MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_WRITE)
#undef MAMBA2_PORT_WRITE
    default:
      break;
    }
  }
};

enum Fault : unsigned {
  kOk = 0,
  kDeadlock = 1, // a wait on a semaphore that no instruction will signal (C simulation only)
  kSemOverflow = 2,
  kBadLoop = 3,      // loop nesting, trip count or body
  kOutOfProgram = 4, // ran past the last bundle
  kSpadRange = 5,    // scratchpad range outside the scratchpad
  kUcodeRange = 6,
  kBadOp = 7,
  kStepLimit = 8,
};

constexpr unsigned kUnits = isa::kNumSlots; // 0: fetch (ctrl slot), 1..5: the units
constexpr unsigned kNoWaiter = 0xFF;
constexpr unsigned kEnd = 0xFF; // token stream end marker
constexpr u64 kMaxSteps = u64(1) << 40;
constexpr unsigned kMaxBundles = 1u << 24; // bundle index in `status`

/// An instruction as fetch hands it to a unit: the slot word with its registers bound.
struct Insn {
  isa::SlotWord w;
  i32 base, base2; // r[areg], r[breg] (macros: sreg / areg, dreg / wreg)
  i32 ubase;       // r[ureg], added to a run's ustart (macros: 0)
  u32 bundle;
  uint<8> dest; // the unit that waits on the semaphore this slot signals (kNoWaiter: none)
  bool halt;    // the program ended: no more instructions
#if !MAMBA2_HLS_DATAFLOW
  u64 at; // C simulation: the cycle it reaches its unit (see "C simulation's clocks")
#endif
};
using Token = uint<8>; // a semaphore id, or kEnd

/// What a process keeps: its token counters and, for a unit, the instruction at its head.
struct ProcState {
  u32 count[isa::kNumSems];
  bool ends[kUnits]; // end marker received from that process
  bool halted;       // ran its last instruction (fetch: passed ctrl.halt or faulted)
  bool ended;        // sent its end markers
  bool have;
  Insn cur;
  unsigned fault;
  u32 fault_bundle;
  u64 ctr[target::kCtrFields]; // performance counters (KernelArgs.h CounterField)
#if !MAMBA2_HLS_DATAFLOW
  // C simulation's clock: the cycle this process is next free (fetch: its next bundle's), and
  // the cycles the tokens counted in `count` arrived.
  u64 clk;
  std::multiset<u64> arrived[isa::kNumSems];
#endif
};

#if !MAMBA2_HLS_DATAFLOW
// C simulation's clocks. The scheduler (run_units below) steps the processes in an order that
// is not the order of time, so where the hardware's counters count cycles (a process loop at
// II = 1 counts one per iteration) C simulation keeps one clock per process and counts the
// cycles the hardware would: fetch issues a bundle per cycle once every stream it writes has
// room (QUEUE_DEPTH entries; a unit reads its next instruction when it is free and the
// instruction has arrived) and the ctrl slot's token is there; an instruction reaches its unit
// the cycle after its issue; a unit starts it once free, arrived and its token there (the wait
// for the token is *stalled on token*) and takes the cycles of its loops (busy + stalled on
// memory; at least one, except a DMA that moves nothing); a token arrives the cycle its
// instruction ends (fetch's: its issue). The kernel's cycles are the last unit's end. Not in
// these clocks, because the source does not see them: pipeline fill, DRAM latency, the ports'
// rate, two engines or units sharing ports or banks (the cycle model charges them; its
// `SimOptions::sourceCycles` leaves them out and then counts exactly these cycles). A unit
// takes the earliest token that has arrived; tokens of one process arrive in the order of its
// clock, so this is the model's choice unless two processes signal one semaphore and the later
// token arrives first in the scheduler's order.
static std::deque<u64> g_tok_at[kUnits][kUnits]; // beside tok[from][to]: each token's cycle
static std::deque<u64> g_read_at[kUnits];        // per stream insn[u]: the cycle each entry left
static u64 g_written[kUnits];                    // entries fetch wrote into insn[u]
static u64 g_halt_at;                            // the cycle fetch issued ctrl.halt
#endif

/// The end-of-program instruction (also the initial value of a unit's head register).
static Insn halt_insn() {
  Insn h;
  h.halt = true;
  h.base = h.base2 = h.ubase = 0;
  h.bundle = 0;
  h.dest = kNoWaiter;
#if !MAMBA2_HLS_DATAFLOW
  h.at = 0;
#endif
  return h;
}

static void init_state(ProcState &st) {
  for (unsigned i = 0; i < isa::kNumSems; ++i)
    st.count[i] = 0;
  for (unsigned i = 0; i < kUnits; ++i)
    st.ends[i] = false;
  st.halted = st.ended = st.have = false;
  st.fault = kOk;
  st.fault_bundle = 0;
  for (unsigned i = 0; i < target::kCtrFields; ++i)
    st.ctr[i] = 0;
  st.cur = halt_insn();
#if !MAMBA2_HLS_DATAFLOW
  st.clk = 0;
  for (unsigned i = 0; i < isa::kNumSems; ++i)
    st.arrived[i].clear();
#endif
}
static void set_fault(ProcState &st, unsigned fault, u32 bundle) {
  if (st.fault == kOk) {
    st.fault = fault;
    st.fault_bundle = bundle;
  }
}
static bool in_spad(i64 addr, u64 bytes) {
  return addr >= 0 && u64(addr) <= Cfg::SPAD_BYTES && bytes <= Cfg::SPAD_BYTES - u64(addr);
}
static bool finished(const ProcState &st, unsigned me) {
  bool all = st.ended;
  for (unsigned u = 0; u < kUnits; ++u)
    if (u != me && !st.ends[u])
      all = false;
  return all;
}

/// Counts every token that has arrived for process `Me`; true when any arrived.
template <unsigned Me> static bool drain_tokens(ProcState &st, hls::stream<Token> tok[][kUnits]) {
  bool any = false;
from:
  for (unsigned u = 0; u < kUnits; ++u) {
#pragma HLS UNROLL
    if (u == Me)
      continue;
  tokens:
    while (!tok[u][Me].empty()) {
      unsigned t = unsigned(tok[u][Me].read());
      any = true;
#if !MAMBA2_HLS_DATAFLOW
      const u64 at = g_tok_at[u][Me].front();
      g_tok_at[u][Me].pop_front();
#endif
      if (t == kEnd) {
        st.ends[u] = true;
        continue;
      }
      unsigned s = t & (isa::kNumSems - 1);
      if (st.count[s] == 0xFFFF) {
        set_fault(st, kSemOverflow, st.cur.bundle);
      } else {
        ++st.count[s];
#if !MAMBA2_HLS_DATAFLOW
        st.arrived[s].insert(at);
#endif
      }
    }
  }
  return any;
}

/// Gives the token of a slot that signals: to its waiter (itself: its own counter). `at`: the
/// cycle it is given (C simulation's clock).
template <unsigned Me>
static void give(ProcState &st, const isa::SlotWord &w, unsigned dest, u32 bundle,
                 hls::stream<Token> tok[][kUnits], [[maybe_unused]] u64 at) {
  if (!w.raw(f::none::sen))
    return;
  unsigned s = unsigned(w.raw(f::none::ssem)) & (isa::kNumSems - 1);
  if (dest == Me) {
    if (st.count[s] == 0xFFFF) {
      set_fault(st, kSemOverflow, bundle);
    } else {
      ++st.count[s];
#if !MAMBA2_HLS_DATAFLOW
      st.arrived[s].insert(at);
#endif
    }
    return;
  }
to:
  for (unsigned u = 0; u < kUnits; ++u) {
#pragma HLS UNROLL
    if (u != Me && u == dest) {
      tok[Me][u].write(Token(s));
#if !MAMBA2_HLS_DATAFLOW
      g_tok_at[Me][u].push_back(at);
#endif
    }
  }
  // A semaphore nobody waits on: its tokens are never needed.
}

/// After its last instruction a process tells every other process it sends no more tokens.
template <unsigned Me> static void send_ends(ProcState &st, hls::stream<Token> tok[][kUnits]) {
  if (st.ended)
    return;
ends:
  for (unsigned u = 0; u < kUnits; ++u) {
#pragma HLS UNROLL
    if (u != Me) {
      tok[Me][u].write(Token(kEnd));
#if !MAMBA2_HLS_DATAFLOW
      g_tok_at[Me][u].push_back(0);
#endif
    }
  }
  st.ended = true;
}

/// Runs one instruction on unit `S` (slot index): its micro-op loop. Returns a fault or kOk.
template <unsigned S>
static unsigned execute(const Insn &in, byte_t *spad, TopPorts &ports, const u64 base[4],
                        const isa::UopWord *store, unsigned nwords, u64 ctr[]) {
  const isa::SlotWord &w = in.w;
  const unsigned op = unsigned(w.raw(f::none::op));
  // A run reads the store; a macro shortcut carries its one micro-op (isa/Macro.h).
  const bool is_run = (S == unsigned(isa::Slot::Load) && op == isa::op::load::run) ||
                      (S == unsigned(isa::Slot::Store) && op == isa::op::store::run) ||
                      (S == unsigned(isa::Slot::Matrix) && op == isa::op::matrix::run) ||
                      S == unsigned(isa::Slot::Vector) || S == unsigned(isa::Slot::Ssm);
  RunLoop r;
  r.base = i64(in.base);
  r.base2 = i64(in.base2);
  r.sdst = r.ssrc0 = r.ssrc1 = r.ssrc2 = 0;
  unsigned us = 0, ul = 1, iters = 1;
  isa::UopWord inl;
  if (is_run) {
    const i64 first = i64(w.raw(f::run::ustart)) + i64(in.ubase);
    ul = unsigned(w.raw(f::run::ulen));
    iters = unsigned(w.raw(f::run::iters));
    r.sdst = u32(w.raw(f::run::sdst));
    r.ssrc0 = u32(w.raw(f::run::ssrc0));
    r.ssrc1 = u32(w.raw(f::run::ssrc1));
    r.ssrc2 = u32(w.raw(f::run::ssrc2));
    if (first < 0 || first + i64(ul) > i64(nwords))
      return kUcodeRange;
    us = unsigned(first);
  } else {
    inl = isa::macroUop(isa::Slot(S), op, w);
  }
iterations:
  for (unsigned it = 0; it < 65536; ++it) {
    if (it >= iters)
      break;
  uops:
    for (unsigned k = 0; k < 256; ++k) {
      if (k >= ul)
        break;
      const isa::UopWord &uw = is_run ? store[us + k] : inl;
      const UopOperands u = decode_uop(uw, r, it);
      if (!uop_runs_on(unsigned(u.op), S) || (u.op == isa::UopCode::Store2d && u.region == 0))
        return kBadOp;
      // The chunked SSD form's micro-ops: only where the board has their units, with legal
      // parameters.
      if ((!Cfg::CHUNKED_SSD && isa::uopNeedsChunkedSsd(u.op)) || !chunked_ssd_params_ok(u))
        return kBadOp;
      if (!uop_in_range(u, Cfg::SPAD_BYTES))
        return kSpadRange;
      if ((u.op == isa::UopCode::Pwl || u.op == isa::UopCode::Rsqrt) && u.len) {
        PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
        if (!in_spad(u.src1, 16 + 8 * u64(h.n)))
          return kSpadRange;
      }
      if (u.op == isa::UopCode::Conv4pwl && u.len) { // the table ends before the conv params
        PwlTableHeader h = read_pwl_header(spad, u64(u.src1));
        if (16 + 8 * u64(h.n) > u64(u.p4 < 0 ? 0 : u.p4))
          return kSpadRange;
      }
      if (u.op == isa::UopCode::Pwlmulpwl && u.len) { // each table ends before what follows it
        PwlTableHeader h1 = read_pwl_header(spad, u64(u.src1));
        PwlTableHeader h2 = read_pwl_header(spad, u64(u.src1) + u64(u.p3 < 0 ? 0 : u.p3));
        if (16 + 8 * u64(h1.n) > u64(u.p3 < 0 ? 0 : u.p3) ||
            u64(u.p3 < 0 ? 0 : u.p3) + 16 + 8 * u64(h2.n) > u64(u.p4 < 0 ? 0 : u.p4))
          return kSpadRange;
      }
      if (S == unsigned(isa::Slot::Load) || S == unsigned(isa::Slot::Store)) {
        DmaArgs a{u64(u.dst), u64(u.src1), u.rows, u.rowb, u.stride};
        const u64 rb = base[u.region & 3];
        DmaCycles dc{0, 0};
        if (u.op == isa::UopCode::Load2d)
          dc = dma_load<Cfg>(spad, ports, rb, a);
        else if (u.op == isa::UopCode::Store2d)
          dc = dma_store<Cfg>(spad, ports, rb, a);
        // Beat cycles are busy; the bank phases after the first wait for bank ports.
        ctr[target::kCtrBusy] += dc.cycles - dc.conflicts;
        ctr[target::kCtrStallMemory] += dc.conflicts;
        ctr[target::kCtrBytes] += u64(u.rows) * u.rowb;
      } else if (S == unsigned(isa::Slot::Matrix)) {
        if (u.isMatrix()) {
          // Step-loop iterations are busy; the K steps' bank phases wait for bank ports.
          const MatmulCycles mc = matrix_unit<Cfg>(spad, matmul_args(u));
          ctr[target::kCtrBusy] += mc.busy;
          ctr[target::kCtrStallMemory] += mc.conflicts;
          ctr[target::kCtrBytes] +=
              u.isInt4() ? u64(u.n) * (u.k / 2) : u64(u.n) * u.k; // weight bytes
          ctr[target::kCtrOps] += u64(u.m) * u.n * u.k;
        }
      } else if (S == unsigned(isa::Slot::Vector)) {
        ctr[target::kCtrBusy] += vector_datapath<Cfg>(spad, u);
        // trn counts its R x C elements, the others their len.
        ctr[target::kCtrOps] += u.op == isa::UopCode::Trn ? u64(u.len) * u64(u.p0) : u64(u.len);
      } else {
        ctr[target::kCtrBusy] += ssm_datapath<Cfg>(spad, u);
        // SSM micro-ops count per state element: ssmupd / ssmout one operation, ssmstep two.
        const u64 perState = u.op == isa::UopCode::Ssmstep                                  ? 2
                             : u.op == isa::UopCode::Ssmupd || u.op == isa::UopCode::Ssmout ? 1
                                                                                            : 0;
        // segdecay counts its Q x (Q + 1) outputs.
        ctr[target::kCtrOps] += perState ? perState * u64(u.len) * u64(u.p0 < 0 ? 0 : u.p0)
                                : u.op == isa::UopCode::Segdecay ? u64(u.len) * (u64(u.len) + 1)
                                                                 : u64(u.len);
      }
    }
  }
  return kOk;
}

/// One step of unit `S`: counts arrived tokens, then runs the instruction at the head of its
/// stream if its token is there. Never blocks; true when it did anything.
template <unsigned S>
static bool unit_step(ProcState &st, hls::stream<Insn> &q, hls::stream<Token> tok[][kUnits],
                      byte_t *spad, TopPorts &ports, const u64 base[4], const isa::UopWord *store,
                      unsigned nwords) {
  bool progress = drain_tokens<S>(st, tok);
  if (st.halted)
    return progress;
  if (!st.have) {
    if (q.empty())
      return progress;
    st.cur = q.read();
    st.have = true;
    progress = true;
#if !MAMBA2_HLS_DATAFLOW
    // The entry leaves the stream when the unit is free and it has arrived.
    const u64 read_at = st.cur.halt || st.cur.at < st.clk ? st.clk : st.cur.at;
    g_read_at[S].push_back(read_at);
    if (!st.cur.halt)
      st.clk = read_at;
#endif
  }
  if (st.cur.halt) {
    st.halted = true;
    st.have = false;
    send_ends<S>(st, tok);
    return true;
  }
  const isa::SlotWord &w = st.cur.w;
  if (w.raw(f::none::wen)) {
    unsigned s = unsigned(w.raw(f::none::wsem)) & (isa::kNumSems - 1);
    if (st.count[s] == 0) {
#if MAMBA2_HLS_DATAFLOW
      ++st.ctr[target::kCtrStallToken]; // a process-loop iteration: one cycle
#endif
      return progress;
    }
    --st.count[s];
#if !MAMBA2_HLS_DATAFLOW
    // The earliest token there; the unit waits from its clock to its arrival.
    const u64 at = *st.arrived[s].begin();
    st.arrived[s].erase(st.arrived[s].begin());
    if (at > st.clk) {
      st.ctr[target::kCtrStallToken] += at - st.clk;
      st.clk = at;
    }
#endif
  }
  // After a fault the unit runs nothing more but keeps the token protocol, so that the other
  // units and the kernel still finish and `status` reports the first fault.
  if (st.fault == kOk) {
#if !MAMBA2_HLS_DATAFLOW
    const u64 before = st.ctr[target::kCtrBusy] + st.ctr[target::kCtrStallMemory];
#endif
    unsigned e = execute<S>(st.cur, spad, ports, base, store, nwords, st.ctr);
    if (e != kOk)
      set_fault(st, e, st.cur.bundle);
    ++st.ctr[target::kCtrInstructions];
#if !MAMBA2_HLS_DATAFLOW
    // Its loops' cycles; a unit takes at least one, a DMA that moves nothing none.
    const u64 loops = st.ctr[target::kCtrBusy] + st.ctr[target::kCtrStallMemory] - before;
    const bool dma = S == unsigned(isa::Slot::Load) || S == unsigned(isa::Slot::Store);
    st.clk += loops == 0 && !dma ? 1 : loops;
#endif
  }
  u64 at = 0;
#if !MAMBA2_HLS_DATAFLOW
  at = st.clk;
#endif
  give<S>(st, w, unsigned(st.cur.dest), st.cur.bundle, tok, at);
  st.have = false;
  return true;
}

struct FetchRegs {
  u32 pc;
  i32 regs[isa::kNumRegs];
  u32 loop_start[isa::kLoopDepth], loop_end[isa::kLoopDepth], loop_left[isa::kLoopDepth];
  unsigned depth;
  u64 steps;
};

/// Fetch stops: every unit gets its end-of-program instruction.
static void stop_fetch(ProcState &st, hls::stream<Insn> insn[kUnits],
                       hls::stream<Token> tok[][kUnits]) {
  const Insn h = halt_insn();
halts:
  for (unsigned u = 1; u < kUnits; ++u) {
#pragma HLS UNROLL
    insn[u].write(h);
#if !MAMBA2_HLS_DATAFLOW
    ++g_written[u];
#endif
  }
  st.halted = true;
  send_ends<0>(st, tok);
}

/// One step of fetch: issues one bundle (waits for the ctrl slot's token and for room in every
/// queue it needs), then runs its control operation. Never blocks; true when it did anything.
static bool fetch_step(ProcState &st, FetchRegs &fr, const byte_t *bundles, u32 num_bundles,
                       const Token waiter[isa::kNumSems], hls::stream<Insn> insn[kUnits],
                       hls::stream<Token> tok[][kUnits]) {
  bool progress = drain_tokens<0>(st, tok);
  if (st.halted)
    return progress;
  auto fault = [&](unsigned e) {
    set_fault(st, e, fr.pc);
    stop_fetch(st, insn, tok);
    return true;
  };
  if (fr.steps >= kMaxSteps)
    return fault(kStepLimit);
  if (fr.pc >= num_bundles)
    return fault(kOutOfProgram);
  isa::Bundle b = isa::Bundle::fromBytes(bundles + u64(fr.pc) * isa::kBundleBytes);
  const isa::SlotWord &c = b[isa::Slot::Ctrl];
  unsigned cw = unsigned(c.raw(f::none::wsem)) & (isa::kNumSems - 1);
  if (c.raw(f::none::wen) && st.count[cw] == 0) {
#if MAMBA2_HLS_DATAFLOW
    ++st.ctr[target::kCtrStallToken]; // a process-loop iteration: one cycle
#endif
    return progress;
  }
room:
  for (unsigned s = 1; s < kUnits; ++s) {
#pragma HLS UNROLL
#if MAMBA2_HLS_DATAFLOW
    if (!b.slot[s].isZero() && insn[s].full())
      return progress;
#else
    if (!b.slot[s].isZero() && insn[s].size() >= Cfg::QUEUE_DEPTH)
      return progress;
#endif
  }
  if (c.raw(f::none::wen))
    --st.count[cw];
  u64 at = 0; // C simulation: the cycle this bundle issues
#if !MAMBA2_HLS_DATAFLOW
  // Once every stream it writes has room (the entry QUEUE_DEPTH before the next one has left),
  // then its token: the wait for the token counts while the streams have room.
  at = st.clk;
  for (unsigned s = 1; s < kUnits; ++s)
    if (!b.slot[s].isZero() && g_written[s] >= Cfg::QUEUE_DEPTH) {
      const u64 room = g_read_at[s][g_written[s] - Cfg::QUEUE_DEPTH];
      at = room > at ? room : at;
    }
  if (c.raw(f::none::wen)) {
    const u64 tk = *st.arrived[cw].begin();
    st.arrived[cw].erase(st.arrived[cw].begin());
    if (tk > at) {
      st.ctr[target::kCtrStallToken] += tk - at;
      at = tk;
    }
  }
  st.clk = at + 1;
#endif
  ++fr.steps;
  ++st.ctr[target::kCtrInstructions];
  auto reg = [&](u64 r) { return fr.regs[r & (isa::kNumRegs - 1)]; };
  // Non-control slots, their registers read before the control op.
issue:
  for (unsigned s = 1; s < kUnits; ++s) {
#pragma HLS UNROLL
    const isa::SlotWord &w = b.slot[s];
    unsigned op = unsigned(w.raw(f::none::op));
    if (op == 0)
      continue;
    Insn in;
    in.w = w;
    in.halt = false;
    in.bundle = fr.pc;
    in.dest =
        w.raw(f::none::sen) ? waiter[w.raw(f::none::ssem) & (isa::kNumSems - 1)] : Token(kNoWaiter);
#if !MAMBA2_HLS_DATAFLOW
    in.at = at + 1;
    ++g_written[s];
#endif
    const isa::OpInfo *oi = isa::findOp(isa::Slot(s), op);
    if (oi && oi->format == isa::Format::Run) {
      in.base = reg(w.raw(f::run::areg));
      in.base2 = reg(w.raw(f::run::breg));
      in.ubase = reg(w.raw(f::run::ureg));
    } else {
      unsigned ar = 0, br = 0;
      isa::macroRegs(isa::Slot(s), w, ar, br);
      in.base = reg(ar);
      in.base2 = reg(br);
      in.ubase = 0;
    }
    insn[s].write(in);
  }
  unsigned cs = unsigned(c.raw(f::none::ssem)) & (isa::kNumSems - 1);
  give<0>(st, c, unsigned(waiter[cs]), fr.pc, tok, at);
  // Control operation and loop sequencing (same rules as isa::Sequencer).
  unsigned cop = unsigned(c.raw(f::none::op));
  u32 pc = fr.pc, last = pc, next = pc + 1;
  if (cop == isa::op::ctrl::halt) {
#if !MAMBA2_HLS_DATAFLOW
    g_halt_at = at;
#endif
    stop_fetch(st, insn, tok);
    return true;
  }
  if (cop == isa::op::ctrl::seti && c.raw(f::reg::rd))
    fr.regs[c.raw(f::reg::rd)] = i32(c.get(f::reg::imm));
  if (cop == isa::op::ctrl::addi && c.raw(f::reg::rd))
    fr.regs[c.raw(f::reg::rd)] = i32(u32(fr.regs[c.raw(f::reg::rs)]) + u32(c.get(f::reg::imm)));
  if (cop == isa::op::ctrl::loop) {
    i64 count = i64(c.raw(f::loop::count)) + i64(fr.regs[c.raw(f::loop::creg)]);
    u32 body = u32(c.raw(f::loop::body));
    u64 end = u64(pc) + body;
    if (count < 0 || body == 0 || end >= num_bundles ||
        (fr.depth && end > fr.loop_end[fr.depth - 1]))
      return fault(kBadLoop);
    if (count == 0) {
      last = u32(end);
      next = u32(end) + 1;
    } else {
      if (fr.depth == isa::kLoopDepth)
        return fault(kBadLoop);
      fr.loop_start[fr.depth] = pc + 1;
      fr.loop_end[fr.depth] = u32(end);
      fr.loop_left[fr.depth] = u32(count);
      ++fr.depth;
      fr.pc = pc + 1;
      return true;
    }
  }
loop_ends:
  for (unsigned d = 0; d < isa::kLoopDepth; ++d) {
    if (fr.depth == 0 || fr.loop_end[fr.depth - 1] != last)
      break;
    if (--fr.loop_left[fr.depth - 1] > 0) {
      next = fr.loop_start[fr.depth - 1];
      break;
    }
    --fr.depth;
  }
  fr.pc = next;
  return true;
}

static void init_fetch(FetchRegs &fr, u32 entry) {
  fr.pc = entry;
  for (unsigned i = 0; i < isa::kNumRegs; ++i)
    fr.regs[i] = 0;
  fr.depth = 0;
  fr.steps = 0;
}

static u32 status_word(const ProcState st[kUnits]) {
  // The fault of the lowest bundle (several units may fault; each reports its first).
  unsigned fault = kOk;
  u32 bundle = 0;
  for (unsigned u = 0; u < kUnits; ++u)
    if (st[u].fault != kOk && (fault == kOk || st[u].fault_bundle < bundle)) {
      fault = st[u].fault;
      bundle = st[u].fault_bundle;
    }
  return fault == kOk ? u32(0) : (u32(fault) << 24) | (bundle & (kMaxBundles - 1));
}

/// Writes the counters of every process and the kernel's cycles (fetch's loop iterations) to
/// the AXI-lite counter words (KernelArgs.h counterWord).
static void write_counters(const ProcState st[kUnits], u64 cycles, u32 *counters) {
  counters[0] = u32(cycles & 0xFFFFFFFFu);
  counters[1] = u32(cycles >> 32);
procs:
  for (unsigned u = 0; u < kUnits; ++u)
  fields:
    for (unsigned k = 0; k < target::kCtrFields; ++k) {
      counters[target::counterWord(u, k)] = u32(st[u].ctr[k] & 0xFFFFFFFFu);
      counters[target::counterWord(u, k) + 1] = u32(st[u].ctr[k] >> 32);
    }
}

#if MAMBA2_HLS_DATAFLOW
/// What a process reports when it stops: its fault and its counters.
struct ProcResult {
  unsigned fault;
  u32 fault_bundle;
  u64 ctr[target::kCtrFields];
  u64 loops; // its process-loop iterations (fetch: the kernel's cycles)
};
static ProcResult result_of(const ProcState &st, u64 loops) {
  ProcResult r;
  r.fault = st.fault;
  r.fault_bundle = st.fault_bundle;
  for (unsigned k = 0; k < target::kCtrFields; ++k)
    r.ctr[k] = st.ctr[k];
  r.loops = loops;
  return r;
}

// ---- synthesis: free-running processes in a DATAFLOW region ----
static void fetch_proc(const byte_t *bundles, u32 num_bundles, u32 entry,
                       const Token waiter[isa::kNumSems], hls::stream<Insn> insn[kUnits],
                       hls::stream<Token> tok[][kUnits], hls::stream<ProcResult> &out) {
  ProcState st;
  FetchRegs fr;
  init_state(st);
  init_fetch(fr, entry);
  u64 loops = 0;
fetch:
  for (;;) {
    ++loops;
    fetch_step(st, fr, bundles, num_bundles, waiter, insn, tok);
    if (finished(st, 0))
      break;
  }
  out.write(result_of(st, loops));
}

template <unsigned S>
static void unit_proc(hls::stream<Insn> &q, hls::stream<Token> tok[][kUnits], byte_t *spad,
                      TopPorts &ports, const u64 base[4], const isa::UopWord *store,
                      unsigned nwords, hls::stream<ProcResult> &out) {
  ProcState st;
  init_state(st);
  u64 loops = 0;
unit:
  for (;;) {
    ++loops;
    unit_step<S>(st, q, tok, spad, ports, base, store, nwords);
    if (finished(st, S))
      break;
  }
  out.write(result_of(st, loops));
}

static void collect(hls::stream<ProcResult> results[kUnits], u32 *status, u32 *counters) {
  ProcState st[kUnits];
  u64 cycles = 0;
  for (unsigned u = 0; u < kUnits; ++u) {
    ProcResult r = results[u].read();
    init_state(st[u]);
    st[u].fault = r.fault;
    st[u].fault_bundle = r.fault_bundle;
    for (unsigned k = 0; k < target::kCtrFields; ++k)
      st[u].ctr[k] = r.ctr[k];
    if (u == 0)
      cycles = r.loops;
  }
  *status = status_word(st);
  write_counters(st, cycles, counters);
}

static void run_units(const byte_t *bundles, u32 num_bundles, u32 entry,
                      const Token waiter[isa::kNumSems], byte_t *spad, TopPorts &ports,
                      const u64 base[4], const isa::UopWord *store, unsigned nwords, u32 *status,
                      u32 *counters) {
  // clang-format off
#pragma HLS SHARED variable = spad
#pragma HLS STABLE variable = spad
#pragma HLS STABLE variable = store
#pragma HLS DATAFLOW
  // clang-format on
  hls::stream<Insn> insn[kUnits];
  hls::stream<Token> tok[kUnits][kUnits];
  hls::stream<ProcResult> results[kUnits];
#pragma HLS STREAM variable = insn depth = Cfg::QUEUE_DEPTH
#pragma HLS STREAM variable = tok depth = 16
  fetch_proc(bundles, num_bundles, entry, waiter, insn, tok, results[0]);
  unit_proc<1>(insn[1], tok, spad, ports, base, store, nwords, results[1]);
  unit_proc<2>(insn[2], tok, spad, ports, base, store, nwords, results[2]);
  unit_proc<3>(insn[3], tok, spad, ports, base, store, nwords, results[3]);
  unit_proc<4>(insn[4], tok, spad, ports, base, store, nwords, results[4]);
  unit_proc<5>(insn[5], tok, spad, ports, base, store, nwords, results[5]);
  collect(results, status, counters);
}
#else
// ---- C simulation: the same steps under a round-robin scheduler ----
static void run_units(const byte_t *bundles, u32 num_bundles, u32 entry,
                      const Token waiter[isa::kNumSems], byte_t *spad, TopPorts &ports,
                      const u64 base[4], const isa::UopWord *store, unsigned nwords, u32 *status,
                      u32 *counters) {
  hls::stream<Insn> insn[kUnits];
  hls::stream<Token> tok[kUnits][kUnits];
  ProcState st[kUnits];
  FetchRegs fr;
  for (unsigned u = 0; u < kUnits; ++u) {
    init_state(st[u]);
    for (unsigned v = 0; v < kUnits; ++v)
      g_tok_at[u][v].clear();
    g_read_at[u].clear();
    g_written[u] = 0;
  }
  g_halt_at = 0;
  init_fetch(fr, entry);
  for (;;) {
    bool progress = false;
    while (fetch_step(st[0], fr, bundles, num_bundles, waiter, insn, tok))
      progress = true;
    auto run = [&](auto step) {
      while (step())
        progress = true;
    };
    run([&] { return unit_step<1>(st[1], insn[1], tok, spad, ports, base, store, nwords); });
    run([&] { return unit_step<2>(st[2], insn[2], tok, spad, ports, base, store, nwords); });
    run([&] { return unit_step<3>(st[3], insn[3], tok, spad, ports, base, store, nwords); });
    run([&] { return unit_step<4>(st[4], insn[4], tok, spad, ports, base, store, nwords); });
    run([&] { return unit_step<5>(st[5], insn[5], tok, spad, ports, base, store, nwords); });
    bool done = true;
    for (unsigned u = 0; u < kUnits; ++u)
      done = done && finished(st[u], u);
    if (done)
      break;
    if (!progress) {
      // Nothing can move: a wait on a token nobody will give. Name the earliest waiting bundle.
      u32 bundle = kMaxBundles;
      if (!st[0].halted)
        bundle = fr.pc;
      for (unsigned u = 1; u < kUnits; ++u)
        if (st[u].have && st[u].cur.bundle < bundle)
          bundle = st[u].cur.bundle;
      set_fault(st[0], kDeadlock, bundle);
      break;
    }
  }
  // The kernel's cycles: fetch's halt or the last unit's end, whichever is later (C
  // simulation's clocks above; in synthesis fetch's loop iterations).
  u64 cycles = g_halt_at;
  for (unsigned u = 1; u < kUnits; ++u)
    cycles = st[u].clk > cycles ? st[u].clk : cycles;
  *status = status_word(st);
  write_counters(st, cycles, counters);
}
#endif

} // namespace mamba2::hw

using namespace mamba2::hw;
using namespace mamba2;

// The signature and its argument order: target/include/mamba2/target/KernelArgs.h (shared with
// the XRT backend); the DRAM ports and their pragmas are the board's (Boards.gen.h).
extern "C" void MAMBA2_OVERLAY_SIGNATURE(byte_t, BeatT, u32) {
  // One pragma per line, as Vitis HLS reports them.
  // clang-format off
#pragma HLS INTERFACE m_axi port = bundles offset = slave bundle = gmem_insn max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = ucode offset = slave bundle = gmem_insn
  MAMBA2_OVERLAY_PORT_PRAGMAS
#pragma HLS INTERFACE s_axilite port = num_bundles
#pragma HLS INTERFACE s_axilite port = ucode_words
#pragma HLS INTERFACE s_axilite port = entry
#pragma HLS INTERFACE s_axilite port = waiters_lo
#pragma HLS INTERFACE s_axilite port = waiters_hi
#pragma HLS INTERFACE s_axilite port = base_const
#pragma HLS INTERFACE s_axilite port = base_io
#pragma HLS INTERFACE s_axilite port = base_state
#pragma HLS INTERFACE s_axilite port = base_scratch
#pragma HLS INTERFACE s_axilite port = status
#pragma HLS INTERFACE s_axilite port = counters
#pragma HLS INTERFACE s_axilite port = return
  // clang-format on
  static byte_t spad[Cfg::SPAD_BYTES];
  // Banked (HlsConfig.h): SPAD_WORD consecutive bytes form one bank word (RESHAPE), and the
  // words are dealt cyclically to SPAD_BANKS banks (PARTITION), two ports each.
  [[maybe_unused]] constexpr unsigned kSpadWord = Cfg::SPAD_WORD;
  [[maybe_unused]] constexpr unsigned kSpadBanks = Cfg::SPAD_BANKS;
#pragma HLS ARRAY_RESHAPE variable = spad cyclic factor = kSpadWord
#pragma HLS ARRAY_PARTITION variable = spad cyclic factor = kSpadBanks
#pragma HLS BIND_STORAGE variable = spad type = ram_2p
  static isa::UopWord store[isa::kUcodeWords];
  TopPorts ports;
#define MAMBA2_PORT_BIND(q, name) ports.name = name;
  MAMBA2_OVERLAY_FOR_PORTS(MAMBA2_PORT_BIND)
#undef MAMBA2_PORT_BIND
  const u64 base[4] = {u64(base_const), u64(base_io), u64(base_state), u64(base_scratch)};
  unsigned nwords = ucode_words > isa::kUcodeWords ? isa::kUcodeWords : unsigned(ucode_words);
load_ucode:
  for (unsigned i = 0; i < isa::kUcodeWords; ++i) {
    if (i >= nwords)
      break;
    store[i] = isa::UopWord::fromBytes(ucode + u64(i) * isa::kUopBytes);
  }
  // Each semaphore's one waiting unit in the entry being run (its semaphore map, container
  // Symbol.channels, which the loader checks against the entry's bundles; the host writes it
  // into waiters_lo / waiters_hi): tokens go there.
  Token waiter[isa::kNumSems];
waiters:
  for (unsigned s = 0; s < isa::kNumSems; ++s) {
    const unsigned u = target::waiterOf(unsigned(waiters_lo), unsigned(waiters_hi), s);
    waiter[s] = u < kUnits ? Token(u) : Token(kNoWaiter);
  }
  run_units(bundles, num_bundles, entry, waiter, spad, ports, base, store, nwords, status,
            counters);
}
