// Opsets 18 to 21 and IR versions 9 and 10 on top of ONNX 1.12 (opset 17, IR 8). See
// OpsetAdapter.h. The changes between opset 17 and 21 of the operators the importer can read are
// listed in ONNX's Changelog.md; the ones that change more than the accepted element types are
// rewritten here, the others need no rewrite (their new element types are refused by the
// structural checks, which know only ONNX 1.12's types).
#include "mamba2/onnx/OpsetAdapter.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include <onnx/defs/schema.h>

namespace mamba2::onnx_import {
namespace {

llvm::Error fail(const std::string &where, const std::string &what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s: %s", where.c_str(),
                                 what.c_str());
}

bool isDefaultDomain(const std::string &d) { return d.empty() || d == "ai.onnx"; }

std::string nodeName(const onnx::NodeProto &n, int index) {
  std::string name = n.name().empty() ? n.op_type() + "#" + std::to_string(index) : n.name();
  return "node '" + name + "' (" + n.op_type() + ")";
}

/// The operators whose `axes` became an input in opset 18 (ReduceSum's did in 13).
const std::set<std::string> &reduceFamily() {
  static const std::set<std::string> ops = {"ReduceL1",        "ReduceL2",   "ReduceLogSum",
                                            "ReduceLogSumExp", "ReduceMax",  "ReduceMean",
                                            "ReduceMin",       "ReduceProd", "ReduceSumSquare"};
  return ops;
}

/// Integer values of a constant tensor (int64 or int32, typed fields or raw little-endian).
std::optional<std::vector<int64_t>> tensorInts(const onnx::TensorProto &t) {
  std::vector<int64_t> v;
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return std::nullopt;
  if (t.data_type() == onnx::TensorProto::INT64) {
    if (t.has_raw_data()) {
      const std::string &r = t.raw_data();
      if (r.size() % 8)
        return std::nullopt;
      v.resize(r.size() / 8);
      std::memcpy(v.data(), r.data(), r.size());
    } else {
      v.assign(t.int64_data().begin(), t.int64_data().end());
    }
    return v;
  }
  if (t.data_type() == onnx::TensorProto::INT32) {
    if (t.has_raw_data()) {
      const std::string &r = t.raw_data();
      if (r.size() % 4)
        return std::nullopt;
      std::vector<int32_t> w(r.size() / 4);
      std::memcpy(w.data(), r.data(), r.size());
      v.assign(w.begin(), w.end());
    } else {
      v.assign(t.int32_data().begin(), t.int32_data().end());
    }
    return v;
  }
  return std::nullopt;
}

class Adapter {
public:
  Adapter(onnx::ModelProto &m, const std::string &where, AdaptReport &report, int64_t opset)
      : model_(m), where_(where), report_(report), opset_(opset) {}

  llvm::Error run() {
    auto *g = model_.mutable_graph();
    for (const auto &t : g->initializer())
      constants_[t.name()] = &t;
    for (const auto &v : g->input())
      types_[v.name()] = &v.type();
    for (const auto &v : g->value_info())
      types_[v.name()] = &v.type();
    for (const auto &v : g->output())
      types_[v.name()] = &v.type();
    for (const auto &t : g->initializer())
      ranks_[t.name()] = t.dims_size();
    int index = 0;
    for (auto &n : *g->mutable_node()) {
      if (isDefaultDomain(n.domain()))
        if (auto err = adapt(n, index))
          return err;
      if (n.op_type() == "Constant" && isDefaultDomain(n.domain()) && n.output_size() == 1)
        for (const auto &a : n.attribute())
          if (a.name() == "value" && a.has_t())
            constants_[n.output(0)] = &a.t();
      ++index;
    }
    for (auto &t : pendingInitializers_)
      *g->add_initializer() = std::move(t);
    return llvm::Error::success();
  }

private:
  void note(const std::string &what) { ++report_.rewrites[what]; }

  std::optional<std::vector<int64_t>> constInts(const std::string &name) {
    auto it = constants_.find(name);
    if (it == constants_.end())
      return std::nullopt;
    return tensorInts(*it->second);
  }

