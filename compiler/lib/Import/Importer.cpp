// ONNX GraphProto -> `onnx` dialect. See Importer.h for the contract.
#include "mamba2/Import/Importer.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"

#include "mamba2/Dialect/Onnx/OnnxDialect.h"
#include "mamba2/onnx/Validate.h"

using namespace mlir;

namespace mamba2::import {

llvm::ArrayRef<char> WeightStorage::map(const std::string &path, uint64_t offset, uint64_t length,
                                        std::string &error) {
  auto buf = llvm::MemoryBuffer::getFileSlice(path, length, offset, /*IsVolatile=*/false);
  if (!buf) {
    error = "cannot map '" + path + "': " + buf.getError().message();
    return {};
  }
  buffers_.push_back(std::move(*buf));
  return {buffers_.back()->getBufferStart(), buffers_.back()->getBufferSize()};
}

void registerImportDialects(MLIRContext &context) {
  context.getOrLoadDialect<func::FuncDialect>();
  context.getOrLoadDialect<onnxir::OnnxDialect>();
}

bool isSupportedOpType(MLIRContext &context, llvm::StringRef opType) {
  registerImportDialects(context);
  return opType != "NoValue" && OperationName(("onnx." + opType).str(), &context).isRegistered();
}

std::vector<std::string> supportedOpTypes(MLIRContext &context) {
  registerImportDialects(context);
  std::vector<std::string> types;
  for (RegisteredOperationName op : context.getRegisteredOperations())
    if (op.getDialectNamespace() == onnxir::OnnxDialect::getDialectNamespace() &&
        isSupportedOpType(context, op.stripDialect()))
      types.push_back(op.stripDialect().str());
  std::sort(types.begin(), types.end());
  return types;
}

namespace {

/// Opsets whose operator definitions the dialect follows.
constexpr int64_t kMinOpset = 13, kMaxOpset = 17;

/// Number of ONNX inputs of the ops whose trailing inputs are optional: absent ones become
/// `onnx.NoValue` operands so that positions stay fixed.
int64_t fixedInputCount(llvm::StringRef opType) {
  static const std::map<std::string, int64_t> counts = {
      {"Slice", 5},     {"Squeeze", 2}, {"Split", 2}, {"Pad", 3}, {"Trilu", 2},
      {"ReduceSum", 2}, {"Gemm", 3},    {"Conv", 3},  {"Clip", 3}};
  auto it = counts.find(opType.str());
  return it == counts.end() ? -1 : it->second;
}

Type elementType(MLIRContext *ctx, int32_t dataType) {
  using T = onnx::TensorProto;
  Builder b(ctx);
  switch (dataType) {
  case T::FLOAT:
    return b.getF32Type();
  case T::DOUBLE:
    return b.getF64Type();
  case T::FLOAT16:
    return b.getF16Type();
  case T::BFLOAT16:
    return b.getBF16Type();
  case T::INT64:
    return b.getI64Type();
  case T::INT32:
    return b.getI32Type();
  case T::INT16:
    return b.getI16Type();
  case T::INT8:
    return b.getI8Type();
  case T::UINT8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case T::UINT16:
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case T::UINT32:
    return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case T::UINT64:
    return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  case T::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

std::string dataTypeName(int32_t dataType) {
  return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(dataType));
}

class GraphImporter {
public:
  GraphImporter(MLIRContext &ctx, const onnx_import::LoadedModel &model, WeightStorage &storage,
                const ImportOptions &options)
      : ctx_(ctx), model_(model), storage_(storage), options_(options), builder_(&ctx) {}

  OwningOpRef<ModuleOp> run();

private:
  Location fileLoc() { return FileLineColLoc::get(&ctx_, model_.path, 0, 0); }
  Location nodeLoc(const onnx::NodeProto &n, int index) {
    std::string name = n.name().empty() ? n.op_type() + "#" + std::to_string(index) : n.name();
    return NameLoc::get(StringAttr::get(&ctx_, name), fileLoc());
  }
  Location tensorLoc(const std::string &name) {
    return NameLoc::get(StringAttr::get(&ctx_, name), fileLoc());
  }

  LogicalResult checkOpsets();
  LogicalResult checkSupported();
  Type valueType(const std::string &name);
  Type typeOf(const onnx::TypeProto &t, Location loc, const std::string &what);
  FailureOr<ElementsAttr> tensorAttr(const onnx::TensorProto &t, Location loc, bool allowResource);
  FailureOr<NamedAttribute> convertAttribute(const onnx::NodeProto &n,
                                             const onnx::AttributeProto &a, Location loc);
  LogicalResult importNode(const onnx::NodeProto &n, int index);
  Value noValue();

  MLIRContext &ctx_;
  const onnx_import::LoadedModel &model_;
  WeightStorage &storage_;
  const ImportOptions &options_;
  OpBuilder builder_;
  llvm::StringMap<const onnx::TypeProto *> declaredTypes_;
  llvm::StringMap<Value> values_;
  Value noValue_;
  int resourceCounter_ = 0;
};

LogicalResult GraphImporter::checkOpsets() {
  bool haveDefault = false;
  for (const auto &op : model_.proto.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") {
      haveDefault = true;
      if (op.version() < kMinOpset || op.version() > kMaxOpset)
        return emitError(fileLoc()) << "ONNX opset " << op.version() << " is not supported (opsets "
                                    << kMinOpset << " to " << kMaxOpset << ")";
    }
  }
  if (!haveDefault)
    return emitError(fileLoc()) << "model imports no ai.onnx opset";
  return success();
}

/// One error listing every unsupported operator type with the names of its nodes.
LogicalResult GraphImporter::checkSupported() {
  std::map<std::string, std::vector<std::string>> unsupported;
  int index = 0;
  for (const auto &n : model_.proto.graph().node()) {
    bool defaultDomain = n.domain().empty() || n.domain() == "ai.onnx";
    std::string key = defaultDomain ? n.op_type() : n.domain() + "." + n.op_type();
    bool known = defaultDomain && isSupportedOpType(ctx_, n.op_type());
    if (!known)
      unsupported[key].push_back(n.name().empty() ? n.op_type() + "#" + std::to_string(index)
                                                  : n.name());
    ++index;
  }
  if (unsupported.empty())
    return success();
  std::string list;
  for (const auto &[op, nodes] : unsupported) {
    if (!list.empty())
      list += "; ";
    list += op + " (" + llvm::join(nodes, ", ") + ")";
  }
  if (model_.convertedFromOpset)
    list +=
        " (the model was converted from opset " + std::to_string(model_.convertedFromOpset) + ")";
  return emitError(fileLoc()) << unsupported.size()
                              << " unsupported ONNX operator type(s): " << list;
}

Type GraphImporter::typeOf(const onnx::TypeProto &t, Location loc, const std::string &what) {
  if (!t.has_tensor_type()) {
    emitError(loc) << what << " is not a tensor (sequences, maps and optionals are unsupported)";
    return {};
  }
  const auto &tt = t.tensor_type();
  Type et = elementType(&ctx_, tt.elem_type());
  if (!et) {
    emitError(loc) << what << " has unsupported element type " << dataTypeName(tt.elem_type());
    return {};
  }
  if (!tt.has_shape())
    return UnrankedTensorType::get(et);
  llvm::SmallVector<int64_t> dims;
  for (const auto &d : tt.shape().dim())
    dims.push_back(d.has_dim_value() ? d.dim_value() : ShapedType::kDynamic);
  return RankedTensorType::get(dims, et);
}

Type GraphImporter::valueType(const std::string &name) {
  auto it = declaredTypes_.find(name);
  if (it == declaredTypes_.end())
    return {};
  return typeOf(*it->second, tensorLoc(name), "value '" + name + "'");
}

FailureOr<ElementsAttr> GraphImporter::tensorAttr(const onnx::TensorProto &t, Location loc,
                                                  bool allowResource) {
  Type et = elementType(&ctx_, t.data_type());
  if (!et)
    return emitError(loc) << "tensor '" << t.name() << "' has unsupported data type "
                          << dataTypeName(t.data_type());
  llvm::SmallVector<int64_t> dims(t.dims().begin(), t.dims().end());
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0)
      return emitError(loc) << "tensor '" << t.name() << "' has negative dimension " << d;
    // Bounded before multiplying: a product past the bound would overflow int64_t.
    if (d != 0 && n > onnx_import::kMaxTensorElements / d)
      return emitError(loc) << "tensor '" << t.name() << "' has more than "
                            << onnx_import::kMaxTensorElements << " elements";
    n *= d;
  }
  auto type = RankedTensorType::get(dims, et);
  int64_t eb = onnx_import::elementBytes(t.data_type());
  int64_t bytes = n * eb;

