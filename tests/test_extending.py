"""docs/extending.md, executed: each example registers its kind, a config naming them validates, each computes,
and the workflow runs them from a plug-in file."""

import copy
import hashlib
import io
import os
import re

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, run_snakemake
from repgeom import config as cfgmod
from repgeom.analyses import ANALYSES
from repgeom.captions import CAPTIONS
from repgeom.compare import COMPARISONS
from repgeom.models import MODEL_KINDS
from repgeom.rdm import RDM_METHODS
from repgeom.stimuli import STIMULUS_KINDS

ADDED = [(MODEL_KINDS, "mlp"), (STIMULUS_KINDS, "gratings"), (RDM_METHODS, "cosine"), (RDM_METHODS, "minkowski"),
         (COMPARISONS, "msd"), (ANALYSES, "layer_fits"), (CAPTIONS, "layer_fits")]


def _blocks():
    with open(os.path.join(REPO, "docs/extending.md")) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


@pytest.fixture(scope="module")
def extended():
    blocks = _blocks()
    assert len(blocks) == 6
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


def _npz(net):
    buf = io.BytesIO()
    np.savez(buf, **{k: v.numpy() for k, v in net.state_dict().items()})
    return buf.getvalue()


def test_a_model_kind_with_its_own_weights_downloads_verifies_and_loads_them(extended, tmp_path, http_server):
    """The example kind touches no step, rule or planner: its download() and loader() are all the workflow uses."""
    from repgeom import download, weights
    from repgeom.plan import Plan

    kind = MODEL_KINDS["mlp"]
    torch.manual_seed(7)
    published = kind.build({"hidden": [8], "classes": 4})
    body = _npz(published)
    spec = {"kind": "mlp", "hidden": [8], "classes": 4,
            "npz": {"url": http_server.serve("/mlp.npz", "ok", body), "sha256": hashlib.sha256(body).hexdigest()}}
    fetched = weights.fetch(kind.download(spec), str(tmp_path / "fetch"))
    assert fetched["status"] == "downloaded" and fetched["bytes"] == len(body)
    record = {}
    net = weights.obtain("probe", spec, fetched, str(tmp_path / "fetch"), None, record)
    assert record["source"] == "downloaded" and record["source_md5"] == hashlib.md5(body).hexdigest()
    for k, v in published.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    # a file that is not what the config names is refused and leaves nothing behind
    bad = dict(spec, npz={"url": spec["npz"]["url"], "sha256": "0" * 64})
    with pytest.raises(download.DownloadError, match="sha256 mismatch"):
        weights.fetch(kind.download(bad), str(tmp_path / "bad"))
    assert os.listdir(tmp_path / "bad") == []
    # planning asks the kind whether it downloads: the local fetch rule is wired for it
    cfg = _config(tmp_path)
    cfg["models"]["probe"]["npz"] = spec["npz"]
    plan = Plan(cfgmod.validate(cfg, cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))))
    assert plan.fetches("probe") and not plan.fetches("new_seed-seed2")  # a train-only tutorial model does not


