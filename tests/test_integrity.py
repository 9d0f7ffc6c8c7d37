"""Corruption is never silent: every store carries per-chunk checksums and readers check every chunk is there."""

import os
import shutil

import numpy as np
import pytest
import yaml

from conftest import run_snakemake
from repgeom import store
from repgeom.cubes import Cube


def _cube(tmp_path, n=300, chunk=100):
    rng = np.random.default_rng(0)
    mats = [rng.random((n, n)).astype(np.float32) for _ in range(2)]
    path = str(tmp_path / "cube.zarr")
    store.write_cube(path, np.arange(n), rng.integers(0, 3, n), ["conv1", "fc"], iter(mats), {"method": "x"},
                     chunk=chunk)
    return path, mats


def _chunk(path, array="rdm", key=("1", "0", "2")):
    return os.path.join(path, array, "c", *key)


def test_an_intact_store_reads_back_exactly(tmp_path):
    path, mats = _cube(tmp_path)
    cube = Cube(path)
    assert np.array_equal(cube.rows("fc").rows(slice(0, 300)), mats[1])
    assert np.array_equal(cube.rows("conv1").rows(np.array([5, 5, 250])), mats[0][[5, 5, 250]])
    meta = open(os.path.join(path, "rdm", "zarr.json")).read()
    assert '"crc32c"' in meta  # the checksum codec, in the array's own metadata


@pytest.mark.parametrize("damage", ["deleted chunk", "truncated chunk", "flipped byte", "deleted zarr.json",
                                    "deleted array zarr.json", "deleted coordinate chunk"])
def test_every_kind_of_damage_is_an_error_naming_store_and_array(tmp_path, damage):
    path, _ = _cube(tmp_path)
    target = _chunk(path)
    if damage == "deleted chunk":
        os.remove(target)
    elif damage == "truncated chunk":
        with open(target, "r+b") as f:
            f.truncate(os.path.getsize(target) - 100)
    elif damage == "flipped byte":
        with open(target, "r+b") as f:
            f.seek(1234)
            b = f.read(1)
            f.seek(1234)
            f.write(bytes([b[0] ^ 0x01]))
    elif damage == "deleted zarr.json":
        os.remove(os.path.join(path, "zarr.json"))
    elif damage == "deleted array zarr.json":
        os.remove(os.path.join(path, "rdm", "zarr.json"))
    elif damage == "deleted coordinate chunk":
        shutil.rmtree(os.path.join(path, "stim_i", "c"))
    with pytest.raises(store.StoreDamaged) as err:
        Cube(path).matrix("fc")  # layer 1: the damaged chunk's
    msg = str(err.value)
    assert msg.startswith(path) and "--forcerun" in msg
    expect = {"deleted chunk": ("'rdm'", "1 of its 18 chunks are missing"),
              "truncated chunk": ("'rdm'", "cannot be read"), "flipped byte": ("'rdm'", "checksum"),
              "deleted zarr.json": ("zarr.json",), "deleted array zarr.json": ("'rdm'", "zarr.json"),
              "deleted coordinate chunk": ("'stim_i'", "1 of its 1 chunks are missing")}[damage]
    for part in expect:
        assert part in msg, msg


def test_a_dataset_read_through_xarray_is_checked_too(tmp_path):
    import xarray as xr

    ds = xr.Dataset({"embedding": (("layer", "stim"), np.ones((2, 5)))}, coords={"layer": ["a", "b"]})
    path = str(tmp_path / "e.zarr")
    store.write_dataset(ds, path)
    assert np.array_equal(store.open_dataset(path).embedding.values, np.ones((2, 5)))
    chunk = next(os.path.join(r, f) for r, _, fs in os.walk(os.path.join(path, "embedding", "c")) for f in fs)
    with open(chunk, "r+b") as f:
        f.seek(3)
        f.write(b"\xff")
    with pytest.raises(store.StoreDamaged, match="'embedding'.*cannot be read"):
        store.open_dataset(path)


SMALL = {
    "data": {"source": "embedded", "embedded_heldout_per_class": 30},
    "models": {"standard": {"kind": "feedforward", "train": {"epochs": 1}}},
    "stimuli": {"clean": {"kind": "per_class", "n": 6, "pool": 300}},
    "paths": {"p": {"models": ["standard"], "stimuli": "clean", "nodes": "layers"}},
}


@pytest.mark.slow
def test_a_damaged_features_store_stops_the_rdm_job_and_nothing_is_written(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(SMALL))
    run_snakemake(tmp_path, "--cores", "2")
    features = tmp_path / "results/features/standard/clean.zarr"
    os.remove(features / "conv2" / "c" / "0" / "0")  # the example: one chunk of conv2 gone
    cube = tmp_path / "results/rdms/euclidean/standard/clean.zarr"
    proc = run_snakemake(tmp_path, "--cores", "1", "--forcerun", str(cube.relative_to(tmp_path)), check=False)
    assert proc.returncode != 0
    assert not cube.exists() and not list(cube.parent.glob(".*tmp-*"))
    log = (tmp_path / "results/logs/rdm/euclidean/standard/clean.log").read_text()
    assert "results/features/standard/clean.zarr, array 'conv2': 1 of its 1 chunks are missing" in log
    assert "Traceback" not in log
