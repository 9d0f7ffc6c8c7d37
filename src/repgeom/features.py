"""Per-node network activations through FX feature extraction, batch by batch.

Nodes are the user-facing names (torchvision's ``get_graph_node_names``).  Nodes whose
activations are exact copies of an earlier node's (eval-mode dropout,
flatten) are detected on the first batch and reported as aliases, so their
RDMs are computed once.
"""

import numpy as np
import torch

from . import networks, nodes as nodes_mod


def select_nodes(model, request):
    """The requested node names in network order: ``'all'``, ``'layers'`` (the tutorial's filter) or a list.

    Checked against the FX trace of the actual network; unknown names raise an error listing the valid ones.
    """
    traced = networks.node_names(model)
    arch = networks.arch_of(model)
    planned = nodes_mod.node_names(arch, getattr(model, "time_steps", 5))
    if traced != planned:
        raise RuntimeError(f"FX node names {traced} differ from the planned {planned}")
    return nodes_mod.resolve(arch, request, getattr(model, "time_steps", 5))


def _aliases(feats, nodes):
    """{node: earlier node with identical activations} for one batch."""
    alias = {}
    for k, node in enumerate(nodes):
        x = feats[node]
        for prev in nodes[:k]:
            if prev in alias:
                continue
            y = feats[prev]
            if x.numel() == y.numel() and torch.equal(x.reshape(len(x), -1), y.reshape(len(y), -1)):
                alias[node] = prev
                break
    return alias


def iter_features(model, images, nodes, batch_size=500, device="cpu"):
    """Yield ``(start, {node: float32 (B, P) array}, aliases, shapes)`` for batches of images (model in eval mode).

    Aliased nodes are left out of the dict; ``aliases`` maps them to the node holding their values.
    """
    networks.strict_float32(device)
    model = model.eval().to(device)
    extractor = networks.feature_extractor(model, list(nodes))
    aliases = shapes = None
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.as_tensor(images[start:start + batch_size]).to(device)
            feats = extractor(x)
            if aliases is None:
                aliases = _aliases(feats, nodes)
                shapes = {n: list(feats[n].shape[1:]) for n in nodes}
            else:
                for node, prev in aliases.items():
                    if not torch.equal(feats[node].reshape(len(x), -1), feats[prev].reshape(len(x), -1)):
                        raise RuntimeError(f"node {node} stopped being a copy of {prev}: model not deterministic?")
            out = {n: feats[n].reshape(len(x), -1).float().cpu().numpy() for n in nodes if n not in aliases}
            yield start, out, aliases, shapes


def extract(model, images, nodes, batch_size=500, device="cpu"):
    """All requested nodes in memory: {node: (N, P) float32}, aliases included as the same arrays."""
    out, aliases = {}, {}
    for start, feats, aliases, _ in iter_features(model, images, nodes, batch_size, device):
        for n, v in feats.items():
            if n not in out:
                out[n] = np.empty((len(images), v.shape[1]), dtype=np.float32)
            out[n][start:start + len(v)] = v
    for node, prev in aliases.items():
        out[node] = out[prev]
    return {n: out[n] for n in nodes}


def extract_tensors(model, images, nodes, batch_size=1000, device="cuda"):
    """All requested nodes as (N, P) float32 torch tensors on ``device`` (no host copies); aliases share storage."""
    networks.strict_float32(device)
    model = model.eval().to(device)
    extractor = networks.feature_extractor(model, list(nodes))
    parts = {n: [] for n in nodes}
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            feats = extractor(torch.as_tensor(images[start:start + batch_size]).to(device))
            for n in nodes:
                parts[n].append(feats[n].reshape(len(feats[n]), -1).float())
    out = {n: torch.cat(v) for n, v in parts.items()}
    for node, prev in _aliases(out, nodes).items():  # identical nodes -> one tensor: one RDM each
        out[node] = out[prev]
    return out
