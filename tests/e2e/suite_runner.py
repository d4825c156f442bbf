"""The command line and loop shared by the end-to-end suites: one line per case, then `N passed, N failed`."""

import argparse
import os
import shutil
import sys
import traceback

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


class CaseFailure(Exception):
    pass


def compile_targets(device: str) -> str:
    """The --target list for a device: every artifact also carries the cpu dispatch list."""
    kind = device.split(":")[0]
    return "cpu" if kind == "cpu" else f"cpu,{kind}"


class ConfigSuite:
    """A suite over the model files in configs/: scratch directories, and a per-config `_prepare` done once."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.prepared = {}  # config name -> what _prepare returned, or the CaseFailure it raised

    def config_names(self):
        return sorted(f[:-len(".yaml")] for f in os.listdir(CONFIG_DIR) if f.endswith(".yaml"))

    def dir_for(self, *parts: str) -> str:
        path = os.path.join(self.workdir, *parts)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path

    def prepare(self, config: str):
        if config not in self.prepared:
            try:
                self.prepared[config] = self._prepare(config)
            except CaseFailure as failure:
                self.prepared[config] = failure
        result = self.prepared[config]
        if isinstance(result, CaseFailure):
            raise CaseFailure(f"preparing {config}: {result}")
        return result


def run_suite(make_suite, description: str, binaries=(("--lathe", "the lathe binary"),)) -> int:
    """Parses the binaries' paths, --workdir and -k; make_suite(args) returns an object with cases() yielding
    (name, callable) pairs. A case passes when its callable returns (a detail string) and fails on CaseFailure."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, help_text in binaries:
        parser.add_argument(flag, required=True, help=help_text)
    parser.add_argument("--workdir", required=True, help="scratch directory (recreated per model)")
    parser.add_argument("-k", action="append", default=[], metavar="NAME", help="run cases whose name contains NAME")
    parser.add_argument("--device", default="cpu",
                        help="device the compiled models run on (cpu, vulkan, vulkan:N, cuda, cuda:N); artifacts are compiled "
                             "for the cpu and that device's target")
    args = parser.parse_args()
    for flag, _ in binaries:
        path = getattr(args, flag.lstrip("-").replace("-", "_"))
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"error: {flag} {path} is not an executable file", file=sys.stderr)
            return 2
        setattr(args, flag.lstrip("-").replace("-", "_"), os.path.abspath(path))
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    suite = make_suite(args)
    passed = failed = 0
    for name, run in suite.cases():
        if args.k and not any(k in name for k in args.k):
            continue
        try:
            detail = run()
            passed += 1
            print(f"PASS {name}  {detail}", flush=True)
        except CaseFailure as failure:
            failed += 1
            print(f"FAIL {name}  {failure}", flush=True)
        except Exception:  # a bug in the script or the reference: report it, keep going
            failed += 1
            print(f"FAIL {name}  unexpected error:\n{traceback.format_exc()}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1
