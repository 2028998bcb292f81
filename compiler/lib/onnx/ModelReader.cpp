#include "mamba2/onnx/ModelReader.h"
#include "mamba2/onnx/Validate.h"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
  if (bytes.size() > kMaxModelFileBytes)
    return false;
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
    // validateStructure has checked that offset and length are decimal digits below 10^18.
    if (kv.key() == "location")
      ext.location = kv.value();
    else if (kv.key() == "offset")
      ext.offset = std::stoull(kv.value());
    else if (kv.key() == "length") {
      ext.length = std::stoull(kv.value());
      hasLength = true;
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
  // Symbolic links are followed only while they stay inside the model's folder.
  fs::path real = fs::weakly_canonical(file, ec);
  fs::path realDir = ec ? fs::path() : fs::weakly_canonical(fs::path(dir), ec);
  if (!ec) {
    auto d = realDir.begin(), r = real.begin();
    while (d != realDir.end() && r != real.end() && *d == *r) {
      ++d;
      ++r;
    }
    if (d != realDir.end())
      return fail(where, "initializer '" + t.name() + "': external data location '" + ext.location +
                             "' leads outside the model's folder (to '" + real.string() + "')");
  }
  if (!fs::is_regular_file(file, ec))
    return fail(where, "initializer '" + t.name() + "': external data file '" + file.string() +
                           "' is not a regular file");
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

/// ONNX shape inference in the order that does not crash: strict inference without data
/// propagation first (it raises a clean InferenceError where a node's inference fails), then
/// with data propagation (which dereferences null where a node's strict inference fails). Throws
/// what the library throws.
void inferShapesInProcess(onnx::ModelProto &proto) {
  onnx::ShapeInferenceOptions plain(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false);
  onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), plain);
  onnx::ShapeInferenceOptions prop(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/true);
  onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), prop);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

/// Outcome of shape inference run in a child process.
struct ChildResult {
  enum Kind { Ok, Error, Crashed } kind = Crashed;
  std::string payload; // Ok: serialized GraphProto of the inferred types; Error: the message
  std::string how;     // Crashed: the signal or the limit that ended the child
};

