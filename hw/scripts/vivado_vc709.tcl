# Vivado block design for the VC709 (Virtex-7, PCIe card): the exported HLS IP with one DDR3
# MIG per DRAM port and the host on PCIe. Needs AMD Vivado with the VC709 board files; not run
# here (no Vivado, no board), only checked against target/boards/vc709.toml by
# hw/scripts/check_scripts.py. From the repository root, after hw/scripts/hls.tcl with vc709
# (export as IP: change export_design -format to ip_catalog):
#   vivado -mode batch -source hw/scripts/vivado_vc709.tcl -tclargs <build-dir>
set gen [lindex $argv 0]
source $gen/target/boards.tcl
# The board's two DDR3 SODIMM sockets, one 512-bit MIG user port each (vc709.toml: ports.count
# = memory.channels = 2, 512 bits at 200 MHz, the MIG's 4:1 user clock).
set sockets {ddr3_sdram_socket_j1 ddr3_sdram_socket_j2}
if {$axi_ports(vc709) != [llength $sockets]} {
  error "vc709 has $axi_ports(vc709) DRAM ports in target/boards, this design [llength $sockets] MIGs"
}
create_project -force mamba2_vc709 build-vivado-vc709 -part $parts(vc709)
set_property board_part xilinx.com:vc709:part0:1.8 [current_project]
set_property ip_repo_paths build-hls-vc709/solution/impl/ip [current_project]
update_ip_catalog
create_bd_design overlay
create_bd_cell -type ip -vlnv xilinx.com:hls:mamba2_overlay:1.0 mamba2_overlay_0
# DRAM port q (m_axi bundle gmem_port<q>, the stripes s with s % 2 == q: target/Stripes.h) on
# MIG q; the program (gmem_insn) on MIG 0.
for {set q 0} {$q < $axi_ports(vc709)} {incr q} {
  create_bd_cell -type ip -vlnv xilinx.com:ip:mig_7series:4.2 mig$q
  apply_board_connection -board_interface [lindex $sockets $q] -ip_intf mig$q/mig_ddr_interface -diagram overlay
}
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /mamba2_overlay_0/m_axi_gmem_port0 Slave /mig0/S_AXI} [get_bd_intf_pins mig0/S_AXI]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /mamba2_overlay_0/m_axi_gmem_port1 Slave /mig1/S_AXI} [get_bd_intf_pins mig1/S_AXI]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /mamba2_overlay_0/m_axi_gmem_insn Slave /mig0/S_AXI} [get_bd_intf_pins mig0/S_AXI]
# The host: PCIe Gen3 x8 (XDMA) reaches the control registers and both memories (it writes the
# program and the regions' stripes, reads the results).
create_bd_cell -type ip -vlnv xilinx.com:ip:xdma:4.1 xdma
apply_board_connection -board_interface pcie_7x_mgt -ip_intf xdma/pcie_mgt -diagram overlay
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /xdma/M_AXI Slave /mamba2_overlay_0/s_axi_control} [get_bd_intf_pins mamba2_overlay_0/s_axi_control]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /xdma/M_AXI Slave /mig0/S_AXI} [get_bd_intf_pins mig0/S_AXI]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /xdma/M_AXI Slave /mig1/S_AXI} [get_bd_intf_pins mig1/S_AXI]
validate_bd_design
make_wrapper -files [get_files overlay.bd] -top -import
launch_runs impl_1 -to_step write_bitstream -jobs 8
wait_on_run impl_1
