"""A representational path: compare the layer RDMs of one or more models (plus labels), embed with MDS."""

import json

from ._shell import log, main, provenance, write_json


def run(a):
    import numpy as np
    import xarray as xr

    from .. import metrics, paths, rdm, store

    spec = json.loads(a.spec)
    cubes = dict(zip(spec["models"], a.cubes))
    layers, models, rdms, ids = [], [], [], None
    for m in spec["models"]:
        g = store.open_group(cubes[m])
        names = [str(x) for x in g["layer"][:]]
        these = np.asarray(g["stim_i"][:])
        if ids is None:
            ids, labels = these, np.asarray(g["label_i"][:])
        elif not np.array_equal(ids, these):
            raise ValueError(f"{cubes[m]} holds other stimuli than {cubes[spec['models'][0]]}")
        for node in spec["nodes"][m]:
            rdms.append(paths.CubeLayer(g["rdm"], names.index(node)))
            layers.append(node)
            models.append(m)
    if spec.get("labels", True):
        rdms.append(rdm.labels_rdm(labels, spec["rdm_method"], n_classes=10))
        layers.append("labels")
        models.append("labels")
    n = len(ids)
    log.info("%s: %d RDMs (%s) of %d stimuli, compare=%s, distance=%s", a.analysis, len(rdms),
             ", ".join(spec["models"]), n, spec["compare"], spec["distance"])
    sim, dist, emb = paths.representational_path(rdms, n, spec["compare"], spec["distance"], spec.get("seed", 0))
    hidden = paths.duplicate_inputs(models, layers)
    per_model = metrics.path_metrics(dist, models, layers)
    to_labels = {m: pm["last_layer_distance_to_labels"] for m, pm in per_model.items() if "labels" in models}
    attrs = {"analysis": a.analysis, "models": spec["models"], "stimulus_set": spec["stimuli"],
             "rdm_method": spec["rdm_method"], "compare": spec["compare"], "distance": spec["distance"],
             "seed": spec.get("seed", 0), "n_stimuli": n, "last_layer_distance_to_labels": to_labels,
             "model_labels": spec.get("labels_text", {}), "model_colors": spec.get("colors", {}),
             **provenance()}
    idx = np.arange(len(layers))
    ds = xr.Dataset(
        {"similarity": (("entry", "entry_j"), sim, {"long_name": f"{spec['compare']} similarity of RDMs"}),
         "distance": (("entry", "entry_j"), dist, {"long_name": f"{spec['distance']} distance between RDMs"}),
         "embedding": (("entry", "dim"), emb, {"long_name": "2-D metric MDS of distance"})},
        coords={"entry": idx, "entry_j": idx.copy(), "dim": np.array(["dim 1", "dim 2"], dtype=object),
                "model": ("entry", np.array(models, dtype=object)),
                "layer": ("entry", np.array(layers, dtype=object)),
                "model_j": ("entry_j", np.array(models, dtype=object)),
                "layer_j": ("entry_j", np.array(layers, dtype=object)),
                "shown": ("entry", ~hidden)},
        attrs=store.jsonable(attrs),
    )
    store.write_dataset(ds, a.out)
    write_json({"kind": "path", "analysis": a.analysis, "stimulus_set": spec["stimuli"], "n_stimuli": n,
                "rdm_method": spec["rdm_method"], "compare": spec["compare"], "distance": spec["distance"],
                "models": per_model,
                "definition": f"{spec['distance']} distance between layer RDMs ({spec['compare']} similarity); "
                              "path_length: sum over consecutive layers of a model"}, a.metrics)
    for m, d in to_labels.items():
        log.info("%s: last layer of %s is %.4f from the labels", a.analysis, m, d)


def add_arguments(p):
    p.add_argument("--analysis", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--cubes", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True, help="JSON: distances to the labels and path length per model")


if __name__ == "__main__":
    main(__doc__, add_arguments, run)
