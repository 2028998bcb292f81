// fp32 evaluator of the m2 dialect. See M2Evaluator.h.
#include "mamba2/Eval/M2Evaluator.h"

#if defined(__SSE__)
#include <immintrin.h>
#endif
#include <cmath>
#include <limits>
#include <unordered_map>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Onnx/OnnxDialect.h"
#include "mamba2/Eval/Gemm.h"
#include "mamba2/Eval/OnnxInterpreter.h"

using namespace mlir;

namespace mamba2::eval {

float absMax(const float *x, int64_t n, float m) {
  int64_t i = 0;
#if defined(__SSE__)
  const __m128 mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  __m128 l0 = _mm_set1_ps(m), l1 = l0;
  for (; i + 8 <= n; i += 8) {
    l0 = _mm_max_ps(l0, _mm_and_ps(_mm_loadu_ps(x + i), mask));
    l1 = _mm_max_ps(l1, _mm_and_ps(_mm_loadu_ps(x + i + 4), mask));
  }
  float lanes[4];
  _mm_storeu_ps(lanes, _mm_max_ps(l0, l1));
  for (float v : lanes)
    m = std::max(m, v);
#endif
  for (; i < n; ++i)
    m = std::max(m, std::fabs(x[i]));
  return m;
}

void absMaxInto(float *m, const float *x, int64_t n) {
  int64_t i = 0;
#if defined(__SSE__)
  const __m128 mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps(m + i, _mm_max_ps(_mm_loadu_ps(m + i), _mm_and_ps(_mm_loadu_ps(x + i), mask)));
#endif
  for (; i < n; ++i)
    m[i] = std::max(m[i], std::fabs(x[i]));
}

namespace {

llvm::Error fail(const llvm::Twine &msg) { return llvm::createStringError(msg); }

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << op->getName() << " at " << op->getLoc();
  return s;
}

Act make(int64_t b, int64_t l, int64_t c) {
  Act a;
  a.b = b;
  a.l = l;
  a.c = c;
  a.v.assign(static_cast<size_t>(b * l * c), 0.0f);
  return a;
}

/// An onnx result as an m2 activation: the last dimension is c, the first b (rank 3).
Act toAct(const Tensor &t) {
  Act a;
  a.c = t.rank() ? t.shape().back() : 1;
  a.b = t.rank() >= 3 ? t.shape()[0] : 1;
  a.l = (a.b && a.c) ? t.numel() / (a.b * a.c) : 0;
  a.v.assign(t.data<float>(), t.data<float>() + t.numel());
  return a;
}

/// An m2 activation or explicit state as an onnx operand: the value's own shape where its
/// static sizes (at most one dynamic) determine it, else (b, l, c).
Tensor toTensor(const Act &a, Value v) {
  Shape shape{a.b, a.l, a.c};
  if (auto type = dyn_cast<RankedTensorType>(v.getType())) {
    Shape want(type.getShape().begin(), type.getShape().end());
    int64_t known = 1, dynamicAt = -1, dynamicCount = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (ShapedType::isDynamic(want[i])) {
        dynamicAt = static_cast<int64_t>(i);
        ++dynamicCount;
      } else {
        known *= want[i];
      }
    }
    const auto n = static_cast<int64_t>(a.v.size());
    if (dynamicCount == 1 && known > 0 && n % known == 0)
      want[dynamicAt] = n / known;
    if (dynamicCount <= 1 && known > 0 && (dynamicCount == 1 || known == n))
      shape = want;
  }
  Tensor t = Tensor::empty(DType::F32, shape);
  std::copy(a.v.begin(), a.v.end(), t.mutableData<float>());
  return t;
}

