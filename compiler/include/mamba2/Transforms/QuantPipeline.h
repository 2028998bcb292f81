// The quantisation pipeline of mamba2c and the accuracy benchmark: a scheme (fp32, W8A8, W4A8,
// W4A4, with or without Hadamard rotation and piecewise-linear functions) as a pass pipeline
// over a raised m2 module, and its evaluation against fp32 on text.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include "mamba2/Eval/M2Evaluator.h"

namespace mamba2 {

class PhaseReport;

struct QuantScheme {
  std::string name = "w8a8";    // fp32, w8a8, w4a8, w4a4
  std::string hadamard = "off"; // off, on, random
  uint64_t seed = 1;            // of the random Hadamard
  int64_t group = 128;          // K-group of 4-bit weights (8-bit weights: per channel)
  std::string actMode = "token";
  std::string method = "rtn";
  int64_t lmHeadBits = 8;
  int64_t pwlSegments = 0;          // 0: exact SiLU/softplus
  int64_t ssmPot = 0;               // state bits of the power-of-two SSM and conv (0: fp32 SSM)
  std::string ssmPotGroup = "head"; // channels sharing a PoT exponent: tensor, head, a count
  std::string calibText;            // empty: defaultCalibText()
  /// A Hugging Face tokenizer.json for a token model's calibration text (m2-calibrate's
  /// `tokenizer`); empty: the text's bytes are the ids (a byte model).
  std::string tokenizer;
  int64_t calibBytes = 16384;
  /// m2-calibrate's budget in multiply-adds of the model's linear layers (its `max-macs`):
  /// calibBytes ids of a large model take fewer bytes. The default keeps 130M's 16 KiB
  /// (90M multiply-adds an id: 1.5e12) and gives 2.7B (2.57e9 an id) 777 bytes; 0: no limit.
  double calibMacs = 2e12;
  int64_t calibOffset = 0; // bytes of the calibration text skipped first
  bool progress = true;
  /// The passes free the memory of the weights they replace (their `release-weights` option):
  /// only for a module that shares its context's weights with no other (no clone of it is used).
  bool releaseWeights = false;
  // lowerToOvl only: m2-reorder-in-proj and ovl-split-head-groups: "auto" where the split's
  // cost model for `target` splits some layer (chooseHeadsPerGroup), "on", "off"; heads per
  // group (0: the cost model's choice; a count implies "on").
  std::string headGroups = "auto";
  int64_t headsPerGroup = 0;
  std::string target = "kv260";
  // lowerToOvl and the ovl accuracy only: ovl-ssd-form's form of the prefill's SSM ("scan",
  // "chunked", the decode then in a @decode of its own, or "auto") and its rows per chunk; the
  // chunked form's bound on dt' is calibrated on `ssdCalibBytes` bytes of the calibration text in
  // the ovl evaluator (0: the table's bound).
  std::string ssdForm = "scan";
  int64_t ssdChunk = 32;
  /// ssdForm "auto": the SSD form's cost model (codegen::chooseSsdForm, for `target`) chooses
  /// the form and the chunk for prefill calls of `ssdRows` rows (mamba2c: --t-block, else 32).
  int64_t ssdRows = 32;
  int64_t ssdCalibBytes = 2048;
  /// The ovl accuracy only: each window fed as the runtime feeds a prompt, floor(n / t) prefill
  /// calls of t ids then n mod t decode calls (ovl::Session::feed; mamba2c --eval-ovl with
  /// --t-block t); 0: each window as one prefill call.
  int64_t evalTBlock = 0;
  /// When set, each pass of quantizeModule / lowerToOvl is a row of this report (mamba2c
  /// --report).
  PhaseReport *report = nullptr;

