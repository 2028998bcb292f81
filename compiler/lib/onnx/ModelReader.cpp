#include "mamba2/onnx/ModelReader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include "mamba2/onnx/Validate.h"

namespace fs = std::filesystem;

namespace mamba2::onnx_import {
namespace {

llvm::Error fail(const std::string &where, const std::string &what) {
  // The ONNX library's messages span lines; keep each error on one line.
  std::string flat;
  for (char c : what) {
    bool space = c == '\n' || c == ' ' || c == '\t';
    if (space && (flat.empty() || flat.back() == ' '))
      continue;
    flat += space ? ' ' : c;
  }
  while (!flat.empty() && flat.back() == ' ')
    flat.pop_back();
  return llvm::createStringError(std::errc::invalid_argument, "%s: %s", where.c_str(),
                                 flat.c_str());
}

bool parseProto(const std::string &bytes, onnx::ModelProto &proto) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT32_MAX);
  return proto.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

/// A protobuf that parses is not yet an ONNX model: an empty byte string, or text, parses as an
/// empty message. Require the fields every exporter writes.
llvm::Error checkShape(const onnx::ModelProto &proto, const std::string &where) {
  if (proto.ir_version() <= 0)
    return fail(where, "not an ONNX model (no ir_version; is this a protobuf ModelProto?)");
  if (!proto.has_graph())
    return fail(where, "ONNX model has no graph");
  return llvm::Error::success();
}

/// Validates an initializer's external-data reference against the files beside the model.
llvm::Expected<ExternalTensor> checkExternal(const onnx::TensorProto &t, const std::string &dir,
                                             const std::string &where) {
  ExternalTensor ext;
  ext.name = t.name();
  bool hasLength = false;
  for (const auto &kv : t.external_data()) {
    try {
      if (kv.key() == "location")
        ext.location = kv.value();
      else if (kv.key() == "offset")
        ext.offset = std::stoull(kv.value());
      else if (kv.key() == "length") {
        ext.length = std::stoull(kv.value());
        hasLength = true;
      }
    } catch (const std::exception &) {
      return fail(where, "initializer '" + t.name() + "': external_data " + kv.key() + " '" +
                             kv.value() + "' is not a number");
    }
  }
  if (ext.location.empty())
    return fail(where, "initializer '" + t.name() + "': external data without a location");
  fs::path rel(ext.location);
  if (rel.is_absolute() || ext.location.find("..") != std::string::npos)
    return fail(where, "initializer '" + t.name() + "': external data location '" + ext.location +
                           "' must be a relative path inside the model's folder");
  fs::path file = fs::path(dir) / rel;
  std::error_code ec;
  uint64_t size = fs::file_size(file, ec);
  if (ec)
    return fail(where, "initializer '" + t.name() + "': external data file '" + file.string() +
                           "' cannot be read: " + ec.message());
  int64_t elems = 1;
  for (int64_t d : t.dims())
    elems *= d;
  int64_t expect = elems * elementBytes(t.data_type());
  if (!hasLength)
    ext.length = static_cast<uint64_t>(expect);
  if (expect > 0 && ext.length != static_cast<uint64_t>(expect))
    return fail(where, "initializer '" + t.name() + "': external data length " +
                           std::to_string(ext.length) + " does not match its shape (" +
                           std::to_string(expect) + " bytes)");
  if (ext.offset > size || ext.length > size - ext.offset)
    return fail(where, "initializer '" + t.name() + "': external data range [" +
                           std::to_string(ext.offset) + ", " +
                           std::to_string(ext.offset + ext.length) + ") lies outside '" +
                           file.string() + "' (" + std::to_string(size) + " bytes)");
  return ext;
}

/// Replaces the named symbolic dimensions of the graph's inputs and outputs by values.
llvm::Error bindDims(onnx::ModelProto &proto, const std::map<std::string, int64_t> &values,
                     const std::string &where) {
  std::map<std::string, bool> used;
  auto bind = [&](google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> *vs) {
    for (auto &v : *vs) {
      if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape())
        continue;
      for (auto &d : *v.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
        if (!d.has_dim_param())
          continue;
        auto it = values.find(d.dim_param());
        if (it == values.end())
          continue;
        used[it->first] = true;
        d.set_dim_value(it->second);
      }
    }
  };
  bind(proto.mutable_graph()->mutable_input());
  bind(proto.mutable_graph()->mutable_output());
  for (const auto &[name, value] : values) {
    if (!used[name])
      return fail(where, "no graph input or output has the symbolic dimension '" + name + "'");
    if (value <= 0)
      return fail(where, "dimension '" + name + "' must be positive, not " + std::to_string(value));
  }
  return llvm::Error::success();
}

