// What ovl-fuse refuses: recorded groups (e.g. written by hand) the emitter cannot run fused,
// and annotations that do not describe groups. Each names the op and why.
// RUN: mamba2-opt --ovl-fuse %s -split-input-file -verify-diagnostics
// The emitter refuses the same when it reads the groups: the out_proj marked as a logits group.
// RUN: mamba2-opt --ovl-fuse %S/emit.mlir | sed -e 's/{bits = 4 : i64, group = 2 : i64, shift = 8 : i64}/{bits = 4 : i64, group = 2 : i64, ovl.fuse = {group = 3 : i64, kind = "logits"}, shift = 8 : i64}/' -e 's/ovl.fuse_groups = 3/ovl.fuse_groups = 4/' > %t.mlir
// RUN: not mamba2c %t.mlir --emit=asm 2>&1 | FileCheck %s
// CHECK: mamba2c: error: 'ovl.matmul' at {{.*}}: its recorded logits group 3 cannot run fused: 'ovl.add' at {{.*}} is not the tile's value times / plus a one-row constant ([1][N] or [1][1])

func.func @dtx_read_again(%x: tensor<?x4xi32>, %d: tensor<?x2xi32>, %b: tensor<?x4xi8>, %st: tensor<2x2x2xi32>)
    -> (tensor<?x4xi32>, tensor<?x4xi32>) attributes {ovl.fuse_groups = 1 : i64} {
  %dtx = ovl.mul %x, %x {ovl.fuse_of = array<i64: 0>, shift = 0} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %bs = ovl.slice %b {offset = 0, size = 2, ovl.fuse_of = array<i64: 0>} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  %cs = ovl.slice %b {offset = 2, size = 2, ovl.fuse_of = array<i64: 0>} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  // expected-error @+1 {{ovl-fuse: its recorded ssmstep group 0 cannot run fused: its dtx has 2 uses; y is written over dtx only when the scan is its only reader}}
  %y, %st1 = ovl.ssm %dtx, %d, %bs, %cs, %st {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8, ovl.fuse = {group = 0 : i64, kind = "ssmstep"}}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  return %y, %dtx : tensor<?x4xi32>, tensor<?x4xi32>
}

// -----

func.func @c_before_b(%x: tensor<?x4xi32>, %d: tensor<?x2xi32>, %b: tensor<?x4xi8>, %st: tensor<2x2x2xi32>)
    -> tensor<?x4xi32> attributes {ovl.fuse_groups = 1 : i64} {
  %dtx = ovl.mul %x, %x {shift = 0} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %bs = ovl.slice %b {offset = 2, size = 2} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  %cs = ovl.slice %b {offset = 0, size = 2} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  // expected-error @+1 {{ovl-fuse: its recorded ssmstep group 0 cannot run fused: C is -2 bytes from B in their value; ssmstep reads C 0..32767 bytes after B}}
  %y, %st1 = ovl.ssm %dtx, %d, %bs, %cs, %st {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8, ovl.fuse = {group = 0 : i64, kind = "ssmstep"}}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  return %y : tensor<?x4xi32>
}

// -----

func.func @swapped(%x: tensor<?x4xi32>, %d: tensor<?x2xi32>, %v: tensor<?x2xi32>, %w: tensor<?x2xi32>,
                   %st: tensor<2x2x2xi32>, %st2: tensor<2x2x2xi32>)
    -> (tensor<?x4xi32>, tensor<?x4xi32>, tensor<2x2x2xi32>, tensor<2x2x2xi32>) attributes {ovl.fuse_groups = 2 : i64} {
  %dtx = ovl.mul %x, %x {shift = 0, ovl.fuse_of = array<i64: 0>} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %b = ovl.shr %v {shift = 0, ovl.fuse_of = array<i64: 0, 1>} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %c = ovl.shr %w {shift = 0, ovl.fuse_of = array<i64: 0, 1>} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %y, %s1 = ovl.ssm %dtx, %d, %b, %c, %st {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8, ovl.fuse = {group = 0 : i64, kind = "ssmstep"}}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %dtx2 = ovl.mul %x, %x {shift = 1, ovl.fuse_of = array<i64: 1>} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  // expected-error @+1 {{ovl-fuse: its recorded ssmstep group 1 cannot run fused: its B ('ovl.shr' at}}
  %y2, %s2 = ovl.ssm %dtx2, %d, %c, %b, %st2 {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8, ovl.fuse = {group = 1 : i64, kind = "ssmstep"}}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  return %y, %y2, %s1, %s2 : tensor<?x4xi32>, tensor<?x4xi32>, tensor<2x2x2xi32>, tensor<2x2x2xi32>
}