Shape staticShape(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return Shape(s.begin(), s.end());
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float silu(float x) { return x * sigmoid(x); }
/// As torch.nn.functional.softplus (threshold 20), which equals log(1 + exp(x)) in fp32 there.
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

/// sum_k a[k] * b[k] with 8 partial sums combined in a fixed order (vectorisable, and the
/// same result whatever the thread that computes it).
float dot(const float *a, const float *b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] += a[k + j] * b[k + j];
  for (; k < n; ++k)
    acc[k & 7] += a[k] * b[k];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/// One token of one SSD head: S (P, N) = decay * S + (d * x) B^T, y = S C + D x, the update and
/// y's sum in one pass over each state row (the sum in dot()'s 8 partial sums and order, so the
/// same result). With `rowMax` (P values), rowMax[p] = max(rowMax[p], max_n |S[p][n]|) after the
/// update, in the same pass. The SSE path does each lane's operations in the scalar path's
/// order (no fused multiply-add), so both give the same bits.
template <bool Max>
void ssdStepRows(float *S, int64_t P, int64_t N, float d, float decay, const float *xt,
                 const float *bt, const float *ct, float Dh, float *yt, float *rowMax) {
  for (int64_t p = 0; p < P; ++p) {
    float *s = S + p * N;
    const float u = d * xt[p];
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, m = Max ? rowMax[p] : 0.0f;
    int64_t n = 0;
#if defined(__SSE__)
    const __m128 vd = _mm_set1_ps(decay), vu = _mm_set1_ps(u);
    const __m128 mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m128 a0 = _mm_setzero_ps(), a1 = a0, m0 = _mm_set1_ps(m), m1 = m0;
    for (; n + 8 <= N; n += 8) {
      __m128 v0 =
          _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(s + n), vd), _mm_mul_ps(vu, _mm_loadu_ps(bt + n)));
      __m128 v1 = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(s + n + 4), vd),
                             _mm_mul_ps(vu, _mm_loadu_ps(bt + n + 4)));
      _mm_storeu_ps(s + n, v0);
      _mm_storeu_ps(s + n + 4, v1);
      a0 = _mm_add_ps(a0, _mm_mul_ps(v0, _mm_loadu_ps(ct + n)));
      a1 = _mm_add_ps(a1, _mm_mul_ps(v1, _mm_loadu_ps(ct + n + 4)));
      if constexpr (Max) {
        m0 = _mm_max_ps(m0, _mm_and_ps(v0, mask));
        m1 = _mm_max_ps(m1, _mm_and_ps(v1, mask));
      }
    }
    _mm_storeu_ps(acc, a0);
    _mm_storeu_ps(acc + 4, a1);
    if constexpr (Max) {
      float lanes[4];
      _mm_storeu_ps(lanes, _mm_max_ps(m0, m1));
      for (float v : lanes)
        m = std::max(m, v);
    }
#else
    for (; n + 8 <= N; n += 8)
      for (int j = 0; j < 8; ++j) {
        const float v = s[n + j] * decay + u * bt[n + j];
        s[n + j] = v;
        acc[j] += v * ct[n + j];
        if constexpr (Max)
          m = std::max(m, std::fabs(v));
      }
#endif
    for (; n < N; ++n) {
      const float v = s[n] * decay + u * bt[n];
      s[n] = v;
      acc[n & 7] += v * ct[n];
      if constexpr (Max)
        m = std::max(m, std::fabs(v));
    }
    yt[p] = (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) +
            Dh * xt[p];
    if constexpr (Max)
      rowMax[p] = m;
  }
}

void ssdStep(float *S, int64_t P, int64_t N, float d, float decay, const float *xt, const float *bt,
             const float *ct, float Dh, float *yt, float *rowMax) {
  if (rowMax)
    ssdStepRows<true>(S, P, N, d, decay, xt, bt, ct, Dh, yt, rowMax);
  else
    ssdStepRows<false>(S, P, N, d, decay, xt, bt, ct, Dh, yt, nullptr);
}

} // namespace

