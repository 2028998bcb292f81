// Tests of the ONNX reader: the default model loads and is summarised; every kind of bad input
// is an error that names the file and the problem.
#include "mamba2/onnx/ModelReader.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace mamba2::onnx_import;

namespace {

const std::string kDefaultModel =
    std::string(MAMBA2_SOURCE_DIR) + "/models/austen/mamba2-austen.onnx";

std::string errorOf(llvm::Expected<LoadedModel> r) {
  EXPECT_FALSE(static_cast<bool>(r)) << "expected an error";
  if (r)
    return "";
  return llvm::toString(r.takeError());
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A tiny valid model: Y = MatMul(X, W) + B, with W and B as initializers.
onnx::ModelProto tinyModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto *op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto *g = m.mutable_graph();
  g->set_name("tiny");
  auto addValue = [](google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> *vs,
                     const std::string &name, const std::vector<int64_t> &dims) {
    auto *v = vs->Add();
    v->set_name(name);
    auto *tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  addValue(g->mutable_input(), "X", {2, 3});
  addValue(g->mutable_output(), "Y", {2, 4});
  auto *w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->add_dims(4);
  for (int i = 0; i < 12; ++i)
    w->add_float_data(0.5f * static_cast<float>(i));
  auto *n = g->add_node();
  n->set_op_type("MatMul");
  n->set_name("the_matmul");
  n->add_input("X");
  n->add_input("W");
  n->add_output("Y");
  return m;
}

std::string serialize(const onnx::ModelProto &m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

} // namespace

TEST(ModelReader, ReadsTheDefaultModelAndSummarisesIt) {
  auto r = readModel(kDefaultModel);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ModelSummary s = summarize(*r);
  EXPECT_EQ(s.opsets.at(""), 17);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].rfind("input_ids: INT64[", 0), 0u) << s.inputs[0];
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].rfind("logits: FLOAT[", 0), 0u) << s.outputs[0];
  EXPECT_GT(s.opCounts["MatMul"], 0);
  EXPECT_GT(s.parameters, 1000000);
  EXPECT_EQ(s.externalBytes, 0);
}