  // Raw little-endian bytes: inline raw_data or external data.
  llvm::ArrayRef<char> raw;
  bool haveRaw = false;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    const onnx_import::ExternalTensor *ext = nullptr;
    for (const auto &e : model_.external)
      if (e.name == t.name())
        ext = &e;
    if (!ext)
      return emitError(loc) << "tensor '" << t.name()
                            << "' has external data that was not validated";
    std::string error;
    raw = storage_.map((std::filesystem::path(model_.directory) / ext->location).string(),
                       ext->offset, ext->length, error);
    if (!error.empty())
      return emitError(loc) << "tensor '" << t.name() << "': " << error;
    haveRaw = true;
  } else if (t.has_raw_data()) {
    raw = {t.raw_data().data(), t.raw_data().size()};
    haveRaw = true;
  }
  if (haveRaw) {
    if (static_cast<int64_t>(raw.size()) != bytes)
      return emitError(loc) << "tensor '" << t.name() << "' holds " << raw.size()
                            << " bytes of data, but its shape and type need " << bytes;
    if (et.isInteger(1)) {
      llvm::SmallVector<bool> v(raw.begin(), raw.end());
      return ElementsAttr(DenseElementsAttr::get(type, llvm::ArrayRef<bool>(v)));
    }
    if (allowResource && bytes > options_.denseLimitBytes && et.isF32()) {
      // No copy: the blob points into the proto's bytes or the mapped file.
      std::string blobName = "w" + std::to_string(resourceCounter_++) + "_";
      for (char c : t.name())
        blobName += llvm::isAlnum(c) ? c : '_';
      bool aligned = reinterpret_cast<uintptr_t>(raw.data()) % alignof(float) == 0;
      AsmResourceBlob blob =
          aligned ? UnmanagedAsmResourceBlob::allocateWithAlign(raw, alignof(float))
                  : HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(float));
      return ElementsAttr(DenseF32ResourceElementsAttr::get(type, blobName, std::move(blob)));
    }
    bool splat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
      return emitError(loc) << "tensor '" << t.name() << "' has a malformed raw buffer";
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, raw));
  }

  // Typed repeated fields.
  using T = onnx::TensorProto;
  auto sizeError = [&](int64_t have) {
    return emitError(loc) << "tensor '" << t.name() << "' holds " << have
                          << " elements, but its shape needs " << n;
  };
  switch (t.data_type()) {
  case T::FLOAT: {
    if (t.float_data_size() != n)
      return sizeError(t.float_data_size());
    llvm::SmallVector<float> v(t.float_data().begin(), t.float_data().end());
    return ElementsAttr(DenseElementsAttr::get(type, llvm::ArrayRef<float>(v)));
  }
  case T::DOUBLE: {
    if (t.double_data_size() != n)
      return sizeError(t.double_data_size());
    llvm::SmallVector<double> v(t.double_data().begin(), t.double_data().end());
    return ElementsAttr(DenseElementsAttr::get(type, llvm::ArrayRef<double>(v)));
  }
  case T::INT64: {
    if (t.int64_data_size() != n)
      return sizeError(t.int64_data_size());
    llvm::SmallVector<int64_t> v(t.int64_data().begin(), t.int64_data().end());
    return ElementsAttr(DenseElementsAttr::get(type, llvm::ArrayRef<int64_t>(v)));
  }
  case T::INT32:
  case T::INT16:
  case T::INT8:
  case T::UINT8:
  case T::UINT16:
  case T::BOOL: {
    if (t.int32_data_size() != n)
      return sizeError(t.int32_data_size());
    llvm::SmallVector<APInt> v;
    unsigned width = et.getIntOrFloatBitWidth();
    for (int32_t x : t.int32_data())
      v.push_back(APInt(width, static_cast<uint64_t>(static_cast<int64_t>(x)), true));
    return ElementsAttr(DenseElementsAttr::get(type, v));
  }
  case T::UINT32:
  case T::UINT64: {
    if (t.uint64_data_size() != n)
      return sizeError(t.uint64_data_size());
    llvm::SmallVector<APInt> v;
    for (uint64_t x : t.uint64_data())
      v.push_back(APInt(et.getIntOrFloatBitWidth(), x));
    return ElementsAttr(DenseElementsAttr::get(type, v));
  }
  default:
    return emitError(loc) << "tensor '" << t.name() << "' of type " << dataTypeName(t.data_type())
                          << " must use raw_data";
  }
}

