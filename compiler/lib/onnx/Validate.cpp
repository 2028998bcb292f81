// Structural validation of ONNX models before the ONNX library sees them. See Validate.h.
#include "mamba2/onnx/Validate.h"
#include "mamba2/onnx/ModelReader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <onnx/defs/schema.h>

namespace mamba2::onnx_import {
namespace {

using A = onnx::AttributeProto;
using T = onnx::TensorProto;

bool isIntegerType(int32_t type) {
  switch (type) {
  case T::INT8:
  case T::INT16:
  case T::INT32:
  case T::INT64:
  case T::UINT8:
  case T::UINT16:
  case T::UINT32:
  case T::UINT64:
    return true;
  default:
    return false;
  }
}

/// a * b, or nullopt when it exceeds `limit` (both non-negative).
std::optional<int64_t> boundedMul(int64_t a, int64_t b, int64_t limit) {
  if (a == 0 || b == 0)
    return 0;
  if (a > limit / b)
    return std::nullopt;
  return a * b;
}

class Validator {
public:
  Validator(const onnx::ModelProto &model, std::string where)
      : model_(model), where_(std::move(where)) {
    for (const auto &op : model.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx")
        opset_ = op.version();
  }

  llvm::Error run() {
    if (!model_.has_graph())
      return llvm::Error::success(); // the reader reports a missing graph
    std::set<std::string> outer;
    if (auto err = graph(model_.graph(), outer, "graph"))
      return err;
    for (const auto &f : model_.functions()) {
      std::set<std::string> scope(f.input().begin(), f.input().end());
      for (const auto &n : f.node())
        if (auto err = nodeInputs(n, scope, nullptr))
          return err;
    }
    return llvm::Error::success();
  }

private:
  llvm::Error fail(const std::string &what) {
    return llvm::createStringError(std::errc::invalid_argument, "%s: %s", where_.c_str(),
                                   what.c_str());
  }

  // --- tensors ------------------------------------------------------------------------------

  /// Element count of a dims list (non-negative, bounded), or an error naming `what`.
  llvm::Expected<int64_t> elements(const google::protobuf::RepeatedField<int64_t> &dims,
                                   const std::string &what) {
    if (dims.size() > kMaxRank)
      return fail(what + " has rank " + std::to_string(dims.size()) + " (at most " +
                  std::to_string(kMaxRank) + ")");
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0)
        return fail(what + " has negative dimension " + std::to_string(d));
      auto m = boundedMul(n, d, kMaxTensorElements);
      if (!m)
        return fail(what + " has more than " + std::to_string(kMaxTensorElements) +
                    " elements (dims product overflows the bound)");
      n = *m;
    }
    return n;
  }