TEST(ModelReader, MissingFileIsNamed) {
  std::string msg = errorOf(readModel("/nonexistent/dir/model.onnx"));
  EXPECT_NE(msg.find("/nonexistent/dir/model.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;
}

TEST(ModelReader, DirectoryIsRejected) {
  std::string msg = errorOf(readModel(fs::temp_directory_path().string()));
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
}

TEST(ModelReader, RandomBytesAreNotAModel) {
  std::mt19937 rng(7);
  std::string junk(4096, '\0');
  for (char &c : junk)
    c = static_cast<char>(rng());
  std::string msg = errorOf(readModelFromBytes(junk, "junk.onnx"));
  EXPECT_NE(msg.find("junk.onnx"), std::string::npos) << msg;
}

TEST(ModelReader, EmptyInputIsNotAModel) {
  std::string msg = errorOf(readModelFromBytes("", "empty.onnx"));
  EXPECT_NE(msg.find("not an ONNX model"), std::string::npos) << msg;
}

TEST(ModelReader, TruncatedDefaultModelIsRejected) {
  std::string bytes = readAll(kDefaultModel);
  ASSERT_GT(bytes.size(), 1000u);
  for (size_t cut : {bytes.size() / 2, bytes.size() - 3, size_t{100}}) {
    std::string msg = errorOf(readModelFromBytes(bytes.substr(0, cut), "cut.onnx"));
    EXPECT_NE(msg.find("cut.onnx"), std::string::npos) << msg;
  }
}

TEST(ModelReader, TinyModelPassesCheckerAndShapeInference) {
  auto r = readModelFromBytes(serialize(tinyModel()), "tiny.onnx");
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ModelSummary s = summarize(*r);
  EXPECT_EQ(s.nodes, 1);
  EXPECT_EQ(s.parameters, 12);
  EXPECT_EQ(s.outputs[0], "Y: FLOAT[2, 4]");
}

TEST(ModelReader, MissingInitializerNamesTheNode) {
  onnx::ModelProto m = tinyModel();
  m.mutable_graph()->clear_initializer();
  std::string msg = errorOf(readModelFromBytes(serialize(m), "noinit.onnx"));
  EXPECT_NE(msg.find("noinit.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the_matmul"), std::string::npos) << msg;
}

TEST(ModelReader, ShapeMismatchNamesTheNode) {
  onnx::ModelProto m = tinyModel();
  auto *w = m.mutable_graph()->mutable_initializer(0);
  w->set_dims(0, 5); // 5x4 against X's 2x3: inner dimensions disagree
  w->clear_float_data();
  for (int i = 0; i < 20; ++i)
    w->add_float_data(1.0f);
  std::string msg = errorOf(readModelFromBytes(serialize(m), "mismatch.onnx"));
  EXPECT_NE(msg.find("shape inference"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MatMul"), std::string::npos) << msg;
}

TEST(ModelReader, UnknownOpIsRejectedByTheChecker) {
  onnx::ModelProto m = tinyModel();
  m.mutable_graph()->mutable_node(0)->set_op_type("NotAnOnnxOp");
  std::string msg = errorOf(readModelFromBytes(serialize(m), "unknown.onnx"));
  EXPECT_NE(msg.find("NotAnOnnxOp"), std::string::npos) << msg;
}

TEST(ModelReader, ExternalDataOutsideItsFileIsRejected) {
  fs::path dir = fs::temp_directory_path() / "mamba2-reader-ext";
  fs::create_directories(dir);
  onnx::ModelProto m = tinyModel();
  auto *w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto *loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("weights.bin");
  auto *len = w->add_external_data();
  len->set_key("length");
  len->set_value("48");
  {
    std::ofstream(dir / "weights.bin", std::ios::binary) << std::string(40, '\0'); // 8 short
    std::ofstream(dir / "model.onnx", std::ios::binary) << serialize(m);
  }
  std::string msg = errorOf(readModel((dir / "model.onnx").string()));
  EXPECT_NE(msg.find("initializer 'W'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("outside"), std::string::npos) << msg;

  { std::ofstream(dir / "weights.bin", std::ios::binary) << std::string(48, '\0'); }
  auto ok = readModel((dir / "model.onnx").string());
  ASSERT_TRUE(static_cast<bool>(ok)) << llvm::toString(ok.takeError());
  ASSERT_EQ(ok->external.size(), 1u);
  EXPECT_EQ(ok->external[0].length, 48u);
  fs::remove_all(dir);
}

TEST(ModelReader, ExternalDataMayNotEscapeTheModelFolder) {
  onnx::ModelProto m = tinyModel();
  auto *w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto *loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("../../etc/passwd");
  fs::path dir = fs::temp_directory_path() / "mamba2-reader-escape";
  fs::create_directories(dir);
  { std::ofstream(dir / "model.onnx", std::ios::binary) << serialize(m); }
  std::string msg = errorOf(readModel((dir / "model.onnx").string()));
  EXPECT_NE(msg.find("inside the model's folder"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(ModelReader, IrVersion10OpsetTwentyOneIsReadAsTheLibrarysNewest) {
  onnx::ModelProto m = tinyModel();
  m.set_ir_version(10);
  m.mutable_opset_import(0)->set_version(21);
  auto r = readModelFromBytes(serialize(m), "new.onnx");
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ModelSummary s = summarize(*r);
  EXPECT_EQ(s.irVersion, 10);
  EXPECT_EQ(s.opsets.at(""), 21);
  EXPECT_EQ(s.adaptedFromOpset, 21);
  EXPECT_EQ(s.adaptedFromIrVersion, 10);
  EXPECT_EQ(r->proto.ir_version(), libraryMaxIrVersion());
  EXPECT_NE(s.libraryGaps.find("not ai.onnx opset 21 and IR version 10"), std::string::npos)
      << s.libraryGaps;
}

TEST(ModelReader, IrVersionAboveTenIsRefused) {
  onnx::ModelProto m = tinyModel();
  m.set_ir_version(11);
  std::string msg = errorOf(readModelFromBytes(serialize(m), "ir11.onnx"));
  EXPECT_NE(msg.find("ONNX IR version 11 is not supported (up to 10)"), std::string::npos) << msg;
}

TEST(ModelReader, Float8ElementTypeIsRefusedNamingTheValue) {
  onnx::ModelProto m = tinyModel();
  m.set_ir_version(9);
  m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(17);
  std::string msg = errorOf(readModelFromBytes(serialize(m), "f8.onnx"));
  EXPECT_NE(msg.find("graph output 'Y' has element type 17"), std::string::npos) << msg;
}

TEST(ModelReader, InitializerDataThatDoesNotFitItsShapeIsRefused) {
  onnx::ModelProto m = tinyModel();
  m.mutable_graph()->mutable_initializer(0)->add_float_data(1.0f); // 13 values for 3x4
  std::string msg = errorOf(readModelFromBytes(serialize(m), "w.onnx"));
  EXPECT_NE(msg.find("initializer 'W' holds 13 elements of data, but its shape (12 elements) and "
                     "type need 12"),
            std::string::npos)
      << msg;
}

TEST(ModelReader, SplitNumOutputsOfUnequalPartsGetsExplicitSizes) {
  // Split-18 with num_outputs 3 over a length of 7: parts 3, 3, 1.
  onnx::ModelProto m = tinyModel();
  m.mutable_opset_import(0)->set_version(18);
  auto *g = m.mutable_graph();
  g->clear_node();
  g->clear_initializer();
  g->clear_output();
  g->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(7);
  auto *n = g->add_node();
  n->set_op_type("Split");
  n->set_name("the_split");
  n->add_input("X");
  for (auto [o, width] : {std::pair{"a", 3}, std::pair{"b", 3}, std::pair{"c", 1}}) {
    n->add_output(o);
    auto *out = g->add_output();
    out->set_name(o);
    auto *tt = out->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
    tt->mutable_shape()->add_dim()->set_dim_value(width);
  }
  auto *axis = n->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);
  auto *num = n->add_attribute();
  num->set_name("num_outputs");
  num->set_type(onnx::AttributeProto::INT);
  num->set_i(3);
  auto r = readModelFromBytes(serialize(m), "split.onnx");
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  const auto &split = r->proto.graph().node(0);
  ASSERT_EQ(split.input_size(), 2);
  const onnx::TensorProto *sizes = nullptr;
  for (const auto &t : r->proto.graph().initializer())
    if (t.name() == split.input(1))
      sizes = &t;
  ASSERT_NE(sizes, nullptr);
  EXPECT_EQ(std::vector<int64_t>(sizes->int64_data().begin(), sizes->int64_data().end()),
            (std::vector<int64_t>{3, 3, 1}));
  EXPECT_EQ(r->adapted.rewrites.at("Split (num_outputs -> split sizes)"), 1);
}