FailureOr<NamedAttribute> GraphImporter::convertAttribute(const onnx::NodeProto &n,
                                                          const onnx::AttributeProto &a,
                                                          Location loc) {
  using A = onnx::AttributeProto;
  StringAttr name = builder_.getStringAttr(a.name());
  if (n.op_type() == "Cast" && a.name() == "to") {
    Type et = elementType(&ctx_, static_cast<int32_t>(a.i()));
    if (!et)
      return emitError(loc) << "Cast to unsupported type "
                            << dataTypeName(static_cast<int32_t>(a.i()));
    return NamedAttribute(name, TypeAttr::get(et));
  }
  switch (a.type()) {
  case A::INT:
    return NamedAttribute(name, builder_.getI64IntegerAttr(a.i()));
  case A::INTS:
    return NamedAttribute(name, builder_.getI64ArrayAttr(
                                    llvm::SmallVector<int64_t>(a.ints().begin(), a.ints().end())));
  case A::FLOAT:
    return NamedAttribute(name, builder_.getF32FloatAttr(a.f()));
  case A::STRING:
    return NamedAttribute(name, builder_.getStringAttr(a.s()));
  case A::TENSOR: {
    auto v = tensorAttr(a.t(), loc, /*allowResource=*/false);
    if (failed(v))
      return failure();
    return NamedAttribute(name, *v);
  }
  default:
    return emitError(loc) << "attribute '" << a.name() << "' of node '" << n.name() << "' ("
                          << n.op_type() << ") has an unsupported kind "
                          << A::AttributeType_Name(a.type());
  }
}

