"""PCA / MDS / t-SNE embeddings of some layers of a features store, stored and drawn as the tutorial's grid."""

import json

from ._shell import log, main, provenance, save_figure


def run(a):
    import numpy as np
    import xarray as xr

    from .. import dimreduction, figures, store

    spec = json.loads(a.spec)
    g = store.open_group(a.features)
    fattrs = dict(g.attrs)
    aliases = fattrs.get("aliases", {})
    nodes, methods = spec["nodes"], spec["methods"]
    ids, labels = np.asarray(g["stim"][:]), np.asarray(g["label"][:])
    emb = np.empty((len(methods), len(nodes), len(ids), 2))
    for j, node in enumerate(nodes):
        X = np.asarray(g[aliases.get(node, node)][:])
        for i, method in enumerate(methods):
            emb[i, j] = dimreduction.embed(X, method, seed=spec["seed"], perplexity=spec["perplexity"])
            log.info("%s: %s of %s (%d x %d)", a.analysis, method, node, *X.shape)
    attrs = {"analysis": a.analysis, "model": fattrs["model"], "stimulus_set": fattrs["stimulus_set"],
             "seed": spec["seed"], "perplexity": spec["perplexity"], **provenance()}
    ds = xr.Dataset(
        {"embedding": (("reduction", "layer", "stim", "dim"), emb)},
        coords={"reduction": np.array(methods, dtype=object), "layer": np.array(nodes, dtype=object),
                "stim": ids, "label": ("stim", labels), "dim": np.array(["dim 1", "dim 2"], dtype=object)},
        attrs=store.jsonable(attrs))
    store.write_dataset(ds, a.out)
    fig = figures.dimreduction_grid(ds)
    save_figure(fig, a.figure, dpi=130)


def add_arguments(p):
    p.add_argument("--analysis", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--features", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--figure", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)
