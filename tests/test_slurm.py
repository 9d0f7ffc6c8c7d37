"""The workflow on a real single-node SLURM (brought up by tests/cluster/slurm_up.sh), against a local run."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import yaml
import zarr

from conftest import REPO, SNAKEMAKE, run_snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CONFIG = {
    "data": {"source": "embedded", "embedded_heldout_per_class": 30},
    "models": {"standard": {"arch": "feedforward", "train": {"epochs": 1}}},
    "stimuli": {
        "clean_10": {"kind": "per_class", "n": 10, "pool": 300},
        "adv": {"kind": "fgsm", "base": "clean_10", "model": "standard", "eps": 0.2},
    },
    "rdms": {
        "panels": {"models": ["standard"], "stimuli": ["clean_10", "adv"], "method": "correlation",
                   "nodes": "layers"},
        "path": {"models": ["standard"], "stimuli": ["clean_10"], "method": "euclidean", "nodes": "all"},
    },
}
UP = os.path.join(REPO, "tests/cluster/slurm_up.sh")
DOWN = os.path.join(REPO, "tests/cluster/slurm_down.sh")


@pytest.fixture(scope="module")
def slurm():
    already = subprocess.run(["scontrol", "ping"], capture_output=True, text=True).stdout if \
        subprocess.run(["which", "scontrol"], capture_output=True).returncode == 0 else ""
    proc = subprocess.run(["bash", UP], capture_output=True, text=True, timeout=600)
    if proc.returncode == 2:
        pytest.skip(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "SLURM can't be brought up")
    assert proc.returncode == 0 and "SLURM_UP" in proc.stdout, proc.stdout + proc.stderr
    yield
    if "UP" not in already:  # tear down only what this test started
        subprocess.run(["bash", DOWN], capture_output=True, timeout=120)


def _write(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))


def _run_on_slurm(folder, timeout=900):
    """snakemake --executor slurm, bounded: the plugin can ignore SIGTERM, so the whole group is killed."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [SNAKEMAKE, "-s", os.path.join(REPO, "Snakefile"), "--directory", str(folder),
           "--workflow-profile", os.path.join(REPO, "workflow/profiles/slurm"),
           "--jobs", "4", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "5",
           "--default-resources", "slurm_partition=debug", "runtime=10", "mem_mb=1000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"snakemake on SLURM did not finish in {timeout} s:\n{out[-5000:]}")
    return proc.returncode, out


def test_slurm_run_matches_local_run(slurm, tmp_path):
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    _write(local)
    _write(cluster)
    run_snakemake(local, "--cores", "2")
    rc, log = _run_on_slurm(cluster)
    (tmp_path / "slurm-run.log").write_text(log)
    assert rc == 0, log[-6000:]
    # jobs really went through sbatch and completed there; downloads/data prep stayed local
    submitted = log.count("SLURM jobid")
    assert submitted >= 6, log[-4000:]
    assert "localrule mnist" in log
    jobs = subprocess.run(["scontrol", "show", "job"], capture_output=True, text=True).stdout
    assert jobs.count("JobState=COMPLETED") >= submitted
    # same artifacts
    for rel in ("results/accuracy.csv",):
        assert (local / rel).read_text() == (cluster / rel).read_text()
    cubes = sorted(p.relative_to(local) for p in (local / "results/rdms").rglob("*.zarr"))
    assert len(cubes) == 3
    for rel in cubes:
        a = zarr.open_group(str(local / rel), mode="r")
        b = zarr.open_group(str(cluster / rel), mode="r")
        assert np.array_equal(a["rdm"][:], b["rdm"][:], equal_nan=True), rel
        assert list(a["layer"][:]) == list(b["layer"][:])
    for rel in ("results/checkpoints/standard.json",):
        import json

        ra, rb = (json.loads((d / rel).read_text()) for d in (local, cluster))
        assert ra["md5"] == rb["md5"] and ra["metrics"] == rb["metrics"]


def test_profile_resolves_resources_for_every_rule(tmp_path):
    _write(tmp_path)
    proc = run_snakemake(tmp_path, "-n", "--workflow-profile", os.path.join(REPO, "workflow/profiles/slurm"),
                         "--executor", "slurm", timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "checkpoint prepare_model:" in out  # a Snakemake checkpoint: it records the node manifest
    for rule in ("stimuli", "features", "rdm", "accuracy"):
        assert f"rule {rule}:" in out
    assert "mem_mb=" in out and "runtime=" in out and "slurm_partition=debug" in out
