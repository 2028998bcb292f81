// Tests of the ONNX importer: weights without copies (inline raw_data and memory-mapped
// external data), and malformed tensors as errors naming the tensor.
#include "mamba2/Import/Importer.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "mamba2/Dialect/Onnx/OnnxDialect.h"
#include "mamba2/Support/Pages.h"

namespace fs = std::filesystem;
using namespace mamba2;

namespace {

/// Y = MatMul(X, W): X (2, K), W (K, N) float initializer with raw_data.
onnx::ModelProto matmulModel(int64_t k, int64_t n, std::vector<float> w) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto *g = m.mutable_graph();
  g->set_name("mm");
  auto value = [](onnx::ValueInfoProto *v, const std::string &name,
                  const std::vector<int64_t> &dims) {
    v->set_name(name);
    auto *tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  value(g->add_input(), "X", {2, k});
  value(g->add_output(), "Y", {2, n});
  auto *t = g->add_initializer();
  t->set_name("W");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(k);
  t->add_dims(n);
  t->set_raw_data(std::string(reinterpret_cast<const char *>(w.data()), w.size() * sizeof(float)));
  auto *node = g->add_node();
  node->set_op_type("MatMul");
  node->set_name("mm0");
  node->add_input("X");
  node->add_input("W");
  node->add_output("Y");
  return m;
}

std::vector<float> iota(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = 0.5f * static_cast<float>(i);
  return v;
}

struct Imported {
  mlir::MLIRContext context;
  import::WeightStorage storage;
  std::unique_ptr<onnx_import::LoadedModel> model;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string diagnostics;
};

std::unique_ptr<Imported> import(llvm::Expected<onnx_import::LoadedModel> loaded,
                                 const import::ImportOptions &options = {}) {
  auto r = std::make_unique<Imported>();
  EXPECT_TRUE(static_cast<bool>(loaded)) << (loaded ? "" : llvm::toString(loaded.takeError()));
  if (!loaded)
    return r;
  r->model = std::make_unique<onnx_import::LoadedModel>(std::move(*loaded));
  mlir::ScopedDiagnosticHandler handler(&r->context, [&](mlir::Diagnostic &d) {
    r->diagnostics += d.str() + "\n";
    return mlir::success();
  });
  r->module = import::importModel(r->context, *r->model, r->storage, options);
  return r;
}

mlir::ElementsAttr weightOf(mlir::ModuleOp module) {
  mlir::ElementsAttr w;
  module.walk([&](onnxir::ConstantOp c) { w = c.getValue(); });
  return w;
}

TEST(Importer, LargeInitializerPointsIntoTheProtoWithoutCopy) {
  auto w = iota(64 * 32);
  auto r = import(onnx_import::readModelFromBytes(matmulModel(64, 32, w).SerializeAsString(), "mm"),
                  import::ImportOptions{/*denseLimitBytes=*/1024, "main"});
  ASSERT_TRUE(r->module) << r->diagnostics;
  auto attr = llvm::dyn_cast<mlir::DenseF32ResourceElementsAttr>(weightOf(*r->module));
  ASSERT_TRUE(attr) << "expected a dense_resource weight";
  auto data = attr.tryGetAsArrayRef();
  ASSERT_TRUE(data);
  const std::string &raw = r->model->proto.graph().initializer(0).raw_data();
  EXPECT_EQ(reinterpret_cast<const char *>(data->data()), raw.data());
  EXPECT_EQ((*data)[100], 50.0f);
}

TEST(Importer, SmallInitializerIsDenseForFolding) {
  auto r = import(
      onnx_import::readModelFromBytes(matmulModel(4, 3, iota(12)).SerializeAsString(), "mm"));
  ASSERT_TRUE(r->module) << r->diagnostics;
  auto attr = llvm::dyn_cast<mlir::DenseElementsAttr>(weightOf(*r->module));
  ASSERT_TRUE(attr);
  EXPECT_EQ(attr.getValues<float>()[5], 2.5f);
}

TEST(Importer, InitializerWithTooFewBytesNamesTheTensor) {
  auto m = matmulModel(4, 3, iota(12));
  m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(40);
  // The checker does not look at raw_data sizes; the reader's validation does.
  onnx_import::ReadOptions options;
  options.check = false;
  auto loaded = onnx_import::readModelFromBytes(m.SerializeAsString(), "mm", options);
  ASSERT_FALSE(loaded);
  std::string msg = llvm::toString(loaded.takeError());
  EXPECT_NE(msg.find("initializer 'W' holds 40 bytes of raw data, but its shape and type need 48"),
            std::string::npos)
      << msg;
  // The importer checks again what it materialises (a LoadedModel may come from elsewhere).
  auto r = import(
      onnx_import::readModelFromBytes(matmulModel(4, 3, iota(12)).SerializeAsString(), "mm"));
  ASSERT_TRUE(r->module);
  r->model->proto.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(40);
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  EXPECT_FALSE(import::importModel(context, *r->model, r->storage));
  EXPECT_NE(diagnostics.find("tensor 'W' holds 40 bytes of data, but its shape and type need 48"),
            std::string::npos)
      << diagnostics;
}

TEST(Importer, ElementCountOverflowIsRefused) {
  // dims [2^62, 4] without data: the signed element count used to overflow, and the importer
  // printed a constant of 4.6e18 x 4 elements (issue 11).
  auto r = import(
      onnx_import::readModelFromBytes(matmulModel(4, 3, iota(12)).SerializeAsString(), "mm"));
  ASSERT_TRUE(r->module);
  auto *w = r->model->proto.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->clear_dims();
  w->add_dims(int64_t(1) << 62);
  w->add_dims(4);
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  EXPECT_FALSE(import::importModel(context, *r->model, r->storage));
  EXPECT_NE(diagnostics.find("tensor 'W' has more than 4294967296 elements"), std::string::npos)
      << diagnostics;
}

TEST(Importer, AttributeOfTheWrongKindIsAnErrorNotACrash) {
  // A Conv whose group is a float used to crash ConvOp::verify with --no-check; the reader
  // refuses it now, and the importer does not trust a LoadedModel from elsewhere either.
  auto loaded = onnx_import::readModelFromText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,1,8] x) => (float[1,1,7] y) <float[1,1,2] w = {1.0, 1.0}> {
      y = Conv<group = 1>(x, w)
    })",
                                               "conv.onnxtxt");
  auto r = import(std::move(loaded));
  ASSERT_TRUE(r->module) << r->diagnostics;
  auto *a = r->model->proto.mutable_graph()->mutable_node(0)->mutable_attribute(0);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->clear_i();
  a->set_f(1.5f);
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  EXPECT_FALSE(import::importModel(context, *r->model, r->storage));
  EXPECT_NE(diagnostics.find("group"), std::string::npos) << diagnostics;
}