  /// The rank of a value, from the graph's declared types or an initializer's shape; -1 unknown.
  int64_t rank(const std::string &name) {
    auto r = ranks_.find(name);
    if (r != ranks_.end())
      return r->second;
    auto it = types_.find(name);
    if (it == types_.end() || !it->second->has_tensor_type() ||
        !it->second->tensor_type().has_shape())
      return -1;
    return it->second->tensor_type().shape().dim_size();
  }

  /// Dimension `axis` of a value when declared as a number; -1 unknown.
  int64_t dim(const std::string &name, int64_t axis) {
    auto c = constants_.find(name);
    if (c != constants_.end())
      return axis < c->second->dims_size() ? c->second->dims(static_cast<int>(axis)) : -1;
    auto it = types_.find(name);
    if (it == types_.end() || !it->second->has_tensor_type() ||
        !it->second->tensor_type().has_shape())
      return -1;
    const auto &s = it->second->tensor_type().shape();
    if (axis < 0 || axis >= s.dim_size() || !s.dim(static_cast<int>(axis)).has_dim_value())
      return -1;
    return s.dim(static_cast<int>(axis)).dim_value();
  }

  std::string addInts(const std::string &base, const std::vector<int64_t> &v) {
    onnx::TensorProto t;
    t.set_name(base + "__opset17_" + std::to_string(pendingInitializers_.size()));
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v)
      t.add_int64_data(x);
    pendingInitializers_.push_back(t);
    ranks_[t.name()] = 1;
    return t.name();
  }

  static onnx::AttributeProto *findAttr(onnx::NodeProto &n, const std::string &name) {
    for (auto &a : *n.mutable_attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  static void eraseAttr(onnx::NodeProto &n, const std::string &name) {
    auto *attrs = n.mutable_attribute();
    for (int i = 0; i < attrs->size(); ++i)
      if (attrs->Get(i).name() == name) {
        attrs->erase(attrs->begin() + i);
        return;
      }
  }
  static void setInts(onnx::NodeProto &n, const std::string &name, const std::vector<int64_t> &v) {
    eraseAttr(n, name);
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v)
      a->add_ints(x);
  }

  llvm::Error refuse(const onnx::NodeProto &n, int index, const std::string &why) {
    return fail(where_, nodeName(n, index) + " of opset " + std::to_string(opset_) + ": " + why);
  }

  llvm::Error adapt(onnx::NodeProto &n, int index) {
    const std::string &op = n.op_type();
    if (reduceFamily().count(op))
      return reduce(n, index);
    if (op == "Split")
      return split(n, index);
    if (op == "Pad")
      return pad(n, index);
    if ((op == "Cast" || op == "CastLike") && findAttr(n, "saturate")) {
      // saturate (opset 19) only applies to conversions into float8 types, which the importer
      // does not read; the structural checks refuse those types.
      eraseAttr(n, "saturate");
      note(op + " (saturate dropped)");
      return llvm::Error::success();
    }
    if (op == "AveragePool") {
      if (auto *a = findAttr(n, "dilations")) {
        for (int64_t d : a->ints())
          if (d != 1)
            return refuse(n, index,
                          "dilations other than 1 (new in opset 19) have no opset-17 form");
        eraseAttr(n, "dilations");
        note("AveragePool (unit dilations dropped)");
      }
    }
    return checkAgainstLibrary(n, index);
  }

  /// A node left as it is must mean the same under the library's definition: the operator must
  /// exist there, and every attribute it carries must be one of that definition's.
  llvm::Error checkAgainstLibrary(const onnx::NodeProto &n, int index) {
    const auto *schema =
        onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(libraryMaxOpset()), "");
    if (!schema)
      return llvm::Error::success(); // unknown operators are reported by the importer
    for (const auto &a : n.attribute())
      if (!schema->attributes().count(a.name()))
        return refuse(n, index,
                      "attribute '" + a.name() + "' is not in the opset-" +
                          std::to_string(libraryMaxOpset()) +
                          " definition, and the importer has no rewrite for it");
    if (n.op_type() == "Pad")
      if (const std::string *m = mode(n); m && *m == "wrap")
        return refuse(n, index, "mode 'wrap' (new in opset 19) is not supported");
    return llvm::Error::success();
  }

  const std::string *mode(const onnx::NodeProto &n) const {
    for (const auto &a : n.attribute())
      if (a.name() == "mode")
        return &a.s();
    return nullptr;
  }