def test_an_rdm_method_with_a_parameter_reaches_the_cube_the_path_and_the_step(extended, tmp_path):
    from scipy.spatial.distance import cdist

    from repgeom import rdm
    from repgeom.plan import Plan

    X = np.random.default_rng(0).standard_normal((12, 5))
    assert np.allclose(rdm.compute(X, "minkowski+p=1"), cdist(X, X, "cityblock") / 5)
    assert np.allclose(rdm.compute(X, {"name": "minkowski", "p": 1}), cdist(X, X, "cityblock") / 5)
    assert rdm.method_id({"name": "minkowski", "p": 2}) == "minkowski"  # the default: the plain name
    cfg = _config(tmp_path)
    cfg["rdms"]["probe_cosine"]["method"] = {"name": "minkowski", "p": 1}
    cfg["paths"]["probe_path"].update(rdm_method={"name": "minkowski", "p": 3}, compare="cosine")
    schema = cfgmod.load_schema(os.path.join(REPO, "workflow/schemas/config.schema.yaml"))
    plan = Plan(cfgmod.validate(cfg, schema))
    assert plan.rdm_figure_cube("probe_cosine", "probe", "bars") == "results/rdms/minkowski+p=1/probe/bars.zarr"
    assert "results/rdms/minkowski+p=3/probe/bars.zarr" in plan.analysis_inputs("paths", "probe_path")
    assert plan.analysis_job("paths", "probe_path", manifest_of=lambda m: {"nodes": ["input"], "layers": ["input"],
                                                                           "aliases": {}})["rdm_method"] == \
        "minkowski+p=3"
    for value, message in (({"name": "minkowski", "q": 1}, r"has no parameter \['q'\]"),
                           ({"name": "minkowski", "p": 0.5}, "p: 0.5 is less than the minimum of 1"),
                           ("nosuch", "unknown RDM method 'nosuch'")):
        bad = _config(tmp_path)
        bad["rdms"]["probe_cosine"]["method"] = value
        with pytest.raises(cfgmod.ConfigError, match=f"config.rdms.probe_cosine.method.*{message}"):
            cfgmod.validate(bad, schema)


@pytest.mark.slow
def test_the_workflow_runs_the_examples_from_a_plug_in_file(tmp_path, http_server):
    """Every example of the page in one file of the user's, named under plugins: planning validates the
    config with its kinds, the jobs import it (the fetch rule downloads the kind's own weights, the cube job
    computes the parameterised method, the path job compares by the new comparison), nothing in the package
    is edited, and an edit to the plug-in reruns the jobs."""
    (tmp_path / "lab_kinds.py").write_text("\n\n".join(_blocks()))
    namespace = {}  # the kind's class (not registered here: the jobs register it), to publish weights for it
    exec(compile(_blocks()[0].replace('MODEL_KINDS.register("mlp", MLPKind())', ""), "mlp", "exec"), namespace)
    torch.manual_seed(3)
    body = _npz(namespace["MLPKind"]().build({"hidden": [16], "classes": 4}))
    cfg = {"plugins": ["lab_kinds.py"],
           "models": {"probe": {"kind": "mlp", "hidden": [16], "classes": 4, "label_space": "gratings",
                                "npz": {"url": http_server.serve("/w.npz", "ok", body),
                                        "sha256": hashlib.sha256(body).hexdigest()}}},
           "stimuli": {"bars": {"kind": "gratings", "orientations": 4, "n": 5, "size": 28}},
           "rdms": {"mink": {"models": ["probe"], "stimuli": ["bars"], "method": {"name": "minkowski", "p": 1}}},
           "paths": {"probe_path": {"stimuli": "bars", "entries": ["probe", "labels"], "compare": "msd",
                                    "rdm_method": "cosine", "distance": "one_minus", "bootstrap": {"n": 5}}},
           "report": {"sections": []}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    run_snakemake(tmp_path, "--cores", "2")
    res = tmp_path / "results"
    record = yaml.safe_load((res / "checkpoints/probe.json").read_text())
    assert record["source"] == "downloaded" and record["source_md5"] == hashlib.md5(body).hexdigest()
    assert (res / "rdms/minkowski+p=1/probe/bars.zarr").is_dir() and (res / "figures/rdms/mink/probe/bars.png").is_file()
    metrics = yaml.safe_load((res / "metrics/paths/probe_path.json").read_text())
    assert metrics["compare"] == "msd" and metrics["bootstrap"]["n"] == 5
    assert "plug-ins:" in (res / "logs/paths/probe_path.log").read_text()
    html = (res / "report.html").read_text()
    assert "probe_path" in html
    # an edit to the plug-in is an edit to every job's code
    (tmp_path / "lab_kinds.py").write_text((tmp_path / "lab_kinds.py").read_text() + "\n# edited\n")
    proc = run_snakemake(tmp_path, "--cores", "2")
    log = proc.stdout + proc.stderr
    assert all(f"rule {r}:" in log or f"checkpoint {r}:" in log for r in ("prepare_model", "rdm", "analysis")), log
