"""Reference RDMs from outside (brain, behaviour, another lab's model), aligned to a stimulus set by id.

A ``references:`` entry names a file and how to read it; ``REFERENCE_FORMATS``
is the registry of readers (by ``format``, else by the file's suffix):

* ``rsatoolbox`` (``.hdf5``, ``.h5``, ``.pkl``): an ``rsatoolbox.rdm.RDMs``
  saved with ``RDMs.save``; stimulus ids from the pattern descriptor
  ``stimulus_descriptor`` (default ``stim``) when it has one;
* ``npz``: an array ``variable`` (default ``rdms``) of shape (N, N),
  (K, N, N) or condensed (K, N(N-1)/2); ids from the array ``stimuli`` if present;
  names from ``names``;
* ``mat`` (MATLAB): ``variable`` holding such an array, or a struct array
  whose ``field`` (default ``RDM``) holds one RDM each (names from ``name``);
* ``zarr``: a repgeom cube (layer, stim_i, stim_j); ids from ``stim_i``.

Without ids in the file, ``stimulus_order`` gives them (a list, or a text
file with one id per line).  ``select`` keeps some of the RDMs (by name or
position).  Several RDMs (subjects, sessions) give their mean as the path
entry; the cube keeps every one (layers: their names, then ``mean``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .registry import Registry

REFERENCE_FORMATS = Registry("reference RDM format")
MEAN_LAYER = "mean"


@dataclass(frozen=True)
class Reader:
    """How to read one file format: ``read(path, spec) -> (rdms (K, N, N), names, ids or None)``."""

    suffixes: tuple
    read: Callable
    description: str = ""


def _square(rdms, where):
    """(K, N, N) from (N, N), (K, N, N) or condensed (K, M) / (M,)."""
    a = np.asarray(rdms, dtype=np.float64)
    if a.ndim == 2 and a.shape[0] == a.shape[1]:
        a = a[None]
    if a.ndim == 1:
        a = a[None]
    if a.ndim == 2:  # condensed vectors
        from scipy.spatial.distance import squareform

        m = a.shape[1]
        n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
        if n * (n - 1) // 2 != m:
            raise ValueError(f"{where}: {m} values per RDM is no condensed N x N matrix")
        a = np.stack([squareform(v, checks=False) for v in a])
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"{where}: expected N x N matrices, got shape {a.shape}")
    return a


def _read_npz(path, spec):
    key = spec.get("variable") or "rdms"
    with np.load(path, allow_pickle=False) as z:
        if key not in z:
            raise ValueError(f"{path}: no array {key!r} (it has {sorted(z.files)}); set variable:")
        rdms = _square(z[key], path)
        names = [str(v) for v in z["names"]] if "names" in z else None
        ids = list(z["stimuli"]) if "stimuli" in z else None
    return rdms, names, ids


def _read_mat(path, spec):
    import scipy.io

    try:
        data = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except (ValueError, OSError, NotImplementedError) as err:
        raise ValueError(f"{path}: not a readable MATLAB file ({err})") from None
    variables = [k for k in data if not k.startswith("__")]
    key = spec.get("variable") or (variables[0] if len(variables) == 1 else None)
    if key not in data:
        raise ValueError(f"{path}: set variable: to one of {variables}")
    value = data[key]
    field = spec.get("field") or "RDM"
    structs = hasattr(value, "_fieldnames") or (isinstance(value, np.ndarray) and value.dtype == object)
    items = list(np.atleast_1d(value).ravel()) if structs else None
    if items is not None and items and hasattr(items[0], "_fieldnames"):
        if field not in items[0]._fieldnames:
            raise ValueError(f"{path}: {key} has fields {items[0]._fieldnames}, not {field!r}; set field:")
        rdms = np.concatenate([_square(getattr(it, field), f"{path}:{key}.{field}") for it in items])
        names = [str(getattr(it, "name", f"{key}[{i}]")) for i, it in enumerate(items)]
        return rdms, names, None
    return _square(value, f"{path}:{key}"), None, None


def _read_rsatoolbox(path, spec):
    from rsatoolbox.rdm import load_rdm

    file_type = "pkl" if path.endswith(".pkl") else "hdf5"
    rdms = load_rdm(path, file_type=file_type)
    mats = rdms.get_matrices()
    desc = spec.get("stimulus_descriptor") or "stim"
    ids = list(rdms.pattern_descriptors[desc]) if desc in rdms.pattern_descriptors else None
    names = None
    for key in ("name", "subject", "index"):
        if key in rdms.rdm_descriptors:
            names = [str(v) for v in rdms.rdm_descriptors[key]]
            break
    return mats, names, ids


def _read_zarr(path, spec):
    import zarr

    g = zarr.open_group(path, mode="r")  # anyone's cube: not necessarily written (and checksummed) by repgeom
    return (np.asarray(g["rdm"][:], dtype=np.float64), [str(v) for v in g["layer"][:]],
            list(np.asarray(g["stim_i"][:])))


REFERENCE_FORMATS.register("rsatoolbox", Reader((".hdf5", ".h5", ".pkl"), _read_rsatoolbox,
                                                "rsatoolbox RDMs saved with RDMs.save"))
REFERENCE_FORMATS.register("npz", Reader((".npz",), _read_npz, "numpy .npz with rdms (and stimuli, names)"))
REFERENCE_FORMATS.register("mat", Reader((".mat",), _read_mat, "MATLAB .mat: an array or a struct array of RDMs"))
REFERENCE_FORMATS.register("zarr", Reader((".zarr",), _read_zarr, "a repgeom RDM cube"))


def format_of(spec: dict) -> str:
    """The reader name of a ``references:`` entry (``format``, else by the file's suffix)."""
    if spec.get("format"):
        return spec["format"]
    path = spec["path"].rstrip("/").lower()
    for name, reader in REFERENCE_FORMATS.items():
        if path.endswith(reader.suffixes):
            return name
    raise ValueError(f"cannot tell the format of {spec['path']!r} from its suffix; set format: to one of "
                     f"{REFERENCE_FORMATS.names()}")


def _order(spec):
    order = spec.get("stimulus_order")
    if order is None:
        return None
    if isinstance(order, str):
        if not os.path.isfile(order):
            raise ValueError(f"stimulus_order file {order!r} does not exist")
        with open(order) as f:
            return [line.strip() for line in f if line.strip()]
    return list(order)


def _select(rdms, names, select, where):
    if select is None:
        return rdms, names
    keep = []
    for item in select:
        if isinstance(item, int):
            if not 0 <= item < len(rdms):
                raise ValueError(f"{where}: select {item} is out of range (it has {len(rdms)} RDMs)")
            keep.append(item)
        elif item in names:
            keep.append(names.index(item))
        else:
            raise ValueError(f"{where}: no RDM named {item!r}; names: {names}")
    return rdms[keep], [names[k] for k in keep]


def read(spec: dict):
    """(rdms (K, N, N) float64, names, ids as strings) of a ``references:`` entry, before alignment."""
    path = spec["path"]
    if not os.path.exists(path):
        raise ValueError(f"reference file {path!r} does not exist")
    rdms, names, ids = REFERENCE_FORMATS[format_of(spec)].read(path, spec)
    names = names or [f"rdm{k}" for k in range(len(rdms))]
    if len(set(names)) != len(names):
        names = [f"{n} #{k}" for k, n in enumerate(names)]
    rdms, names = _select(rdms, names, spec.get("select"), path)
    order = _order(spec)
    if order is not None:
        ids = order
    if ids is None:
        raise ValueError(f"{path}: holds no stimulus ids; give stimulus_order (a list or a file, one id per line)")
    if len(ids) != rdms.shape[1]:
        raise ValueError(f"{path}: {len(ids)} stimulus ids for {rdms.shape[1]} x {rdms.shape[1]} RDMs")
    return rdms, names, [str(i) for i in ids]


def align(rdms, ids, set_ids, where="reference"):
    """The RDMs reordered (and subset) to ``set_ids``; a clear error naming the ids the reference lacks."""
    ids = [str(i) for i in ids]
    position = {}
    for k, i in enumerate(ids):
        if i in position:
            raise ValueError(f"{where}: stimulus id {i!r} appears twice")
        position[i] = k
    wanted = [str(i) for i in set_ids]
    missing = [i for i in wanted if i not in position]
    if missing:
        raise ValueError(f"{where}: lacks {len(missing)} of the stimulus set's {len(wanted)} ids, e.g. "
                         f"{missing[:5]} (its ids look like {ids[:3]})")
    take = np.array([position[i] for i in wanted])
    out = rdms[:, take][:, :, take]
    for D in out:
        np.fill_diagonal(D, 0.0)
    if not np.allclose(out, out.transpose(0, 2, 1), equal_nan=True):
        raise ValueError(f"{where}: the RDMs are not symmetric")
    return out


def cube_layers(rdms, names):
    """(layers, matrices): every RDM under its name, then their mean under ``mean`` (the path entry)."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(rdms, axis=0) if len(rdms) > 1 else rdms[0]
    return list(names) + [MEAN_LAYER], list(rdms) + [mean]


def file_digest(path: str) -> str:
    """sha256 of a file, or of a folder's files (a Zarr cube)."""
    h = hashlib.sha256()
    paths = [path] if os.path.isfile(path) else sorted(
        os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs)
    for p in paths:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
