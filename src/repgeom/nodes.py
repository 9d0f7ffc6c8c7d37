"""Node (layer) names: the tutorial's networks' lists without torch, and node requests resolved against manifests.

A *manifest* is what the job that materialises a model records about it
(``{"nodes": [...], "layers": [...], "shapes": {...}, "tracer": ...}``, see
:func:`repgeom.networks.manifest`).  For the tutorial's networks it is known
without torch (:func:`static_manifest`), so the workflow plans their jobs
without importing torch; the tests hold these lists equal to the FX trace.

A node *request* is ``"all"``, ``"layers"`` (the kind's filter: the
tutorial's input/conv/fc names, or ``input`` plus every convolution and
linear layer of any other network) or a list of names.  A listed name may
also be a module prefix (``layer4``), meaning the last node inside that
module: torchvision's ``create_feature_extractor`` convention.
"""

from __future__ import annotations

from typing import Iterable, Union

FEEDFORWARD_NODES = [
    "input", "conv1", "relu", "conv2", "relu_1", "max_pool2d", "dropout1",
    "flatten", "fc1", "relu_2", "dropout2", "fc2", "softmax",
]
READOUT_NODES = ["readout.dropout", "readout.avgpool", "readout.flatten", "readout.linear", "softmax"]
NODE_FILTERS = ("all", "layers")

NodeRequest = Union[str, list]


def recurrent_nodes(time_steps: int) -> list:
    """FX node names of recurrent_Net with ``time_steps`` applications of conv2."""
    names = ["input", "conv1"]
    for t in range(time_steps):
        suffix = "" if t == 0 else f"_{t}"
        names += [f"conv2{suffix}", f"add{suffix}", f"relu{suffix}"]
    return names + READOUT_NODES


def tutorial_layers(names: Iterable[str]) -> list:
    """The tutorial's ``layers`` filter: node names containing input, conv or fc."""
    return [n for n in names if "input" in n or "conv" in n or "fc" in n]


def static_manifest(names: list) -> dict:
    """A torch-free manifest of a tutorial network (no shapes)."""
    return {"tracer": "fx", "nodes": list(names), "layers": tutorial_layers(names), "shapes": {}}


def _expand(name: str, valid: list):
    if name in valid:
        return name
    inside = [n for n in valid if n.startswith(name + ".")]
    return inside[-1] if inside else None


def resolve(manifest: dict, request: NodeRequest, model: str = "") -> list:
    """Requested nodes in network order; an unknown name is an error listing the valid ones."""
    valid = list(manifest["nodes"])
    if request == "all":
        return valid
    if request == "layers":
        return list(manifest["layers"])
    if isinstance(request, str):
        request = [request]
    wanted, unknown = set(), []
    for name in request:
        found = _expand(name, valid)
        if found is None:
            unknown.append(name)
        else:
            wanted.add(found)
    if unknown:
        whose = f" of model {model!r}" if model else ""
        raise ValueError(f"unknown node(s) {unknown}{whose}; valid: {valid}")
    return [n for n in valid if n in wanted]


def union(manifest: dict, requests: Iterable[NodeRequest], model: str = "") -> list:
    """The union of several requests, in network order."""
    wanted = set()
    for request in requests:
        wanted.update(resolve(manifest, request, model))
    return [n for n in manifest["nodes"] if n in wanted]
