// libFuzzer target for the ONNX reader (validateStructure, the ONNX checker, the version
// converter and shape inference with and without data propagation), run in-process
// (isolateShapeInference off) so that whatever the validation lets through to a library crash
// is found here rather than hidden by the child-process guard. Structure-aware: the custom
// mutator parses the input as a ModelProto and mutates the model (attribute values, dims, data
// lengths, node inputs, node order, op types, external-data fields) before it falls back to
// byte mutations. An input that starts with '<' is read as ONNX text syntax (the seeds are).
// Built with clang++-14 -fsanitize=fuzzer,address,undefined (see CMakeLists.txt).
#include "mamba2/onnx/ModelReader.h"

#include <cstdlib>
#include <random>
#include <string>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

using namespace mamba2::onnx_import;

mamba2::onnx_import::ReadOptions options() {
  ReadOptions o;
  o.isolateShapeInference = false;
  return o;
}

const int64_t kEdges[] = {0,
                          1,
                          -1,
                          2,
                          3,
                          -2,
                          64,
                          65,
                          int64_t(1) << 31,
                          (int64_t(1) << 32) + 1,
                          int64_t(1) << 40,
                          int64_t(1) << 62,
                          INT64_MAX,
                          INT64_MIN};

const char *kOps[] = {"Transpose", "Split",   "Conv",       "Reshape",         "Mod",   "Div",
                      "Expand",    "CumSum",  "Range",      "Slice",           "Cast",  "Pad",
                      "Unsqueeze", "Squeeze", "ReduceMean", "ConstantOfShape", "Tile",  "Gather",
                      "Concat",    "MatMul",  "Softmax",    "Einsum",          "Where", "Shape",
                      "Constant"};

int64_t edge(std::mt19937_64 &rng) {
  if (rng() % 4 == 0)
    return static_cast<int64_t>(rng() % 9) - 2;
  return kEdges[rng() % (sizeof kEdges / sizeof kEdges[0])];
}

void mutateTensor(onnx::TensorProto &t, std::mt19937_64 &rng) {
  switch (rng() % 6) {
  case 0:
    if (t.dims_size())
      t.set_dims(static_cast<int>(rng() % t.dims_size()), edge(rng));
    else
      t.add_dims(edge(rng));
    break;
  case 1:
    if (t.has_raw_data() && !t.raw_data().empty())
      t.mutable_raw_data()->resize(rng() % t.raw_data().size());
    else
      t.set_raw_data(std::string(rng() % 64, '\0'));
    break;
  case 2:
    t.set_data_type(static_cast<int32_t>(rng() % 18));
    break;
  case 3: {
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto *kv = t.add_external_data();
    const char *keys[] = {"location", "offset", "length", "checksum", "other"};
    const char *values[] = {
        "w.bin", "12abc", "../x", "/etc/passwd", "0", "-1", "99999999999999999999", ""};
    kv->set_key(keys[rng() % 5]);
    kv->set_value(values[rng() % 8]);
    break;
  }
  case 4:
    if (t.int64_data_size())
      t.set_int64_data(static_cast<int>(rng() % t.int64_data_size()), edge(rng));
    else if (t.has_raw_data() && t.raw_data().size() >= 8 && t.data_type() == 7) {
      int64_t v = edge(rng);
      size_t at = 8 * (rng() % (t.raw_data().size() / 8));
      t.mutable_raw_data()->replace(at, 8, reinterpret_cast<const char *>(&v), 8);
    } else
      t.add_int64_data(edge(rng));
    break;
  default:
    t.clear_dims();
    break;
  }
}

void mutateAttribute(onnx::AttributeProto &a, std::mt19937_64 &rng) {
  switch (rng() % 5) {
  case 0:
    a.set_i(edge(rng));
    break;
  case 1:
    if (a.ints_size())
      a.set_ints(static_cast<int>(rng() % a.ints_size()), edge(rng));
    else
      a.add_ints(edge(rng));
    break;
  case 2:
    a.set_type(static_cast<onnx::AttributeProto::AttributeType>(rng() % 15));
    break;
  case 3:
    a.set_f(static_cast<float>(edge(rng)));
    break;
  default:
    if (a.has_t())
      mutateTensor(*a.mutable_t(), rng);
    else
      a.add_ints(edge(rng));
    break;
  }
}

