"""Statistics over stimulus pairs of many RDMs: the one engine every comparison of RDMs runs on.

Every path — RDMs read from stored cubes, made block by block from feature stores, in memory in a notebook;
the point estimate, B stimulus resamples, the seeds of a model family — is a set of *RDM sources* over the same
N stimuli and a set of *reductions* of their values over stimulus pairs.  :func:`accumulate` walks the pairs
once: for every pair of row blocks (a <= b) of the stimuli it makes each source's block D[a, b], converts it
to float64 in row chunks of at most ``ACCUMULATE_BYTES`` (on a diagonal block only the pairs above the
diagonal: a stimulus with itself is no pair), leaves out the pairs that are NaN in any RDM (rsatoolbox's
rule), and hands each chunk to every reduction.  The shape of scikit-learn's
``pairwise_distances_chunked(..., reduce_func=...)``: one chunked pairwise walk, the reduction passed in.

Sources (one interface: ``n``, ``prepare``, ``load(a0, a1)``, ``block(Ra, Rb, a, b)``, ``row_bytes``):

* :class:`FeatureRDM` — Gram blocks ``Z_a Z_b'`` of a node's features, finished in place by a Gram RDM method
  (the same arithmetic as the cube route), so a path never needs the N x N matrix;
* :class:`LabelsRDM` — the one-hot labels RDM, from the labels alone;
* :class:`StoredRDM` — an RDM that exists whole: a stored cube's layer (read by rows, checksums verified) or an
  in-memory matrix (numpy or torch).

Reductions:

* :class:`PairSums` — the inner products of the RDM vectors (G), their sums, the pair count, each RDM's own
  NaN pairs and row sums: every accumulated comparison (cosine, Pearson) and debiased CKA
  (:mod:`repgeom.compare`) is a function of these;
* :class:`ResampledSums` — the same statistics on B resamples of the stimuli at once: a resample counts a pair
  of distinct stimuli p < q ``w_p w_q`` times (w: how often each was drawn), so each chunk's pair products
  meet all B weight vectors in one GEMM (compute-bound) instead of B passes (memory-bound); pairs of a
  stimulus with its own repeat are left out (rsatoolbox's ``subsample_pattern`` marks them NaN);
* :class:`Matrices` — the whole matrices, for comparisons that need them (rank correlations, rsatoolbox).

Memory: the kept row block of every source, one paired block, the K RDM blocks and the float64 chunk:
O(block * sum(P) + K * block^2), independent of N^2 (``block_for_budget``).  Back-ends: numpy on the CPU, or
torch on any device (``device="cuda"``, ``"torch-cpu"``); the statistics are float64 either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from . import rdm as rdm_mod
from .devices import strict_float32
from .store import NodeLayout, apply_node_op

ACCUMULATE_BYTES = 64e6  # float64 rows of the K blocks converted and reduced at a time
RESAMPLE_BYTES = 64e6  # pair products of ResampledSums held at a time
MIN_SPANS = 4  # feature stores are split into at least this many row blocks (block_for_budget)
DEFAULT_MEMORY = 1.6e9  # working memory of a walk when none is given (a path job's: 0.8 x its 2000 MB)


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

    def stack64(self, blocks, r0, r1, c0, buf):
        """Rows r0:r1, columns c0: of every block as float64 (K, rows, cols), written into the buffer ``buf``."""
        cols = blocks[0].shape[1] - c0
        V = buf[:len(blocks) * (r1 - r0) * cols].reshape(len(blocks), r1 - r0, cols)
        for k, blk in enumerate(blocks):
            V[k] = blk[r0:r1, c0:]
        return V

    def buffer(self, size):
        return np.empty(int(size))

    def matmul_into(self, a, b, buf):
        """a @ b written into the reused float64 buffer ``buf`` (fresh output memory would be page-faulted in
        on every call: on this VM that cost as much as the GEMM)."""
        out = buf[:a.shape[0] * b.shape[1]].reshape(a.shape[0], b.shape[1])
        np.matmul(a, b, out=out)
        return out

    def numpy(self, x):
        return np.asarray(x)

    def zeros(self, shape):
        return np.zeros(shape)

    def isnan(self, x):
        return np.isnan(x)

    def keep_upper(self, V):
        """Zero every entry of the (K, r, c) chunk V on or below its diagonal (i, i): those are no pairs."""
        i, j = np.tril_indices(V.shape[1], 0, V.shape[2])
        V[:, i, j] = 0.0

    def multiply(self, a, b, out):
        np.multiply(a, b, out=out)

    def contiguous(self, x):
        return np.ascontiguousarray(x)

    def zero_where(self, V, mask):
        """V[:, mask] = 0 for a numpy bool mask over V's last two axes."""
        V[:, mask] = 0.0

    def einsum(self, spec, *args):
        return np.einsum(spec, *args)

    def at(self, x, i, j):
        """x[:, i, j] for numpy int arrays i, j (entries of x's last two axes)."""
        return x[:, i, j]

    def rows_of(self, x, i):
        """x[i] for a numpy int array i."""
        return x[i]


