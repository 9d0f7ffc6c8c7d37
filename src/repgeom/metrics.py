"""Numbers behind the tutorial's statements."""

from __future__ import annotations

from typing import Optional

import numpy as np

from . import intervals


def separability(D, labels, block=2048):
    """Category-separability index of an RDM: mean between-class / mean within-class dissimilarity.

    Off-diagonal entries only; NaN entries are ignored.  1 means no category
    structure; larger means same-class stimuli are relatively closer.  Sums
    accumulate in float64 over row blocks, so a large float32 RDM is never copied.
    """
    labels = np.asarray(labels)
    n = len(labels)
    sums, counts = np.zeros(2), np.zeros(2)  # [within, between]
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        rows = np.asarray(D[i0:i1])
        same = labels[i0:i1, None] == labels[None, :]
        same[np.arange(i1 - i0), np.arange(i0, i1)] = False
        other = labels[i0:i1, None] != labels[None, :]
        ok = ~np.isnan(rows)
        for k, mask in enumerate((same & ok, other & ok)):
            sums[k] += rows[mask].sum(dtype=np.float64)
            counts[k] += mask.sum()
    within, between = sums / np.maximum(counts, 1)
    if counts[0] == 0 or counts[1] == 0:
        return float("nan")
    return float(between / within) if within > 0 else float("inf")


def wilson(correct: int, n: int, level: float = 0.95):
    """Wilson score interval of a proportion (scipy's): better than the normal one near 0 and 1."""
    from scipy.stats import binomtest

    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def path_metrics(distance, names, layers, kinds):
    """Per entry of a path: distances to every point entry (labels, references), and each model's path length.

    ``distance`` is the path's RDM-distance matrix over its rows (entry name,
    layer, kind).  For a model: each layer's distance to each point entry
    (``distance_to[target][layer]``), the last layer's, and the path length
    (sum of distances between consecutive layers: how much its computation
    transforms the geometry).  For a point entry: its distance to every other
    point entry.  ``distance_to_labels`` / ``last_layer_distance_to_labels``
    repeat the labels target under the tutorial's names.
    """
    distance = np.asarray(distance, dtype=np.float64)
    names, layers, kinds = list(names), list(layers), list(kinds)
    points = {names[i]: i for i, k in enumerate(kinds) if k != "model"}
    models, out = {}, {}
    for i, (name, kind) in enumerate(zip(names, kinds)):
        if kind == "model":
            models.setdefault(name, []).append(i)
    for m, idx in models.items():
        to = {t: {layers[i]: float(distance[i, j]) for i in idx} for t, j in points.items()}
        last = {t: float(distance[idx[-1], j]) for t, j in points.items()}
        steps = [float(distance[i, j]) for i, j in zip(idx[:-1], idx[1:])]
        rec = {"kind": "model", "layers": [layers[i] for i in idx], "last_layer": layers[idx[-1]],
               "distance_to": to, "last_layer_distance_to": last,
               "step_lengths": steps, "path_length": float(sum(steps))}
        if "labels" in points:
            rec["distance_to_labels"] = to["labels"]
            rec["last_layer_distance_to_labels"] = last["labels"]
        else:
            rec["distance_to_labels"], rec["last_layer_distance_to_labels"] = {}, None
        out[m] = rec
    for p, i in points.items():
        out[p] = {"kind": kinds[i], "distance_to": {t: float(distance[i, j]) for t, j in points.items() if t != p}}
    return out


SUMMARY_COLUMNS = ("kind", "analysis", "model", "stimulus_set", "layer", "layer_order", "metric", "value",
                   "ci68_low", "ci68_high", "ci95_low", "ci95_high", "ci95_excludes_zero")


def separability_rows(r):
    return [("rdm_separability", r["request"], r["model"], r["stimulus_set"], layer, "separability", v)
            for layer, v in r["separability"].items()]


