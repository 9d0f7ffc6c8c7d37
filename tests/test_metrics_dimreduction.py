import numpy as np
import pytest

from repgeom import dimreduction, metrics, rdm


def test_separability_is_between_over_within():
    labels = np.array([0, 0, 1, 1])
    D = np.array([[0, 1, 4, 4], [1, 0, 4, 4], [4, 4, 0, 1], [4, 4, 1, 0]], dtype=float)
    assert metrics.separability(D, labels) == pytest.approx(4.0)
    assert metrics.separability(np.ones((4, 4)) - np.eye(4), labels) == pytest.approx(1.0)


def test_separability_rises_with_class_structure():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 20)
    centres = rng.standard_normal((5, 30)) * 3
    noisy = rng.standard_normal((100, 30))
    clustered = centres[labels] + 0.3 * noisy
    assert metrics.separability(rdm.compute(clustered, "euclidean"), labels) > \
        3 * metrics.separability(rdm.compute(noisy, "euclidean"), labels)


@pytest.mark.parametrize("method", dimreduction.METHODS)
def test_embeddings_are_seeded_2d(method):
    X = np.random.default_rng(1).standard_normal((60, 12))
    a = dimreduction.embed(X, method, seed=3, perplexity=40)
    assert a.shape == (60, 2) and np.isfinite(a).all()
    assert np.array_equal(a, dimreduction.embed(X, method, seed=3, perplexity=40))


def test_unknown_dimreduction():
    with pytest.raises(ValueError, match="valid"):
        dimreduction.embed(np.zeros((5, 2)), "UMAP")


def test_embedding_ids_tell_recipes_apart_and_only_them():
    ids = {dimreduction.embedding_id(m, seed, p) for m in dimreduction.METHODS for seed in (0, 1) for p in (30, 40)}
    assert len(ids) == 2 + 2 + 4  # PCA and MDS ignore the perplexity
    assert dimreduction.embedding_id("t-SNE", 0, 40.0) == dimreduction.embedding_id("t-SNE", 0, 40)
    with pytest.raises(ValueError, match="valid"):
        dimreduction.embedding_id("UMAP")


def _two_model_path(reference=False):
    models = ["a", "a", "a", "b", "b", "labels"]
    layers = ["input", "h", "out", "input", "out", "labels"]
    kinds = ["model"] * 5 + ["labels"]
    pts = [0.0, 1.0, 3.0, 0.0, 2.5, 3.5]  # entries on a line: distance = |difference|
    if reference:
        models, layers, kinds, pts = models + ["IT"], layers + ["IT"], kinds + ["reference"], pts + [2.0]
    pts = np.array(pts)
    return np.abs(pts[:, None] - pts[None, :]), models, layers, kinds


def test_path_metrics_per_model():
    D, models, layers, kinds = _two_model_path()
    m = metrics.path_metrics(D, models, layers, kinds)
    assert list(m) == ["a", "b", "labels"]
    assert m["a"]["distance_to_labels"] == {"input": 3.5, "h": 2.5, "out": 0.5}
    assert m["a"]["last_layer"] == "out" and m["a"]["last_layer_distance_to_labels"] == 0.5
    assert m["b"]["last_layer_distance_to_labels"] == 1.0
    assert m["a"]["path_length"] == 3.0 and m["b"]["path_length"] == 2.5
    assert m["a"]["step_lengths"] == [1.0, 2.0]
    no_labels = metrics.path_metrics(D[:5, :5], models[:5], layers[:5], kinds[:5])
    assert no_labels["a"]["distance_to_labels"] == {} and no_labels["a"]["last_layer_distance_to_labels"] is None
    assert no_labels["b"]["path_length"] == 2.5


