"""Every bad input is a clear error: malformed configs refused before any job (naming the key), bad input files
refused in one line naming the file — through the real snakemake CLI, in a fresh folder each."""

import copy
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import yaml

from conftest import run_snakemake

pytestmark = pytest.mark.slow

BASE = {
    "data": {"source": "embedded", "embedded_heldout_per_class": 30},
    "models": {"standard": {"kind": "feedforward", "train": {"epochs": 1}}},
    "stimuli": {"clean": {"kind": "per_class", "n": 6, "pool": 300},
                "first": {"kind": "first", "n": 40},
                "adv": {"kind": "fgsm", "base": "clean", "model": "standard", "eps": [0.1, 0.2]}},
    "rdms": {"panels": {"models": ["standard"], "stimuli": ["clean"], "nodes": "layers"}},
    "paths": {"p": {"models": ["standard"], "stimuli": "clean"},
              "q": {"models": ["standard"], "stimuli": "first"}},
    "path_comparisons": {"c": {"reference": "p", "other": "q"}},
    "dimreduction": {"d": {"model": "standard", "stimuli": "clean", "methods": ["PCA"]}},
}


def _set(path, value):
    def mutate(cfg):
        *head, last = path.split(".")
        node = cfg
        for key in head:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last)
        else:
            node[last] = value
    return mutate


DELETE = object()
TORCHVISION = {"kind": "torchvision", "builder": "resnet18"}

