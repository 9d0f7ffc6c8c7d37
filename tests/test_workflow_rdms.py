"""Stimulus sets, features and RDM cubes through the real snakemake CLI on a small config."""

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
import zarr

from conftest import REPO, module_folder, run_snakemake
from repgeom import rdm
from repgeom.export import to_rsatoolbox

pytestmark = pytest.mark.slow

SMALL = {
    "data": {"source": "embedded", "embedded_heldout_per_class": 30},
    "models": {
        "standard": {"arch": "feedforward", "train": {"epochs": 1}},
        "robust": {"arch": "feedforward", "train": {"recipe": "fgsm", "epochs": 1}},
        "seedling": {"kind": "feedforward", "seeds": [1, 2], "train": {"epochs": 1}},  # a family: two models
    },
    "stimuli": {
        "clean_20": {"kind": "per_class", "n": 20, "pool": 300},
        "first_50": {"kind": "first", "n": 50},
        "adv": {"kind": "fgsm", "base": "clean_20", "model": "standard", "eps": [0.1, 0.2]},
    },
    "rdms": {
        "panels": {"models": ["standard"], "stimuli": ["clean_20", "adv"], "method": "correlation",
                   "nodes": "layers"},
        "path": {"models": ["standard", "robust"], "stimuli": ["first_50"], "method": "euclidean", "nodes": "all"},
        "extra": {"models": ["standard"], "stimuli": ["clean_20"], "method": "correlation", "nodes": ["relu_2"]},
    },
    "dimreduction": {"views": {"model": "standard", "stimuli": "clean_20", "methods": ["PCA", "t-SNE"]},
                     # same t-SNE recipe on a subset of the nodes: must reuse the embedding of `views`
                     "fc_only": {"model": "standard", "stimuli": "clean_20", "methods": ["t-SNE"],
                                 "nodes": ["fc1", "fc2"]}},
    "path_comparisons": {"sample": {"reference": "two_models", "other": "two_models_200"}},
    "paths": {
        "two_models": {"models": ["standard", "robust"], "stimuli": "first_50", "bootstrap": {"n": 20}},
        "two_models_200": {"models": ["standard", "robust"], "stimuli": "clean_20", "bootstrap": {"n": 20, "seed": 3}},
        "seeds": {"models": ["standard", "seedling"], "stimuli": "clean_20", "nodes": "layers",
                  "bootstrap": {"n": 60, "seed": 2}},
        "older_course": {"models": ["standard"], "stimuli": "adv-eps0.1", "nodes": "layers",
                         "distance": "one_minus", "compare": "corr"},
        # the same path as two_models, straight from the feature stores in row blocks (no cube read)
        "two_models_streamed": {"models": ["standard", "robust"], "stimuli": "first_50", "stream": True,
                                "memory_mb": 200},
        "cka_streamed": {"models": ["standard", "robust"], "stimuli": "first_50", "stream": True, "compare": "cka"},
    },
}


def _write(folder, cfg):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        yaml.safe_dump(cfg, f)


@pytest.fixture(scope="module")
def small_run(request, tmp_path_factory):
    with module_folder(request, tmp_path_factory, "run1") as folder:
        _write(folder, SMALL)
        run_snakemake(folder, "--cores", "2")
        yield folder


def test_every_artifact_is_there(small_run):
    res = small_run / "results"
    for s in ("clean_20", "first_50", "adv-eps0.1", "adv-eps0.2"):
        assert (res / "stimuli" / f"{s}.zarr").is_dir()
    for cube in ("correlation/standard/clean_20", "correlation/standard/adv-eps0.1",
                 "correlation/standard/adv-eps0.2", "euclidean/standard/first_50", "euclidean/robust/first_50",
                 "euclidean/standard/adv-eps0.1"):
        assert (res / "rdms" / f"{cube}.zarr").is_dir(), cube
    for analysis in ("two_models", "older_course"):
        assert (res / "paths" / f"{analysis}.zarr").is_dir()
        _is_png(res / "figures" / "paths" / f"{analysis}.png")
    for fig in ("panels/standard/clean_20", "panels/standard/adv-eps0.1", "panels/standard/adv-eps0.2",
                "extra/standard/clean_20", "path/standard/first_50", "path/robust/first_50"):
        _is_png(res / "figures" / "rdms" / f"{fig}.png")
    _is_png(res / "figures" / "accuracy.png")
    _is_png(res / "figures" / "path_comparisons" / "sample.png")
    import json

    cmp = json.loads((res / "metrics" / "path_comparisons" / "sample.json").read_text())
    assert 0 <= cmp["procrustes_disparity"] < 1 and cmp["entries"][-1] == "labels/labels"
    _is_png(res / "figures" / "dimreduction" / "views.png")
    for analysis in ("two_models", "two_models_200", "older_course"):
        assert (res / "metrics" / "paths" / f"{analysis}.json").is_file()
    assert (res / "metrics" / "summary.csv").is_file()
    assert not list(res.rglob(".*.tmp-*")), "temp stores left behind"