TEST(Importer, ExternalDataIsMemoryMappedNotCopied) {
  fs::path dir = fs::temp_directory_path() / ("mamba2-import-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto w = iota(256 * 128);
  auto m = matmulModel(256, 128, {});
  auto *t = m.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const std::string &k, const std::string &v) {
    auto *e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "mm.onnx.data");
  kv("offset", "4096");
  kv("length", std::to_string(w.size() * sizeof(float)));
  {
    std::ofstream data(dir / "mm.onnx.data", std::ios::binary);
    std::vector<char> pad(4096, 0);
    data.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    data.write(reinterpret_cast<const char *>(w.data()),
               static_cast<std::streamsize>(w.size() * sizeof(float)));
    std::ofstream model(dir / "mm.onnx", std::ios::binary);
    model << m.SerializeAsString();
  }
  auto r = import(onnx_import::readModel((dir / "mm.onnx").string()),
                  import::ImportOptions{/*denseLimitBytes=*/1024, "main"});
  ASSERT_TRUE(r->module) << r->diagnostics;
  auto attr = llvm::dyn_cast<mlir::DenseF32ResourceElementsAttr>(weightOf(*r->module));
  ASSERT_TRUE(attr);
  auto data = attr.tryGetAsArrayRef();
  ASSERT_TRUE(data);
  EXPECT_EQ(data->size(), w.size());
  EXPECT_EQ((*data)[12345], w[12345]);
  fs::remove_all(dir);
}

