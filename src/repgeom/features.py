"""Per-node network activations through FX feature extraction (or hooks), batch by batch.

Images come in pixel space and go through the model's own preprocessing
first (``preprocess``), so the ``input`` node is what the network sees.
Nodes are the user-facing names (torchvision's ``get_graph_node_names``,
the input always ``input``).  Nodes whose activations are exact copies of
an earlier node's (eval-mode dropout, flatten) are detected on the first
batch and reported as aliases, so their RDMs are computed once.
"""

import numpy as np
import torch

from . import networks


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


def _prepared(model, nodes, device, preprocess, tracer):
    networks.strict_float32(device)
    model = model.eval().to(device)
    pre = preprocess.to(device).eval() if preprocess is not None else (lambda x: x)
    return pre, networks.feature_extractor(model, list(nodes), tracer)


def iter_features(model, images, nodes, batch_size=500, device="cpu", preprocess=None, tracer="fx"):
    """Yield ``(start, {node: float32 (B, P) array}, aliases, shapes)`` for batches of images (model in eval mode).

    ``preprocess`` (a module, e.g. :func:`repgeom.preprocess.build`) maps the images to the network's input.
    Aliased nodes are left out of the dict; ``aliases`` maps them to the node holding their values.
    """
    pre, extractor = _prepared(model, nodes, device, preprocess, tracer)
    aliases = shapes = None
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.as_tensor(images[start:start + batch_size]).to(device)
            feats = extractor(pre(x))
            if aliases is None:
                aliases = _aliases(feats, nodes)
                shapes = {n: list(feats[n].shape[1:]) for n in nodes}
            else:
                for node, prev in aliases.items():
                    if not torch.equal(feats[node].reshape(len(x), -1), feats[prev].reshape(len(x), -1)):
                        raise RuntimeError(f"node {node} stopped being a copy of {prev}: model not deterministic?")
            out = {n: feats[n].reshape(len(x), -1).float().cpu().numpy() for n in nodes if n not in aliases}
            for n, v in out.items():
                if not np.isfinite(v).all():
                    bad = int((~np.isfinite(v)).sum())
                    raise ValueError(f"node {n!r}: {bad} non-finite activations (NaN or inf) in images "
                                     f"{start}..{start + len(x) - 1}; the network's output is not usable here")
            yield start, out, aliases, shapes


def extract(model, images, nodes, batch_size=500, device="cpu", preprocess=None, tracer="fx"):
    """All requested nodes in memory: {node: (N, P) float32}, aliases included as the same arrays."""
    out, aliases = {}, {}
    for start, feats, aliases, _ in iter_features(model, images, nodes, batch_size, device, preprocess, tracer):
        for n, v in feats.items():
            if n not in out:
                out[n] = np.empty((len(images), v.shape[1]), dtype=np.float32)
            out[n][start:start + len(v)] = v
    for node, prev in aliases.items():
        out[node] = out[prev]
    return {n: out[n] for n in nodes}


def extract_tensors(model, images, nodes, batch_size=1000, device="cuda", preprocess=None, tracer="fx"):
    """All requested nodes as (N, P) float32 torch tensors on ``device`` (no host copies); aliases share storage."""
    pre, extractor = _prepared(model, nodes, device, preprocess, tracer)
    parts = {n: [] for n in nodes}
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            feats = extractor(pre(torch.as_tensor(images[start:start + batch_size]).to(device)))
            for n in nodes:
                parts[n].append(feats[n].reshape(len(feats[n]), -1).float())
    out = {n: torch.cat(v) for n, v in parts.items()}
    for node, prev in _aliases(out, nodes).items():  # identical nodes -> one tensor: one RDM each
        out[node] = out[prev]
    return out