// -----

func.func @unknown_kind(%a: tensor<?x4xi8>) -> tensor<?x8xi32> attributes {ovl.fuse_groups = 1 : i64} {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  // expected-error @+1 {{ovl-fuse: unknown fusion kind 'conv' (ssmstep, logits, mulsumsq, conv4pwl, pwlmulpwl, addsumsq)}}
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0, ovl.fuse = {group = 0 : i64, kind = "conv"}} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  return %l : tensor<?x8xi32>
}

// -----

func.func @wrong_anchor(%a: tensor<?x8xi32>) -> tensor<?x8xi32> attributes {ovl.fuse_groups = 1 : i64} {
  // expected-error @+1 {{ovl-fuse: its recorded ssmstep group 0 cannot run fused: an ssmstep group is anchored at an ovl.ssm}}
  %l = ovl.add %a, %a {ovl.fuse = {group = 0 : i64, kind = "ssmstep"}} : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  return %l : tensor<?x8xi32>
}

// -----

func.func @not_a_member(%a: tensor<?x4xi8>, %b: tensor<?x8xi32>) -> (tensor<?x8xi32>, tensor<?x8xi32>) attributes {ovl.fuse_groups = 1 : i64} {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0, ovl.fuse = {group = 0 : i64, kind = "logits"}} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: is marked a member of fusion group 0 (logits of 'ovl.matmul' at}}
  %o = ovl.shift %b {shift = 1, ovl.fuse_of = array<i64: 0>} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  return %l, %o : tensor<?x8xi32>, tensor<?x8xi32>
}

// -----

func.func @member_omitted(%a: tensor<?x4xi8>) -> tensor<?x8xi32> attributes {ovl.fuse_groups = 1 : i64} {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0, ovl.fuse = {group = 0 : i64, kind = "logits"}} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: is a member of fusion group 0 (logits of 'ovl.matmul' at}}
  %o = ovl.shift %l {shift = 1} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  return %o : tensor<?x8xi32>
}

// -----

func.func @no_count(%a: tensor<?x4xi8>) -> tensor<?x8xi32> {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  // expected-error @+1 {{ovl-fuse: carries an ovl.fuse annotation but the function has no ovl.fuse_groups (the count of its groups)}}
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0, ovl.fuse = {group = 0 : i64, kind = "logits"}} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  return %l : tensor<?x8xi32>
}

// -----

// expected-error @+1 {{ovl-fuse: ovl.fuse_groups says 2 groups, the ops anchor 1}}
func.func @wrong_count(%a: tensor<?x4xi8>) -> tensor<?x8xi32> attributes {ovl.fuse_groups = 2 : i64} {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0, ovl.fuse = {group = 0 : i64, kind = "logits"}} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  return %l : tensor<?x8xi32>
}

// -----

// mulsumsq: the recorded sumsq's operand is a mul that broadcasts per row (the norm's rsqrt
// scale), which the fused run cannot step.
func.func @mulsumsq_per_row(%y: tensor<?x8xi32>, %r: tensor<?x1xi32>) -> (tensor<?x8xi32>, tensor<?x1xi32>)
    attributes {ovl.fuse_groups = 1 : i64} {
  %g = ovl.mul %y, %r {shift = 3, ovl.fuse_of = array<i64: 0>} : (tensor<?x8xi32>, tensor<?x1xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: its recorded mulsumsq group 0 cannot run fused: 'ovl.mul' at}}
  %s = ovl.sumsq %g {groups = 1, shift = 4, ovl.fuse = {group = 0 : i64, kind = "mulsumsq"}} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %g, %s : tensor<?x8xi32>, tensor<?x1xi32>
}

