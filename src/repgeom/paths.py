"""Representational paths: compare layer RDMs with each other, turn similarity into distance, embed in 2-D.

Semantics follow rsatoolbox ``compare`` and the tutorial's ``rep_path``:
positions that are NaN in any RDM are left out of every comparison, a
zero-norm RDM has cosine 0 with everything, similarity becomes distance by
``arccos`` (current course) or ``1 - s`` (older course), NaN -> 0, the
matrix is symmetrised, and it is embedded with seeded metric MDS.

``cosine`` and ``corr`` are computed by streaming row blocks of the RDMs
(memory independent of the number of RDMs held); every other rsatoolbox
comparison method is delegated to rsatoolbox.
"""

import numpy as np

STREAMED_METHODS = ("cosine", "corr")
RSATOOLBOX_METHODS = ("spearman", "rho-a", "tau-a", "kendall", "corr_cov", "cosine_cov", "bures")
COMPARE_METHODS = STREAMED_METHODS + RSATOOLBOX_METHODS
DISTANCES = ("arccos", "one_minus")


def _row_block(rdm, i0, i1):
    return np.asarray(rdm[i0:i1], dtype=np.float64)


def gram_of_rdms(rdms, n, block=256):
    """(G, sums, count) over the upper-triangle entries that are non-NaN in every RDM.

    ``rdms`` is a sequence of symmetric N x N matrices with zero diagonals,
    anything sliceable by rows (numpy arrays, zarr arrays, :class:`CubeLayer`).
    Full row blocks are used and halved (each pair appears twice, the diagonal
    adds nothing), which avoids gathering the triangle.
    """
    L = len(rdms)
    G = np.zeros((L, L))
    sums = np.zeros(L)
    count = 0
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        rows = np.stack([np.asarray(r[i0:i1], dtype=np.float64) for r in rdms]).reshape(L, -1)
        bad = np.isnan(rows).any(axis=0)
        if bad.any():
            rows[:, bad] = 0.0
        diag = np.arange(i0, i1)
        count += rows.shape[1] - int(bad.sum()) - int((~bad.reshape(i1 - i0, n)[diag - i0, diag]).sum())
        G += rows @ rows.T
        sums += rows.sum(axis=1)
    return G / 2.0, sums / 2.0, count // 2


def compare_streamed(rdms, n, method="cosine", block=256):
    """L x L similarity (rsatoolbox ``compare`` semantics) of N x N RDMs, streamed by row blocks."""
    if method not in STREAMED_METHODS:
        raise ValueError(f"{method!r} is not streamed; streamed methods: {list(STREAMED_METHODS)}")
    return _similarity(*gram_of_rdms(rdms, n, block), method)


def _similarity(G, sums, count, method):
    """cosine (or, on centred vectors, Pearson) similarity from the Gram matrix of RDM vectors; zero norm -> 0."""
    if method == "corr":
        G = G - np.outer(sums, sums) / count
    norms = np.sqrt(np.clip(np.diag(G), 0, None))
    ok = norms > 0
    sim = np.zeros_like(G)
    sim[np.ix_(ok, ok)] = G[np.ix_(ok, ok)] / np.outer(norms[ok], norms[ok])
    return sim


