// Bad-input classes of the ONNX reader that need binary protobufs (issue 11): tensor data
// shorter than the shape, dims whose product overflows, external-data offsets that are not
// numbers, NUL bytes and symlinks in external-data locations, attribute kinds. Each is an error
// naming the tensor or node, returned by readModelFromBytes / readModel, never a crash.
#include "mamba2/onnx/Validate.h"
#include "mamba2/onnx/ModelReader.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace mamba2::onnx_import;
using T = onnx::TensorProto;

namespace {

std::string errorOf(llvm::Expected<LoadedModel> r) {
  EXPECT_FALSE(static_cast<bool>(r)) << "expected an error";
  if (r)
    return "";
  return llvm::toString(r.takeError());
}

/// y = Identity(x) or y = Identity(c) for a constant/initializer c: the smallest model around
/// one tensor.
onnx::ModelProto identityModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto *g = m.mutable_graph();
  g->set_name("g");
  auto *in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(T::FLOAT);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto *out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(T::FLOAT);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto *n = g->add_node();
  n->set_op_type("Identity");
  n->set_name("id");
  n->add_input("x");
  n->add_output("y");
  return m;
}

T *addInitializer(onnx::ModelProto &m, const std::string &name, std::vector<int64_t> dims) {
  T *t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(T::FLOAT);
  for (int64_t d : dims)
    t->add_dims(d);
  return t;
}

std::string load(const onnx::ModelProto &m) {
  return errorOf(readModelFromBytes(m.SerializeAsString(), "m.onnx"));
}

TEST(Validate, ConstantRawDataShorterThanItsShape) {
  // ONNX 1.12's ParseData reads past the buffer here (heap overflow in shape inference).
  auto m = identityModel();
  auto *n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("Constant");
  n->set_name("c");
  n->clear_input();
  auto *a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(T::FLOAT);
  a->mutable_t()->add_dims(1000);
  a->mutable_t()->set_raw_data(std::string(8, '\0'));
  std::string msg = load(m);
  EXPECT_NE(msg.find("node 'c' (Constant): attribute 'value' tensor holds 8 bytes of raw data, "
                     "but its shape and type need 4000"),
            std::string::npos)
      << msg;
}

TEST(Validate, TypedDataShorterThanItsShape) {
  auto m = identityModel();
  T *t = addInitializer(m, "w", {3});
  t->add_float_data(1.0f);
  std::string msg = load(m);
  EXPECT_NE(msg.find("initializer 'w' holds 1 elements of data"), std::string::npos) << msg;
}

TEST(Validate, DimsWhoseProductOverflowsAreRefused) {
  // dims [2^62, 4] with no data: the importer's signed element count used to overflow.
  auto m = identityModel();
  addInitializer(m, "huge", {int64_t(1) << 62, 4});
  std::string msg = load(m);
  EXPECT_NE(msg.find("initializer 'huge' has more than 4294967296 elements"), std::string::npos)
      << msg;
}

TEST(Validate, NegativeInitializerDimension) {
  auto m = identityModel();
  addInitializer(m, "neg", {-3});
  std::string msg = load(m);
  EXPECT_NE(msg.find("initializer 'neg' has negative dimension -3"), std::string::npos) << msg;
}

TEST(Validate, InputDimsWhoseProductOverflowsAreRefused) {
  auto m = identityModel();
  auto *shape =
      m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->mutable_dim(0)->set_dim_value(int64_t(1) << 40);
  shape->add_dim()->set_dim_value(int64_t(1) << 40);
  std::string msg = load(m);
  EXPECT_NE(msg.find("graph input 'x' has more than"), std::string::npos) << msg;
}

TEST(Validate, UnknownDataTypeIsRefused) {
  auto m = identityModel();
  T *t = addInitializer(m, "w", {1});
  t->set_data_type(99);
  std::string msg = load(m);
  EXPECT_NE(msg.find("initializer 'w' has an invalid data type 99"), std::string::npos) << msg;
}

TEST(Validate, SplitNumOutputsMustMatchTheOutputs) {
  // Opset 18's num_outputs (the ONNX 1.12 schema does not know it; the validator does).
  auto m = identityModel();
  m.mutable_opset_import(0)->set_version(18);
  auto *n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("Split");
  auto *a = n->add_attribute();
  a->set_name("num_outputs");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(0);
  auto r = validateStructure(m, "m.onnx");
  ASSERT_TRUE(static_cast<bool>(r));
  std::string msg = llvm::toString(std::move(r));
  EXPECT_NE(msg.find("node 'id' (Split): num_outputs is 0 but the node has 1 outputs"),
            std::string::npos)
      << msg;
}