def _is_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, path


def test_separability_and_dimreduction_stores(small_run):

    from repgeom import metrics

    cube = xr.open_zarr(small_run / "results/rdms/correlation/standard/clean_20.zarr")
    sep = dict(zip(cube.layer.values, cube.separability.values))  # every layer of the cube, computed with it
    assert list(sep) == ["input", "conv1", "conv2", "fc1", "relu_2", "fc2"]
    assert sep["fc2"] > sep["input"] > 1.0
    old_way = np.asarray(cube.rdm.sel(layer="fc2").values, dtype=np.float64)
    same = cube.label_i.values[:, None] == cube.label_j.values[None, :]
    off = ~np.eye(len(same), dtype=bool)
    assert np.isclose(sep["fc2"], np.nanmean(old_way[~same]) / np.nanmean(old_way[same & off]), rtol=1e-12)
    assert metrics.separability(cube.rdm.sel(layer="fc2").values, cube.label_i.values, block=7) == \
        pytest.approx(sep["fc2"], rel=1e-12)
    views = xr.open_zarr(small_run / "results/dimreduction/views.zarr")
    assert views.embedding.dims == ("reduction", "layer", "stim", "dim")
    assert list(views.reduction.values) == ["PCA", "t-SNE"] and views.sizes["stim"] == 200
    assert np.array_equal(views.label.values, np.repeat(np.arange(10), 20))
    # one t-SNE job served both analyses: `fc_only` shows the very numbers of `views`
    stores = sorted(p.name for p in (small_run / "results/embeddings/standard/clean_20").iterdir())
    assert stores == ["pca-seed0.zarr", "tsne-perplexity40-seed0.zarr"]
    fc_only = xr.open_zarr(small_run / "results/dimreduction/fc_only.zarr")
    assert list(fc_only.layer.values) == ["fc1", "fc2"]
    assert np.array_equal(fc_only.embedding.sel(reduction="t-SNE").values,
                          views.embedding.sel(reduction="t-SNE", layer=["fc1", "fc2"]).values)


def test_path_metrics_and_summary_table(small_run):
    import json

    res = small_run / "results"
    pm = json.loads((res / "metrics/paths/two_models.json").read_text())
    path = xr.open_zarr(res / "paths/two_models.zarr")
    assert pm["kind"] == "path" and set(pm["models"]) == {"standard", "robust", "labels"}
    assert pm["models"]["labels"] == {"kind": "labels", "distance_to": {}}
    std = pm["models"]["standard"]
    assert std["last_layer"] == "softmax" and len(std["distance_to_labels"]) == 13
    assert np.isclose(std["last_layer_distance_to_labels"], path.distance.values[12, -1])
    assert np.isclose(std["distance_to_labels"]["conv1"], path.distance.values[1, -1])
    assert np.isclose(std["path_length"], sum(path.distance.values[i, i + 1] for i in range(12)))
    table = pd.read_csv(res / "metrics/summary.csv")
    assert set(table.kind) == {"rdm_separability", "path", "path_comparison", "dimreduction"}
    sil = table[(table.analysis == "views") & (table.metric == "silhouette_t-SNE")]
    assert len(sil) == 5 and sil[sil.layer == "fc2"].value.iloc[0] > sil[sil.layer == "input"].value.iloc[0]
    row = table[(table.analysis == "two_models") & (table.model == "robust")
                & (table.metric == "last_layer_distance_to_labels")]
    assert len(row) == 1 and np.isclose(row.value.iloc[0], pm["models"]["robust"]["last_layer_distance_to_labels"])
    cube = xr.open_zarr(res / "rdms/correlation/standard/clean_20.zarr")
    got = table[(table.analysis == "panels") & (table.stimulus_set == "clean_20") & (table.layer == "fc2")]
    assert np.isclose(got.value.iloc[0], cube.separability.sel(layer="fc2").item())
    extra = table[(table.analysis == "extra")]
    assert list(extra.layer) == ["relu_2"]  # a request's rows are its own layers
    assert (table.metric == "procrustes_disparity").sum() == 1


