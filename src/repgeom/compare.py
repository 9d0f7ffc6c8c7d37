"""Similarity between RDMs: one registry of comparison methods with rsatoolbox ``compare`` semantics.

Positions that are NaN in any RDM are left out of every comparison (as
rsatoolbox does), a zero-norm RDM has similarity 0 with everything, and the
diagonal never counts.

Three shapes of method (``COMPARISONS``; the config schema's enum is this table):

* :class:`AccumulatedComparison` (``cosine``, ``corr``): the similarity is a
  function of statistics that accumulate over stimulus pairs (the Gram matrix
  of the RDM vectors, their sums, the pair count), so they are computed by
  streaming row blocks of the RDMs: memory independent of N² and of how many
  RDMs are compared.  The shape of scikit-learn's
  ``pairwise_distances_chunked(..., reduce_func=...)``.
* :class:`KernelComparison` (``cka``): debiased linear CKA (Kornblith et al.
  2019 with the unbiased HSIC estimator of Song et al. 2012, as Nguyen et al.
  2021), from the centred Gram matrices the RDMs imply: for a squared
  Euclidean RDM D (what the RDM engine computes from the features' Gram
  product), -1/2 J D J is the Gram matrix of the column-centred features
  (J = I - 11'/n), so CKA costs no pass over the features; two streamed
  passes over the RDMs.  ``distance: arccos`` gives its angular form.
* :class:`DirectComparison` (every other rsatoolbox method): the full
  matrices go to ``rsatoolbox.rdm.compare``.

Which are metrics (safe to embed with MDS, triangle inequality holds):
``arccos`` of ``cosine`` (the angle between RDM vectors) and of ``corr`` (the
angle between centred RDM vectors) are; ``arccos`` of ``cka`` is the angular
CKA distance, a metric on the centred kernels (Williams et al. 2021; the
debiased estimate can leave [0, 1] at small N, and is clipped); ``one_minus``
of anything (the seed's ``1 - cos``) is not a metric, and neither are
transforms of rank correlations (``spearman``, ``kendall``, ``tau-a``,
``rho-a``).

An RDM here is anything with ``rows(index) -> (k, N) float array`` (see
:class:`MatrixRows`, :class:`repgeom.cubes.CubeRows`), so a cube layer is
read block by block straight from Zarr.  ``stim_index`` (a bootstrap
resample, possibly with repeats) compares ``D[index][:, index]``; pairs of
one stimulus with itself, repeats included, are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from .registry import Registry

COMPARISONS = Registry("comparison method")


@dataclass(frozen=True)
class AccumulatedComparison:
    """similarity = ``from_stats(G, sums, count)`` of statistics accumulated over stimulus pairs."""

    from_stats: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    description: str = ""


@dataclass(frozen=True)
class DirectComparison:
    """similarity = ``compute(list of N x N float64 matrices)`` on whole matrices."""

    compute: Callable[[list], np.ndarray]
    description: str = ""


@dataclass(frozen=True)
class KernelComparison:
    """similarity = ``compute(rdm sources, n, block)`` from the centred kernels the RDMs imply (two passes)."""

    compute: Callable
    description: str = ""
    from_pair_stats: Optional[Callable] = None  # (G, row_sums, n) -> similarity: streamable


class MatrixRows:
    """An in-memory N x N matrix (numpy, or anything sliceable) as an RDM source."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.n = matrix.shape[0]

    def rows(self, index):
        return np.asarray(self.matrix[index], dtype=np.float64)


def as_rows(rdm):
    """An RDM source from a matrix or something that already has ``rows``."""
    return rdm if hasattr(rdm, "rows") else MatrixRows(rdm)


def _cosine(G, sums, count):
    norms = np.sqrt(np.clip(np.diag(G), 0, None))
    ok = norms > 0
    sim = np.zeros_like(G)
    sim[np.ix_(ok, ok)] = G[np.ix_(ok, ok)] / np.outer(norms[ok], norms[ok])
    return sim


def _pearson(G, sums, count):
    return _cosine(G - np.outer(sums, sums) / count, sums, count)


def _rsatoolbox(method):
    def compute(matrices):
        from rsatoolbox.rdm import RDMs, compare

        rdms = RDMs(np.stack([np.asarray(m, dtype=np.float64) for m in matrices]))
        return compare(rdms, rdms, method=method)

    return compute


COMPARISONS.register("cosine", AccumulatedComparison(_cosine, "cosine of the RDM vectors (the tutorial's)"))
COMPARISONS.register("corr", AccumulatedComparison(_pearson, "Pearson correlation of the RDM vectors"))
for _name in ("spearman", "rho-a", "tau-a", "kendall", "corr_cov", "cosine_cov", "bures"):
    COMPARISONS.register(_name, DirectComparison(_rsatoolbox(_name), f"rsatoolbox.rdm.compare method {_name!r}"))


