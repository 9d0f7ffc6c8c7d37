"""Representational dissimilarity matrices: one engine, one registry of methods, rsatoolbox's exact semantics.

Methods (``RDM_METHODS``; the config schema's enum is this table):

* ``euclidean``: squared Euclidean distance divided by the number of channels P
  (rsatoolbox ``calc_rdm(..., 'euclidean')``).
* ``correlation``: 1 - Pearson r across channels (rows centred; constant rows
  give NaN, as in rsatoolbox).
* ``mahalanobis``, ``poisson``: delegated to rsatoolbox (``poisson`` with its priors as parameters).

A method may declare parameters (``params``: JSON-schema properties with defaults).  A config names a
method as ``euclidean`` or ``{name: poisson, prior_lambda: 2}``; :func:`resolve_method` turns either into a
:class:`Method` whose ``id`` (``poisson+prior_lambda=2``: the name, then the non-default parameters) is what
the plan, the cube folders (``results/rdms/{id}/...``), the path jobs and the steps carry, so a parameter
reaches every computation and a changed parameter is another cube.

A :class:`GramMethod` is one Gram matrix away: it says how rows are centred
and how a Gram block (with its rows' and columns' squared norms) becomes a
dissimilarity block, in place.  Euclidean: D = (|a|² + |b|² - 2 a·b) / P on
column-centred rows (translation invariance; it removes most float32
cancellation).  Correlation: 1 - a·b / (|a| |b|) on row-centred rows.  The
squared norms are the Gram diagonal itself, so D_ii is exactly consistent.
The product runs in the input's precision (float32 features -> float32 BLAS).
Up to ``FULL_MAX`` stimuli it is one ``Z @ Z.T``, which numpy hands to BLAS
``syrk`` (symmetric: half the FLOPs; measured here 2.9 s vs 5.8 s for torch's
CPU matmul at N=5,000, P=21,632), finished in place so the N x N result is the
only large allocation.  Beyond that, row blocks of the upper triangle bound
every temporary to a block.

One engine, two back-ends: :func:`compute` takes a numpy array (computed with
numpy on the CPU, or moved to ``device`` and computed with torch) or a torch
tensor (computed on its own device and returned there).  A
:class:`DirectMethod` (rsatoolbox) always runs on the CPU in float64.
Matrices come back square with an exact zero diagonal (what
``RDMs.get_matrices()`` gives).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

from .devices import strict_float32
from .registry import Registry

RDM_METHODS = Registry("RDM method")

FULL_MAX = 16384  # stimuli up to which the whole Gram is one symmetric product
MIRROR_STRIP = 512  # rows per strip when the upper triangle is copied onto the lower


@dataclass(frozen=True)
class GramMethod:
    """An RDM computed from one Gram product of centred rows.

    ``center``: ``"columns"`` (subtract each channel's mean), ``"rows"``
    (subtract each pattern's mean) or ``None``.  ``finish(G, a, b, P, ops)``
    turns a Gram block ``G`` (rows with squared norms ``a``, columns with
    ``b``; P channels) into dissimilarities in place and returns it; ``ops``
    is :data:`NUMPY_OPS` or the torch equivalent, so one function serves both
    back-ends.
    """

    center: Optional[str]
    finish: Callable
    description: str = ""
    params: dict = field(default_factory=dict)  # JSON-schema properties (with defaults): finish(..., **params)


@dataclass(frozen=True)
class DirectMethod:
    """An RDM computed by a function of the (N, P) float64 patterns (e.g. delegated to rsatoolbox)."""
    compute: Callable[[np.ndarray], np.ndarray]
    description: str = ""
    params: dict = field(default_factory=dict)  # JSON-schema properties (with defaults): compute(X, **params)


@dataclass(frozen=True)
class Method:
    """A registered method with its parameters (complete: defaults filled); ``id`` names it everywhere."""
    name: str
    entry: Union[GramMethod, DirectMethod]
    params: dict
    id: str

    @property
    def is_gram(self) -> bool:
        return isinstance(self.entry, GramMethod)

    @property
    def center(self):
        return self.entry.center

    @property
    def description(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return self.entry.description + (f" ({extra})" if extra else "")

    def finish(self, G, a, b, P, ops):
        return self.entry.finish(G, a, b, P, ops, **self.params)

    def compute(self, X):
        return self.entry.compute(X, **self.params)


_PLAIN = re.compile(r"^[A-Za-z0-9_.-]+$")


def _value_text(v) -> str:
    return v if isinstance(v, str) and _PLAIN.match(v) and v not in ("true", "false", "null") else json.dumps(v)


def resolve_method(value) -> Method:
    """The :class:`Method` a config value names: a method name, an id (``name+key=value...``) or a mapping
    ``{name: NAME, key: value, ...}``; unknown methods and parameters are errors naming the valid ones (the
    values' types are the config schema's to check: :func:`method_schema`)."""
    if isinstance(value, Method):
        return value
    if isinstance(value, dict):
        given = dict(value)
        name = given.pop("name", None)
    else:
        name, *pairs = str(value).split("+")
        given = {}
        for pair in pairs:
            key, eq, text = pair.partition("=")
            if not eq:
                raise ValueError(f"RDM method {value!r}: {pair!r} is not key=value")
            try:
                given[key] = json.loads(text)
            except json.JSONDecodeError:
                given[key] = text
    entry = RDM_METHODS[name]
    unknown = sorted(set(given) - set(entry.params))
    if unknown:
        raise ValueError(f"RDM method {name!r} has no parameter {unknown}; its parameters: "
                         f"{sorted(entry.params) or 'none'}")
    params = {k: given.get(k, schema.get("default")) for k, schema in sorted(entry.params.items())}
    extra = [f"{k}={_value_text(v)}" for k, v in params.items() if v != entry.params[k].get("default")]
    return Method(name, entry, params, "+".join([name] + extra))


def method_id(value) -> str:
    """The id of the method a config value names (see :func:`resolve_method`)."""
    return resolve_method(value).id


def gram_methods() -> list:
    """Names of the methods one Gram product away (streamable from features)."""
    return RDM_METHODS.where(lambda m: isinstance(m, GramMethod))


def method_schema() -> dict:
    """The config schema of an RDM-method value: a name (or id), or ``{name: NAME, PARAMETER: value}`` whose
    parameters are checked against the method's declared ones."""
    branches = [{"if": {"properties": {"name": {"const": k}}},
                 "then": {"additionalProperties": False, "properties": {"name": {}, **RDM_METHODS[k].params}}}
                for k in RDM_METHODS]
    return {"type": ["string", "object"], "required": ["name"], "properties": {"name": {"type": "string"}},
            "allOf": branches,
            "description": "an RDM method: its name, or {name: NAME, PARAMETER: value, ...} for one with parameters; "
                           + "; ".join(f"{k} = {RDM_METHODS[k].description}"
                                       + (f" (parameters {sorted(RDM_METHODS[k].params)})" if RDM_METHODS[k].params
                                          else "") for k in RDM_METHODS)}


def _mirror_upper(D, tril_indices):
    """``D`` (numpy or torch) with its upper triangle copied onto the lower (exact symmetry), in strips of
    ``MIRROR_STRIP`` rows so the index arrays stay small at any N; ``tril_indices(m)``: the back-end's."""
    n = D.shape[0]
    for r0 in range(0, n, MIRROR_STRIP):
        r1 = min(r0 + MIRROR_STRIP, n)
        D[r0:r1, :r0] = D[:r0, r0:r1].T
        i, j = tril_indices(r1 - r0)
        D[r0 + i, r0 + j] = D[r0 + j, r0 + i]
    return D


class _NumpyOps:
    @staticmethod
    def clamp_min_(G, value):
        np.maximum(G, value, out=G)

    @staticmethod
    def one_minus_(G):
        np.subtract(1.0, G, out=G)

    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def quiet():
        return np.errstate(invalid="ignore", divide="ignore")

    @staticmethod
    def mirror_upper(D):
        return _mirror_upper(D, lambda m: np.tril_indices(m, -1))


class _TorchOps:
    @staticmethod
    def clamp_min_(G, value):
        G.clamp_min_(value)

    @staticmethod
    def one_minus_(G):
        G.neg_().add_(1.0)  # -G + 1 == 1 - G exactly

    @staticmethod
    def sqrt(x):
        import torch

        return torch.sqrt(x)

    @staticmethod
    def quiet():
        return contextlib.nullcontext()

    @staticmethod
    def mirror_upper(D):
        import torch

        return _mirror_upper(D, lambda m: torch.tril_indices(m, m, -1, device=D.device))


NUMPY_OPS, TORCH_OPS = _NumpyOps(), _TorchOps()


def _finish_euclidean(G, a, b, P, ops):
    G *= -2.0
    G += a[:, None]
    G += b[None, :]
    ops.clamp_min_(G, 0.0)
    G /= P
    return G


def _finish_correlation(G, a, b, P, ops):
    with ops.quiet():
        G /= ops.sqrt(a)[:, None]
        G /= ops.sqrt(b)[None, :]
    ops.one_minus_(G)
    return G


def _rsatoolbox(name):
    def compute(X, **params):
        from rsatoolbox.data import (
            Dataset,  # ~1-4 s to import: only where such a method runs
        )
        from rsatoolbox.rdm import calc_rdm

        return calc_rdm(Dataset(np.asarray(X, dtype=np.float64)), method=name, **params).get_matrices()[0]

    return compute


RDM_METHODS.register("euclidean", GramMethod(
    "columns", _finish_euclidean, "squared Euclidean distance / channels (rsatoolbox 'euclidean')"))
RDM_METHODS.register("correlation", GramMethod(
    "rows", _finish_correlation, "1 - Pearson r across channels (rsatoolbox 'correlation')"))
RDM_METHODS.register("mahalanobis", DirectMethod(_rsatoolbox("mahalanobis"), "rsatoolbox 'mahalanobis'"))
RDM_METHODS.register("poisson", DirectMethod(_rsatoolbox("poisson"), "rsatoolbox 'poisson'", params={
    "prior_lambda": {"type": "number", "exclusiveMinimum": 0, "default": 1,
                     "description": "the Gamma prior's rate (rsatoolbox's prior_lambda)"},
    "prior_weight": {"type": "number", "minimum": 0, "default": 0.1,
                     "description": "the prior's weight (rsatoolbox's prior_weight)"}}))


def _center_numpy(X, center, overwrite=False):
    """Rows centred as the method needs, in X's precision (float64 stays float64, else float32).

    The mean is taken in float64 and subtracted in the working precision; with
    ``overwrite`` a float32/float64 X is centred in place (no second N x P array).
    """
    work = np.float64 if X.dtype == np.float64 else np.float32
    if center is None:
        return X.astype(work, copy=not overwrite)
    axis = 0 if center == "columns" else 1
    mean = X.mean(axis=axis, dtype=np.float64, keepdims=True).astype(work)
    if overwrite and X.dtype == work and X.flags.writeable and X.flags.c_contiguous:
        X -= mean
        return X
    return np.subtract(X, mean, dtype=work)


def _center_torch(X, center):
    import torch

    work = torch.float64 if X.dtype == torch.float64 else torch.float32
    if center is None:
        return X.to(work)
    dim = 0 if center == "columns" else 1
    return X.to(work) - X.double().mean(dim=dim, keepdim=True).to(work)


def _spans(n, block):
    return [(s, min(s + block, n)) for s in range(0, n, block)]


def gram_rdm(Z, method: Method, P: int, block: int = FULL_MAX, ops=NUMPY_OPS, empty=None):
    """The RDM of centred rows ``Z`` (numpy or torch, per ``ops``) by ``method``'s Gram finish.

    One symmetric product when ``block >= len(Z)``; else the upper triangle in row blocks.
    """
    n = Z.shape[0]
    if block >= n:
        G = Z @ Z.T  # numpy: BLAS syrk
        sq = G.diagonal().clone() if ops is TORCH_OPS else G.diagonal().copy()
        # the finish adds a_i then a_j to entry (i, j), a_j then a_i to (j, i): mirrored, the RDM is exactly
        # symmetric (as in row blocks, and as rsatoolbox's upper-triangle vector implies)
        return ops.mirror_upper(method.finish(G, sq, sq, P, ops))
    spans = _spans(n, block)
    diag_blocks = [Z[i0:i1] @ Z[i0:i1].T for i0, i1 in spans]
    sq = [(blk.diagonal().clone() if ops is TORCH_OPS else blk.diagonal().copy()) for blk in diag_blocks]
    D = empty(n)
    for a, (i0, i1) in enumerate(spans):
        for b in range(a, len(spans)):
            j0, j1 = spans[b]
            G = diag_blocks[a] if a == b else Z[i0:i1] @ Z[j0:j1].T
            blk = method.finish(G, sq[a], sq[b], P, ops)
            if a == b:
                blk = ops.mirror_upper(blk)
            D[i0:i1, j0:j1] = blk
            if a != b:
                D[j0:j1, i0:i1] = blk.T
        diag_blocks[a] = None
    return D


def _compute_torch(X, method, block):
    import torch


    strict_float32(X.device)
    X = X.reshape(len(X), -1)
    Z = _center_torch(X, method.center)
    D = gram_rdm(Z, method, X.shape[1], block, TORCH_OPS,
                 empty=lambda n: torch.empty((n, n), dtype=Z.dtype, device=Z.device))
    D.fill_diagonal_(0.0)
    return D


def compute(X, method: str = "euclidean", block: Optional[int] = None, device: str = "cpu",
            overwrite: bool = False):
    """The (N, N) RDM of the rows of ``X`` (N stimuli x P channels, any trailing shape flattened).

    numpy in -> numpy out (float64 for float64 input, else float32), computed on
    the CPU, or with torch on ``device`` when that is a CUDA device.  A torch
    tensor in -> a tensor on its own device out.  ``overwrite=True`` lets the
    computation reuse a numpy X's memory (X is then garbage).
    """
    spec = resolve_method(method)
    block = block or FULL_MAX
    if not isinstance(X, np.ndarray) and type(X).__module__.startswith("torch"):
        if not spec.is_gram:
            import torch

            D = spec.compute(X.detach().cpu().double().numpy().reshape(len(X), -1))
            return torch.from_numpy(D).to(X.device, X.dtype if X.dtype == torch.float64 else torch.float32)
        return _compute_torch(X, spec, block)
    X = np.asarray(X)
    X = X.reshape(len(X), -1)
    out_dtype = np.float64 if X.dtype == np.float64 else np.float32
    if not spec.is_gram:
        D = spec.compute(X).astype(out_dtype)
    elif str(device).startswith("cuda"):
        import torch

        D = _compute_torch(torch.from_numpy(np.ascontiguousarray(X)).to(device), spec, block).cpu().numpy()
    else:
        Z = _center_numpy(X, spec.center, overwrite)
        D = gram_rdm(Z, spec, X.shape[1], block, NUMPY_OPS, empty=lambda n: np.empty((n, n), dtype=Z.dtype))
    np.fill_diagonal(D, 0.0)
    return D


def node_rdms(features, nodes, compute_one):
    """``[compute_one(features[n]) for n in nodes]``, computed once for nodes that share one array (aliases)."""
    done = {}
    for node in nodes:
        key = id(features[node])
        if key not in done:
            done[key] = compute_one(features[node])
    return [done[id(features[node])] for node in nodes]


def one_hot(labels, n_classes: int) -> np.ndarray:
    """(N, n_classes) float32 one-hot rows of integer labels."""
    labels = np.asarray(labels)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels outside 0..{n_classes - 1}")
    return np.eye(n_classes, dtype=np.float32)[labels]


def labels_rdm(labels, n_classes: int, method: str = "euclidean") -> np.ndarray:
    """RDM of the one-hot labels (the tutorial's 'labels' entry); ``n_classes`` comes from the stimulus set."""
    return compute(one_hot(labels, n_classes), method)


def condensed(D):
    """Upper triangle (k=1), row-major: scipy's squareform / rsatoolbox's vector order."""
    i, j = np.triu_indices(D.shape[0], k=1)
    return D[i, j]