/// Converts a model of an ai.onnx opset below `minOpset` to `minOpset`.
llvm::Error upgradeOpset(LoadedModel &model, int64_t minOpset, const std::string &where) {
  int64_t version = -1;
  for (const auto &op : model.proto.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      version = op.version();
  if (minOpset <= 0 || version < 0 || version >= minOpset)
    return llvm::Error::success();
  try {
    model.proto = onnx::version_conversion::ConvertVersion(model.proto, static_cast<int>(minOpset));
  } catch (const std::exception &e) {
    return fail(where, "ONNX version converter: opset " + std::to_string(version) + " to " +
                           std::to_string(minOpset) + ": " + e.what());
  }
  model.convertedFromOpset = version;
  return llvm::Error::success();
}

llvm::Expected<LoadedModel> finish(LoadedModel model, const std::string &where,
                                   const ReadOptions &options, bool fromFile) {
  if (auto err = checkShape(model.proto, where))
    return err;
  if (!options.dimValues.empty()) {
    if (auto err = bindDims(model.proto, options.dimValues, where))
      return err;
    fromFile = fromFile && options.dimValues.empty();
  }
  // The importer's own checks first, then opsets and IR versions newer than the library's
  // rewritten to the library's (see OpsetAdapter.h); the library then checks the rewrite.
  if (auto err = validateStructure(model.proto, where))
    return err;
  if (auto err = adaptToLibraryOpset(model.proto, where, model.adapted))
    return err;
  if (model.adapted.fromOpset || model.adapted.fromIrVersion)
    fromFile = false;
  for (const auto &t : model.proto.graph().initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL)
      continue;
    if (model.directory.empty())
      return fail(where, "initializer '" + t.name() +
                             "' uses external data, which needs the model's file path");
    auto ext = checkExternal(t, model.directory, where);
    if (!ext)
      return ext.takeError();
    model.external.push_back(std::move(*ext));
  }
  try {
    if (options.check) {
      if (fromFile)
        onnx::checker::check_model(model.path);
      else
        onnx::checker::check_model(model.proto);
      // ONNX's version converter assumes a well-formed model (it crashes on some malformed
      // ones): convert only what the checker accepted, and check the result again.
      if (auto err = upgradeOpset(model, options.minOpset, where))
        return err;
      if (model.convertedFromOpset)
        onnx::checker::check_model(model.proto);
    }
    if (options.inferShapes) {
      onnx::ShapeInferenceOptions sio(/*check_type=*/true, /*strict_mode=*/1,
                                      /*data_prop=*/true);
      onnx::shape_inference::InferShapes(model.proto, onnx::OpSchemaRegistry::Instance(), sio);
    }
  } catch (const onnx::checker::ValidationError &e) {
    return fail(where, std::string("ONNX checker: ") + e.what());
  } catch (const onnx::InferenceError &e) {
    return fail(where, std::string("ONNX shape inference: ") + e.what());
  } catch (const std::exception &e) {
    return fail(where, std::string("ONNX library: ") + e.what());
  }
  return model;
}

} // namespace

int64_t elementBytes(int32_t dataType) {
  using T = onnx::TensorProto;
  switch (dataType) {
  case T::FLOAT:
  case T::INT32:
  case T::UINT32:
    return 4;
  case T::DOUBLE:
  case T::INT64:
  case T::UINT64:
  case T::COMPLEX64:
    return 8;
  case T::FLOAT16:
  case T::BFLOAT16:
  case T::INT16:
  case T::UINT16:
    return 2;
  case T::INT8:
  case T::UINT8:
  case T::BOOL:
    return 1;
  case T::COMPLEX128:
    return 16;
  default:
    return 0;
  }
}

llvm::Expected<LoadedModel> readModel(const std::string &path, const ReadOptions &options) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return fail(path, "no such file");
  if (fs::is_directory(path, ec))
    return fail(path, "is a directory, not an ONNX file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(path, "cannot open for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  LoadedModel model;
  model.path = path;
  model.directory = fs::absolute(fs::path(path)).parent_path().string();
  if (!parseProto(buf.str(), model.proto))
    return fail(path, "not a valid ONNX protobuf (parse failed; truncated or not ONNX?)");
  return finish(std::move(model), path, options, /*fromFile=*/true);
}

llvm::Expected<LoadedModel> readModelFromText(const std::string &text, const std::string &name,
                                              const ReadOptions &options) {
  LoadedModel model;
  model.path = name;
  onnx::OnnxParser parser(text.c_str());
  onnx::Status status = parser.Parse(model.proto);
  if (!status.IsOK())
    return fail(name, "ONNX text syntax: " + status.ErrorMessage());
  return finish(std::move(model), name, options, /*fromFile=*/false);
}