def compare_torch(rdms, method="cosine", block=1024):
    """Like :func:`compare_streamed` for N x N torch tensors on one device (e.g. CUDA); float64 accumulation."""
    import torch

    if method not in STREAMED_METHODS:
        raise ValueError(f"{method!r} is not streamed; streamed methods: {list(STREAMED_METHODS)}")
    n, L = rdms[0].shape[0], len(rdms)
    dev = rdms[0].device
    G = torch.zeros((L, L), dtype=torch.float64, device=dev)
    sums = torch.zeros(L, dtype=torch.float64, device=dev)
    count = 0
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        rows = torch.stack([r[i0:i1].double() for r in rdms]).reshape(L, -1)
        bad = torch.isnan(rows).any(dim=0)
        rows[:, bad] = 0.0
        idx = torch.arange(i0, i1, device=dev)
        ok = ~bad.reshape(i1 - i0, n)
        count += int(ok.sum()) - int(ok[idx - i0, idx].sum())
        G += rows @ rows.T
        sums += rows.sum(dim=1)
    return _similarity((G / 2.0).cpu().numpy(), (sums / 2.0).cpu().numpy(), count // 2, method)


def compare_rsatoolbox(matrices, method):
    """L x L similarity by rsatoolbox.rdm.compare (for the methods not streamed here)."""
    from rsatoolbox.rdm import RDMs, compare

    rdms = RDMs(np.stack([np.asarray(m, dtype=np.float64) for m in matrices]))
    return compare(rdms, rdms, method=method)


def compare(rdms, n, method="cosine", block=256):
    """L x L similarity between RDMs by any rsatoolbox comparison method."""
    if method in STREAMED_METHODS:
        return compare_streamed(rdms, n, method, block)
    if method in RSATOOLBOX_METHODS:
        return compare_rsatoolbox([np.asarray(r[0:n]) for r in rdms], method)
    raise ValueError(f"unknown comparison method {method!r}; valid: {list(COMPARE_METHODS)}")


def similarity_to_distance(sim, transform="arccos"):
    """Distance between RDMs: arccos(s) (the current course) or 1 - s (the older one); NaN -> 0; symmetrised."""
    if transform == "arccos":
        dist = np.arccos(np.clip(sim, -1.0, 1.0))
    elif transform == "one_minus":
        dist = 1.0 - sim
    else:
        raise ValueError(f"unknown distance transform {transform!r}; valid: {list(DISTANCES)}")
    dist = np.nan_to_num(dist, nan=0.0)
    dist = (dist + dist.T) / 2.0
    np.fill_diagonal(dist, 0.0)
    return dist


def embed_mds(dist, seed=0, n_init=10, max_iter=1000):
    """2-D metric MDS of a precomputed distance matrix (the tutorial's settings, seeded)."""
    from sklearn.manifold import MDS

    kwargs = dict(n_components=2, max_iter=max_iter, n_init=n_init, random_state=seed)
    try:
        mds = MDS(metric="precomputed", normalized_stress="auto", init="random", **kwargs)
    except TypeError:  # scikit-learn < 1.8 spells it dissimilarity=
        mds = MDS(dissimilarity="precomputed", normalized_stress="auto", **kwargs)
    return mds.fit_transform(dist)


def procrustes_align(reference, other):
    """``other`` rotated/reflected (and scaled, shifted) onto ``reference``; returns (aligned, disparity)."""
    from scipy.spatial import procrustes

    ref_std, aligned, disparity = procrustes(reference, other)
    # back to the reference's scale and position, so plots share axes
    scale = np.linalg.norm(reference - reference.mean(0))
    return aligned * scale + reference.mean(0), float(disparity)


class CubeLayer:
    """Row-sliceable view of one layer of an RDM cube (a zarr array of shape (L, N, N))."""

    def __init__(self, array, index):
        self.array, self.index = array, index

    def __getitem__(self, rows):
        return self.array[self.index, rows]


def duplicate_inputs(models, layers):
    """Boolean mask of entries to hide in displays: the ``input`` entry of every model after the first.

    (The tutorial fits MDS with them and then drops them from the matrix shown.)
    """
    seen = False
    mask = []
    for layer in layers:
        dup = layer == "input" and seen
        seen = seen or layer == "input"
        mask.append(dup)
    return np.array(mask)


def representational_path(rdms, n, compare_method="cosine", distance="arccos", seed=0):
    """The tutorial's rep_path numbers: (similarity, distance, 2-D MDS embedding) of a list of N x N RDMs."""
    sim = compare(rdms, n, compare_method)
    dist = similarity_to_distance(sim, distance)
    return sim, dist, embed_mds(dist, seed=seed)
