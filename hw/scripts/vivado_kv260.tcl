# Vivado block design for the KV260 (Zynq UltraScale+): the exported HLS IP on the PS's HP
# ports. Needs AMD Vivado. From the repository root, after hw/scripts/hls.tcl with kv260
# (export as IP: change export_design -format to ip_catalog):
#   vivado -mode batch -source hw/scripts/vivado_kv260.tcl
create_project -force mamba2_kv260 build-vivado-kv260 -part xck26-sfvc784-2LV-c
set_property ip_repo_paths build-hls-kv260/solution/impl/ip [current_project]
update_ip_catalog
create_bd_design overlay
create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:3.4 ps
set_property -dict [list CONFIG.PSU__USE__S_AXI_GP2 {1} CONFIG.PSU__USE__S_AXI_GP3 {1}] [get_bd_cells ps]
create_bd_cell -type ip -vlnv xilinx.com:hls:mamba2_overlay:1.0 mamba2_overlay_0
# m_axi bundles: the two DRAM ports (gmem_port0, gmem_port1: target/boards/kv260.toml [ports],
# the regions striped over them) on HP0 and HP1, the program (gmem_insn) on HP2
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /mamba2_overlay_0/m_axi_gmem_port0 Slave /ps/S_AXI_HP0_FPD} [get_bd_intf_pins ps/S_AXI_HP0_FPD]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /mamba2_overlay_0/m_axi_gmem_port1 Slave /ps/S_AXI_HP1_FPD} [get_bd_intf_pins ps/S_AXI_HP1_FPD]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /mamba2_overlay_0/m_axi_gmem_insn Slave /ps/S_AXI_HP2_FPD} [get_bd_intf_pins ps/S_AXI_HP2_FPD]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Master /ps/M_AXI_HPM0_FPD Slave /mamba2_overlay_0/s_axi_control} [get_bd_intf_pins mamba2_overlay_0/s_axi_control]
validate_bd_design
make_wrapper -files [get_files overlay.bd] -top -import
launch_runs impl_1 -to_step write_bitstream -jobs 8
wait_on_run impl_1
