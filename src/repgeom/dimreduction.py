"""2-D views of one layer's representation: PCA, MDS and t-SNE as in the tutorial, seeded."""

import numpy as np

METHODS = ("PCA", "MDS", "t-SNE")


def embed(X, method, seed=0, perplexity=40.0):
    """(N, 2) embedding of the rows of X (flattened features)."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if method == "PCA":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(X)
    if method == "MDS":
        from sklearn.manifold import MDS

        try:  # the tutorial's MDS(n_components=2, normalized_stress='auto'): 4 random starts
            mds = MDS(n_components=2, normalized_stress="auto", n_init=4, init="random", random_state=seed)
        except TypeError:
            mds = MDS(n_components=2, normalized_stress="auto", n_init=4, random_state=seed)
        return mds.fit_transform(X)
    if method == "t-SNE":
        from sklearn.manifold import TSNE

        perplexity = min(perplexity, (len(X) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, random_state=seed).fit_transform(X)
    raise ValueError(f"unknown dimensionality reduction {method!r}; valid: {list(METHODS)}")


def embedding_id(method, seed=0, perplexity=40.0):
    """A file-name-safe id for one embedding recipe, so analyses asking for the same one share a single job.

    Every method is seeded (scikit-learn's PCA picks a randomized solver for wide data); only t-SNE has a perplexity.
    """
    if method == "PCA":
        return f"pca-seed{seed}"
    if method == "MDS":
        return f"mds-seed{seed}"
    if method == "t-SNE":
        return f"tsne-perplexity{perplexity:g}-seed{seed}"
    raise ValueError(f"unknown dimensionality reduction {method!r}; valid: {list(METHODS)}")
