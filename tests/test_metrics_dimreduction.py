import numpy as np
import pytest

from repgeom import dimreduction, metrics, rdm


def test_separability_is_between_over_within():
    labels = np.array([0, 0, 1, 1])
    D = np.array([[0, 1, 4, 4], [1, 0, 4, 4], [4, 4, 0, 1], [4, 4, 1, 0]], dtype=float)
    assert metrics.separability(D, labels) == pytest.approx(4.0)
    assert metrics.separability(np.ones((4, 4)) - np.eye(4), labels) == pytest.approx(1.0)


def test_separability_rises_with_class_structure():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 20)
    centres = rng.standard_normal((5, 30)) * 3
    noisy = rng.standard_normal((100, 30))
    clustered = centres[labels] + 0.3 * noisy
    assert metrics.separability(rdm.compute(clustered, "euclidean"), labels) > \
        3 * metrics.separability(rdm.compute(noisy, "euclidean"), labels)


@pytest.mark.parametrize("method", dimreduction.METHODS)
def test_embeddings_are_seeded_2d(method):
    X = np.random.default_rng(1).standard_normal((60, 12))
    a = dimreduction.embed(X, method, seed=3, perplexity=40)
    assert a.shape == (60, 2) and np.isfinite(a).all()
    assert np.array_equal(a, dimreduction.embed(X, method, seed=3, perplexity=40))


def test_unknown_dimreduction():
    with pytest.raises(ValueError, match="valid"):
        dimreduction.embed(np.zeros((5, 2)), "UMAP")