class _TorchBackend:
    ops = rdm_mod.TORCH_OPS

    def __init__(self, device):
        import torch


        self.torch, self.device = torch, torch.device(device)
        strict_float32(self.device)
        self.name = f"torch:{self.device}"

    def array(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device, self.torch.float32)
        return self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)

    def array64(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device, self.torch.float64)
        return self.torch.from_numpy(np.asarray(x, dtype=np.float64)).to(self.device)

    def gram(self, A, B):
        return A @ B.T

    def stack64(self, blocks, r0, r1, c0, buf):
        return self.torch.stack([b[r0:r1, c0:].to(self.torch.float64) for b in blocks])

    def buffer(self, size):
        return None

    def matmul_into(self, a, b, buf):
        return a @ b

    def numpy(self, x):
        return x.detach().cpu().numpy() if isinstance(x, self.torch.Tensor) else np.asarray(x)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def isnan(self, x):
        return self.torch.isnan(x)

    def keep_upper(self, V):
        V.triu_(1)

    def multiply(self, a, b, out):
        self.torch.mul(a, b, out=out)

    def contiguous(self, x):
        return x.contiguous()

    def zero_where(self, V, mask):
        V[:, self.torch.from_numpy(mask).to(self.device)] = 0.0

    def einsum(self, spec, *args):
        return self.torch.einsum(spec, *args)

    def at(self, x, i, j):
        return x[:, self.torch.from_numpy(i).to(self.device), self.torch.from_numpy(j).to(self.device)]

    def rows_of(self, x, i):
        return x[self.torch.from_numpy(i).to(self.device)]


def backend(device: str = "cpu"):
    """numpy for ``cpu``; torch for any other device (``cuda``, ``cuda:1``, ``torch-cpu`` = torch on the CPU)."""
    if device in (None, "cpu", "numpy"):
        return _NumpyBackend()
    return _TorchBackend("cpu" if device == "torch-cpu" else device)


# ---- RDM sources ---------------------------------------------------------------------------------------

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

    block_itemsize = 4  # its RDM blocks are float32

    def __init__(self, features, method: str, name: str = "", op: Optional[str] = None):
        self.features, self.name, self.op = features, name, op
        self.method = rdm_mod.resolve_method(method)
        if not self.method.is_gram:
            raise ValueError(f"RDM method {method!r} is not a Gram-product method, so it cannot be streamed; "
                             f"streamable: {rdm_mod.gram_methods()}")
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


def feature_sources(group, layers: Sequence[str], method: str, opened: Optional[dict] = None,
                    name: str = "") -> list:
    """The :class:`FeatureRDM` of each of ``layers`` in an opened features store, in order: one per distinct
    (stored array, op) -- an alias shares its node's source, a derived node (a ReLU) reads the node it is of.

    ``opened``: a dict shared across calls (and stores: keyed by the store's path), so a path's entries over
    one store share their sources; sources repeat in the list where layers share one.
    """
    opened = {} if opened is None else opened
    attrs = dict(group.attrs)
    layout = NodeLayout.from_attrs(attrs)
    where = getattr(group, "path", name)
    out = []
    for layer in layers:
        stored, op = layout.source(layer)
        if stored not in group:
            raise ValueError(f"{where} holds no features of node {layer!r} (stored: {group.array_names()})")
        key = (where, stored, op, method)
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