Value GraphImporter::noValue() {
  if (!noValue_)
    noValue_ = builder_.create<onnxir::NoValueOp>(builder_.getUnknownLoc(), builder_.getNoneType());
  return noValue_;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &n, int index) {
  Location loc = nodeLoc(n, index);
  OperationState state(loc, "onnx." + n.op_type());

  if (n.op_type() == "Constant") {
    // Constant's value may come in several attributes; all become `value`.
    if (n.attribute_size() != 1)
      return emitError(loc) << "Constant node needs exactly one value attribute";
    const auto &a = n.attribute(0);
    ElementsAttr value;
    if (a.name() == "value") {
      auto v = tensorAttr(a.t(), loc, /*allowResource=*/true);
      if (failed(v))
        return failure();
      value = *v;
    } else if (a.name() == "value_float") {
      value = DenseElementsAttr::get(RankedTensorType::get({}, builder_.getF32Type()), a.f());
    } else if (a.name() == "value_floats") {
      llvm::SmallVector<float> v(a.floats().begin(), a.floats().end());
      value = DenseElementsAttr::get(
          RankedTensorType::get({static_cast<int64_t>(v.size())}, builder_.getF32Type()),
          llvm::ArrayRef<float>(v));
    } else if (a.name() == "value_int") {
      value = DenseElementsAttr::get(RankedTensorType::get({}, builder_.getI64Type()),
                                     static_cast<int64_t>(a.i()));
    } else if (a.name() == "value_ints") {
      llvm::SmallVector<int64_t> v(a.ints().begin(), a.ints().end());
      value = DenseElementsAttr::get(
          RankedTensorType::get({static_cast<int64_t>(v.size())}, builder_.getI64Type()),
          llvm::ArrayRef<int64_t>(v));
    } else {
      return emitError(loc) << "Constant attribute '" << a.name() << "' is not supported";
    }
    if (n.output_size() != 1)
      return emitError(loc) << "Constant node must have one output";
    auto c = builder_.create<onnxir::ConstantOp>(loc, value.getType(), value);
    values_[n.output(0)] = c;
    return success();
  }

  for (const auto &in : n.input()) {
    if (in.empty()) {
      state.operands.push_back(noValue());
      continue;
    }
    auto it = values_.find(in);
    if (it == values_.end())
      return emitError(loc) << "input '" << in << "' of node '" << n.name() << "' (" << n.op_type()
                            << ") is not a graph input, an initializer or an earlier node's output";
    state.operands.push_back(it->second);
  }
  int64_t fixed = fixedInputCount(n.op_type());
  while (fixed >= 0 && static_cast<int64_t>(state.operands.size()) < fixed)
    state.operands.push_back(noValue());

  for (const auto &out : n.output()) {
    Type t = valueType(out);
    if (!t)
      return emitError(loc) << "output '" << out << "' of node '" << n.name() << "' ("
                            << n.op_type() << ") has no type after shape inference";
    state.types.push_back(t);
  }

  auto opName = state.name.getRegisteredInfo();
  assert(opName && "checkSupported lets only registered ops through");
  for (const auto &a : n.attribute()) {
    bool known = llvm::any_of(opName->getAttributeNames(),
                              [&](StringAttr s) { return s.getValue() == a.name(); });
    if (!known)
      return emitError(loc) << "attribute '" << a.name() << "' of " << n.op_type()
                            << " is not supported";
    auto attr = convertAttribute(n, a, loc);
    if (failed(attr))
      return failure();
    state.attributes.push_back(*attr);
  }

  // The op's attribute constraints before the op exists: an attribute of the wrong kind would
  // leave its property null, and the op's verifier reads it unchecked (a Conv whose group is a
  // float crashed ConvOp::verify).
  NamedAttrList attrs(state.attributes);
  if (failed(state.name.verifyInherentAttrs(attrs, [&] { return emitError(loc); })))
    return failure();
  Operation *op = builder_.create(state);
  for (auto [name, result] : llvm::zip(n.output(), op->getResults()))
    if (!name.empty())
      values_[name] = result;
  return success();
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  if (failed(checkOpsets()) || failed(checkSupported()))
    return nullptr;
  const auto &g = model_.proto.graph();
  for (const auto &v : g.input())
    declaredTypes_[v.name()] = &v.type();
  for (const auto &v : g.value_info())
    declaredTypes_[v.name()] = &v.type();
  for (const auto &v : g.output())
    declaredTypes_[v.name()] = &v.type();

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc());
  if (!g.name().empty())
    (*module)->setAttr("onnx.graph_name", builder_.getStringAttr(g.name()));
  if (!model_.proto.producer_name().empty())
    (*module)->setAttr("onnx.producer", builder_.getStringAttr(model_.proto.producer_name()));

  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &t : g.initializer())
    initializers[t.name()] = &t;

  llvm::SmallVector<Type> inputTypes, outputTypes;
  llvm::SmallVector<std::string> inputNames;
  for (const auto &v : g.input()) {
    if (initializers.count(v.name()))
      continue; // an initializer listed as an input (IR < 4): a constant, not an argument
    Type t = typeOf(v.type(), tensorLoc(v.name()), "graph input '" + v.name() + "'");
    if (!t)
      return nullptr;
    inputTypes.push_back(t);
    inputNames.push_back(v.name());
  }
  for (const auto &v : g.output()) {
    Type t = typeOf(v.type(), tensorLoc(v.name()), "graph output '" + v.name() + "'");
    if (!t)
      return nullptr;
    outputTypes.push_back(t);
  }

  builder_.setInsertionPointToEnd(module->getBody());
  auto func = builder_.create<func::FuncOp>(fileLoc(), options_.functionName,
                                            builder_.getFunctionType(inputTypes, outputTypes));
  Block *entry = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(inputNames)) {
    values_[name] = entry->getArgument(i);
    func.setArgAttr(i, "onnx.name", builder_.getStringAttr(name));
  }
  for (auto [i, v] : llvm::enumerate(g.output()))
    func.setResultAttr(i, "onnx.name", builder_.getStringAttr(v.name()));
  builder_.setInsertionPointToStart(entry);

  for (const auto &t : g.initializer()) {
    auto value = tensorAttr(t, tensorLoc(t.name()), /*allowResource=*/true);
    if (failed(value))
      return nullptr;
    values_[t.name()] =
        builder_.create<onnxir::ConstantOp>(tensorLoc(t.name()), value->getType(), *value);
  }
  int index = 0;
  for (const auto &n : g.node())
    if (failed(importNode(n, index++)))
      return nullptr;

  llvm::SmallVector<Value> results;
  for (const auto &v : g.output()) {
    auto it = values_.find(v.name());
    if (it == values_.end()) {
      emitError(tensorLoc(v.name())) << "graph output '" << v.name() << "' is never produced";
      return nullptr;
    }
    Value r = it->second;
    if (r.getType() != outputTypes[results.size()]) {
      // The declared output type may be less precise than the inferred one; keep the
      // declared type at the function boundary only where they are compatible.
      outputTypes[results.size()] = r.getType();
    }
    results.push_back(r);
  }
  builder_.create<func::ReturnOp>(fileLoc(), results);
  func.setFunctionType(builder_.getFunctionType(inputTypes, outputTypes));
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

OwningOpRef<ModuleOp> importModel(MLIRContext &context, const onnx_import::LoadedModel &model,
                                  WeightStorage &storage, const ImportOptions &options) {
  registerImportDialects(context);
  GraphImporter importer(context, model, storage, options);
  return importer.run();
}

} // namespace mamba2::import