def separability_record(request, cube_attrs, separability, layers):
    """The metrics record of one RDM figure (a request's model on a set), from its cube's separability."""
    return {"kind": "rdm_separability", "request": request, "model": cube_attrs["model"],
            "stimulus_set": cube_attrs["stimulus_set"], "layers": list(layers), "method": cube_attrs["method"],
            "eps": cube_attrs.get("eps", 0.0), "separability": {layer: separability[layer] for layer in layers},
            "definition": "mean between-class / mean within-class dissimilarity (off-diagonal entries)"}


def path_rows(r):
    """Rows of a path's metrics: per model and layer ``distance_to_<target>``, the last layer's, step lengths,
    path length (with bootstrap intervals when the path has them), and the models' paired differences."""
    rows = []
    ci = r.get("intervals") or {}
    a, s = r["analysis"], r["stimulus_set"]
    for m, pm in r["models"].items():
        cm = ci.get(m, {})
        if pm.get("kind", "model") != "model":
            for target, v in pm["distance_to"].items():
                rows.append(("path", a, m, s, "", f"distance_to_{target}", v, cm.get("distance_to", {}).get(target)))
            continue
        for target, per_layer in pm["distance_to"].items():
            for layer, v in per_layer.items():
                rows.append(("path", a, m, s, layer, f"distance_to_{target}", v,
                             cm.get("distance_to", {}).get(target, {}).get(layer)))
            rows.append(("path", a, m, s, pm["last_layer"], f"last_layer_distance_to_{target}",
                         pm["last_layer_distance_to"][target], cm.get("last_layer_distance_to", {}).get(target)))
        for k, v in enumerate(pm.get("step_lengths", [])):
            rows.append(("path", a, m, s, f"{pm['layers'][k]} -> {pm['layers'][k + 1]}", "step_length", v,
                         (cm.get("step_lengths") or [None] * (k + 1))[k]))
        rows.append(("path", a, m, s, "", "path_length", pm["path_length"], cm.get("path_length")))
    for d in r.get("differences", []):
        rows.append(("path", a, f"{d['models'][0]} - {d['models'][1]}", s, "",
                     f"difference_last_layer_distance_to_{d['target']}", d["difference"], d))
    for pair in r.get("model_pairs", []):
        for metric in ("procrustes_disparity", "mean_layer_distance"):
            rows.append(("path", a, f"{pair['models'][0]} vs {pair['models'][1]}", s, "", f"paths_{metric}",
                         pair[metric]))
    if r.get("replicates"):  # seeds as subjects: each seed under its own name, then the family across seeds
        rows = [row for row in rows if row[2] not in r["across_seeds"]]
        for rep in r["replicates"]:
            sub = {"analysis": a, "stimulus_set": s, "models": {rep["members"][f]: rep["models"][f]
                                                                for f in rep["members"]}}
            rows += path_rows(sub)
        for fam, res in r["across_seeds"].items():
            for t, v in res["last_layer_distance_to"].items():
                rows.append(("path", a, fam, s, "", f"last_layer_distance_to_{t}_across_seeds", v["mean"], v))
            for t, per in res["distance_to"].items():
                for layer, v in per.items():
                    rows.append(("path", a, fam, s, layer, f"distance_to_{t}_across_seeds", v["mean"], v))
            rows.append(("path", a, fam, s, "", "path_length_across_seeds", res["path_length"]["mean"],
                         res["path_length"]))
            for other, per in res.get("layer_distance_to", {}).items():
                for layer, v in per.items():
                    rows.append(("path", a, f"{fam} vs {other}", s, layer, "layer_distance_across_seeds",
                                 v["mean"], v))
        for fam, per in (r.get("seed_spread") or {}).items():
            for layer, v in per.items():
                rows.append(("path", a, fam, s, layer, "seed_spread", v["mean"]))
    return rows


def _row(row):
    """A summary row as a dict: 7 fields, and intervals from an optional 8th ({"ci68": [..], "ci95": [..]})."""
    out = dict(zip(("kind", "analysis", "model", "stimulus_set", "layer", "metric", "value"), row[:7]))
    out["layer_order"] = ""
    ci = row[7] if len(row) > 7 and row[7] else {}
    for level in ("ci68", "ci95"):
        lo, hi = ci.get(level, ["", ""])
        out[f"{level}_low"], out[f"{level}_high"] = lo, hi
    excl = ci.get("ci95_excludes_zero")  # given for signed quantities only (a distance cannot be below 0)
    out["ci95_excludes_zero"] = "" if excl is None else excl
    return out


