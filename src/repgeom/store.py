"""Zarr artifacts: atomic writes (temp store + rename), xarray-readable layouts, provenance attrs.

Every store is written into a hidden sibling folder and renamed into place
only when complete, so a crash never leaves a half-written store at the
output path (a half-written Zarr still opens and reads missing chunks as
fill values).
"""

import contextlib
import json
import os
import shutil
import uuid
import warnings

import numpy as np

warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temp folder beside ``path``; on success it replaces ``path``, on failure it is removed."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def jsonable(attrs):
    """Attrs as plain JSON types (nested dicts become JSON strings only where zarr can't take them)."""
    return json.loads(json.dumps(attrs, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def write_dataset(ds, path, encoding=None):
    """Write an xarray Dataset as a Zarr v3 store, atomically, with consolidated metadata."""
    with atomic_dir(path) as tmp:
        ds.to_zarr(tmp, zarr_format=3, consolidated=True, mode="w", encoding=encoding or {})


def create_coords(tmp, coords, attrs):
    """Start a store in ``tmp`` holding only coordinates and attrs (big arrays are added by :func:`add_array`)."""
    import xarray as xr

    xr.Dataset(coords=coords, attrs=jsonable(attrs)).to_zarr(tmp, zarr_format=3, consolidated=False, mode="w")


def add_array(tmp, name, shape, chunks, dims, dtype="float32", attrs=None, fill_value=np.nan):
    """An uncompressed array that xarray sees as a data variable with ``dims``."""
    import zarr

    g = zarr.open_group(tmp, mode="r+")
    arr = g.create_array(name, shape=tuple(shape), chunks=tuple(chunks), dtype=dtype, dimension_names=list(dims),
                         fill_value=fill_value, compressors=None)
    if attrs:
        arr.attrs.update(jsonable(attrs))
    return arr


def consolidate(tmp):
    import zarr

    zarr.consolidate_metadata(tmp)


def open_group(path):
    import zarr

    return zarr.open_group(path, mode="r")


def read_attrs(path):
    return dict(open_group(path).attrs)