  static bool allDigits(const std::string &s) {
    return !s.empty() && s.size() <= 18 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  llvm::Error externalData(const T &t, const std::string &what) {
    std::string location;
    for (const auto &kv : t.external_data()) {
      const std::string &k = kv.key(), &v = kv.value();
      if (k == "location") {
        location = v;
      } else if (k == "offset" || k == "length") {
        if (!allDigits(v))
          return fail(what + ": external_data " + k + " '" + v +
                      "' is not a decimal number below 10^18");
      } else if (k != "checksum") {
        return fail(what + ": unknown external_data key '" + k + "'");
      }
    }
    if (location.empty())
      return fail(what + ": external data without a location");
    if (location.find('\0') != std::string::npos)
      return fail(what + ": external data location contains a NUL byte");
    if (location.front() == '/' || location.front() == '\\' ||
        location.find(':') != std::string::npos)
      return fail(what + ": external data location '" + location +
                  "' must be a relative path inside the model's folder");
    // No `..` component.
    size_t start = 0;
    while (start <= location.size()) {
      size_t end = location.find_first_of("/\\", start);
      if (end == std::string::npos)
        end = location.size();
      if (location.compare(start, end - start, "..") == 0)
        return fail(what + ": external data location '" + location +
                    "' must be a relative path inside the model's folder");
      start = end + 1;
    }
    if (t.has_raw_data() || t.float_data_size() || t.int32_data_size() || t.int64_data_size() ||
        t.double_data_size() || t.uint64_data_size() || t.string_data_size())
      return fail(what + ": external data and inline data at once");
    return llvm::Error::success();
  }

  /// Dims, element bound and data length of a tensor (initializer, Constant value, attribute).
  llvm::Error tensor(const T &t, const std::string &what) {
    auto n = elements(t.dims(), what);
    if (!n)
      return n.takeError();
    int32_t type = t.data_type();
    if (type == T::UNDEFINED || !T::DataType_IsValid(type))
      return fail(what + " has an invalid data type " + std::to_string(type));
    if (t.has_segment())
      return fail(what + " is segmented (unsupported)");
    if (t.data_location() == T::EXTERNAL)
      return externalData(t, what);
    int64_t eb = elementBytes(type);
    if (t.has_raw_data()) {
      if (type == T::STRING || eb == 0)
        return fail(what + " of type " + T::DataType_Name(type) + " cannot use raw_data");
      int64_t need = *n * eb;
      if (static_cast<int64_t>(t.raw_data().size()) != need)
        return fail(what + " holds " + std::to_string(t.raw_data().size()) +
                    " bytes of raw data, but its shape and type need " + std::to_string(need));
      return llvm::Error::success();
    }
    int64_t have = 0, need = *n;
    switch (type) {
    case T::FLOAT:
      have = t.float_data_size();
      break;
    case T::COMPLEX64:
      have = t.float_data_size(), need *= 2;
      break;
    case T::INT32:
    case T::INT16:
    case T::INT8:
    case T::UINT8:
    case T::UINT16:
    case T::BOOL:
    case T::FLOAT16:
    case T::BFLOAT16:
      have = t.int32_data_size();
      break;
    case T::INT64:
      have = t.int64_data_size();
      break;
    case T::DOUBLE:
      have = t.double_data_size();
      break;
    case T::COMPLEX128:
      have = t.double_data_size(), need *= 2;
      break;
    case T::UINT32:
    case T::UINT64:
      have = t.uint64_data_size();
      break;
    case T::STRING:
      have = t.string_data_size();
      break;
    default:
      break;
    }
    if (have != need)
      return fail(what + " holds " + std::to_string(have) + " elements of data, but its shape (" +
                  std::to_string(*n) + " elements) and type need " + std::to_string(need));
    return llvm::Error::success();
  }

  /// The integer values of a small validated INT32/INT64 tensor held inline.
  static std::optional<std::vector<int64_t>> intValues(const T &t) {
    if (t.data_location() == T::EXTERNAL)
      return std::nullopt;
    int64_t n = 1;
    for (int64_t d : t.dims())
      n *= d;
    if (n > (1 << 20))
      return std::nullopt;
    if (n == 0) // memcpy from an empty buffer's null data() is undefined (found by fuzzing)
      return std::vector<int64_t>();
    std::vector<int64_t> v;
    if (t.data_type() == T::INT64) {
      if (t.has_raw_data()) {
        v.resize(n);
        std::memcpy(v.data(), t.raw_data().data(), n * 8);
      } else {
        v.assign(t.int64_data().begin(), t.int64_data().end());
      }
    } else if (t.data_type() == T::INT32) {
      if (t.has_raw_data()) {
        std::vector<int32_t> w(n);
        std::memcpy(w.data(), t.raw_data().data(), n * 4);
        v.assign(w.begin(), w.end());
      } else {
        v.assign(t.int32_data().begin(), t.int32_data().end());
      }
    } else {
      return std::nullopt;
    }
    return v;
  }

  /// Whether a validated inline tensor of an integer type holds a zero.
  static bool hasIntegerZero(const T &t) {
    if (!isIntegerType(t.data_type()) || t.data_location() == T::EXTERNAL)
      return false;
    if (t.has_raw_data()) {
      int64_t eb = elementBytes(t.data_type());
      const std::string &r = t.raw_data();
      for (size_t i = 0; i + eb <= r.size(); i += eb) {
        bool zero = true;
        for (int64_t b = 0; b < eb; ++b)
          zero = zero && r[i + b] == 0;
        if (zero)
          return true;
      }
      return false;
    }
    for (int32_t x : t.int32_data())
      if (x == 0)
        return true;
    for (int64_t x : t.int64_data())
      if (x == 0)
        return true;
    for (uint64_t x : t.uint64_data())
      if (x == 0)
        return true;
    return false;
  }

  // --- graphs -------------------------------------------------------------------------------

  llvm::Error valueInfo(const onnx::ValueInfoProto &v, const std::string &kind) {
    std::string what = kind + " '" + v.name() + "'";
    // Element types newer than ONNX 1.12 (float8 from IR 9, int4/uint4 from IR 10) are not
    // values of its TensorProto::DataType; 0 (UNDEFINED) leaves the type to inference.
    if (v.type().has_tensor_type()) {
      int32_t et = v.type().tensor_type().elem_type();
      if (et != T::UNDEFINED && !T::DataType_IsValid(et))
        return fail(what + " has element type " + std::to_string(et) +
                    ", which the importer does not know (float8, int4 and uint4 are not "
                    "supported)");
    }
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape())
      return llvm::Error::success();
    const auto &shape = v.type().tensor_type().shape();
    if (shape.dim_size() > kMaxRank)
      return fail(what + " has rank " + std::to_string(shape.dim_size()) + " (at most " +
                  std::to_string(kMaxRank) + ")");
    int64_t n = 1;
    for (const auto &d : shape.dim()) {
      if (!d.has_dim_value())
        continue;
      if (d.dim_value() < 0)
        return fail(what + " has negative dimension " + std::to_string(d.dim_value()));
      auto m = boundedMul(n, d.dim_value(), kMaxTensorElements);
      if (!m)
        return fail(what + " has more than " + std::to_string(kMaxTensorElements) + " elements");
      n = *m;
    }
    ranks_[v.name()] = shape.dim_size();
    return llvm::Error::success();
  }

