"""The tutorial's two networks, layer for layer.

The forward argument is called ``input`` and the functional ops are the
tutorial's, so the FX node names (the user-facing layer names) come out
exactly as the tutorial prints them with torchvision's ``get_graph_node_names``.
"""

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .nodes import FEEDFORWARD_NODES, recurrent_nodes  # noqa: F401  (FEEDFORWARD_NODES re-exported)

RECURRENT_NODES = recurrent_nodes(5)


class Net(nn.Module):
    """The tutorial's feedforward MNIST classifier (two conv, two fc, softmax output)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, input):
        x = self.conv1(input)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.softmax(x, dim=1)
        return output


class RecurrentNet(nn.Module):
    """The tutorial's ``recurrent_Net``: conv1, then conv2 applied ``time_steps`` times with a skip from conv1."""

    def __init__(self, time_steps=5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 3)
        self.conv2 = nn.Conv2d(16, 16, 3, 1, padding=1)
        self.readout = nn.Sequential(OrderedDict([
            ("dropout", nn.Dropout(0.25)),
            ("avgpool", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
            ("linear", nn.Linear(16, 10)),
        ]))
        self.time_steps = time_steps

    def forward(self, input):
        input = self.conv1(input)
        x = input
        for t in range(0, self.time_steps):
            x = input + self.conv2(x)
            x = F.relu(x)
        x = self.readout(x)
        output = F.softmax(x, dim=1)
        return output


# Architecture name (as used in config) -> class.  The schema's enum is this table's keys.
ARCHITECTURES = {"feedforward": Net, "recurrent": RecurrentNet}

# The names under which the tutorial's notebooks pickled these classes.
PICKLED_NAMES = {"feedforward": "__main__.Net", "recurrent": "__main__.recurrent_Net"}


def strict_float32(device):
    """On CUDA, turn off TF32 in convolutions and matmuls so results match the CPU's float32 (to ~1e-6)."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False


def build(arch, **kwargs):
    """A fresh network of the named architecture."""
    try:
        cls = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; valid: {sorted(ARCHITECTURES)}") from None
    return cls(**kwargs)


def arch_of(model):
    """The config name of a network instance's architecture."""
    for name, cls in ARCHITECTURES.items():
        if type(model) is cls:
            return name
    raise TypeError(f"not a repgeom network: {type(model).__name__}")


def _traced(model):
    """torch.fx trace of a network, with each graph node under its user-facing name.

    The names are torchvision's ``get_graph_node_names`` convention: the
    argument name for the input, the module's qualified name for a module call
    (``_1``, ``_2`` ... for repeated calls), FX's own name for a function.
    torch.fx directly rather than torchvision's wrapper: importing
    torchvision.models costs ~1.5 s per process, paid by every feature job.
    """
    import torch.fx

    graph_module = torch.fx.symbolic_trace(model)
    named, calls = {}, {}
    for node in graph_module.graph.nodes:
        if node.op == "output":
            continue
        if node.op in ("placeholder", "call_module"):
            k = calls.get(node.target, 0)
            calls[node.target] = k + 1
            name = node.target if k == 0 else f"{node.target}_{k}"
        else:
            name = node.name
        named[name] = node
    return graph_module, named


def node_names(model):
    """FX node names of the network in execution order, as the tutorial lists them."""
    return list(_traced(model)[1])


def feature_extractor(model, nodes):
    """A module mapping an image batch to {node: activation} for the named nodes (FX graph surgery)."""
    graph_module, named = _traced(model)
    unknown = [n for n in nodes if n not in named]
    if unknown:
        raise ValueError(f"unknown nodes {unknown}; valid: {list(named)}")
    graph = graph_module.graph
    graph.erase_node(next(n for n in graph.nodes if n.op == "output"))
    graph.output({n: named[n] for n in nodes})
    graph.eliminate_dead_code()
    graph_module.recompile()
    return graph_module