/// The process's resident pages of mapped files, in KiB (RssFile of /proc/self/status).
int64_t rssFileKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssFile:", 0) == 0)
      return std::stoll(line.substr(8));
  return -1;
}

// A weight in the mapped external-data file gives its pages back (support::dropUnownedPages,
// what raise-onnx-to-m2, m2-fold-norms and m2-rotate do with the tables of a 2.7B model) and
// still reads the same bytes afterwards, from the file.
TEST(Importer, MappedWeightGivesItsPagesBackAndKeepsItsBytes) {
  fs::path dir = fs::temp_directory_path() / ("mamba2-pages-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const int64_t k = 1024, n = 4096; // 16 MiB
  auto w = iota(k * n);
  auto m = matmulModel(k, n, {});
  auto *t = m.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const std::string &key, const std::string &v) {
    auto *e = t->add_external_data();
    e->set_key(key);
    e->set_value(v);
  };
  kv("location", "mm.onnx.data");
  kv("length", std::to_string(w.size() * sizeof(float)));
  {
    std::ofstream data(dir / "mm.onnx.data", std::ios::binary);
    data.write(reinterpret_cast<const char *>(w.data()),
               static_cast<std::streamsize>(w.size() * sizeof(float)));
    std::ofstream model(dir / "mm.onnx", std::ios::binary);
    model << m.SerializeAsString();
  }
  auto r = import(onnx_import::readModel((dir / "mm.onnx").string()),
                  import::ImportOptions{/*denseLimitBytes=*/1024, "main"});
  ASSERT_TRUE(r->module) << r->diagnostics;
  mlir::ElementsAttr attr = weightOf(*r->module);
  ASSERT_TRUE(support::isUnownedBlob(attr));
  auto data = llvm::cast<mlir::DenseF32ResourceElementsAttr>(attr).tryGetAsArrayRef();
  ASSERT_TRUE(data);
  double sum = 0;
  for (float v : *data) // every page resident
    sum += v;
  EXPECT_GT(sum, 0.0);
  const int64_t before = rssFileKiB();
  if (!support::dropUnownedPages(attr)) {
    fs::remove_all(dir);
    GTEST_SKIP() << "this kernel has no MADV_PAGEOUT";
  }
  const int64_t after = rssFileKiB();
  EXPECT_GE(before - after, 12 * 1024) << "RssFile " << before << " KiB -> " << after << " KiB";
  EXPECT_TRUE(std::equal(data->begin(), data->end(), w.begin())); // read again from the file
  fs::remove_all(dir);
}

// Memory the process owns (a heap blob) is never dropped: dropUnownedPages leaves it, and
// dropPages on heap bytes changes none of them.
TEST(Importer, HeapBytesAreNotDropped) {
  auto w = iota(1 << 20);
  std::vector<float> heap = w;
  support::dropPages(heap.data(), heap.size() * sizeof(float));
  EXPECT_EQ(heap, w);
  mlir::MLIRContext context;
  auto t = mlir::RankedTensorType::get({1 << 20}, mlir::FloatType::getF32(&context));
  llvm::ArrayRef<char> raw(reinterpret_cast<const char *>(w.data()), w.size() * sizeof(float));
  mlir::ElementsAttr owned = mlir::DenseResourceElementsAttr::get(
      t, "h", mlir::HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(float)));
  EXPECT_FALSE(support::isUnownedBlob(owned));
  EXPECT_TRUE(support::dropUnownedPages(owned));
}

TEST(Importer, NodesAreLocatedAtTheirNames) {
  auto r = import(
      onnx_import::readModelFromBytes(matmulModel(4, 3, iota(12)).SerializeAsString(), "mm"));
  ASSERT_TRUE(r->module) << r->diagnostics;
  std::string loc;
  r->module->walk([&](onnxir::MatMulOp op) {
    llvm::raw_string_ostream os(loc);
    os << op.getLoc();
  });
  EXPECT_NE(loc.find("mm0"), std::string::npos) << loc;
}

} // namespace