llvm::Expected<std::unique_ptr<Program>>
Program::compile(ModuleOp module, const std::string &function, Extension *extension) {
  auto program = std::unique_ptr<Program>(new Program());
  program->extension_ = extension;
  auto func = module.lookupSymbol<func::FuncOp>(function);
  if (!func)
    return fail("no function @" + function + " in the module");
  program->func_ = func;
  auto type = func.getFunctionType();
  if (type.getNumInputs() < 1 || type.getNumResults() != type.getNumInputs())
    return fail("@" + function +
                " must take token ids (and states) and return logits (and the new states)");
  auto ids = dyn_cast<RankedTensorType>(type.getInput(0));
  auto logits = dyn_cast<RankedTensorType>(type.getResult(0));
  if (!ids || ids.getRank() != 2 || !ids.getElementType().isInteger(64) || !logits ||
      logits.getRank() != 3 || logits.isDynamicDim(2))
    return fail("@" + function +
                " must map (batch, length) int64 ids to (batch, length, vocab) "
                "logits");
  program->vocab_ = logits.getDimSize(2);
  // Explicit state: argument i and result i (i >= 1) are one state, (batch, ...) with the rest
  // static; such a function runs one token per call.
  for (unsigned i = 1; i < type.getNumInputs(); ++i) {
    auto s = dyn_cast<RankedTensorType>(type.getInput(i));
    std::string which = "state argument " + std::to_string(i) + " of @" + function;
    if (!s || !s.getElementType().isF32() || s.getRank() < 2 ||
        llvm::any_of(s.getShape().drop_front(), ShapedType::isDynamic))
      return fail(which + " must be a (batch, ...) f32 tensor with static sizes after the batch");
    if (type.getResult(i) != s)
      return fail(which + " must come back as result " + std::to_string(i) + " with its type");
  }
  program->numStates_ = type.getNumInputs() - 1;
  if (type.getNumInputs() > 1 && ids.getDimSize(1) != 1)
    return fail("@" + function +
                " takes states, so it must take one token per sequence: ids (batch, 1)");
  for (Operation &op : func.getBody().front()) {
    if (isa<func::ReturnOp>(op))
      continue;
    if (isa<onnxir::OnnxDialect>(op.getDialect())) {
      program->replays_ = true; // run by the onnx interpreter
      continue;
    }
    if (!isa<m2::M2Dialect>(op.getDialect()))
      return fail("the evaluator runs m2 and onnx ops only, not " + describe(&op));
    if (extension && extension->handles(&op))
      continue;
    for (Value r : op.getResults()) {
      auto t = dyn_cast<RankedTensorType>(r.getType());
      if (!t || !t.getElementType().isF32())
        return fail("result of " + describe(&op) + " is not a ranked f32 tensor");
    }
    auto c = dyn_cast<m2::ConstantOp>(op);
    if (!c)
      continue;
    ElementsAttr value = c.getValue();
    const float *data = nullptr;
    if (auto d = dyn_cast<DenseElementsAttr>(value)) {
      if (d.isSplat()) {
        program->expanded_.push_back(std::make_unique<std::vector<float>>(
            static_cast<size_t>(d.getNumElements()), d.getSplatValue<float>()));
        data = program->expanded_.back()->data();
      } else {
        data = reinterpret_cast<const float *>(d.getRawData().data());
      }
    } else if (auto r = dyn_cast<DenseF32ResourceElementsAttr>(value)) {
      if (auto a = r.tryGetAsArrayRef())
        data = a->data();
    }
    if (!data)
      return fail("constant " + describe(&op) + " has no readable fp32 data");
    program->constants_[c.getOutput()] = data;
  }
  // The last reader of each value (the return's operands live to the end).
  llvm::DenseMap<Value, Operation *> last;
  for (Operation &op : func.getBody().front())
    if (!isa<func::ReturnOp>(op))
      for (Value v : op.getOperands())
        if (!v.getDefiningOp<m2::ConstantOp>())
          last[v] = &op;
  for (Operation &op : func.getBody().front())
    if (isa<func::ReturnOp>(op))
      for (Value v : op.getOperands())
        last.erase(v);
  for (Operation &op : func.getBody().front()) // in op order: the same order in every run
    for (Value v : op.getOperands())
      if (auto it = last.find(v); it != last.end() && it->second == &op) {
        program->lastReadBy_[&op].push_back(v);
        last.erase(it);
      }
  return program;
}

Session::Session(const Program &program, int64_t batch, ThreadPool &pool)
    : program_(program), batch_(batch), pool_(pool) {}

void Session::reset() {
  state_.clear();
  extensionState_.clear();
  args_.clear();
  history_.clear();
}

