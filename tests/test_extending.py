"""docs/extending.md, executed: each example registers its kind, a config naming them validates, and each computes."""

import copy
import os
import re

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO
from repgeom import config as cfgmod
from repgeom.analyses import ANALYSES
from repgeom.compare import COMPARISONS
from repgeom.models import MODEL_KINDS
from repgeom.rdm import RDM_METHODS
from repgeom.stimuli import STIMULUS_KINDS

ADDED = [(MODEL_KINDS, "mlp"), (STIMULUS_KINDS, "gratings"), (RDM_METHODS, "cosine"), (COMPARISONS, "msd"),
         (ANALYSES, "layer_fits")]


@pytest.fixture(scope="module")
def extended():
    with open(os.path.join(REPO, "docs/extending.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) == 5
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/extending.md", "exec"), namespace)
    yield namespace
    for registry, name in ADDED:
        registry.unregister(name)


def _config(tmp_path):
    with open(os.path.join(REPO, "config.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg = copy.deepcopy(cfg)
    cfg["models"]["probe"] = {"kind": "mlp", "hidden": [32, 16], "label_space": "gratings"}
    cfg["stimuli"]["bars"] = {"kind": "gratings", "orientations": 4, "n": 6, "size": 28}
    cfg["rdms"]["probe_cosine"] = {"models": ["probe"], "stimuli": ["bars"], "method": "cosine"}
    cfg["paths"]["probe_path"] = {"stimuli": "bars", "entries": ["probe", "labels"], "compare": "msd",
                                  "rdm_method": "cosine", "distance": "one_minus"}
    if not (tmp_path / "it.npz").exists():
        np.savez(tmp_path / "it.npz", rdms=np.zeros((3, 3)))  # replaced by a real one where it is computed
    cfg["references"] = {"fake_it": {"path": str(tmp_path / "it.npz")}}
    cfg["layer_fits"] = {"fit": {"models": ["probe"], "stimuli": "bars", "reference": "fake_it"}}
    return cfg


def test_every_example_is_accepted_by_config_validation(extended, tmp_path):
    for registry, name in ADDED:
        assert name in registry
    schema = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
    cfg = cfgmod.validate(_config(tmp_path), schema)
    assert cfg["models"]["probe"]["classes"] == 10 and cfg["layer_fits"]["fit"]["nodes"] == "layers"
    bad = _config(tmp_path)
    bad["stimuli"]["bars"]["orientation"] = 3  # a key the kind does not take
    with pytest.raises(cfgmod.ConfigError, match="config.stimuli.bars.*'orientation'"):
        cfgmod.validate(bad, schema)


def test_every_example_computes(extended, tmp_path):
    from repgeom import cubes, networks, nodes, paths, preprocess, rdm, store
    from repgeom.plan import Plan

    stim = STIMULUS_KINDS["gratings"].make({"orientations": 4, "n": 6, "size": 28})
    assert stim.images.shape == (24, 1, 28, 28) and stim.classes[1] == "45 deg"
    kind = MODEL_KINDS["mlp"]
    torch.manual_seed(0)
    net = kind.build(kind.build_spec({"hidden": [32, 16]})).eval()
    pre = preprocess.build(kind.preprocess({}))
    manifest = networks.manifest(net, pre(torch.from_numpy(stim.images[:2])), kind.layers)
    assert manifest["layers"] == ["input", "1", "3", "5"]  # input and the three linear layers
    with torch.no_grad():
        feats = {n: v.flatten(1).numpy() for n, v in
                 networks.feature_extractor(net, manifest["layers"])(pre(torch.from_numpy(stim.images))).items()}
    # the RDM method: equals 1 - cosine, and makes a cube
    X = feats["3"].astype(np.float64)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    ref = 1 - unit @ unit.T
    np.fill_diagonal(ref, 0)
    assert np.allclose(rdm.compute(X, "cosine"), ref, atol=1e-10)
    cube = str(tmp_path / "probe.zarr")
    store.write_cube(cube, stim.ids, stim.labels, manifest["layers"],
                     (rdm.compute(feats[n], "cosine") for n in manifest["layers"]), {"method": "cosine"})
    labels = str(tmp_path / "labels.zarr")
    store.write_cube(labels, stim.ids, stim.labels, ["labels"], cubes.labels_rdms(stim.labels, stim.classes,
                                                                                  "cosine"), {})
    # the comparison, in a path of that cube and the labels
    entries = [paths.Entry("probe", "model", manifest["layers"], [cubes.CubeRows(store.open_group(cube)["rdm"], k)
                                                                   for k in range(4)]),
               paths.Entry("labels", "labels", ["labels"], [cubes.Cube(labels).rows("labels")], "point")]
    p = paths.path(entries, 24, "msd", "one_minus")
    mats = [cubes.Cube(cube).matrix(n) for n in manifest["layers"]] + [cubes.Cube(labels).matrix("labels")]
    iu = np.triu_indices(24, 1)
    msd = np.mean((mats[0][iu] - mats[4][iu]) ** 2)
    assert np.isclose(p.similarity[0, 4], np.exp(-msd))
    # the analysis: planned from a config, computed on the cubes
    np.savez(tmp_path / "it.npz", rdms=mats[4], stimuli=np.array(stim.ids, dtype=str))
    schema = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
    plan = Plan(cfgmod.validate(_config(tmp_path), schema))
    assert plan.analysis_inputs("layer_fits", "fit") == ["results/rdms/correlation/probe/bars.zarr",
                                                         "results/references/fake_it/bars.zarr"]
    job = plan.analysis_job("layer_fits", "fit", manifest_of=lambda m: manifest)
    assert job["models"] == {"probe": manifest["layers"]}
    job["compare"] = "cosine"
    ref_cube = str(tmp_path / "ref.zarr")
    store.write_cube(ref_cube, stim.ids, stim.labels, ["mean"], iter([mats[4]]), {})
    ds, record = ANALYSES["layer_fits"].compute(job, [cube, ref_cube])
    assert set(record["fits"]["probe"]) == set(manifest["layers"]) and ds.fit.shape == (4,)
    assert ANALYSES["layer_fits"].summary_rows(record)[0][5] == "fit_to_fake_it"
    fig = ANALYSES["layer_fits"].draw(ds, {"probe": {"label": "MLP probe"}})
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "MLP probe"
    assert nodes.resolve(manifest, "layers") == manifest["layers"]
