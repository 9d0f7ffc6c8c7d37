"""Per-node network activations through FX feature extraction (or hooks), batch by batch.

Images come in pixel space and go through the model's own preprocessing
first (``preprocess``), so the ``input`` node is what the network sees.
Nodes are the user-facing names (torchvision's ``get_graph_node_names``,
the input always ``input``).  On the first batch two kinds of redundant
node are found (:class:`repgeom.store.NodeLayout`): aliases, exact copies
of an earlier node (eval-mode dropout, flatten), whose RDMs are computed
once; and derived nodes, an elementwise function of an earlier node
(a ReLU's output, :data:`repgeom.store.NODE_OPS`), recomputed on read
instead of stored.  Every later batch is checked to keep both relations.
"""

import numpy as np
import torch

from . import devices, networks
from .store import NODE_OPS, NodeLayout


def _aliases(feats, nodes):
    """{node: earlier node with identical activations} for one batch (tensors or arrays, (B, ...))."""
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


def _derived_from(x, prev):
    """The op of NODE_OPS that makes ``prev``'s (B, P) activations into ``x``'s exactly, or None."""
    if x.shape != prev.shape:
        return None
    for name, op in NODE_OPS.items():  # one row first: most candidates fail there, at a row's cost
        if (np.array_equal(op(prev[:1], np.empty_like(prev[:1])), x[:1])
                and np.array_equal(op(prev, np.empty_like(prev)), x)):
            return name
    return None


def _layout(feats, nodes, aliases, shapes):
    """The first batch's :class:`NodeLayout`: aliases as found, then each other node derived from the nearest
    earlier stored node it is an elementwise function of."""
    derived = {}
    for k, node in enumerate(nodes):
        if node in aliases:
            continue
        for prev in reversed(nodes[:k]):
            if prev in aliases or prev in derived:
                continue
            op = _derived_from(feats[node], feats[prev])
            if op:
                derived[node] = (prev, op)
                break
    return NodeLayout(aliases, derived, shapes)


def _check_layout(feats, layout, start, buffers, by_construction=()):
    """A later batch keeps the first batch's relations (else the model is not what they assumed).

    Derived nodes in ``by_construction`` (the traced graph computes them by their op from their stored
    node: :func:`repgeom.networks.graph_derived`) need no check; the others are recomputed into ``buffers``
    ({node: array} reused across batches) and compared.  (A ReLU6 that saw no value above 6 in the first
    batch looks like a ReLU there: this is where it is caught.)"""
    for node, prev in layout.aliases.items():
        if not np.array_equal(feats[node], feats[prev]):
            raise RuntimeError(f"node {node} stopped being a copy of {prev} in images from {start}: "
                               "model not deterministic?")
    for node, (prev, op) in layout.derived.items():
        if node in by_construction:
            continue
        src = feats[prev]
        buf = buffers.get(node)
        if buf is None or buf.size < src.size:
            buf = buffers[node] = np.empty(src.size, dtype=src.dtype)
        if not np.array_equal(NODE_OPS[op](src, buf[:src.size].reshape(src.shape)), feats[node]):
            raise RuntimeError(f"node {node} stopped being {op}({prev}) in images from {start}: "
                               "model not deterministic?")


def _prepared(model, nodes, device, preprocess, tracer):
    devices.strict_float32(device)
    model = model.eval().to(device)
    pre = preprocess.to(device).eval() if preprocess is not None else (lambda x: x)
    return pre, networks.feature_extractor(model, list(nodes), tracer)


def iter_features(model, images, nodes, batch_size=500, device="cpu", preprocess=None, tracer="fx"):
    """Yield ``(start, {node: float32 (B, P) array}, layout)`` for batches of images (model in eval mode).

    ``preprocess`` (a module, e.g. :func:`repgeom.preprocess.build`) maps the images to the network's input.
    Only the nodes ``layout`` (a :class:`repgeom.store.NodeLayout`, found on the first batch and checked on
    every other) stores are in the dict; it says where the aliased and derived nodes' values are.
    """
    pre, extractor = _prepared(model, nodes, device, preprocess, tracer)
    in_graph = networks.graph_derived(model, nodes, tracer)
    layout, buffers, by_construction, needed = None, {}, set(), list(nodes)
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.as_tensor(images[start:start + batch_size]).to(device)
            feats = extractor(pre(x))
            if layout is None:
                shapes = {n: list(feats[n].shape[1:]) for n in nodes}
            # to the host: every node on the first batch, then what is stored or checked (not a derived node
            # the graph makes by its op: from a GPU that is a copy saved per batch)
            feats = {n: feats[n].reshape(len(x), -1).float().cpu().numpy() for n in needed}
            first = layout is None
            if first:
                layout = _layout(feats, nodes, _aliases({n: torch.from_numpy(v) for n, v in feats.items()}, nodes),
                                 shapes)
                by_construction = {n for n in layout.derived if in_graph.get(n) == layout.source(n)}
                copied = set(layout.aliases.values())  # an alias is checked against its node, derived or not
                needed = [n for n in nodes if n not in by_construction or n in copied]
            out = {n: feats[n] for n in layout.stored(nodes)}
            for n, v in out.items():  # before the relations: NaN breaks them, and this error says why
                # finite column sums (one pass) mean every value is finite; else the exact check.  numpy's
                # reduction, not a BLAS product: BLAS worker threads spin after each call, taking the core
                # the store's writer runs on (docs/decisions.md)
                if not np.isfinite(np.add.reduce(v, axis=0)).all() and not np.isfinite(v).all():
                    bad = int((~np.isfinite(v)).sum())
                    raise ValueError(f"node {n!r}: {bad} non-finite activations (NaN or inf) in images "
                                     f"{start}..{start + len(x) - 1}; the network's output is not usable here")
            if not first:
                _check_layout(feats, layout, start, buffers, by_construction)
            yield start, out, layout


def extract(model, images, nodes, batch_size=500, device="cpu", preprocess=None, tracer="fx"):
    """All requested nodes in memory: {node: (N, P) float32}; aliases are the same arrays as their source,
    derived nodes computed from theirs."""
    out, layout = {}, NodeLayout()
    for start, feats, layout in iter_features(model, images, nodes, batch_size, device, preprocess, tracer):
        for n, v in feats.items():
            if n not in out:
                out[n] = np.empty((len(images), v.shape[1]), dtype=np.float32)
            out[n][start:start + len(v)] = v
    for node, (prev, op) in layout.derived.items():
        out[node] = NODE_OPS[op](out[prev], np.empty_like(out[prev]))
    for node, prev in layout.aliases.items():
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
