// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that one-element shape expressions of a dimension (Shape{start, end}, Slice of Shape,
// Unsqueeze/Cast/Reshape of Gather of Shape, a negative index) become Gather(Shape(x), i) with
// i >= 0, scalar or of one element as the expression was, and a static dimension its size.
// CHECK-LABEL: func.func @dims
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x4xf32>)
// CHECK-DAG: %[[I1:.+]] = onnx.Constant  {value = dense<1> : tensor<1xi64>}
// CHECK-DAG: %[[I0:.+]] = onnx.Constant  {value = dense<0> : tensor<1xi64>}
// CHECK-DAG: %[[J1:.+]] = onnx.Constant  {value = dense<1> : tensor<i64>}
// CHECK-DAG: %[[FOUR:.+]] = onnx.Constant  {value = dense<4> : tensor<1xi64>}
// CHECK-DAG: %[[S0:.+]] = onnx.Shape %[[X]] : (tensor<?x?x4xf32>) -> tensor<3xi64>
// CHECK-DAG: %[[A:.+]] = onnx.Gather %[[S0]], %[[I1]] : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
// CHECK-DAG: %[[S1:.+]] = onnx.Shape %[[X]] : (tensor<?x?x4xf32>) -> tensor<3xi64>
// CHECK-DAG: %[[B:.+]] = onnx.Gather %[[S1]], %[[I0]] : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
// CHECK-DAG: %[[S2:.+]] = onnx.Shape %[[X]] : (tensor<?x?x4xf32>) -> tensor<3xi64>
// CHECK-DAG: %[[C:.+]] = onnx.Gather %[[S2]], %[[I1]] : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
// CHECK-DAG: %[[S3:.+]] = onnx.Shape %[[X]] : (tensor<?x?x4xf32>) -> tensor<3xi64>
// CHECK-DAG: %[[D:.+]] = onnx.Gather %[[S3]], %[[J1]] : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]], %[[FOUR]]
func.func @dims(%x: tensor<?x?x4xf32>) -> (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<i64>, tensor<1xi64>) {
  %a = onnx.Shape %x {start = 1 : i64, end = 2 : i64} : (tensor<?x?x4xf32>) -> tensor<1xi64>
  %s = onnx.Shape %x : (tensor<?x?x4xf32>) -> tensor<3xi64>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %o = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %b = onnx.Slice %s, %z, %o, %none, %none : (tensor<3xi64>, tensor<1xi64>, tensor<1xi64>, none, none) -> tensor<1xi64>
  %m2 = onnx.Constant {value = dense<-2> : tensor<i64>} : () -> tensor<i64>
  %g = onnx.Gather %s, %m2 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %cast = onnx.Cast %g {to = i64} : (tensor<i64>) -> tensor<i64>
  %c = onnx.Unsqueeze %cast, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %shp = onnx.Constant {value = dense<[]> : tensor<0xi64>} : () -> tensor<0xi64>
  %d = onnx.Reshape %c, %shp : (tensor<1xi64>, tensor<0xi64>) -> tensor<i64>
  %two = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %e = onnx.Gather %s, %two : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  return %a, %b, %c, %d, %e : tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<i64>, tensor<1xi64>
}
