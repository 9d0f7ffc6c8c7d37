"""Where torch computes: the config's ``device`` resolved, thread counts fixed, float32 kept strict on CUDA.

torch is imported inside these functions (~2.5 s a process): the numpy steps that only ask "is this the CPU?"
(:func:`light_device`) never pay it.
"""

import os


def strict_float32(device):
    """On CUDA, turn off TF32 in convolutions and matmuls so results match the CPU's float32 (to ~1e-6)."""
    import torch

    if torch.device(device).type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False


def set_threads(n):
    """torch's intra-op threads, fixed by the plan (results must not depend on the cores Snakemake allots)."""
    import torch

    if n:
        torch.set_num_threads(int(n))


def torch_device(name):
    """torch device for config's ``device`` (auto/cpu/cuda)."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("config says device: cuda, but torch sees no CUDA device")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def light_device(name):
    """Like :func:`torch_device`, but without importing torch unless a GPU could be there (numpy steps)."""
    if name == "cpu" or (name == "auto" and not os.path.exists("/proc/driver/nvidia/version")):
        return "cpu"
    return str(torch_device(name))