// -----

// mulsumsq: an op between the mul and the sumsq (it could read the product, or write over the
// mul's operands, before the fused run at the sumsq).
func.func @mulsumsq_not_adjacent(%y: tensor<?x8xi32>, %z: tensor<?x8xi32>) -> (tensor<?x8xi32>, tensor<?x8xi32>, tensor<?x2xi32>)
    attributes {ovl.fuse_groups = 1 : i64} {
  %g = ovl.mul %y, %z {shift = 3, ovl.fuse_of = array<i64: 0>} : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %h = ovl.shift %g {shift = 1} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: its recorded mulsumsq group 0 cannot run fused: 'ovl.mul' at}}
  %s = ovl.sumsq %g {groups = 2, shift = 4, ovl.fuse = {group = 0 : i64, kind = "mulsumsq"}} : (tensor<?x8xi32>) -> tensor<?x2xi32>
  return %g, %h, %s : tensor<?x8xi32>, tensor<?x8xi32>, tensor<?x2xi32>
}

// -----

// mulsumsq: the recorded sumsq's operand is not a product.
func.func @mulsumsq_no_mul(%y: tensor<?x8xi32>) -> tensor<?x1xi32> attributes {ovl.fuse_groups = 1 : i64} {
  %g = ovl.shift %y {shift = 1} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: its recorded mulsumsq group 0 cannot run fused: its operand is not the result of an ovl.mul}}
  %s = ovl.sumsq %g {groups = 1, shift = 4, ovl.fuse = {group = 0 : i64, kind = "mulsumsq"}} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %s : tensor<?x1xi32>
}

// -----

// conv4pwl: the recorded table's conv output is read again (the fused run never writes it).
func.func @conv4pwl_y_read_again(%x: tensor<?x4xi8>, %st: tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<?x4xi32>, tensor<4x3xi8>)
    attributes {ovl.fuse_groups = 1 : i64} {
  %w = ovl.constant dense<1> : tensor<4x4xi8>
  %b = ovl.constant dense<2> : tensor<4xi32>
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %y, %s1 = ovl.conv4 %x, %w, %b, %st {ovl.fuse_of = array<i64: 0>} : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  // expected-error @+1 {{ovl-fuse: its recorded conv4pwl group 0 cannot run fused: 'ovl.conv4' at}}
  %g = ovl.pwl %y, %t {function = "silu", ovl.fuse = {group = 0 : i64, kind = "conv4pwl"}} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  return %g, %y, %s1 : tensor<?x4xi32>, tensor<?x4xi32>, tensor<4x3xi8>
}

// -----

// conv4pwl: the table's operand is not a conv output.
func.func @conv4pwl_no_conv(%v: tensor<?x4xi32>) -> tensor<?x4xi32> attributes {ovl.fuse_groups = 1 : i64} {
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  // expected-error @+1 {{ovl-fuse: its recorded conv4pwl group 0 cannot run fused: its operand is not an ovl.conv4's output (or its product by a [1][C] constant)}}
  %g = ovl.pwl %v, %t {function = "silu", ovl.fuse = {group = 0 : i64, kind = "conv4pwl"}} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  return %g : tensor<?x4xi32>
}

// -----

