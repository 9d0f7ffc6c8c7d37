"""The pure planning module and the reference-RDM readers, without Snakemake."""

import copy
import os

import numpy as np
import pytest
import yaml

from conftest import REPO
from repgeom import config as cfgmod
from repgeom import references
from repgeom.artifacts import Embedding, LabelsCube, ModelCube, NeedsManifest, ReferenceCube
from repgeom.plan import Plan

SCHEMA = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
with open(os.path.join(REPO, "config.yaml")) as f:
    DEFAULT = yaml.safe_load(f)


def _plan(mutate=None):
    cfg = copy.deepcopy(DEFAULT)
    if mutate:
        mutate(cfg)
    return Plan(cfgmod.validate(cfg, SCHEMA))


def test_default_plan_unions_nodes_per_store_and_lists_every_target():
    plan = _plan()
    # the standard model's features on clean_50 serve two paths (all nodes) and three embeddings (layers)
    assert plan.feature_nodes("standard", "clean_50")[-1] == "softmax"
    assert plan.cube_nodes("correlation", "recurrent", "clean_20") == ["conv2", "conv2_1", "conv2_2", "conv2_3",
                                                                        "conv2_4"]
    assert plan.labels_cubes == ({("euclidean", s) for s in ("first_1000", "clean_5", "clean_50", "fgsm_standard_50")}
                                 | {("correlation", "first_1000")})
    targets = plan.targets()
    assert "results/figures/dimreduction/section1.png" in targets  # every figure the report shows
    assert "results/labels/euclidean/clean_50.zarr" in targets and "results/metrics/summary.csv" in targets
    assert len(plan.accuracy_pairs()) == (3 + 5) * (7 + 3 * 6)  # five new-seed models; seven sets and 3 sweeps
    job = plan.analysis_job("paths", "exercise2_new_seed")
    assert [e["name"] for e in job["entries"]] == ["standard", "new_seed", "labels"]
    assert job["entries"][-1]["store"] == "results/labels/euclidean/clean_50.zarr"
    # seeds as subjects: one replicate per seed of the family, the other entries shared
    assert [[e["source"] for e in rep] for rep in job["replicates"]] == [
        ["standard", f"new_seed-seed{s}", "labels"] for s in (2, 3, 4, 5, 6)]
    assert job["replicates"][2][1]["store"] == "results/rdms/euclidean/new_seed-seed4/clean_50.zarr"
    assert job["bootstrap"] == {"n": 1000, "seed": 0, "stratify": True, "embed": 200}  # clean_50: 50 of each class
    assert job["stimulus_store"] == "results/stimuli/clean_50.zarr"
    assert plan.models["new_seed-seed4"]["train"]["seed"] == 4 and "seeds" not in plan.models["new_seed-seed4"]
    assert "color" not in str(job) and "label" not in job  # display settings stay out of the compute job
    assert plan.analysis_display("paths", "exercise2_new_seed")["new_seed"] == {
        "label": "model new seed", "color": "c", "seeds": [2, 3, 4, 5, 6]}
    assert plan.rdm_threads("first_1000") == 1 and plan.set_size("fgsm_standard_50") == 500
    assert plan.needs_mnist()


def test_requests_from_analyses_are_shared_artifacts():
    plan = _plan()
    assert plan.path_of(ModelCube("euclidean", "standard", "clean_5")) == "results/rdms/euclidean/standard/clean_5.zarr"
    assert plan.path_of(LabelsCube("euclidean", "clean_5")) == "results/labels/euclidean/clean_5.zarr"
    assert plan.path_of(ReferenceCube("hIT", "objects")) == "results/references/hIT/objects.zarr"
    emb = Embedding("standard", "clean_50", "MDS", 0, 40.0)
    assert plan.path_of(emb) == "results/embeddings/standard/clean_50/mds-seed0.zarr"
    # Exercise 1's MDS is Section 1's: one embedding job serves both analyses
    assert len([k for k in plan.embeddings if k[:2] == ("standard", "clean_50")]) == 3


def _torchvision(cfg):
    cfg["models"]["net"] = {"kind": "torchvision", "builder": "resnet18", "num_classes": 10, "label_space": "mnist",
                            "preprocess": {"channels": 1, "size": 28, "mean": [0.5], "std": [0.5]}}
    cfg["paths"]["mixed"] = {"stimuli": "clean_50", "entries": ["standard", {"model": "net", "nodes": ["layer4"]},
                                                                 "labels"]}


def test_a_traced_model_is_planned_from_its_manifest():
    plan = _plan(_torchvision)
    assert not plan.is_static("net") and plan.is_static("standard")
    with pytest.raises(NeedsManifest):
        plan.feature_nodes("net", "clean_50")
    manifest = {"nodes": ["input", "conv1", "layer4.0.relu", "layer4.1.relu_1", "fc"], "layers": ["input", "fc"]}
    assert plan.feature_nodes("net", "clean_50", lambda m: manifest) == ["layer4.1.relu_1"]
    assert plan.analysis_models("paths", "mixed") == ["standard", "net"]
    with pytest.raises(ValueError, match=r"unknown node\(s\) \['layer9'\] of model 'net'; valid"):
        plan.resolve("net", ["layer9"], lambda m: manifest)
    assert ("net", "clean_50") in plan.accuracy_pairs()  # its label space is MNIST's


