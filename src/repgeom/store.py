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
    # write_empty_chunks=True skips zarr's all-fill-value scan of every chunk (8x faster writes here)
    arr = g.create_array(name, shape=tuple(shape), chunks=tuple(chunks), dtype=dtype, dimension_names=list(dims),
                         fill_value=fill_value, compressors=None, config={"write_empty_chunks": True})
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


# ---- features and RDM cubes ----------------------------------------------------------------------

def write_features_store(out, batches, ids, labels, attrs, chunk_rows, progress=None):
    """Stream ``features.iter_features`` batches into a Zarr store: one (stim, unit) array per stored node.

    Aliased nodes (exact copies of an earlier node) are not stored; the store's
    ``aliases`` attr maps them to the node that holds their values.  A batch is
    written by a second thread while the next one is computed (both release
    the GIL), so at most two batches are in memory.
    """
    from concurrent.futures import ThreadPoolExecutor

    import zarr

    def write(feats, start):
        for node, v in feats.items():
            arrays[node][start:start + len(v)] = v
        return start + len(v)

    def wait(job):  # the writer's error is raised here, in the caller
        stop = job.result()
        if progress:
            progress(f"features: {stop} / {n} images written")

    n = len(ids)
    arrays, aliases = {}, {}
    with atomic_dir(out) as tmp, ThreadPoolExecutor(max_workers=1) as writer:
        create_coords(tmp, {"stim": np.asarray(ids), "label": ("stim", np.asarray(labels))}, attrs)
        pending = None
        for start, feats, aliases, shapes in batches:
            if not arrays:
                for node, v in feats.items():
                    arrays[node] = add_array(tmp, node, (n, v.shape[1]), (min(chunk_rows, n), v.shape[1]),
                                             ("stim", f"{node}_unit"), attrs={"shape": shapes[node]})
                zarr.open_group(tmp, mode="r+").attrs.update(jsonable({"aliases": aliases, "shapes": shapes}))
            if pending is not None:
                wait(pending)
            pending = writer.submit(write, feats, start)
        if pending is not None:
            wait(pending)
        consolidate(tmp)
    return list(arrays), aliases


def write_rdm_cube(out, features_path, method, nodes, attrs, block=None, chunk=2500, device="cpu", progress=None):
    """Compute the RDM of every node in a features store and write the labelled cube (layer, stim_i, stim_j)."""
    from . import rdm

    g = open_group(features_path)
    fattrs = dict(g.attrs)
    aliases = fattrs.get("aliases", {})
    missing = [node for node in nodes if node not in fattrs["nodes"]]
    if missing:
        raise ValueError(f"nodes {missing} are not in {features_path} (it has {fattrs['nodes']})")
    ids = np.asarray(g["stim"][:])
    labels = np.asarray(g["label"][:])
    n = len(ids)
    chunk = min(n, chunk)
    last = {}
    with atomic_dir(out) as tmp:
        coords = {"layer": np.array(nodes, dtype=object), "stim_i": ids, "stim_j": ids.copy(),
                  "label_i": ("stim_i", labels), "label_j": ("stim_j", labels)}
        create_coords(tmp, coords, {**attrs, "aliases": aliases})
        cube = add_array(tmp, "rdm", (len(nodes), n, n), (1, chunk, chunk), ("layer", "stim_i", "stim_j"),
                         attrs={"long_name": f"{method} dissimilarity"})
        for k, node in enumerate(nodes):
            source = aliases.get(node, node)
            if source not in last:  # aliases follow their source, so one cached RDM suffices
                last = {}  # free the previous RDM before the next one is built
                X = np.asarray(g[source][:])
                P = X.shape[1]
                last = {source: rdm.compute(X, method, block=block, device=device, overwrite=True)}
                del X
                if progress:
                    progress(f"rdm {method}: {node} (P={P})")
            elif progress:
                progress(f"rdm {method}: {node} = {source} (identical activations)")
            cube[k] = last[source]
        consolidate(tmp)
