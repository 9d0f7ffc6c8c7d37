"""2-D views of one layer's representation: PCA, MDS and t-SNE as in the tutorial, seeded (``REDUCTIONS``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .registry import Registry

REDUCTIONS = Registry("dimensionality reduction")


@dataclass(frozen=True)
class Reduction:
    """``embed(X, seed, perplexity) -> (N, 2)``; ``recipe(seed, perplexity)`` names what fixes the result;
    ``check(perplexity, n)``: why these settings can't embed ``n`` stimuli (None: they can)."""

    embed: Callable
    recipe: Callable
    description: str = ""
    check: Callable[[float, int], Optional[str]] = lambda perplexity, n: None


def _pca(X, seed, perplexity):
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(X)


def _mds(X, seed, perplexity):
    from sklearn.manifold import MDS

    try:  # the tutorial's MDS(n_components=2, normalized_stress='auto'): 4 random starts
        mds = MDS(n_components=2, normalized_stress="auto", n_init=4, init="random", random_state=seed)
    except TypeError:
        mds = MDS(n_components=2, normalized_stress="auto", n_init=4, random_state=seed)
    return mds.fit_transform(X)


def effective_perplexity(perplexity: float, n: int) -> float:
    """t-SNE's perplexity must stay below (n - 1) / 3 stimuli: the value actually used."""
    return min(float(perplexity), (n - 1) / 3)


def _tsne(X, seed, perplexity):
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=effective_perplexity(perplexity, len(X)),
                random_state=seed).fit_transform(X)


# Every method is seeded (scikit-learn's PCA picks a randomized solver for wide data); only t-SNE has a perplexity.
REDUCTIONS.register("PCA", Reduction(_pca, lambda seed, p: f"pca-seed{seed}", "principal components"))
REDUCTIONS.register("MDS", Reduction(_mds, lambda seed, p: f"mds-seed{seed}", "metric MDS of Euclidean distances"))
def _tsne_check(perplexity, n):
    if perplexity >= (n - 1) / 3:
        return (f"{perplexity:g} is too large for {n} stimuli (t-SNE needs less than (N - 1) / 3 = "
                f"{(n - 1) / 3:.1f})")
    return None


REDUCTIONS.register("t-SNE", Reduction(_tsne, lambda seed, p: f"tsne-perplexity{p:g}-seed{seed}",
                                       "t-SNE (perplexity capped at (N-1)/3)", _tsne_check))
METHODS = tuple(REDUCTIONS.names())


def embed(X, method, seed=0, perplexity=40.0):
    """(N, 2) embedding of the rows of X (flattened features)."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    return REDUCTIONS[method].embed(X, seed, perplexity)


def silhouette(embedding, labels):
    """How well a 2-D view separates the classes: scikit-learn's silhouette score (NaN with one class)."""
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return float("nan")
    return float(silhouette_score(embedding, labels))


def embedding_id(method, seed=0, perplexity=40.0):
    """A file-name-safe id for one embedding recipe, so analyses asking for the same one share a single job."""
    return REDUCTIONS[method].recipe(seed, perplexity)