def _hsic_terms(sources, n, block):
    """Debiased-HSIC terms of the centred kernels K_a = -1/2 J D_a J, from two passes over row blocks."""
    L = len(sources)
    row_means = np.zeros((L, n))
    for i0, i1 in _blocks(n, block):
        rows = np.stack([s.rows(slice(i0, i1)) for s in sources])
        if np.isnan(rows).any():
            raise ValueError("CKA needs RDMs without NaN (constant patterns under correlation give NaN): "
                             "use euclidean RDMs")
        row_means[:, i0:i1] = rows.mean(axis=2)
    grand = row_means.mean(axis=1)
    T = np.zeros((L, L))        # tr(K~_a K~_b)
    sums = np.zeros(L)          # 1' K~_a 1
    row_sums = np.zeros((L, n))  # K~_a 1
    for i0, i1 in _blocks(n, block):
        rows = np.stack([s.rows(slice(i0, i1)) for s in sources])
        K = -0.5 * (rows - row_means[:, i0:i1, None] - row_means[:, None, :] + grand[:, None, None])
        K[:, np.arange(i1 - i0), np.arange(i0, i1)] = 0.0  # K~: the diagonal left out (the unbiased estimator)
        flat = K.reshape(L, -1)
        T += flat @ flat.T
        row_sums[:, i0:i1] = K.sum(axis=2)
        sums += row_sums[:, i0:i1].sum(axis=1)
    U = row_sums @ row_sums.T   # 1' K~_a K~_b 1
    return T, sums, U


def debiased_cka(sources, n, block=256):
    """L x L debiased linear CKA of the centred kernels of N x N squared-distance RDMs (zero-norm -> 0)."""
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 stimuli (got {n})")
    return _cka(*_hsic_terms([as_rows(r) for r in sources], n, block), n)


def _cka(T, s, U, n):
    """CKA from the unbiased HSIC terms tr(K~_a K~_b), 1'K~_a 1 and 1'K~_a K~_b 1 (zero-norm kernels -> 0)."""
    hsic = (T + np.outer(s, s) / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * U) / (n * (n - 3))
    norms = np.sqrt(np.clip(np.diag(hsic), 0, None))
    ok = norms > 0
    sim = np.zeros_like(hsic)
    sim[np.ix_(ok, ok)] = hsic[np.ix_(ok, ok)] / np.outer(norms[ok], norms[ok])
    return sim


COMPARISONS.register("cka", KernelComparison(
    debiased_cka, "debiased linear CKA of the centred kernels the (squared Euclidean) RDMs imply",
    from_pair_stats=lambda G, R, n: cka_from_pair_stats(G, R, n)))  # defined below


def cka_from_pair_stats(G, row_sums, n):
    """:func:`debiased_cka` from pair statistics alone, so it streams (one pass, no second read of the RDMs).

    With D's diagonal 0, E = J D J (so K = -E/2) and m = D 1 / n, g = 1'D1 / n^2: <E_a, E_b> =
    <D_a, D_b> - 2/n (D_a 1)'(D_b 1) + (1'D_a 1)(1'D_b 1)/n^2; the diagonal of E is g - 2m; the row sums of
    K~ (K without its diagonal) are g/2 - m, so 1'K~1 = -n g / 2.  ``G``: sums over unordered pairs.
    """
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 stimuli (got {n})")
    R = np.asarray(row_sums, dtype=np.float64)
    totals = R.sum(1)
    m, g = R / n, totals / n ** 2
    EE = 2.0 * np.asarray(G) - (2.0 / n) * (R @ R.T) + np.outer(totals, totals) / n ** 2
    diag_E = g[:, None] - 2.0 * m
    T = 0.25 * (EE - diag_E @ diag_E.T)
    s = -n * g / 2.0
    rk = g[:, None] / 2.0 - m
    return _cka(T, s, rk @ rk.T, n)


def streamable_comparisons() -> list:
    """Comparison methods computable from pair statistics (streamed paths): accumulated ones and CKA."""
    return COMPARISONS.where(lambda e: isinstance(e, AccumulatedComparison) or getattr(e, "from_pair_stats", None))


def similarity_from_pair_stats(stats, n: int, method: str) -> np.ndarray:
    """L x L similarity from :class:`repgeom.streaming.PairStats` by a streamable comparison method."""
    spec = COMPARISONS[method]
    if isinstance(spec, AccumulatedComparison):
        return spec.from_stats(stats.G, stats.sums, stats.count)
    if getattr(spec, "from_pair_stats", None):
        if np.any(stats.nans):
            raise ValueError("CKA needs RDMs without NaN (constant patterns under correlation give NaN): "
                             "use euclidean RDMs")
        return spec.from_pair_stats(stats.G, stats.row_sums, n)
    raise ValueError(f"comparison {method!r} needs whole matrices; streamable: {streamable_comparisons()}")


