"""Load checkpoints without executing them, and write the workflow's normalised checkpoint.

Accepted inputs: a plain ``state_dict``; a whole module pickled the tutorial's
way (``torch.save(model)`` from a notebook, classes under ``__main__``); or our
own normalised format.  Everything goes through torch's restricted
(``weights_only``) unpickler; the only extra globals allowed are our network
classes (under their pickled ``__main__`` names) and the layers they contain.
"""

import os
import pickle
import re

import torch
import torch.nn as nn

from . import networks
from .errors import CheckpointRefused

FORMAT = "repgeom-checkpoint/1"

# What a whole-module pickle of the tutorial's networks needs beyond tensors.
_LAYER_GLOBALS = [nn.Conv2d, nn.Dropout, nn.Linear, nn.Sequential, nn.AdaptiveAvgPool2d, nn.Flatten, set]


def _safe_globals():
    allowed = [(networks.ARCHITECTURES[a], name) for a, name in networks.PICKLED_NAMES.items()]
    allowed += [(cls, f"{cls.__module__}.{cls.__qualname__}") for cls in networks.ARCHITECTURES.values()]
    return allowed + _LAYER_GLOBALS


_GLOBAL_RE = re.compile(r"(?:Unsupported global: GLOBAL|global|GLOBAL)\s+([\w.]+)")


def _refusal(path, err):
    text = str(err)
    m = _GLOBAL_RE.search(text)
    if m:
        name = m.group(1) if "." in m.group(1) else f"builtins.{m.group(1)}"
        what = f"the disallowed global {name}"
    else:
        what = "a construct the safe loader does not allow"
    return CheckpointRefused(
        f"{path}: refused to load: it references {what}. Only state_dicts and the tutorial's "
        f"Net/recurrent_Net modules are accepted; nothing in the file was executed."
    )


def safe_torch_load(path):
    """``torch.load`` with ``weights_only=True`` plus the tutorial's classes; a clear error otherwise."""
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _refusal(path, err) from None
    except (RuntimeError, EOFError, AttributeError, TypeError, ValueError) as err:
        if "GLOBAL" in str(err) or "weights_only" in str(err).lower():
            raise _refusal(path, err) from None
        raise CheckpointRefused(f"{path}: not a loadable torch checkpoint ({type(err).__name__}: {err})") from None


def _is_state_dict(obj):
    return isinstance(obj, dict) and obj and all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items())


def load_model(path, arch=None):
    """A network (eval mode) from any accepted checkpoint format.

    ``arch`` is the expected architecture; a file holding another one is an
    error, and a bare state_dict needs it.
    """
    obj = safe_torch_load(path)
    kwargs = {}
    if isinstance(obj, nn.Module):
        found = networks.arch_of(obj)
        if found == "recurrent":
            kwargs["time_steps"] = int(getattr(obj, "time_steps", 5))
        state = obj.state_dict()
    elif isinstance(obj, dict) and obj.get("format") == FORMAT:
        found, kwargs, state = obj["arch"], dict(obj.get("arch_kwargs", {})), obj["state_dict"]
    elif _is_state_dict(obj):
        if arch is None:
            raise CheckpointRefused(f"{path}: a bare state_dict needs the architecture to be named")
        found, state = arch, obj
    else:
        raise CheckpointRefused(f"{path}: holds a {type(obj).__name__}, not a network or a state_dict")
    if arch is not None and found != arch:
        raise CheckpointRefused(f"{path}: holds a {found!r} network, but the config says {arch!r}")
    model = networks.build(found, **kwargs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointRefused(f"{path}: weights do not fit the {found!r} network: {err}") from None
    return model.eval()


def save_model(model, path, meta=None):
    """Write our normalised checkpoint (arch + kwargs + state_dict + meta) atomically."""
    arch = networks.arch_of(model)
    kwargs = {"time_steps": int(model.time_steps)} if arch == "recurrent" else {}
    payload = {
        "format": FORMAT,
        "arch": arch,
        "arch_kwargs": kwargs,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    tmp = f"{path}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)
