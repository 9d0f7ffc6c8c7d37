"""Intervals that mean what they say: debiased CKA, seeded stimulus bootstraps, and their coverage."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from repgeom import compare, paths, rdm


def _hsic_u(K, L):
    """The unbiased HSIC estimator (Song et al. 2012), brute force in float64."""
    n = len(K)
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ K @ L @ one) / (n * (n - 3))


def _cka_brute(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    return _hsic_u(K, L) / np.sqrt(_hsic_u(K, K) * _hsic_u(L, L))


def _features(seed=0, n=50):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 12)) + np.repeat(rng.standard_normal((5, 12)) * 2, n // 5, axis=0)
    Y = np.tanh(X @ rng.standard_normal((12, 9))) + 0.3 * rng.standard_normal((n, 9))
    return X, Y


def test_cka_equals_a_brute_force_unbiased_hsic():
    X, Y = _features()
    got = compare.similarity([rdm.compute(X, "euclidean"), rdm.compute(Y, "euclidean")], 50, "cka", block=7)
    assert abs(got[0, 1] - _cka_brute(X, Y)) <= 1e-10
    assert got[0, 1] == got[1, 0] and abs(got[0, 0] - 1) <= 1e-12  # 1 for identical inputs


def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling():
    X, Y = _features(1)
    Q = ortho_group.rvs(12, random_state=3)
    base = compare.similarity([rdm.compute(X, "euclidean"), rdm.compute(Y, "euclidean")], 50, "cka")[0, 1]
    for X2 in (X @ Q, 7.5 * X, 0.01 * X @ Q + 3.0):  # rotation/reflection, scale, and a shift on top
        got = compare.similarity([rdm.compute(X2, "euclidean"), rdm.compute(Y, "euclidean")], 50, "cka")[0, 1]
        assert abs(got - base) <= 1e-10
    same = compare.similarity([rdm.compute(X, "euclidean"), rdm.compute(5 * X @ Q, "euclidean")], 50, "cka")
    assert abs(same[0, 1] - 1) <= 1e-10


def test_cka_refuses_nan_rdms():
    X = np.random.default_rng(0).standard_normal((20, 4))
    X[3] = 1.0
    with pytest.raises(ValueError, match="without NaN"):
        compare.similarity([rdm.compute(X, "correlation"), rdm.compute(X, "euclidean")], 20, "cka")


def _entries(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    mats = [rdm.compute(X @ rng.standard_normal((6, 6)) + 0.2 * k * rng.standard_normal((n, 6)), "euclidean")
            for k in range(3)]
    labels = rdm.labels_rdm(np.arange(n) % 4, 4)
    return [paths.Entry("m", "model", ["input", "h", "out"], mats),
            paths.Entry("labels", "labels", ["labels"], [labels], "point")]


def test_a_bootstrap_is_identical_for_its_seed_and_differs_for_another():
    entries = _entries()
    a, b, c = (paths.compute([entries], 40, n_boot=30, boot_seed=seed).bootstrap for seed in (5, 5, 6))
    for key in ("samples", "distance", "embedding"):
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["samples"], c["samples"]) and not np.allclose(a["distance"], c["distance"])
    # the resamples' similarities are those of the resampled matrices, self-pairs left out
    k = 3
    idx = a["samples"][k]
    direct = compare.similarity([r for e in entries for r in e.rdms], 40, "cosine", stim_index=idx)
    assert np.allclose(a["similarity"][k], direct, atol=1e-12)


@pytest.mark.parametrize("method", ["cosine", "corr"])
@pytest.mark.parametrize("block", [256, 7, 1])
def test_every_resample_equals_comparing_the_resampled_matrices(method, block):
    """The one-GEMM-for-all-resamples accumulation against the definition, resample by resample: float32 and
    float64 RDMs, a NaN pair (left out of every resample that draws it), blocks that do and don't divide n."""
    rng = np.random.default_rng(0)
    n = 61
    X = rng.standard_normal((n, 7))
    mats = [rdm.compute(X @ rng.standard_normal((7, 7)) + 0.3 * k * rng.standard_normal((n, 7)), "euclidean")
            .astype(np.float32) for k in range(5)]
    mats[2] = mats[2].astype(np.float64)
    mats[2][3, 9] = mats[2][9, 3] = np.nan
    samples = rng.integers(0, n, size=(25, n))
    fast = compare.bootstrap_similarity(mats, n, method, samples, block)
    direct = np.stack([compare.similarity(mats, n, method, stim_index=s) for s in samples])
    assert fast.shape == (25, 5, 5)
    np.testing.assert_allclose(fast, direct, rtol=0, atol=1e-13)


class _CountedRows:
    """An RDM source that is not in memory (as a stored cube's layer is): counts its reads."""

    def __init__(self, matrix):
        self.matrix, self.n, self.reads = matrix, len(matrix), 0

    def rows(self, index):
        self.reads += 1
        return np.asarray(self.matrix[index], dtype=np.float64)


@pytest.mark.parametrize("block", [None, 4])
def test_stored_rdms_are_read_once_in_one_block_and_block_by_block_in_several(block):
    """Sources with their own ``rows`` (stored cubes) are read whole once when the walk is one block, else one
    row block per block pair; every resample equals the definition either way (upper-triangle pairs)."""
    rng = np.random.default_rng(3)
    n = 45
    mats = [rdm.compute(rng.standard_normal((n, 6)) + k * rng.standard_normal((n, 6)), "euclidean") for k in range(4)]
    sources = [_CountedRows(m) for m in mats]
    samples = rng.integers(0, n, size=(30, n))
    fast = compare.bootstrap_similarity(sources, n, "cosine", samples, block=block)
    direct = np.stack([compare.similarity(mats, n, "cosine", stim_index=s) for s in samples])
    np.testing.assert_allclose(fast, direct, rtol=0, atol=1e-13)
    spans = 1 if block is None else -(-n // block)
    assert [s.reads for s in sources] == [spans * (spans + 1) // 2] * 4


@pytest.mark.parametrize("method", ["cosine", "corr"])
def test_the_95_interval_covers_a_known_population_value_95_percent_of_the_time(method):
    """Gaussian class clusters seen by two 'layers' (x, and a noisy nonlinear map of x): the population value
    of the RDM similarity is taken over 2 million independent stimulus pairs; 300 simulated experiments of
    40 stimuli each get a 200-resample percentile interval, as paths get theirs."""
    rng = np.random.default_rng(1)
    K, d = 4, 10
    mu = rng.standard_normal((K, d)) * 1.2
    A = rng.standard_normal((d, d)) / np.sqrt(d)

    def draw(n):
        x = mu[rng.integers(0, K, n)] + rng.standard_normal((n, d))
        return x, np.tanh(x @ A) + 0.5 * rng.standard_normal((n, d))

    x1, y1 = draw(2_000_000)
    x2, y2 = draw(2_000_000)
    da, db = ((x1 - x2) ** 2).mean(1), ((y1 - y2) ** 2).mean(1)
    truth = ((da * db).mean() / np.sqrt((da ** 2).mean() * (db ** 2).mean()) if method == "cosine"
             else np.corrcoef(da, db)[0, 1])
    covered = []
    for _ in range(300):
        x, y = draw(40)
        sims = compare.bootstrap_similarity([rdm.compute(x, "euclidean"), rdm.compute(y, "euclidean")], 40, method,
                                            rng.integers(0, 40, size=(200, 40)))[:, 0, 1]
        lo, hi = np.percentile(sims, [2.5, 97.5])
        covered.append(lo <= truth <= hi)
    assert 0.90 <= np.mean(covered) <= 0.99, np.mean(covered)