def _blocks(n, block):
    return [(s, min(s + block, n)) for s in range(0, n, block)]


def pair_stats(rdms: Sequence, n: int, block: int = 256, stim_index: Optional[np.ndarray] = None):
    """(G, sums, count, nans) over the stimulus pairs that are non-NaN in every RDM.

    Full row blocks are used and halved (each pair appears twice; the
    diagonal, and with ``stim_index`` every pair of a stimulus with its own
    repeat, adds nothing), which avoids gathering the triangle.  ``nans``:
    each RDM's own number of NaN pairs (constant patterns under correlation).
    """
    sources = [as_rows(r) for r in rdms]
    L = len(sources)
    G = np.zeros((L, L))
    sums = np.zeros(L)
    nans = np.zeros(L, dtype=np.int64)
    count = 0
    index = None if stim_index is None else np.asarray(stim_index)
    m = n if index is None else len(index)
    for i0, i1 in _blocks(m, block):
        if index is None:
            rows = np.stack([s.rows(slice(i0, i1)) for s in sources]).reshape(L, -1)
            same = np.zeros((i1 - i0, m), dtype=bool)
            same[np.arange(i1 - i0), np.arange(i0, i1)] = True
        else:
            picked = index[i0:i1]
            rows = np.stack([s.rows(picked)[:, index] for s in sources]).reshape(L, -1)
            same = picked[:, None] == index[None, :]
        isnan = np.isnan(rows)
        nans += (isnan & ~same.reshape(-1)).sum(axis=1)
        skip = isnan.any(axis=0) | same.reshape(-1)
        if skip.any():
            rows[:, skip] = 0.0
        count += int(skip.size - skip.sum())
        G += rows @ rows.T
        sums += rows.sum(axis=1)
    return G / 2.0, sums / 2.0, count // 2, nans // 2


def pair_stats_torch(rdms, block: int = 1024):
    """:func:`pair_stats` for N x N torch tensors on one device (e.g. CUDA); float64 accumulation."""
    import torch

    n, L = rdms[0].shape[0], len(rdms)
    dev = rdms[0].device
    G = torch.zeros((L, L), dtype=torch.float64, device=dev)
    sums = torch.zeros(L, dtype=torch.float64, device=dev)
    nans = torch.zeros(L, dtype=torch.int64, device=dev)
    count = 0
    for i0, i1 in _blocks(n, block):
        rows = torch.stack([r[i0:i1].double() for r in rdms]).reshape(L, -1)
        isnan = torch.isnan(rows)
        nans += isnan.sum(dim=1)
        skip = isnan.any(dim=0).reshape(i1 - i0, n)
        idx = torch.arange(i0, i1, device=dev)
        skip[idx - i0, idx] = True
        skip = skip.reshape(-1)
        rows[:, skip] = 0.0
        count += int((~skip).sum())
        G += rows @ rows.T
        sums += rows.sum(dim=1)
    return (G / 2.0).cpu().numpy(), (sums / 2.0).cpu().numpy(), count // 2, (nans // 2).cpu().numpy()


def _matrix(source, n, stim_index):
    if stim_index is None:
        return source.rows(slice(0, n))
    index = np.asarray(stim_index)
    D = source.rows(index)[:, index]
    D[index[:, None] == index[None, :]] = np.nan  # a stimulus with its own repeat is no pair
    return D


def similarity(rdms: Sequence, n: int, method: str = "cosine", block: int = 256,
               stim_index: Optional[np.ndarray] = None, nan_pairs: Optional[list] = None) -> np.ndarray:
    """L x L similarity between RDMs (matrices or row sources of N x N) by a registered method.

    ``nan_pairs`` (a list) receives each RDM's number of NaN stimulus pairs, which every comparison leaves out.
    """
    spec = COMPARISONS[method]
    if isinstance(spec, AccumulatedComparison):
        G, sums, count, nans = pair_stats(rdms, n, block, stim_index)
        if nan_pairs is not None:
            nan_pairs.extend(int(v) for v in nans)
        return spec.from_stats(G, sums, count)
    if isinstance(spec, KernelComparison):
        if nan_pairs is not None:
            nan_pairs.extend([0] * len(rdms))  # a kernel method refuses NaN
        if stim_index is None:
            return spec.compute(rdms, n, block)
        index = np.asarray(stim_index)  # CKA resamples examples: a repeat is a second, identical example
        return spec.compute([MatrixRows(as_rows(r).rows(index)[:, index]) for r in rdms], len(index), block)
    mats = [_matrix(as_rows(r), n, stim_index) for r in rdms]
    if nan_pairs is not None:
        nan_pairs.extend(int(np.isnan(m[np.triu_indices(len(m), 1)]).sum()) for m in mats)
    return spec.compute(mats)