def summary_rows(records, row_makers=None):
    """Metrics records (the JSON files of one run) -> tidy rows with :data:`SUMMARY_COLUMNS`.

    ``row_makers`` maps a record's ``kind`` to a function giving its rows
    (the analyses registry supplies those of its kinds).
    """
    makers = {"rdm_separability": separability_rows, "path": path_rows, **(row_makers or {})}
    rows = []
    for r in records:
        kind = r.get("kind")
        if kind not in makers:
            raise ValueError(f"not a metrics record: kind {kind!r}; known: {sorted(makers)}")
        rows += makers[kind](r)
    out = [_row(row) for row in rows]
    order = {}  # the position of each layer in its model's network, as the rows list them (network order)
    for r in out:
        if r["layer"] == "":
            continue
        seen = order.setdefault((r["kind"], r["analysis"], r["model"], r["metric"]), {})
        r["layer_order"] = seen.setdefault(r["layer"], len(seen))
    return [{k: r[k] for k in SUMMARY_COLUMNS} for r in out]


LEVELS = {"ci68": 68.0, "ci95": 95.0}


def class_design(labels) -> dict:
    """The stimulus design every comparison with the labels RDM depends on: the labels RDM takes one value on
    same-class pairs and another on the rest, so its similarity to a layer's RDM weighs the two kinds of pairs
    by their share -- (m - 1) / (N - 1) same-class at m of each class: 4/49 at 5 a class, 49/499 at 50 -- and
    paths over sets of different class counts estimate different quantities."""
    labels = np.asarray(labels)
    counts = np.unique(labels, return_counts=True)[1]
    n = len(labels)
    same = int((counts * (counts - 1) // 2).sum())
    pairs = n * (n - 1) // 2
    return {"classes": int(len(counts)), "per_class": sorted({int(c) for c in counts}),
            "same_class_pairs": same, "pairs": pairs, "same_class_share": same / pairs if pairs else float("nan")}


# The interval a path's numbers get: chosen by coverage on populations with known values
# (benchmarks/coverage.py, docs/decisions.md): the distances between RDMs (1 - cos, arccos) are ratio
# statistics biased low at tens of stimuli, and percentile intervals repeat the bias.
INTERVAL_METHOD = "bc"


def interval(values, estimate: Optional[float] = None, method: str = "percentile") -> dict:
    """Intervals of bootstrap (or across-seed) values: {"ci68": [lo, hi], "ci95": [lo, hi]}; percentile, or
    with the ``estimate`` any :data:`repgeom.intervals.METHODS` but BCa."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return {k: [float("nan"), float("nan")] for k in LEVELS}
    if estimate is None:
        method = "percentile"
    return {k: intervals.interval(estimate, values, p / 100.0, method) for k, p in LEVELS.items()}


def path_metric_intervals(distances, names, layers, kinds, point: Optional[dict] = None,
                          method: str = INTERVAL_METHOD, replicates: Optional[list] = None):
    """:func:`path_metrics`' numbers with intervals over replicates (``distances``: (B, E, E)): ``method``
    around the estimate's numbers ``point`` (:func:`path_metrics` of the estimate), percentile without.
    ``replicates``: :func:`path_metrics` of each of ``distances``, when the caller has them already."""
    reps = replicates or [path_metrics(d, names, layers, kinds) for d in distances]
    first = reps[0]

    def iv(get):
        return interval([get(r) for r in reps], None if point is None else get(point), method)

    out = {}
    for m, rec in first.items():
        if rec["kind"] != "model":
            out[m] = {"distance_to": {t: iv(lambda r: r[m]["distance_to"][t]) for t in rec["distance_to"]}}
            continue
        out[m] = {
            "distance_to": {t: {layer: iv(lambda r: r[m]["distance_to"][t][layer]) for layer in per}
                            for t, per in rec["distance_to"].items()},
            "last_layer_distance_to": {t: iv(lambda r: r[m]["last_layer_distance_to"][t])
                                       for t in rec["last_layer_distance_to"]},
            "step_lengths": [iv(lambda r: r[m]["step_lengths"][k]) for k in range(len(rec["step_lengths"]))],
            "path_length": iv(lambda r: r[m]["path_length"]),
        }
    return out


def model_differences(point, distances, names, layers, kinds, seeds: Optional["SeedResamples"] = None,
                      families=(), replicates: Optional[list] = None):
    """For every pair of models and point entry: the difference of their last layers' distances to it.

    ``point``: :func:`path_metrics` of the estimate; ``distances``: (B, E, E) replicates (paired: the same
    resample for both models).  Returns [{"models": [a, b], "target", "difference" (a - b), "ci68", "ci95",
    "ci95_excludes_zero", "p_value" (two-sided bootstrap test of no difference), "p_fdr" (Benjamini-Hochberg
    over the path's differences), "fdr_below_0.05"}].  A difference with a seed family (``families``, given
    ``seeds``) is the family's: the mean over its seeds, with the two-factor interval and t-test over stimuli x
    seeds (:func:`repgeom.intervals.two_factor`), ``design: "family"``.
    """
    reps = [path_metrics(d, names, layers, kinds) for d in distances]
    models = [m for m, r in point.items() if r["kind"] == "model"]
    out = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            for t in point[a]["last_layer_distance_to"]:
                def get(r, a=a, b=b, t=t):
                    return r[a]["last_layer_distance_to"][t] - r[b]["last_layer_distance_to"][t]

                if seeds is not None and (a in families or b in families):
                    two = seeds.summary(lambda r, d: get(r))
                    ci = {k: two[k] for k in LEVELS}
                    out.append({"models": [a, b], "target": t, "difference": two["mean"], **ci,
                                "ci95_excludes_zero": bool(ci["ci95"][0] > 0 or ci["ci95"][1] < 0),
                                "p_value": two["p_value"], "se": two["se"], "dof": two["dof"],
                                "per_seed": two["per_unit"], "design": "family",
                                "families": [m for m in (a, b) if m in families],
                                "interval": "t, stimuli x seeds (Schütt et al. 2023 correction)"})
                    continue
                diffs = [get(r) for r in reps]
                difference = get(point)
                ci = interval(diffs, difference, INTERVAL_METHOD)
                out.append({"models": [a, b], "target": t, "difference": difference,
                            **ci, "ci95_excludes_zero": bool(ci["ci95"][0] > 0 or ci["ci95"][1] < 0),
                            "p_value": bootstrap_p_value(diffs)})
    for d, q in zip(out, fdr_bh([d["p_value"] for d in out])):
        d["p_fdr"], d["fdr_below_0.05"] = q, bool(q < 0.05)
    return out


class SeedResamples:
    """A seed family's path numbers on the data and on every stimulus resample, seed by seed, for intervals
    over stimuli x seeds: ``metrics`` (R) and ``resampled`` (R lists of B) :func:`path_metrics`, ``distance``
    (R, E, E) and ``resampled_distance`` (R, B, E, E), ``draws`` (B, R) the seeds drawn in each resample."""

    def __init__(self, metrics, resampled, distance, resampled_distance, draws, n_stimuli: int,
                 stimuli_rescaled: bool = False):
        self.metrics, self.resampled = metrics, resampled
        self.distance, self.resampled_distance = distance, resampled_distance
        self.draws, self.n_stimuli, self.stimuli_rescaled = draws, n_stimuli, stimuli_rescaled

    def summary(self, get) -> dict:
        """:func:`repgeom.intervals.two_factor` of ``get(metrics, distance)`` over the seeds."""
        point = [get(m, d) for m, d in zip(self.metrics, self.distance)]
        boot = [[get(m, d) for m, d in zip(ms, ds)] for ms, ds in zip(self.resampled, self.resampled_distance)]
        return intervals.two_factor(point, boot, self.draws, self.n_stimuli, self.stimuli_rescaled)


def bootstrap_p_value(replicates) -> float:
    """Two-sided bootstrap p-value of "no difference": twice the smaller share of replicates on either side
    of 0, each count + 1 over B + 1 (never 0 from finitely many resamples), at most 1."""
    v = np.asarray(replicates, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return float("nan")
    below, above = (v <= 0).sum(), (v >= 0).sum()
    return float(min(1.0, 2.0 * (min(below, above) + 1) / (len(v) + 1)))


def fdr_bh(p_values) -> list:
    """Benjamini-Hochberg adjusted p-values (false-discovery rate; statsmodels' ``fdr_bh``)."""
    p = np.asarray(p_values, dtype=np.float64)
    if not len(p):
        return []
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


def across_seeds(per_seed, families, p0, dists, seeds: Optional[SeedResamples] = None):
    """Mean and interval across seeds of each family member's metrics, and of its layer-wise distance to every
    other model of the path: with ``seeds`` (every seed's path on the same stimulus resamples) the two-factor
    t interval over stimuli x seeds (new stimuli, new seeds; :func:`repgeom.intervals.two_factor`), without
    them the seeds' metrics as subjects (a t interval of the mean over these stimuli)."""
    from scipy import stats  # ~1-2.5 s to import: only where seeds are summarised

    def seeds_only(values):
        v = np.asarray(values, dtype=float)
        mean, sd = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out = {"mean": mean, "sd": sd, "per_seed": v.tolist()}
        for level, q in (("ci68", 0.84), ("ci95", 0.975)):
            half = float(stats.t.ppf(q, len(v) - 1) * sd / np.sqrt(len(v))) if len(v) > 1 else 0.0
            out[level] = [mean - half, mean + half]
        return out

    def summary(get):
        values = [get(r["models"], d) for r, d in zip(per_seed, dists)]
        out = seeds_only(values)
        if seeds is not None:
            two = seeds.summary(get)
            out.update({k: two[k] for k in ("se", "dof", *LEVELS)}, interval="t, stimuli x seeds")
        return out

    out = {}
    for fam in families:
        first = per_seed[0]["models"][fam]
        res = {"last_layer_distance_to": {t: summary(lambda r, d, t=t: r[fam]["last_layer_distance_to"][t])
                                          for t in first["last_layer_distance_to"]},
               "distance_to": {t: {layer: summary(lambda r, d, t=t, layer=layer: r[fam]["distance_to"][t][layer])
                                   for layer in per}
                               for t, per in first["distance_to"].items()},
               "path_length": summary(lambda r, d: r[fam]["path_length"])}
        rows = {(name, layer): i for i, (name, layer, kind) in enumerate(zip(p0.names, p0.layers, p0.kinds))
                if kind == "model"}
        others = [m for m in dict.fromkeys(p0.names) if m not in families and (m, p0.layers[p0.names.index(m)])
                  in rows]
        res["layer_distance_to"] = {
            m: {layer: summary(lambda r, d, i=rows[(m, layer)], j=rows[(fam, layer)]: d[i, j])
                for (name, layer) in rows if name == fam and (m, layer) in rows}
            for m in others}
        out[fam] = res
    return out


def model_pairs(p):
    """How far apart two models' paths are: for models with the same layers, the Procrustes disparity of their
    embedded trajectories (shape, after translation, scaling, rotation) and the mean distance between their
    corresponding layers' RDMs."""
    from scipy.spatial import procrustes  # ~1 s to import

    names = [n for n, k in zip(p.names, p.kinds) if k == "model"]
    models = list(dict.fromkeys(names))
    rows = {m: [i for i, n in enumerate(p.names) if n == m] for m in models}
    out = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            la, lb = [p.layers[k] for k in rows[a]], [p.layers[k] for k in rows[b]]
            if la != lb or len(la) < 3:
                continue
            disparity = float(procrustes(p.embedding[rows[a]], p.embedding[rows[b]])[2])
            mean = float(np.mean([p.distance[x, y] for x, y in zip(rows[a], rows[b])]))
            out.append({"models": [a, b], "layers": len(la), "procrustes_disparity": disparity,
                        "mean_layer_distance": mean})
    return out
