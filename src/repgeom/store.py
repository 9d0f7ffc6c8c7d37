"""Zarr artifacts (I/O only): atomic writes (temp store + rename), xarray-readable layouts, provenance attrs.

Every store is written into a hidden sibling folder and renamed into place
only when complete, so a crash never leaves a half-written store at the
output path (a half-written Zarr still opens and reads missing chunks as
fill values).

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
                             dimension_names=dims)
        arr[...] = values
    g.attrs.update(jsonable({**attrs, **({"coordinates": " ".join(others)} if others else {})}))


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
        create_coords(tmp, {"stim": _id_coord(ids), "label": ("stim", np.asarray(labels))}, attrs)
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


# ---- provenance: one schema for every store ------------------------------------------------------

STIMULUS_KEYS = ("stimulus_set", "stimulus_kind", "stimulus_spec", "classes", "label_space", "data_source",
                 "eps", "attacked_model", "attacked_checkpoint_md5", "base_set")
MODEL_KEYS = ("model", "model_kind", "checkpoint_md5", "checkpoint_source")


def stimulus_provenance(attrs):
    """The stimulus keys of a store's attrs (a stimulus store, or any store made from one)."""
    return {k: attrs.get(k) for k in STIMULUS_KEYS}


def model_provenance(record):
    """The model keys from a model record (``results/checkpoints/{model}.json``) or a store's attrs."""
    if "kind" in record and "model_kind" not in record:  # a model record
        return {"model": record["model"], "model_kind": record["kind"], "checkpoint_md5": record.get("md5"),
                "checkpoint_source": record.get("source")}
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


def read_stimuli(path):
    """A :class:`repgeom.stimuli.Stimuli` from a stimulus store."""
    from .stimuli import Stimuli

    g = open_group(path)
    attrs = dict(g.attrs)
    return Stimuli(np.asarray(g["images"][:]), np.asarray(g["stim"][:]), np.asarray(g["label"][:]),
                   list(attrs["classes"]), attrs)


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
