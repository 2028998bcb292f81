// The board descriptions live below hw/, in target/ (one file per board); hw/ code names them
// hw::BoardConfig.
#pragma once
#include "mamba2/target/Board.h"

namespace mamba2::hw {

using BoardConfig = target::Board;
using target::boardNames;
using target::boards;
using target::findBoard;

} // namespace mamba2::hw