# (case, mutation of BASE, strings the message must hold)
CONFIG_CASES = [
    ("unknown model kind", _set("models.standard.kind", "resnet"), ["config.models.standard.kind", "'resnet'"]),
    ("unknown kind under its old name", lambda c: c["models"]["standard"].update(arch=c["models"]["standard"].pop("kind"))
     or c["models"]["standard"].update(arch="vit"), ["config.models.standard.arch", "'vit'"]),
    ("unknown data source", _set("data.source", "kaggle"), ["config.data.source", "'kaggle'"]),
    ("idx source without idx_dir", _set("data.source", "idx"), ["config.data.idx_dir", "needed with source: idx"]),
    ("idx folder without the files", lambda c: c["data"].update(source="idx", idx_dir="/nonexistent/mnist"),
     ["config.data.idx_dir", "/nonexistent/mnist", "lacks"]),
    ("missing local checkpoint", _set("models.standard.checkpoint", {"path": "weights/nothing.pth"}),
     ["config.models.standard.checkpoint.path", "weights/nothing.pth", "does not exist"]),
    ("url without md5", _set("models.standard.checkpoint", {"url": "http://127.0.0.1:9/m.pth"}),
     ["config.models.standard.checkpoint.md5", "missing"]),
    ("malformed md5", _set("models.standard.checkpoint", {"url": "http://127.0.0.1:9/m.pth", "md5": "abc"}),
     ["config.models.standard.checkpoint.md5"]),
    ("no weights for a tutorial network", _set("models.standard.train", DELETE),
     ["config.models.standard", "neither a checkpoint nor a train recipe"]),
    ("zero epochs", _set("models.standard.train.epochs", 0), ["config.models.standard.train.epochs"]),
    ("unknown recipe", _set("models.standard.train.recipe", "sgd"), ["config.models.standard.train.recipe", "'sgd'"]),
    ("a model named labels", lambda c: c["models"].update(labels=copy.deepcopy(c["models"]["standard"])),
     ["config.models", "'labels'"]),
    ("a key the kind does not take", _set("models.standard.builder", "alexnet"),
     ["config.models.standard", "'builder'"]),
    ("torchvision without a builder", lambda c: c["models"].update(t={"kind": "torchvision"}),
     ["config.models.t", "'builder' is a required property"]),
    ("torchvision weights and a checkpoint", lambda c: c["models"].update(
        t={**TORCHVISION, "weights": "DEFAULT", "checkpoint": {"path": "config.yaml"}}),
     ["config.models.t", "not both"]),
    ("a torchvision builder typo", lambda c: c["models"].update(t={"kind": "torchvision", "builder": "resnet19"}),
     ["config.models.t.builder", "'resnet19'", "did you mean 'resnet18'"]),
    ("torchvision weights of another builder", lambda c: c["models"].update(
        t={**TORCHVISION, "weights": "IMAGENET1K_V2"}),
     ["config.models.t.weights", "'IMAGENET1K_V2'", "resnet18", "did you mean 'IMAGENET1K_V1'"]),
    ("module without its input size", lambda c: c["models"].update(u={"kind": "module", "class": "a.b:C"}),
     ["config.models.u.preprocess", "size"]),
    ("unknown stimulus kind", _set("stimuli.clean.kind", "random"), ["config.stimuli.clean.kind", "'random'"]),
    ("more per class than held out", _set("stimuli.clean.n", 31),
     ["config.stimuli.clean.n", "31 per class", "only 30"]),
    ("more first digits than held out", _set("stimuli.first.n", 301),
     ["config.stimuli.first.n", "301", "has 300 digits"]),
    ("FGSM against an unknown model", _set("stimuli.adv.model", "ghost"), ["config.stimuli.adv.model", "'ghost'"]),
    ("FGSM of an FGSM set", lambda c: c["stimuli"].update(adv2={"kind": "fgsm", "base": "adv", "model": "standard",
                                                                "eps": 0.1}),
     ["config.stimuli.adv2.base", "itself an FGSM set"]),
    ("eps out of range", _set("stimuli.adv.eps", 1.5), ["config.stimuli.adv.eps"]),
    ("image folder that does not exist", lambda c: c["stimuli"].update(
        photos={"kind": "image_folder", "path": "no/such/folder"}),
     ["config.stimuli.photos.path", "no/such/folder", "does not exist"]),
    ("RDMs of an unknown model", _set("rdms.panels.models", ["ghost"]), ["config.rdms.panels", "'ghost'"]),
    ("unknown RDM method", _set("rdms.panels.method", "cosine-ish"), ["config.rdms.panels.method", "'cosine-ish'"]),
    ("unknown node", _set("rdms.panels.nodes", ["fc3"]), ["config.rdms.panels.nodes", "'fc3'", "valid:"]),
    ("a path over an eps sweep", _set("paths.p.stimuli", "adv"), ["config.paths.p.stimuli", "eps sweep", "adv-eps0.1"]),
    ("a model twice in a path", _set("paths.p.models", ["standard", "standard"]),
     ["config.paths.p.entries", "listed twice"]),
    ("an unknown reference entry", lambda c: c["paths"]["p"].update(entries=["standard", {"reference": "IT"}])
     or c["paths"]["p"].pop("models"), ["config.paths.p.entries", "unknown reference 'IT'"]),
    ("unknown comparison", _set("paths.p.compare", "euclid"), ["config.paths.p.compare", "'euclid'"]),
    ("comparing paths over different entries", _set("paths.q.labels", False),
     ["config.path_comparisons.c", "different entries"]),
    ("t-SNE perplexity too large for the set", lambda c: c["dimreduction"]["d"].update(methods=["t-SNE"]),
     ["config.dimreduction.d.perplexity", "60 stimuli", "19.7"]),
    ("a reduction listed twice", _set("dimreduction.d.methods", ["PCA", "PCA"]),
     ["config.dimreduction.d.methods", "non-unique"]),
    ("an analysis name with a slash", lambda c: c["paths"].update({"a/b": c["paths"].pop("q")})
     or c["path_comparisons"].pop("c"), ["config.paths", "'a/b'"]),
    ("a reference file that does not exist", lambda c: c.update(references={"IT": {"path": "brain/rdms.mat"}}),
     ["config.references.IT", "brain/rdms.mat"]),
    ("a reference file of unknown format", lambda c: c.update(references={"IT": {"path": "config.yaml"}}),
     ["config.references.IT.path", "set format:"]),
    ("an unknown top-level key", lambda c: c.update(plots={}), ["config", "'plots'"]),
    ("a zero batch size", lambda c: c.update(features={"batch_size": 0}), ["config.features.batch_size"]),
]


