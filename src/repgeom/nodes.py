"""Node (layer) names of the tutorial's networks, without importing torch.

The workflow plans its jobs from these lists (planning must stay fast); the
tests check them against torchvision's FX tracing of the real networks.
"""

FEEDFORWARD_NODES = [
    "input", "conv1", "relu", "conv2", "relu_1", "max_pool2d", "dropout1",
    "flatten", "fc1", "relu_2", "dropout2", "fc2", "softmax",
]
READOUT_NODES = ["readout.dropout", "readout.avgpool", "readout.flatten", "readout.linear", "softmax"]
NODE_FILTERS = ("all", "layers")


def recurrent_nodes(time_steps=5):
    """FX node names of recurrent_Net with ``time_steps`` applications of conv2."""
    names = ["input", "conv1"]
    for t in range(time_steps):
        suffix = "" if t == 0 else f"_{t}"
        names += [f"conv2{suffix}", f"add{suffix}", f"relu{suffix}"]
    return names + READOUT_NODES


def node_names(arch, time_steps=5):
    if arch == "feedforward":
        return list(FEEDFORWARD_NODES)
    if arch == "recurrent":
        return recurrent_nodes(time_steps)
    raise ValueError(f"unknown architecture {arch!r}; valid: ['feedforward', 'recurrent']")


def resolve(arch, request, time_steps=5):
    """Requested nodes in network order: 'all', 'layers' (the tutorial's filter: input/conv/fc) or a list."""
    valid = node_names(arch, time_steps)
    if request == "all":
        return valid
    if request == "layers":
        return [n for n in valid if "input" in n or "conv" in n or "fc" in n]
    if isinstance(request, str):
        request = [request]
    unknown = [n for n in request if n not in valid]
    if unknown:
        raise ValueError(f"unknown node(s) {unknown} for a {arch} network; valid: {valid}")
    wanted = set(request)
    return [n for n in valid if n in wanted]