def test_summary_rows_cover_every_kind_of_record():
    D, models, layers, kinds = _two_model_path(reference=True)
    records = [
        {"kind": "rdm_separability", "request": "r", "model": "a", "stimulus_set": "s",
         "separability": {"input": 1.2, "out": 5.0}},
        {"kind": "path", "analysis": "p", "stimulus_set": "s", "models": metrics.path_metrics(D, models, layers, kinds)},
        {"kind": "path_comparison", "comparison": "c", "reference": "p", "other": "q",
         "procrustes_disparity": 0.01, "distance_matrix_correlation": 0.99},
    ]
    from repgeom.analyses import row_makers

    rows = metrics.summary_rows(records, row_makers())
    assert all(list(r) == list(metrics.SUMMARY_COLUMNS) for r in rows)
    assert {"kind": "rdm_separability", "analysis": "r", "model": "a", "stimulus_set": "s", "layer": "out",
            "metric": "separability", "value": 5.0, "layer_order": 1} in [
        {k: r[k] for k in ("kind", "analysis", "model", "stimulus_set", "layer", "metric", "value", "layer_order")}
        for r in rows]
    assert [r["layer_order"] for r in rows if r["metric"] == "distance_to_labels" and r["model"] == "a"] == [0, 1, 2]
    assert [r["value"] for r in rows if r["metric"] == "step_length" and r["model"] == "a"] == [1.0, 2.0]
    assert [r["layer"] for r in rows if r["metric"] == "step_length" and r["model"] == "a"] == ["input -> h", "h -> out"]
    last = [r for r in rows if r["metric"] == "last_layer_distance_to_labels"]
    assert [(r["model"], r["layer"], r["value"]) for r in last] == [("a", "out", 0.5), ("b", "out", 1.0)]
    assert sum(r["metric"] == "distance_to_labels" for r in rows) == 5 + 1  # every model layer, and IT to labels
    assert sum(r["metric"] == "distance_to_IT" for r in rows) == 5 + 1
    assert [r["value"] for r in rows if r["model"] == "labels"] == [1.5]
    assert [r["value"] for r in rows if r["model"] == "IT"] == [1.5]
    assert [r["value"] for r in rows if r["kind"] == "path_comparison"] == [0.01, 0.99]
    with pytest.raises(ValueError, match="not a metrics record"):
        metrics.summary_rows([{"kind": "weather"}])


def test_wilson_interval():
    lo, hi = metrics.wilson(186, 200)  # the tutorial's 186/200, against the closed form
    p, n, z = 0.93, 200, 1.959963984540054
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert lo == pytest.approx(centre - half, abs=1e-12) and hi == pytest.approx(centre + half, abs=1e-12)
    assert metrics.wilson(200, 200)[1] == pytest.approx(1.0) and metrics.wilson(0, 50)[0] == pytest.approx(0.0)


def test_intervals_and_paired_differences_over_replicates():
    D, models, layers, kinds = _two_model_path()
    rng = np.random.default_rng(0)
    reps = [D + 0.01 * rng.standard_normal(D.shape) for _ in range(400)]
    reps = [(r + r.T) / 2 for r in reps]
    ci = metrics.path_metric_intervals(reps, models, layers, kinds)
    lo, hi = ci["a"]["last_layer_distance_to"]["labels"]["ci95"]
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.01 / np.sqrt(2) * np.sqrt(2), rel=0.3)
    diffs = metrics.model_differences(metrics.path_metrics(D, models, layers, kinds), reps, models, layers, kinds)
    (d,) = [x for x in diffs if x["target"] == "labels"]
    assert d["models"] == ["a", "b"] and d["difference"] == pytest.approx(-0.5) and d["ci95_excludes_zero"]
    rows = metrics.summary_rows([{"kind": "path", "analysis": "p", "stimulus_set": "s",
                                  "models": metrics.path_metrics(D, models, layers, kinds), "intervals": ci,
                                  "differences": diffs}])
    (row,) = [r for r in rows if r["metric"] == "difference_last_layer_distance_to_labels"]
    assert row["model"] == "a - b" and row["ci95_high"] < 0 and row["ci95_excludes_zero"] is True
    assert d["p_value"] == pytest.approx(2 / 401) and d["fdr_below_0.05"]  # every replicate below 0
    # a distance cannot be below 0: its rows carry no "excludes 0" flag, only signed differences do
    assert {r["ci95_excludes_zero"] for r in rows if r["metric"] != "difference_last_layer_distance_to_labels"} == {""}


def test_bootstrap_p_values_and_their_false_discovery_rate_control():
    """Two-sided bootstrap p of "no difference"; Benjamini-Hochberg equal to statsmodels' ``fdr_bh``; under
    the null (replicates centred on 0) the p-values are roughly uniform."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    assert metrics.bootstrap_p_value(np.r_[-np.ones(30), np.ones(70)]) == pytest.approx(2 * 31 / 101)
    assert metrics.bootstrap_p_value(np.ones(199)) == pytest.approx(2 / 200)
    p = np.r_[rng.uniform(size=40), rng.uniform(0, 0.01, size=10)]
    np.testing.assert_allclose(metrics.fdr_bh(p), multipletests(p, method="fdr_bh")[1], rtol=0, atol=1e-15)
    null = [metrics.bootstrap_p_value(rng.standard_normal(200) + rng.standard_normal()) for _ in range(2000)]
    assert 0.035 <= np.mean(np.array(null) < 0.05) <= 0.065