  /// "w4a8+had+pwl32" and the like.
  std::string label() const;
  /// Checks the fields; the message names the bad one.
  llvm::Error validate() const;
  /// Whether the scheme runs m2-calibrate: static activation scales, GPTQ, the power-of-two SSM.
  bool needsCalibration() const;
  /// The calibration text: calibText, or defaultCalibText() when it is empty (the one place
  /// where the default applies, for --emit=m2-quant, --eval, --emit=ovl and --eval-ovl alike).
  std::string calibration() const;
};

/// Runs the scheme's passes (m2-fold-norms, m2-rotate, m2-calibrate, m2-quantize-linear, m2-pwl)
/// on a raised module; the pipeline's textual form is in `pipelineOut` when given.
llvm::Error quantizeModule(mlir::ModuleOp module, const QuantScheme &scheme,
                           std::string *pipelineOut = nullptr);

/// What an evaluation reads: the ids (a byte model's are the text's bytes, a token model's a
/// tokenizer's) and how many bytes of the text each id stands for.
struct EvalText {
  std::vector<int64_t> ids;
  std::vector<int64_t> bytes; // bytes[i]: the bytes of text behind ids[i]
  bool tokenized = false;     // ids from a tokenizer (the figure is perplexity per token)
  /// Every byte its own id.
  static EvalText fromBytes(llvm::StringRef text);
};
/// `text` tokenized with the Hugging Face tokenizer.json at `tokenizerPath` (the runtime's
/// byte-level BPE, runtime/include/mamba2/runtime/Tokenizer.h); an incomplete UTF-8 sequence at
/// either end of `text` (a cut made by a byte count) is left out first.
llvm::Expected<EvalText> tokenizeText(llvm::StringRef text, const std::string &tokenizerPath);
/// The ids a model with vocabulary `vocab` reads in `text`: tokenized with `tokenizerPath` when
/// it is not empty (every id must be below `vocab`), else the bytes, which only a byte model
/// (vocabulary 256) reads: a token model without a tokenizer is an error that says so.
llvm::Expected<EvalText> textForModel(llvm::StringRef text, int64_t vocab,
                                      const std::string &tokenizerPath);

/// Accuracy of a model against the fp32 reference over text: windows of `window` ids, each
/// from an empty state; predictions of id t+1 from the logits at t. For a byte model every id
/// is one byte, so bits per token and bits per byte are the same figure.
struct Accuracy {
  int64_t predictions = 0;
  int64_t bytes = 0;                            // bytes of text behind the predicted ids
  double bits = 0, refBits = 0;                 // summed over the predictions
  double bitsPerByte = 0, refBitsPerByte = 0;   // bits / bytes
  double bitsPerToken = 0, refBitsPerToken = 0; // bits / predictions
  double perplexity() const { return std::exp2(bitsPerToken); }
  double refPerplexity() const { return std::exp2(refBitsPerToken); }
  double top1 = 0;         // fraction of positions whose argmax equals the reference's
  double kl = 0;           // mean KL(reference || model), nats
  double maxLogitDiff = 0; // max |logit - reference logit| / max |reference logit|
  /// Bits per byte by position in the window: [0, 256), [256, 1024), [1024, 4096).
  double bpbByPos[3] = {0, 0, 0}, refBpbByPos[3] = {0, 0, 0};
  int64_t countByPos[3] = {0, 0, 0};
};
/// Logits (length x vocab) of each window of `text`.
llvm::Expected<std::vector<std::vector<float>>> windowLogits(const eval::Program &program,
                                                             const EvalText &text, int64_t window,
                                                             eval::ThreadPool &pool,
                                                             bool progress = false);
/// The same for the bytes of `text` (a byte model).
llvm::Expected<std::vector<std::vector<float>>> windowLogits(const eval::Program &program,
                                                             llvm::StringRef text, int64_t window,
                                                             eval::ThreadPool &pool,
                                                             bool progress = false);
/// Accuracy of `logits` against `reference` (both from windowLogits on the same text).
Accuracy compareLogits(const std::vector<std::vector<float>> &reference,
                       const std::vector<std::vector<float>> &logits, const EvalText &text,
                       int64_t window, int64_t vocab);
Accuracy compareLogits(const std::vector<std::vector<float>> &reference,
                       const std::vector<std::vector<float>> &logits, llvm::StringRef text,
                       int64_t window, int64_t vocab);
llvm::Expected<Accuracy> measureAccuracy(const eval::Program &reference, const eval::Program &model,
                                         llvm::StringRef text, int64_t window,
                                         eval::ThreadPool &pool, bool progress = false);

/// Evaluates each scheme (a copy of `raised` quantised, run in the integer evaluator) against
/// the fp32 evaluation of `raised` on `text` and prints one row per scheme: bits per byte,
/// its change against fp32, top-1 agreement, mean KL, the largest logit difference relative to
/// the largest logit, bits per byte by position. For a token model (`text.tokenized`): the
/// perplexity per token and its change against fp32, then bits per byte (bits / bytes of the
/// predicted tokens), and bits per token by token position.
llvm::Error printAccuracyTable(mlir::ModuleOp raised, const std::vector<QuantScheme> &schemes,
                               const EvalText &text, int64_t window, int threads,
                               llvm::raw_ostream &os);

/// The calibration text used when a scheme that needs one names none: WikiText-2's test file
/// beside the project (../shared/data), text the default model (trained on five Austen novels)
/// did not see.
std::string defaultCalibText();

/// The scheme as the overlay needs it: static per-tensor activation scales, the power-of-two
/// SSM (16-bit state unless `ssmPot` says otherwise), piecewise-linear SiLU (32 segments unless
/// `pwlSegments` says otherwise); calibrated on QuantScheme::calibration().
QuantScheme ovlScheme(QuantScheme scheme);
/// quantizeModule(ovlScheme(scheme)) then m2-lower-to-ovl: the module becomes one ovl function
/// @main(ids, states...) -> (logits, states...) (compiler/include/mamba2/Ovl/Evaluator.h).
/// The emitter's driver calls this before emitting a program.
llvm::Error lowerToOvl(mlir::ModuleOp module, const QuantScheme &scheme,
                       std::string *pipelineOut = nullptr);
/// Logits (length x vocab, real values) of each window of `text` from the ovl module's @main,
/// each window from zero states: one prefill call, or with `tBlock` > 0 the runtime's calls
/// (ovl::Session::feed: the decode calls run the module's decode entry).
llvm::Expected<std::vector<std::vector<float>>>
ovlWindowLogits(mlir::ModuleOp ovlModule, const EvalText &text, int64_t window,
                bool progress = false, int64_t tBlock = 0);
/// One scheme quantised for the overlay (ovlScheme) and evaluated two ways against the fp32
/// logits `reference` (windowLogits of the raised module on `text`): the m2-level integer
/// evaluator, and the module lowered to ovl in the ovl evaluator; `ovlVsM2` compares the two.
struct OvlAccuracy {
  Accuracy m2, ovl, ovlVsM2;
  std::string label; // ovlScheme(scheme).label()
};
llvm::Expected<OvlAccuracy> measureOvlAccuracy(mlir::ModuleOp raised, const QuantScheme &scheme,
                                               const std::vector<std::vector<float>> &reference,
                                               const EvalText &text, int64_t window,
                                               eval::ThreadPool &pool);
llvm::Expected<OvlAccuracy> measureOvlAccuracy(mlir::ModuleOp raised, const QuantScheme &scheme,
                                               const std::vector<std::vector<float>> &reference,
                                               llvm::StringRef text, int64_t window,
                                               eval::ThreadPool &pool);
/// For each scheme, two rows against fp32 on `text`: the quantised m2 module in the m2-level
/// integer evaluator (`m2`), and the same module lowered to ovl in the ovl evaluator (`ovl`),
/// plus the largest difference between the two's logits relative to the largest logit.
llvm::Error printOvlAccuracyTable(mlir::ModuleOp raised, const std::vector<QuantScheme> &schemes,
                                  const EvalText &text, int64_t window, int threads,
                                  llvm::raw_ostream &os);

} // namespace mamba2