  llvm::Error graph(const onnx::GraphProto &g, std::set<std::string> scope,
                    const std::string &what) {
    if (g.sparse_initializer_size())
      return fail(what + ": sparse initializers are not supported ('" +
                  g.sparse_initializer(0).values().name() + "')");
    for (const auto &v : g.input()) {
      if (auto err = valueInfo(v, "graph input"))
        return err;
      scope.insert(v.name());
    }
    for (const auto &v : g.output())
      if (auto err = valueInfo(v, "graph output"))
        return err;
    for (const auto &v : g.value_info())
      if (auto err = valueInfo(v, "value"))
        return err;
    for (const auto &t : g.initializer()) {
      if (auto err = tensor(t, "initializer '" + t.name() + "'"))
        return err;
      scope.insert(t.name());
      constants_[t.name()] = &t;
      ranks_[t.name()] = t.dims_size();
    }
    int i = 0;
    for (const auto &n : g.node()) {
      index_ = i++;
      if (auto err = nodeInputs(n, scope, &g))
        return err;
      if (auto err = node(n, scope))
        return err;
      for (const auto &o : n.output())
        if (!o.empty())
          scope.insert(o);
    }
    for (const auto &v : g.output())
      if (!scope.count(v.name()))
        return fail(what + " output '" + v.name() + "' is never produced");
    return llvm::Error::success();
  }

  std::string name(const onnx::NodeProto &n) const {
    return "node '" + (n.name().empty() ? n.op_type() + "#" + std::to_string(index_) : n.name()) +
           "' (" + n.op_type() + ")";
  }

  llvm::Error nodeInputs(const onnx::NodeProto &n, const std::set<std::string> &scope,
                         const onnx::GraphProto *) {
    for (const auto &in : n.input())
      if (!in.empty() && !scope.count(in))
        return fail(name(n) + ": input '" + in +
                    "' is not a graph input, an initializer or the output of an earlier node "
                    "(undefined, or the nodes are not in topological order)");
    return llvm::Error::success();
  }

  const T *constant(const onnx::NodeProto &n, int input) const {
    if (input >= n.input_size() || n.input(input).empty())
      return nullptr;
    auto it = constants_.find(n.input(input));
    return it == constants_.end() ? nullptr : it->second;
  }
  int64_t rankOf(const onnx::NodeProto &n, int input) const {
    if (input >= n.input_size())
      return -1;
    auto it = ranks_.find(n.input(input));
    return it == ranks_.end() ? -1 : it->second;
  }
  const A *attr(const onnx::NodeProto &n, const char *key) const {
    for (const auto &a : n.attribute())
      if (a.name() == key)
        return &a;
    return nullptr;
  }

