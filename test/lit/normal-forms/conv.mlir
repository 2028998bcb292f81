// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that Conv(pads [k-1, k-1]) followed by a Slice [0, L) of the length, L read from the
// shape of the conv's input, is the Conv padded only before the length (pads [k-1, 0]).
// CHECK-LABEL: func.func @conv_slice
// CHECK-SAME: (%[[X:.+]]: tensor<1x?x6xf32>)
// CHECK: %[[T:.+]] = onnx.Transpose %[[X]]
// CHECK-NEXT: %[[C:.+]] = onnx.Conv %[[T]], %{{.+}}, %{{.+}} {dilations = [1], group = 6 : i64, kernel_shape = [4], pads = [3, 0], strides = [1]} : (tensor<1x6x?xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x?xf32>
// CHECK-NEXT: %[[Y:.+]] = onnx.Transpose %[[C]]
// CHECK-NEXT: return %[[Y]]
func.func @conv_slice(%x: tensor<1x?x6xf32>) -> tensor<1x?x6xf32> {
  %t = onnx.Transpose %x {perm = [0, 2, 1]} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
  %w = onnx.Constant {value = dense<0.25> : tensor<6x1x4xf32>} : () -> tensor<6x1x4xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %c = onnx.Conv %t, %w, %b {group = 6 : i64, kernel_shape = [4], pads = [3, 3], strides = [1], dilations = [1]} : (tensor<1x6x?xf32>, tensor<6x1x4xf32>, tensor<6xf32>) -> tensor<1x6x?xf32>
  %s = onnx.Shape %x : (tensor<1x?x6xf32>) -> tensor<3xi64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %l = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %end = onnx.Unsqueeze %l, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %ax = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %none = onnx.NoValue : () -> none
  %sl = onnx.Slice %c, %z, %end, %ax, %none : (tensor<1x6x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<1x6x?xf32>
  %y = onnx.Transpose %sl {perm = [0, 2, 1]} : (tensor<1x6x?xf32>) -> tensor<1x?x6xf32>
  return %y : tensor<1x?x6xf32>
}

// -----

// Tests that the K shifted windows of the input padded with K-1 zeros before the length,
// stacked on a new axis, times the (C, K) taps and summed, plus a bias, with the window ends
// computed from the length (j + L), is the causal Conv with the taps as a (C, 1, K) weight and
// the bias as its bias.
// CHECK-LABEL: func.func @stacked_taps
// CHECK-SAME: (%[[X:.+]]: tensor<1x?x2xf32>)
// CHECK-DAG: %[[W:.+]] = onnx.Constant  {value = dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00]], {{\[}}[4.000000e+00, 5.000000e+00, 6.000000e+00]]]> : tensor<2x1x3xf32>}
// CHECK-DAG: %[[B:.+]] = onnx.Constant  {value = dense<[5.000000e-01, 1.500000e+00]> : tensor<2xf32>}
// CHECK: %[[T:.+]] = onnx.Transpose %[[X]] {perm = [0, 2, 1]}
// CHECK-NEXT: %[[C:.+]] = onnx.Conv %[[T]], %[[W]], %[[B]] {group = 2 : i64, kernel_shape = [3], pads = [2, 0]}
// CHECK-NEXT: %[[Y:.+]] = onnx.Transpose %[[C]] {perm = [0, 2, 1]} : (tensor<1x2x?xf32>) -> tensor<1x?x2xf32>
// CHECK-NEXT: return %[[Y]]
func.func @stacked_taps(%x: tensor<1x?x2xf32>) -> tensor<1x?x2xf32> {
  %pads = onnx.Constant {value = dense<[0, 2, 0, 0, 0, 0]> : tensor<6xi64>} : () -> tensor<6xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none : (tensor<1x?x2xf32>, tensor<6xi64>, none) -> tensor<1x?x2xf32>
  %s = onnx.Shape %x : (tensor<1x?x2xf32>) -> tensor<3xi64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %l = onnx.Gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %a1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %a2 = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %c1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %c2 = onnx.Constant {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %e0 = onnx.Unsqueeze %l, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %l1 = onnx.Add %l, %c1 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e1 = onnx.Unsqueeze %l1, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %l2 = onnx.Add %c2, %l : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e2 = onnx.Unsqueeze %l2, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %t0 = onnx.Slice %p, %z, %e0, %a1, %a1 : (tensor<1x?x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x?x2xf32>
  %t1 = onnx.Slice %p, %a1, %e1, %a1, %a1 : (tensor<1x?x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x?x2xf32>
  %t2 = onnx.Slice %p, %a2, %e2, %a1, %a1 : (tensor<1x?x2xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x?x2xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %u0 = onnx.Unsqueeze %t0, %ax : (tensor<1x?x2xf32>, tensor<1xi64>) -> tensor<1x?x2x1xf32>
  %u1 = onnx.Unsqueeze %t1, %ax : (tensor<1x?x2xf32>, tensor<1xi64>) -> tensor<1x?x2x1xf32>
  %u2 = onnx.Unsqueeze %t2, %ax : (tensor<1x?x2xf32>, tensor<1xi64>) -> tensor<1x?x2x1xf32>
  %win = onnx.Concat %u0, %u1, %u2 {axis = -1 : i64} : (tensor<1x?x2x1xf32>, tensor<1x?x2x1xf32>, tensor<1x?x2x1xf32>) -> tensor<1x?x2x3xf32>
  %w = onnx.Constant {value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %m = onnx.Mul %win, %w : (tensor<1x?x2x3xf32>, tensor<2x3xf32>) -> tensor<1x?x2x3xf32>
  %r = onnx.ReduceSum %m, %ax {keepdims = 0 : i64} : (tensor<1x?x2x3xf32>, tensor<1xi64>) -> tensor<1x?x2xf32>
  %b = onnx.Constant {value = dense<[0.5, 1.5]> : tensor<2xf32>} : () -> tensor<2xf32>
  %y = onnx.Add %b, %r : (tensor<2xf32>, tensor<1x?x2xf32>) -> tensor<1x?x2xf32>
  return %y : tensor<1x?x2xf32>
}

// -----

// Tests that the K windows each multiplied by its own (C) initializer and added, in any order
// with the bias among them, the Pad's type unknown and the window ends computed from the padded
// length (Lp - (K-1-j)), is the same causal Conv.
// CHECK-LABEL: func.func @per_tap_initializers
// CHECK-SAME: (%[[X:.+]]: tensor<1x?x2xf32>)
// CHECK-DAG: %[[W:.+]] = onnx.Constant  {value = dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00]], {{\[}}[4.000000e+00, 5.000000e+00, 6.000000e+00]]]> : tensor<2x1x3xf32>}
// CHECK-DAG: %[[B:.+]] = onnx.Constant  {value = dense<[5.000000e-01, 1.500000e+00]> : tensor<2xf32>}
// CHECK: %[[T:.+]] = onnx.Transpose %[[X]] {perm = [0, 2, 1]}
// CHECK-NEXT: %[[C:.+]] = onnx.Conv %[[T]], %[[W]], %[[B]] {group = 2 : i64, kernel_shape = [3], pads = [2, 0]}
// CHECK-NEXT: %[[Y:.+]] = onnx.Transpose %[[C]] {perm = [0, 2, 1]}
// CHECK-NEXT: return %[[Y]]
func.func @per_tap_initializers(%x: tensor<1x?x2xf32>) -> tensor<1x?x2xf32> {
  %pads = onnx.Constant {value = dense<[0, 2, 0, 0, 0, 0]> : tensor<6xi64>} : () -> tensor<6xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none : (tensor<1x?x2xf32>, tensor<6xi64>, none) -> tensor<*xf32>
  %sh = onnx.Shape %p : (tensor<*xf32>) -> tensor<?xi64>
  %i1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %lp = onnx.Gather %sh, %i1 {axis = 0 : i64} : (tensor<?xi64>, tensor<i64>) -> tensor<i64>
  %z = onnx.Constant {value = dense<0> : tensor<1xi64>} : () -> tensor<1xi64>
  %a1 = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s2 = onnx.Constant {value = dense<2> : tensor<1xi64>} : () -> tensor<1xi64>
  %c0 = onnx.Constant {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %c1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %c2 = onnx.Constant {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %d0 = onnx.Sub %lp, %c2 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e0 = onnx.Unsqueeze %d0, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %t0 = onnx.Slice %p, %z, %e0, %a1, %a1 : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %w0 = onnx.Constant {value = dense<[1.0, 4.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m0 = onnx.Mul %t0, %w0 : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  %d1 = onnx.Sub %lp, %c1 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e1 = onnx.Unsqueeze %d1, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %t1 = onnx.Slice %p, %a1, %e1, %a1, %a1 : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %w1 = onnx.Constant {value = dense<[2.0, 5.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m1 = onnx.Mul %w1, %t1 : (tensor<2xf32>, tensor<*xf32>) -> tensor<*xf32>
  %d2 = onnx.Sub %lp, %c0 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %e2 = onnx.Unsqueeze %d2, %z : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %t2 = onnx.Slice %p, %s2, %e2, %a1, %a1 : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  %w2 = onnx.Constant {value = dense<[3.0, 6.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m2 = onnx.Mul %t2, %w2 : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  %b = onnx.Constant {value = dense<[0.5, 1.5]> : tensor<2xf32>} : () -> tensor<2xf32>
  %s02 = onnx.Add %m2, %m0 : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %sb = onnx.Add %b, %s02 : (tensor<2xf32>, tensor<*xf32>) -> tensor<*xf32>
  %y0 = onnx.Add %sb, %m1 : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %y = onnx.Identity %y0 : (tensor<*xf32>) -> tensor<1x?x2xf32>
  return %y : tensor<1x?x2xf32>
}
