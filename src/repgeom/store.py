"""Zarr artifacts (I/O only): atomic writes (temp store + rename), xarray-readable layouts, provenance attrs.

Every store is written into a hidden sibling folder and renamed into place
only when complete, so a crash never leaves a half-written store at the
output path (a half-written Zarr still opens and reads missing chunks as
fill values).

Integrity: every array is written with zarr's ``crc32c`` codec (a checksum
per chunk, verified by zarr whenever the chunk is read) and every chunk is
written, so :func:`open_group` / :func:`open_dataset` can check that each
array's metadata and all its chunks are there before anything is read; a
missing, truncated or altered chunk is a :class:`StoreDamaged` error naming
the store, the array and the remedy — never NaN in a result.

Provenance has one schema: a stimulus store's attrs are the
:data:`STIMULUS_KEYS`; every store made from a model's view of a set carries
:func:`model_provenance` + :func:`stimulus_provenance` under the same keys,
so no step re-keys another's attrs.
"""

import contextlib
import json
import os
import shutil
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional

import google_crc32c
import numpy as np

warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temp folder beside ``path``; on success it replaces ``path``, on failure it is removed."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    stem = f".{os.path.basename(path)}.tmp-"
    for stale in os.listdir(parent):  # left by a job that was killed (SIGKILL runs no cleanup)
        if stale.startswith(stem):
            shutil.rmtree(os.path.join(parent, stale), ignore_errors=True)
    tmp = os.path.join(parent, f"{stem}{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


class StoreDamaged(ValueError):
    """A store the workflow wrote is incomplete or altered."""


REMEDY = "delete it and run snakemake again (it is rebuilt), or rerun the job that writes it with --forcerun"


def _damaged(path, array, what):
    where = f"{path}" + (f", array {array!r}" if array else "")
    return StoreDamaged(f"{where}: {what}; {REMEDY}")


def _codecs():
    """Bytes-to-bytes codecs of every array: the checksum last, so it covers what is on disk."""
    from zarr.codecs import Crc32cCodec

    return [Crc32cCodec()]


def _expected_chunks(arr):
    n = 1
    for size, chunk in zip(arr.shape, arr.chunks):
        n *= -(-size // chunk) if size else 0
    return n


def _present_chunks(folder):
    base = os.path.join(folder, "c")
    if os.path.isfile(base):
        return 1
    return sum(len(files) for _, _, files in os.walk(base))


def verify(path):
    """The zarr group at ``path`` after checking that every array's metadata and every chunk is present."""
    import zarr

    if not os.path.isdir(path):
        raise _damaged(path, None, "the store does not exist")
    if not os.path.isfile(os.path.join(path, "zarr.json")):
        raise _damaged(path, None, "its zarr.json (the store's metadata) is missing")
    try:
        g = zarr.open_group(path, mode="r")
    except Exception as err:  # unreadable JSON, wrong format ...
        raise _damaged(path, None, f"its metadata cannot be read ({type(err).__name__}: {err})") from None
    for name, arr in g.arrays():
        folder = os.path.join(path, name)
        if not os.path.isfile(os.path.join(folder, "zarr.json")):
            raise _damaged(path, name, "its zarr.json is missing")
        expected, present = _expected_chunks(arr), _present_chunks(folder)
        if present < expected:
            raise _damaged(path, name, f"{expected - present} of its {expected} chunks are missing")
    return g


class CheckedArray:
    """A zarr array whose read errors (checksum mismatch, truncated chunk) name the store and the array."""
    def __init__(self, array, store, name):
        self._array, self._store, self._name = array, store, name
        self._verified = set()  # chunks whose checksum read_rows has checked

    def __getattr__(self, attr):
        return getattr(self._array, attr)

    def __len__(self):
        return len(self._array)

    def _read(self, how, selection):
        try:
            return getattr(self._array, how)(selection)
        except Exception as err:
            raise _damaged(self._store, self._name, f"a chunk cannot be read ({err})") from None

    def __getitem__(self, selection):
        return self._read("__getitem__", selection)

    def get_orthogonal_selection(self, selection):
        return self._read("get_orthogonal_selection", selection)

    def read_rows(self, a0: int, a1: int, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Rows a0:a1 of a 2-D array chunked by rows, as float32, each chunk's crc32c verified.

        ``out``: a float32 buffer of at least that many values to read into (reused, it saves page faults).
        Each chunk's checksum is verified the first time this reader reads it; a re-read of a verified chunk
        (a streamed path reads every row block several times) checks its length only.

        The workflow's own layout (float32, little-endian bytes then crc32c, row chunks spanning every
        column: what :func:`write_features_store` writes) is read straight from the chunk files into one
        buffer — about 4x zarr's decode path here, which matters when a streamed path re-reads row blocks;
        any other layout goes through zarr.
        """
        arr = self._array
        folder = os.path.join(self._store, self._name)
        if not _raw_row_layout(arr) or not os.path.isdir(folder):
            data = np.asarray(self[a0:a1], dtype=np.float32)
            if out is None:
                return data
            view = out.reshape(-1)[:data.size].reshape(data.shape)
            view[...] = data
            return view

        rows, width = arr.chunks[0], arr.shape[1]
        if out is None:
            out = np.empty((a1 - a0, width), dtype=np.float32)
        else:
            out = out.reshape(-1)[:(a1 - a0) * width].reshape(a1 - a0, width)
        flat = out.reshape(-1).view(np.uint8)
        row_bytes = 4 * width
        for c in range(a0 // rows, -(-a1 // rows)):
            c0, c1 = c * rows, min((c + 1) * rows, arr.shape[0])
            lo, hi = max(a0, c0), min(a1, c1)
            path = os.path.join(folder, "c", str(c), "0")
            want = rows * row_bytes  # zarr stores an edge chunk whole (padded), as every other
            try:
                with open(path, "rb", buffering=0) as f:
                    whole = (lo, hi) == (c0, c1) and c1 - c0 == rows
                    if whole:
                        data = flat[(lo - a0) * row_bytes:(hi - a0) * row_bytes]
                        got = f.readinto(memoryview(data))
                    else:
                        data = np.frombuffer(f.read(want), dtype=np.uint8)
                        got = len(data)
                    tail = f.read()
            except FileNotFoundError:
                raise _damaged(self._store, self._name, f"chunk {c} is missing") from None
            if got != want or len(tail) != 4:
                raise _damaged(self._store, self._name, f"chunk {c} is truncated or too long")
            if c not in self._verified:
                if np.uint32(google_crc32c.value(data)).tobytes() != tail:
                    raise _damaged(self._store, self._name, f"chunk {c} fails its checksum")
                self._verified.add(c)
            if not whole:
                flat[(lo - a0) * row_bytes:(hi - a0) * row_bytes] = data[(lo - c0) * row_bytes:(hi - c0) * row_bytes]
        return out


class CheckedGroup:
    """A verified zarr group (:func:`verify`) handing out :class:`CheckedArray` s."""
    def __init__(self, path):
        self.path = path
        self._group = verify(path)
        self.attrs = self._group.attrs

    def __getitem__(self, name):
        try:
            return CheckedArray(self._group[name], self.path, name)
        except KeyError:
            raise _damaged(self.path, name, "no such array in the store") from None

    def __contains__(self, name):
        return name in self._group

    def array_names(self):
        return [name for name, _ in self._group.arrays()]


def jsonable(attrs):
    """Attrs as plain JSON types (nested dicts become JSON strings only where zarr can't take them)."""
    return json.loads(json.dumps(attrs, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def write_dataset(ds, path, encoding=None):
    """Write an xarray Dataset as a Zarr v3 store, atomically, with consolidated metadata and checksums."""
    import zarr
    from zarr.codecs import ZstdCodec

    encoding = dict(encoding or {})
    for name in list(ds.variables):
        encoding.setdefault(name, {}).setdefault("compressors", [ZstdCodec(), *_codecs()])
    with atomic_dir(path) as tmp, zarr.config.set({"array.write_empty_chunks": True}):
        ds.to_zarr(tmp, zarr_format=3, consolidated=True, mode="w", encoding=encoding)


def open_dataset(path):
    """An xarray Dataset of a verified store, loaded (so a damaged chunk is an error naming its array)."""
    import xarray as xr

    verify(path)
    ds = xr.open_zarr(path)
    for name in ds.variables:
        try:
            ds[name].load()
        except Exception as err:
            raise _damaged(path, name, f"a chunk cannot be read ({err})") from None
    return ds


def create_coords(tmp, coords, attrs):
    """Start a store in ``tmp`` holding only coordinates and attrs (big arrays are added by :func:`add_array`).

    ``coords`` as xarray takes them (``{name: values}`` for a dimension coordinate, ``{name: (dim, values)}``
    for one along another dimension).  Written with zarr alone, in the layout xarray writes (dimension
    names in the array metadata, non-dimension coordinates listed in the group's ``coordinates`` attr), so
    ``xr.open_zarr`` reads the same Dataset while the jobs that write stores never import xarray (~0.4 s
    of every job's start-up).
    """
    import zarr

    g = zarr.open_group(tmp, mode="w", zarr_format=3)
    others = []
    for name, value in coords.items():
        dims, values = (value[0], value[1]) if isinstance(value, tuple) else (name, value)
        dims = [dims] if isinstance(dims, str) else list(dims)
        if dims != [name]:
            others.append(name)
        values = np.asarray(values)
        if values.dtype.kind in "OUT":  # strings: zarr's variable-length UTF-8 type, as xarray writes them
            values = np.array([str(v) for v in values.ravel()], dtype=str).reshape(values.shape)
            dtype = str
        else:
            dtype = values.dtype
        arr = g.create_array(name, shape=values.shape, dtype=dtype, chunks=values.shape or (1,),
                             dimension_names=dims, compressors=_codecs(), config={"write_empty_chunks": True})
        arr[...] = values
    g.attrs.update(jsonable({**attrs, **({"coordinates": " ".join(others)} if others else {})}))


def add_array(tmp, name, shape, chunks, dims, dtype="float32", attrs=None, fill_value=np.nan):
    """An uncompressed, checksummed array that xarray sees as a data variable with ``dims``."""
    import zarr

    g = zarr.open_group(tmp, mode="r+")
    # write_empty_chunks=True writes every chunk (so a missing one is detectable) and skips zarr's
    # all-fill-value scan of each chunk (8x faster writes here)
    arr = g.create_array(name, shape=tuple(shape), chunks=tuple(chunks), dtype=dtype, dimension_names=list(dims),
                         fill_value=fill_value, compressors=_codecs(), config={"write_empty_chunks": True})
    if attrs:
        arr.attrs.update(jsonable(attrs))
    return arr


def consolidate(tmp):
    import zarr

    zarr.consolidate_metadata(tmp)


def open_group(path):
    """A store of the workflow for reading: verified complete, read errors naming the store and the array."""
    return CheckedGroup(path)


def read_attrs(path):
    return dict(open_group(path).attrs)


# ---- features and RDM cubes ----------------------------------------------------------------------

def _raw_row_layout(arr) -> bool:
    """Is ``arr`` stored as the workflow writes features: 2-D float32 row chunks spanning every column, each
    chunk little-endian bytes followed by their crc32c, under ``c/<row chunk>/0``?"""
    layout = getattr(arr.metadata, "codecs", None) or ()
    return (arr.ndim == 2 and arr.chunks[1] == arr.shape[1] and str(arr.dtype) == "float32"
            and [type(c).__name__ for c in layout] == ["BytesCodec", "Crc32cCodec"]
            and str(getattr(getattr(layout[0], "endian", None), "value", "")) == "little"
            and getattr(arr.metadata.chunk_key_encoding, "separator", None) == "/")


def write_rows(folder: str, arr, start: int, values: np.ndarray) -> bool:
    """Write whole row chunks of a new array straight to their chunk files (bytes + crc32c, as zarr would).

    Only for the layout :func:`_raw_row_layout` accepts and rows that start a chunk and fill whole chunks
    (or end the array: the edge chunk is padded with the fill value, as zarr stores it); returns False
    otherwise, and the caller writes through zarr.  It skips zarr's encode path (two copies of every
    chunk); the result reads back through zarr, checksums included (tested).
    """
    rows = arr.chunks[0]
    n = len(values)
    if (start % rows or not (n % rows == 0 or start + n == arr.shape[0]) or not _raw_row_layout(arr)
            or values.dtype != np.float32 or values.ndim != 2 or values.shape[1] != arr.shape[1]):
        return False

    values = np.ascontiguousarray(values)
    for r0 in range(0, n, rows):
        block = values[r0:r0 + rows]
        if len(block) < rows:  # the edge chunk, stored whole
            padded = np.full((rows, block.shape[1]), arr.fill_value, dtype=np.float32)
            padded[:len(block)] = block
            block = padded
        data = block.reshape(-1).view(np.uint8)
        chunk_dir = os.path.join(folder, "c", str((start + r0) // rows))
        os.makedirs(chunk_dir, exist_ok=True)
        with open(os.path.join(chunk_dir, "0"), "wb") as f:
            f.write(memoryview(data))
            f.write(np.uint32(google_crc32c.value(data)).tobytes())
    return True


def _relu(X: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(X, 0, out=out)


# Elementwise functions ``op(X, out)`` by which a features store holds a node as another node's values:
# recomputed on read (in place on float32 rows), exactly -- a ReLU node read back equals the network's up to
# the sign of zero, which no distance sees.  ReLU outputs are 46 % of the tutorial network's activations.
NODE_OPS = {"relu": _relu}


@dataclass
class NodeLayout:
    """How a features store holds the nodes it was asked for.

    ``aliases``: node -> an earlier node with identical activations (eval-mode dropout, flatten);
    ``derived``: node -> (stored node, op in :data:`NODE_OPS`) it is computed from on read (a ReLU's output);
    every other node is an array of the store.  Derived nodes are always of a stored node; an alias may name a
    derived node (the tutorial network's ``dropout2`` is a copy of ``relu_2``, the ReLU of ``fc1``).
    """

    aliases: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)

    def source(self, node: str) -> tuple:
        """(stored array, op name or None) whose values, op applied, are ``node``'s."""
        node = self.aliases.get(node, node)
        return tuple(self.derived[node]) if node in self.derived else (node, None)

    def stored(self, nodes) -> list:
        """The nodes of ``nodes`` that are arrays of the store, in order."""
        return [n for n in nodes if n not in self.aliases and n not in self.derived]

    def attrs(self) -> dict:
        return {"aliases": dict(self.aliases), "shapes": dict(self.shapes),
                "derived": {n: {"of": s, "op": op} for n, (s, op) in self.derived.items()}}

    @classmethod
    def from_attrs(cls, attrs) -> "NodeLayout":
        """The layout a features store's (or a cube's) attrs describe; stores without ``derived`` hold every
        node that is not an alias."""
        return cls(dict(attrs.get("aliases") or {}),
                   {n: (d["of"], d["op"]) for n, d in (attrs.get("derived") or {}).items()},
                   dict(attrs.get("shapes") or {}))


def apply_node_op(X: np.ndarray, op: Optional[str]) -> np.ndarray:
    """``X`` (a fresh float32 buffer, changed in place) as the node ``op`` makes of it; ``op`` None: X."""
    return X if op is None else NODE_OPS[op](X, X)


def read_node(group, node: str) -> np.ndarray:
    """All activations of ``node`` as an (N, P) float32 array, from a features store (a path or an opened
    group): aliases and derived nodes resolved, so any node the store was asked for reads like a stored one.

    >>> X = read_node("results/features/standard/clean_50.zarr", "relu_1")   # doctest: +SKIP
    """
    g = open_group(group) if isinstance(group, (str, os.PathLike)) else group
    stored, op = NodeLayout.from_attrs(dict(g.attrs)).source(node)
    if stored not in g:
        raise ValueError(f"node {node!r} is not in the features store (it has {dict(g.attrs).get('nodes')})")
    X = np.asarray(g[stored][:], dtype=np.float32)  # a fresh array from the store: the op may work in place
    return apply_node_op(X.reshape(len(X), -1), op)


def write_features_store(out, batches, ids, labels, attrs, chunk_rows, progress=None):
    """Stream ``features.iter_features`` batches into a Zarr store: one (stim, unit) array per stored node.

    Aliased nodes (exact copies of an earlier node) and derived nodes (an elementwise function of a stored
    node: a ReLU's output) are not stored; the store's ``aliases`` and ``derived`` attrs say where their
    values are (:class:`NodeLayout`, :func:`read_node`).  A batch is written by a second thread while the
    next one is computed (both release the GIL), so at most two batches are in memory.
    """

    import zarr

    def write(feats, start):
        for node, v in feats.items():
            if not write_rows(os.path.join(tmp, node), arrays[node], start, v):
                arrays[node][start:start + len(v)] = v
        return start + len(v)

    def wait(job):  # the writer's error is raised here, in the caller
        stop = job.result()
        if progress:
            progress(f"features: {stop} / {n} images written")

    n = len(ids)
    arrays, layout = {}, NodeLayout()
    with atomic_dir(out) as tmp, ThreadPoolExecutor(max_workers=1) as writer:
        create_coords(tmp, {"stim": _id_coord(ids), "label": ("stim", np.asarray(labels))}, attrs)
        pending = None
        for start, feats, layout in batches:
            if not arrays:
                for node, v in feats.items():
                    arrays[node] = add_array(tmp, node, (n, v.shape[1]), (min(chunk_rows, n), v.shape[1]),
                                             ("stim", f"{node}_unit"), attrs={"shape": layout.shapes[node]})
                zarr.open_group(tmp, mode="r+").attrs.update(jsonable(layout.attrs()))
            if pending is not None:
                wait(pending)
            pending = writer.submit(write, feats, start)
        if pending is not None:
            wait(pending)
        consolidate(tmp)
    return list(arrays), layout


# ---- provenance: one schema for every store ------------------------------------------------------

STIMULUS_KEYS = ("stimulus_set", "stimulus_kind", "stimulus_spec", "classes", "label_space", "data_source",
                 "eps", "attacked_model", "attacked_checkpoint_md5", "base_set")
MODEL_KEYS = ("model", "model_kind", "checkpoint_md5", "checkpoint_source", "source_md5")


def stimulus_provenance(attrs):
    """The stimulus keys of a store's attrs (a stimulus store, or any store made from one)."""
    return {k: attrs.get(k) for k in STIMULUS_KEYS}


def model_provenance(record):
    """The model keys from a model record (``results/checkpoints/{model}.json``) or a store's attrs."""
    if "kind" in record and "model_kind" not in record:  # a model record
        return {"model": record["model"], "model_kind": record["kind"], "checkpoint_md5": record.get("md5"),
                "checkpoint_source": record.get("source"), "source_md5": record.get("source_md5")}
    return {k: record.get(k) for k in MODEL_KEYS}


def _id_coord(ids):
    ids = np.asarray(ids)
    return ids if ids.dtype.kind in "iu" else ids.astype(object)


# ---- stimulus sets -----------------------------------------------------------------------------------

def write_stimuli(out, stim, attrs):
    """A stimulus set: ``images`` (stim, channel, y, x) in [0, 1] with ``stim`` ids and ``label`` coordinates."""
    images = np.asarray(stim.images, dtype=np.float32)
    with atomic_dir(out) as tmp:
        create_coords(tmp, {"stim": _id_coord(stim.ids), "label": ("stim", np.asarray(stim.labels, dtype=np.int64))},
                      {**attrs, "classes": list(stim.classes)})
        chunks = (min(len(images), 1024),) + images.shape[1:]
        arr = add_array(tmp, "images", images.shape, chunks, ("stim", "channel", "y", "x"),
                        attrs={"description": "pixels in [0, 1]; each model applies its own preprocessing"})
        arr[...] = images
        consolidate(tmp)


# ---- RDM cubes -----------------------------------------------------------------------------------

def write_cube(out, ids, labels, layers, matrices, attrs, chunk=2500, long_name="dissimilarity", per_layer=None):
    """A labelled cube (layer, stim_i, stim_j): ``matrices`` yields one N x N matrix per layer, in order.

    Written layer by layer, so only one matrix is in memory at a time.  ``per_layer``
    ({name: {layer: value}}, read after the last matrix) adds one float per layer
    per name (e.g. ``separability``).
    """
    n = len(ids)
    chunk = min(n, chunk)
    ids = _id_coord(ids)
    with atomic_dir(out) as tmp:
        coords = {"layer": np.array(layers, dtype=object), "stim_i": ids, "stim_j": ids.copy(),
                  "label_i": ("stim_i", np.asarray(labels)), "label_j": ("stim_j", np.asarray(labels))}
        create_coords(tmp, coords, attrs)
        cube = add_array(tmp, "rdm", (len(layers), n, n), (1, chunk, chunk), ("layer", "stim_i", "stim_j"),
                         attrs={"long_name": long_name})
        k = -1
        for k, D in enumerate(matrices):
            if k >= len(layers):
                raise ValueError(f"more matrices than the {len(layers)} layers of {out}")
            cube[k] = D
        if k + 1 != len(layers):
            raise ValueError(f"{out}: {k + 1} matrices for {len(layers)} layers")
        for name, values in (per_layer or {}).items():
            arr = add_array(tmp, name, (len(layers),), (len(layers),), ("layer",), dtype="float64")
            arr[:] = np.array([values[layer] for layer in layers], dtype=np.float64)
        consolidate(tmp)
