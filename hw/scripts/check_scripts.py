#!/usr/bin/env python3
"""Checks that the synthesis scripts agree with the HLS top: the top function name, its ports,
the m_axi bundle names, and that the board table is the generated one (target/boards)."""
import os
import re
import sys
import tomllib

hw = sys.argv[1]
src = open(f"{hw}/top/overlay_top.cpp").read()
problems = []
# The top's name and parameters: target/include/mamba2/target/KernelArgs.h, which the top
# declares itself with and the XRT backend indexes by its enum.
kargs = open(f"{hw}/../target/include/mamba2/target/KernelArgs.h").read()
m = re.search(r"#define MAMBA2_OVERLAY_SIGNATURE\(BYTE, BEAT, U32\)\s*\\\s*(\w+)\((.*?)\)\s*\n\n", kargs, re.S)
if not m:
    sys.exit("check_scripts: no MAMBA2_OVERLAY_SIGNATURE in target/KernelArgs.h")
top = m.group(1)
params = [p.replace("\\", " ").strip() for p in m.group(2).split(",")]
if params[-1] != "MAMBA2_OVERLAY_PORT_PARAMS(BEAT)":
    sys.exit("check_scripts: the signature must end with the board's ports, MAMBA2_OVERLAY_PORT_PARAMS(BEAT)")
ports = [re.sub(r"\[.*", "", p.split()[-1]).lstrip("*") for p in params[:-1]]
if 'extern "C" void MAMBA2_OVERLAY_SIGNATURE(byte_t, BeatT, u32)' not in src:
    sys.exit("check_scripts: top/overlay_top.cpp does not declare itself with MAMBA2_OVERLAY_SIGNATURE")
if f'#define MAMBA2_KERNEL_NAME "{top}"' not in kargs:
    sys.exit(f"check_scripts: MAMBA2_KERNEL_NAME is not the signature's name '{top}'")
enum = re.findall(r"^\s*(kArg\w+),\s*//\s*(\w+)", kargs, re.M)
if [p for _, p in enum] != ports + ["port0"]:
    sys.exit(f"check_scripts: KernelArg order {[p for _, p in enum]} differs from the signature {ports} + port0..")
if "MAMBA2_OVERLAY_PORT_PRAGMAS" not in src:
    problems.append("top/overlay_top.cpp does not declare the board's DRAM ports (MAMBA2_OVERLAY_PORT_PRAGMAS)")
# The board files' DRAM ports (target/boards/*.toml [ports]): port0 .. port<count-1>, each its
# own bundle gmem_port<q> (generated pragmas, Boards.gen.h).
nports = {}
for f in sorted(os.listdir(f"{hw}/../target/boards")):
    with open(f"{hw}/../target/boards/{f}", "rb") as fh:
        b = tomllib.load(fh)
    nports[b["name"]] = b["ports"]["count"]
bundles = set(re.findall(r"bundle = (\w+)", src)) | {f"gmem_port{q}" for q in range(max(nports.values()))}
pragma_ports = set(re.findall(r"INTERFACE \w+ port = (\w+)", src))
for p in ports:
    if p not in pragma_ports:
        problems.append(f"top port '{p}' has no INTERFACE pragma")
# The decoupled structure (docs/overlay.md): fetch and the five unit processes in one DATAFLOW
# region, the scratchpad shared between them.
if "#pragma HLS DATAFLOW" not in src:
    problems.append("top/overlay_top.cpp has no DATAFLOW region")
for proc in ["fetch_proc("] + [f"unit_proc<{i}>(" for i in range(1, 6)]:
    if proc not in src:
        problems.append(f"top/overlay_top.cpp does not instantiate the process {proc.rstrip('(')}")
if "#pragma HLS ARRAY_PARTITION variable = spad cyclic factor = kSpadBanks" not in src:
    problems.append("top/overlay_top.cpp does not partition the scratchpad into Cfg::SPAD_BANKS banks")
