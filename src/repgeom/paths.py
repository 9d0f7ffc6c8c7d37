"""Representational paths (the tutorial's ``rep_path``), assembled from RDM sources.

A path is a list of entries, each one or more RDMs of the same stimuli: a
model's layers (drawn as a line), the labels RDM or a reference RDM (drawn
as a point).  :func:`path` compares every RDM with every other
(:mod:`repgeom.compare`), turns similarity into distance (``DISTANCES``),
embeds the distance matrix in 2-D by seeded metric MDS, and marks the
entries a figure hides.  Semantics of the tutorial: NaN -> 0, symmetrised,
``MDS(2, max_iter=1000, n_init=10)`` on the precomputed distances; every
model's ``input`` entry after the first that repeats the first one's RDM is
left out of the displayed matrix (the tutorial drops them by name; here a
model whose preprocessing differs keeps its own input).

``stim_index`` (a resample of stimulus positions, repeats allowed) computes
the same path on ``D[index][:, index]`` (pairs of a stimulus with itself left
out), without loading or copying the RDMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from . import compare
from .registry import Registry

DISTANCES = Registry("similarity-to-distance transform")
DISTANCES.register("arccos", lambda s: np.arccos(np.clip(s, -1.0, 1.0)))  # a metric on unit vectors
DISTANCES.register("one_minus", lambda s: 1.0 - s)                          # the seed's 1 - similarity

DUPLICATE_SIMILARITY = 1 - 1e-9  # an input RDM at least this similar to the first one repeats it


@dataclass
class Entry:
    """One path entry: its name, its kind (``model``, ``labels``, ``reference``) and its RDMs, one per layer."""

    name: str
    kind: str
    layers: list
    rdms: list
    draw_as: str = "path"  # "path": a line through the layers; "point": one marker


@dataclass
class Path:
    """A computed path: per-row entry name, layer and kind; similarity, distance, 2-D embedding, shown mask."""

    names: list
    layers: list
    kinds: list
    similarity: np.ndarray
    distance: np.ndarray
    embedding: np.ndarray
    shown: np.ndarray
    extra: dict = field(default_factory=dict)


def similarity_to_distance(sim, transform="arccos"):
    """Distance between RDMs from their similarity; NaN -> 0; symmetrised; zero diagonal."""
    dist = DISTANCES[transform](sim)
    dist = np.nan_to_num(dist, nan=0.0)
    dist = (dist + dist.T) / 2.0
    np.fill_diagonal(dist, 0.0)
    return dist


def embed_mds(dist, seed=0, n_init=10, max_iter=1000):
    """2-D metric MDS of a precomputed distance matrix (the tutorial's settings, seeded)."""
    from sklearn.manifold import MDS

    kwargs = dict(n_components=2, max_iter=max_iter, n_init=n_init, random_state=seed)
    try:
        mds = MDS(metric="precomputed", normalized_stress="auto", init="random", **kwargs)
    except TypeError:  # scikit-learn < 1.8 spells it dissimilarity=
        mds = MDS(dissimilarity="precomputed", normalized_stress="auto", **kwargs)
    return mds.fit_transform(dist)


def procrustes_align(reference, other):
    """``other`` rotated/reflected (and scaled, shifted) onto ``reference``; returns (aligned, disparity)."""
    from scipy.spatial import procrustes

    ref_std, aligned, disparity = procrustes(reference, other)
    # back to the reference's scale and position, so plots share axes
    scale = np.linalg.norm(reference - reference.mean(0))
    return aligned * scale + reference.mean(0), float(disparity)


def hidden_duplicates(names, layers, kinds, similarity):
    """Rows to hide from displays: each model's ``input`` after the first whose RDM repeats the first one's."""
    hide = np.zeros(len(names), dtype=bool)
    first = None
    for k, (kind, layer) in enumerate(zip(kinds, layers)):
        if kind != "model" or layer != "input":
            continue
        if first is None:
            first = k
        elif similarity[k, first] >= DUPLICATE_SIMILARITY:
            hide[k] = True
    return hide


def path(entries: Sequence[Entry], n: int, compare_method: str = "cosine", distance: str = "arccos",
         seed: int = 0, stim_index: Optional[np.ndarray] = None, block: int = 256,
         embed: Optional[Callable] = None, similarity_fn: Optional[Callable] = None) -> Path:
    """The tutorial's rep_path numbers over ``entries`` (RDMs of the same ``n`` stimuli, in one order).

    ``similarity_fn(nan_pairs)``: the L x L similarity computed elsewhere (a streamed path, whose entries
    carry no RDMs); it appends each RDM's NaN pair count to ``nan_pairs``.
    """
    rdms, names, layers, kinds = [], [], [], []
    for e in entries:
        if len(e.rdms) != len(e.layers):
            raise ValueError(f"entry {e.name!r}: {len(e.rdms)} RDMs for {len(e.layers)} layers")
        rdms += list(e.rdms)
        names += [e.name] * len(e.layers)
        layers += list(e.layers)
        kinds += [e.kind] * len(e.layers)
    nan_pairs = []
    if similarity_fn is not None:
        sim = similarity_fn(nan_pairs)
    else:
        sim = compare.similarity(rdms, n, compare_method, block=block, stim_index=stim_index, nan_pairs=nan_pairs)
    dist = similarity_to_distance(sim, distance)
    emb = (embed or (lambda d: embed_mds(d, seed=seed)))(dist)
    shown = ~hidden_duplicates(names, layers, kinds, sim)
    m = n if stim_index is None else len(stim_index)
    return Path(names, layers, kinds, sim, dist, emb, shown,
                {"nan_pairs": np.array(nan_pairs, dtype=np.int64), "pairs": m * (m - 1) // 2})


def embed_from(dist, start, max_iter=1000):
    """Metric MDS of ``dist`` started from an embedding (one run, no random starts): a bootstrap replicate's path."""
    from sklearn.manifold import MDS

    try:
        mds = MDS(n_components=2, metric="precomputed", normalized_stress="auto", n_init=1, max_iter=max_iter,
                  init="random", random_state=0)
    except TypeError:
        mds = MDS(n_components=2, dissimilarity="precomputed", normalized_stress="auto", n_init=1,
                  max_iter=max_iter, random_state=0)
    return mds.fit_transform(dist, init=start)


def bootstrap(entries: Sequence[Entry], n: int, point: Path, compare_method: str = "cosine",
              distance: str = "arccos", n_boot: int = 200, seed: int = 0, block: int = 256) -> dict:
    """The path on ``n_boot`` resamples of its stimuli (drawn with replacement, seeded), from the stored RDMs.

    A resample compares ``D[s][:, s]`` of every RDM, leaving out the pairs of a stimulus with its own repeat
    (their dissimilarity is 0 by construction, not a measurement: rsatoolbox's ``subsample_pattern`` marks
    them NaN for the same reason).  Each replicate's MDS starts from the point estimate's embedding and is
    then Procrustes-aligned onto it, so replicates differ only where the data make them differ.
    Returns ``samples`` (B, n) stimulus positions, ``similarity`` / ``distance`` (B, E, E), ``embedding``
    (B, E, 2) aligned, ``disparity`` (B,) of each replicate's embedding to the point estimate's.
    """
    rdms = [r for e in entries for r in e.rdms]
    samples = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    sims = compare.bootstrap_similarity(rdms, n, compare_method, samples, block)
    dists = np.stack([similarity_to_distance(s, distance) for s in sims])
    embs, disparity = np.empty((n_boot, len(rdms), 2)), np.empty(n_boot)
    for b, d in enumerate(dists):
        embs[b], disparity[b] = procrustes_align(point.embedding, embed_from(d, point.embedding))
    return {"samples": samples, "similarity": sims, "distance": dists, "embedding": embs, "disparity": disparity}


def to_dataset(p: Path, attrs: dict):
    """The path as an xarray Dataset (entry x entry_j matrices, entry x dim embedding, labelled rows)."""
    import xarray as xr

    from .store import jsonable

    idx = np.arange(len(p.names))
    names = np.array(p.names, dtype=object)
    layers = np.array(p.layers, dtype=object)
    kinds = np.array(p.kinds, dtype=object)
    return xr.Dataset(
        {"similarity": (("entry", "entry_j"), p.similarity,
                        {"long_name": f"{attrs.get('compare')} similarity of RDMs"}),
         "distance": (("entry", "entry_j"), p.distance,
                      {"long_name": f"{attrs.get('distance')} distance between RDMs"}),
         "embedding": (("entry", "dim"), p.embedding, {"long_name": "2-D metric MDS of distance"})},
        coords={"entry": idx, "entry_j": idx.copy(), "dim": np.array(["dim 1", "dim 2"], dtype=object),
                "model": ("entry", names), "layer": ("entry", layers), "entry_kind": ("entry", kinds),
                "model_j": ("entry_j", names.copy()), "layer_j": ("entry_j", layers.copy()),
                "shown": ("entry", p.shown),
                **({"nan_pairs": ("entry", p.extra["nan_pairs"])} if "nan_pairs" in p.extra else {})},
        attrs=jsonable(attrs),
    )