def test_a_streamed_path_equals_the_path_through_cubes(small_run):
    import json

    from repgeom import compare
    from repgeom.cubes import Cube

    res = small_run / "results"
    cubes, streamed = xr.open_zarr(res / "paths/two_models.zarr"), xr.open_zarr(res / "paths/two_models_streamed.zarr")
    assert streamed.attrs["streamed"] and not cubes.attrs["streamed"]
    assert list(streamed.layer.values) == list(cubes.layer.values)
    assert np.abs(streamed.similarity.values - cubes.similarity.values).max() <= 1e-6
    record = json.loads((res / "metrics/paths/two_models_streamed.json").read_text())
    assert record["computed"].startswith("streamed") and record["stream"]["threads"] == 2
    assert record["provenance"]["standard"]["model_kind"] == "feedforward"
    # CKA, streamed, against debiased CKA of the stored cubes
    rdms = []
    for model in ("standard", "robust"):
        cube = Cube(str(res / f"rdms/euclidean/{model}/first_50.zarr"))
        rdms += [cube.rows(layer) for layer in cube.layers]
    rdms.append(Cube(str(res / "labels/euclidean/first_50.zarr")).rows("labels"))
    want = compare.similarity(rdms, 50, "cka")
    got = xr.open_zarr(res / "paths/cka_streamed.zarr").similarity.values
    assert np.abs(got - want).max() <= 1e-6


def test_cube_is_labelled_and_opens_with_one_call(small_run):
    cube = xr.open_zarr(small_run / "results/rdms/correlation/standard/clean_20.zarr")
    # union of 'layers' and the extra request, in network order
    assert list(cube.layer.values) == ["input", "conv1", "conv2", "fc1", "relu_2", "fc2"]
    assert cube.rdm.dims == ("layer", "stim_i", "stim_j")
    fc1 = cube.rdm.sel(layer="fc1")
    assert fc1.shape == (200, 200)
    assert np.array_equal(cube.label_i.values, np.repeat(np.arange(10), 20))
    assert np.array_equal(cube.stim_i.values, cube.stim_j.values)
    for key in ("method", "model", "checkpoint_md5", "data_source", "stimulus_spec", "eps", "repgeom_version"):
        assert key in cube.attrs, key
    assert cube.attrs["method"] == "correlation" and cube.attrs["data_source"] == "embedded"
    assert cube.rdm.encoding["chunks"] == (1, 200, 200)
    assert not np.isnan(fc1.values).any()


def test_cube_values_are_rsatoolbox_values_of_the_stored_features(small_run):
    feats = zarr.open_group(str(small_run / "results/features/standard/first_50.zarr"), mode="r")
    cube = xr.open_zarr(small_run / "results/rdms/euclidean/standard/first_50.zarr")
    assert list(cube.layer.values)[-1] == "softmax" and len(cube.layer) == 13
    aliases = dict(feats.attrs)["aliases"]
    assert aliases == {"dropout1": "max_pool2d", "flatten": "max_pool2d", "dropout2": "relu_2"}
    assert dict(feats.attrs)["derived"] == {n: {"of": s, "op": "relu"} for n, s in
                                            [("relu", "conv1"), ("relu_1", "conv2"), ("relu_2", "fc1")]}
    assert "relu_1" not in feats and "dropout2" not in feats
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    from repgeom.store import read_node

    for layer in ("conv1", "relu_1", "flatten", "dropout2", "fc2"):  # stored, derived, alias, alias of derived
        X = read_node(str(small_run / "results/features/standard/first_50.zarr"), layer).astype(np.float64)
        ref = calc_rdm(Dataset(X), method="euclidean").get_matrices()[0]
        got = cube.rdm.sel(layer=layer).values
        assert np.max(np.abs(got - ref)) / np.max(ref) <= 1e-5