if "#pragma HLS ARRAY_RESHAPE variable = spad cyclic factor = kSpadWord" not in src:
    problems.append("top/overlay_top.cpp does not make Cfg::SPAD_WORD-byte scratchpad bank words")
if "#pragma HLS SHARED variable = spad" not in src:
    problems.append("top/overlay_top.cpp does not share the scratchpad between its processes")
hls = open(f"{hw}/scripts/hls.tcl").read()
if f"set_top {top}" not in hls:
    problems.append(f"hls.tcl does not set_top {top}")
link = open(f"{hw}/scripts/link.cfg").read()
u280 = [f"port{q}" for q in range(nports["u280"])]
for p in re.findall(r"sp=\w+_1\.(\w+):", link):
    if p not in ports and p not in u280:
        problems.append(f"link.cfg connects '{p}', which is not a port of {top} on U280")
for p in ["bundles", "ucode"] + u280:
    if f".{p}:" not in link:
        problems.append(f"link.cfg does not connect m_axi port '{p}'")
channels = re.findall(r"sp=\w+_1\.port\d+:HBM\[(\d+)\]", link)
if len(set(channels)) != len(u280):
    problems.append("link.cfg must put every U280 DRAM port on its own HBM pseudo-channel")
if f"nk={top}:" not in link:
    problems.append(f"link.cfg does not instantiate {top}")
viv = open(f"{hw}/scripts/vivado_kv260.tcl").read()
for q in range(nports["kv260"]):
    if f"m_axi_gmem_port{q}" not in viv:
        problems.append(f"vivado_kv260.tcl does not connect the DRAM port bundle gmem_port{q}")
for b in re.findall(r"m_axi_(\w+)", viv):
    if b not in bundles:
        problems.append(f"vivado_kv260.tcl names m_axi bundle '{b}' that the top does not declare")
# VC709 (Vivado block design) and VCK190 (v++ link on a Versal platform) against their board
# files: every DRAM port on its own memory controller / NoC port of the board's memory, the
# part and the clock from the generated table or the board file. Connectivity on the boards
# themselves is not verifiable here (no tools, no boards).
boards = {}
for f in sorted(os.listdir(f"{hw}/../target/boards")):
    with open(f"{hw}/../target/boards/{f}", "rb") as fh:
        b = tomllib.load(fh)
    boards[b["name"]] = b
vc = open(f"{hw}/scripts/vivado_vc709.tcl").read()
b = boards["vc709"]
m = re.search(r"set sockets \{([^}]*)\}", vc)
sockets = m.group(1).split() if m else []
if len(sockets) != b["ports"]["count"] or len(sockets) != b["memory"]["channels"]:
    problems.append(f"vivado_vc709.tcl has {len(sockets)} MIG sockets; vc709.toml has "
                    f"{b['ports']['count']} ports on {b['memory']['channels']} channels")
for q in range(b["ports"]["count"]):
    if f"Master /mamba2_overlay_0/m_axi_gmem_port{q} Slave /mig{q}/S_AXI" not in vc:
        problems.append(f"vivado_vc709.tcl does not put DRAM port bundle gmem_port{q} on MIG {q}")
for bn in re.findall(r"m_axi_(\w+)", vc):
    if bn not in bundles:
        problems.append(f"vivado_vc709.tcl names m_axi bundle '{bn}' that the top does not declare")
if "-part $parts(vc709)" not in vc or "source $gen/target/boards.tcl" not in vc:
    problems.append("vivado_vc709.tcl does not take the part from the generated board table")
if b["memory"]["kind"] != "DDR3" or "mig_7series" not in vc:
    problems.append("vivado_vc709.tcl's memory controllers (mig_7series) are not the board's DDR3")
