"""Representational paths straight from feature stores: the RDM-of-RDMs without ever holding an N x N matrix.

Every comparison a path can stream is a function of statistics that accumulate over stimulus pairs: the
inner products of the RDM vectors (G), their sums, the pair count, and each RDM's row sums (for the
centring of CKA; see :func:`repgeom.compare.cka_from_pair_stats`).  So they are gathered block by block:
for every pair of row blocks (a <= b) of the stimuli, each RDM's block D[a, b] is made from its source —
a Gram block of the node's features (``Z_a Z_b'``, finished in place by the RDM method: the same
arithmetic as the cube route), the one-hot labels, or a stored cube's rows — and the K blocks are
multiplied together once (float64).  Aliased nodes (one stored array for several nodes) are computed
once and their rows of G copied.

Memory: the row block ``Z_a`` of every distinct node (kept while it is paired with every later block),
one ``Z_b`` at a time, and K block-sized RDM pieces: O(block * sum(P) + K * block^2), independent of N^2;
``block_for_budget`` picks the largest block that fits a budget.  Flops: the cube route's (one product per
pair of blocks, half of N^2 * P per node); reads: every row block of the features once per earlier block,
from the raw chunks with their checksums verified (:meth:`repgeom.store.CheckedArray.read_rows`).

Back-ends: numpy on the CPU (BLAS), or torch on any device (``device="cuda"``); the statistics are float64
either way and equal the cube route's to float32 rounding (tested, <= 1e-6).  scikit-learn's
``pairwise_distances_chunked(..., reduce_func=...)`` is the same shape: a chunked pairwise computation with
the reduction passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from . import rdm as rdm_mod
from .store import apply_node_op


# ---- back-ends: where the blocks are computed ----------------------------------------------------------

class _NumpyBackend:
    ops = rdm_mod.NUMPY_OPS
    name = "numpy"

    def array(self, x):
        return np.ascontiguousarray(x, dtype=np.float32)

    def array64(self, x):
        return np.asarray(x, dtype=np.float64)

    def gram(self, A, B):
        return A @ B.T

    def stack64(self, blocks, r0, r1, buf):
        """Rows r0:r1 of every block, as float64 (K, rows, kb), written into the reused buffer ``buf``."""
        V = buf[:len(blocks) * (r1 - r0) * blocks[0].shape[1]].reshape(len(blocks), r1 - r0, blocks[0].shape[1])
        for k, blk in enumerate(blocks):
            V[k] = blk[r0:r1]
        return V

    def buffer(self, size):
        return np.empty(int(size))

    def numpy(self, x):
        return np.asarray(x)

    def zeros(self, shape):
        return np.zeros(shape)

    def isnan(self, x):
        return np.isnan(x)

    def zero_diagonal(self, V, offset=0):
        """Zero V[:, i, offset + i]: rows ``offset``.. of a diagonal block meet their own columns there."""
        k = np.arange(V.shape[1])
        V[:, k, offset + k] = 0.0


class _TorchBackend:
    ops = rdm_mod.TORCH_OPS

    def __init__(self, device):
        import torch

        from .networks import strict_float32

        self.torch, self.device = torch, torch.device(device)
        strict_float32(self.device)
        self.name = f"torch:{self.device}"

    def array(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device, self.torch.float32)
        return self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)

    def array64(self, x):
        return self.torch.from_numpy(np.asarray(x, dtype=np.float64)).to(self.device)

    def gram(self, A, B):
        return A @ B.T

    def stack64(self, blocks, r0, r1, buf):
        return self.torch.stack([b[r0:r1].to(self.torch.float64) for b in blocks])

    def buffer(self, size):
        return None

    def numpy(self, x):
        return x.detach().cpu().numpy()

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def isnan(self, x):
        return self.torch.isnan(x)

    def zero_diagonal(self, V, offset=0):
        V.diagonal(offset=offset, dim1=1, dim2=2).zero_()


def backend(device: str = "cpu"):
    """numpy for ``cpu``; torch for any other device (``cuda``, ``cuda:1``, ``torch-cpu`` = torch on the CPU)."""
    if device in (None, "cpu", "numpy"):
        return _NumpyBackend()
    return _TorchBackend("cpu" if device == "torch-cpu" else device)


# ---- block sources: one per distinct RDM ---------------------------------------------------------------

def _read(features, a0, a1, out=None):
    """Rows a0:a1 of a features array as float32 (N, P), into ``out`` if given: the fast checked reader of a
    store (:meth:`repgeom.store.CheckedArray.read_rows`), else a copy of the slice (it is centred in place)."""
    if hasattr(features, "read_rows"):
        return features.read_rows(a0, a1, out).reshape(a1 - a0, -1)
    X = np.asarray(features[a0:a1], dtype=np.float32).reshape(a1 - a0, -1)
    if out is None:
        return X.copy()
    view = out.reshape(-1)[:X.size].reshape(X.shape)
    view[...] = X
    return view


class FeatureRDM:
    """An RDM whose blocks are Gram blocks of a features array (N, ...) finished by a Gram RDM method.

    ``prepare`` reads the features once for a column-centred method (the column means, accumulated in
    float64); ``load(a0, a1)`` gives a block's centred rows; ``block`` finishes their Gram product in place.
    The squared norms of the centred rows are taken from each row block the first time it is loaded (the
    first row of blocks meets every block), so they cost no pass of their own.  ``op``: a derived node's
    op (:data:`repgeom.store.NODE_OPS`), applied to every row block read (a ReLU node from its stored input).
    """

    def __init__(self, features, method: str, name: str = "", op: Optional[str] = None):
        self.features, self.name, self.op = features, name, op
        self.method = rdm_mod.RDM_METHODS[method]
        if not isinstance(self.method, rdm_mod.GramMethod):
            raise ValueError(f"RDM method {method!r} is not a Gram-product method, so it cannot be streamed; "
                             f"streamable: {rdm_mod.RDM_METHODS.where(lambda m: isinstance(m, rdm_mod.GramMethod))}")
        self.n, self.P = int(features.shape[0]), int(np.prod(features.shape[1:]))
        self._mean = None

    def prepare(self, be, chunk: int, out: Optional[np.ndarray] = None):
        """``out``: a float32 buffer of at least ``chunk`` rows to read into (shared by the sources of a path:
        a buffer of its own per source would be fresh memory, page-faulted, each time)."""
        self._sq, self._seen = np.empty(self.n, dtype=np.float32), set()
        if self.method.center == "columns":
            total = np.zeros(self.P)
            chunk = min(chunk, self.n)
            buf = out if out is not None and out.size >= chunk * self.P else np.empty(chunk * self.P, np.float32)
            ones = np.ones((1, chunk), dtype=np.float32)
            for a0 in range(0, self.n, chunk):
                X = apply_node_op(_read(self.features, a0, min(a0 + chunk, self.n), buf), self.op)
                total += (ones[:, :len(X)] @ X)[0]  # BLAS: a pass at memory speed
            self._mean = (total / self.n).astype(np.float32)

    def load(self, be, a0, a1, out=None):
        X = apply_node_op(_read(self.features, a0, a1, out), self.op)
        if self.method.center == "columns":
            X -= self._mean
        elif self.method.center == "rows":
            X -= X.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
        if (a0, a1) not in self._seen:
            self._sq[a0:a1] = np.einsum("ij,ij->i", X, X)
            self._seen.add((a0, a1))
        return be.array(X)

    def block(self, be, Za, Zb, a, b):
        sq = be.array(self._sq)
        return self.method.finish(be.gram(Za, Zb), sq[a[0]:a[1]], sq[b[0]:b[1]], self.P, be.ops)

    def row_bytes(self):
        return 4 * self.P

    block_itemsize = 4  # its RDM blocks are float32


def feature_sources(group, layers: Sequence[str], method: str, opened: Optional[dict] = None,
                    name: str = "") -> list:
    """The :class:`FeatureRDM` of each of ``layers`` in an opened features store, in order: one per distinct
    (stored array, op) -- an alias shares its node's source, a derived node (a ReLU) reads the node it is of.

    ``opened``: a dict shared across calls (and stores: keyed by the store's path), so a path's entries over
    one store share their sources; sources repeat in the list where layers share one.
    """
    from .store import NodeLayout

    opened = {} if opened is None else opened
    attrs = dict(group.attrs)
    layout = NodeLayout.from_attrs(attrs)
    where = getattr(group, "path", name)
    out = []
    for layer in layers:
        stored, op = layout.source(layer)
        if stored not in group:
            raise ValueError(f"{where} holds no features of node {layer!r} (stored: {group.array_names()})")
        key = (where, stored, op)
        if key not in opened:
            label = f"{name or attrs.get('model', where)}/{stored if op is None else f'{op}({stored})'}"
            opened[key] = FeatureRDM(group[stored], method, label, op=op)
        out.append(opened[key])
    return out


class LabelsRDM:
    """The one-hot labels RDM by an RDM method, block by block (its value for a same / other class pair)."""

    def __init__(self, labels, n_classes: int, method: str, name: str = "labels"):
        self.labels, self.name = np.asarray(labels), name
        self.n = len(self.labels)
        probe = rdm_mod.labels_rdm(np.array([0, 0, min(1, n_classes - 1)]), max(n_classes, 1), method)
        self.same, self.other = float(probe[0, 1]), float(probe[0, 2])

    def prepare(self, be, chunk, out=None):
        pass

    def load(self, be, a0, a1, out=None):
        return self.labels[a0:a1]

    def block(self, be, La, Lb, a, b):
        return be.array64(np.where(La[:, None] == Lb[None, :], self.same, self.other))

    def row_bytes(self):
        return 8


class CubeBlocks:
    """One layer of a stored cube (:class:`repgeom.cubes.CubeRows`) read as row blocks (small reference RDMs)."""

    def __init__(self, rows, name: str = ""):
        self.source, self.n, self.name = rows, rows.n, name

    def prepare(self, be, chunk, out=None):
        pass

    def load(self, be, a0, a1, out=None):
        return self.source.rows(slice(a0, a1))

    def block(self, be, Ra, Rb, a, b):
        return be.array64(Ra[:, b[0]:b[1]])

    def row_bytes(self):
        return 8 * self.n


# ---- the accumulation ----------------------------------------------------------------------------------

@dataclass
class PairStats:
    """Over the unordered stimulus pairs non-NaN in every RDM: inner products ``G`` (K x K), ``sums`` (K),
    ``count``; each RDM's own NaN pairs ``nans`` (K); each RDM's ``row_sums`` (K x N, diagonal excluded)."""

    G: np.ndarray
    sums: np.ndarray
    count: int
    nans: np.ndarray
    row_sums: np.ndarray

    def select(self, index) -> "PairStats":
        """The statistics of RDMs ``index`` (e.g. every node of a path, aliases repeating a source)."""
        index = np.asarray(index)
        return PairStats(self.G[np.ix_(index, index)], self.sums[index], self.count, self.nans[index],
                         self.row_sums[index])


ACCUMULATE_BYTES = 64e6  # float64 rows of the K blocks converted and multiplied at a time
MIN_SPANS = 4  # row blocks a path's stimuli are split into at least (block_for_budget)


def block_for_budget(sources: Sequence, n: int, budget_bytes: float, multiple: int = 250,
                     min_spans: int = MIN_SPANS) -> int:
    """The largest row block (a multiple of ``multiple``, the stores' chunk rows) whose working set fits,
    and no larger than a ``min_spans``-th of the stimuli (rounded up to a multiple).

    Working set: the kept row block of every source, one paired row block (none when one block covers
    every stimulus), the K RDM blocks, and the float64 rows being accumulated.  Why not simply the largest
    block: the working set is fresh memory, each page faulted in once (on a virtual machine ~2.5 s a GB
    the first time), while a smaller block costs only re-reads of row blocks from the page cache (~6 GB/s):
    the sum is smallest near a quarter of N here (N=2,000: 3.6 s a path at 500 rows, 5.0 s at 1,500;
    N=10,000: 1,500 rows, the budget's, beat 750 -- docs/decisions.md).
    """
    per_row = sum(s.row_bytes() for s in sources)
    widest = max(s.row_bytes() for s in sources)
    block_bytes = sum(getattr(s, "block_itemsize", 8) for s in sources)

    def need(block):
        paired = 0 if block >= n else block * widest
        return block * per_row + paired + block * block * block_bytes + ACCUMULATE_BYTES

    cap = n if min_spans <= 1 else min(n, -(-n // (min_spans * multiple)) * multiple)
    best = min(multiple, n)
    for block in list(range(multiple, n, multiple)) + [n]:
        if need(block) > budget_bytes or block > cap:
            break
        best = block
    return best


def pair_stats(sources: Sequence, n: int, block: int = 500, device: str = "cpu",
               progress: Optional[Callable[[str], None]] = None, timings: Optional[dict] = None) -> PairStats:
    """Pair statistics of the RDMs of ``sources`` (one per distinct RDM, all over the same ``n`` stimuli).

    ``timings`` (a dict) receives seconds spent reading and centring rows (``load``), in the RDM blocks
    (``blocks``: Gram products and their finish) and in the accumulation (``accumulate``).
    """
    import time

    clock = time.perf_counter
    t = {"prepare": 0.0, "load": 0.0, "blocks": 0.0, "accumulate": 0.0}
    for s in sources:
        if s.n != n:
            raise ValueError(f"{s.name or s}: {s.n} stimuli, the path has {n}")
    be = backend(device)
    # reused read buffers (fresh memory would page-fault on every block): one per source for its kept row
    # block, one shared for the block it is paired with (and for the sources' preparing passes)
    widths = [getattr(s, "P", 0) for s in sources]
    keep = [np.empty(block * w, dtype=np.float32) if w else None for w in widths]
    scratch = np.empty(block * max(widths + [0]), dtype=np.float32)
    t0 = clock()
    for s in sources:
        s.prepare(be, block, out=scratch)
    t["prepare"] += clock() - t0
    K = len(sources)
    G, sums, nans = be.zeros((K, K)), be.zeros(K), np.zeros(K, dtype=np.int64)
    row_sums = be.zeros((K, n))
    count = 0
    spans = [(s, min(s + block, n)) for s in range(0, n, block)]
    total, done = len(spans) * (len(spans) + 1) // 2, 0
    acc_buf = None
    for ia, a in enumerate(spans):
        t0 = clock()
        rows_a = [s.load(be, *a, out=buf) for s, buf in zip(sources, keep)]
        t["load"] += clock() - t0
        for b in spans[ia:]:
            diagonal = b == a
            blocks = []
            for s, ra in zip(sources, rows_a):
                t0 = clock()
                rb = ra if diagonal else s.load(be, *b, out=scratch)
                t1 = clock()
                blocks.append(s.block(be, ra, rb, a, b))
                del rb
                t2 = clock()
                t["load"] += t1 - t0
                t["blocks"] += t2 - t1
            t0 = clock()
            ka, kb = a[1] - a[0], b[1] - b[0]
            # accumulate in row chunks: float64 copies of ~ACCUMULATE_BYTES at a time, not of whole blocks
            step = max(1, int(ACCUMULATE_BYTES // (8 * K * kb)))
            if acc_buf is None or acc_buf.size < K * step * kb:
                acc_buf = be.buffer(K * step * kb)
            for r0 in range(0, ka, step):
                r1 = min(r0 + step, ka)
                V = be.stack64(blocks, r0, r1, acc_buf)  # (K, rows, kb)
                if diagonal:
                    be.zero_diagonal(V, r0)  # a stimulus with itself is no pair
                rs = V.sum(2)  # (K, rows): NaN wherever a row holds a NaN pair
                if bool(be.isnan(rs).any()):
                    flat, pairs, chunk_nans = _drop_nan_pairs(be, V.reshape(K, -1), r1 - r0, kb,
                                                              r0 if diagonal else None)
                    V = flat.reshape(K, r1 - r0, kb)
                    nans += chunk_nans
                    rs = V.sum(2)
                elif diagonal:
                    pairs = sum(ka - 1 - r for r in range(r0, r1))  # pairs above the diagonal in these rows
                else:
                    pairs = (r1 - r0) * kb
                flat = V.reshape(K, -1)
                weight = 0.5 if diagonal else 1.0  # a diagonal block holds each of its pairs twice
                G += weight * (flat @ flat.T)
                sums += weight * rs.sum(1)
                count += pairs
                row_sums[:, a[0] + r0:a[0] + r1] += rs
                if not diagonal:
                    row_sums[:, b[0]:b[1]] += V.sum(1)
                del V, flat
            del blocks
            t["accumulate"] += clock() - t0
            done += 1
        if progress:
            progress(f"streamed path: row block {ia + 1} / {len(spans)} ({done} / {total} block pairs)")
    if timings is not None:
        timings.update(t)
    return PairStats(be.numpy(G), be.numpy(sums), int(count), nans, be.numpy(row_sums))


def _drop_nan_pairs(be, flat, rows, kb, offset=None):
    """Zero every pair that is NaN in any RDM (rsatoolbox's rule); count each RDM's own NaN pairs.

    ``flat``: (K, rows * kb) values of some rows of a block; ``offset``: for rows of a diagonal block, the
    first row's index in it (each unordered pair is counted once: above the diagonal).
    """
    isnan = be.isnan(flat)
    counted = np.ones((rows, kb), dtype=bool) if offset is None else np.triu(np.ones((rows, kb), dtype=bool),
                                                                             offset + 1)
    counted = counted.reshape(-1)
    own = be.numpy(isnan).astype(np.int64)[:, counted].sum(1)
    bad = isnan.any(0)
    flat = flat.clone() if hasattr(flat, "clone") else flat.copy()
    flat[:, bad] = 0.0
    pairs = int((~be.numpy(bad) & counted).sum())
    return flat, pairs, own


def similarity(sources: Sequence, n: int, method: str = "cosine", block: int = 500, device: str = "cpu",
               index: Optional[Sequence[int]] = None, progress=None, nan_pairs: Optional[list] = None,
               timings: Optional[dict] = None) -> np.ndarray:
    """L x L similarity of streamed RDMs by a comparison whose statistic accumulates over pairs.

    ``sources``: one per distinct RDM; ``index``: for each RDM of the path, its source (default: one each).
    ``nan_pairs`` (a list) receives each RDM's number of NaN pairs.
    """
    from .compare import similarity_from_pair_stats, streamable_comparisons

    if method not in streamable_comparisons():
        raise ValueError(f"comparison {method!r} needs whole matrices; streamed paths take "
                         f"{streamable_comparisons()}")
    stats = pair_stats(sources, n, block, device, progress, timings)
    stats = stats.select(range(len(sources)) if index is None else index)
    if nan_pairs is not None:
        nan_pairs.extend(int(v) for v in stats.nans)
    return similarity_from_pair_stats(stats, n, method)