def _mat_rdms(tmp_path, k=3, n=6, condensed=False):
    import scipy.io
    from scipy.spatial.distance import squareform

    rng = np.random.default_rng(0)
    mats = []
    for _ in range(k):
        X = rng.standard_normal((n, 4))
        D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
        mats.append(D)
    structs = np.zeros(k, dtype=[("RDM", object), ("name", object)])
    for i, D in enumerate(mats):
        structs[i] = (squareform(D) if condensed else D, f"subject {i}")
    path = tmp_path / "rdms.mat"
    scipy.io.savemat(path, {"RDMs": structs})
    return str(path), np.stack(mats)


@pytest.mark.parametrize("condensed", [False, True])
def test_mat_struct_arrays_are_read_selected_and_aligned_by_id(tmp_path, condensed):
    path, mats = _mat_rdms(tmp_path, condensed=condensed)
    order = ["f", "e", "d", "c", "b", "a"]  # the file's rows
    spec = {"path": path, "variable": "RDMs", "stimulus_order": order, "select": ["subject 2", 0]}
    rdms, names, ids = references.read(spec)
    assert names == ["subject 2", "subject 0"] and ids == order
    assert np.allclose(rdms[0], mats[2]) and np.allclose(rdms[1], mats[0])
    aligned = references.align(rdms, ids, ["a", "c", "e"])  # a subset, in the set's own order
    assert np.allclose(aligned[0], mats[2][np.ix_([5, 3, 1], [5, 3, 1])])
    layers, out = references.cube_layers(aligned, names)
    assert layers == ["subject 2", "subject 0", "mean"] and np.allclose(out[-1], aligned.mean(0))
    with pytest.raises(ValueError, match=r"lacks 1 of the stimulus set's 2 ids, e\.g\. \['zz'\]"):
        references.align(rdms, ids, ["a", "zz"])
    with pytest.raises(ValueError, match="no RDM named 'nobody'"):
        references.read({**spec, "select": ["nobody"]})
    with pytest.raises(ValueError, match="holds no stimulus ids; give stimulus_order"):
        references.read({"path": path, "variable": "RDMs"})


def test_npz_rsatoolbox_and_zarr_references(tmp_path):
    from rsatoolbox.rdm import RDMs

    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 3))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    ids = np.array(["s1", "s2", "s3", "s4", "s5"])
    np.savez(tmp_path / "r.npz", rdms=D, stimuli=ids)
    rdms, names, got_ids = references.read({"path": str(tmp_path / "r.npz")})
    assert np.allclose(rdms[0], D) and got_ids == list(ids) and names == ["rdm0"]
    rsa = RDMs(D[None], pattern_descriptors={"stim": list(ids)}, rdm_descriptors={"name": ["IT"]})
    rsa.save(str(tmp_path / "r.hdf5"), file_type="hdf5")
    rdms, names, got_ids = references.read({"path": str(tmp_path / "r.hdf5")})
    assert np.allclose(rdms[0], D) and got_ids == list(ids) and names == ["IT"]
    assert references.format_of({"path": "x.pkl"}) == "rsatoolbox" and references.format_of({"path": "a.zarr/"}) == "zarr"
    with pytest.raises(ValueError, match="set format:"):
        references.format_of({"path": "rdms.csv"})
    asym = D.copy()
    asym[0, 1] += 1
    with pytest.raises(ValueError, match="not symmetric"):
        references.align(asym[None], list(ids), list(ids))


def test_planning_the_tutorial_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, yaml; from repgeom import config; from repgeom.plan import Plan; "
            f"cfg = config.validate(yaml.safe_load(open({os.path.join(REPO, 'config.yaml')!r})), "
            f"config.load_schema({os.path.join(REPO, 'workflow/schemas/config.schema.yaml')!r})); "
            "p = Plan(cfg); p.targets(); [p.analysis_job(*k) for k in p.analyses]; "
            "[p.feature_nodes(*k) for k in p.feature_stores]; "
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'xarray', 'sklearn')]; "
            "print(heavy); assert not heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_model_reads_the_data_to_train_or_because_its_label_space_has_a_heldout_split():
    """The kind and its label space say it (LABEL_SPACES), not a string test: a torchvision network on MNIST's
    classes is evaluated on the held-out digits, one on ImageNet's is not."""
    cfg = copy.deepcopy(DEFAULT)
    cfg["models"]["small_resnet"] = {"kind": "torchvision", "builder": "resnet18", "num_classes": 10,
                                     "label_space": "mnist",
                                     "preprocess": {"size": 28, "channels": 1, "mean": [0.1307], "std": [0.3081]}}
    cfg["models"]["imagenet_resnet"] = {"kind": "torchvision", "builder": "resnet18"}
    plan = Plan(cfgmod.validate(cfg, SCHEMA))
    assert plan.model_needs_mnist("standard") and plan.model_needs_mnist("small_resnet")
    assert not plan.model_needs_mnist("imagenet_resnet")