def _write(folder, cfg):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))


def _refused(folder, expect):
    proc = run_snakemake(folder, "--cores", "1", timeout=300, check=False)
    out = proc.stdout + proc.stderr
    missing = [e for e in expect if e not in out]
    return proc.returncode, missing, (folder / "results").exists(), out[-1500:]


def test_malformed_configs_and_files_are_refused_before_any_job(tmp_path):
    cases = []
    for name, mutate, expect in CONFIG_CASES:
        cfg = copy.deepcopy(BASE)
        mutate(cfg)
        folder = tmp_path / name.replace(" ", "_")
        _write(folder, cfg)
        cases.append((name, folder, expect))
    # files the config names, checked before any job too
    folder = tmp_path / "yaml_syntax_error"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(BASE).replace("epochs: 1", "epochs: [1"))
    cases.append(("YAML syntax error", folder, ["config.yaml: line", "column"]))
    folder = tmp_path / "duplicate_key"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(BASE) + "models:\n  other: {kind: recurrent}\n")
    cases.append(("a key given twice", folder, ["config.yaml: line", "'models' is given twice"]))
    for damage in ("truncated", "miscounted"):
        folder = tmp_path / f"idx_{damage}"
        idx = _idx_folder(folder / "idx", damage)
        _write(folder, {**copy.deepcopy(BASE), "data": {"source": "idx", "idx_dir": str(idx)}})
        expect = (["config.data.idx_dir", "t10k-images-idx3-ubyte", "truncated IDX file"] if damage == "truncated"
                  else ["config.data.idx_dir", "train-images-idx3-ubyte holds 600 images",
                        "train-labels-idx1-ubyte 599 labels"])
        cases.append((f"IDX {damage}", folder, expect))
    assert len(cases) >= 30
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: (c[0], *_refused(c[1], c[2])), cases))
    problems = [(name, missing, out) for name, rc, missing, ran, out in results if rc == 0 or missing or ran]
    assert not problems, "\n\n".join(f"{n}: missing {m}\n{o}" for n, m, o in problems)


def _idx_folder(folder, damage):
    from repgeom import mnist
    from test_mnist import _write_idx

    data = mnist.load_embedded(30, 0)
    small = mnist.Mnist(data.train_images[:600], data.train_labels[:600], data.test_images[:300],
                        data.test_labels[:300], source="embedded")
    _write_idx(folder, small)
    if damage == "truncated":
        path = folder / "t10k-images-idx3-ubyte"
        path.write_bytes(path.read_bytes()[:-784 * 10])
    else:
        path = folder / "train-labels-idx1-ubyte"
        raw = bytearray(path.read_bytes()[:-1])
        raw[4:8] = (599).to_bytes(4, "big")
        path.write_bytes(bytes(raw))
    return folder


# ---- input files only a job can read: one line naming the file, in the log and on the console ----------

def _one_line_error(folder, log, expect):
    proc = run_snakemake(folder, "--cores", "1", timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    text = (folder / log).read_text()
    assert "Traceback" not in text, text[-2000:]
    for part in expect:
        assert part in text, (part, text[-1500:])
        assert f"repgeom: results/{log.split('results/')[1]}" in out and part in out, out[-2500:]


def test_a_junk_local_checkpoint_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"<html>Sign in</html>" * 10)
    _write(tmp_path, {"data": BASE["data"], "models": {"m": {"kind": "feedforward",
                                                              "checkpoint": {"path": "junk.pth"}}}})
    _one_line_error(tmp_path, "results/logs/prepare_model/m.log", ["junk.pth", "not a loadable torch checkpoint"])


