"""A run killed with SIGKILL in the middle, then rerun, ends with the outputs of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
import zarr

from conftest import REPO, SNAKEMAKE, run_snakemake

pytestmark = pytest.mark.slow

CONFIG = {
    "data": {"source": "embedded", "embedded_heldout_per_class": 30},
    "models": {"standard": {"arch": "feedforward", "train": {"epochs": 1}},
               "other": {"arch": "feedforward", "train": {"epochs": 1, "seed": 7}}},
    "stimuli": {"clean_10": {"kind": "per_class", "n": 10, "pool": 300},
                "first_60": {"kind": "first", "n": 60},
                "adv": {"kind": "fgsm", "base": "clean_10", "model": "standard", "eps": 0.2}},
    "rdms": {"panels": {"models": ["standard", "other"], "stimuli": ["clean_10", "adv"], "nodes": "layers"}},
    "paths": {"p": {"models": ["standard", "other"], "stimuli": "first_60"}},
}


def _write(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))


def test_sigkill_mid_run_then_rerun_equals_uninterrupted_run(tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    _write(clean)
    _write(killed)
    run_snakemake(clean, "--cores", "2")

    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.Popen([SNAKEMAKE, "-s", os.path.join(REPO, "Snakefile"), "--directory", str(killed),
                             "--cores", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    # wait until jobs after training are running: some stimulus or feature work has started
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if list((killed / "results").glob("features/*/.*.tmp-*")) or \
                len(list((killed / "results").glob("features/*/*.zarr"))) >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((killed / "results").rglob("*.zarr")))

    run_snakemake(killed, "--unlock")
    run_snakemake(killed, "--cores", "2", "--rerun-incomplete")
    assert not list((killed / "results").rglob(".*.tmp-*")), "temp stores left behind"

    cubes = sorted(p.relative_to(clean) for p in (clean / "results/rdms").rglob("*.zarr"))
    assert len(cubes) == 6 and done_before < len(list((clean / "results").rglob("*.zarr")))
    for rel in cubes:
        a = zarr.open_group(str(clean / rel), mode="r")["rdm"][:]
        b = zarr.open_group(str(killed / rel), mode="r")["rdm"][:]
        assert a.tobytes() == b.tobytes(), rel
    for rel in ("results/accuracy.csv",):
        assert (clean / rel).read_text() == (killed / rel).read_text()
    pa = zarr.open_group(str(clean / "results/paths/p.zarr"), mode="r")
    pb = zarr.open_group(str(killed / "results/paths/p.zarr"), mode="r")
    assert np.array_equal(pa["similarity"][:], pb["similarity"][:])
    assert np.array_equal(pa["embedding"][:], pb["embedding"][:])


def _arrays(root):
    out = {}
    for path in sorted((root / "results").rglob("*.zarr")):
        g = zarr.open_group(str(path), mode="r")
        for name, arr in g.arrays():
            out[f"{path.relative_to(root)}/{name}"] = arr[...].tobytes()
    return out


def _wait_for(predicate, proc, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_sigkill_at_seeded_random_moments_including_downloads_and_store_writes(tmp_path, http_server):
    """Fault injection: six SIGKILLs of the whole run, each at a seeded random moment (inside the download,
    inside a store write, or anywhere), each followed by --unlock and a resumed run; the end result is bitwise
    the uninterrupted run's."""
    import io
    import json
    import random

    import torch

    from repgeom.networks import Net

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(Net().state_dict(), buf)
    body = buf.getvalue()
    import hashlib

    url = http_server.serve("/served.pth", "slow", body)
    config = {**CONFIG, "models": {**CONFIG["models"], "served": {
        "kind": "feedforward", "checkpoint": {"url": url, "md5": hashlib.md5(body).hexdigest()}}},
        "paths": {"p": {"models": ["standard", "other", "served"], "stimuli": "first_60"}}}
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for folder in (clean, killed):
        folder.mkdir()
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(clean, "--cores", "2")

    rng = random.Random(20261129)
    res = killed / "results"
    moments = {
        "download": lambda: any((killed / "resources/checkpoints").glob("*/.part-*")),
        "store write": lambda: any(res.rglob(".*.tmp-*")),
        "anywhere": lambda: True,
    }
    plan = ["download", "store write", "anywhere", "store write", "anywhere", "store write"]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    kills = []
    for moment in plan:
        proc = subprocess.Popen([SNAKEMAKE, "-s", os.path.join(REPO, "Snakefile"), "--directory", str(killed),
                                 "--cores", "2", "--rerun-incomplete"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        delay = rng.uniform(0, 0.3) if moment != "anywhere" else rng.uniform(1.0, 8.0)
        hit = _wait_for(moments[moment], proc)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills.append((moment, hit, round(delay, 2)))
        proc.wait()
        run_snakemake(killed, "--unlock")
    assert len(kills) >= 5 and sum(hit for m, hit, _ in kills if m != "anywhere") >= 3, kills
    run_snakemake(killed, "--cores", "2", "--rerun-incomplete")
    assert not list(res.rglob(".*.tmp-*")) and not list((killed / "resources").rglob(".part-*"))
    a, b = _arrays(clean), _arrays(killed)
    assert a.keys() == b.keys() and len(a) > 60
    assert [k for k in a if a[k] != b[k]] == []
    for rel in ("results/accuracy.csv", "results/metrics/summary.csv", "results/metrics/paths/p.json"):
        assert (clean / rel).read_bytes() == (killed / rel).read_bytes(), rel
    for m in config["models"]:
        ra, rb = (json.loads((d / f"results/checkpoints/{m}.json").read_text()) for d in (clean, killed))
        assert ra["md5"] == rb["md5"], m
