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

from . import intervals, pairstats, paths
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


def noise_ceiling(G, sums, count, method: str = "cosine", units=None, weights=None) -> tuple:
    """(lower, upper) noise ceiling of S subjects' RDMs from their pair statistics (S x S ``G``, ``sums``,
    ``count``): rsatoolbox's ``boot_noise_ceiling`` (leave-one-subject-out lower bound, all-subjects upper).
    Needs at least two subjects.

    ``units`` (S,): the subject each RDM belongs to (sessions of one subject are left out together, as
    rsatoolbox's ``rdm_descriptor`` groups them); ``weights`` (units,): how often each subject was drawn in a
    subject resample (the pooled RDMs count it that often; the bounds average the subjects drawn, as
    rsatoolbox does on a resampled ``RDMs``).  A resample with a single subject has no lower bound (NaN)."""
    _check(method)
    C = _inner(G, sums, count, method)
    S = len(C)
    if S < 2:
        raise ValueError("a noise ceiling needs at least two subjects' RDMs")
    units = np.arange(S) if units is None else np.asarray(units)
    w = np.ones(units.max() + 1) if weights is None else np.asarray(weights, dtype=np.float64)
    norms = np.sqrt(np.clip(np.diag(C), 0, None))
    U = C / np.outer(norms, norms)  # inner products of the unit-scaled subject vectors
    a = w[units]
    total = a @ U
    upper_norm = np.sqrt(a @ total)
    lower, upper = [], []
    for u in np.flatnonzero(w > 0):
        held = units == u
        upper.append(total[held].mean() / upper_norm)
        rest = np.where(held, 0.0, a)
        pooled = rest @ U
        norm = rest @ pooled
        lower.append(pooled[held].mean() / np.sqrt(norm) if norm > 0 else np.nan)
    return float(np.mean(lower)), float(np.mean(upper))


def subject_fits(G, sums, count, models: Sequence[int], subjects: Sequence[int], method: str = "cosine"):
    """(M, S) comparison of each model RDM (positions ``models`` in the statistics) with each subject's RDM
    (positions ``subjects``): rsatoolbox's ``compare``; a model's fit is its row's mean (``eval_fixed``)."""
    _check(method)
    sim = COMPARISONS[method].from_stats(np.asarray(G), np.asarray(sums), count)
    return sim[np.ix_(list(models), list(subjects))]


def resampled_ceilings(G, sums, count, subjects: Sequence[int], method: str = "cosine", units=None) -> np.ndarray:
    """(B, 2) lower and upper ceilings on each resample (``G`` (B, K, K), ``sums`` (B, K), ``count`` (B,))."""
    ix = np.ix_(list(subjects), list(subjects))
    return np.array([noise_ceiling(G[b][ix], sums[b][list(subjects)], count[b], method, units)
                     for b in range(len(G))])


def resampled_fits(G, sums, count, models, subjects, method: str = "cosine") -> np.ndarray:
    """(B, M) each model's mean fit over subjects on each resample."""
    return np.array([subject_fits(G[b], sums[b], count[b], models, subjects, method).mean(1)
                     for b in range(len(G))])


