"""The environment the peers (numpy, PyTorch) run in: see bench/README.md, "The OpenBLAS caveat"."""

import os


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