llvm::Expected<std::vector<float>> Session::run(const std::vector<int64_t> &ids, int64_t length) {
  const int64_t B = batch_, L = length;
  if (L <= 0 || static_cast<int64_t>(ids.size()) != B * L)
    return fail("expected " + llvm::Twine(B) + " x " + llvm::Twine(L) + " token ids");
  if (program_.numStates() > 0) {
    // A step function: one call per token, the states carried from call to call (its onnx ops,
    // if any, see only the current token and the explicit states, so nothing is replayed).
    const int64_t V = program_.vocab();
    std::vector<float> all(static_cast<size_t>(B * L * V));
    std::vector<int64_t> one(static_cast<size_t>(B));
    for (int64_t t = 0; t < L; ++t) {
      for (int64_t b = 0; b < B; ++b)
        one[b] = ids[b * L + t];
      auto logits = evaluate(one, 1);
      if (!logits) {
        reset(); // the states were moved into the failed evaluation
        return logits.takeError();
      }
      for (int64_t b = 0; b < B; ++b)
        std::copy(logits->begin() + b * V, logits->begin() + (b + 1) * V,
                  all.begin() + (b * L + t) * V);
    }
    return all;
  }
  if (!program_.replays()) {
    skipLmHead_ = discardLogits_;
    auto logits = evaluate(ids, length);
    skipLmHead_ = false;
    if (!logits)
      reset(); // some ops' states may have advanced
    return logits;
  }
  // onnx ops keep no state: evaluate the whole history, return the new tokens' logits.
  history_.resize(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b)
    history_[b].insert(history_[b].end(), ids.begin() + b * L, ids.begin() + (b + 1) * L);
  const int64_t T = static_cast<int64_t>(history_[0].size()), V = program_.vocab();
  std::vector<int64_t> all;
  for (const auto &h : history_)
    all.insert(all.end(), h.begin(), h.end());
  state_.clear();
  extensionState_.clear();
  auto logits = evaluate(all, T);
  if (!logits) {
    for (auto &h : history_)
      h.resize(static_cast<size_t>(T - L));
    return logits.takeError();
  }
  std::vector<float> out;
  for (int64_t b = 0; b < B; ++b)
    out.insert(out.end(), logits->begin() + (b * T + T - L) * V, logits->begin() + (b + 1) * T * V);
  return out;
}

