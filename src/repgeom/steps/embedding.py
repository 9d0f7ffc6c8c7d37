"""One 2-D embedding recipe (PCA, MDS or t-SNE) of some nodes of a features store."""

import json

import numpy as np

from .. import dimreduction, store
from ._shell import log, main, provenance


def run(a):
    import xarray as xr


    spec = json.loads(a.spec)
    g = store.open_group(a.features)
    fattrs = dict(g.attrs)
    nodes, method = spec["nodes"], spec["method"]
    ids, labels = np.asarray(g["stim"][:]), np.asarray(g["label"][:])
    emb = np.empty((len(nodes), len(ids), 2))
    sil = np.empty(len(nodes))
    for j, node in enumerate(nodes):
        X = store.read_node(g, node)
        emb[j] = dimreduction.embed(X, method, seed=spec["seed"], perplexity=spec["perplexity"])
        sil[j] = dimreduction.silhouette(emb[j], labels)
        log.info("%s of %s (%d x %d): %d / %d nodes; silhouette of the classes %.3f", method, node, *X.shape, j + 1,
                 len(nodes), sil[j])
    used = dimreduction.effective_perplexity(spec["perplexity"], len(ids)) if method == "t-SNE" else None
    if used is not None and used < spec["perplexity"]:
        log.warning("t-SNE perplexity %g is above (N-1)/3 for N=%d: %g used", spec["perplexity"], len(ids), used)
    attrs = {"method": method, **store.model_provenance(fattrs), **store.stimulus_provenance(fattrs),
             "seed": spec["seed"], "perplexity": spec["perplexity"] if method == "t-SNE" else None,
             "perplexity_used": used, **provenance()}
    ds = xr.Dataset(
        {"embedding": (("layer", "stim", "dim"), emb),
         "silhouette": (("layer",), sil, {"description": "silhouette score of the class labels in the 2-D view"})},
        coords={"layer": np.array(nodes, dtype=object), "stim": store._id_coord(ids), "label": ("stim", labels),
                "dim": np.array(["dim 1", "dim 2"], dtype=object)},
        attrs=store.jsonable(attrs))
    store.write_dataset(ds, a.out)


def add_arguments(p):
    p.add_argument("--spec", required=True, help="JSON: method, nodes, seed, perplexity")
    p.add_argument("--features", required=True)
    p.add_argument("--out", required=True)


if __name__ == "__main__":
    main(__doc__, add_arguments, run)
