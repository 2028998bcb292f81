# Vitis HLS synthesis of the overlay top for one board. Needs AMD Vitis HLS (not on the CI
# machines). From the repository root, after a build (which generates the board table):
#   vitis_hls -f hw/scripts/hls.tcl -tclargs <board> <build-dir>
# The boards (ids, parts, clocks) come from target/boards/*.toml through the generated
# <build-dir>/target/boards.tcl: adding a board does not touch this script.
set board [lindex $argv 0]
set gen   [lindex $argv 1]
source $gen/target/boards.tcl
if {![info exists ids($board)]} { error "unknown board '$board' ($board_names)" }

set cflags "-std=c++17 -DMAMBA2_BOARD=$ids($board) -Ihw/include -Ihw/units -Iisa/include -Itarget/include -I$gen/isa/include -I$gen/target/include"
open_project -reset build-hls-$board
set_top mamba2_overlay
add_files hw/top/overlay_top.cpp -cflags $cflags
add_files -tb test/unit/hw/OverlayTopTest.cpp -cflags "$cflags -Iisa/include"
open_solution -reset solution -flow_target vitis
set_part $parts($board)
create_clock -period [expr {1000.0 / $mhz($board)}] -name default
config_interface -m_axi_alignment_byte_size 64 -m_axi_max_widen_bitwidth 512
csynth_design
export_design -format xo -output build-hls-$board/mamba2_overlay.xo
exit
