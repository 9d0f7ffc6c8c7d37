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