def subject_draws(n_units: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """(n_boot, n_units) subjects drawn with replacement (seeded; the stimulus draws use their own stream)."""
    return np.random.default_rng([seed, 1]).integers(0, n_units, size=(n_boot, n_units))


FACTORS = ("both", "subjects", "stimuli")  # rsatoolbox's order: double, rdm and pattern bootstrap


def dual_resamples(point, boot, models, subjects, method: str, units, draws) -> tuple:
    """Fits and ceilings on the three resamples of rsatoolbox's ``eval_dual_bootstrap`` (``k_pattern =
    k_rdm = 1``): resample b of stimuli and subjects together, of the subjects alone (all stimuli), of the
    stimuli alone (all subjects).  ``point``: the data's pair statistics; ``boot``: the stimulus resamples'
    (B, K, K); ``units``: each subject RDM's subject; ``draws`` (B, n_units): the subjects drawn.  A model's
    fit on a subject resample is its comparisons' mean over the drawn RDMs, each as often as drawn.  Returns
    ``fit`` (B, M, 3) and ``ceiling`` (B, 2, 3), the last axis in :data:`FACTORS` order."""
    models, subjects, units = list(models), list(subjects), np.asarray(units)
    n_units = units.max() + 1
    ix = np.ix_(subjects, subjects)
    sim_point = COMPARISONS[method].from_stats(np.asarray(point.G), np.asarray(point.sums), point.count)
    sim_point = sim_point[np.ix_(models, subjects)]
    ceiling_point = point.G[ix], point.sums[subjects], point.count
    B = len(draws)
    fit = np.empty((B, len(models), 3))
    ceiling = np.empty((B, 2, 3))
    for b in range(B):
        w = np.bincount(draws[b], minlength=n_units).astype(np.float64)
        a = w[units] / w[units].sum()
        sim = COMPARISONS[method].from_stats(boot.G[b], boot.sums[b], boot.count[b])[np.ix_(models, subjects)]
        stats_b = boot.G[b][ix], boot.sums[b][subjects], boot.count[b]
        fit[b, :, 0] = sim @ a
        fit[b, :, 1] = sim_point @ a
        fit[b, :, 2] = sim.mean(1)
        ceiling[b, :, 0] = noise_ceiling(*stats_b, method, units, w)
        ceiling[b, :, 1] = noise_ceiling(*ceiling_point, method, units, w)
        ceiling[b, :, 2] = noise_ceiling(*stats_b, method, units)
    return fit, ceiling


def dual_covariances(fit, ceiling) -> np.ndarray:
    """(3, M + 2, M + 2) covariances of [fits, lower, upper] over each kind of resample (rsatoolbox's
    ``variances`` of a dual bootstrap); resamples where a bound is undefined (one subject drawn) are left out."""
    matrix = np.concatenate([fit, ceiling], axis=1)  # (B, M + 2, 3)
    out = []
    for k in range(matrix.shape[2]):
        m = matrix[:, :, k]
        m = m[np.all(np.isfinite(m), axis=1)]
        if len(m) < 2:
            out.append(np.full((m.shape[1], m.shape[1]), np.nan))
            continue
        m = m - m.mean(0)
        out.append(m.T @ m / (len(m) - 1))
    return np.array(out)


def corrected_variance(cov, contrasts, n_units: int, n_stimuli: int, stimuli_rescaled: bool = False,
                       parts: bool = False, rule: str = "welch"):
    """Variance of each contrast (rows of ``contrasts`` over [fits, lower, upper]) for new stimuli and new
    subjects from the three bootstrap covariances ``cov`` (:func:`repgeom.intervals.dual_variance`, Schütt et
    al. 2023); ``parts``: also the scaled single-factor variances (subjects, stimuli)."""
    c = np.atleast_2d(np.asarray(contrasts, dtype=np.float64))
    both, subj, stim = (np.einsum("ci,ij,cj->c", c, cov[k], c) for k in range(3))
    var, subj, stim = intervals.dual_variance(both, subj, stim, n_units, n_stimuli, stimuli_rescaled, rule)
    return (var, subj, stim) if parts else var


RULES = intervals.RULES


def two_factor_tests(estimates, ceiling, cov, n_units: int, n_stimuli: int, stimuli_rescaled: bool = False,
                     level: float = 0.95, rule: str = "welch") -> dict:
    """t-based inference on a dual bootstrap (rsatoolbox's ``t_tests``, ``t_test_nc``, ``get_ci``), around
    the data's ``estimates`` (M,) and ``ceiling`` (2,): each fit's standard error and ``level`` interval,
    every pairwise difference's and each fit's gap to the lower ceiling, two-sided p-values.  ``rule``:
    ``"rsatoolbox"`` is rsatoolbox's (its variance clip, min(subjects, stimuli) - 1 degrees of freedom for
    every quantity: conservative when the stimuli's variance dominates); ``"welch"`` (default) clips by the
    scaled double bootstrap and weighs each factor's degrees of freedom by its share of the variance
    (Welch-Satterthwaite; the coverage measurements are in docs/decisions.md)."""
    from scipy import stats

    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    estimates = np.asarray(estimates, dtype=np.float64)
    M = len(estimates)
    eye = np.eye(M + 2)

    def inference_of(rows):
        var, subj, stim = corrected_variance(cov, rows, n_units, n_stimuli, stimuli_rescaled, parts=True, rule=rule)
        return np.sqrt(np.maximum(var, 0)), intervals.dual_dof(subj, stim, n_units, n_stimuli, rule)

    eps = np.sqrt(np.finfo(float).eps)
    se, se_dof = inference_of(eye[:M])
    t = stats.t.ppf(0.5 + level / 2, se_dof)
    diff_se, diff_dof = np.zeros((M, M)), np.full((M, M), np.inf)
    for i in range(M):
        diff_se[i], diff_dof[i] = inference_of(eye[i] - eye[:M])
    diffs = estimates[:, None] - estimates[None, :]
    p_pair = 2 * stats.t.sf(np.abs(diffs) / np.maximum(diff_se, eps), diff_dof)
    nc_se, nc_dof = inference_of(eye[:M] - eye[M])
    gap = estimates - ceiling[0]
    return {"se": se, "dof": se_dof, "t": t, "ci": np.stack([estimates - t * se, estimates + t * se], 1),
            "diff_se": diff_se, "diff_dof": diff_dof, "diff_t": stats.t.ppf(0.5 + level / 2, diff_dof),
            "p_pairwise": p_pair, "ceiling_gap_se": nc_se, "ceiling_gap_dof": nc_dof,
            "ceiling_gap_t": stats.t.ppf(0.5 + level / 2, nc_dof),
            "p_ceiling": 2 * stats.t.sf(np.abs(gap) / np.maximum(nc_se, eps), nc_dof), "rule": rule}


def reference_fit(models: Sequence, subjects: Sequence, n: int, method: str = "corr", *, n_boot: int = 0,
                  boot_seed: int = 0, classes=None, units=None, resample_subjects: bool = False,
                  samples=None, draws=None, block=None, device: str = "cpu", progress=None) -> dict:
    """How well each model RDM fits a reference measured in several subjects, against its noise ceiling.

    ``models``: RDM sources of the model layers (:func:`repgeom.pairstats.as_source`: stored cube layers,
    matrices, streamed features); ``subjects``: each subject's (session's) RDM, ``units`` the subject each
    belongs to (default: each its own).  One walk of the pair engine gives every layer's comparison with every
    subject (its fit: their mean, rsatoolbox's ``eval_fixed``), the noise ceiling (``boot_noise_ceiling``),
    and with ``n_boot`` the same on stimulus resamples (stratified by ``classes`` if given,
    :func:`repgeom.paths.stimulus_resamples`; or the given ``samples``).  Returns arrays: ``per_subject``
    (M, S), ``fit`` (M,), ``ceiling`` (2,) and, with resamples, ``samples``, ``fit_boot`` (B, M),
    ``ceiling_boot`` (B, 2): intervals for new stimuli, these subjects.

    ``resample_subjects``: also the two-factor bootstrap over stimuli x subjects of rsatoolbox's
    ``eval_dual_bootstrap`` (subject draws :func:`subject_draws` or the given ``draws``), for intervals
    and tests that generalise to new stimuli and new subjects: ``draws``, ``dual_fit`` (B, M, 3),
    ``dual_ceiling`` (B, 2, 3) (:func:`dual_resamples`), ``dual_cov`` (:func:`dual_covariances`) and
    ``two_factor`` (:func:`two_factor_tests`).  Costs no further walk: a subject resample only re-weights the
    subjects' pair statistics.
    """
    _check(method)
    if len(subjects) < 2:
        raise ValueError("fits to a reference with a noise ceiling need at least two subjects' RDMs")
    units = np.arange(len(subjects)) if units is None else np.unique(np.asarray(units), return_inverse=True)[1]
    n_units = int(units.max()) + 1
    if resample_subjects and n_units < 3:
        raise ValueError(f"a bootstrap over subjects needs three or more subjects; the reference has {n_units}")
    sources, index = pairstats.distinct(list(models) + list(subjects))
    m_index, s_index = index[:len(models)], index[len(models):]
    reductions = [pairstats.PairSums()]
    if samples is not None:
        samples = np.asarray(samples)
        n_boot = len(samples)
    elif n_boot:
        samples = paths.stimulus_resamples(n, n_boot, boot_seed, classes)
    if n_boot:
        reductions.append(resample_reduction(method, samples, n, classes=classes))
    results = pairstats.accumulate(sources, n, reductions, block, device, progress)
    point = results[0]
    if np.any(point.nans):
        raise ValueError("an RDM of the fit has NaN pairs (constant patterns); every comparison would leave "
                         "those pairs out of all RDMs")
    per_subject = subject_fits(point.G, point.sums, point.count, m_index, s_index, method)
    out = {"per_subject": per_subject, "fit": per_subject.mean(1), "units": units,
           "ceiling": np.array(noise_ceiling(point.G[np.ix_(s_index, s_index)], point.sums[s_index], point.count,
                                             method, units))}
    if n_boot:
        boot = results[1]
        out.update(samples=samples,
                   fit_boot=resampled_fits(boot.G, boot.sums, boot.count, m_index, s_index, method),
                   ceiling_boot=resampled_ceilings(boot.G, boot.sums, boot.count, s_index, method, units))
        if resample_subjects:
            draws = subject_draws(n_units, n_boot, boot_seed) if draws is None else np.asarray(draws)
            fit3, ceiling3 = dual_resamples(point, boot, m_index, s_index, method, units, draws)
            cov = dual_covariances(fit3, ceiling3)
            out.update(draws=draws, dual_fit=fit3, dual_ceiling=ceiling3, dual_cov=cov,
                       two_factor=two_factor_tests(out["fit"], out["ceiling"], cov, n_units, n,
                                                   stimuli_rescaled=classes is not None))
    return out
