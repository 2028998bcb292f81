// RUN: mamba2-opt %s | FileCheck %s
// RUN: mamba2-opt %s | mamba2-opt | FileCheck %s
// Every ovl op parses, verifies and prints back (one layer's worth of kernels, tiny shapes).

// CHECK-LABEL: func.func @layer
func.func @layer(%ids: tensor<?xi32>, %cs: tensor<8x3xi8>, %ss: tensor<2x2x4xi32>)
    -> (tensor<?x4xi32>, tensor<8x3xi8>, tensor<2x2x4xi32>) {
  // CHECK: ovl.constant {name = "embedding"}
  %table = ovl.constant {name = "embedding"} dense<1> : tensor<16x4xi32>
  %w = ovl.constant dense<1> : tensor<12x4xi8>
  %s = ovl.constant dense<65536> : tensor<12x2xi32>
  %m = ovl.constant dense<3> : tensor<1xi32>
  %sh = ovl.constant dense<2> : tensor<1xi8>
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %cw = ovl.constant dense<1> : tensor<8x4xi8>
  %cb = ovl.constant dense<0> : tensor<8xi32>
  // CHECK: ovl.embed
  %h = ovl.embed %ids, %table : (tensor<?xi32>, tensor<16x4xi32>) -> tensor<?x4xi32>
  // CHECK: ovl.sumsq %{{.*}} {groups = 1 : i64, shift = 4 : i64}
  %ss2 = ovl.sumsq %h {groups = 1, shift = 4} : (tensor<?x4xi32>) -> tensor<?x1xi32>
  // CHECK: ovl.rsqrt
  %r = ovl.rsqrt %ss2, %t : (tensor<?x1xi32>, tensor<6xi32>) -> tensor<?x1xi32>
  // CHECK: ovl.mul
  %n = ovl.mul %h, %r {shift = 16} : (tensor<?x4xi32>, tensor<?x1xi32>) -> tensor<?x4xi32>
  // CHECK: ovl.requant
  %a = ovl.requant %n, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  // CHECK: ovl.matmul %{{.*}} {bits = 8 : i64, group = 2 : i64, shift = 10 : i64}
  %p = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 10}
      : (tensor<?x4xi8>, tensor<12x4xi8>, tensor<12x2xi32>) -> tensor<?x12xi32>
  // CHECK: ovl.slice %{{.*}} {offset = 4 : i64, size = 8 : i64}
  %xbc = ovl.slice %p {offset = 4, size = 8} : (tensor<?x12xi32>) -> tensor<?x8xi32>
  // CHECK: ovl.shr
  %x8 = ovl.shr %xbc {shift = 3} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  // CHECK: ovl.conv4
  %y, %cs1 = ovl.conv4 %x8, %cw, %cb, %cs
      : (tensor<?x8xi8>, tensor<8x4xi8>, tensor<8xi32>, tensor<8x3xi8>) -> (tensor<?x8xi32>, tensor<8x3xi8>)
  // CHECK: ovl.pwl %{{.*}} {function = "silu"}
  %g = ovl.pwl %y, %t {function = "silu"} : (tensor<?x8xi32>, tensor<6xi32>) -> tensor<?x8xi32>
  // CHECK: ovl.shift
  %g2 = ovl.shift %g {shift = -2} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  %g8 = ovl.shr %g2 {shift = 8} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %xs = ovl.slice %g8 {offset = 0, size = 4} : (tensor<?x8xi8>) -> tensor<?x4xi8>
  %B = ovl.slice %g8 {offset = 4, size = 4} : (tensor<?x8xi8>) -> tensor<?x4xi8>
  // CHECK: ovl.sext
  %x32 = ovl.sext %xs {shift = 0} : (tensor<?x4xi8>) -> tensor<?x4xi32>
  %dt = ovl.slice %p {offset = 0, size = 2} : (tensor<?x12xi32>) -> tensor<?x2xi32>
  // per-head broadcast of dt over the head's channels
  %dtx = ovl.mul %x32, %dt {shift = 4} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  // CHECK: ovl.ssm %{{.*}} {decay_shift = 15 : i64, in_shift = 6 : i64, ngroups = 1 : i64, out_shift = 8 : i64}
  %ys, %ss1 = ovl.ssm %dtx, %dt, %B, %B, %ss {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<2x2x4xi32>)
        -> (tensor<?x4xi32>, tensor<2x2x4xi32>)
  // CHECK: ovl.ssd_chunk %{{.*}} {bw_shift = 2 : i64, bw_split = 15 : i64, c_shift = 15 : i64, chunk = 16 : i64, decay_shift = 15 : i64, gd_shift = 0 : i64, m_split = 15 : i64, md_shift = 9 : i64, mult_exp = array<i64: 0, 1>, ngroups = 1 : i64, s_shift = 2 : i64, state_split = 0 : i64, w_shift = 0 : i64, y_shift = -6 : i64}
  %yk, %sk = ovl.ssd_chunk %xs, %dt, %dt, %B, %B, %ss {ngroups = 1, chunk = 16, decay_shift = 15,
      mult_exp = array<i64: 0, 1>, gd_shift = 0, md_shift = 9, m_split = 15, y_shift = -6,
      state_split = 0, c_shift = 15, w_shift = 0, bw_shift = 2, bw_split = 15, s_shift = 2}
      : (tensor<?x4xi8>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<2x2x4xi32>)
        -> (tensor<?x4xi32>, tensor<2x2x4xi32>)
  // CHECK: ovl.concat %{{.*}}, %{{.*}} : (tensor<?x2xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %y0 = ovl.slice %ys {offset = 0, size = 2} : (tensor<?x4xi32>) -> tensor<?x2xi32>
  %y1 = ovl.slice %ys {offset = 2, size = 2} : (tensor<?x4xi32>) -> tensor<?x2xi32>
  %yc = ovl.concat %y1, %y0 : (tensor<?x2xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  // CHECK: ovl.fwht
  %hd = ovl.fwht %yc : (tensor<?x4xi32>) -> tensor<?x4xi32>
  // CHECK: ovl.add
  %o = ovl.add %h, %hd : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  return %o, %cs1, %ss1 : tensor<?x4xi32>, tensor<8x3xi8>, tensor<2x2x4xi32>
}
