"""Load checkpoints without executing them, and write the workflow's normalised checkpoint.

Accepted inputs: a plain ``state_dict`` (any kind); a whole module pickled
the tutorial's way (``torch.save(model)`` from a notebook, classes under
``__main__``; tutorial kinds only); or our own normalised format.
Everything goes through torch's restricted (``weights_only``) unpickler; the
only extra globals ever allowed are the tutorial's network classes (under
their pickled ``__main__`` names) and the layers they contain, and only for
the tutorial kinds.  Every other kind gets the bare unpickler: tensors and
containers, nothing else.
"""

import json
import os
import pickle
import re

import torch
import torch.nn as nn

from . import preprocess
from .download import md5sum
from .errors import CheckpointRefused
from .models import MODEL_KINDS, tutorial_build_of, tutorial_kind_of

FORMAT = "repgeom-checkpoint/2"
OLD_FORMAT = "repgeom-checkpoint/1"  # {arch, arch_kwargs, state_dict}: tutorial kinds only

# What a whole-module pickle of the tutorial's networks needs beyond tensors.
_LAYER_GLOBALS = [nn.Conv2d, nn.Dropout, nn.Linear, nn.Sequential, nn.AdaptiveAvgPool2d, nn.Flatten, set]


def _safe_globals():
    from . import networks

    allowed = [(cls, name) for cls, name in networks.PICKLED_NAMES.items()]
    allowed += [(cls, f"{cls.__module__}.{cls.__qualname__}") for cls in networks.PICKLED_NAMES]
    return allowed + _LAYER_GLOBALS


_GLOBAL_RE = re.compile(r"(?:Unsupported global: GLOBAL|global|GLOBAL)\s+([\w.]+)")


def _head(path, n=24):
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _refusal(path, err, tutorial):
    text = str(err)
    if "Unsupported operand" in text or "invalid load key" in text:  # not a pickle at all (an HTML page, ...)
        return CheckpointRefused(f"{path}: not a loadable torch checkpoint (it starts with {_head(path)!r})")
    m = _GLOBAL_RE.search(text)
    if m:
        name = m.group(1) if "." in m.group(1) else f"builtins.{m.group(1)}"
        what = f"the disallowed global {name}"
    else:
        what = "a construct the safe loader does not allow"
    accepted = "state_dicts and the tutorial's Net/recurrent_Net modules" if tutorial else "state_dicts"
    return CheckpointRefused(
        f"{path}: refused to load: it references {what}. Only {accepted} are accepted; "
        f"nothing in the file was executed."
    )


def safe_torch_load(path, tutorial_modules=True):
    """``torch.load`` with ``weights_only=True`` (plus the tutorial's classes if allowed); a clear error otherwise."""
    allowed = _safe_globals() if tutorial_modules else []
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _refusal(path, err, tutorial_modules) from None
    except (RuntimeError, EOFError, AttributeError, TypeError, ValueError, IndexError, KeyError) as err:
        if "GLOBAL" in str(err) or "weights_only" in str(err).lower():
            raise _refusal(path, err, tutorial_modules) from None
        raise CheckpointRefused(f"{path}: not a loadable torch checkpoint ({type(err).__name__}: {err})") from None


def _is_state_dict(obj):
    return isinstance(obj, dict) and obj and all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items())


def _unpack(obj, path, kind, build):
    """(kind, build spec, state_dict) of whatever the file held."""
    if isinstance(obj, nn.Module):
        found = tutorial_kind_of(obj)
        return found, tutorial_build_of(obj), obj.state_dict()
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return obj["kind"], dict(obj.get("build", {})), obj["state_dict"]
    if isinstance(obj, dict) and obj.get("format") == OLD_FORMAT:
        return obj["arch"], dict(obj.get("arch_kwargs", {})), obj["state_dict"]
    if isinstance(obj, dict) and _is_state_dict(obj.get("state_dict")):  # {"state_dict": ..., "epoch": ...}
        obj = obj["state_dict"]
    if _is_state_dict(obj):
        if kind is None:
            raise CheckpointRefused(f"{path}: a bare state_dict needs the model kind to be named")
        return kind, build, obj
    raise CheckpointRefused(f"{path}: holds a {type(obj).__name__}, not a network or a state_dict")


def load_model(path, kind=None, build=None):
    """A network (eval mode) from any accepted checkpoint format.

    ``kind`` is the expected model kind; a file holding another one is an
    error, and a bare state_dict needs it (and the ``build`` spec, for kinds
    whose architecture has parameters).
    """
    tutorial = kind is None or MODEL_KINDS[kind].tutorial
    obj = safe_torch_load(path, tutorial_modules=tutorial)
    found, found_build, state = _unpack(obj, path, kind, dict(build or {}))
    if kind is not None and found != kind:
        raise CheckpointRefused(f"{path}: holds a {found!r} network, but the config says {kind!r}")
    model = MODEL_KINDS[found].build(found_build)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointRefused(f"{path}: weights do not fit the {found!r} network: {err}") from None
    return model.eval()


def save_model(model, path, kind=None, build=None, meta=None):
    """Write our normalised checkpoint (kind + build spec + state_dict + meta) atomically."""
    if kind is None:
        kind, build = tutorial_kind_of(model), tutorial_build_of(model)
    payload = {
        "format": FORMAT,
        "kind": kind,
        "build": dict(build or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    tmp = f"{path}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_normalised(path):
    """(kind, build spec) of a normalised checkpoint, without building the network."""
    obj = safe_torch_load(path, tutorial_modules=False)
    if not (isinstance(obj, dict) and obj.get("format") == FORMAT):
        raise CheckpointRefused(f"{path}: not a repgeom normalised checkpoint")
    return obj["kind"], obj["build"]


def load_checkpoint(path, record_path):
    """(network in eval mode, its record): the normalised checkpoint a ``prepare_model`` job wrote.

    The record must describe this file: its md5 is checked, so a checkpoint replaced by hand (another valid
    network) is refused by name instead of flowing downstream under the old record's provenance."""
    with open(record_path) as f:
        record = json.load(f)
    want, got = record.get("md5"), md5sum(path)
    if want and got != want:
        raise CheckpointRefused(
            f"{path}: md5 {got} is not the {want} its record {record_path} describes (the file was replaced "
            f"after the model job ran); delete both to rebuild the model, or rerun it: snakemake --forcerun "
            f"prepare_model ...")
    return load_model(path, kind=record["kind"], build=record["build"]), record


def load_network(path, record_path):
    """(network with its preprocessing in front: pixels in, outputs out; the bare network; its record)."""
    net, record = load_checkpoint(path, record_path)
    return preprocess.network(net, record["preprocess"]), net, record
