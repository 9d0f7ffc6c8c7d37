"""Bootstrap intervals of one statistic from its estimate and replicates: the kinds a path may print.

* ``percentile`` — the replicates' 2.5 / 97.5 % quantiles (Efron's percentile interval);
* ``basic`` — the percentile interval reflected about the estimate (2 t - q_hi, 2 t - q_lo): right when the
  replicates sit off the estimate by as much as the estimate sits off the truth;
* ``bc`` — bias-corrected percentile: the quantiles shifted by z0 = Phi^-1(share of replicates below the
  estimate);
* ``bca`` — bias-corrected and accelerated (Efron 1987): also the acceleration a from the jackknife
  (leave-one-stimulus-out) values, a = sum(d^3) / (6 (sum d^2)^1.5), d = mean - jackknife value.

All with the standard library's normal distribution (no scipy at import).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Optional, Sequence

import numpy as np

METHODS = ("percentile", "basic", "bc", "bca")
NAMES = {"percentile": "percentile", "basic": "basic", "bc": "bias-corrected percentile",
         "bca": "bias-corrected and accelerated"}  # as captions say them
_NORMAL = NormalDist()


def _quantiles(values: np.ndarray, probabilities: Sequence[float]) -> list:
    return [float(v) for v in np.quantile(values, probabilities)]


def bias_correction(estimate: float, replicates: np.ndarray) -> float:
    """z0 = Phi^-1 of the share of replicates below the estimate (ties count half), clipped to a finite value."""
    share = (np.sum(replicates < estimate) + 0.5 * np.sum(replicates == estimate)) / len(replicates)
    share = min(max(share, 0.5 / len(replicates)), 1 - 0.5 / len(replicates))
    return _NORMAL.inv_cdf(share)


def acceleration(jackknife: np.ndarray) -> float:
    """Efron's acceleration from jackknife values (0 when they are all equal)."""
    d = np.mean(jackknife) - np.asarray(jackknife, dtype=np.float64)
    denominator = 6.0 * np.sum(d ** 2) ** 1.5
    return float(np.sum(d ** 3) / denominator) if denominator > 0 else 0.0


def interval(estimate: float, replicates, level: float = 0.95, method: str = "percentile",
             jackknife: Optional[np.ndarray] = None) -> list:
    """[low, high] of a ``level`` interval of one statistic by ``method`` (:data:`METHODS`; ``bca`` needs the
    ``jackknife`` values).  Non-finite replicates are left out; none left gives NaNs."""
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if not len(reps):
        return [float("nan"), float("nan")]
    tail = (1.0 - level) / 2.0
    if method == "percentile":
        return _quantiles(reps, [tail, 1.0 - tail])
    if method == "basic":
        lo, hi = _quantiles(reps, [tail, 1.0 - tail])
        return [2.0 * estimate - hi, 2.0 * estimate - lo]
    if method not in ("bc", "bca"):
        raise ValueError(f"unknown interval method {method!r}; known: {list(METHODS)}")
    if method == "bca" and jackknife is None:
        raise ValueError("a BCa interval needs the jackknife values")
    z0 = bias_correction(estimate, reps)
    a = acceleration(jackknife) if method == "bca" else 0.0
    probabilities = []
    for z in (_NORMAL.inv_cdf(tail), _NORMAL.inv_cdf(1.0 - tail)):
        shifted = z0 + (z0 + z) / (1.0 - a * (z0 + z))
        probabilities.append(_NORMAL.cdf(shifted))
    return _quantiles(reps, probabilities)


def interval95(estimate: float, replicates, method: str = "percentile",
               jackknife: Optional[np.ndarray] = None) -> list:
    """The 95 % :func:`interval`."""
    return interval(estimate, replicates, 0.95, method, jackknife)


# ---- two factors: stimuli x subjects (or seeds) ---------------------------------------------------------

RULES = ("welch", "rsatoolbox")


