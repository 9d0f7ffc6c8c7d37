"""Numbers behind the tutorial's statements."""

from __future__ import annotations

import numpy as np


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


SUMMARY_COLUMNS = ("kind", "analysis", "model", "stimulus_set", "layer", "metric", "value")


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
    """Rows of a path's metrics: per model and layer ``distance_to_<target>``, the last layer's, path length."""
    rows = []
    for m, pm in r["models"].items():
        if pm.get("kind", "model") != "model":
            for target, v in pm["distance_to"].items():
                rows.append(("path", r["analysis"], m, r["stimulus_set"], "", f"distance_to_{target}", v))
            continue
        for target, per_layer in pm["distance_to"].items():
            for layer, v in per_layer.items():
                rows.append(("path", r["analysis"], m, r["stimulus_set"], layer, f"distance_to_{target}", v))
            rows.append(("path", r["analysis"], m, r["stimulus_set"], pm["last_layer"],
                         f"last_layer_distance_to_{target}", pm["last_layer_distance_to"][target]))
        rows.append(("path", r["analysis"], m, r["stimulus_set"], "", "path_length", pm["path_length"]))
    return rows


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
    return [dict(zip(SUMMARY_COLUMNS, row)) for row in rows]