def test_a_truncated_mnist_file_and_a_broken_image_are_one_line_naming_the_file(tmp_path):
    from PIL import Image

    cfg = {"data": BASE["data"], "models": {"m": {"kind": "feedforward", "train": {"epochs": 1}}}}
    _write(tmp_path, cfg)
    run_snakemake(tmp_path, "--cores", "1", "results/data/mnist.npz")
    npz = tmp_path / "results/data/mnist.npz"
    npz.write_bytes(npz.read_bytes()[:5000])
    _one_line_error(tmp_path, "results/logs/prepare_model/m.log", ["results/data/mnist.npz", "not a complete MNIST"])
    photos = tmp_path / "photos" / "cats"
    photos.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(photos / "a.png")
    (photos / "b.png").write_bytes(b"\x89PNG not really")
    folder = tmp_path / "folder_run"
    _write(folder, {"models": {"t": {**TORCHVISION, "num_classes": 2}},
                    "stimuli": {"photos": {"kind": "image_folder", "path": str(tmp_path / "photos")}}})
    _one_line_error(folder, "results/logs/stimuli/photos.log", ["cats/b.png", "not a readable image"])


def test_jobs_run_the_workflows_interpreter_without_an_activated_environment(tmp_path):
    """`.venv/bin/snakemake` called with a PATH that has no repgeom: the jobs still import it."""
    import subprocess
    import sys

    from conftest import REPO, SNAKEMAKE

    (tmp_path / "config.yaml").write_text(yaml.safe_dump({
        "models": {"tiny": {"kind": "feedforward", "train": {"epochs": 1}}},
        "stimuli": {"clean_5": {"kind": "per_class", "n": 5}}}))
    proc = subprocess.run([SNAKEMAKE, "-s", os.path.join(REPO, "Snakefile"), "--cores", "1",
                           "results/stimuli/clean_5.zarr"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PATH="/usr/bin:/bin"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "results/stimuli/clean_5.zarr").is_dir() and sys.executable


SNAKEMAKE_FAILURE_LOG = """\
[Thu Dec  3 16:28:05 2026]
rule rdm:
    input: results/features/tiny/clean_5.zarr
    output: results/rdms/euclidean/tiny/clean_5.zarr
    log: {log}
    jobid: 3
[Thu Dec  3 16:28:09 2026]
Error in rule rdm:
    message: None
    jobid: 3
    input: results/features/tiny/clean_5.zarr
    output: results/rdms/euclidean/tiny/clean_5.zarr
    log: {log} (check log file(s) for error details)
    shell:
        python -m repgeom.steps.rdm --features results/features/tiny/clean_5.zarr > {log} 2>&1
        (command exited with non-zero exit code)

Shutting down, this might take some time.
"""


def test_a_failed_jobs_log_without_an_error_line_is_shown_by_its_last_lines(tmp_path):
    from repgeom.runinfo import failure_lines

    log = tmp_path / "results/logs/rdm/tiny.log"
    log.parent.mkdir(parents=True)
    log.write_text("starting\n/usr/bin/python: Error while finding module specification for 'repgeom.steps.rdm' "
                   "(ModuleNotFoundError: No module named 'repgeom')\n")
    snakemake_log = tmp_path / "snakemake.log"
    snakemake_log.write_text(SNAKEMAKE_FAILURE_LOG.format(log=log))
    lines = failure_lines(str(tmp_path / "results"), 0.0, str(snakemake_log))
    assert lines[0] == f"repgeom: {log}: no error line; its last lines:"
    assert "No module named 'repgeom'" in lines[-1] and len(lines) == 3
    log.write_text("2026-12-03 16:28:09,000 ERROR features store is corrupt: results/features/tiny/clean_5.zarr\n")
    assert failure_lines(str(tmp_path / "results"), 0.0, str(snakemake_log)) == [
        f"repgeom: {log}: features store is corrupt: results/features/tiny/clean_5.zarr"]
    log.unlink()
    assert failure_lines(str(tmp_path / "results"), 0.0, str(snakemake_log)) == [
        f"repgeom: {log}: the job failed before writing its log"]
