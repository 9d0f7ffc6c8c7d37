"""RDM cubes: what goes into one (layer, stim_i, stim_j) store, and reading layers back as row sources.

Three sources make cubes, each written by :func:`repgeom.store.write_cube`:

* a model's features store: one RDM per node (nodes whose activations are
  exact copies of another's are computed once), :func:`feature_rdms`;
* a stimulus set's labels: the one-hot labels RDM, :func:`labels_rdms`
  (classes from the set, not a fixed 10);
* a reference file: its RDMs aligned to the set, then their mean
  (:mod:`repgeom.references`).

:class:`CubeRows` reads one layer of a stored cube block by block, so a path
compares cubes without loading them.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from . import rdm
from .metrics import separability
from .store import NodeLayout, apply_node_op, open_group


def feature_rdms(features, method: str, nodes: list, block=None, device="cpu", progress=None) -> Iterator:
    """One RDM per node of a features store (a zarr group), in order; aliased nodes reuse their source's RDM,
    derived nodes (a ReLU's output) are computed from the stored node they are a function of."""
    attrs = dict(features.attrs)
    layout = NodeLayout.from_attrs(attrs)
    missing = [node for node in nodes if layout.source(node)[0] not in features]
    if missing:
        raise ValueError(f"nodes {missing} are not in the features store (it has {attrs.get('nodes')})")
    last = {}
    for node in nodes:
        source = layout.source(node)
        if source not in last:  # aliases follow their source, so one cached RDM suffices
            last = {}  # free the previous RDM before the next one is built
            X = apply_node_op(np.asarray(features[source[0]][:], dtype=np.float32), source[1])  # a fresh array
            P = X.shape[1]
            last = {source: rdm.compute(X, method, block=block, device=device, overwrite=True)}
            del X
            if progress:
                progress(f"rdm {method}: {node} (P={P})")
        elif progress:
            progress(f"rdm {method}: {node} = {layout.aliases.get(node, source[0])} (identical activations)")
        yield last[source]


def with_separability(matrices, labels, out: dict, layers: list) -> Iterator:
    """Pass ``matrices`` through, recording each one's category separability in ``out[layer]``."""
    for layer, D in zip(layers, matrices):
        out[layer] = separability(D, labels)
        yield D


def labels_rdms(labels, classes: list, method: str) -> Iterator:
    """The one-hot labels RDM of a set whose labels index ``classes``."""
    yield rdm.labels_rdm(labels, len(classes), method)


class CubeRows:
    """One layer of a stored cube as an RDM row source (``rows(index)`` reads only those rows)."""
    def __init__(self, array, index: int):
        self.array, self.index = array, index
        self.n = array.shape[1]

    def rows(self, index):
        if isinstance(index, slice):
            return np.asarray(self.array[self.index, index], dtype=np.float64)
        index = np.asarray(index)
        order = np.unique(index)  # zarr reads sorted, unique rows; repeats are taken from them
        block = np.asarray(self.array.get_orthogonal_selection((self.index, order, slice(None))), dtype=np.float64)
        return block[np.searchsorted(order, index)]

    def __getitem__(self, rows):
        return self.array[self.index, rows]


class Cube:
    """A stored RDM cube opened for reading: layers, stimulus ids and labels, attrs, row sources per layer."""
    def __init__(self, path: str):
        self.path = path
        self.group = open_group(path)
        self.layers = [str(v) for v in self.group["layer"][:]]
        self.ids = np.asarray(self.group["stim_i"][:])
        self.labels = np.asarray(self.group["label_i"][:])
        self.attrs = dict(self.group.attrs)
        self.separability = (dict(zip(self.layers, np.asarray(self.group["separability"][:], dtype=float).tolist()))
                             if "separability" in self.group else None)

    def rows(self, layer: str) -> CubeRows:
        if layer not in self.layers:
            raise ValueError(f"{self.path} has no layer {layer!r}; it has {self.layers}")
        return CubeRows(self.group["rdm"], self.layers.index(layer))

    def matrix(self, layer: str) -> np.ndarray:
        return self.rows(layer).rows(slice(None))