  /// Reduce*-18: `axes` is an optional input; opset 17 has it as an attribute and has no
  /// `noop_with_empty_axes` (an empty or absent `axes` reduces every axis there).
  llvm::Error reduce(onnx::NodeProto &n, int index) {
    if (opset_ < 18)
      return llvm::Error::success();
    bool noop = false;
    if (auto *a = findAttr(n, "noop_with_empty_axes")) {
      noop = a->i() != 0;
      eraseAttr(n, "noop_with_empty_axes");
    }
    std::vector<int64_t> axes;
    if (n.input_size() >= 2 && !n.input(1).empty()) {
      auto v = constInts(n.input(1));
      if (!v)
        return refuse(n, index,
                      "axes '" + n.input(1) +
                          "' is not a constant; opset 17 needs the reduced axes as an attribute");
      axes = *v;
    }
    while (n.input_size() > 1)
      n.mutable_input()->RemoveLast();
    if (axes.empty() && noop) {
      // Reduces nothing: the input itself.
      note(n.op_type() + " (empty axes with noop_with_empty_axes -> Identity)");
      n.set_op_type("Identity");
      n.clear_attribute();
      return llvm::Error::success();
    }
    if (!axes.empty())
      setInts(n, "axes", axes);
    note(n.op_type() + " (axes input -> attribute)");
    return checkAgainstLibrary(n, index);
  }

  /// Split-18: `num_outputs` splits into that many parts of ceil(dim / n), the last smaller;
  /// Split-13 without `split` needs equal parts, so unequal ones get explicit sizes.
  llvm::Error split(onnx::NodeProto &n, int index) {
    auto *num = findAttr(n, "num_outputs");
    if (!num)
      return checkAgainstLibrary(n, index);
    int64_t parts = num->i();
    if (n.input_size() >= 2 && !n.input(1).empty())
      return refuse(n, index, "has both a split input and num_outputs");
    if (parts != n.output_size())
      return refuse(n, index,
                    "num_outputs " + std::to_string(parts) + " differs from its " +
                        std::to_string(n.output_size()) + " outputs");
    int64_t axis = 0;
    if (auto *a = findAttr(n, "axis"))
      axis = a->i();
    int64_t r = rank(n.input(0));
    if (axis < 0 && r >= 0)
      axis += r;
    int64_t d = axis >= 0 ? dim(n.input(0), axis) : -1;
    eraseAttr(n, "num_outputs");
    if (d >= 0 && parts > 0 && d % parts) {
      int64_t each = (d + parts - 1) / parts;
      std::vector<int64_t> sizes;
      for (int64_t i = 0, left = d; i < parts; ++i, left -= each)
        sizes.push_back(std::max<int64_t>(0, std::min(each, left)));
      while (n.input_size() < 2)
        n.add_input("");
      n.set_input(1, addInts(n.output(0) + "_split", sizes));
      note("Split (num_outputs -> split sizes)");
    } else {
      // Equal parts (or a length unknown before shape inference, split as Split-13 does:
      // equal parts; a length that does not divide is then an error of shape inference).
      note("Split (num_outputs -> equal parts)");
    }
    return checkAgainstLibrary(n, index);
  }

  /// Pad-18: an optional `axes` input says which axes `pads` covers; opset 17's pads cover all.
  llvm::Error pad(onnx::NodeProto &n, int index) {
    if (n.input_size() < 4 || n.input(3).empty())
      return checkAgainstLibrary(n, index);
    auto axes = constInts(n.input(3));
    if (!axes)
      return refuse(n, index, "axes '" + n.input(3) + "' is not a constant");
    int64_t r = rank(n.input(0));
    if (r < 0)
      return refuse(n, index, "the rank of its input is not declared, so axes cannot be expanded");
    std::vector<int64_t> norm;
    for (int64_t a : *axes) {
      if (a < -r || a >= r)
        return refuse(n, index,
                      "axis " + std::to_string(a) + " is out of range for rank " +
                          std::to_string(r));
      norm.push_back(a < 0 ? a + r : a);
    }
    bool identity = static_cast<int64_t>(norm.size()) == r;
    for (size_t i = 0; identity && i < norm.size(); ++i)
      identity = norm[i] == static_cast<int64_t>(i);
    if (!identity) {
      auto pads = constInts(n.input(1));
      if (!pads || pads->size() != 2 * norm.size())
        return refuse(n, index,
                      "pads '" + n.input(1) + "' must be a constant of 2 x " +
                          std::to_string(norm.size()) + " values to expand its axes");
      std::vector<int64_t> full(static_cast<size_t>(2 * r), 0);
      std::set<int64_t> seen;
      for (size_t i = 0; i < norm.size(); ++i) {
        if (!seen.insert(norm[i]).second)
          return refuse(n, index, "axis " + std::to_string(norm[i]) + " is repeated");
        full[static_cast<size_t>(norm[i])] = (*pads)[i];
        full[static_cast<size_t>(norm[i] + r)] = (*pads)[i + norm.size()];
      }
      n.set_input(1, addInts(n.output(0) + "_pads", full));
    }
    n.mutable_input()->RemoveLast();
    note("Pad (axes input -> pads of every axis)");
    return checkAgainstLibrary(n, index);
  }

