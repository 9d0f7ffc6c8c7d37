import warnings

import numpy as np
import pytest
from rsatoolbox.data import Dataset
from rsatoolbox.rdm import calc_rdm

from repgeom import rdm


def _reference(X, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return calc_rdm(Dataset(np.asarray(X, dtype=np.float64)), method=method).get_matrices()[0]


def _features(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3, size=p) + rng.uniform(-2, 5, size=p)
    X[: n // 3] += 4.0 * rng.standard_normal(p)  # a cluster, so distances span a range
    return X


def _rel_error(got, ref):
    finite = ~np.isnan(ref)
    assert np.array_equal(np.isnan(got), np.isnan(ref)), "NaN pattern differs from rsatoolbox"
    return np.max(np.abs(got[finite] - ref[finite])) / np.max(np.abs(ref[finite]))


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
@pytest.mark.parametrize("n,p,block", [(97, 33, 16), (301, 1000, 64), (200, 5, 2048), (2, 7, 1)])
def test_float64_parity_with_rsatoolbox(method, n, p, block):
    X = _features(n, p)
    ref = _reference(X, method)
    got = rdm.compute(X, method, block=block)
    assert got.dtype == np.float64
    assert _rel_error(got, ref) <= 1e-9
    # elementwise too, away from exact zeros
    mask = np.abs(ref) > 1e-6 * np.abs(ref).max()
    assert np.allclose(got[mask], ref[mask], rtol=1e-9, atol=0)


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
@pytest.mark.parametrize("n,p,block", [(97, 33, 16), (513, 4000, 128)])
def test_float32_parity_with_rsatoolbox(method, n, p, block):
    X = _features(n, p, seed=1)
    ref = _reference(X, method)  # float64 truth
    got = rdm.compute(X.astype(np.float32), method, block=block)
    assert got.dtype == np.float32
    assert _rel_error(got, ref) <= 1e-5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_constant_rows_give_nan_correlation_like_rsatoolbox(dtype):
    X = _features(41, 12)
    X[[3, 17]] = 2.5  # constant patterns: Pearson r undefined
    ref = _reference(X, "correlation")
    got = rdm.compute(X.astype(dtype), "correlation", block=8)
    assert np.isnan(got[3, 5]) and np.isnan(got[17, 3]) and got[3, 3] == 0
    assert _rel_error(got, ref) <= (1e-9 if dtype == np.float64 else 1e-5)
    # euclidean has no such problem
    assert not np.isnan(rdm.compute(X.astype(dtype), "euclidean")).any()


@pytest.mark.parametrize("block", [None, 32])
def test_matrix_is_symmetric_with_zero_diagonal(block, monkeypatch):
    """Exactly, in one product and in row blocks, with mirror strips that do and don't divide N."""
    monkeypatch.setattr(rdm, "MIRROR_STRIP", 50)
    X = _features(131, 20)
    for method in ("euclidean", "correlation"):
        D = rdm.compute(X.astype(np.float32), method, block=block)
        assert np.array_equal(D, D.T)
        assert np.all(np.diag(D) == 0)


def test_condensed_order_is_rsatoolbox_vector_order():
    X = _features(23, 9)
    vec = calc_rdm(Dataset(X), method="euclidean").dissimilarities[0]
    assert np.allclose(rdm.condensed(rdm.compute(X, "euclidean")), vec, rtol=1e-12)


def test_other_methods_are_delegated_to_rsatoolbox():
    X = np.abs(_features(30, 8))
    for method in rdm.RDM_METHODS.where(lambda m: isinstance(m, rdm.DirectMethod)):
        assert np.allclose(rdm.compute(X, method), _reference(X, method), equal_nan=True)


def test_labels_rdm_is_one_hot_euclidean():
    labels = np.array([0, 1, 1, 2, 0])
    D = rdm.labels_rdm(labels, n_classes=3)
    assert rdm.labels_rdm(labels, n_classes=4).shape == (5, 5)  # classes come from the set, not the labels seen
    with pytest.raises(ValueError, match="labels outside"):
        rdm.labels_rdm(labels, n_classes=2)
    assert np.allclose(D, _reference(np.eye(3)[labels], "euclidean"))
    assert D[1, 2] == 0 and np.isclose(D[0, 1], 2 / 3)


def test_unknown_method():
    with pytest.raises(ValueError, match="valid"):
        rdm.compute(np.zeros((3, 2)), "cosine-ish")


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
def test_torch_backend_matches_numpy_backend(method):
    import torch

    # the CUDA code path, exercised on torch's CPU device (blocked, with a constant row)
    X = _features(150, 40).astype(np.float32)
    X[7] = 3.0
    ref = rdm.compute(X, method)
    got = rdm.compute(torch.from_numpy(X), method, block=64)  # a tensor in: torch back-end, tensor out
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    got = got.numpy()
    assert np.all(np.diag(got) == 0)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.nanmax(np.abs(got - ref)) / np.nanmax(ref) <= 1e-5


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("method", ["euclidean", "correlation"])
def test_cuda_rdm_matches_cpu(method):
    X = _features(500, 300).astype(np.float32)
    ref = rdm.compute(X, method)
    got = rdm.compute(X, method, device="cuda")
    assert np.nanmax(np.abs(got - ref)) / np.nanmax(ref) <= 1e-5


def test_a_new_rdm_method_is_one_registration():
    # cosine distance of uncentred patterns: one finish function and one line
    def finish_cosine(G, a, b, P, ops):
        with ops.quiet():
            G /= ops.sqrt(a)[:, None]
            G /= ops.sqrt(b)[None, :]
        ops.one_minus_(G)
        return G

    rdm.RDM_METHODS.register("cosine_test", rdm.GramMethod(None, finish_cosine, "1 - cosine"))
    try:
        X = _features(40, 7)
        got = rdm.compute(X, "cosine_test")
        unit = X / np.linalg.norm(X, axis=1, keepdims=True)
        ref = 1 - unit @ unit.T
        np.fill_diagonal(ref, 0)
        assert np.allclose(got, ref, atol=1e-12)
        assert np.allclose(rdm.compute(X, "cosine_test", block=8), ref, atol=1e-12)
    finally:
        rdm.RDM_METHODS.unregister("cosine_test")