class ExternalData : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("mamba2-validate-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
           "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "model");
    std::ofstream(dir / "model" / "w.bin", std::ios::binary) << std::string(64, '\0');
    std::ofstream(dir / "secret.bin", std::ios::binary) << std::string(64, 'S');
  }
  void TearDown() override { fs::remove_all(dir); }

  /// Writes the model with initializer w (16 floats) in external data and reads it back.
  std::string loadWith(const std::string &location, const std::string &offset) {
    auto m = identityModel();
    T *t = addInitializer(m, "w", {16});
    t->set_data_location(T::EXTERNAL);
    auto *kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    kv = t->add_external_data();
    kv->set_key("offset");
    kv->set_value(offset);
    std::string path = (dir / "model" / "m.onnx").string();
    std::ofstream(path, std::ios::binary) << m.SerializeAsString();
    auto r = readModel(path);
    if (r)
      return "";
    return llvm::toString(r.takeError());
  }
  fs::path dir;
};

TEST_F(ExternalData, ValidReferenceLoads) { EXPECT_EQ(loadWith("w.bin", "0"), ""); }

TEST_F(ExternalData, OffsetWithTrailingJunkIsRefused) {
  // std::stoull used to read "12abc" as 12.
  std::string msg = loadWith("w.bin", "12abc");
  EXPECT_NE(msg.find("initializer 'w': external_data offset '12abc' is not a decimal number"),
            std::string::npos)
      << msg;
}

TEST_F(ExternalData, NulByteInLocationIsRefused) {
  std::string msg = loadWith(std::string("w.bin\0../../etc/passwd", 22), "0");
  EXPECT_NE(msg.find("initializer 'w': external data location contains a NUL byte"),
            std::string::npos)
      << msg;
}

TEST_F(ExternalData, SymlinkLeavingTheModelFolderIsRefused) {
  fs::create_symlink(dir / "secret.bin", dir / "model" / "link.bin");
  std::string msg = loadWith("link.bin", "0");
  EXPECT_NE(msg.find("initializer 'w': external data location 'link.bin' leads outside the "
                     "model's folder"),
            std::string::npos)
      << msg;
}

TEST_F(ExternalData, SymlinkInsideTheModelFolderIsFollowed) {
  fs::create_symlink("w.bin", dir / "model" / "alias.bin");
  EXPECT_EQ(loadWith("alias.bin", "0"), "");
}

TEST(ModelFile, DeviceFileIsRefusedWithoutReadingIt) {
  // /dev/zero is endless: the reader used to try to reserve gigabytes for it.
  std::string msg = errorOf(readModel("/dev/zero"));
  EXPECT_NE(msg.find("/dev/zero: is not a regular file"), std::string::npos) << msg;
}

} // namespace

namespace {

TEST(IsolatedShapeInference, ALibraryCrashIsAnErrorNamingTheNode) {
  // Without validation, a Conv with stride 0 makes ONNX 1.12's convPoolShapeInference divide
  // by zero (SIGFPE). In the child process it is an error naming the node.
  auto loaded = readModelFromText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,1,8] x) => (float[1,1,7] y) <float[1,1,2] w = {1.0, 1.0}> {
      a = Relu(x)
      y = Conv(a, w)
    })",
                                  "conv.onnxtxt");
  ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
  onnx::ModelProto proto = loaded->proto;
  proto.mutable_graph()->clear_value_info();
  auto *a = proto.mutable_graph()->mutable_node(1)->add_attribute();
  a->set_name("strides");
  a->set_type(onnx::AttributeProto::INTS);
  a->add_ints(0);
  llvm::Error err = inferShapesIsolated(proto, "conv.onnxtxt");
  ASSERT_TRUE(static_cast<bool>(err));
  std::string msg = llvm::toString(std::move(err));
  EXPECT_NE(msg.find("conv.onnxtxt: ONNX shape inference failed at node 'Conv#1' (Conv): the "
                     "library "),
            std::string::npos)
      << msg;
}

TEST(IsolatedShapeInference, ResultsComeBackFromTheChild) {
  auto loaded = readModelFromText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,3] x) => (float[3,2] y) {
      a = Relu(x)
      y = Transpose<perm = [1, 0]>(a)
    })",
                                  "t.onnxtxt", [] {
                                    ReadOptions o;
                                    o.inferShapes = false;
                                    return o;
                                  }());
  ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
  ASSERT_EQ(loaded->proto.graph().value_info_size(), 0);
  ASSERT_FALSE(inferShapesIsolated(loaded->proto, "t.onnxtxt"));
  ASSERT_EQ(loaded->proto.graph().value_info_size(), 1);
  EXPECT_EQ(loaded->proto.graph().value_info(0).name(), "a");
  EXPECT_EQ(loaded->proto.graph().value_info(0).type().tensor_type().shape().dim(1).dim_value(), 3);
}

} // namespace
