"""The workflow through the real snakemake CLI: lint, dry run, and small end-to-end runs in a temp folder."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, md5_of, run_snakemake
from repgeom import checkpoints, mnist
from test_checkpoints import TUTORIAL_SCRIPT
from test_mnist import _write_idx


def test_lint_is_clean():
    proc = run_snakemake(REPO, "--lint", timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run_of_the_default_config(tmp_path):
    proc = run_snakemake(tmp_path, "--configfile", os.path.join(REPO, "config.yaml"), "-n", "--quiet", "rules",
                         timeout=120)
    out = proc.stdout + proc.stderr
    for rule, count in [("fetch_checkpoint", 3), ("prepare_model", 3 + 5), ("mnist", 1), ("labels_rdm", 5), ("report", 1)]:
        assert any(line.split()[:2] == [rule, str(count)] for line in out.splitlines()), out


@pytest.mark.parametrize("standalone", [False, True], ids=["overlay", "standalone"])
def test_a_configfile_is_an_overlay_unless_it_says_standalone(tmp_path, standalone):
    """Run where config.yaml is: an overlay adds to it (its models planned too), a standalone file replaces it."""
    shutil.copy(os.path.join(REPO, "config.yaml"), tmp_path / "config.yaml")
    other = {"models": {"tiny": {"kind": "feedforward", "train": {"epochs": 1}}},
             "rdms": {"tiny_rdms": {"models": ["tiny"], "stimuli": ["clean_5"]}},
             "stimuli": {"clean_5": {"kind": "per_class", "n": 5}}}
    if standalone:
        other["standalone"] = True
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    proc = run_snakemake(tmp_path, "--configfile", str(tmp_path / "other.yaml"), "-n", "--quiet", "rules", timeout=120)
    counts = {line.split()[0]: int(line.split()[1]) for line in (proc.stdout + proc.stderr).splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["prepare_model"] == (1 if standalone else 1 + 3 + 5), counts
    assert ("fetch_checkpoint" in counts) is (not standalone), counts


def test_bad_config_fails_before_any_job(tmp_path):
    cfg = {"models": {"m": {"arch": "resnet", "train": {}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(tmp_path, "--cores", "1", timeout=120, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "config.models.m.arch" in out and "feedforward" in out
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def tutorial_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    script = folder / "tutorial_save.py"
    script.write_text(TUTORIAL_SCRIPT)
    subprocess.run([sys.executable, str(script), str(folder)], check=True, cwd=folder)
    return (folder / "standard_model.pth").read_bytes()


def _small_config(tmp_path, models):
    data = mnist.load_embedded(100, 0)
    small = mnist.Mnist(data.train_images[:600], data.train_labels[:600], data.test_images[:200],
                        data.test_labels[:200], source="embedded")
    _write_idx(tmp_path / "idx", small)
    cfg = {"data": {"source": "idx", "idx_dir": str(tmp_path / "idx")},
           "download": {"timeout": 5}, "models": models}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))


@pytest.mark.slow
def test_small_end_to_end_run(tmp_path, http_server, closed_port, tutorial_checkpoint):
    url = http_server.serve("/standard_model.pth", "ok", tutorial_checkpoint)
    _small_config(tmp_path, {
        "served": {"arch": "feedforward", "checkpoint": {"url": url, "md5": md5_of(tutorial_checkpoint)},
                   "train": {"epochs": 1}},
        "offline": {"arch": "feedforward", "checkpoint": {"url": f"http://127.0.0.1:{closed_port}/m.pth",
                                                          "md5": "0" * 32}, "train": {"epochs": 1, "seed": 3}},
        "trainonly": {"arch": "recurrent", "train": {"epochs": 1}},
    })
    proc = run_snakemake(tmp_path, "--cores", "2")
    summary = proc.stderr[proc.stderr.index("repgeom: run complete."):]  # where the data and each model came from
    assert "data: MNIST from idx: 600 training / 200 held-out digits" in summary
    assert f"served         feedforward  downloaded from {url}" in summary
    assert "offline        feedforward  trained here (download unreachable" in summary
    assert "trainonly      recurrent    trained here (train-only model)" in summary
    res = tmp_path / "results" / "checkpoints"
    rec = {m: json.loads((res / f"{m}.json").read_text()) for m in ("served", "offline", "trainonly")}
    assert rec["served"]["source"] == "downloaded" and rec["served"]["source_md5"] == md5_of(tutorial_checkpoint)
    assert rec["offline"]["source"] == "trained" and rec["offline"]["fallback_from"] == "download"
    assert "unreachable" in rec["offline"]["reason"]
    assert rec["trainonly"]["source"] == "trained" and rec["trainonly"]["reason"] == "train-only model"
    for m, r in rec.items():
        assert r["data"]["source"] == "idx"
        assert r["metrics"]["heldout_n"] == 200
        assert 0 <= r["metrics"]["heldout_accuracy"] <= 1
        assert r["md5"] == md5_of((res / f"{m}.pt").read_bytes())
        model = checkpoints.load_model(str(res / f"{m}.pt"))
        assert not model.training
    # the downloaded model is the served one, weight for weight
    served = checkpoints.load_model(str(tmp_path / "resources/checkpoints/served/checkpoint.pth"))
    normalised = checkpoints.load_model(str(res / "served.pt"))
    for k, v in served.state_dict().items():
        assert torch.equal(v, normalised.state_dict()[k])
    log = (tmp_path / "results/logs/prepare_model/offline.log").read_text()
    assert "epoch 1/1 done" in log and "held-out accuracy" in log
    # a second run has nothing to do
    proc = run_snakemake(tmp_path, "--cores", "2", "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_md5_mismatch_fails_and_is_never_replaced_by_training(tmp_path, http_server, tutorial_checkpoint):
    url = http_server.serve("/tampered.pth", "ok", tutorial_checkpoint)
    _small_config(tmp_path, {"m": {"arch": "feedforward", "checkpoint": {"url": url, "md5": "f" * 32},
                                   "train": {"epochs": 1}}})
    proc = run_snakemake(tmp_path, "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "md5 mismatch" in (tmp_path / "results/logs/fetch_checkpoint/m.log").read_text()
    assert not (tmp_path / "results/checkpoints/m.pt").exists()
    assert not (tmp_path / "resources/checkpoints/m").exists()


@pytest.mark.slow
def test_a_refused_download_is_an_error_not_a_training_fallback(tmp_path, http_server):
    marker = tmp_path / "PWNED"
    payload = subprocess.run(
        [sys.executable, "-c",
         "import io, os, sys, torch\n"
         "class E:\n"
         f"    def __reduce__(self): return (os.system, ('touch {marker}',))\n"
         "buf = io.BytesIO(); torch.save(E(), buf); sys.stdout.buffer.write(buf.getvalue())"],
        check=True, capture_output=True).stdout
    url = http_server.serve("/evil.pth", "ok", payload)
    _small_config(tmp_path, {"m": {"arch": "feedforward", "checkpoint": {"url": url, "md5": md5_of(payload)},
                                   "train": {"epochs": 1}}})
    proc = run_snakemake(tmp_path, "--cores", "1", check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/prepare_model/m.log").read_text()
    assert "refused to load" in log and "system" in log
    assert "training" not in log
    assert not (tmp_path / "results/checkpoints/m.pt").exists()
    assert not marker.exists()
