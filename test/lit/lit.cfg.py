# lit configuration for the Mamba2 compiler's tests. Run through ctest (each file is a ctest
# test) or directly: lit.py --param mamba2_site_config=BUILD/test/lit/lit.site.cfg.py test/lit
import os

import lit.formats

config.name = "mamba2"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]

site = lit_config.params.get("mamba2_site_config")
if not site:
    lit_config.fatal("pass --param mamba2_site_config=<build>/test/lit/lit.site.cfg.py")
exec(open(site).read())  # defines config.mamba2_* (paths from CMake)

# Text beside the project (../shared/data): tests of the default calibration text require it.
if os.path.isfile(config.default_calib_text):
    config.available_features.add("default-calib-text")
else:
    lit_config.note("no %s: tests that calibrate on the default text are unsupported"
                    % config.default_calib_text)

config.test_exec_root = os.path.join(os.path.dirname(site), "out")
config.environment["PATH"] = os.pathsep.join(
    [config.mamba2_bin_dir, config.filecheck_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%models", os.path.join(config.mamba2_src_root, "models")))
config.substitutions.append(("%torch_python", config.torch_python))
config.substitutions.append(("%node_tests", config.onnx_node_tests))
config.substitutions.append(("%ort", os.path.join(config.mamba2_src_root, "tools", "ort")))