def test_fgsm_sets_and_accuracy_table(small_run):
    adv = xr.open_zarr(small_run / "results/stimuli/adv-eps0.2.zarr")
    clean = xr.open_zarr(small_run / "results/stimuli/clean_20.zarr")
    assert adv.attrs["eps"] == 0.2 and adv.attrs["attacked_model"] == "standard"
    assert np.array_equal(adv.stim.values, clean.stim.values)
    pix_adv, pix_clean = adv.images.values, clean.images.values  # pixels in [0, 1]
    assert np.abs(pix_adv - pix_clean).max() <= 0.2 + 1e-6
    assert pix_adv.min() >= 0 and pix_adv.max() <= 1
    assert adv.attrs["classes"] == [str(d) for d in range(10)] and adv.attrs["label_space"] == "mnist"
    acc = pd.read_csv(small_run / "results/accuracy.csv")
    assert set(acc.columns) >= {"model", "stimulus_set", "eps", "correct", "n", "accuracy"}
    row = acc[(acc.model == "standard") & (acc.stimulus_set == "adv-eps0.2")].iloc[0]
    assert row.n == 200 and row.accuracy == row.correct / row.n
    clean_row = acc[(acc.model == "standard") & (acc.stimulus_set == "clean_20")].iloc[0]
    assert row.correct < clean_row.correct
    assert len(acc) == 4 * 4  # standard, robust and the two seeds of the family, on four sets
    assert (acc.ci95_low <= acc.accuracy).all() and (acc.accuracy <= acc.ci95_high).all()  # Wilson intervals


def test_rsatoolbox_export(small_run):
    rdms = to_rsatoolbox(str(small_run / "results/rdms/correlation/standard/clean_20.zarr"))
    assert rdms.n_rdm == 6 and rdms.n_cond == 200
    assert rdms.rdm_descriptors["layer"][3] == "fc1"
    cube = xr.open_zarr(small_run / "results/rdms/correlation/standard/clean_20.zarr")
    assert np.allclose(rdms.get_matrices()[3], cube.rdm.sel(layer="fc1").values)


def test_readme_notebook_snippet_runs(small_run):
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    snippet = re.search(r"<!-- notebook-snippet -->\s*```python\n(.*?)```", text, re.S).group(1)
    cwd = os.getcwd()
    os.chdir(small_run)
    try:
        exec(compile(snippet, "README snippet", "exec"), {})
    finally:
        os.chdir(cwd)


def test_second_clean_run_gives_bitwise_identical_cubes(small_run, tmp_path):
    _write(tmp_path, SMALL)
    run_snakemake(tmp_path, "--cores", "2")
    for cube in (small_run / "results/rdms").rglob("*.zarr"):
        other = tmp_path / cube.relative_to(small_run)
        a = zarr.open_group(str(cube), mode="r")["rdm"][:]
        b = zarr.open_group(str(other), mode="r")["rdm"][:]
        assert a.tobytes() == b.tobytes(), cube


