// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that a Conv sliced to a length read from a tensor of another length stays sliced.
// CHECK-LABEL: func.func @conv_slice_other_length
// CHECK: onnx.Conv {{.+}} pads = [3, 3]
// CHECK: onnx.Slice
func.func @conv_slice_other_length(%x: tensor<1x?x6xf32>, %other: tensor<1x?x6xf32>) -> tensor<1x?x6xf32> {
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {group = 6 : i64, kernel_shape = [4], pads = [3, 3]} : (tensor<1x6x?xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x?xf32>
  %s = onnx.Shape %other : (tensor<1x?x6xf32>) -> tensor<3xi64>
  %i1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %end = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %sl = onnx.Slice %c, %z, %end, %ax, %none : (tensor<1x6x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x?xf32>
  %y = onnx.Transpose %sl {perm = [0, 2, 1]} : (tensor<1x6x?xf32>) -> tensor<1x?x6xf32>
  return %y : tensor<1x?x6xf32>
}

// -----

// Tests that taps whose windows end one step late (j + L + 1, not causal), and a sum that
// lacks one of the K taps, are not taken for a conv.
// CHECK-LABEL: func.func @taps_not_causal
// CHECK-NOT: onnx.Conv
func.func @taps_not_causal(%x: tensor<1x?x2xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  %pads = onnx.Constant {value = dense<[0, 1, 0, 0, 0, 0]> : tensor<6xi64>} : () -> tensor<6xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none : (tensor<1x?x2xf32>, tensor<6xi64>, none) -> tensor<1x?x2xf32>
  %s = onnx.Shape %x : (tensor<1x?x2xf32>) -> tensor<3xi64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %l = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %a1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %c1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %c2 = onnx.Constant {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %l1 = onnx.Add %l, %c1 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e0 = onnx.Unsqueeze %l1, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %l2 = onnx.Add %l, %c2 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e1 = onnx.Unsqueeze %l2, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %t0 = onnx.Slice %p, %z, %e0, %a1, %a1 : (tensor<1x?x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %t1 = onnx.Slice %p, %a1, %e1, %a1, %a1 : (tensor<1x?x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %w0 = onnx.Constant {value = dense<[1.0, 4.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %w1 = onnx.Constant {value = dense<[2.0, 5.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m0 = onnx.Mul %t0, %w0 : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  %m1 = onnx.Mul %t1, %w1 : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  %y = onnx.Add %m0, %m1 : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %ec = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %u0 = onnx.Slice %p, %z, %ec, %a1, %a1 : (tensor<1x?x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %v0 = onnx.Mul %u0, %w0 : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  %b = onnx.Constant {value = dense<[0.5, 1.5]> : tensor<2xf32>} : () -> tensor<2xf32>
  %only = onnx.Add %v0, %b : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  return %y, %only : tensor<*xf32>, tensor<*xf32>
}

// -----

// Tests that stacked windows of a Pad that is not only before the length (here one zero after
// it too) are not a causal conv.
// CHECK-LABEL: func.func @stacked_pad_after
// CHECK-NOT: onnx.Conv
func.func @stacked_pad_after(%x: tensor<1x5x2xf32>) -> tensor<*xf32> {
  %pads = onnx.Constant {value = dense<[0, 1, 0, 0, 1, 0]> : tensor<6xi64>} : () -> tensor<6xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none : (tensor<1x5x2xf32>, tensor<6xi64>, none) -> tensor<1x7x2xf32>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %a1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %e0 = onnx.Constant {value = dense<5> : tensor<1xi64>} : () -> tensor<1xi64>
  %e1 = onnx.Constant {value = dense<6> : tensor<1xi64>} : () -> tensor<1xi64>
  %t0 = onnx.Slice %p, %z, %e0, %a1, %a1 : (tensor<1x7x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x5x2xf32>
  %t1 = onnx.Slice %p, %a1, %e1, %a1, %a1 : (tensor<1x7x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x5x2xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %u0 = onnx.Unsqueeze %t0, %ax : (tensor<1x5x2xf32>, tensor<1xi64>) -> tensor<1x5x2x1xf32>
  %u1 = onnx.Unsqueeze %t1, %ax : (tensor<1x5x2xf32>, tensor<1xi64>) -> tensor<1x5x2x1xf32>
  %win = onnx.Concat %u0, %u1 {axis = -1 : i64} : (tensor<1x5x2x1xf32>, tensor<1x5x2x1xf32>) -> tensor<1x5x2x2xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %m = onnx.Mul %win, %w : (tensor<1x5x2x2xf32>, tensor<2x2xf32>) -> tensor<1x5x2x2xf32>
  %r = onnx.ReduceSum %m, %ax {keepdims = 0 : i64} : (tensor<1x5x2x2xf32>, tensor<1xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}
