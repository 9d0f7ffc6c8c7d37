"""Numbers behind the tutorial's statements."""

import numpy as np


def separability(D, labels):
    """Category-separability index of an RDM: mean between-class / mean within-class dissimilarity.

    Off-diagonal entries only; NaN entries are ignored.  1 means no category
    structure; larger means same-class stimuli are relatively closer.
    """
    D = np.asarray(D, dtype=np.float64)
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    within = np.nanmean(D[same & off])
    between = np.nanmean(D[~same])
    return float(between / within) if within > 0 else float("inf")


def path_metrics(distance, models, layers):
    """Per model of a path: each layer's distance to the labels RDM, the last layer's, and the path length.

    ``distance`` is the path's RDM-distance matrix over entries (model, layer),
    with the labels entry under model ``labels`` (without one, only the path
    length).  Path length: the sum of distances between consecutive layers of
    a model, a measure of how much its computation transforms the geometry.
    """
    distance = np.asarray(distance, dtype=np.float64)
    models, layers = list(models), list(layers)
    lab = models.index("labels") if "labels" in models else None
    out = {}
    for m in dict.fromkeys(x for x in models if x != "labels"):
        idx = [i for i, x in enumerate(models) if x == m]
        to_labels = {layers[i]: float(distance[i, lab]) for i in idx} if lab is not None else {}
        out[m] = {"distance_to_labels": to_labels,
                  "last_layer": layers[idx[-1]],
                  "last_layer_distance_to_labels": float(distance[idx[-1], lab]) if lab is not None else None,
                  "path_length": float(sum(distance[i, j] for i, j in zip(idx[:-1], idx[1:])))}
    return out


SUMMARY_COLUMNS = ("kind", "analysis", "model", "stimulus_set", "layer", "metric", "value")


def summary_rows(records):
    """Metrics records (the JSON files of one run) -> tidy rows with :data:`SUMMARY_COLUMNS`."""
    rows = []
    for r in records:
        kind = r.get("kind")
        if kind == "rdm_separability":
            for layer, v in r["separability"].items():
                rows.append((kind, r["request"], r["model"], r["stimulus_set"], layer, "separability", v))
        elif kind == "path":
            for m, pm in r["models"].items():
                for layer, v in pm["distance_to_labels"].items():
                    rows.append((kind, r["analysis"], m, r["stimulus_set"], layer, "distance_to_labels", v))
                if pm["last_layer_distance_to_labels"] is not None:
                    rows.append((kind, r["analysis"], m, r["stimulus_set"], pm["last_layer"],
                                 "last_layer_distance_to_labels", pm["last_layer_distance_to_labels"]))
                rows.append((kind, r["analysis"], m, r["stimulus_set"], "", "path_length", pm["path_length"]))
        elif kind == "path_comparison":
            for metric in ("procrustes_disparity", "distance_matrix_correlation"):
                rows.append((kind, r["comparison"], "", f"{r['reference']} vs {r['other']}", "", metric, r[metric]))
        else:
            raise ValueError(f"not a metrics record: kind {kind!r}")
    return [dict(zip(SUMMARY_COLUMNS, row)) for row in rows]
