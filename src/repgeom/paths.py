"""Representational paths (the tutorial's ``rep_path``): the path maths and the one function that computes them.

A path is a list of entries, each one or more RDMs of the same stimuli: a model's layers (drawn as a line),
the labels RDM or a reference RDM (drawn as a point).  :func:`compute` compares every RDM with every other
(:mod:`repgeom.compare`, over one walk of the pair engine :mod:`repgeom.pairstats`), turns similarity into
distance (``DISTANCES``), embeds the distance matrix in 2-D by seeded metric MDS, and marks the entries a
figure hides.  Semantics of the tutorial: NaN -> 0, symmetrised, ``MDS(2, max_iter=1000, n_init=10)`` on
the precomputed distances; every model's ``input`` entry after the first that repeats the first one's RDM
is left out of the displayed matrix (the tutorial drops them by name; here a model whose preprocessing
differs keeps its own input).

The same call computes, in that one walk: the path of every *replicate* (seed k of each model family), the
path on B stimulus resamples (drawn with replacement, seeded; pairs of a stimulus with its own repeat left
out), and the similarities within extra groups of RDMs (the seeds of a family, layer by layer) — whatever
the RDMs are: stored cubes read by rows, features streamed from stores in row blocks, matrices in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from . import compare, pairstats
from .registry import Registry
from .store import jsonable

DISTANCES = Registry("similarity-to-distance transform")
DISTANCES.register("arccos", lambda s: np.arccos(np.clip(s, -1.0, 1.0)))  # a metric on unit vectors
DISTANCES.register("one_minus", lambda s: 1.0 - s)                          # the seed's 1 - similarity

DUPLICATE_SIMILARITY = 1 - 1e-9  # an input RDM at least this similar to the first one repeats it


@dataclass
class Entry:
    """One path entry: its name, its kind (``model``, ``labels``, ``reference``) and its RDMs, one per layer
    (matrices, stored cube layers or block sources such as a node's features: :func:`pairstats.as_source`)."""

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


@dataclass
class PathResult:
    """Everything one walk computed: each replicate's :class:`Path`; replicate 0's ``bootstrap`` (``samples``
    (B, m) stimulus positions, ``similarity`` / ``distance`` (B, E, E), ``embedding`` (B', E, 2) of the first
    B' Procrustes-aligned to the estimate, ``disparity`` (B',)); each extra group's similarity; the walk's
    ``block`` and number of ``distinct`` RDMs."""

    paths: list
    bootstrap: Optional[dict] = None
    groups: dict = field(default_factory=dict)
    block: int = 0
    distinct: int = 0


def _rows(entries):
    rdms, names, layers, kinds = [], [], [], []
    for e in entries:
        if len(e.rdms) != len(e.layers):
            raise ValueError(f"entry {e.name!r}: {len(e.rdms)} RDMs for {len(e.layers)} layers")
        rdms += list(e.rdms)
        names += [e.name] * len(e.layers)
        layers += list(e.layers)
        kinds += [e.kind] * len(e.layers)
    return rdms, names, layers, kinds


def stimulus_resamples(n: int, n_boot: int, seed: int = 0, classes: Optional[np.ndarray] = None) -> np.ndarray:
    """(n_boot, m) stimulus positions drawn with replacement, seeded.

    Without ``classes``: n of the n stimuli.  With ``classes`` (a class per stimulus: a set drawn with a fixed
    number of each class), stratified: n_c - 1 of each class's n_c stimuli (Rao & Wu 1988's rescaled bootstrap
    with m_c = n_c - 1, which makes the bootstrap variance of a mean unbiased however small the class: drawing
    n_c under-states it by (n_c - 1) / n_c); a class of one or two stimuli gives n_c draws.  The resample
    keeps the set's class counts' proportions, so its comparisons with the labels estimate the set's quantity.
    """
    rng = np.random.default_rng(seed)
    if classes is None:
        return rng.integers(0, n, size=(n_boot, n))
    classes = np.asarray(classes)
    if len(classes) != n:
        raise ValueError(f"{len(classes)} classes for {n} stimuli")
    parts = []
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        m = len(members) - 1 if len(members) >= 3 else len(members)
        parts.append(members[rng.integers(0, len(members), size=(n_boot, m))])
    return np.hstack(parts)


def _walk(rdm_lists, n, method, samples, block, memory_bytes, device, progress, timings, classes=None,
          resampled=1):
    """One walk over the distinct RDMs of ``rdm_lists``: (point result, resamples of the first ``resampled``
    lists or None (the resampled result and each such list's positions in it), each list's positions among the
    walked sources, block, distinct count)."""
    flat = [r for rdms in rdm_lists for r in rdms]
    sources, index = pairstats.distinct(flat)
    positions, k = [], 0
    for rdms in rdm_lists:
        positions.append(index[k:k + len(rdms)])
        k += len(rdms)
    reductions = [compare.point_reduction(method)]
    if samples is not None:
        sub = sorted(set(u for pos in positions[:resampled] for u in pos))
        reductions.append(compare.resample_reduction(method, samples, n, sub, classes))
    block = block or pairstats.choose_block(sources, n, memory_bytes)
    results = pairstats.accumulate(sources, n, reductions, block, device, progress, timings)
    boot = None
    if samples is not None:
        local = {u: i for i, u in enumerate(sub)}
        boot = (results[1], [[local[u] for u in pos] for pos in positions[:resampled]])
    return results[0], boot, positions, block, len(sources)


def compute(replicates: Sequence[Sequence[Entry]], n: int, compare_method: str = "cosine",
            distance: str = "arccos", seed: int = 0, *, n_boot: int = 0, boot_seed: int = 0,
            groups: Optional[dict] = None, block: Optional[int] = None, memory_bytes: float = 1.6e9,
            device: str = "cpu", embed: Optional[Callable] = None, progress=None,
            timings: Optional[dict] = None, classes: Optional[np.ndarray] = None,
            n_embed: Optional[int] = None, resample_replicates: bool = False) -> PathResult:
    """The path of each replicate (lists of :class:`Entry` over the same ``n`` stimuli, in one order), in one
    walk of the pair engine over their distinct RDMs.

    ``n_boot``: resamples of the stimuli (seed ``boot_seed``) of replicate 0, stratified by ``classes`` if given
    (:func:`stimulus_resamples`), the first ``n_embed`` of them (default all) embedded by MDS; ``groups``: {key: [RDMs]} whose
    similarities are wanted too (e.g. one layer of every seed of a family); ``block`` (rows) or
    ``memory_bytes`` set the walk's working memory; ``device``: ``cpu`` (numpy) or a torch device.
    ``resample_replicates``: every replicate's distances on the same resamples too
    (``bootstrap["replicate_distance"]`` (R, B, E, E)), for intervals over stimuli x seeds.
    A NaN pair of one RDM leaves that pair out of every comparison in its walk (rsatoolbox's rule), so when
    NaN pairs turn up with several replicates or groups, each is walked again on its own.
    """
    rows = [_rows(entries) for entries in replicates]
    group_keys = list(groups or {})
    rdm_lists = [r[0] for r in rows] + [list(groups[g]) for g in group_keys]
    samples = stimulus_resamples(n, n_boot, boot_seed, classes) if n_boot else None
    walk = dict(n=n, method=compare_method, block=block, memory_bytes=memory_bytes, device=device,
                progress=progress, timings=timings, classes=classes)
    resampled = len(rows) if resample_replicates else 1
    point, boot, positions, used_block, count = _walk(rdm_lists, samples=samples, resampled=resampled, **walk)
    boots = None if boot is None else [(boot[0], pos) for pos in boot[1]]
    nans = isinstance(point, pairstats.PairStats) and bool(np.any(point.nans))
    if nans and len(rdm_lists) > 1:  # every list on its own: another's NaN pairs must not leave out its pairs
        walks = [_walk([rdms], samples=samples if k < resampled else None, **walk)
                 for k, rdms in enumerate(rdm_lists)]
        results = [(w[0], w[2][0]) for w in walks]
        boots = None if samples is None else [(w[1][0], w[1][1][0]) for w in walks[:resampled]]
    else:
        results = [(point, p) for p in positions]
    out = PathResult([], block=used_block, distinct=count)
    for (result, index), (_, names, layers, kinds) in zip(results, rows):
        nan_pairs = []
        sim = compare.point_similarity(result, index, n, compare_method, nan_pairs)
        dist = similarity_to_distance(sim, distance)
        emb = (embed or (lambda d: embed_mds(d, seed=seed)))(dist)
        shown = ~hidden_duplicates(names, layers, kinds, sim)
        out.paths.append(Path(names, layers, kinds, sim, dist, emb, shown,
                              {"nan_pairs": np.array(nan_pairs, dtype=np.int64), "pairs": n * (n - 1) // 2}))
    for key, (result, index) in zip(group_keys, results[len(rows):]):
        out.groups[key] = compare.point_similarity(result, index, n, compare_method)
    if samples is not None:
        out.bootstrap = _resampled_paths(boots[0], samples, n, compare_method, distance, out.paths[0], device,
                                         len(samples) if n_embed is None else min(n_embed, len(samples)))
        if resample_replicates:
            out.bootstrap["replicate_distance"] = np.stack(
                [out.bootstrap["distance"]] + [
                    np.stack([similarity_to_distance(sim, distance) for sim in
                              compare.resampled_similarity(res, samples, index, n, compare_method, device)])
                    for res, index in boots[1:]])
    return out


def _resampled_paths(boot, samples, n, method, distance, point, device, n_embed):
    """Replicate 0's path on every resample: distances, and for the first ``n_embed`` the MDS started from the
    estimate's embedding and Procrustes-aligned onto it, so replicates differ only where the data make them
    differ."""
    result, index = boot
    sims = compare.resampled_similarity(result, samples, index, n, method, device)
    dists = np.stack([similarity_to_distance(s, distance) for s in sims])
    embs, disparity = np.empty((n_embed, len(index), 2)), np.empty(n_embed)
    for b, d in enumerate(dists[:n_embed]):
        embs[b], disparity[b] = procrustes_align(point.embedding, embed_from(d, point.embedding))
    return {"samples": samples, "similarity": sims, "distance": dists, "embedding": embs, "disparity": disparity}


def path(entries: Sequence[Entry], n: int, compare_method: str = "cosine", distance: str = "arccos",
         seed: int = 0, **kwargs) -> Path:
    """The path of one list of entries (:func:`compute` of one replicate, no resamples)."""
    return compute([entries], n, compare_method, distance, seed, **kwargs).paths[0]


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


def to_dataset(p: Path, attrs: dict, variables: Optional[dict] = None):
    """The path as an xarray Dataset (entry x entry_j matrices, entry x dim embedding, labelled rows), with
    ``variables`` ({name: (dims, values[, attrs])}: resamples, replicates) added."""
    import xarray as xr  # ~1 s to import: only where a path is written


    idx = np.arange(len(p.names))
    names = np.array(p.names, dtype=object)
    layers = np.array(p.layers, dtype=object)
    kinds = np.array(p.kinds, dtype=object)
    ds = xr.Dataset(
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
    for name, (dims, values, *meta) in (variables or {}).items():
        ds[name] = (dims, values, *(meta or [{}]))
    return ds