class MatrixRows:
    """An in-memory N x N matrix (numpy, a torch tensor, anything sliceable) as a row source."""
    def __init__(self, matrix):
        self.matrix = matrix
        self.n = matrix.shape[0]

    def rows(self, index):
        rows = self.matrix[index]
        if type(rows).__module__.startswith("torch"):
            return rows.double()
        return np.asarray(rows, dtype=np.float64)


class StoredRDM:
    """An RDM that exists whole -- a stored cube's layer (:class:`repgeom.cubes.CubeRows`), an in-memory matrix
    or tensor -- read by row blocks."""

    def __init__(self, rows, name: str = ""):
        self.source = rows if hasattr(rows, "rows") else MatrixRows(rows)
        self.n, self.name = int(self.source.n), name

    def prepare(self, be, chunk, out=None):
        pass

    def load(self, be, a0, a1, out=None):
        return self.source.rows(slice(a0, a1))

    def block(self, be, Ra, Rb, a, b):
        return be.array64(Ra[:, b[0]:b[1]])

    def row_bytes(self):
        return 8 * self.n


def as_source(rdm):
    """An RDM source from a block source, a row source (``rows(index)``) or a matrix."""
    return rdm if hasattr(rdm, "block") else StoredRDM(rdm)


def distinct(rdms: Sequence) -> tuple:
    """(sources, index): each distinct source once (by identity: aliases share one), and each RDM's position."""
    sources, position, index = [], {}, []
    for r in rdms:
        src = as_source(r)
        if id(src) not in position:
            position[id(src)] = len(sources)
            sources.append(src)
        index.append(position[id(src)])
    return sources, index


# ---- reductions ---------------------------------------------------------------------------------------

@dataclass
class PairChunk:
    """Some pairs (p, q) of stimuli, p in rows p0:p1, q in columns q0:q1 (on a diagonal block, ``diagonal``,
    q0 = p0 and only q > p are pairs: row i's pairs start at column i + 1): ``values`` (K, rows, cols) float64
    with every pair not counted zeroed; ``mask`` (rows, cols) the counted pairs (None: all of them);
    ``own_nans`` each RDM's NaN pairs among them; ``row_sums`` values.sum(2)."""

    values: object
    p0: int
    p1: int
    q0: int
    q1: int
    mask: Optional[np.ndarray]
    pairs: int
    own_nans: np.ndarray
    row_sums: object
    diagonal: bool = False


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


class PairSums:
    """Accumulates :class:`PairStats` of every source."""
    needs_pairs = True

    def start(self, K, n, be):
        self.G, self.sums, self.row_sums = be.zeros((K, K)), be.zeros(K), be.zeros((K, n))
        self.nans, self.count = np.zeros(K, dtype=np.int64), 0

    def add_block(self, blocks, a, b, be):
        pass

    def add(self, c: PairChunk, be):
        K = c.values.shape[0]
        flat = c.values.reshape(K, -1)
        self.G += flat @ flat.T
        self.sums += c.row_sums.sum(1)
        self.row_sums[:, c.p0:c.p1] += c.row_sums
        self.row_sums[:, c.q0:c.q1] += c.values.sum(1)
        self.count += c.pairs
        self.nans += c.own_nans

    def result(self, be) -> PairStats:
        return PairStats(be.numpy(self.G), be.numpy(self.sums), int(self.count), self.nans, be.numpy(self.row_sums))


@dataclass
class ResampledStats:
    """Pair statistics of B resamples: ``G`` (B, L, L), ``sums`` (B, L), ``count`` (B,)."""
    G: np.ndarray
    sums: np.ndarray
    count: np.ndarray


