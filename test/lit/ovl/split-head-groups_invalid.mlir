// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{heads-per-group=2}))' --split-input-file --verify-diagnostics %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{heads-per-group=4}))' --split-input-file %s 2>&1 | FileCheck %s --check-prefix=DIV
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{heads-per-group=-1}))' --split-input-file %s 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{target=nosuch}))' --split-input-file %s 2>&1 | FileCheck %s --check-prefix=TARGET
// Tests what ovl-split-head-groups refuses, each with a message on the op.
// DIV: error: ovl-split-head-groups: 4 heads per group do not divide the 6 heads
// NEG: error: ovl-split-head-groups: heads-per-group must be positive (0: chosen by the cost model), not -1
// TARGET: error: ovl-split-head-groups: unknown target 'nosuch'

// Groups of 2 of 6 heads with 2 B/C groups of 3 heads: group 1 would need both B/C groups.
func.func @main(%dtx: tensor<?x12xi32>, %decay: tensor<?x6xi32>, %B: tensor<?x4xi8>, %C: tensor<?x4xi8>, %s: tensor<6x2x2xi32>) -> (tensor<?x12xi32>, tensor<6x2x2xi32>) {
  // expected-error @+1 {{ovl-split-head-groups: a group of 2 heads straddles the B/C groups of 3 heads}}
  %y, %ns = ovl.ssm %dtx, %decay, %B, %C, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 2 : i64, out_shift = 0 : i64} : (tensor<?x12xi32>, tensor<?x6xi32>, tensor<?x4xi8>, tensor<?x4xi8>, tensor<6x2x2xi32>) -> (tensor<?x12xi32>, tensor<6x2x2xi32>)
  return %y, %ns : tensor<?x12xi32>, tensor<6x2x2xi32>
}

// -----

// The scan's state is also returned as it was: it cannot be cut into pieces.
func.func @main(%dtx: tensor<?x8xi32>, %decay: tensor<?x4xi32>, %B: tensor<?x2xi8>, %C: tensor<?x2xi8>, %s: tensor<4x2x2xi32>) -> (tensor<?x8xi32>, tensor<4x2x2xi32>, tensor<4x2x2xi32>) {
  // expected-error @+1 {{ovl-split-head-groups: its state is not a function argument used by this op only}}
  %y, %ns = ovl.ssm %dtx, %decay, %B, %C, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x4xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<4x2x2xi32>) -> (tensor<?x8xi32>, tensor<4x2x2xi32>)
  return %y, %ns, %s : tensor<?x8xi32>, tensor<4x2x2xi32>, tensor<4x2x2xi32>
}

// -----

// B is read from channels 1..2 of the conv, which head 0's x (channels 0..1) overlaps.
func.func @main(%xq: tensor<?x10xi8>, %decay: tensor<?x4xi32>, %d: tensor<?x4xi32>, %cs: tensor<10x3xi8>, %s: tensor<4x2x2xi32>) -> (tensor<?x8xi32>, tensor<10x3xi8>, tensor<4x2x2xi32>) {
  %w = ovl.constant dense<1> : tensor<10x4xi8>
  %b = ovl.constant dense<0> : tensor<10xi32>
  // expected-error @+1 {{ovl-split-head-groups: channels 0..4 overlap the split piece 1..3}}
  %cy, %cn = ovl.conv4 %xq, %w, %b, %cs : (tensor<?x10xi8>, tensor<10x4xi8>, tensor<10xi32>, tensor<10x3xi8>) -> (tensor<?x10xi32>, tensor<10x3xi8>)
  %x = ovl.slice %cy {offset = 0 : i64, size = 8 : i64} : (tensor<?x10xi32>) -> tensor<?x8xi32>
  %bs = ovl.slice %cy {offset = 1 : i64, size = 2 : i64} : (tensor<?x10xi32>) -> tensor<?x2xi32>
  %cc = ovl.slice %cy {offset = 8 : i64, size = 2 : i64} : (tensor<?x10xi32>) -> tensor<?x2xi32>
  %B = ovl.shr %bs {shift = 4 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %C = ovl.shr %cc {shift = 4 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %dtx = ovl.mul %x, %d {shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x4xi32>) -> tensor<?x8xi32>
  %y, %ns = ovl.ssm %dtx, %decay, %B, %C, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x4xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<4x2x2xi32>) -> (tensor<?x8xi32>, tensor<4x2x2xi32>)
  return %y, %cn, %ns : tensor<?x8xi32>, tensor<10x3xi8>, tensor<4x2x2xi32>
}

// -----

// The conv's whole output is also returned: a reader the split cannot follow.
func.func @main(%xq: tensor<?x12xi8>, %decay: tensor<?x4xi32>, %d: tensor<?x4xi32>, %cs: tensor<12x3xi8>, %s: tensor<4x2x2xi32>) -> (tensor<?x8xi32>, tensor<12x3xi8>, tensor<4x2x2xi32>, tensor<?x12xi32>) {
  %w = ovl.constant dense<1> : tensor<12x4xi8>
  %b = ovl.constant dense<0> : tensor<12xi32>
  // expected-error @+1 {{ovl-split-head-groups: its output is read where the split cannot follow}}
  %cy, %cn = ovl.conv4 %xq, %w, %b, %cs : (tensor<?x12xi8>, tensor<12x4xi8>, tensor<12xi32>, tensor<12x3xi8>) -> (tensor<?x12xi32>, tensor<12x3xi8>)
  %x = ovl.slice %cy {offset = 4 : i64, size = 8 : i64} : (tensor<?x12xi32>) -> tensor<?x8xi32>
  %bs = ovl.slice %cy {offset = 0 : i64, size = 2 : i64} : (tensor<?x12xi32>) -> tensor<?x2xi32>
  %cc = ovl.slice %cy {offset = 2 : i64, size = 2 : i64} : (tensor<?x12xi32>) -> tensor<?x2xi32>
  %B = ovl.shr %bs {shift = 4 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %C = ovl.shr %cc {shift = 4 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %dtx = ovl.mul %x, %d {shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x4xi32>) -> tensor<?x8xi32>
  %y, %ns = ovl.ssm %dtx, %decay, %B, %C, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x4xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<4x2x2xi32>) -> (tensor<?x8xi32>, tensor<4x2x2xi32>)
  return %y, %cn, %ns, %cy : tensor<?x8xi32>, tensor<12x3xi8>, tensor<4x2x2xi32>, tensor<?x12xi32>
}
