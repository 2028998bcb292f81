# Vitis HLS C simulation (and, with `synth`, synthesis) of one unit alone: its synthesis top
# hw/tb/<unit>_top.cpp with its testbench hw/tb/<unit>_tb.cpp (the pairs CI builds and runs as
# hw/csim-<unit>-board<id>). Needs AMD Vitis HLS. From the repository root, after a build:
#   vitis_hls -f hw/scripts/csim.tcl -tclargs <unit> <board> <build-dir> [synth]
# Units: the pairs in hw/tb (hw/scripts-match-top checks that this list is theirs).
set units {dma matrix vector ssm}
set unit  [lindex $argv 0]
set board [lindex $argv 1]
set gen   [lindex $argv 2]
set synth [expr {[lindex $argv 3] eq "synth"}]
if {[lsearch -exact $units $unit] < 0} { error "unknown unit '$unit' ($units)" }
source $gen/target/boards.tcl
if {![info exists ids($board)]} { error "unknown board '$board' ($board_names)" }

set cflags "-std=c++17 -DMAMBA2_BOARD=$ids($board) -Ihw/include -Ihw/units -Ihw/tb -Iisa/include -Itarget/include -I$gen/isa/include -I$gen/target/include"
open_project -reset build-hls-$unit-$board
set_top ${unit}_top
add_files hw/tb/${unit}_top.cpp -cflags $cflags
# The testbench checks against the isa/ reference (and the cycle model's loop counts).
add_files -tb hw/tb/${unit}_tb.cpp -cflags $cflags
foreach f [concat [glob isa/lib/*.cpp] [glob hw/lib/*.cpp] [glob target/lib/*.cpp]] {
  add_files -tb $f -cflags $cflags
}
open_solution -reset solution -flow_target vitis
set_part $parts($board)
create_clock -period [expr {1000.0 / $mhz($board)}] -name default
csim_design
if {$synth} { csynth_design }
exit
