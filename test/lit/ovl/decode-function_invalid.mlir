// RUN: mamba2-opt --pass-pipeline='builtin.module(ovl-decode-function)' --split-input-file --verify-diagnostics %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{entry=prefill}))' --split-input-file %S/split-head-groups_invalid.mlir 2>&1 | FileCheck %s --check-prefix=ENTRY
// Tests what ovl-decode-function refuses (a module without @main, a decode function already
// there) and ovl-split-head-groups' entry option other than decode, each with a message.
// ENTRY: error: ovl-split-head-groups: entry must be empty (every function) or decode, not 'prefill'

// expected-error @+1 {{ovl-decode-function: the module has no @main to clone}}
module {
  func.func @model(%ids: tensor<?xi32>) -> tensor<?xi32> {
    return %ids : tensor<?xi32>
  }
}

// -----

module {
  func.func @main(%ids: tensor<?xi32>) -> tensor<?xi32> {
    return %ids : tensor<?xi32>
  }
  // expected-error @+1 {{ovl-decode-function: the module has a decode function already (@decode)}}
  func.func @decode(%ids: tensor<?xi32>) -> tensor<?xi32> attributes {ovl.entry = "decode"} {
    return %ids : tensor<?xi32>
  }
}