def dual_variance(both, subjects, stimuli, n_units: int, n_stimuli: int, stimuli_rescaled: bool = False,
                  rule: str = "welch"):
    """(variance, subjects' part, stimuli's part) for new stimuli *and* new subjects (or seeds) from the
    variances over three bootstraps — both factors, subjects alone, stimuli alone — by Schütt et al. (2023)'s
    correction (rsatoolbox's ``_dual_bootstrap`` given both counts): each single-factor variance scaled by
    n / (n - 1), less the excess of the double bootstrap over their sum, clipped from below by the larger
    scaled single-factor variance.  From above rsatoolbox clips by the double bootstrap's variance as it is
    (``rule="rsatoolbox"``), which when one factor carries all the variance takes its n / (n - 1) back out (5
    subjects: a 95 % interval covered 0.93); ``"welch"`` clips by it scaled by both factors.
    ``stimuli_rescaled``: the stimulus draws already are (stratified, n_c - 1 a class), so their variance is
    not scaled again."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    both, subjects, stimuli = (np.asarray(v, dtype=np.float64) for v in (both, subjects, stimuli))
    f_s = n_units / (n_units - 1)
    f_p = 1.0 if stimuli_rescaled else n_stimuli / (n_stimuli - 1)
    var = f_s * subjects + f_p * stimuli - f_s * f_p * (both - subjects - stimuli)
    var = np.maximum(np.maximum(var, f_s * subjects), f_p * stimuli)
    return np.minimum(var, both if rule == "rsatoolbox" else f_s * f_p * both), f_s * subjects, f_p * stimuli


def dual_dof(subjects, stimuli, n_units: int, n_stimuli: int, rule: str = "welch"):
    """Degrees of freedom of a two-factor variance: rsatoolbox's min(subjects, stimuli) - 1, or (``welch``)
    Welch-Satterthwaite's from the two factors' shares (subjects n_u - 1, stimuli n_p - 1), never below that."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    subjects = np.maximum(np.asarray(subjects, dtype=np.float64), 0)
    stimuli = np.maximum(np.asarray(stimuli, dtype=np.float64), 0)
    floor = float(min(n_units, n_stimuli) - 1)
    if rule == "rsatoolbox":
        return np.full(subjects.shape, floor)
    denom = subjects ** 2 / (n_units - 1) + stimuli ** 2 / (n_stimuli - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = np.where(denom > 0, (subjects + stimuli) ** 2 / denom, floor)
    return np.maximum(dof, floor)


def two_factor(point_units, boot_units, draws, n_stimuli: int, stimuli_rescaled: bool = False,
               levels: Optional[dict] = None) -> dict:
    """Mean over units (subjects, seeds) of a statistic, with t intervals that generalise to new stimuli and
    new units: ``point_units`` (U,) the statistic of each unit on the data, ``boot_units`` (U, B) on stimulus
    resample b, ``draws`` (B, U) the units drawn in resample b.  The three bootstraps of the correction: both
    (resample b's stimuli, its units), units alone (the data), stimuli alone (every unit once).  Returns
    ``mean``, ``se``, ``dof``, an interval per level (default ``ci68``, ``ci95``) and the two-sided t-test
    p-value of a zero mean."""
    from scipy import stats  # ~1 s to import: only where two factors are summarised

    point = np.asarray(point_units, dtype=np.float64)
    boot = np.asarray(boot_units, dtype=np.float64)
    draws = np.asarray(draws)
    U = len(point)
    weights = np.stack([np.bincount(d, minlength=U) for d in draws]).astype(np.float64) / draws.shape[1]
    both = np.einsum("bu,ub->b", weights, boot)
    units = weights @ point
    stimuli = boot.mean(0)
    var, subj, stim = dual_variance(np.var(both, ddof=1), np.var(units, ddof=1), np.var(stimuli, ddof=1), U,
                                    n_stimuli, stimuli_rescaled)
    se, dof = float(np.sqrt(max(var, 0.0))), float(dual_dof(subj, stim, U, n_stimuli))
    mean = float(point.mean())
    out = {"mean": mean, "se": se, "dof": dof, "per_unit": point.tolist()}
    for name, level in (levels or {"ci68": 0.68, "ci95": 0.95}).items():
        half = float(stats.t.ppf(0.5 + level / 2, dof) * se)
        out[name] = [mean - half, mean + half]
    out["p_value"] = float(2 * stats.t.sf(abs(mean) / max(se, np.sqrt(np.finfo(float).eps)), dof))
    return out