class ResampledSums:
    """Accumulates the pair statistics of B resamples of the stimuli (``samples``: B x m positions drawn with
    replacement) of the sources ``index`` (default: all), each pair of distinct stimuli weighted by how often
    both were drawn; pairs of a stimulus with its own repeat are no pairs.

    ``classes`` (a class per stimulus; a stratified bootstrap): same-class and other-class pairs are also
    weighted so that each kind keeps the share it has in the set.  Leaving out a stimulus's pair with its own
    repeat removes far more same-class pairs than others when classes are small (with n_c drawn from n_c,
    the expected weight of a class's pairs falls by (n_c - 1) / n_c: 0.8 at 5 a class), and every comparison
    with the labels RDM depends on that share; without this the replicates of a 5-a-class set sat off the
    estimate and the 95 % interval covered 0.79 (docs/decisions.md).
    """

    needs_pairs = True

    def __init__(self, samples, n: int, index: Optional[Sequence[int]] = None, classes=None):
        self.samples = np.asarray(samples)
        self.index = None if index is None else list(index)
        self.weights = np.stack([np.bincount(s, minlength=n) for s in self.samples]).astype(np.float64)  # (B, n)
        self.classes = None if classes is None else np.asarray(classes)
        if self.classes is not None:
            if len(self.classes) != n:
                raise ValueError(f"{len(self.classes)} classes for {n} stimuli")
            counts = np.unique(self.classes, return_counts=True)[1]
            self.same_pairs = float((counts * (counts - 1) // 2).sum())  # the set's same-class pairs
            self.all_pairs = float(n * (n - 1) // 2)

    def start(self, K, n, be):
        L = K if self.index is None else len(self.index)
        B = len(self.samples)
        self.first, self.second = np.triu_indices(L)  # row-major: (a, a), (a, a + 1), ..., then a + 1
        P = len(self.first)
        self.G, self.sums, self.count = be.zeros((P, B)), be.zeros((L, B)), be.zeros(B)
        self.W = be.array64(np.ascontiguousarray(self.weights.T))  # (n, B)
        self.buffer = be.buffer(RESAMPLE_BYTES // 8)
        self.out_buffer = be.buffer(RESAMPLE_BYTES // 8)  # the GEMM's (pairs of RDMs x rows x resamples)
        if self.classes is not None:  # the same statistics over same-class pairs only
            self.G_same, self.sums_same, self.count_same = be.zeros((P, B)), be.zeros((L, B)), be.zeros(B)

    def add_block(self, blocks, a, b, be):
        pass

    def add(self, c: PairChunk, be):
        V = c.values if self.index is None else c.values[self.index]
        L, r, cols = V.shape
        P, B = len(self.first), self.W.shape[1]
        wp, wq = self.W[c.p0:c.p1], self.W[c.q0:c.q1]  # (rows, B), (cols, B): how often each was drawn
        s0 = 0
        while s0 < r:
            c0 = s0 if c.diagonal else 0  # on a diagonal block these rows' pairs lie right of column s0
            width = cols - c0
            s1 = min(r, s0 + max(1, int(RESAMPLE_BYTES // (8 * P * max(width, B)))))
            if self.buffer is not None and P * (s1 - s0) * width <= self.buffer.size:
                products = self.buffer[:P * (s1 - s0) * width].reshape(P, s1 - s0, width)
            else:
                products = be.zeros((P, s1 - s0, width))
            rows = be.contiguous(V[:, s0:s1, c0:])  # (L, rows, width): contiguous products run at memory speed
            k = 0
            for i in range(L):  # the pairs (i, i..L-1) are contiguous in triu order
                be.multiply(rows[i], rows[i:], products[k:k + L - i])
                k += L - i
            # sum_p w_p sum_q w_q x_pq of every resample at once: one GEMM against the weights, then the rows'
            wq_, wp_ = wq[c0:], wp[s0:s1]
            by_column = be.matmul_into(products.reshape(-1, width), wq_, self.out_buffer).reshape(P, s1 - s0, B)
            self.G += be.einsum("kpb,pb->kb", by_column, wp_)
            row_sums = (rows.reshape(-1, width) @ wq_).reshape(L, s1 - s0, B)
            self.sums += be.einsum("lpb,pb->lb", row_sums, wp_)
            if c.mask is not None:
                self.count += be.einsum("pb,pb->b", be.array64(c.mask[s0:s1, c0:]) @ wq_, wp_)
            self._add_more(be, products, rows, by_column, row_sums, wp_, wq_,
                           (c.p0 + s0, c.p0 + s1), (c.q0 + c0, c.q1))
            if self.classes is not None:
                self._add_same(be, c, products, rows, wp_, wq_, s0, s1, c0)
            s0 = s1
        if c.mask is None:
            self.count += wp.sum(0) * wq.sum(0)

    def _add_same(self, be, c, products, rows, wp, wq, s0, s1, c0):
        """The sub-chunk's same-class pairs (rows s0:s1, columns c0: of chunk ``c``): G, sums and count."""
        same = self.classes[c.p0 + s0:c.p0 + s1, None] == self.classes[None, c.q0 + c0:c.q1]
        if c.mask is not None:
            same &= c.mask[s0:s1, c0:]
        i, j = np.nonzero(same)
        if not len(i):
            return
        # one GEMM over the same-class pairs themselves (about 1/K of the pairs): their products against each
        # pair's weight w_p w_q on every resample -- a GEMM against the columns' weights would write a
        # (pairs of RDMs x rows x resamples) array as large as the main one's, whatever the columns
        weight = be.rows_of(wp, i) * be.rows_of(wq, j)  # (m, B)
        self.G_same += be.at(products, i, j) @ weight
        self.sums_same += be.at(rows, i, j) @ weight
        self.count_same += weight.sum(0)

    def _pair_kind_scales(self, be):
        """(same, other): each resample's factor for same- and other-class pairs, so each kind weighs what it
        weighs in the set (a resample with no same-class pair of distinct stimuli gives them none)."""
        count, same = be.numpy(self.count), be.numpy(self.count_same)
        other = count - same
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(same > 0, self.same_pairs / same, 0.0)
            o = np.where(other > 0, (self.all_pairs - np.where(same > 0, self.same_pairs, 0.0)) / other, 0.0)
        return s, o

    def _add_more(self, be, products, rows, by_column, row_sums, wp, wq, p, q):
        """More statistics of the same sub-chunk (its pair products, values, their GEMMs with wq; the rows p
        and columns q it spans): none here."""

    def _square(self, packed, be):
        """(B, L, L) from triu-packed (P, B) sums over pairs of RDMs."""
        G = be.numpy(packed).T  # (B, P)
        B, L = G.shape[0], self.sums.shape[0]
        full = np.empty((B, L, L))
        full[:, self.first, self.second] = G
        full[:, self.second, self.first] = G
        return full

    def result(self, be) -> ResampledStats:
        G, sums, count = self._square(self.G, be), be.numpy(self.sums).T, be.numpy(self.count)
        if self.classes is not None:
            s, o = self._pair_kind_scales(be)
            G_same, sums_same = self._square(self.G_same, be), be.numpy(self.sums_same).T
            G = s[:, None, None] * G_same + o[:, None, None] * (G - G_same)
            sums = s[:, None] * sums_same + o[:, None] * (sums - sums_same)
            count_same = be.numpy(self.count_same)
            count = s * count_same + o * (count - count_same)
        return ResampledStats(G, sums, count)


@dataclass
class ResampledKernelStats:
    """What the weighted U-statistic of HSIC needs on each of B resamples (w: how often each stimulus was drawn;
    x = d_a d_b over pairs p < q of distinct stimuli; R_a = D_a w the weighted row sums):

    ``G`` = sum w_p w_q x, ``G21`` = sum w_p w_q (w_p + w_q) x, ``G22`` = sum w_p^2 w_q^2 x (B, L, L);
    ``RR1`` = sum_i w_i R_a,i R_b,i, ``RR2`` = sum_i w_i^2 R_a,i R_b,i (B, L, L); ``sums`` = sum w_p w_q d (B, L);
    ``powers`` = sum_i w_i^k for k = 0..4 (B, 5)."""

    G: np.ndarray
    G21: np.ndarray
    G22: np.ndarray
    RR1: np.ndarray
    RR2: np.ndarray
    sums: np.ndarray
    powers: np.ndarray


class ResampledKernelSums(ResampledSums):
    """The statistics of :class:`ResampledKernelStats` on B resamples, in the same walk as :class:`ResampledSums`
    (one GEMM more per chunk, against the squared weights): a kernel statistic (debiased CKA) over the distinct
    stimuli of each resample, each weighted by how often it was drawn, so a stimulus and its own repeat are never
    two examples.  Memory: each RDM's weighted row sums, L x n x B float64."""

    def start(self, K, n, be):
        super().start(K, n, be)
        P, B = self.G.shape
        L = self.sums.shape[0]
        self.G21, self.G12, self.G22 = be.zeros((P, B)), be.zeros((P, B)), be.zeros((P, B))
        self.R = be.zeros((L, n, B))
        self.out_buffer2 = be.buffer(RESAMPLE_BYTES // 8)

    def _add_more(self, be, products, rows, by_column, row_sums, wp, wq, p, q):
        P, r, width = products.shape
        wp2 = wp * wp
        self.G21 += be.einsum("kpb,pb->kb", by_column, wp2)  # sum w_p^2 w_q x
        by_column2 = be.matmul_into(products.reshape(-1, width), wq * wq, self.out_buffer2).reshape(P, r, -1)
        self.G12 += be.einsum("kpb,pb->kb", by_column2, wp)  # sum w_p w_q^2 x
        self.G22 += be.einsum("kpb,pb->kb", by_column2, wp2)
        self.R[:, p[0]:p[1]] += row_sums  # each pair adds to both its stimuli's row sums
        self.R[:, q[0]:q[1]] += be.einsum("lrc,rb->lcb", rows, wp)

    def result(self, be) -> ResampledKernelStats:
        W = self.weights  # (B, n)
        R = be.numpy(self.R)
        RR1 = np.einsum("lib,mib,bi->blm", R, R, W, optimize=True)
        RR2 = np.einsum("lib,mib,bi->blm", R, R, W * W, optimize=True)
        powers = np.stack([(W ** k).sum(1) for k in range(5)], axis=1)
        G12 = self._square(self.G12, be)
        return ResampledKernelStats(self._square(self.G, be), self._square(self.G21, be) + G12,
                                    self._square(self.G22, be), RR1, RR2, be.numpy(self.sums).T, powers)


class Matrices:
    """Collects the whole N x N float64 matrices of the sources ``index`` (default: all): exactly symmetric
    (the upper triangle of each block), zero diagonal, NaN kept."""

    needs_pairs = False

    def __init__(self, index: Optional[Sequence[int]] = None):
        self.index = None if index is None else list(index)

    def start(self, K, n, be):
        L = K if self.index is None else len(self.index)
        self.M = np.zeros((L, n, n))

    def add_block(self, blocks, a, b, be):
        chosen = blocks if self.index is None else [blocks[k] for k in self.index]
        for M, blk in zip(self.M, chosen):
            values = np.asarray(be.numpy(blk), dtype=np.float64)
            if a == b:
                upper = np.triu(values, 1)
                M[a[0]:a[1], a[0]:a[1]] = upper + upper.T
            else:
                M[a[0]:a[1], b[0]:b[1]] = values
                M[b[0]:b[1], a[0]:a[1]] = values.T

    def add(self, c, be):
        pass

    def result(self, be) -> np.ndarray:
        return self.M


# ---- the walk ---------------------------------------------------------------------------------------

def block_for_budget(sources: Sequence, n: int, budget_bytes: float, multiple: int = 250,
                     min_spans: int = MIN_SPANS) -> int:
    """The largest row block (a multiple of ``multiple``, the stores' chunk rows) whose working set fits,
    and no larger than a ``min_spans``-th of the stimuli (rounded up to a multiple).

    Working set: the kept row block of every source, one paired row block (none when one block covers
    every stimulus), the K RDM blocks, and the float64 rows being accumulated.  Why not simply the largest
    block for feature stores: the working set is fresh memory, each page faulted in once (on a virtual machine
    ~2.5 s a GB the first time), while a smaller block costs only re-reads of row blocks from the page cache
    (~6 GB/s): the sum is smallest near a quarter of N here (N=2,000: 3.6 s a path at 500 rows, 5.0 s at
    1,500; N=10,000: 1,500 rows, the budget's, beat 750 -- docs/decisions.md).  Whole stored RDMs have no
    such trade-off (a re-read decodes its chunks again): pass ``min_spans=1``.
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


def _chunk_rows(sources, default=250):
    """Row chunk of the first stored features array (row blocks are its multiples: whole chunks are read)."""
    for s in sources:
        chunks = getattr(getattr(s, "features", None), "chunks", None)
        if chunks:
            return int(chunks[0])
    return default


def choose_block(sources: Sequence, n: int, memory_bytes: float = DEFAULT_MEMORY) -> int:
    """Rows of a walk's blocks: the largest that fits ``memory_bytes`` (feature stores: at most a quarter of the
    stimuli, whole chunks; RDMs that exist whole: read once when they fit, see :func:`block_for_budget`)."""
    streamed = any(isinstance(s, FeatureRDM) for s in sources)
    return block_for_budget(sources, n, memory_bytes, multiple=_chunk_rows(sources),
                            min_spans=MIN_SPANS if streamed else 1)


def accumulate(sources: Sequence, n: int, reductions: Sequence, block: Optional[int] = None, device: str = "cpu",
               progress: Optional[Callable[[str], None]] = None, timings: Optional[dict] = None) -> list:
    """Walk every pair of distinct stimuli of the RDM ``sources`` once; returns each reduction's result.

    ``block``: rows of a block (default: :func:`choose_block` within ``DEFAULT_MEMORY``).  ``timings`` (a dict) receives seconds spent
    reading and centring rows (``load``), in the RDM blocks (``blocks``: Gram products and their finish) and
    in the reductions (``accumulate``).
    """
    clock = time.perf_counter
    t = {"prepare": 0.0, "load": 0.0, "blocks": 0.0, "accumulate": 0.0}
    for s in sources:
        if s.n != n:
            raise ValueError(f"{getattr(s, 'name', '') or s}: {s.n} stimuli, the path has {n}")
    block = min(block or choose_block(sources, n), n)
    be = backend(device)
    K = len(sources)
    for r in reductions:
        r.start(K, n, be)
    pairwise = any(r.needs_pairs for r in reductions)
    # reused read buffers (fresh memory would page-fault on every block): one per source for its kept row
    # block, one shared for the block it is paired with (and for the sources' preparing passes)
    widths = [getattr(s, "P", 0) for s in sources]
    keep = [np.empty(block * w, dtype=np.float32) if w else None for w in widths]
    scratch = np.empty(block * max(widths + [0]), dtype=np.float32)
    t0 = clock()
    for s in sources:
        s.prepare(be, block, out=scratch)
    t["prepare"] += clock() - t0
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
            for r in reductions:
                r.add_block(blocks, a, b, be)
            if pairwise:
                acc_buf = _reduce_pairs(be, blocks, a, b, diagonal, reductions, acc_buf)
            del blocks
            t["accumulate"] += clock() - t0
            done += 1
        if progress and len(spans) > 1:
            progress(f"pair statistics: row block {ia + 1} / {len(spans)} ({done} / {total} block pairs)")
    if timings is not None:
        timings.update(t)
    return [r.result(be) for r in reductions]


def _reduce_pairs(be, blocks, a, b, diagonal, reductions, acc_buf):
    """Hand the pairs of one block pair to the reductions in float64 row chunks of ~ACCUMULATE_BYTES."""
    K, ka, kb = len(blocks), a[1] - a[0], b[1] - b[0]
    step = max(1, int(ACCUMULATE_BYTES // (8 * K * kb)))
    if acc_buf is None or acc_buf.size < K * min(step, ka) * kb:
        acc_buf = be.buffer(K * min(step, ka) * kb)
    for r0 in range(0, ka, step):
        r1 = min(r0 + step, ka)
        c0 = r0 if diagonal else 0  # on a diagonal block only the columns right of these rows hold pairs
        V = be.stack64(blocks, r0, r1, c0, acc_buf)  # (K, rows, cols)
        if diagonal:
            be.keep_upper(V)  # a stimulus with itself (and each pair's mirror) is no pair
        rs = V.sum(2)  # (K, rows): NaN wherever a row holds a NaN pair
        rows, cols = r1 - r0, V.shape[2]
        mask = np.triu(np.ones((rows, cols), dtype=bool), 1) if diagonal else None
        own = np.zeros(K, dtype=np.int64)
        if bool(be.isnan(rs).any()):
            isnan = be.isnan(V)
            own = be.numpy(isnan.sum(2).sum(1)).astype(np.int64)
            bad = be.numpy(isnan.any(0))
            be.zero_where(V, bad)
            mask = ~bad if mask is None else mask & ~bad
            rs = V.sum(2)
        pairs = rows * cols if mask is None else int(mask.sum())
        chunk = PairChunk(V, a[0] + r0, a[0] + r1, b[0] + c0, b[1], mask, pairs, own, rs, diagonal)
        for r in reductions:
            if r.needs_pairs:
                r.add(chunk, be)
    return acc_buf
