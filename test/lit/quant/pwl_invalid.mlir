// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-pwl{segments=0}))' %S/Inputs/tiny.m2 2>&1 | FileCheck %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-pwl{segments=300}))' %S/Inputs/tiny.m2 2>&1 | FileCheck %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(func.func(m2-pwl{lo=2.0 hi=1.0}))' %S/Inputs/tiny.m2 2>&1 | FileCheck %s

// Tests that a table of 0 or more than 256 segments, or an empty range, is refused.
// CHECK: error: m2-pwl: bad piecewise-linear spec (segments 1..256, hi > lo)
