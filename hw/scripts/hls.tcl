# Vitis HLS synthesis of the overlay top for one board. Needs AMD Vitis HLS (not on the CI
# machines). From the repository root:
#   vitis_hls -f hw/scripts/hls.tcl -tclargs <board> <build-dir-with-Encoding.gen.h>
# board: vc709 | vck190 | u280 | kv260 (ids and parts: hw/config/boards.def).
set board [lindex $argv 0]
set gen   [lindex $argv 1]
array set ids   {vc709 0 vck190 1 u280 2 kv260 3}
array set parts {vc709 xc7vx690t-ffg1761-2 vck190 xcvc1902-vsva2197-2MP-e-S u280 xcu280-fsvh2892-2L-e kv260 xck26-sfvc784-2LV-c}
array set mhz   {vc709 200 vck190 400 u280 250 kv260 250}
if {![info exists ids($board)]} { error "unknown board '$board' (vc709 vck190 u280 kv260)" }

set cflags "-std=c++17 -DMAMBA2_BOARD=$ids($board) -Ihw/include -Ihw/units -Iisa/include -I$gen/isa/include"
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
