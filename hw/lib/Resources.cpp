// Coarse, documented per-unit costs. DSP counts follow the packing the board's DSP allows
// (BOARDS.md section 4); memories are sized both by capacity and by the port width the units
// read per cycle; LUT figures are per-lane glue estimates to calibrate against Vivado reports.
#include "mamba2/hw/Resources.h"

#include "mamba2/isa/Encoding.h"

#include <algorithm>
#include <cmath>

namespace mamba2::hw {

namespace {

constexpr double kBramBytes = 36.0 * 1024 / 8; // 36 Kb

} // namespace

ResourceEstimate estimateResources(const BoardConfig &c) {
  ResourceEstimate est;
  // Matrix unit: matK*matN int8 x int8 MACs per cycle, or 2*matK*matN int4 x int8 MACs (two
  // nibbles per lane, activations int8): int4 x int8 packs no tighter than int8 x int8 on a DSP
  // (target::macsPerDsp), so the int4 mode's doubled lanes take their own DSPs. The same rates
  // as the cycle model, which charges int4 at 2*matK products per dot product per cycle.
  ResourceLine mat{"matrix unit"};
  const double int8Lanes = double(c.matK) * c.matN, int4Lanes = double(c.matKInt4()) * c.matN;
  mat.dsp = std::max(std::ceil(int8Lanes / c.macsPerDsp(target::MacKind::W8A8)),
                     std::ceil(int4Lanes / c.macsPerDsp(target::MacKind::W4A8)));
  mat.lut = 40.0 * c.matK * c.matN + 1500.0 * c.matN; // int4 unpack, accumulators, adder trees
  est.lines.push_back(mat);
  // Group scaling (gmm8 / gmm4): scaleLanes() 32x32 multipliers (3 DSP slices each) with the
  // rounding right / saturating left shift of the 64-bit product (a 64-bit barrel shifter) and
  // the saturating accumulate.
  ResourceLine grp{"matrix group scaling"};
  grp.dsp = 3.0 * c.scaleLanes();
  grp.lut = 450.0 * c.scaleLanes();
  est.lines.push_back(grp);
  // Vector unit: two 32x32 multipliers per lane, busy at once in mulsumsq (the product, and its
  // square into the lane's partial sum; mulsh32, req8 and sumsq use one), plus the Hadamard
  // adders.
  ResourceLine vec{"vector + Hadamard unit"};
  // conv4pwl's multiply by m[c] and table slope use the same two (its conv taps are int8
  // products, as conv4's); its table adds the PWL evaluation's glue and a table copy per two
  // lanes, as the SSM unit's.
  vec.dsp = 3.0 * 2 * c.vecLanes; // a 32x32 product as 3 DSP slices
  // addsumsq squares the add32 lane's sum on the same second multiplier: a 32-bit mux in front of
  // it (32 LUT per lane).
  vec.lut = 900.0 * c.vecLanes + 40 * 32 * 4 + 250.0 * c.vecLanes + 32.0 * c.vecLanes;
  vec.bram36 = std::ceil(c.vecLanes / 2.0);
  est.lines.push_back(vec);
  // SSM + nonlinear unit: per lane the SSM loop's three multipliers, busy at once in ssmstep
  // (S*decay, dtx*B and the updated S*C; units/Ssm.h, one loop for ssmupd, ssmout and
  // ssmstep), and one for the PWL slope. pwlmulpwl runs each lane's one table evaluator twice
  // per element (II = 2) with the multiply by m on an SSM multiplier between: no DSP, no
  // table copy; a mux of the table base and the evaluator's input and the II = 2 phase per lane.
  ResourceLine ssm{"SSM + nonlinear unit"};
  ssm.dsp = 3.0 * 4 * c.ssmLanes;
  ssm.lut = 1200.0 * c.ssmLanes + 64.0 * c.ssmLanes;
  ssm.bram36 = std::ceil(c.ssmLanes / 2.0); // PWL table copies, one port pair per two lanes
  est.lines.push_back(ssm);
  // The chunked SSD form's units (`[units] chunked_ssd`): none of them adds a DSP.
  //  - trn (vector unit, units/Transpose.h): two tile buffers of L x L 32-bit words as L lane
  //    memories of 2L words (LUTRAM, two LUTs per bit and 64 words, up to L = 32; beyond, one
  //    BRAM18 per lane), a barrel rotator of L 32-bit words on each side (log2 L levels of
  //    2:1 muxes, two levels per LUT6: 32 ceil(log2(L) / 2) LUT per lane each), the int8 /
  //    int32 element select per lane (32 LUT) and the tile counters (300 LUT).
  //  - split16 (vector unit): shr8's rounding lane with a 16-bit clamp, the +128 and the second
  //    byte's write (40 LUT per lane).
  //  - segdecay (SSM unit, units/Ssm.h): the multiply, rounding and saturation of ssmupd's
  //    S x decay lane, its input muxed between S and the previous row (64 LUT per lane), the
  //    previous row's Q + 1 <= 65 words in registers read through a ceil(65 / L)-way mux per
  //    lane (8 ceil(65 / L) LUT), the column compares (20 LUT per lane), the counters (150).
  if (c.chunkedSsd) {
    ResourceLine chk{"chunked SSD units"};
    const double L = c.vecLanes, S = c.ssmLanes;
    unsigned lg = 0;
    while ((1u << lg) < c.vecLanes)
      ++lg;
    const double rot = 32.0 * std::ceil(lg / 2.0);
    const bool lutram = 2 * c.vecLanes <= 64;
    chk.lut = L * (2 * rot + 32 + (lutram ? 64.0 : 0.0)) + 300; // trn
    chk.bram36 = lutram ? 0 : std::ceil(L / 2);                 // trn's lane memories
    chk.lut += 40.0 * L;                                        // split16
    chk.lut += S * (64 + 8 * std::ceil(65 / S) + 20) + 150;     // segdecay
    est.lines.push_back(chk);
  }
  // Scratchpad: spadBanks() banks, one URAM / BRAM36 each (a bank word is the primitive's
  // 64 data bits), so capacity and width are both served (Board.h). The read/write muxing
  // routes what the units take per cycle (weights + activations + vector and SSM lanes).
  ResourceLine sp{"scratchpad"};
  if (c.uram)
    sp.uram = c.spadBanks();
  else
    sp.bram36 = c.spadBanks();
  const double routedBits = 8.0 * (c.matK * c.matN + c.matK + 4.0 * (c.vecLanes + c.ssmLanes));
  sp.lut = routedBits * 2;
  est.lines.push_back(sp);
  // Instruction path: fetch buffer, queues, microcode store and the vector / SSM sequencers
  // (15000 LUT); the micro-op sequencers (address generators for four operands) of the load,
  // store and matrix units; token FIFOs between every pair of the six processes (16 deep x 8 bit,
  // in shift-register LUTs).
  ResourceLine ctl{"fetch, queues, microcode"};
  double ucodeBytes = isa::kUcodeWords * isa::kUopBytes;
  const double insnBytes = isa::kSlotBytes + 12; // slot word, two bound registers, bundle index
  double queueBytes = double(c.queueDepth) * insnBytes * (isa::kNumSlots - 1);
  ctl.bram36 = std::ceil(ucodeBytes / kBramBytes) + std::ceil(queueBytes / kBramBytes) + 2;
  const double moreSequencers = 3, tokenFifos = isa::kNumSlots * (isa::kNumSlots - 1);
  ctl.lut = 15000 + 800 * moreSequencers + 8 * tokenFifos;
  est.lines.push_back(ctl);
  // DMA: per AXI port a read and a write burst buffer (4 KB each) and the address generators.
  ResourceLine dma{"DMA engines"};
  dma.bram36 = c.axiPorts * 2 * std::ceil(4096.0 / kBramBytes);
  dma.lut = 2500.0 * c.axiPorts * (c.axiBits / 128.0);
  est.lines.push_back(dma);

  for (const ResourceLine &l : est.lines) {
    est.total.dsp += l.dsp;
    est.total.bram36 += l.bram36;
    est.total.uram += l.uram;
    est.total.lut += l.lut;
  }
  est.total.part = "total";
  auto check = [&](const char *what, double used, double budget) {
    if (used > kUsableFraction * budget)
      est.overBudget.push_back(std::string(what) + ": " + std::to_string(long(used)) + " needed, " +
                               std::to_string(long(kUsableFraction * budget)) + " usable (" +
                               std::to_string(long(budget)) + " on the part)");
  };
  check("DSP", est.total.dsp, c.dsp);
  check("BRAM36", est.total.bram36, c.bram36);
  check("URAM", est.total.uram, c.uram);
  check("LUT", est.total.lut, c.lut);
  return est;
}

std::vector<SpadDemand> spadDemand(const BoardConfig &c) {
  return {
      {"load DMA", double(c.loadSpadDemand()), "one AXI beat per port written"},
      {"store DMA", double(c.loadSpadDemand()), "one AXI beat per port read"},
      {"matrix", double(c.matrixSpadDemand()),
       "mat_n x mat_k weight bytes + 2 mat_k int8 activations"},
      {"vector", double(c.vectorSpadDemand()), "two int32 operands read, one written per lane"},
      {"SSM", double(c.ssmSpadDemand()), "three int32 operands read, one written per lane"},
  };
}

double spadSupply(const BoardConfig &c) { return c.spadBytesPerCycle(); }

} // namespace mamba2::hw