  /// Attribute kinds against the operator's schema, and the payload against the kind.
  llvm::Error attributeKinds(const onnx::NodeProto &n) {
    bool onnxDomain = n.domain().empty() || n.domain() == "ai.onnx";
    const onnx::OpSchema *schema =
        onnxDomain && opset_ > 0
            ? onnx::OpSchemaRegistry::Schema(n.op_type(),
                                             static_cast<int>(std::min<int64_t>(opset_, 1000)))
            : nullptr;
    for (const auto &a : n.attribute()) {
      std::string what = name(n) + ": attribute '" + a.name() + "'";
      if (!a.ref_attr_name().empty())
        continue; // inside a function body
      if (!A::AttributeType_IsValid(a.type()) || a.type() == A::UNDEFINED)
        return fail(what + " has no valid type");
      if (schema) {
        auto it = schema->attributes().find(a.name());
        if (it != schema->attributes().end() && it->second.type != a.type())
          return fail(what + " must be " + A::AttributeType_Name(it->second.type) + ", not " +
                      A::AttributeType_Name(a.type()));
      }
      bool ok = true;
      switch (a.type()) {
      case A::INTS:
        ok = !a.floats_size() && !a.strings_size();
        break;
      case A::FLOATS:
        ok = !a.ints_size() && !a.strings_size();
        break;
      case A::TENSOR:
        ok = a.has_t();
        break;
      case A::GRAPH:
        ok = a.has_g();
        break;
      case A::SPARSE_TENSOR:
      case A::SPARSE_TENSORS:
        return fail(what + ": sparse tensors are not supported");
      default:
        break;
      }
      if (!ok)
        return fail(what + " does not hold a value of its type " + A::AttributeType_Name(a.type()));
      if (a.has_t())
        if (auto err = tensor(a.t(), what + " tensor"))
          return err;
      for (const auto &t : a.tensors())
        if (auto err = tensor(t, what + " tensor"))
          return err;
    }
    return llvm::Error::success();
  }