  onnx::ModelProto &model_;
  const std::string &where_;
  AdaptReport &report_;
  int64_t opset_;
  std::map<std::string, const onnx::TensorProto *> constants_;
  std::map<std::string, const onnx::TypeProto *> types_;
  std::map<std::string, int64_t> ranks_;
  std::vector<onnx::TensorProto> pendingInitializers_;
};

} // namespace

int64_t libraryMaxOpset() {
  const auto &map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find(onnx::ONNX_DOMAIN);
  return it == map.end() ? 0 : it->second.second;
}

int64_t libraryMaxIrVersion() { return onnx::Version::IR_VERSION; }

llvm::Error adaptToLibraryOpset(onnx::ModelProto &model, const std::string &where,
                                AdaptReport &report) {
  int64_t opset = -1;
  onnx::OperatorSetIdProto *defaultOpset = nullptr;
  for (auto &op : *model.mutable_opset_import())
    if (isDefaultDomain(op.domain())) {
      opset = op.version();
      defaultOpset = &op;
    }
  int64_t libOpset = libraryMaxOpset(), libIr = libraryMaxIrVersion();
  if (opset > kMaxOpset)
    return fail(where, "ONNX opset " + std::to_string(opset) + " is not supported (opsets 13 to " +
                           std::to_string(kMaxOpset) + ")");
  if (model.ir_version() > kMaxIrVersion)
    return fail(where, "ONNX IR version " + std::to_string(model.ir_version()) +
                           " is not supported (up to " + std::to_string(kMaxIrVersion) + ")");
  bool newOpset = opset > libOpset, newIr = model.ir_version() > libIr;
  if (!newOpset && !newIr)
    return llvm::Error::success();
  if (newOpset) {
    report.fromOpset = opset;
    Adapter adapter(model, where, report, opset);
    if (auto err = adapter.run())
      return err;
    defaultOpset->set_version(libOpset);
  }
  if (newIr) {
    // IR 9 adds float8 element types and IR 10 int4/uint4 and function overloads; a model
    // without them reads as IR 8. The structural checks have refused the element types.
    if (model.functions_size() > 0)
      return fail(where, "model-local functions of IR version " +
                             std::to_string(model.ir_version()) + " are not supported");
    report.fromIrVersion = model.ir_version();
    model.set_ir_version(libIr);
  }
  std::string what;
  if (newOpset)
    what += "ai.onnx opset " + std::to_string(opset);
  if (newIr)
    what += std::string(what.empty() ? "" : " and ") + "IR version " +
            std::to_string(report.fromIrVersion);
  std::string rewrites;
  for (const auto &[change, count] : report.rewrites)
    rewrites += (rewrites.empty() ? "" : ", ") + change + " x" + std::to_string(count);
  report.libraryGaps =
      "the ONNX library knows opsets up to " + std::to_string(libOpset) +
      " and IR versions up to " + std::to_string(libIr) + ", not " + what +
      ": its checker and shape inference ran on the " +
      "model as the importer rewrote it to opset " + std::to_string(libOpset) + " (" +
      (rewrites.empty() ? std::string("no node needed a rewrite") : rewrites) +
      "); the newer operator definitions themselves (their inputs and attributes) and the " +
      "graph's structure (inputs defined, topological order, initializer sizes, element types) " +
      "were checked by the importer";
  return llvm::Error::success();
}

} // namespace mamba2::onnx_import
