import os
import lit.formats

config.name = "lathe"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.lathe_tools_dir), "tests", "lit")
# FileCheck and not from LLVM 22 (/usr/bin holds FileCheck-14), lathe-opt from this build.
config.environment["PATH"] = os.pathsep.join(
    [config.lathe_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