/// One structural mutation of a parsed model.
void mutateModel(onnx::ModelProto &m, std::mt19937_64 &rng) {
  auto *g = m.mutable_graph();
  int nodes = g->node_size();
  switch (rng() % 10) {
  case 0:
  case 1:
    if (nodes) {
      auto *n = g->mutable_node(static_cast<int>(rng() % nodes));
      if (n->attribute_size())
        mutateAttribute(*n->mutable_attribute(static_cast<int>(rng() % n->attribute_size())), rng);
      else {
        auto *a = n->add_attribute();
        const char *names[] = {"perm", "axis", "group", "strides", "split", "num_outputs", "to"};
        a->set_name(names[rng() % 7]);
        a->set_type(rng() % 2 ? onnx::AttributeProto::INT : onnx::AttributeProto::INTS);
        mutateAttribute(*a, rng);
      }
    }
    break;
  case 2:
  case 3:
    if (g->initializer_size())
      mutateTensor(*g->mutable_initializer(static_cast<int>(rng() % g->initializer_size())), rng);
    break;
  case 4:
    if (nodes) {
      auto *n = g->mutable_node(static_cast<int>(rng() % nodes));
      if (n->input_size()) {
        // Point an input at another value (or an undefined one).
        int i = static_cast<int>(rng() % n->input_size());
        const auto &other = g->node(static_cast<int>(rng() % nodes));
        n->set_input(i, other.output_size() && rng() % 4 ? other.output(0) : "undefined");
      }
    }
    break;
  case 5:
    if (nodes >= 2)
      g->mutable_node()->SwapElements(static_cast<int>(rng() % nodes),
                                      static_cast<int>(rng() % nodes));
    break;
  case 6:
    if (nodes)
      g->mutable_node(static_cast<int>(rng() % nodes))
          ->set_op_type(kOps[rng() % (sizeof kOps / sizeof kOps[0])]);
    break;
  case 7:
    if (g->input_size()) {
      auto *tt = g->mutable_input(static_cast<int>(rng() % g->input_size()))
                     ->mutable_type()
                     ->mutable_tensor_type();
      auto *shape = tt->mutable_shape();
      if (shape->dim_size() && rng() % 3)
        shape->mutable_dim(static_cast<int>(rng() % shape->dim_size()))->set_dim_value(edge(rng));
      else
        shape->add_dim()->set_dim_value(edge(rng));
    }
    break;
  case 8:
    if (nodes && rng() % 2)
      g->mutable_node()->DeleteSubrange(static_cast<int>(rng() % nodes), 1);
    else if (nodes)
      *g->add_node() = g->node(static_cast<int>(rng() % nodes));
    break;
  default:
    if (m.opset_import_size())
      m.mutable_opset_import(0)->set_version(static_cast<int64_t>(rng() % 24));
    break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  llvm::Expected<LoadedModel> r = !bytes.empty() && bytes[0] == '<'
                                      ? readModelFromText(bytes, "fuzz.onnxtxt", options())
                                      : readModelFromBytes(bytes, "fuzz.onnx", options());
  if (!r) {
    if (llvm::toString(r.takeError()).empty())
      std::abort(); // a rejection must say why
    return 0;
  }
  (void)formatSummary(summarize(*r));
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed) {
  std::mt19937_64 rng(seed);
  onnx::ModelProto m;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  bool parsed = false;
  if (!bytes.empty() && bytes[0] == '<') {
    // A text seed: mutate its binary form from now on.
    auto r = readModelFromText(bytes, "seed", [] {
      ReadOptions o;
      o.check = false;
      o.inferShapes = false;
      return o;
    }());
    if (r) {
      m = std::move(r->proto);
      parsed = true;
    } else {
      llvm::consumeError(r.takeError());
    }
  } else {
    parsed = m.ParseFromString(bytes) && m.has_graph();
  }
  if (parsed && rng() % 8) {
    int rounds = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < rounds; ++i)
      mutateModel(m, rng);
    std::string out = m.SerializeAsString();
    if (out.size() <= maxSize) {
      std::copy(out.begin(), out.end(), data);
      return out.size();
    }
  }
  return LLVMFuzzerMutate(data, size, maxSize);
}