// pwlmulpwl: the product of the first table's value is by a computed value, not a constant.
func.func @pwlmulpwl_computed_mult(%v: tensor<?x2xi32>, %a: tensor<1x2xi32>) -> (tensor<?x2xi32>, tensor<?x2xi32>)
    attributes {ovl.fuse_groups = 1 : i64} {
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %d = ovl.pwl %v, %t {function = "softplus", ovl.fuse_of = array<i64: 0>} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %m = ovl.mul %d, %a {shift = 2, ovl.fuse_of = array<i64: 0>} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  // expected-error @+1 {{ovl-fuse: its recorded pwlmulpwl group 0 cannot run fused: 'ovl.mul' at}}
  %e = ovl.pwl %m, %t {function = "exp", ovl.fuse = {group = 0 : i64, kind = "pwlmulpwl"}} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  return %d, %e : tensor<?x2xi32>, tensor<?x2xi32>
}

// -----

// pwlmulpwl: an op between the first table and the multiply (it could read the first table's
// value before the fused run at the second table writes it).
func.func @pwlmulpwl_op_between(%v: tensor<?x2xi32>) -> (tensor<?x2xi32>, tensor<?x2xi32>)
    attributes {ovl.fuse_groups = 1 : i64} {
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %a = ovl.constant dense<[[-3, -5]]> : tensor<1x2xi32>
  %d = ovl.pwl %v, %t {function = "softplus", ovl.fuse_of = array<i64: 0>} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %k = ovl.shift %d {shift = 1} : (tensor<?x2xi32>) -> tensor<?x2xi32>
  %m = ovl.mul %d, %a {shift = 2, ovl.fuse_of = array<i64: 0>} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  // expected-error @+1 {{ovl-fuse: its recorded pwlmulpwl group 0 cannot run fused: 'ovl.pwl' at}}
  %e = ovl.pwl %m, %t {function = "exp", ovl.fuse = {group = 0 : i64, kind = "pwlmulpwl"}} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  return %k, %e : tensor<?x2xi32>, tensor<?x2xi32>
}

// -----

// pwlmulpwl: the table's operand is not a product of another table's value.
func.func @pwlmulpwl_no_pwl(%v: tensor<?x2xi32>) -> tensor<?x2xi32> attributes {ovl.fuse_groups = 1 : i64} {
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %a = ovl.constant dense<[[-3, -5]]> : tensor<1x2xi32>
  %m = ovl.mul %v, %a {shift = 2, ovl.fuse_of = array<i64: 0>} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  // expected-error @+1 {{ovl-fuse: its recorded pwlmulpwl group 0 cannot run fused: its operand is not the product of an ovl.pwl's result}}
  %e = ovl.pwl %m, %t {function = "exp", ovl.fuse = {group = 0 : i64, kind = "pwlmulpwl"}} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  return %e : tensor<?x2xi32>
}

// -----

// addsumsq: an op between the add and the sumsq (it could read the sum before the fused run
// writes it).
func.func @addsumsq_op_between(%h: tensor<?x8xi32>, %o: tensor<?x8xi32>) -> (tensor<?x8xi32>, tensor<?x1xi32>)
    attributes {ovl.fuse_groups = 1 : i64} {
  %h1 = ovl.add %h, %o {ovl.fuse_of = array<i64: 0>} : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %k = ovl.shift %h1 {shift = 1} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: its recorded addsumsq group 0 cannot run fused: 'ovl.add' at}}
  %s = ovl.sumsq %h1 {groups = 1, shift = 4, ovl.fuse = {group = 0 : i64, kind = "addsumsq"}} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %k, %s : tensor<?x8xi32>, tensor<?x1xi32>
}

// -----

// addsumsq: the sum of squares is of a product, not of an add's sum.
func.func @addsumsq_of_a_product(%y: tensor<?x8xi32>, %z: tensor<?x8xi32>) -> tensor<?x1xi32>
    attributes {ovl.fuse_groups = 1 : i64} {
  %g = ovl.mul %y, %z {shift = 4, ovl.fuse_of = array<i64: 0>} : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  // expected-error @+1 {{ovl-fuse: its recorded addsumsq group 0 cannot run fused: its operand is not the result of an ovl.add}}
  %s = ovl.sumsq %g {groups = 1, shift = 4, ovl.fuse = {group = 0 : i64, kind = "addsumsq"}} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %s : tensor<?x1xi32>
}