def similarity_torch(rdms, method: str = "cosine", block: int = 1024) -> np.ndarray:
    """:func:`similarity` of N x N torch tensors on their device (accumulated methods only)."""
    spec = COMPARISONS[method]
    if not isinstance(spec, AccumulatedComparison):
        raise ValueError(f"{method!r} needs whole matrices; on-device methods: "
                         f"{COMPARISONS.where(lambda e: isinstance(e, AccumulatedComparison))}")
    return spec.from_stats(*pair_stats_torch(rdms, block)[:3])


BOOTSTRAP_BYTES = 64e6  # working set of bootstrap_similarity's pair products
BOOTSTRAP_READ_ONCE = 512e6  # RDMs up to this many bytes (float64) are read whole once, not once per row step


def bootstrap_similarity(rdms: Sequence, n: int, method: str, samples: np.ndarray, block: int = 256) -> np.ndarray:
    """(B, L, L) similarities of RDMs on B resamples of their stimuli (``samples``: B x m stimulus positions).

    An accumulated method reads each row block of the RDMs once for all B resamples: a resample counts each
    pair of distinct original stimuli p < q w_p w_q times (w: how often each was drawn), so every statistic
    is ``sum_p w_p sum_{q > p} w_q x_pq`` -- one GEMM of the block's pair products (each pair once: the
    row's columns right of the diagonal) against all B weight vectors (compute-bound) instead of B weighted
    passes over the block (memory-bound); and it leaves out pairs of a stimulus with its own repeat, as
    :func:`pair_stats` with ``stim_index`` does (rsatoolbox's ``subsample_pattern`` marks those NaN:
    "trivial to predict ... excluded").  Other methods run once per resample.
    """
    samples = np.asarray(samples)
    spec = COMPARISONS[method]
    if not isinstance(spec, AccumulatedComparison):
        return np.stack([similarity(rdms, n, method, block, stim_index=s) for s in samples])
    sources = [as_rows(r) for r in rdms]
    if len(sources) * n * n * 8 <= BOOTSTRAP_READ_ONCE:  # a stored cube's row step would decode its chunk again
        sources = [s if isinstance(s, MatrixRows) else MatrixRows(s.rows(slice(0, n))) for s in sources]
    L, B = len(sources), len(samples)
    weights = np.stack([np.bincount(s, minlength=n) for s in samples]).astype(np.float64)  # (B, n)
    first, second = np.triu_indices(L)  # row-major: (a, a), (a, a + 1), ..., (a, L - 1), then a + 1
    P = len(first)
    G = np.zeros((P, B))
    sums = np.zeros((L, B))
    count = np.zeros(B)
    # one buffer of pair products, reused: rows per step (at most `block`) so (P, rows, columns) fits in it
    buffer = np.empty(max(int(BOOTSTRAP_BYTES // 8), P * n))
    i0 = 0
    while i0 < n:
        m = n - i0  # columns i0 .. n - 1: of row p only those q > p are pairs
        i1 = min(n, i0 + max(1, min(block, len(buffer) // (P * m))))
        b = i1 - i0
        rows = np.stack([s.rows(slice(i0, i1))[:, i0:] for s in sources]).astype(np.float64, copy=False)  # (L, b, m)
        valid = ~np.isnan(rows).any(axis=0) & np.triu(np.ones((b, m), dtype=bool), 1)
        rows[:, ~valid] = 0.0
        w_cols = np.ascontiguousarray(weights[:, i0:].T)  # (m, B)
        w_rows = w_cols[:b]  # (b, B): how often each row's stimulus was drawn
        products = buffer[:P * b * m].reshape(P, b, m)
        k = 0
        for a in range(L):  # the pairs (a, a..L-1) are contiguous in triu order
            np.multiply(rows[a], rows[a:], out=products[k:k + L - a])
            k += L - a
        # sum_p w_p sum_q w_q x_pq for every resample at once: one GEMM against the weights, then the rows' weights
        G += np.einsum("kpb,pb->kb", (products.reshape(-1, m) @ w_cols).reshape(P, b, B), w_rows)
        sums += np.einsum("lpb,pb->lb", (rows.reshape(-1, m) @ w_cols).reshape(L, b, B), w_rows)
        count += np.einsum("pb,pb->b", valid.astype(np.float64) @ w_cols, w_rows)
        i0 = i1
    full = np.empty((B, L, L))
    full[:, first, second] = G.T
    full[:, second, first] = G.T
    return np.stack([spec.from_stats(full[b], sums[:, b], count[b]) for b in range(B)])
