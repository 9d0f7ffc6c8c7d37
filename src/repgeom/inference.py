"""Model RDMs against a reference measured in several subjects: fits, noise ceilings, tests (rsatoolbox's
semantics), as functions of the pair statistics the pair engine accumulates.

rsatoolbox evaluates a model by its comparison with each subject's RDM, averaged over subjects
(``eval_fixed``), and bounds what any model could reach by the noise ceiling (``boot_noise_ceiling``): the
*upper* bound compares each subject with the pooled RDM of all subjects (itself included: no model can do
better on average), the *lower* bound with the pooled RDM of the others (a model as good as the other
subjects' mean).  The pooled RDM is the mean of the subjects' RDM vectors after each is scaled to unit
root-mean-square (``cosine``) or standardised (``corr``): the RDM that maximises the average comparison.

For the accumulated comparisons (``cosine``, ``corr``) every one of these is a function of the inner
products G of the RDM vectors over the stimulus pairs (centred by their sums and count for ``corr``): the
pooled vector of subjects T is sum_s v_s / |v_s|, so <pool, v_t> = sum_s G[s, t] / |v_s| and |pool|^2 =
sum_{s, s'} G[s, s'] / (|v_s| |v_s'|).  So one walk of the pair engine over the model layers and the subject
RDMs gives the fits and the ceilings, on the data and on every stimulus resample (weighted pair statistics).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import pairstats, paths
from .compare import COMPARISONS, AccumulatedComparison, resample_reduction

CEILING_METHODS = ("cosine", "corr")


def _check(method: str) -> None:
    if not isinstance(COMPARISONS[method], AccumulatedComparison):
        raise ValueError(f"noise ceilings and fits to subjects are computed for {list(CEILING_METHODS)}; "
                         f"{method!r} is not one of them")


def _inner(G, sums, count, method):
    """The inner products the method's similarity is the cosine of (centred for ``corr``)."""
    G = np.asarray(G, dtype=np.float64)
    if method == "corr":
        sums = np.asarray(sums, dtype=np.float64)
        G = G - np.outer(sums, sums) / count
    return G


def noise_ceiling(G, sums, count, method: str = "cosine") -> tuple:
    """(lower, upper) noise ceiling of S subjects' RDMs from their pair statistics (S x S ``G``, ``sums``,
    ``count``): rsatoolbox's ``boot_noise_ceiling`` (leave-one-subject-out lower bound, all-subjects upper).
    Needs at least two subjects."""
    _check(method)
    C = _inner(G, sums, count, method)
    S = len(C)
    if S < 2:
        raise ValueError("a noise ceiling needs at least two subjects' RDMs")
    norms = np.sqrt(np.clip(np.diag(C), 0, None))
    U = C / np.outer(norms, norms)  # inner products of the unit-scaled subject vectors
    upper = U.sum(0) / np.sqrt(U.sum())
    lower = np.empty(S)
    for t in range(S):
        others = np.arange(S) != t
        lower[t] = U[others, t].sum() / np.sqrt(U[np.ix_(others, others)].sum())
    return float(lower.mean()), float(upper.mean())


def subject_fits(G, sums, count, models: Sequence[int], subjects: Sequence[int], method: str = "cosine"):
    """(M, S) comparison of each model RDM (positions ``models`` in the statistics) with each subject's RDM
    (positions ``subjects``): rsatoolbox's ``compare``; a model's fit is its row's mean (``eval_fixed``)."""
    _check(method)
    sim = COMPARISONS[method].from_stats(np.asarray(G), np.asarray(sums), count)
    return sim[np.ix_(list(models), list(subjects))]


def resampled_ceilings(G, sums, count, subjects: Sequence[int], method: str = "cosine") -> np.ndarray:
    """(B, 2) lower and upper ceilings on each resample (``G`` (B, K, K), ``sums`` (B, K), ``count`` (B,))."""
    ix = np.ix_(list(subjects), list(subjects))
    return np.array([noise_ceiling(G[b][ix], sums[b][list(subjects)], count[b], method) for b in range(len(G))])


def resampled_fits(G, sums, count, models, subjects, method: str = "cosine") -> np.ndarray:
    """(B, M) each model's mean fit over subjects on each resample."""
    return np.array([subject_fits(G[b], sums[b], count[b], models, subjects, method).mean(1)
                     for b in range(len(G))])


def reference_fit(models: Sequence, subjects: Sequence, n: int, method: str = "corr", *, n_boot: int = 0,
                  boot_seed: int = 0, classes=None, block=None, device: str = "cpu", progress=None) -> dict:
    """How well each model RDM fits a reference measured in several subjects, against its noise ceiling.

    ``models``: RDM sources of the model layers (:func:`repgeom.pairstats.as_source`: stored cube layers,
    matrices, streamed features); ``subjects``: each subject's (session's) RDM.  One walk of the pair engine
    gives every layer's comparison with every subject (its fit: their mean, rsatoolbox's ``eval_fixed``), the
    noise ceiling (``boot_noise_ceiling``), and with ``n_boot`` the same on stimulus resamples (stratified by
    ``classes`` if given, :func:`repgeom.paths.stimulus_resamples`).  Returns arrays: ``per_subject`` (M, S),
    ``fit`` (M,), ``ceiling`` (2,) and, with resamples, ``samples``, ``fit_boot`` (B, M), ``ceiling_boot``
    (B, 2).  Intervals cover new stimuli; the subjects are the ones measured (a second factor is not
    resampled here).
    """
    _check(method)
    if len(subjects) < 2:
        raise ValueError("fits to a reference with a noise ceiling need at least two subjects' RDMs")
    sources, index = pairstats.distinct(list(models) + list(subjects))
    m_index, s_index = index[:len(models)], index[len(models):]
    reductions = [pairstats.PairSums()]
    samples = None
    if n_boot:
        samples = paths.stimulus_resamples(n, n_boot, boot_seed, classes)
        reductions.append(resample_reduction(method, samples, n, classes=classes))
    results = pairstats.accumulate(sources, n, reductions, block, device, progress)
    point = results[0]
    if np.any(point.nans):
        raise ValueError("an RDM of the fit has NaN pairs (constant patterns); every comparison would leave "
                         "those pairs out of all RDMs")
    per_subject = subject_fits(point.G, point.sums, point.count, m_index, s_index, method)
    out = {"per_subject": per_subject, "fit": per_subject.mean(1),
           "ceiling": np.array(noise_ceiling(point.G[np.ix_(s_index, s_index)], point.sums[s_index], point.count,
                                             method))}
    if n_boot:
        boot = results[1]
        out.update(samples=samples,
                   fit_boot=resampled_fits(boot.G, boot.sums, boot.count, m_index, s_index, method),
                   ceiling_boot=resampled_ceilings(boot.G, boot.sums, boot.count, s_index, method))
    return out
