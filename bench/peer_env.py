"""Where the peers (numpy, PyTorch) run: their environment (see bench/README.md, "The OpenBLAS caveat") and the
torch device they compute on (the CPU, or lathe's CUDA GPU when lathe runs on cuda)."""

import os
import re
import sys


def peer_environment(threads, coretype):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    # PyTorch's OpenMP threads otherwise spin after each op and fight OpenBLAS's own
    # pthreads for the cores: measured 3x slower GPT-2 forward at B=4, T=64 on 2 cores.
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def requested_peer_device(target, device):
    """The device a PyTorch peer is asked for: lathe's own CUDA device when lathe runs on cuda, else the CPU
    (on vulkan too: lavapipe is a CPU, and torch has no Vulkan backend worth comparing with)."""
    return (device or "cuda") if target == "cuda" else "cpu"


def peer_label(target, peer_device):
    """The peer's column name: plain "torch" where the CPU peer is the plan; on cuda it says where torch ran."""
    return "torch" if target != "cuda" else f"torch {peer_device}"


def torch_device(requested, threads, peer_name):
    """The torch.device a peer computes on for `requested` (cpu, cuda or cuda:N) and the settings line it reports.
    CUDA gets fp32 matmuls with TF32 off (lathe's default is fp32); without CUDA in this torch the peer says so on
    stderr and runs on the CPU. Exits with a message naming the problem for a malformed or absent device."""
    import torch
    if not re.fullmatch(r"cpu|cuda(:\d+)?", requested):
        sys.exit(f"{peer_name}: --device '{requested}' is not cpu, cuda or cuda:N")
    torch.set_num_threads(threads)
    if requested.startswith("cuda"):
        if torch.cuda.is_available():
            device = torch.device(requested if ":" in requested else "cuda:0")
            if device.index >= torch.cuda.device_count():
                sys.exit(f"{peer_name}: {requested} out of range (torch sees {torch.cuda.device_count()} CUDA devices)")
            torch.cuda.set_device(device)
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            return device, (f"PyTorch {torch.__version__} on {device} ({torch.cuda.get_device_name(device)}), "
                            f"fp32 with TF32 off")
        reason = f"{requested} requested, but this PyTorch has no CUDA (torch.cuda.is_available() is False)"
        print(f"{peer_name}: {reason}: the peer runs on the CPU", file=sys.stderr)
        return torch.device("cpu"), f"PyTorch {torch.__version__} on the cpu ({reason}), " \
                                    f"{torch.get_num_threads()} threads, fp32"
    return torch.device("cpu"), f"PyTorch {torch.__version__} on the cpu, {torch.get_num_threads()} threads, fp32"


def warn_if_peer_on_cpu(requested, peer_device, setup):
    """bench.py's own stderr line when a peer asked for CUDA ran on the CPU (its stderr is not shown on success)."""
    if requested.startswith("cuda") and not peer_device.startswith("cuda"):
        print(f"bench.py: the PyTorch peer runs on the CPU, not on lathe's GPU: {setup}", file=sys.stderr)


def synchronize(device):
    """Waits for the device's queued work, so a host clock read after it times that work (no-op on the CPU)."""
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize(device)
