"""Similarity between RDMs: one registry of comparison methods with rsatoolbox ``compare`` semantics.

Positions that are NaN in any RDM are left out of every comparison (as
rsatoolbox does), a zero-norm RDM has similarity 0 with everything, and the
diagonal never counts.

Three shapes of method (``COMPARISONS``; the config schema's enum is this table), each a function of
what the pair engine (:mod:`repgeom.pairstats`) reduces the RDMs to:

* :class:`AccumulatedComparison` (``cosine``, ``corr``): a function of statistics that accumulate over
  stimulus pairs (the Gram matrix of the RDM vectors, their sums, the pair count), so it streams: memory
  independent of N² and of how many RDMs are compared, and B stimulus resamples cost one GEMM per chunk.
* :class:`KernelComparison` (``cka``): debiased linear CKA (Kornblith et al. 2019 with the unbiased HSIC
  estimator of Song et al. 2012, as Nguyen et al. 2021), from the centred Gram matrices the RDMs imply:
  for a squared Euclidean RDM D (what the RDM engine computes from the features' Gram product),
  -1/2 J D J is the Gram matrix of the column-centred features (J = I - 11'/n), so CKA costs no pass over
  the features; it is a function of the same pair statistics plus each RDM's row sums
  (:func:`cka_from_pair_stats`).  ``distance: arccos`` gives its angular form.
* :class:`DirectComparison` (every other rsatoolbox method): the whole matrices go to
  ``rsatoolbox.rdm.compare``.

Which are metrics (safe to embed with MDS, triangle inequality holds):
``arccos`` of ``cosine`` (the angle between RDM vectors) and of ``corr`` (the
angle between centred RDM vectors) are; ``arccos`` of ``cka`` is the angular
CKA distance, a metric on the centred kernels (Williams et al. 2021; the
debiased estimate can leave [0, 1] at small N, and is clipped); ``one_minus``
of anything (the seed's ``1 - cos``) is not a metric, and neither are
transforms of rank correlations (``spearman``, ``kendall``, ``tau-a``,
``rho-a``).

An RDM here is a matrix, anything with ``rows(index) -> (k, N) float array`` (a stored cube's layer,
:class:`repgeom.cubes.CubeRows`, read block by block straight from Zarr) or a block source of
:mod:`repgeom.pairstats` (a node's features).  ``stim_index`` (a bootstrap resample, possibly with repeats)
compares ``D[index][:, index]``; pairs of one stimulus with itself, repeats included, are left out
(for CKA: the U-statistic runs over the distinct stimuli drawn, weighted by their counts,
:func:`cka_from_resampled_stats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from . import pairstats
from .pairstats import (
    Matrices,
    PairStats,
    PairSums,
    ResampledKernelStats,
    ResampledKernelSums,
    ResampledStats,
    ResampledSums,
)
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
    """similarity = ``from_pair_stats(G, row_sums, n)``: from the centred kernels the RDMs imply, which the pair
    statistics and each RDM's row sums determine (no NaN allowed); on resamples ``from_resampled(stats)``
    ((B, L, L) from :class:`repgeom.pairstats.ResampledKernelStats`)."""

    from_pair_stats: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    from_resampled: Callable[[object], np.ndarray]
    description: str = ""


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
        from rsatoolbox.rdm import (  # ~1-4 s to import: only where a rank method is used
            RDMs,
            compare,
        )

        rdms = RDMs(np.stack([np.asarray(m, dtype=np.float64) for m in matrices]))
        return compare(rdms, rdms, method=method)

    return compute


def _normalised(hsic):
    """CKA from an L x L HSIC matrix (zero-norm kernels -> 0)."""
    norms = np.sqrt(np.clip(np.diag(hsic), 0, None))
    ok = norms > 0
    sim = np.zeros_like(hsic)
    sim[np.ix_(ok, ok)] = hsic[np.ix_(ok, ok)] / np.outer(norms[ok], norms[ok])
    return sim


def _cka(T, s, U, n):
    """CKA from the unbiased HSIC terms tr(K~_a K~_b), 1'K~_a 1 and 1'K~_a K~_b 1 (zero-norm kernels -> 0)."""
    return _normalised((T + np.outer(s, s) / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * U) / (n * (n - 3)))


def cka_from_resampled_stats(stats) -> np.ndarray:
    """(B, L, L) debiased CKA on each resample: the HSIC U-statistic over the *distinct* stimuli drawn, each
    tuple weighted by how often its stimuli were drawn (:class:`repgeom.pairstats.ResampledKernelStats`).

    The unbiased HSIC is a U-statistic over 4-tuples of distinct stimuli, HSIC = E[k_ij l_ij] + E[k_ij l_kl]
    - 2 E[k_ij l_ik], unchanged when k_ij gains f_i + f_j: so the RDMs stand in for their kernels (-D/2 is the
    kernel up to such terms; the factor 1/4 cancels in CKA).  Each expectation is a weighted sum over distinct
    tuples, normalised by the sum of the weights: with w = 1 it is the usual estimator (Song et al. 2012); with
    bootstrap counts a stimulus and its own repeat are never two examples (they would put back the bias the
    estimator removes), as rsatoolbox leaves a stimulus's pair with its repeat out of other comparisons.
    """
    p1, p2, p3, p4 = (stats.powers[:, k] for k in range(1, 5))
    n2 = p1 ** 2 - p2  # sum of w_i w_j over ordered distinct pairs, and so on
    n3 = p1 ** 3 - 3 * p1 * p2 + 2 * p3
    n4 = p1 ** 4 - 6 * p1 ** 2 * p2 + 3 * p2 ** 2 + 8 * p1 * p3 - 6 * p4
    if np.any(n4 <= 0):
        raise ValueError("debiased CKA needs at least 4 distinct stimuli in every resample")
    s2 = 2.0 * stats.G                       # sum over i != j of w_i w_j d_a,ij d_b,ij
    s3 = stats.RR1 - stats.G21               # over distinct i, j, k of w_i w_j w_k d_a,ij d_b,ik
    s3w = stats.RR2 - 2.0 * stats.G22        # the same with w_i^2
    T = 2.0 * stats.sums                     # sum over i != j of w_i w_j d_a,ij
    s4 = T[:, :, None] * T[:, None, :] - 4.0 * s3w - 4.0 * stats.G22  # over distinct i, j, k, l
    hsic = s2 / n2[:, None, None] + s4 / n4[:, None, None] - 2.0 * s3 / n3[:, None, None]
    return np.stack([_normalised(h) for h in hsic])


def cka_from_pair_stats(G, row_sums, n):
    """Debiased linear CKA of the centred kernels of squared-distance RDMs, from their pair statistics.

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