llvm::Expected<LoadedModel> readModelFromBytes(const std::string &bytes, const std::string &name,
                                               const ReadOptions &options) {
  LoadedModel model;
  model.path = name;
  if (!parseProto(bytes, model.proto))
    return fail(name, "not a valid ONNX protobuf (parse failed; truncated or not ONNX?)");
  return finish(std::move(model), name, options, /*fromFile=*/false);
}

namespace {

std::string describeValue(const onnx::ValueInfoProto &v) {
  std::string s = v.name() + ": ";
  if (!v.type().has_tensor_type())
    return s + "(non-tensor)";
  const auto &tt = v.type().tensor_type();
  s += onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(tt.elem_type()));
  s += "[";
  if (tt.has_shape()) {
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto &d = tt.shape().dim(i);
      if (i)
        s += ", ";
      if (d.has_dim_value())
        s += std::to_string(d.dim_value());
      else if (d.has_dim_param())
        s += d.dim_param();
      else
        s += "?";
    }
  }
  return s + "]";
}

void countNodes(const onnx::GraphProto &g, ModelSummary &s) {
  for (const auto &n : g.node()) {
    std::string key = n.domain().empty() || n.domain() == "ai.onnx"
                          ? n.op_type()
                          : n.domain() + "." + n.op_type();
    ++s.opCounts[key];
    ++s.nodes;
    for (const auto &a : n.attribute()) {
      if (a.has_g())
        countNodes(a.g(), s);
      for (const auto &sub : a.graphs())
        countNodes(sub, s);
    }
  }
}

} // namespace

ModelSummary summarize(const LoadedModel &model) {
  ModelSummary s;
  const auto &p = model.proto;
  s.irVersion = p.ir_version();
  for (const auto &op : p.opset_import())
    s.opsets[op.domain()] = op.version();
  s.convertedFromOpset = model.convertedFromOpset;
  // The file's versions; "read as" says what the library saw.
  if (model.adapted.fromIrVersion)
    s.irVersion = model.adapted.fromIrVersion;
  if (model.adapted.fromOpset)
    for (auto &[domain, version] : s.opsets)
      if (domain.empty() || domain == "ai.onnx")
        version = model.adapted.fromOpset;
  s.adaptedFromOpset = model.adapted.fromOpset;
  s.adaptedFromIrVersion = model.adapted.fromIrVersion;
  s.libraryGaps = model.adapted.libraryGaps;
  s.producer = p.producer_name() + (p.producer_version().empty() ? "" : " " + p.producer_version());
  const auto &g = p.graph();
  for (const auto &v : g.input())
    s.inputs.push_back(describeValue(v));
  for (const auto &v : g.output())
    s.outputs.push_back(describeValue(v));
  countNodes(g, s);
  for (const auto &t : g.initializer()) {
    int64_t n = 1;
    for (int64_t d : t.dims())
      n *= d;
    ++s.initializers;
    s.parameters += n;
    int64_t bytes = n * elementBytes(t.data_type());
    s.parameterBytes += bytes;
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
      s.externalBytes += bytes;
  }
  return s;
}

std::string formatSummary(const ModelSummary &s) {
  std::ostringstream os;
  os << "ir_version: " << s.irVersion << "\n";
  for (const auto &[domain, version] : s.opsets)
    os << "opset: " << (domain.empty() ? "ai.onnx" : domain) << " " << version << "\n";
  if (s.convertedFromOpset)
    os << "converted from: ai.onnx " << s.convertedFromOpset << "\n";
  if (s.adaptedFromOpset)
    os << "read as: ai.onnx " << libraryMaxOpset() << "\n";
  if (s.adaptedFromIrVersion)
    os << "read as: ir_version " << libraryMaxIrVersion() << "\n";
  if (!s.libraryGaps.empty())
    os << "library checks: " << s.libraryGaps << "\n";
  os << "producer: " << s.producer << "\n";
  for (const auto &i : s.inputs)
    os << "input: " << i << "\n";
  for (const auto &o : s.outputs)
    os << "output: " << o << "\n";
  os << "nodes: " << s.nodes << "\n";
  for (const auto &[op, n] : s.opCounts)
    os << "  op " << op << ": " << n << "\n";
  os << "initializers: " << s.initializers << "\n";
  os << "initializer elements: " << s.parameters << " (" << s.parameterBytes << " bytes";
  if (s.externalBytes)
    os << ", " << s.externalBytes << " in external data";
  os << ")\n";
  return os.str();
}

} // namespace mamba2::onnx_import