  llvm::Error intsInRange(const onnx::NodeProto &n, const char *key, int64_t lo, int64_t hi) {
    const A *a = attr(n, key);
    if (!a)
      return llvm::Error::success();
    if (a->ints_size() > kMaxRank)
      return fail(name(n) + ": attribute '" + key + "' has " + std::to_string(a->ints_size()) +
                  " values (at most " + std::to_string(kMaxRank) + ")");
    for (int64_t v : a->ints())
      if (v < lo || v > hi)
        return fail(name(n) + ": attribute '" + key + "' value " + std::to_string(v) +
                    " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return llvm::Error::success();
  }
  llvm::Error intInRange(const onnx::NodeProto &n, const char *key, int64_t lo, int64_t hi) {
    const A *a = attr(n, key);
    if (a && (a->i() < lo || a->i() > hi))
      return fail(name(n) + ": attribute '" + key + "' is " + std::to_string(a->i()) +
                  ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return llvm::Error::success();
  }

  /// A constant shape-like input (Reshape/Expand/ConstantOfShape/Tile): int64, rank <= 1, at
  /// most kMaxRank values, each >= `lo`, product of the positive ones bounded.
  llvm::Error shapeInput(const onnx::NodeProto &n, int input, const char *role, int64_t lo) {
    const T *t = constant(n, input);
    if (!t)
      return llvm::Error::success();
    std::string what = name(n) + ": " + role + " '" + n.input(input) + "'";
    if (t->data_type() != T::INT64)
      return fail(what + " must be int64, not " + T::DataType_Name(t->data_type()));
    if (t->dims_size() > 1)
      return fail(what + " must be a 1-D tensor");
    auto v = intValues(*t);
    if (!v)
      return llvm::Error::success();
    if (static_cast<int64_t>(v->size()) > kMaxRank)
      return fail(what + " has " + std::to_string(v->size()) + " values (at most " +
                  std::to_string(kMaxRank) + ")");
    int64_t product = 1;
    for (int64_t x : *v) {
      if (x < lo)
        return fail(what + " holds " + std::to_string(x) +
                    " (values must be >= " + std::to_string(lo) + ")");
      if (x <= 0)
        continue;
      auto m = boundedMul(product, x, kMaxTensorElements);
      if (!m)
        return fail(what + " asks for more than " + std::to_string(kMaxTensorElements) +
                    " elements");
      product = *m;
    }
    if (lo == -1 && std::count(v->begin(), v->end(), -1) > 1)
      return fail(what + " holds more than one -1");
    return llvm::Error::success();
  }

  /// Checks the attributes and constant inputs that ONNX shape inference trusts.
  llvm::Error node(const onnx::NodeProto &n, const std::set<std::string> &scope) {
    if (auto err = attributeKinds(n))
      return err;
    // Subgraphs see the enclosing scope.
    for (const auto &a : n.attribute()) {
      if (a.has_g())
        if (auto err = graph(a.g(), scope, name(n) + " attribute '" + a.name() + "'"))
          return err;
      for (const auto &sub : a.graphs())
        if (auto err = graph(sub, scope, name(n) + " attribute '" + a.name() + "'"))
          return err;
    }
    bool onnxDomain = n.domain().empty() || n.domain() == "ai.onnx";
    if (!onnxDomain)
      return llvm::Error::success();
    const std::string &op = n.op_type();
    int64_t r0 = rankOf(n, 0);

    if (op == "Constant") {
      if (n.output_size() == 1 && n.attribute_size() == 1) {
        const A &a = n.attribute(0);
        if (a.name() == "value" && a.has_t()) {
          constants_[n.output(0)] = &a.t();
          ranks_[n.output(0)] = a.t().dims_size();
        }
      }
    } else if (op == "Transpose") {
      if (const A *p = attr(n, "perm")) {
        int64_t size = p->ints_size();
        if (r0 >= 0 && size != r0)
          return fail(name(n) + ": perm has " + std::to_string(size) +
                      " values, but the input has rank " + std::to_string(r0));
        std::vector<bool> seen(static_cast<size_t>(std::min<int64_t>(size, kMaxRank)));
        if (size > kMaxRank)
          return fail(name(n) + ": perm has " + std::to_string(size) + " values (at most " +
                      std::to_string(kMaxRank) + ")");
        for (int64_t v : p->ints()) {
          if (v < 0 || v >= size || seen[v])
            return fail(name(n) + ": perm is not a permutation of 0.." + std::to_string(size - 1) +
                        " (value " + std::to_string(v) + ")");
          seen[v] = true;
        }
      }
    } else if (op == "Split") {
      if (auto err = intsInRange(n, "split", 0, kMaxTensorElements))
        return err;
      if (const A *k = attr(n, "num_outputs")) {
        if (k->i() < 1 || k->i() != n.output_size())
          return fail(name(n) + ": num_outputs is " + std::to_string(k->i()) +
                      " but the node has " + std::to_string(n.output_size()) + " outputs");
      }
      if (const T *s = constant(n, 1)) {
        if (auto v = intValues(*s)) {
          if (static_cast<int64_t>(v->size()) != n.output_size())
            return fail(name(n) + ": split has " + std::to_string(v->size()) +
                        " sizes but the node has " + std::to_string(n.output_size()) + " outputs");
          for (int64_t x : *v)
            if (x < 0 || x > kMaxTensorElements)
              return fail(name(n) + ": split size " + std::to_string(x) + " is out of range");
        }
      }
      if (n.output_size() < 1)
        return fail(name(n) + ": Split needs at least one output");
    } else if (op == "Conv" || op == "ConvTranspose" || op == "MaxPool" || op == "AveragePool" ||
               op == "LpPool" || op == "ConvInteger" || op == "QLinearConv") {
      for (const char *k : {"strides", "dilations", "kernel_shape"})
        if (auto err = intsInRange(n, k, 1, kMaxAttrExtent))
          return err;
      for (const char *k : {"pads", "output_padding"})
        if (auto err = intsInRange(n, k, 0, kMaxAttrExtent))
          return err;
      if (auto err = intsInRange(n, "output_shape", 0, kMaxAttrExtent))
        return err;
      if (auto err = intInRange(n, "group", 1, kMaxAttrExtent))
        return err;
    } else if (op == "Reshape") {
      if (auto err = shapeInput(n, 1, "shape", -1))
        return err;
      if (auto err = intInRange(n, "allowzero", 0, 1))
        return err;
    } else if (op == "Expand" || op == "ConstantOfShape") {
      if (auto err = shapeInput(n, op == "Expand" ? 1 : 0, "shape", 0))
        return err;
      if (const A *v = attr(n, "value"))
        if (v->has_t() && v->t().dims_size() == 1 && v->t().dims(0) != 1)
          return fail(name(n) + ": value must hold one element");
    } else if (op == "Tile") {
      if (auto err = shapeInput(n, 1, "repeats", 0))
        return err;
    } else if (op == "Mod" || op == "Div") {
      if (op == "Mod")
        if (auto err = intInRange(n, "fmod", 0, 1))
          return err;
      if (const T *d = constant(n, 1))
        if (hasIntegerZero(*d))
          return fail(name(n) + ": integer " + op + " by zero (divisor '" + n.input(1) +
                      "' holds 0)");
    } else if (op == "CumSum") {
      if (auto err = intInRange(n, "exclusive", 0, 1))
        return err;
      if (auto err = intInRange(n, "reverse", 0, 1))
        return err;
      if (const T *ax = constant(n, 1)) {
        auto v = intValues(*ax);
        if (!v || v->size() != 1)
          return fail(name(n) + ": axis must be one int32 or int64 value");
        if (r0 >= 0 && ((*v)[0] < -r0 || (*v)[0] >= r0))
          return fail(name(n) + ": axis " + std::to_string((*v)[0]) +
                      " is out of range for an input of rank " + std::to_string(r0));
      }
    } else if (op == "Range") {
      if (const T *delta = constant(n, 2)) {
        if (hasIntegerZero(*delta))
          return fail(name(n) + ": delta is 0");
        if (delta->data_type() == T::FLOAT && !delta->has_raw_data() &&
            delta->float_data_size() == 1 && delta->float_data(0) == 0.0f)
          return fail(name(n) + ": delta is 0");
      }
      const T *start = constant(n, 0), *limit = constant(n, 1), *delta = constant(n, 2);
      if (start && limit && delta) {
        auto s = intValues(*start), l = intValues(*limit), d = intValues(*delta);
        if (s && l && d && s->size() == 1 && l->size() == 1 && d->size() == 1 && (*d)[0] != 0) {
          long double count = (static_cast<long double>((*l)[0]) - (*s)[0]) / (*d)[0];
          if (count > static_cast<long double>(kMaxTensorElements))
            return fail(name(n) + ": asks for more than " + std::to_string(kMaxTensorElements) +
                        " elements");
        }
      }
    } else if (op == "Slice") {
      if (const T *steps = constant(n, 4))
        if (hasIntegerZero(*steps))
          return fail(name(n) + ": a step is 0");
    } else if (op == "Cast" || op == "EyeLike" || op == "RandomNormal" || op == "RandomUniform" ||
               op == "RandomNormalLike" || op == "RandomUniformLike" || op == "Multinomial" ||
               op == "CastLike") {
      for (const char *k : {"to", "dtype"})
        if (const A *a = attr(n, k))
          if (!T::DataType_IsValid(static_cast<int>(a->i())) || a->i() == T::UNDEFINED ||
              a->i() > 1000)
            return fail(name(n) + ": attribute '" + k + "' is not a data type (" +
                        std::to_string(a->i()) + ")");
    } else if (op == "Pad") {
      if (const T *p = constant(n, 1))
        if (auto v = intValues(*p))
          for (int64_t x : *v)
            if (x < -kMaxAttrExtent || x > kMaxAttrExtent)
              return fail(name(n) + ": pad " + std::to_string(x) + " is out of range");
    } else if (op == "Unsqueeze" || op == "Squeeze" || op == "ReduceMean" || op == "ReduceSum" ||
               op == "ReduceMax" || op == "ReduceMin" || op == "ReduceProd" || op == "ReduceL2") {
      if (auto err = intsInRange(n, "axes", -kMaxRank, kMaxRank))
        return err;
      if (const T *ax = constant(n, 1))
        if (auto v = intValues(*ax)) {
          if (static_cast<int64_t>(v->size()) > kMaxRank)
            return fail(name(n) + ": more than " + std::to_string(kMaxRank) + " axes");
          for (int64_t x : *v)
            if (x < -kMaxRank || x > kMaxRank)
              return fail(name(n) + ": axis " + std::to_string(x) + " is out of range");
        }
    } else if (op == "OneHot") {
      if (const T *d = constant(n, 1))
        if (auto v = intValues(*d))
          for (int64_t x : *v)
            if (x < 0 || x > kMaxTensorElements)
              return fail(name(n) + ": depth " + std::to_string(x) + " is out of range");
    }
    return llvm::Error::success();
  }

  const onnx::ModelProto &model_;
  std::string where_;
  int64_t opset_ = 0;
  int index_ = 0;
  std::map<std::string, const T *> constants_;
  std::map<std::string, int64_t> ranks_;
};

} // namespace

llvm::Error validateStructure(const onnx::ModelProto &model, const std::string &where) {
  return Validator(model, where).run();
}

} // namespace mamba2::onnx_import