llvm::Expected<std::vector<float>> Session::evaluate(const std::vector<int64_t> &ids,
                                                     int64_t length) {
  const int64_t B = batch_, L = length;
  // unordered_map: references to activations stay valid while results are inserted (a
  // DenseMap would move them when it grows).
  struct ValueHash {
    size_t operator()(Value v) const { return hash_value(v); }
  };
  std::unordered_map<Value, Act, ValueHash> acts;
  std::unordered_map<Value, Tensor, ValueHash> tensors; // of the onnx ops
  auto in = [&](Value v) -> Act & {
    auto [a, inserted] = acts.try_emplace(v);
    if (inserted) { // an onnx result read by an m2 op: (b, l, c)
      auto t = tensors.find(v);
      if (t != tensors.end())
        a->second = toAct(t->second);
    }
    return a->second;
  };
  // A state operand updated in place into the op's new state: moved when this op is its only
  // user (the states of a step function are 20 MB at 130M, read and written once per token),
  // copied otherwise.
  auto take = [&](Value v) -> Act {
    Act &a = in(v);
    return v.hasOneUse() ? std::move(a) : a;
  };
  auto cst = [&](Value v) { return program_.constant(v); };
  auto width = [](Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); };
  std::vector<float> logits;

  // Explicit states: zeros at the start of a sequence, then what the last call returned.
  func::FuncOp fn = program_.function();
  args_.resize(program_.numStates());
  for (size_t i = 0; i < args_.size(); ++i) {
    auto t = cast<RankedTensorType>(fn.getArgument(i + 1).getType());
    int64_t n = B;
    for (int64_t d : t.getShape().drop_front())
      n *= d;
    if (args_[i].empty())
      args_[i].assign(static_cast<size_t>(n), 0.0f);
    Act &a = acts[fn.getArgument(i + 1)];
    a.b = B;
    a.l = 1;
    a.c = n / B;
    a.v = std::move(args_[i]); // moved back at the return
  }

  // The activations the previous op read last are freed before the next op runs.
  Operation *previous = nullptr;
  const size_t opCount = fn.getBody().front().getOperations().size();
  size_t opsBegun = 0;
  for (Operation &opRef : fn.getBody().front()) {
    Operation *op = &opRef;
    if (onOp_)
      onOp_(opsBegun++, opCount);
    if (previous)
      for (Value v : program_.lastReadBy(previous)) {
        acts.erase(v);
        tensors.erase(v);
      }
    previous = op;
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      auto t = tensors.find(ret.getOperand(0));
      if (t != tensors.end() &&
          (t->second.dtype() != DType::F32 || t->second.numel() != B * L * program_.vocab()))
        return fail("the function returns a " + llvm::Twine(dtypeName(t->second.dtype())) +
                    " tensor of shape " + formatShape(t->second.shape()) + ", not the logits");
      for (size_t i = 0; i < args_.size(); ++i)
        args_[i] = std::move(in(ret.getOperand(i + 1)).v);
      Act &r = in(ret.getOperand(0));
      logits = std::move(r.v);
      break;
    }
    if (isa<m2::ConstantOp>(op))
      continue;
    if (Extension *ext = program_.extension(); ext && isa<m2::M2Dialect>(op->getDialect())) {
      std::vector<const Act *> operands;
      for (Value v : op->getOperands())
        operands.push_back(v.getDefiningOp<m2::ConstantOp>() ? nullptr : &in(v));
      if (ext->handles(op)) {
        auto results = ext->run(op, operands, extensionState_[op]);
        if (!results)
          return results.takeError();
        for (auto [v, a] : llvm::zip(op->getResults(), *results))
          acts[v] = std::move(a);
        continue;
      }
      ext->observe(op, operands);
    }
    if (auto e = dyn_cast<m2::EmbeddingOp>(op)) {
      // ids (b, l) -> rows of table (V, d).
      auto tt = cast<RankedTensorType>(e.getTable().getType());
      int64_t V = tt.getDimSize(0), D = tt.getDimSize(1);
      const float *table = cst(e.getTable());
      if (!table)
        return fail("embedding table of " + describe(op) + " is not a constant");
      Act out = make(B, L, D);
      for (int64_t i = 0; i < B * L; ++i) {
        if (ids[i] < 0 || ids[i] >= V)
          return fail("token id " + llvm::Twine(ids[i]) + " is outside the vocabulary of " +
                      llvm::Twine(V));
        std::copy(table + ids[i] * D, table + (ids[i] + 1) * D, out.v.data() + i * D);
      }
      acts[e.getOutput()] = std::move(out);
    } else if (auto n = dyn_cast<m2::RMSNormOp>(op)) {
      Act &x = in(n.getInput());
      const float *w = cst(n.getWeight());
      float eps = n.getEps().convertToFloat();
      Act out = make(x.b, x.l, x.c);
      int64_t C = x.c;
      pool_.parallelFor(x.b * x.l, [&](int64_t b0, int64_t b1) {
        for (int64_t r = b0; r < b1; ++r) {
          const float *xr = x.v.data() + r * C;
          float ms = dot(xr, xr, C) / static_cast<float>(C);
          float inv = 1.0f / std::sqrt(ms + eps);
          for (int64_t c = 0; c < C; ++c)
            out.v[r * C + c] = xr[c] * inv * w[c];
        }
      });
      acts[n.getOutput()] = std::move(out);
    } else if (auto lin = dyn_cast<m2::LinearOp>(op)) {
      Act &x = in(lin.getInput());
      int64_t N = width(lin.getOutput());
      Act out = make(x.b, x.l, N);
      // weight (in, out): y (b*l, N) = x (b*l, K) @ w (K, N).
      sgemmNN(pool_, x.b * x.l, N, x.c, x.v.data(), x.c, cst(lin.getWeight()), N, out.v.data(), N);
      acts[lin.getOutput()] = std::move(out);
    } else if (auto s = dyn_cast<m2::SplitOp>(op)) {
      Act &x = in(s.getInput());
      int64_t off = 0;
      for (auto [size, r] : llvm::zip(s.getSizes(), s.getOutputs())) {
        Act part = make(x.b, x.l, size);
        for (int64_t i = 0; i < x.b * x.l; ++i)
          std::copy(x.v.data() + i * x.c + off, x.v.data() + i * x.c + off + size,
                    part.v.data() + i * size);
        off += size;
        acts[r] = std::move(part);
      }
    } else if (auto cv = dyn_cast<m2::Conv1dOp>(op)) {
      // With the state (b, C, K) of the last K inputs (oldest first):
      // h = state ++ x; out[t, c] = bias[c] + sum_j w[c, j] * h[1 + t + j, c]; the new state is
      // the last K columns of h. Without a state operand the op keeps its own, zeros at first.
      Act &x = in(cv.getInput());
      int64_t C = x.c, K = cast<RankedTensorType>(cv.getWeight().getType()).getDimSize(1);
      const float *w = cst(cv.getWeight()), *bias = cst(cv.getBias());
      std::vector<float> *st = nullptr;
      Act carried;
      if (cv.getState()) {
        carried = take(cv.getState());
        st = &carried.v;
      } else {
        st = &state_[op];
        if (st->empty())
          st->assign(static_cast<size_t>(B * C * K), 0.0f);
      }
      if (static_cast<int64_t>(st->size()) != B * C * K)
        return fail("conv state of " + describe(op) + " does not hold batch x channels x kernel");
      Act out = make(x.b, x.l, C);
      pool_.parallelFor(B * C, [&](int64_t q0, int64_t q1) {
        std::vector<float> hist(static_cast<size_t>(K + L));
        for (int64_t q = q0; q < q1; ++q) {
          float *s = st->data() + q * K; // (b, c) row of the state
          int64_t b = q / C, c = q % C;
          std::copy(s, s + K, hist.begin());
          for (int64_t t = 0; t < L; ++t)
            hist[K + t] = x.row(b, t)[c];
          for (int64_t t = 0; t < L; ++t) {
            float acc = bias[c];
            for (int64_t j = 0; j < K; ++j)
              acc += w[c * K + j] * hist[1 + t + j];
            out.row(b, t)[c] = acc;
          }
          std::copy(hist.begin() + L, hist.begin() + L + K, s);
        }
      });
      acts[cv.getOutput()] = std::move(out);
      if (cv.getState())
        acts[cv.getNewState()] = std::move(carried);
    } else if (auto si = dyn_cast<m2::SiluOp>(op)) {
      Act out = in(si.getInput());
      pool_.parallelFor(static_cast<int64_t>(out.v.size()), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          out.v[i] = silu(out.v[i]);
      });
      acts[si.getOutput()] = std::move(out);
    } else if (auto sp = dyn_cast<m2::SoftplusOp>(op)) {
      Act out = in(sp.getInput());
      pool_.parallelFor(static_cast<int64_t>(out.v.size()), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          out.v[i] = softplus(out.v[i]);
      });
      acts[sp.getOutput()] = std::move(out);
    } else if (auto ssd = dyn_cast<m2::SSDOp>(op)) {
      Act &x = in(ssd.getX()), &dt = in(ssd.getDt()), &Bm = in(ssd.getB()), &Cm = in(ssd.getC());
      const float *dtBias = cst(ssd.getDtBias()), *A = cst(ssd.getA()), *Dv = cst(ssd.getD());
      int64_t H = dt.c, P = x.c / H, G = ssd.getNgroups(), N = Bm.c / G, hpg = H / G;
      // The state (b, h, p, n): the operand's, updated into the new-state result, or the op's
      // own (zeros at first).
      Act carried;
      if (ssd.getState())
        carried = take(ssd.getState());
      std::vector<float> &st = ssd.getState() ? carried.v : state_[op];
      if (!ssd.getState() && st.empty())
        st.assign(static_cast<size_t>(B * H * P * N), 0.0f);
      if (static_cast<int64_t>(st.size()) != B * H * P * N)
        return fail("SSM state of " + describe(op) +
                    " does not hold batch x heads x headdim x d_state");
      Act out = make(x.b, x.l, x.c);
      // dt after the softplus, clamped to [dt_min, dt_max] where the op says so.
      float dtMin = ssd.getDtMin() ? ssd.getDtMin()->convertToFloat()
                                   : -std::numeric_limits<float>::infinity();
      float dtMax = ssd.getDtMax() ? ssd.getDtMax()->convertToFloat()
                                   : std::numeric_limits<float>::infinity();
      // Per (batch, head, p) row: max |S| over the steps, where the extension asks for it.
      Extension *ext = program_.extension();
      std::vector<float> rowMax;
      if (ext && !ssd.getState() && ext->observesSsdStates(op))
        rowMax.assign(static_cast<size_t>(B * H * P), 0.0f);
      pool_.parallelFor(B * H, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
          int64_t b = q / H, h = q % H, g = h / hpg;
          float *S = st.data() + q * P * N; // (p, n)
          float *qMax = rowMax.empty() ? nullptr : rowMax.data() + q * P;
          for (int64_t t = 0; t < L; ++t) {
            float d = std::min(std::max(softplus(dt.row(b, t)[h] + dtBias[h]), dtMin), dtMax);
            float decay = std::exp(d * A[h]);
            const float *xt = x.row(b, t) + h * P;
            const float *bt = Bm.row(b, t) + g * N;
            const float *ct = Cm.row(b, t) + g * N;
            ssdStep(S, P, N, d, decay, xt, bt, ct, Dv[h], out.row(b, t) + h * P, qMax);
          }
        }
      });
      if (!rowMax.empty()) {
        for (int64_t b = 1; b < B; ++b)
          for (int64_t i = 0; i < H * P; ++i)
            rowMax[i] = std::max(rowMax[i], rowMax[b * H * P + i]);
        rowMax.resize(static_cast<size_t>(H * P));
        ext->observeSsdStates(op, rowMax);
      }
      acts[ssd.getY()] = std::move(out);
      if (ssd.getState())
        acts[ssd.getNewState()] = std::move(carried);
    } else if (auto gn = dyn_cast<m2::GatedRMSNormOp>(op)) {
      Act &y = in(gn.getY()), &z = in(gn.getZ());
      const float *w = cst(gn.getWeight());
      float eps = gn.getEps().convertToFloat();
      int64_t C = y.c, gs = C / gn.getNgroups();
      Act out = make(y.b, y.l, C);
      pool_.parallelFor(y.b * y.l, [&](int64_t r0, int64_t r1) {
        std::vector<float> h(static_cast<size_t>(C));
        for (int64_t r = r0; r < r1; ++r) {
          for (int64_t c = 0; c < C; ++c)
            h[c] = y.v[r * C + c] * silu(z.v[r * C + c]);
          for (int64_t g0 = 0; g0 < C; g0 += gs) {
            float ms = dot(h.data() + g0, h.data() + g0, gs) / static_cast<float>(gs);
            float inv = 1.0f / std::sqrt(ms + eps);
            for (int64_t c = g0; c < g0 + gs; ++c)
              out.v[r * C + c] = h[c] * inv * w[c];
          }
        }
      });
      acts[gn.getOutput()] = std::move(out);
    } else if (auto ra = dyn_cast<m2::ResidualAddOp>(op)) {
      Act out = in(ra.getResidual());
      Act &u = in(ra.getUpdate());
      for (size_t i = 0; i < out.v.size(); ++i)
        out.v[i] += u.v[i];
      acts[ra.getOutput()] = std::move(out);
    } else if (auto lm = dyn_cast<m2::LMHeadOp>(op)) {
      Act &x = in(lm.getInput());
      const float *table = cst(lm.getTable());
      int64_t V = cast<RankedTensorType>(lm.getTable().getType()).getDimSize(0), D = x.c;
      int64_t M = x.b * x.l;
      if (skipLmHead_ && llvm::all_of(lm.getLogits().getUsers(),
                                      [](Operation *u) { return isa<func::ReturnOp>(u); })) {
        acts[lm.getLogits()] = Act{x.b, x.l, V, {}}; // discarded: no logits are returned
        continue;
      }
      Act out = make(x.b, x.l, V);
      // table (V, D): logits (M, V) = x (M, D) @ table^T.
      sgemmNT(pool_, M, V, D, x.v.data(), D, table, D, out.v.data(), V);
      acts[lm.getLogits()] = std::move(out);
    } else if (isa<onnxir::OnnxDialect>(op->getDialect())) {
      if (isa<onnxir::NoValueOp>(op))
        continue;
      std::vector<const Tensor *> operands;
      for (Value v : op->getOperands()) {
        if (isa<NoneType>(v.getType())) {
          operands.push_back(nullptr);
          continue;
        }
        if (!tensors.count(v)) { // the ids, an m2 result or an m2 constant
          if (v == fn.getArgument(0))
            tensors[v] = Tensor::view(DType::I64, {B, L}, ids.data());
          else if (acts.count(v))
            tensors[v] = toTensor(acts[v], v);
          else if (const float *c = cst(v))
            tensors[v] = Tensor::view(DType::F32, staticShape(v), c);
          else
            return fail("an operand of " + describe(op) + " has no value");
        }
        operands.push_back(&tensors[v]);
      }
      auto results = evaluateOnnxOp(op, operands, pool_);
      if (!results)
        return results.takeError();
      for (auto [v, t] : llvm::zip(op->getResults(), *results))
        tensors[v] = std::move(t);
    } else {
      return fail("the evaluator has no kernel for " + describe(op));
    }
  }
  return logits;
}

} // namespace mamba2::eval