COMPARISONS.register("cosine", AccumulatedComparison(_cosine, "cosine of the RDM vectors (the tutorial's)"))
COMPARISONS.register("corr", AccumulatedComparison(_pearson, "Pearson correlation of the RDM vectors"))
for _name in ("spearman", "rho-a", "tau-a", "kendall", "corr_cov", "cosine_cov", "bures"):
    COMPARISONS.register(_name, DirectComparison(_rsatoolbox(_name), f"rsatoolbox.rdm.compare method {_name!r}"))
COMPARISONS.register("cka", KernelComparison(
    cka_from_pair_stats, cka_from_resampled_stats,
    "debiased linear CKA of the centred kernels the (squared Euclidean) RDMs imply"))


def streamable_comparisons() -> list:
    """Comparison methods computed from pair statistics alone (no N x N matrix): accumulated ones and CKA, their
    resamples too (weighted pair statistics, one GEMM for all resamples)."""
    return COMPARISONS.where(lambda e: not isinstance(e, DirectComparison))


# ---- what the pair engine reduces the RDMs to, and the similarity from it -------------------------------

def point_reduction(method: str):
    """The reduction (:mod:`repgeom.pairstats`) a method's similarity is a function of."""
    return Matrices() if isinstance(COMPARISONS[method], DirectComparison) else PairSums()


def point_similarity(result, index: Sequence[int], n: int, method: str,
                     nan_pairs: Optional[list] = None) -> np.ndarray:
    """L x L similarity of the RDMs ``index`` (positions of the walked sources) from the point reduction.

    ``nan_pairs`` (a list) receives each RDM's number of NaN stimulus pairs, which every comparison leaves out.
    """
    spec = COMPARISONS[method]
    index = list(index)
    if isinstance(spec, DirectComparison):
        mats = [result[i] for i in index]
        if nan_pairs is not None:
            iu = np.triu_indices(n, 1)
            nan_pairs.extend(int(np.isnan(m[iu]).sum()) for m in mats)
        return spec.compute(mats)
    stats: PairStats = result.select(index)
    if nan_pairs is not None:
        nan_pairs.extend(int(v) for v in stats.nans)
    if isinstance(spec, KernelComparison):
        if np.any(stats.nans):
            raise ValueError("CKA needs RDMs without NaN (constant patterns under correlation give NaN): "
                             "use euclidean RDMs")
        return spec.from_pair_stats(stats.G, stats.row_sums, n)
    return spec.from_stats(stats.G, stats.sums, stats.count)