vk = open(f"{hw}/scripts/link_vck190.cfg").read()
b = boards["vck190"]
vports = [f"port{q}" for q in range(b["ports"]["count"])]
mem = {"DDR4": "DDR", "LPDDR4": "LPDDR"}.get(b["memory"]["kind"])
for p in re.findall(r"sp=\w+_1\.(\w+):", vk):
    if p not in ports and p not in vports:
        problems.append(f"link_vck190.cfg connects '{p}', which is not a port of {top} on VCK190")
for p in ["bundles", "ucode"] + vports:
    if f"sp=mamba2_overlay_1.{p}:{mem}\n" not in vk:
        problems.append(f"link_vck190.cfg does not connect m_axi port '{p}' to the board's {b['memory']['kind']} ({mem})")
if f"nk={top}:" not in vk:
    problems.append(f"link_vck190.cfg does not instantiate {top}")
if f"freqHz={int(b['compute']['clock_mhz'] * 1e6)}:mamba2_overlay_1" not in vk:
    problems.append(f"link_vck190.cfg does not clock the kernel at vck190.toml's {b['compute']['clock_mhz']} MHz")
# The board table is generated from target/boards/*.toml (target/gen/targetgen.py); the
# script must source it rather than list boards of its own.
if "source $gen/target/boards.tcl" not in hls:
    problems.append("hls.tcl does not source the generated board table $gen/target/boards.tcl")
for table in ("array set ids", "array set parts", "array set mhz"):
    if table in hls:
        problems.append(f"hls.tcl has its own board table ('{table}'); it comes from target/boards")
if "$ids($board)" not in hls or "$parts($board)" not in hls or "$mhz($board)" not in hls:
    problems.append("hls.tcl does not take the board id, part and clock from the generated table")
xrt = open(f"{hw}/../runtime/lib/XrtDevice.cpp").read()
if "MAMBA2_KERNEL_NAME" not in xrt or re.search(r"group_id\(\d", xrt) or re.search(r"set_arg\(\d", xrt):
    problems.append("runtime/lib/XrtDevice.cpp must open MAMBA2_KERNEL_NAME and index arguments by KernelArg")
# Per-unit synthesis tops and testbenches (hw/tb/<unit>_top.cpp + <unit>_tb.cpp): csim.tcl
# lists exactly those units, each top defines <unit>_top, and CMake builds every pair.
tops = sorted(f[:-len("_top.cpp")] for f in os.listdir(f"{hw}/tb") if f.endswith("_top.cpp"))
csim = open(f"{hw}/scripts/csim.tcl").read()
m = re.search(r"set units \{([^}]*)\}", csim)
if not m or sorted(m.group(1).split()) != tops:
    problems.append(f"csim.tcl's unit list differs from the tops in hw/tb ({tops})")
cmake = open(f"{hw}/CMakeLists.txt").read()
m = re.search(r"foreach\(_unit ([^)]*)\)", cmake)
if not m or sorted(m.group(1).split()) != tops:
    problems.append(f"hw/CMakeLists.txt does not build every unit top and testbench ({tops})")
# The synthesis configuration (check_synthesis_object.py): every unit top and the overlay top.
m = re.search(r"foreach\(_unit ([^)]*)\)\s*\n\s*mamba2_synthesis_object\(", cmake)
if not m or sorted(m.group(1).split()) != tops:
    problems.append(f"hw/CMakeLists.txt does not compile every unit top in its synthesis configuration ({tops})")
if not re.search(r"mamba2_synthesis_object\(overlay-top-b\$\{_board\} top/overlay_top.cpp " + top, cmake):
    problems.append(f"hw/CMakeLists.txt does not compile the overlay top {top} in its synthesis configuration")
for u in tops:
    if not os.path.exists(f"{hw}/tb/{u}_tb.cpp"):
        problems.append(f"hw/tb/{u}_top.cpp has no testbench hw/tb/{u}_tb.cpp")
    if f'extern "C" unsigned {u}_top(' not in open(f"{hw}/tb/{u}_top.cpp").read():
        problems.append(f"hw/tb/{u}_top.cpp does not define {u}_top")
for p in problems:
    print(f"check_scripts: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
