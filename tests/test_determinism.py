"""Results are a function of the config and the inputs only: not of --cores (nor of Snakemake's allotment)."""

import glob
import json
import os

import numpy as np
import pytest
import yaml
import zarr

from conftest import run_snakemake

pytestmark = pytest.mark.slow

CONFIG = {
    "data": {"source": "embedded", "embedded_heldout_per_class": 30},
    "models": {"standard": {"kind": "feedforward", "train": {"epochs": 1}},
               "robust": {"kind": "feedforward", "train": {"recipe": "fgsm", "epochs": 1, "seed": 2}}},
    "stimuli": {"clean": {"kind": "per_class", "n": 8, "pool": 300},
                "adv": {"kind": "fgsm", "base": "clean", "model": "standard", "eps": 0.2}},
    "rdms": {"panels": {"models": ["standard", "robust"], "stimuli": ["clean", "adv"], "nodes": "layers"}},
    "paths": {"both": {"models": ["standard", "robust"], "stimuli": "adv"}},
    "dimreduction": {"views": {"model": "robust", "stimuli": "clean", "methods": ["PCA", "MDS"]}},
}


def _arrays(root):
    out = {}
    for path in sorted(glob.glob(f"{root}/results/**/*.zarr", recursive=True)):
        g = zarr.open_group(path, mode="r")
        for name, arr in g.arrays():
            out[f"{os.path.relpath(path, root)}/{name}"] = arr[...]
    return out


def test_one_core_and_two_cores_give_bitwise_equal_results(tmp_path):
    runs = {}
    for cores in ("1", "2"):
        folder = tmp_path / f"cores{cores}"
        folder.mkdir()
        (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))
        run_snakemake(folder, "--cores", cores)
        runs[cores] = folder
    one, two = (_arrays(runs[c]) for c in ("1", "2"))
    assert len(one) > 40 and one.keys() == two.keys()
    differ = [k for k in one if one[k].tobytes() != two[k].tobytes()]
    assert not differ, differ
    for rel in ("results/accuracy.csv", "results/metrics/summary.csv", "results/metrics/paths/both.json"):
        assert (runs["1"] / rel).read_bytes() == (runs["2"] / rel).read_bytes(), rel
    for model in CONFIG["models"]:
        a, b = (json.loads((runs[c] / f"results/checkpoints/{model}.json").read_text()) for c in ("1", "2"))
        assert a["md5"] == b["md5"] and a["metrics"] == b["metrics"] and a["torch_threads"] == b["torch_threads"] == 2
    cube = zarr.open_group(str(runs["1"] / "results/rdms/correlation/robust/adv.zarr"), mode="r")
    assert dict(cube.attrs)["blas_threads"] == 1 and np.isfinite(cube["rdm"][...]).all()