def resample_reduction(method: str, samples: np.ndarray, n: int, index: Optional[Sequence[int]] = None,
                       classes: Optional[np.ndarray] = None):
    """The reduction that gives a method's similarity on every resample of the sources ``index``.

    ``classes`` (a stratified bootstrap's): accumulated comparisons keep the set's shares of same- and
    other-class pairs (:class:`repgeom.pairstats.ResampledSums`); CKA's U-statistic and the whole-matrix
    methods take the stratified draws as they are.
    """
    spec = COMPARISONS[method]
    if isinstance(spec, KernelComparison):
        return ResampledKernelSums(samples, n, index)
    if isinstance(spec, AccumulatedComparison):
        return ResampledSums(samples, n, index, classes)
    return Matrices(index)


def resampled_similarity(result, samples: np.ndarray, index: Sequence[int], n: int, method: str,
                         device: str = "cpu") -> np.ndarray:
    """(B, L, L) similarities of the RDMs ``index`` (positions among the resampled sources) on every resample."""
    spec = COMPARISONS[method]
    index = list(index)
    ix = np.ix_(index, index)
    if isinstance(result, ResampledKernelStats):
        return spec.from_resampled(result)[(slice(None),) + ix]
    if isinstance(result, ResampledStats):
        return np.stack([spec.from_stats(result.G[b][ix], result.sums[b][index], result.count[b])
                         for b in range(len(samples))])
    out = []
    for s in np.asarray(samples):
        mats = [result[i][np.ix_(s, s)] for i in index]
        for m in mats:
            m[s[:, None] == s[None, :]] = np.nan  # a stimulus with its own repeat is no pair
        out.append(spec.compute(mats))
    return np.stack(out)


# ---- conveniences: RDMs in, similarities out (one walk of the pair engine each) -------------------------

def similarity(rdms: Sequence, n: int, method: str = "cosine", block: Optional[int] = None,
               stim_index: Optional[np.ndarray] = None, nan_pairs: Optional[list] = None,
               device: str = "cpu", timings: Optional[dict] = None) -> np.ndarray:
    """L x L similarity between RDMs (matrices, row sources or block sources of N x N) by a registered method.

    ``block``: rows of the engine's blocks (default: what fits :data:`repgeom.pairstats.DEFAULT_MEMORY`);
    ``stim_index``: one resample.  ``nan_pairs`` (a list) receives each RDM's number of NaN stimulus pairs,
    which every comparison leaves out; ``timings`` (a dict) the walk's seconds by stage.
    """
    if stim_index is not None:
        return bootstrap_similarity(rdms, n, method, np.asarray(stim_index)[None], block, device)[0]
    sources, index = pairstats.distinct(rdms)
    (result,) = pairstats.accumulate(sources, n, [point_reduction(method)], block, device, timings=timings)
    return point_similarity(result, index, n, method, nan_pairs)


def bootstrap_similarity(rdms: Sequence, n: int, method: str, samples: np.ndarray, block: Optional[int] = None,
                         device: str = "cpu", classes: Optional[np.ndarray] = None) -> np.ndarray:
    """(B, L, L) similarities of RDMs on B resamples of their stimuli (``samples``: B x m stimulus positions;
    ``classes``: a class per stimulus, for stratified draws, :func:`resample_reduction`)."""
    sources, index = pairstats.distinct(rdms)
    samples = np.asarray(samples)
    (result,) = pairstats.accumulate(sources, n, [resample_reduction(method, samples, n, classes=classes)], block,
                                     device)
    return resampled_similarity(result, samples, index, n, method, device)


def debiased_cka(rdms: Sequence, n: int, block: Optional[int] = None) -> np.ndarray:
    """L x L debiased linear CKA of N x N squared-distance RDMs (zero-norm kernels -> 0)."""
    return similarity(rdms, n, "cka", block)