def _planned(folder):
    proc = run_snakemake(folder, "-n", "--quiet", "rules")
    counts = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_changing_one_eps_reruns_only_its_dependents(small_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(small_run, folder, symlinks=True)
    assert _planned(folder) == {}
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["stimuli"]["adv"]["eps"] = [0.1, 0.3]
    _write(folder, cfg)
    counts = _planned(folder)
    # the new eps set, its features and cube, and the accuracy table; nothing else
    assert counts == {"stimuli": 1, "features": 1, "rdm": 1, "rdm_figure": 1, "accuracy": 1, "accuracy_figure": 1,
                      "metrics_summary": 1, "report": 1, "all": 1, "total": 9}, counts


def test_an_edit_recomputes_only_the_accuracy_rows_it_touches(small_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(small_run, folder, symlinks=True)
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["stimuli"]["adv"]["eps"] = [0.1, 0.3]
    _write(folder, cfg)
    run_snakemake(folder, "--cores", "2")
    res = folder / "results"
    new, old = pd.read_csv(res / "accuracy.csv"), pd.read_csv(small_run / "results/accuracy.csv")
    fresh = (new.stimulus_set == "adv-eps0.3").sum()
    assert fresh == 4 and f"{fresh} rows computed, {len(new) - fresh} unchanged" in (res / "logs/accuracy.log").read_text()
    kept = new[new.stimulus_set != "adv-eps0.3"].reset_index(drop=True)
    assert kept.equals(old[old.stimulus_set != "adv-eps0.2"].reset_index(drop=True))
    # the same table computed from scratch
    os.remove(res / "accuracy.rows.json")
    run_snakemake(folder, "--cores", "2", "--forcerun", "accuracy")
    assert pd.read_csv(res / "accuracy.csv").equals(new)
    assert f"{len(new)} rows computed, 0 unchanged" in (res / "logs/accuracy.log").read_text()


def test_changing_one_analysis_compare_method_reruns_only_that_analysis(small_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(small_run, folder, symlinks=True)
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["paths"]["two_models"]["compare"] = "corr"
    _write(folder, cfg)
    # the path and the comparison that reads it (each a compute job and a figure), and the summary table
    assert _planned(folder) == {"analysis": 2, "analysis_figure": 2, "metrics_summary": 1, "report": 1, "all": 1,
                                "total": 7}


def test_changing_a_dimreduction_analysis_reuses_its_embeddings(small_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(small_run, folder, symlinks=True)
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["dimreduction"]["views"]["methods"] = ["t-SNE", "PCA"]  # redrawn from the stored embeddings
    cfg["dimreduction"]["fc_only"]["perplexity"] = 30  # a new recipe: one new embedding job
    _write(folder, cfg)
    assert _planned(folder) == {"embedding": 1, "analysis": 2, "analysis_figure": 2, "metrics_summary": 1,
                                "report": 1, "all": 1, "total": 8}


def test_path_store_matches_the_tutorials_rep_path_numbers(small_run):
    from rsatoolbox.rdm import RDMs, compare

    path = xr.open_zarr(small_run / "results/paths/two_models.zarr")
    assert list(path.layer.values[:13]) == list(path.layer.values[13:26]) and path.layer.values[-1] == "labels"
    assert list(path.model.values[:2]) == ["standard", "standard"] and path.model.values[13] == "robust"
    assert path.shown.values.sum() == 26 and not path.shown.values[13]  # the robust model's input is hidden
    assert path.embedding.shape == (27, 2)
    # the same numbers the tutorial's rep_path computes: rsatoolbox compare of the concatenated RDMs
    mats = []
    for m in ("standard", "robust"):
        cube = xr.open_zarr(small_run / f"results/rdms/euclidean/{m}/first_50.zarr")
        mats += [cube.rdm.sel(layer=layer).values.astype(np.float64) for layer in path.layer.values[:13]]
    mats.append(rdm.labels_rdm(cube.label_i.values, n_classes=10).astype(np.float64))
    ref = compare(RDMs(np.stack(mats)), RDMs(np.stack(mats)), method="cosine")
    assert np.allclose(path.similarity.values, ref, atol=1e-6)
    dist = np.nan_to_num(1 - ref)  # the seed's distance (the default)
    assert np.allclose(path.distance.values, (dist + dist.T) / 2, atol=1e-5)
    to_labels = path.attrs["last_layer_distance_to_labels"]
    assert set(to_labels) == {"standard", "robust"}
    assert np.isclose(to_labels["standard"], path.distance.values[12, -1])
    older = xr.open_zarr(small_run / "results/paths/older_course.zarr")
    assert older.attrs["distance"] == "one_minus" and older.attrs["compare"] == "corr"
    assert list(older.layer.values) == ["input", "conv1", "conv2", "fc1", "fc2", "labels"]
    off = ~np.eye(6, dtype=bool)
    sim = older.similarity.values
    assert np.allclose(older.distance.values[off], (1 - (sim + sim.T) / 2)[off], atol=1e-12)
    assert np.all(np.diag(older.distance.values) == 0)


def test_report_holds_every_figure_with_its_caption(small_run):
    proc = run_snakemake(small_run, "--report", str(small_run / "report.html"), timeout=300)
    html = (small_run / "report.html").read_text(errors="replace")
    assert "Report created" in proc.stdout + proc.stderr
    for name in ("two_models.png", "accuracy.png", "views.png", "clean_20.png", "summary.csv"):
        assert name in html, name
    assert "separability index" in html and "Representational path" in html


def test_example_notebook_runs_on_a_run(small_run, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(REPO, "notebooks/explore_results.ipynb"), as_version=4)
    os.environ["REPGEOM_RESULTS"] = str(small_run / "results")
    os.environ["REPGEOM_FIGURE"] = str(tmp_path / "redrawn.png")
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.pop("REPGEOM_RESULTS")
        os.environ.pop("REPGEOM_FIGURE")
    _is_png(tmp_path / "redrawn.png")
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "last_layer" not in outputs and "within-class" in outputs
    assert "panels" in outputs and "fc2" in outputs  # the separability table of the run
    assert "relu_1 = relu(conv2)" in outputs and "equal to the ReLU of conv2: True" in outputs


def test_recolouring_or_relabelling_a_model_redraws_figures_only(small_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(small_run, folder, symlinks=True)
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["models"]["standard"].update(color="tab:red", label="baseline network")
    _write(folder, cfg)
    # every figure showing the model (5 RDM panels, its 5 paths, the comparison of two of them, the accuracy
    # chart); no features, cube, path, comparison or metrics job
    assert _planned(folder) == {"rdm_figure": 5, "analysis_figure": 7, "accuracy_figure": 1, "report": 1, "all": 1,
                                "total": 15}


def test_bootstrap_intervals_in_the_store_metrics_and_summary(small_run):
    res = small_run / "results"
    path = xr.open_zarr(res / "paths/two_models.zarr")
    assert path.distance_bootstrap.shape == (20, 27, 27) and path.embedding_bootstrap.shape == (20, 27, 2)
    assert path.stimulus_draws.shape == (20, 50) and path.attrs["bootstrap"]["n"] == 20
    lo, hi = path.distance_ci95_low.values, path.distance_ci95_high.values
    assert (lo <= hi + 1e-12).all()
    import json

    pm = json.loads((res / "metrics/paths/two_models.json").read_text())
    ci = pm["intervals"]["robust"]["last_layer_distance_to"]["labels"]
    assert ci["ci95"][0] <= ci["ci68"][0] <= ci["ci68"][1] <= ci["ci95"][1]
    (diff,) = [d for d in pm["differences"] if d["target"] == "labels"]
    assert diff["models"] == ["standard", "robust"] and isinstance(diff["ci95_excludes_zero"], bool)
    table = pd.read_csv(res / "metrics/summary.csv")
    row = table[(table.analysis == "two_models") & (table.model == "robust")
                & (table.metric == "last_layer_distance_to_labels")].iloc[0]
    assert np.isclose(row.ci95_low, ci["ci95"][0]) and np.isclose(row.ci95_high, ci["ci95"][1])
    assert len(table[(table.analysis == "two_models") & (table.metric == "step_length")]) == 2 * 12
    cmp = json.loads((res / "metrics/path_comparisons/sample.json").read_text())
    assert cmp["disparity_bootstrap"]["n"] == 20 and 0 <= cmp["disparity_percentile_in_reference_self"] <= 100


def test_a_family_of_seeds_gives_one_path_per_seed_and_numbers_across_seeds(small_run):
    import json

    res = small_run / "results"
    path = xr.open_zarr(res / "paths/seeds.zarr")
    assert path.attrs["families"] == ["seedling"] and path.distance_replicates.shape == (2, 11, 11)
    assert list(path.replicate_members.values) == ["seedling=seedling-seed1", "seedling=seedling-seed2"]
    assert np.array_equal(path.distance_replicates.values[0], path.distance.values)
    pm = json.loads((res / "metrics/paths/seeds.json").read_text())
    per_seed = [rep["models"]["seedling"]["last_layer_distance_to"]["labels"] for rep in pm["replicates"]]
    across = pm["across_seeds"]["seedling"]["last_layer_distance_to"]["labels"]
    assert np.isclose(across["mean"], np.mean(per_seed)) and across["ci95"][0] < across["mean"] < across["ci95"][1]
    assert across["interval"] == "t, stimuli x seeds" and across["dof"] >= 1 and across["se"] > 0
    # the family's difference with the standard model: the mean over its seeds, interval over stimuli x seeds
    (family,) = [d for d in pm["differences"] if d["target"] == "labels"]
    assert family["design"] == "family" and family["families"] == ["seedling"] and len(family["per_seed"]) == 2
    std = pm["replicates"][0]["models"]["standard"]["last_layer_distance_to"]["labels"]
    want = [std - v for v in per_seed] if family["models"][0] == "standard" else [v - std for v in per_seed]
    np.testing.assert_allclose(family["per_seed"], want, rtol=1e-9)
    assert np.isclose(family["difference"], np.mean(want)) and 0 <= family["p_value"] <= family["p_fdr"] <= 1
    boot = path.distance_bootstrap.values
    assert boot.shape == (60, 11, 11) and "families" in pm["bootstrap"]
    assert set(pm["seed_spread"]["seedling"]) == {"input", "conv1", "conv2", "fc1", "fc2"}
    assert pm["seed_spread"]["seedling"]["input"]["mean"] < 1e-6  # the same images: the same input RDM
    table = pd.read_csv(res / "metrics/summary.csv")
    seeds = table[(table.analysis == "seeds") & (table.metric == "last_layer_distance_to_labels")]
    assert set(seeds.model) == {"standard", "seedling-seed1", "seedling-seed2"}
    mean = table[(table.analysis == "seeds") & (table.metric == "last_layer_distance_to_labels_across_seeds")]
    assert list(mean.model) == ["seedling"] and np.isclose(mean.value.iloc[0], across["mean"])
    for s in (1, 2):
        record = json.loads((res / f"checkpoints/seedling-seed{s}.json").read_text())
        assert record["recipe"]["seed"] == s


def _planned_after_edit(small_run, tmp_path, module):
    """Jobs per rule that a dry run plans after appending a comment to ``module`` (under src/repgeom) in a copy
    of the workflow, over a copy of the finished run (nothing planned before the edit)."""
    repo = tmp_path / "repo"
    if not repo.exists():
        shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(
            ".venv", ".git", "results", "resources", ".snakemake", "__pycache__", "tests", "docs", "benchmarks",
            "notebooks", "examples"))
    run = tmp_path / "run"
    if not run.exists():
        shutil.copytree(small_run, run, symlinks=True)
    source = repo / "src" / "repgeom" / module
    original = source.read_text()

    def planned():
        proc = run_snakemake(run, "-n", "--quiet", "rules", snakefile=repo / "Snakefile")
        counts = {}
        for line in (proc.stdout + proc.stderr).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
        return counts

    assert planned() == {}
    source.write_text(original + "\n# an edit\n")
    try:
        return planned()
    finally:
        source.write_text(original)


def test_editing_a_module_reruns_exactly_the_jobs_whose_steps_import_it(small_run, tmp_path):
    """Each rule's code hash is derived from the imports of its step (repgeom.codehash): separability is
    written into every cube, so an edit to metrics.py reruns every cube; an edit to figures.py reruns figure
    jobs only -- no cube, no path computation."""
    res = small_run / "results"
    model_cubes = len(list((res / "rdms").glob("*/*/*.zarr")))
    labels_cubes = len(list((res / "labels").glob("*/*.zarr")))
    after_metrics = _planned_after_edit(small_run, tmp_path / "metrics", "metrics.py")
    assert after_metrics["rdm"] == model_cubes and after_metrics["labels_rdm"] == labels_cubes, after_metrics
    assert not {"features", "stimuli", "prepare_model", "embedding"} & set(after_metrics), after_metrics
    after_figures = _planned_after_edit(small_run, tmp_path / "figures", "figures.py")
    assert after_figures.get("analysis_figure") and after_figures.get("rdm_figure"), after_figures
    assert not {"rdm", "labels_rdm", "features", "analysis", "embedding"} & set(after_figures), after_figures
