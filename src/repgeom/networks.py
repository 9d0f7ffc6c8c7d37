"""The tutorial's two networks, layer for layer.

The forward argument is called ``input`` and the functional ops are the
tutorial's, so torchvision's FX node names (the user-facing layer names) come
out exactly as the tutorial prints them.
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


def node_names(model):
    """FX node names of the network in execution order, as the tutorial lists them."""
    from torchvision.models.feature_extraction import get_graph_node_names

    train_nodes, _ = get_graph_node_names(model)
    return train_nodes
