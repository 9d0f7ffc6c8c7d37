"""Representational dissimilarity matrices with rsatoolbox's exact semantics, from blocked Gram products.

* ``euclidean``: squared Euclidean distance divided by the number of channels P
  (rsatoolbox ``calc_rdm(..., 'euclidean')``).
* ``correlation``: 1 - Pearson r across channels (rows centred; constant rows
  give NaN, as in rsatoolbox).

Both are one Gram matrix away: D = (|a|² + |b|² - 2 a·b) / P, or 1 - z_a·z_b
for centred, unit-norm rows.  Only the upper triangle of blocks is multiplied
(about half the FLOPs of a full product) and the work runs in float32 GEMM on
the CPU through numpy's BLAS (measured ~2x torch's CPU matmul here) or on CUDA
through torch.  Per-row statistics (means, norms, squared norms) are taken in
float64.  Every other rsatoolbox method is delegated to rsatoolbox.
Matrices are returned square with an exact zero diagonal (what
``RDMs.get_matrices()`` gives).
"""

import numpy as np

FAST_METHODS = ("euclidean", "correlation")
RSATOOLBOX_METHODS = ("mahalanobis", "poisson")
METHODS = FAST_METHODS + RSATOOLBOX_METHODS


def _prepare(X, method):
    """Rows ready for the Gram product (in X's precision, at least float32) and, for euclidean, squared norms (float64)."""
    X = np.asarray(X)
    work = np.float64 if X.dtype == np.float64 else np.float32
    X64 = X.astype(np.float64, copy=False)
    if method == "euclidean":
        # translation invariant: centring the columns removes most float32 cancellation
        Z = X64 - X64.mean(axis=0, keepdims=True)
        Zw = Z.astype(work, copy=False)
        sq = np.einsum("ij,ij->i", Zw, Zw, dtype=np.float64)
        return Zw, sq
    Z = X64 - X64.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = Z / np.sqrt(np.einsum("ij,ij->i", Z, Z))[:, None]
    return Z.astype(work, copy=False), None


def _finish(G, method, sq_i, sq_j, P):
    if method == "euclidean":
        D = sq_i[:, None] + sq_j[None, :] - 2.0 * G
        np.maximum(D, 0.0, out=D)
        D /= P
        return D
    return 1.0 - G


def _blocks(n, block):
    return [(s, min(s + block, n)) for s in range(0, n, block)]


def _gram_cpu(Z, out_dtype, method, sq, P, block):
    n = Z.shape[0]
    D = np.empty((n, n), dtype=out_dtype)
    spans = _blocks(n, block)
    for a, (i0, i1) in enumerate(spans):
        for (j0, j1) in spans[a:]:
            G = (Z[i0:i1] @ Z[j0:j1].T).astype(np.float64)
            blk = _finish(G, method, sq[i0:i1] if sq is not None else None,
                          sq[j0:j1] if sq is not None else None, P)
            D[i0:i1, j0:j1] = blk
            if j0 != i0:
                D[j0:j1, i0:i1] = blk.T
    return D


def _gram_torch(Z, out_dtype, method, sq, P, block, device):
    import torch

    Zt = torch.from_numpy(Z).to(device)
    sqt = torch.from_numpy(sq).to(device) if sq is not None else None
    n = Z.shape[0]
    D = torch.empty((n, n), dtype=torch.float64, device=device)
    for a, (i0, i1) in enumerate(_blocks(n, block)):
        for (j0, j1) in _blocks(n, block)[a:]:
            G = (Zt[i0:i1] @ Zt[j0:j1].T).double()
            if method == "euclidean":
                blk = (sqt[i0:i1, None] + sqt[None, j0:j1] - 2.0 * G).clamp_min_(0.0) / P
            else:
                blk = 1.0 - G
            D[i0:i1, j0:j1] = blk
            if j0 != i0:
                D[j0:j1, i0:i1] = blk.T
    return D.cpu().numpy().astype(out_dtype)


def _rsatoolbox_rdm(X, method):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    return calc_rdm(Dataset(np.asarray(X, dtype=np.float64)), method=method).get_matrices()[0]


def compute(X, method="euclidean", block=2048, device="cpu", out_dtype=None):
    """The (N, N) RDM of the rows of ``X`` (N stimuli x P channels), float64 for float64 input, else float32."""
    if method not in METHODS:
        raise ValueError(f"unknown RDM method {method!r}; valid: {list(METHODS)}")
    X = np.asarray(X)
    X = X.reshape(len(X), -1)
    if out_dtype is None:
        out_dtype = np.float64 if X.dtype == np.float64 else np.float32
    if method in RSATOOLBOX_METHODS:
        D = _rsatoolbox_rdm(X, method).astype(out_dtype)
    else:
        Z, sq = _prepare(X, method)
        if str(device).startswith("cuda"):
            D = _gram_torch(Z, out_dtype, method, sq, X.shape[1], block, device)
        else:
            D = _gram_cpu(Z, out_dtype, method, sq, X.shape[1], block)
    np.fill_diagonal(D, 0.0)
    return D


def labels_rdm(labels, method="euclidean", n_classes=None):
    """RDM of the one-hot labels (the tutorial's 'labels' layer)."""
    labels = np.asarray(labels)
    n_classes = n_classes or int(labels.max()) + 1
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    return compute(onehot, method)


def condensed(D):
    """Upper triangle (k=1), row-major: scipy's squareform / rsatoolbox's vector order."""
    i, j = np.triu_indices(D.shape[0], k=1)
    return D[i, j]