/// Runs inferShapesInProcess on the first `nodes` nodes of `proto` (all when negative) in a
/// forked child with bounded memory and CPU time, so that what the library cannot survive ends
/// the child, not the user's process.
ChildResult inferInChild(const onnx::ModelProto &proto, int nodes) {
  ChildResult result;
  int fds[2];
  if (pipe(fds) != 0) {
    result.kind = ChildResult::Error;
    result.payload = std::string("cannot create a pipe: ") + std::strerror(errno);
    return result;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    result.kind = ChildResult::Error;
    result.payload = std::string("cannot fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    close(fds[0]);
    // Bounded: CPU seconds always; address space where no sanitizer reserves shadow memory.
    struct rlimit cpu = {kShapeInferenceCpuSeconds, kShapeInferenceCpuSeconds + 5};
    setrlimit(RLIMIT_CPU, &cpu);
    if (!kSanitized) {
      long pages = 0;
      if (std::FILE *f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld", &pages) != 1)
          pages = 0;
        std::fclose(f);
      }
      rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                     kShapeInferenceMemoryBytes;
      struct rlimit as = {limit, limit};
      setrlimit(RLIMIT_AS, &as);
    }
    std::string out;
    try {
      onnx::ModelProto &m = const_cast<onnx::ModelProto &>(proto); // the child's own copy
      auto *list = m.mutable_graph()->mutable_node();
      if (nodes >= 0 && nodes < list->size())
        list->DeleteSubrange(nodes, list->size() - nodes);
      inferShapesInProcess(m);
      onnx::GraphProto types;
      *types.mutable_value_info() = m.graph().value_info();
      *types.mutable_output() = m.graph().output();
      out = "O" + types.SerializeAsString();
    } catch (const onnx::InferenceError &e) {
      out = std::string("E") + e.what();
    } catch (const std::exception &e) {
      out = std::string("X") + e.what();
    }
    const char *p = out.data();
    size_t left = out.size();
    while (left > 0) {
      ssize_t w = write(fds[1], p, left);
      if (w <= 0)
        _exit(3);
      p += w;
      left -= static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = read(fds[0], buf, sizeof buf);
    if (r > 0)
      data.append(buf, static_cast<size_t>(r));
    else if (r == 0 || errno != EINTR)
      break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !data.empty()) {
    result.kind = data[0] == 'O' ? ChildResult::Ok : ChildResult::Error;
    result.payload = data.substr(1);
    if (data[0] == 'E')
      result.payload = "ONNX shape inference: " + result.payload;
    else if (data[0] == 'X')
      result.payload = "ONNX library: " + result.payload;
    return result;
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    result.how = sig == SIGXCPU ? "ran out of its " + std::to_string(kShapeInferenceCpuSeconds) +
                                      " s of CPU time"
                                : std::string("died of signal ") + strsignal(sig);
  } else {
    result.how = "ended without a result (out of memory?)";
  }
  return result;
}

} // namespace

llvm::Error inferShapesIsolated(onnx::ModelProto &proto, const std::string &where) {
  ChildResult all = inferInChild(proto, -1);
  if (all.kind == ChildResult::Error)
    return fail(where, all.payload);
  if (all.kind == ChildResult::Ok) {
    onnx::GraphProto types;
    if (!types.ParseFromString(all.payload))
      return fail(where, "ONNX shape inference: unreadable result from the child process");
    *proto.mutable_graph()->mutable_value_info() = types.value_info();
    *proto.mutable_graph()->mutable_output() = types.output();
    return llvm::Error::success();
  }
  // Find the shortest prefix of the nodes whose inference fails the same way.
  int lo = 0, hi = proto.graph().node_size();
  while (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    if (inferInChild(proto, mid).kind == ChildResult::Crashed)
      hi = mid;
    else
      lo = mid;
  }
  std::string node;
  if (hi >= 1 && hi <= proto.graph().node_size()) {
    const auto &n = proto.graph().node(hi - 1);
    node = " at node '" +
           (n.name().empty() ? n.op_type() + "#" + std::to_string(hi - 1) : n.name()) + "' (" +
           n.op_type() + ")";
  }
  return fail(where, "ONNX shape inference failed" + node + ": the library " + all.how +
                         " (the model is malformed or beyond its limits)");
}

namespace {

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
      if (model.convertedFromOpset) {
        onnx::checker::check_model(model.proto);
        if (auto err = validateStructure(model.proto, where))
          return err;
      }
    }
    if (options.inferShapes) {
      if (options.isolateShapeInference) {
        if (auto err = inferShapesIsolated(model.proto, where))
          return err;
      } else {
        inferShapesInProcess(model.proto);
      }
      // Again, with the ranks inference found (e.g. a CumSum axis against its input's rank).
      if (auto err = validateStructure(model.proto, where))
        return err;
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
  if (!fs::is_regular_file(path, ec))
    return fail(path, "is not a regular file (a device or a pipe?)");
  uint64_t size = fs::file_size(path, ec);
  if (ec)
    return fail(path, "cannot read its size: " + ec.message());
  if (size > kMaxModelFileBytes)
    return fail(path, "is " + std::to_string(size) + " bytes; an ONNX protobuf holds at most " +
                          std::to_string(kMaxModelFileBytes) +
                          " (larger weights belong in external data)");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(path, "cannot open for reading");
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)) || in.peek() != EOF)
    return fail(path, "changed size while being read");
  LoadedModel model;
  model.path = path;
  model.directory = fs::absolute(fs::path(path)).parent_path().string();
  if (!parseProto(bytes, model.proto))
    return fail(path, "not a valid ONNX protobuf (parse failed; truncated or not ONNX?)");
  return finish(std::move(model), path, options, /*fromFile=*/true);
}

llvm::Expected<LoadedModel> readModelFromText(const std::string &text, const std::string &name,
                                              const ReadOptions &options) {
  LoadedModel model;
  model.path = name;
  onnx::OnnxParser parser(text.c_str());
  onnx::Status status;
  try {
    status = parser.Parse(model.proto);
  } catch (const std::exception &e) {
    // ONNX 1.12's parser lets std::stol's exceptions out on a malformed number (found by
    // fuzzing: test/fuzz/regressions).
    return fail(name, std::string("ONNX text syntax: malformed number (") + e.what() + ")");
  }
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
