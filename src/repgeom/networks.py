"""The tutorial's two networks, layer for layer.

The forward argument is called ``input`` and the functional ops are the
tutorial's, so the FX node names (the user-facing layer names) come out
exactly as the tutorial prints them with torchvision's ``get_graph_node_names``.
"""

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


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


# The names under which the tutorial's notebooks pickled these classes.
PICKLED_NAMES = {Net: "__main__.Net", RecurrentNet: "__main__.recurrent_Net"}

# Modules whose outputs are a generic network's "layers" (the tutorial's input/conv/fc filter, by type).
WEIGHTED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _traced(model):
    """torch.fx trace of a network, with each graph node under its user-facing name.

    The names are torchvision's ``get_graph_node_names`` convention: the
    module's qualified name for a module call (``_1``, ``_2`` ... for repeated
    calls), FX's own name for a function; the network's (single) input is
    always ``input`` (the tutorial's forward argument).  torch.fx directly
    rather than torchvision's wrapper: importing torchvision.models costs
    ~1.5 s per process, paid by every feature job of the tutorial's networks.
    """
    import torch.fx

    graph_module = torch.fx.symbolic_trace(model)
    named, calls = {}, {}
    for node in graph_module.graph.nodes:
        if node.op == "output":
            continue
        if node.op == "placeholder":
            if "input" in named:
                raise ValueError("the network takes more than one input; repgeom feeds it one image batch")
            name = "input"
        elif node.op == "call_module":
            k = calls.get(node.target, 0)
            calls[node.target] = k + 1
            name = node.target if k == 0 else f"{node.target}_{k}"
        else:
            name = node.name
        while name in named:
            name += "_"
        named[name] = node
    return graph_module, named


def node_names(model):
    """FX node names of the network in execution order, as the tutorial lists them."""
    return list(_traced(model)[1])


_RELU_FUNCTIONS = (torch.relu, torch.relu_, F.relu, F.relu_)


def _is_relu(graph_module, node) -> bool:
    if node.op == "call_function":
        return node.target in _RELU_FUNCTIONS
    if node.op == "call_method":
        return node.target in ("relu", "relu_")
    if node.op == "call_module":
        return type(graph_module.get_submodule(node.target)) is nn.ReLU
    return False


# How the traced graph computes each op of :data:`repgeom.store.NODE_OPS` (by that name): a recogniser of an
# FX node.  A node the graph computes so from another asked-for node is derived by construction.
GRAPH_OPS = {"relu": _is_relu}


def graph_derived(model, nodes, tracer="fx") -> dict:
    """{node: (input node, op)} for each of ``nodes`` that the traced graph computes as an op of
    :data:`GRAPH_OPS` (a ReLU) of another of ``nodes`` (its only tensor argument): so its values are that
    op of that node by construction, every batch.

    Only for FX-traced networks (hooks see module outputs, not what feeds them): ``{}`` for ``"hooks"``.
    """
    if tracer != "fx":
        return {}
    graph_module, named = _traced(model)
    name_of = {fx_node: name for name, fx_node in named.items()}
    wanted = set(nodes)
    out = {}
    for name in nodes:
        fx_node = named.get(name)
        if fx_node is None:
            continue
        op = next((op for op, recognise in GRAPH_OPS.items() if recognise(graph_module, fx_node)), None)
        args = [a for a in fx_node.args if isinstance(a, torch.fx.Node)]
        if op and len(args) == 1 and name_of.get(args[0]) in wanted:
            out[name] = (name_of[args[0]], op)
    return out


def _fx_extractor(model, nodes):
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


class _HookExtractor(nn.Module):
    """{node: activation} by forward hooks on leaf modules: for networks torch.fx cannot trace.

    Nodes: ``input``, each leaf module's output under its qualified name
    (``_1``, ``_2`` ... for repeated calls) in call order, and ``output``.
    """

    def __init__(self, model, nodes):
        super().__init__()
        self.model, self.nodes = model, list(nodes)

    def forward(self, input):
        out, calls, handles = {}, {}, []

        def hook(name):
            def record(module, args, result):
                k = calls.get(name, 0)
                calls[name] = k + 1
                key = name if k == 0 else f"{name}_{k}"
                if key in self.nodes or not self.nodes:
                    out[key] = result
            return record

        for name, module in self.model.named_modules():
            if name and not any(True for _ in module.children()):
                handles.append(module.register_forward_hook(hook(name)))
        try:
            result = self.model(input)
        finally:
            for h in handles:
                h.remove()
        out = {"input": input, **out, "output": result}
        if not self.nodes:
            return out
        unknown = [n for n in self.nodes if n not in out]
        if unknown:
            raise ValueError(f"unknown nodes {unknown}; valid: {list(out)}")
        return {n: out[n] for n in self.nodes}


def feature_extractor(model, nodes, tracer="fx"):
    """A module mapping an input batch to {node: activation} for the named nodes (FX graph surgery, or hooks)."""
    if tracer == "fx":
        return _fx_extractor(model, list(nodes))
    if tracer == "hooks":
        return _HookExtractor(model, list(nodes))
    raise ValueError(f"unknown tracer {tracer!r}; valid: ['fx', 'hooks']")


def manifest(model, sample, layers=None):
    """The node manifest of a network: what a features job can extract, measured on one ``sample`` batch.

    ``{"tracer": "fx" | "hooks", "nodes": [...], "shapes": {node: [...]}, "layers": [...]}``.  Nodes are
    the traced graph's tensor-valued nodes in execution order (torch.fx; forward hooks on leaf modules
    where FX cannot trace the network).  ``layers(names, module_types)`` picks the kind's "layers";
    by default ``input`` plus every convolution and linear layer (the tutorial's input/conv/fc filter).
    """
    model = model.eval()
    try:
        graph_module, named = _traced(model)
        types = {n: type(graph_module.get_submodule(node.target)) for n, node in named.items()
                 if node.op == "call_module"}
        tracer, candidates = "fx", list(named)
        extractor = _fx_extractor(model, candidates)
    except Exception as err:  # torch.fx raises many kinds of errors on untraceable code
        tracer, extractor, types = "hooks", _HookExtractor(model, []), {}
        fx_error = f"{type(err).__name__}: {err}"
    with torch.no_grad():
        outs = extractor(sample)
    if tracer == "hooks":
        types = {n: type(m) for n, m in model.named_modules() if n in outs}
    batch = len(sample)
    nodes = [n for n, v in outs.items() if torch.is_tensor(v) and v.dim() >= 1 and v.shape[0] == batch]
    shapes = {n: list(outs[n].shape[1:]) for n in nodes}
    chosen = layers(nodes) if layers is not None else None
    if chosen is None:
        chosen = [n for n in nodes if n == "input" or issubclass(types.get(n, type(None)), WEIGHTED_LAYERS)]
    out = {"tracer": tracer, "nodes": nodes, "shapes": shapes, "layers": chosen}
    if tracer == "hooks":
        out["fx_error"] = fx_error[:500]
    return out
